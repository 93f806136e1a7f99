"""``python -m compare grade FILE.py:FUNCTION``: a student's code, run in a child
process, graded against autograd and the exact values; every failure is a verdict."""
import json
from pathlib import Path

import pytest

from compare.cli import main
from compare.grading.check import check_student, parse_target
from reference.exercise import CHAPTER7_PATH, load_exercise

STUDENTS = Path(__file__).resolve().parent.parent / "examples" / "students"
BATCH = CHAPTER7_PATH.parent / "diagonal_flip_batch.toml"


def student(name: str) -> str:
    return f"{STUDENTS / name}.py:backward"


def test_correct_student_passes_with_every_intermediate(chapter7):
    check = check_student(STUDENTS / "correct.py", "backward", chapter7)
    assert check.run.status == "ok" and check.ok
    assert set(check.run.values) >= {"dL/dW1", "dL/db1", "dL/dW2", "dL/db2", "z1", "relu_mask", "L"}
    w1_02 = next(r for r in check.comparison.gradients if r.label == "W1[0][2]")
    assert w1_02.hand == pytest.approx(0.44, abs=1e-15)
    loss = next(r for r in check.comparison.intermediates if r.label == "L")
    assert loss.hand == pytest.approx(0.89625, abs=1e-15)
    assert all(r.hand is not None for r in check.comparison.intermediates)


def test_correct_batch_student_passes_on_the_four_examples():
    batch = load_exercise(BATCH)
    check = check_student(STUDENTS / "correct_batch.py", "backward", batch)
    assert check.ok, [r.verdict for r in check.comparison.gradients if not r.agree]
    # intermediates are optional: not returned, not failed
    assert all(r.hand is None and r.agree for r in check.comparison.intermediates)


def test_book_style_single_example_code_fails_on_a_batch_with_its_line():
    check = check_student(STUDENTS / "correct.py", "backward", load_exercise(BATCH))
    assert check.run.status == "exception" and not check.ok
    assert check.run.line == 23 and "relu_grad" in check.run.source
    assert check.run.message.startswith("ValueError: operands could not be broadcast")


@pytest.mark.parametrize("name, wrong", [
    ("mask_dropped", {"W1[0][1]", "W1[2][1]", "b1[1]"}),
    ("missing_factor", {"W1[0][2]", "b2[0]", "W2[2][3]", "b1[2]"}),
])
def test_wrong_gradients_are_rejected_entry_by_entry(chapter7, name, wrong):
    check = check_student(STUDENTS / f"{name}.py", "backward", chapter7)
    assert check.run.status == "ok" and not check.ok
    bad = {r.label for r in check.comparison.gradients if not r.agree}
    assert wrong <= bad
    assert all("hand ≠ exact" in r.verdict for r in check.comparison.gradients if r.label in wrong)


def test_missing_factor_gives_twice_the_loss_gradient(chapter7):
    check = check_student(STUDENTS / "missing_factor.py", "backward", chapter7)
    row = next(r for r in check.comparison.intermediates if r.label == "dL/dy_hat[0]")
    assert row.hand == pytest.approx(-0.9) and float(row.exact) == -0.45


def test_raising_student_reports_type_message_and_line(chapter7):
    check = check_student(STUDENTS / "raises.py", "backward", chapter7)
    run = check.run
    assert run.status == "exception" and run.line == 12
    assert run.message.startswith("ValueError: matmul")
    assert run.source.startswith("dL_dh = dL_dy @ W2")
    assert "raises.py line 12" in run.failure
    assert not check.ok
    assert all(r.verdict == "DISAGREE: hand backward failed (student code raised an exception, see above)"
               for r in check.comparison.gradients)


def test_infinite_loop_times_out(chapter7):
    check = check_student(STUDENTS / "infinite_loop.py", "backward", chapter7, timeout=1)
    assert check.run.status == "timeout" and not check.ok
    assert "no result after 1 s" in check.run.failure
    assert 1 <= check.run.seconds < 8


