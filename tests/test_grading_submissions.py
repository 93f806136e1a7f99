"""Telling one student's folder from a class folder (``discover``), shipping the student's
helper modules and packages to the child (``support_files``, ``Session``), and
``--gradescope``, which grades one student's work and never picks one of several."""
import json
from pathlib import Path

import pytest

from compare.cli import main
from compare.grading import run_submission
from compare.grading.submissions import discover, support_files
try:
    from compare.grading.submissions import support_files
except ImportError:
    support_files = None
from tests.grading_support import MODES, call

ROOT = Path(__file__).resolve().parent.parent
STUDENTS = ROOT / "examples" / "students"
CHAPTER7 = ROOT / "reference" / "data" / "chapter7.toml"
CORRECT = (STUDENTS / "correct.py").read_text()


def with_helper(module: str) -> str:
    """The correct solution, its ReLU imported from ``module``, the student's own."""
    return CORRECT.replace("import numpy as np\n", f"import numpy as np\nfrom {module} import relu\n", 1) \
        .replace("np.maximum(0, z1)", "relu(z1)")


RELU = "import numpy as np\n\ndef relu(z):\n    return np.maximum(0, z)\n"
BROKEN = (STUDENTS / "mask_dropped.py").read_text()


def write(folder: Path, files: dict[str, str]) -> Path:
    """``folder`` with ``files`` ({relative name: text}) in it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if text is None:  # "dan/": an empty folder
            (folder / name).mkdir(parents=True, exist_ok=True)
            continue
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_the_correct_solution_really_uses_relu():
    assert "np.maximum(0, z1)" in CORRECT  # else with_helper would import nothing


# ------------------------------------------------------------------ discover

def test_a_helper_package_is_the_students_code_not_a_student(tmp_path):
    """The reproducer: backward.py imports utils.helpers from a package beside it."""
    folder = write(tmp_path / "gs_sub", {"backward.py": with_helper("utils.helpers"),
                                         "utils/__init__.py": "", "utils/helpers.py": RELU})
    [one] = discover([str(folder)], one_student=True)
    assert (one.student, one.path.name, one.own_folder, one.problem) == ("gs_sub", "backward.py", True, None)
    # inside a class, the same folder is one student's with its package
    assert [(s.student, s.path.name) for s in discover([str(tmp_path)])] == [("gs_sub", "backward.py")]


def test_a_folder_of_helper_modules_without_the_function_is_helper_code(tmp_path):
    """A subfolder that is no package but holds no file defining the function (a
    namespace package) is helper code too."""
    folder = write(tmp_path / "alice", {"hw.py": with_helper("lib.helpers"), "lib/helpers.py": RELU})
    [one] = discover([str(folder)], one_student=True)
    assert (one.student, one.path.name, one.problem) == ("alice", "hw.py", None)


def test_a_backup_copy_beside_the_file_named_after_the_function_is_said_not_graded(tmp_path):
    folder = write(tmp_path / "sub", {"backward.py": with_helper("helpers"),
                                      "backward_copy.py": with_helper("helpers"), "helpers.py": RELU})
    assert len(discover([str(folder)])) == 3  # as a class: two files define it (and helpers.py is told it does not)
    [one] = discover([str(folder)], one_student=True)  # --one-student, or --gradescope
    assert (one.student, one.path.name, one.problem) == ("sub", "backward.py", None)
    assert one.note == "Graded backward.py, by its name; backward_copy.py also defines backward()."


@pytest.mark.parametrize("name", ["backward.py", "solution.py", "submission.py", "main.py"])
def test_of_several_files_defining_the_function_the_conventional_name_is_graded(tmp_path, name):
    """In a student's folder of a class; on its own, only the function's name marks a folder
    of two such files as one student's (the next test)."""
    write(tmp_path, {"alice.py": CORRECT, "gs_two/a_draft.py": BROKEN, f"gs_two/{name}": CORRECT})
    one = {s.student: s for s in discover([str(tmp_path)])}["gs_two"]
    assert one.path.name == name and "a_draft.py also defines" in one.note


def test_one_students_folder_grades_the_file_named_after_the_function(tmp_path):
    folder = write(tmp_path / "gs_two", {"a_draft.py": BROKEN, "backward.py": CORRECT})
    [one] = discover([str(folder)], one_student=True)
    assert (one.student, one.path.name) == ("gs_two", "backward.py") and "a_draft.py also defines" in one.note


