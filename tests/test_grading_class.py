"""``python -m compare grade`` on a class: a folder of students (files, folders,
notebooks) in, a gradebook and feedback files out; the rubric; Gradescope's bundle."""
import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from compare.cli import main
from compare.grading.notebook import read_notebook
from compare.grading.submissions import discover

ROOT = Path(__file__).resolve().parent.parent
STUDENTS = ROOT / "examples" / "students"
CASES = Path(__file__).resolve().parent / "cases" / "grading"
CHAPTER7 = ROOT / "reference" / "data" / "chapter7.toml"


def notebook(path: Path, cells: list[str]) -> Path:
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_markdown_cell("# Homework 3")] + [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(book, str(path))
    return path


CORRECT_CELLS = ["%matplotlib inline\nimport numpy as np\n!pip install nothing",
                 (STUDENTS / "correct.py").read_text().split('"""', 2)[2].replace("import numpy as np\n", ""),
                 "np.dot?\nfiles = !ls\nbackward"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A class folder graded once: files, a student's folder with a helper module, a notebook."""
    tmp = tmp_path_factory.mktemp("class")
    folder = tmp / "class"
    folder.mkdir()
    for name in ("correct", "correct_loops", "mask_dropped", "missing_factor", "missing_key", "raises",
                 "wrong_shape", "infinite_loop"):
        shutil.copy(STUDENTS / f"{name}.py", folder / f"{name}.py")
    for name in ("nan_entry", "missing_two_gradients_only", "mixed_kink_sides", "bias_left_out_fake_kink"):
        shutil.copy(CASES / f"{name}.py", folder / f"{name}.py")
    carol = folder / "carol"
    carol.mkdir()
    (carol / "helpers.py").write_text("import numpy as np\n\ndef relu(z):\n    return np.maximum(0, z)\n")
    (carol / "hw.py").write_text((STUDENTS / "correct.py").read_text().replace(
        "import numpy as np\n", "import numpy as np\nfrom helpers import relu\n").replace("np.maximum(0, z1)", "relu(z1)"))
    notebook(folder / "nora.ipynb", CORRECT_CELLS)
    (folder / "broken.ipynb").write_text("{not a notebook")
    out = tmp / "out"
    status = main(["grade", str(folder), "--out", str(out), "--jobs", "2", "--timeout", "3", "--probes", "3"])
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    return status, rows, out


EXPECTED = {"correct": "pass", "correct_loops": "pass", "carol": "pass", "nora": "pass", "mask_dropped": "fail",
            "missing_factor": "fail", "missing_key": "fail", "wrong_shape": "fail", "raises": "error",
            "infinite_loop": "timeout", "nan_entry": "fail", "missing_two_gradients_only": "fail",
            "mixed_kink_sides": "fail", "bias_left_out_fake_kink": "fail", "broken": "error"}


def test_the_gradebook_has_one_right_row_per_student(graded):
    status, rows, out = graded
    assert status == 1  # not everyone passes
    assert {s: r["status"] for s, r in rows.items()} == EXPECTED
    assert rows["missing_factor"]["first_mistake"] == "dL/dy_hat[0]"
    assert rows["missing_factor"]["step"] == "Step 1: gradient of the loss"
    assert "loss gradient without the 2/n factor" in rows["missing_factor"]["cause"]
    assert rows["mixed_kink_sides"]["cause"].startswith("convention: mixed sides of the kink")
    assert rows["nan_entry"]["cause"] == "not a finite number (nan)"
    assert "timed out" in rows["infinite_loop"]["cause"] and "raised an exception" in rows["raises"]["cause"]
    assert "not a readable Jupyter notebook" in rows["broken"]["cause"]
    assert int(rows["mask_dropped"]["probes_failed"]) >= 1 and rows["correct"]["probes_failed"] == "0"
    assert rows["correct"]["points"] == "" and rows["correct"]["max_points"] == ""  # no rubric: pass/fail
    data = json.loads((out / "gradebook.json").read_text())
    assert [r["student"] for r in data] == list(rows)


def test_every_student_gets_feedback_in_markdown_and_html(graded):
    _, rows, out = graded
    for student in rows:
        md = (out / "feedback" / f"{student}.md").read_text()
        page = (out / "feedback" / f"{student}.html").read_text()
        assert md.startswith(f"# Feedback: {student}") and page.startswith("<!DOCTYPE html>")
    assert "Student result: PASS" in (out / "feedback" / "correct.md").read_text()
    mask = (out / "feedback" / "mask_dropped.md").read_text()
    assert "Named mistake: your returned values are exactly those of a backward pass with ReLU gate skipped" in mask
    assert "The smallest failing probe, shrunk" in mask and "[[examples]]" in mask
    nora = (out / "feedback" / "nora.md").read_text()
    assert "Notebook: 4 IPython line(s) left out of the module" in nora and "%matplotlib inline" in nora


def test_a_notebook_is_a_module_without_its_ipython_lines(tmp_path):
    module = read_notebook(notebook(tmp_path / "n.ipynb", CORRECT_CELLS + ["%%bash\necho hi", "if True:\n    !ls\n"]))
    assert "%matplotlib" not in module.source and "!pip" not in module.source
    assert "    pass  # left out: IPython only" in module.source  # the indented block still parses
    compile(module.source, "n.py", "exec")
    assert module.left_out[:2] == ["cell 1, line 1: %matplotlib inline", "cell 1, line 3: !pip install nothing"]
    assert "cell 4: the cell magic %%bash (whole cell)" in module.left_out
    assert module.where(1) == "cell 1, line 1"


def test_submissions_are_found_with_their_ids(tmp_path):
    (tmp_path / "alice.py").write_text("def backward(p, x, y):\n    return {}\n")
    bob = tmp_path / "bob"
    bob.mkdir()
    (bob / "main.py").write_text("def backward(p, x, y):\n    return {}\n")
    (bob / "util.py").write_text("X = 1\n")
    dave = tmp_path / "dave"
    dave.mkdir()
    found = {s.student: s for s in discover([str(tmp_path)])}
    assert set(found) == {"alice", "bob", "dave"}
    assert found["bob"].path.name == "main.py" and found["bob"].own_folder
    assert found["dave"].problem == "no .py or .ipynb file in dave/"
    one = discover([f"{tmp_path / 'alice.py'}:grad"])[0]
    assert one.student == "alice" and one.function == "grad"


def test_the_rubric_gives_points_and_carried_errors_keep_theirs(tmp_path, capsys):
    exercise = tmp_path / "rubric.toml"
    exercise.write_text(CHAPTER7.read_text().split("[answers]")[0] + """
[grading.points]
"dL/dy_hat" = 2
"dL/dW2" = 3
"Step 7" = 1
probes = 4
""")
    out = tmp_path / "out"
    assert main(["grade", str(STUDENTS / "missing_factor.py"), str(STUDENTS / "correct.py"), "--exercise",
                 str(exercise), "--out", str(out), "--probes", "2"]) == 1
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert (rows["correct"]["points"], rows["correct"]["max_points"]) == ("10", "10")
    # the 2/n is missing in Step 1: dL/dy_hat loses its 2 points, dL/dW2 only carries the
    # error and keeps its 3, db1 carries it too (Step 7 keeps 1); the probes fail (0 of 4)
    assert rows["missing_factor"]["points"] == "4"
    feedback = (out / "feedback" / "missing_factor.md").read_text()
    assert "| dL/dy_hat | 0 / 2 | 4 of 4 entries wrong |" in feedback
    assert "| dL/dW2 | 3 / 3 |  |" in feedback
    strict = tmp_path / "strict.toml"
    strict.write_text(exercise.read_text().replace("[grading.points]", "[grading]\ncarried_errors_lose_points = true\n"
                                                                        "[grading.points]"))
    assert main(["grade", str(STUDENTS / "missing_factor.py"), "--exercise", str(strict), "--out", str(out),
                 "--probes", "2"]) == 1
    row = next(csv.DictReader((out / "gradebook.csv").open()))
    assert row["points"] == "0"


ONE_EXAMPLE_SOFTMAX = """[network]
sizes = [2, 2]
activations = ["identity"]
loss = "cross_entropy"
[parameters]
W1 = [[0.1, 0.2], [0.3, -0.4]]
b1 = [0.1, 0.0]
[[examples]]
x = [1, 2]
y = 1
"""

SOFTMAX_STUDENT = """import numpy as np
def backward(params, x, y):
    z = x @ params["W1"] + params["b1"]
    p = np.exp(z) / np.exp(z).sum()
    onehot = np.zeros(len(z))
    onehot[y] = 1
    return {"dL/dW1": np.outer(x, p - onehot), "dL/db1": p - onehot}
"""


def test_one_example_with_a_class_label_is_graded(tmp_path):
    # the label reaches the function as a 0-d integer array, as the batch's is a 1-D one
    exercise = tmp_path / "softmax1.toml"
    exercise.write_text(ONE_EXAMPLE_SOFTMAX)
    (tmp_path / "right.py").write_text(SOFTMAX_STUDENT)
    (tmp_path / "forgot_y.py").write_text(SOFTMAX_STUDENT.replace("np.outer(x, p - onehot)", "np.outer(x, p)"))
    out = tmp_path / "out"
    assert main(["grade", str(tmp_path / "right.py"), str(tmp_path / "forgot_y.py"), "--exercise", str(exercise),
                 "--out", str(out), "--probes", "2"]) == 1
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert (rows["right"]["status"], rows["right"]["probes_failed"]) == ("pass", "0")
    assert (rows["forgot_y"]["status"], rows["forgot_y"]["first_mistake"]) == ("fail", "dL/dW1[0][1]")


@pytest.mark.skipif(shutil.which("bash") is None, reason="run_autograder is a bash script")
def test_the_gradescope_bundle_grades_a_submission_into_results_json(tmp_path):
    bundle = tmp_path / "autograder.zip"
    assert main(["gradescope", str(CHAPTER7), "-o", str(bundle), "--probes", "2"]) == 0
    names = zipfile.ZipFile(bundle).namelist()
    assert {"setup.sh", "run_autograder", "exercise.toml", "constraints.txt"} <= set(names)
    assert any(n.startswith("backprop_crosscheck-") and n.endswith(".whl") for n in names)
    correct = (STUDENTS / "correct.py").read_text()
    relu = "import numpy as np\ndef relu(z):\n    return np.maximum(0, z)\n"
    in_package = correct.replace("import numpy as np\n", "import numpy as np\nfrom utils.helpers import relu\n", 1) \
        .replace("np.maximum(0, z1)", "relu(z1)")
    handed_in = {"correct": {"hw.py": correct},
                 "missing_factor": {"hw.py": (STUDENTS / "missing_factor.py").read_text()},
                 # a helper package and a backup copy: graded backward.py with its package (it scored 0)
                 "package": {"backward.py": in_package, "backward_copy.py": in_package, "utils/__init__.py": "",
                             "utils/helpers.py": relu},
                 "two_students": {"alice/backward.py": correct, "bob/backward.py": correct}}
    for student, files in handed_in.items():
        root = tmp_path / student / "autograder"
        zipfile.ZipFile(bundle).extractall(root / "source")
        for name, text in files.items():
            (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "submission" / name).write_text(text)
        os.chmod(root / "source" / "run_autograder", 0o755)
        done = subprocess.run([str(root / "source" / "run_autograder")], capture_output=True, text=True, timeout=300,
                              env={**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable})
        assert done.returncode == 0, done.stderr[-2000:]
        results = json.loads((root / "results" / "results.json").read_text())
        assert isinstance(results["score"], (int, float)) and isinstance(results["output"], str)
        if student == "two_students":  # refused, and the student is told why
            assert results["score"] == 0 and ("Nothing could be graded: several files in submission/ define "
                                              "backward(): alice/backward.py, bob/backward.py; keep one, or name "
                                              "the one to grade backward.py") in results["output"]
            continue
        passes = student != "missing_factor"
        assert results["tests"] and all({"name", "score", "max_score", "output", "visibility"} <= set(t)
                                        for t in results["tests"])
        assert results["score"] == (1 if passes else 0), results["output"][:500]
        assert ("Student result: PASS" in results["output"]) == passes


@pytest.mark.parametrize("option, make, says", [
    ("--out", lambda tmp: (tmp / "afile").write_text("x") and tmp / "afile", "expected a folder (it exists and is not one)"),
    ("--out", lambda tmp: (tmp / "afile").write_text("x") and tmp / "afile" / "sub",
     "is a file, not a folder"),
    ("--out", lambda tmp: (tmp / "book" / "feedback" / "correct.md").mkdir(parents=True) or tmp / "book",
     "correct.md: expected a file to write"),
    ("--gradescope", lambda tmp: (tmp / "results").mkdir() or tmp / "results", "expected a file to write"),
    ("--gradescope", lambda tmp: tmp / "missing" / "results.json", "expected a file in an existing folder"),
    ("--out", lambda tmp: (tmp / "dangling").symlink_to(tmp / "gone") or tmp / "dangling",
     "is a symbolic link to a missing"),
    ("--out", lambda tmp: (tmp / "book").mkdir() or (tmp / "book" / "feedback").symlink_to(tmp / "gone")
     or tmp / "book", "feedback: expected a folder (it is a symbolic link to a missing")])
def test_an_output_that_cannot_be_written_is_refused_before_grading(tmp_path, capsys, option, make, says):
    target = make(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(["grade", str(STUDENTS / "correct.py"), str(STUDENTS / "infinite_loop.py"), option, str(target),
                 "--timeout", "30", "--probes", "0"]) == 2  # refused at once: the infinite loop never runs
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{option}: " in err and says in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing written


def test_two_students_whose_feedback_would_share_a_file_are_refused(tmp_path, capsys):
    for name in ("alice smith", "alice_smith"):
        shutil.copy(STUDENTS / "correct.py", tmp_path / f"{name}.py")
    args = ["grade", str(tmp_path / "alice smith.py"), str(tmp_path / "alice_smith.py"), "--probes", "0"]
    assert main(args + ["--out", str(tmp_path / "book")]) == 2
    assert "students 'alice smith' and 'alice_smith' would share feedback/alice_smith.md" in capsys.readouterr().err
    assert not (tmp_path / "book").exists()
    assert main(args) == 0  # without --out nothing is shared: both pass
    shutil.copy(STUDENTS / "correct.py", tmp_path / "Dave.py")
    shutil.copy(STUDENTS / "mask_dropped.py", tmp_path / "dave.py")
    assert main(["grade", str(tmp_path / "Dave.py"), str(tmp_path / "dave.py"), "--probes", "0",
                 "--out", str(tmp_path / "book")]) == 2  # one file where names ignore case
    assert "students 'Dave' and 'dave' would share feedback/dave.md on macOS and Windows" in capsys.readouterr().err


def test_the_gradebook_names_a_missing_or_misshapen_gradient_in_a_students_words(tmp_path):
    exercise = tmp_path / "rubric.toml"
    exercise.write_text(CHAPTER7.read_text().split("[answers]")[0] + '[grading.points]\n"dL/dW1" = 2\n"dL/db2" = 1\n')
    (tmp_path / "nothing.py").write_text("def backward(params, x, y):\n    return {}\n")
    (tmp_path / "flat.py").write_text((STUDENTS / "correct.py").read_text().replace(
        '"dL/dW1": dL_dW1', '"dL/dW1": dL_dW1.reshape(-1)'))
    assert '"dL/dW1": dL_dW1.reshape(-1)' in (tmp_path / "flat.py").read_text()
    out = tmp_path / "out"
    assert main(["grade", str(tmp_path / "nothing.py"), str(tmp_path / "flat.py"), str(STUDENTS / "infinite_loop.py"),
                 "--exercise", str(exercise), "--out", str(out), "--probes", "0", "--timeout", "2"]) == 1
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    # the first in the text's order: Step 2's ∂L/∂W2
    assert (rows["nothing"]["first_mistake"], rows["nothing"]["cause"]) == ("dL/dW2", "dL/dW2 not returned")
    assert rows["nothing"]["step"] == "Step 2: output layer weights"
    assert (rows["flat"]["first_mistake"], rows["flat"]["cause"]) == ("dL/dW1",
                                                                      "dL/dW1 has shape (12,), expected (4, 3)")
    assert rows["infinite_loop"]["wrong_entries"] == "0"  # no values, nothing to count
    feedback = (out / "feedback" / "nothing.md").read_text()
    assert "| dL/dW1 | 0 / 2 | dL/dW1 not returned |" in feedback
    assert "| dL/dW1 | 0 / 2 | dL/dW1 has shape (12,), expected (4, 3) |" in (out / "feedback" / "flat.md").read_text()
    data = {r["student"]: r for r in json.loads((out / "gradebook.json").read_text())}
    assert (data["flat"]["points"], data["flat"]["max_points"]) == (1, 3)  # numbers, not strings


def test_variants_and_an_exercise_do_not_go_together(tmp_path, capsys):
    (tmp_path / "variants").mkdir()
    assert main(["grade", str(STUDENTS / "correct.py"), "--variants", str(tmp_path / "variants"),
                 "--exercise", str(CHAPTER7)]) == 2
    assert "--exercise: does not go with --variants" in capsys.readouterr().err


def test_batch_style_rows_keep_the_diagnosis_and_a_named_mistake_keeps_its_place(tmp_path):
    rows_version = (STUDENTS / "missing_factor.py").read_text().replace("return {", "return {k: np.atleast_2d(v) for "
                                                                        "k, v in {").rstrip() + ".items()}\n"
    assert "np.atleast_2d" in rows_version
    (tmp_path / "rows.py").write_text(rows_version)
    out = tmp_path / "out"
    assert main(["grade", str(STUDENTS / "missing_factor.py"), str(tmp_path / "rows.py"),
                 str(STUDENTS / "wrong_shape.py"), "--out", str(out), "--probes", "0"]) == 1
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    # (1, n) rows for (n,): the same numbers, so the same diagnosis and the same first mistake at Step 1
    same = ("first_mistake", "step", "cause", "wrong_entries")
    assert [rows["rows"][c] for c in same] == [rows["missing_factor"][c] for c in same]
    assert rows["rows"]["step"].startswith("Step 1")
    # a whole pass named (W in torch's layout): the cause says so, at the first wrong entry and its step
    assert (rows["wrong_shape"]["first_mistake"], rows["wrong_shape"]["step"]) == ("dL/dW2",
                                                                                  "Step 2: output layer weights")
    assert "torch's (out, in) layout" in rows["wrong_shape"]["cause"]