def test_wrong_shape_names_the_shapes(chapter7):
    check = check_student(STUDENTS / "wrong_shape.py", "backward", chapter7)
    verdicts = {r.label: r.verdict for r in check.comparison.gradients}
    assert "dL/dW1 has shape (3, 4), expected (4, 3)" in verdicts["W1[0][2]"]
    assert "dL/dW2 has shape (4, 3), expected (3, 4)" in verdicts["W2[2][0]"]
    assert verdicts["b1[2]"] == "agree" and not check.ok


def test_missing_key_fails_and_unknown_key_is_named(chapter7):
    check = check_student(STUDENTS / "missing_key.py", "backward", chapter7)
    assert not check.ok and check.unknown_keys == ["dW2"]
    verdicts = {r.label: r.verdict for r in check.comparison.gradients}
    assert "no value for dL/db1" in verdicts["b1[0]"] and "no value for dL/dW2" in verdicts["W2[0][0]"]


@pytest.mark.parametrize("source, status, text", [
    ("def backward(params, x, y)\n    return {}\n", "import_error", "SyntaxError"),
    ("import numpy_does_not_exist\n", "import_error", "ModuleNotFoundError"),
    ("def forward(params, x, y):\n    return {}\n", "missing_function", "has no function 'backward' (it defines forward)"),
    ("def backward(params, x, y):\n    return [1, 2]\n", "bad_return", "returned a list"),
    ("import sys\ndef backward(params, x, y):\n    sys.exit(3)\n", "exception", "SystemExit: 3"),
    ("import os\ndef backward(params, x, y):\n    os._exit(4)\n", "crashed", "exited with status 4"),
    ("def backward(params, x, y):\n    return input()\n", "exception", "EOFError"),
])
def test_every_failure_is_a_verdict(tmp_path, chapter7, source, status, text):
    path = tmp_path / "student.py"
    path.write_text(source)
    check = check_student(path, "backward", chapter7, timeout=5)
    assert check.run.status == status and text in check.run.failure, check.run.failure
    assert not check.ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student.py"]  # no __pycache__ left behind


def test_non_numeric_values_are_named(tmp_path, chapter7):
    path = tmp_path / "student.py"
    path.write_text("def backward(params, x, y):\n    return {'dL/dW1': 'zero', 'dL/db1': [0, 0, 0.44],"
                    " 'dL/dW2': [[0]*4, [0]*4, [-0.225, -0.275, -0.0125, -0.3125]],"
                    " 'dL/db2': [-0.45, -0.55, -0.025, -0.625]}\n")
    check = check_student(path, "backward", chapter7)
    assert "not an array of numbers" in check.run.bad_values["dL/dW1"]
    assert not check.ok
    assert {r.label for r in check.comparison.gradients if not r.agree} == {f"W1[{i}][{j}]" for i in range(4)
                                                                            for j in range(3)}