def test_several_files_defining_the_function_without_a_conventional_name_are_refused(tmp_path):
    """One student's folder (a helper module that both import) with two candidates and no
    way to tell which to grade: refused, naming them, never the alphabetically first."""
    folder = write(tmp_path / "bob", {"a_draft.py": with_helper("helpers"),
                                      "final.py": with_helper("helpers"), "helpers.py": RELU})
    [one] = discover([str(folder)], one_student=True)
    assert one.path is None and one.problem == ("several files in bob/ define backward(): a_draft.py, final.py; "
                                                "keep one, or name the one to grade backward.py")


def test_a_class_folder_of_files_and_of_students_folders_is_still_a_class(tmp_path):
    """The neighbours: files named after students are students, and so is every
    subfolder (with its own helper package), even one without the function."""
    write(tmp_path, {"alice.py": CORRECT, "bob.py": BROKEN})
    assert sorted(s.student for s in discover([str(tmp_path)])) == ["alice", "bob"]
    write(tmp_path, {"carol/hw.py": with_helper("utils.helpers"), "carol/utils/__init__.py": "",
                     "carol/utils/helpers.py": RELU, "dave/notes.txt": "nothing yet"})
    found = {s.student: s for s in discover([str(tmp_path)])}
    assert set(found) == {"alice", "bob", "carol", "dave"}
    assert found["carol"].path.name == "hw.py" and found["carol"].own_folder
    assert found["dave"].problem == "no .py or .ipynb file in dave/"


# ------------------------------------------------------------------ what the child gets

def test_support_files_are_every_module_below_the_students_file_by_relative_name(tmp_path):
    folder = write(tmp_path / "s", {"backward.py": "", "helpers.py": "", "utils/__init__.py": "",
                                    "utils/deep/more.py": "", ".hidden.py": "", ".git/x.py": "",
                                    "utils/__pycache__/helpers.py": "", "venv/pyvenv.cfg": "", "venv/lib/y.py": "",
                                    "data.csv": ""})
    (folder / "linked.py").symlink_to(tmp_path / "elsewhere.py")
    names = [name for _, name in support_files(folder / "backward.py")]
    assert names == ["helpers.py", "utils/__init__.py", "utils/deep/more.py"]


@pytest.mark.parametrize("mode", MODES)
def test_a_package_of_support_files_is_importable_in_the_child(mode, tmp_path):
    write(tmp_path, {"student.py": "from utils.helpers import twice\nfrom utils import THREE\n"
                                   "def backward(params, x, y):\n    return {'x': twice(x) + THREE}\n",
                     "utils/__init__.py": "THREE = 3\n", "utils/helpers.py": "def twice(v):\n    return 2 * v\n"})
    run = run_submission(tmp_path / "student.py", "backward", [call(x=(1, 2))], sandbox=mode,
                         support_files=[(tmp_path / "utils" / "__init__.py", "utils/__init__.py"),
                                        (tmp_path / "utils" / "helpers.py", "utils/helpers.py")])
    assert run.status == "ok", run.message
    assert run.calls[0].values["x"].tolist() == [5.0, 7.0]


@pytest.mark.parametrize("name", ["../escape.py", "/abs.py", "a//b.py", "./a.py", ""])
def test_a_support_file_name_outside_the_private_folder_is_refused(tmp_path, name):
    (tmp_path / "student.py").write_text("def backward(params, x, y):\n    return {}\n")
    with pytest.raises(ValueError, match="relative path inside the submission's folder"):
        run_submission(tmp_path / "student.py", "backward", [call()], sandbox="none",
                       support_files=[(tmp_path / "student.py", name)])


def test_a_student_folder_with_a_helper_package_passes(tmp_path, capsys):
    """The reproducer end to end: it scored 0 (ModuleNotFoundError: No module named 'utils')."""
    folder = write(tmp_path / "gs_sub", {"backward.py": with_helper("utils.helpers"),
                                         "utils/__init__.py": "", "utils/helpers.py": RELU})
    results = tmp_path / "results.json"
    assert main(["grade", str(folder), "--probes", "2", "--gradescope", str(results)]) == 0
    assert "Student result: PASS" in capsys.readouterr().out
    assert json.loads(results.read_text())["score"] == 1


# ------------------------------------------------------------------ --gradescope