def test_cli_exit_codes_and_report(capsys):
    assert main(["grade", student("correct")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Student code: ") and "Student result: PASS" in out
    assert main(["grade", student("raises"), "--timeout", "5"]) == 1
    out = capsys.readouterr().out
    assert "FAILED: student code raised an exception: ValueError" in out and "Student result: FAIL." in out


def test_cli_json_has_the_student_object(capsys):
    assert main(["grade", student("missing_key"), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["student"]["status"] == "ok" and data["student"]["ok"] is False
    assert data["student"]["unknown_keys"] == ["dW2"] and data["summary"]["ok"] is False


@pytest.mark.parametrize("args, text", [
    (["grade", "README.md"], "README.md: expected a .py or .ipynb file, or a folder"),
    (["grade", "nowhere/student.py:backward"], "nowhere/student.py:backward: no such file or folder"),
    (["grade", "x.py:backward", "--timeout", "0"], "--timeout"),
])
def test_cli_bad_backward_usage_exits_2(capsys, args, text):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and text in err


def test_parse_target_keeps_colons_in_the_path(tmp_path):
    path = tmp_path / "a:b.py"
    path.write_text("")
    assert parse_target(f"{path}:grad") == (path, "grad")


def test_bad_exercise_with_backward_exits_2_before_running_the_student(chapter7_variant, capsys):
    path = chapter7_variant("b1 = [ 0.1, -0.1,  0.0]", "b1 = [0.1, -0.1, inf]")
    assert main(["grade", student("infinite_loop"), "--exercise", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "parameters.b1: expected finite numbers within float64 range" in captured.err


def test_the_side_of_a_kink_is_read_from_the_gradients_with_or_without_z1(chapter7, tmp_path):
    check = check_student(STUDENTS / "correct_loops.py", "backward", chapter7)
    assert check.ok
    row = next(r for r in check.comparison.gradients if r.label == "W1[0][0]")
    assert row.hand == pytest.approx(-0.0975) and row.exact == 0
    assert row.verdict == "agree: subgradient, hand and autograd took the other side of the kink"
    note = ("hand: alive, ReLU′ = 1, read from the returned gradients (either side is a valid subgradient)")
    assert note in check.comparison.kink_notes[0]
    # the same code without z1: the side is read from the gradients all the same
    source = (STUDENTS / "correct_loops.py").read_text().replace(', "z1": z1}', "}")
    (tmp_path / "no_z.py").write_text(source)
    check = check_student(tmp_path / "no_z.py", "backward", chapter7)
    assert check.ok
    row = next(r for r in check.comparison.gradients if r.label == "W1[0][0]")
    assert row.hand == pytest.approx(-0.0975) and "hand and autograd took the other side" in row.verdict
    assert note in check.comparison.kink_notes[0]


def test_either_side_of_the_kink_does_not_excuse_other_mistakes(chapter7):
    check = check_student(STUDENTS / "mask_dropped.py", "backward", chapter7)
    rows = {r.label: r for r in check.comparison.gradients}
    assert rows["W1[0][0]"].agree  # ReLU' = 1 at z1[0] = 0: a valid subgradient
    assert not rows["W1[0][1]"].agree and not check.ok  # but neuron 1 (z = -0.1) is dead


def test_student_module_is_importable_by_its_own_code(tmp_path, chapter7):
    """A student's dataclass needs its module in sys.modules, as after a plain import."""
    source = (STUDENTS / "correct.py").read_text().replace(
        "import numpy as np\n", "from __future__ import annotations\nimport numpy as np\nfrom dataclasses import dataclass\n\n\n"
        "@dataclass\nclass Cache:\n    z1: object\n", 1)
    (tmp_path / "with_dataclass.py").write_text(source)
    check = check_student(tmp_path / "with_dataclass.py", "backward", chapter7)
    assert check.run.status == "ok" and check.ok, check.run.failure


@pytest.mark.parametrize("i", range(4))
def test_book_style_code_passes_each_of_the_four_examples_alone(i):
    check = check_student(STUDENTS / "correct.py", "backward", load_exercise(BATCH).example(i))
    assert check.ok, check.run.failure or [r.verdict for r in check.comparison.gradients if not r.agree]


def test_float32_run_gets_float32_parameters(chapter7, tmp_path):
    path = tmp_path / "dtype.py"
    path.write_text("def backward(params, x, y):\n    assert params['W1'].dtype.name == 'float32', params['W1'].dtype\n"
                    "    assert x.dtype.name == 'float32' and x.shape == (4,)\n    return {}\n")
    check = check_student(path, "backward", chapter7, dtype="float32")
    assert check.run.status == "ok", check.run.failure


def test_returned_values_are_diagnosed_like_hand_answers(chapter7):
    check = check_student(STUDENTS / "missing_factor.py", "backward", chapter7)
    wrong = {c.key: c for c in check.diagnoses if not c.agree}
    assert wrong["dL/dy_hat[0]"].diagnosis == "convention: loss gradient without the 2/n factor: (y_hat - y)"
    assert wrong["dL/dW2[2][0]"].kind == "follows" and wrong["dL/dW2[2][0]"].follows_from == ["dL/dy_hat[0]"]
    from compare.grading.feedback import diagnosis_lines
    assert diagnosis_lines(check)[-1] == ("Returned values: 16 wrong; 4 explained by a common convention, "
                                          "12 only carry an earlier error.")
    assert check_student(STUDENTS / "correct.py", "backward", chapter7).diagnoses  # diagnosed, all agree
    assert diagnosis_lines(check_student(STUDENTS / "correct.py", "backward", chapter7)) == []