def test_gradescope_refuses_several_students_in_one_line(tmp_path, capsys):
    write(tmp_path, {"alice.py": CORRECT, "bob.py": BROKEN})
    results = tmp_path / "results.json"
    assert main(["grade", str(tmp_path / "alice.py"), str(tmp_path / "bob.py"), "--probes", "0",
                 "--gradescope", str(results)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "--gradescope: expected one student's work, found 2 submissions (alice, bob)" in err
    assert not results.exists()


def test_gradescope_takes_a_folder_as_one_students_upload(tmp_path):
    """A folder of two students' folders uploaded to Gradescope is one student's work with
    two candidates: refused, naming them (without --gradescope it is a class of two)."""
    folder = write(tmp_path / "submission", {"alice/backward.py": CORRECT, "bob/backward.py": BROKEN})
    assert [s.student for s in discover([str(folder)])] == ["alice", "bob"]
    results = tmp_path / "results.json"
    assert main(["grade", str(folder), "--probes", "0", "--gradescope", str(results)]) == 1
    graded = json.loads(results.read_text())
    assert graded["score"] == 0 and "several files in submission/ define backward(): alice/backward.py, " \
                                    "bob/backward.py" in graded["output"]


def test_gradescope_grades_the_file_named_after_the_function_not_the_first(tmp_path, capsys):
    """The reproducer: a_draft.py (wrong) and backward.py (right); results.json had the
    draft's score. The neighbour of the refusal: one student's folder is graded."""
    folder = write(tmp_path / "gs_two", {"a_draft.py": BROKEN, "backward.py": CORRECT})
    results = tmp_path / "results.json"
    assert main(["grade", str(folder), "--probes", "2", "--gradescope", str(results)]) == 0
    graded = json.loads(results.read_text())
    assert graded["score"] == 1
    assert "Graded backward.py, by its name; a_draft.py also defines backward()." in graded["output"]


def test_gradescope_without_a_file_to_grade_says_why(tmp_path):
    folder = write(tmp_path / "bob", {"a_draft.py": with_helper("helpers"),
                                      "final.py": with_helper("helpers"), "helpers.py": RELU})
    results = tmp_path / "results.json"
    assert main(["grade", str(folder), "--probes", "0", "--gradescope", str(results)]) == 1
    graded = json.loads(results.read_text())
    assert graded["score"] == 0 and "several files in bob/ define backward(): a_draft.py, final.py" in graded["output"]



def test_more_files_than_the_cap_are_not_run(tmp_path):
    """A student's folder of hundreds of modules (a vendored library) is not shipped file
    by file (under bwrap each is a file descriptor): the run says why; 256 files still run."""
    (tmp_path / "student.py").write_text("def backward(params, x, y):\n    return {}\n")
    for i in range(256):
        (tmp_path / f"m{i}.py").write_text("")
    files = [(tmp_path / f"m{i}.py", f"lib/m{i}.py") for i in range(256)]
    run = run_submission(tmp_path / "student.py", "backward", [call()], sandbox="none", support_files=files)
    assert run.status == "import_error" and run.message.startswith("the submission's folder holds more than 256 .py")
    run = run_submission(tmp_path / "student.py", "backward", [call()], sandbox="none", support_files=files[:255])
    assert run.status == "ok", run.message


def test_a_class_folder_holding_a_solution_py_is_still_a_class(tmp_path):
    """Only the function's own name marks one student's folder: an instructor's
    solution.py among students' files does not turn the class into one student."""
    write(tmp_path, {"alice.py": CORRECT, "bob.py": BROKEN, "solution.py": CORRECT})
    assert sorted(s.student for s in discover([str(tmp_path)])) == ["alice", "bob", "solution"]



# ------------------------------------------------------------------ round-5 review cases

def test_a_folder_is_a_class_unless_it_is_said_to_be_one_students(tmp_path):
    """Every file and subfolder of a class folder is a student, whatever it defines: nobody
    who handed something in is left without a row (an assignment, a misnamed function)."""
    write(tmp_path / "cls", {"alice.py": CORRECT, "bob.py": "backward = lambda params, x, y: {}\n",
                             "carol.py": CORRECT.replace("def backward", "def Backward"), "dan/": None,
                             "eve.zip": "PK"})
    found = {s.student: s for s in discover([str(tmp_path / "cls")])}
    assert sorted(found) == ["alice", "bob", "carol", "dan", "eve"]
    assert found["dan"].problem == "no .py or .ipynb file in dan/"
    assert found["eve"].problem == "eve.zip is a zip file: unzip the submissions first"


def test_a_class_with_a_backward_py_among_its_students_is_a_class(tmp_path):
    """alice.py and bob.py (wrong) beside backward.py (right) were graded as one passing
    student, the others never graded."""
    write(tmp_path, {"alice.py": BROKEN, "bob.py": BROKEN, "backward.py": CORRECT})
    assert sorted(s.student for s in discover([str(tmp_path)])) == ["alice", "backward", "bob"]


def test_students_folders_that_are_packages_are_students(tmp_path):
    write(tmp_path, {"alice/__init__.py": "", "alice/backward.py": CORRECT, "bob/__init__.py": "",
                     "bob/backward.py": CORRECT, "carol.py": BROKEN})
    found = {s.student: s for s in discover([str(tmp_path)])}
    assert set(found) == {"alice", "bob", "carol"} and found["alice"].path.name == "backward.py"


def test_a_method_or_a_comment_named_like_the_function_does_not_count(tmp_path):
    layers = "class ReLU:\n    def backward(self, upstream):\n        return upstream\n# def backward(p, x, y)\n"
    folder = write(tmp_path / "submission", {"hw3.py": CORRECT, "layers.py": layers})
    [one] = discover([str(folder)], one_student=True)
    assert (one.path.name, one.problem, one.note) == ("hw3.py", None, None)


def test_a_backup_in_a_subfolder_is_left_for_the_file_named_after_the_function(tmp_path):
    folder = write(tmp_path / "submission", {"backward.py": CORRECT, "old/backward.py": BROKEN})
    [one] = discover([str(folder)], one_student=True)
    assert one.path == folder / "backward.py" and one.note == ("Graded backward.py, by its name; old/backward.py "
                                                               "also defines backward().")


def test_symbolic_links_in_a_folder_are_never_followed(tmp_path):
    secret = write(tmp_path / "secret", {"backward.py": CORRECT, "config.py": "KEY = 1\n"})
    s2 = tmp_path / "s2"
    s2.mkdir()
    (s2 / "backward.py").symlink_to(secret / "backward.py")
    [one] = discover([str(s2)], one_student=True)
    assert one.path is None and one.problem == "no .py or .ipynb file in s2/"
    s1 = write(tmp_path / "s1", {"hw.py": CORRECT})
    (s1 / "ref").symlink_to(secret)
    [one] = discover([str(s1)], one_student=True)
    assert one.path.name == "hw.py" and support_files(one.path) == []  # the linked folder is not shipped


def test_a_notebook_beside_a_helper_of_its_name_is_found_and_graded(tmp_path, capsys):
    import nbformat
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(CORRECT)]
    folder = tmp_path / "nb1"
    folder.mkdir()
    nbformat.write(book, str(folder / "hw.ipynb"))
    (folder / "hw.py").write_text("X = 1\n")
    [one] = discover([str(folder)], one_student=True)
    assert one.path.name == "hw.ipynb"
    assert main(["grade", str(folder), "--probes", "0", "--one-student"]) == 0


def test_one_students_folder_skips_tests_and_finds_a_file_deeper_down(tmp_path):
    fixture = "import pytest\n\n@pytest.fixture\ndef backward():\n    return None\n"
    folder = write(tmp_path / "kim", {"hw3.py": CORRECT, "tests/test_hw3.py": fixture, "test_more.py": fixture})
    [one] = discover([str(folder)], one_student=True)
    assert (one.path.name, one.problem, one.note) == ("hw3.py", None, None)
    deep = write(tmp_path / "deep", {"hw3-main/src/backward.py": CORRECT})
    [one] = discover([str(deep)], one_student=True)
    assert one.path == deep / "hw3-main" / "src" / "backward.py"


def test_a_bom_or_utf16_file_and_a_broken_notebook_are_still_found(tmp_path):
    folder = tmp_path / "ann"
    folder.mkdir()
    (folder / "hw3.py").write_bytes(b"\xef\xbb\xbf" + CORRECT.encode())
    (folder / "Untitled.ipynb").write_text("")  # empty: no definition, not a candidate beside a real one
    [one] = discover([str(folder)], one_student=True)
    assert (one.path.name, one.problem) == ("hw3.py", None)
    (folder / "hw3.py").unlink()
    [one] = discover([str(folder)], one_student=True)
    assert one.path.name == "Untitled.ipynb"  # alone, it is graded, and grading says it is not a notebook
    utf16 = tmp_path / "lee"
    utf16.mkdir()
    (utf16 / "hw3.py").write_text(CORRECT, encoding="utf-16")
    [one] = discover([str(utf16)], one_student=True)
    assert one.path.name == "hw3.py"  # found; importing it then fails and says so
