"""The grading cases of issue 8 (tests/cases/grading, copied from shared/cases/grading):
each stands for a kind of fault the grader got wrong, and each gets its right outcome here."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compare.cli import main
from compare.diagnosis import check_answers, summary_line
from reference import load_exercise

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases" / "grading"
DATA = ROOT / "reference" / "data"


def _exercise(args: tuple) -> list[str]:
    """An exercise file given positionally, as the cases' README writes it, is grade's --exercise."""
    return [f"--exercise={a}" if a.endswith(".toml") else a for a in args]


def grade(capsys, case: str, *args: str) -> tuple[int, str]:
    status = main(["grade", f"{CASES / case}:backward", *_exercise(args)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return status, captured.out


def grade_json(capsys, case: str, *args: str) -> tuple[int, dict]:
    status, out = grade(capsys, case, *args, "--json")
    return status, json.loads(out)


def rows(data: dict) -> dict:
    return {g["parameter"]: g for g in data["gradients"]}


def test_nan_entry_is_a_named_failed_entry_with_the_full_report(capsys):
    status, out = grade(capsys, "nan_entry.py")
    assert status == 1 and out.rstrip().endswith("Student result: FAIL.")
    assert "| W2[2][1]    | nan" in out and "hand: not a finite number (nan)" in out
    assert "| dL/dW2[2][1] | nan     | -0.275     | WRONG     | not a finite number (nan) |" in out
    status, data = grade_json(capsys, "nan_entry.py")
    assert status == 1 and not data["student"]["ok"]
    assert [g["parameter"] for g in data["gradients"] if not g["agree"]] == ["W2[2][1]"]


def test_a_wrong_z_never_makes_a_kink(capsys):
    status, data = grade_json(capsys, "bias_left_out_fake_kink.py")
    assert status == 1
    by = rows(data)
    for label in ("W1[0][1]", "W1[2][1]", "W1[3][1]", "b1[1]"):
        assert not by[label]["agree"] and "subgradient" not in by[label]["verdict"]
        assert by[label]["exact"] == 0 and not by[label]["kink"]
    assert data["summary"]["gradients_computed_agree"] < 31
    assert [k.split(" is at")[0] for k in data["summary"]["kinks"]] == ["hidden neuron 0"]  # the real kink only
    diagnoses = {d["key"]: d for d in data["student"]["diagnoses"]}
    assert diagnoses["z1[1]"]["convention"] == "bias left out of the weighted sum"
    assert diagnoses["dL/db1[1]"]["kind"] == "follows" and diagnoses["dL/db1[1]"]["follows_from"] == ["z1[1]"]


def test_mixed_sides_of_one_kink_fail_with_the_cause_named(capsys):
    status, out = grade(capsys, "mixed_kink_sides.py")
    assert status == 1 and out.rstrip().endswith("Student result: FAIL.")
    assert ("hand: BOTH sides, most entries take ReLU′(0) = 1 at hidden neuron 0, but b1[0] takes 0: one neuron "
            "has one ReLU′(0), so no single subgradient gives these values") in out
    assert "convention: mixed sides of the kink" in out


def test_class_index_targets_reach_a_correct_student_as_labels(capsys):
    status, out = grade(capsys, "class_index_targets_correct.py", str(DATA / "softmax_classifier.toml"))
    assert status == 0, out[-1500:]
    assert out.rstrip().endswith("Student result: PASS, every gradient agrees, on every probe too.")


def test_a_missing_two_is_one_named_mistake_not_twelve_slips(capsys):
    status, data = grade_json(capsys, "missing_two_gradients_only.py")
    assert status == 1
    named = [m["description"] for m in data["student"]["named_mistakes"]]
    assert named == ["loss gradient without the 2 of 2/n: (y_hat - y)/n, every gradient half the right value"]
    kinds = [d["kind"] for d in data["student"]["diagnoses"]]
    assert len(kinds) == 12 and set(kinds) == {"convention"}
    assert all("made in an earlier step that is not returned" in d["convention"] for d in data["student"]["diagnoses"])


def test_sigmoid_prime_of_z_is_named(capsys):
    status, out = grade(capsys, "sigmoid_prime_of_z.py", str(DATA / "xor_2_2_1_sigmoid.toml"))
    assert status == 1
    assert ("Named mistake: your returned values are exactly those of a backward pass with sigmoid′ applied to z1: "
            "z1(1 − z1) instead of σ(z1)(1 − σ(z1)).") in out
    assert "| dL/dz1[0][0] |" in out and "convention: sigmoid′ applied to z1" in out
    assert "slip" not in out.split("Diagnosis of the returned values")[1]


def _sleepers() -> set[int]:
    found = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", b"25"]:
                    found.add(int(pid))
            except OSError:
                pass
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_background_process_neither_delays_nor_survives_grading(capsys):
    before = _sleepers()
    start = time.perf_counter()
    status, out = grade(capsys, "background_grandchild.py")
    assert status == 0, out[-1500:]
    assert time.perf_counter() - start < 8  # the function returned at once; not the 10 s time limit
    time.sleep(0.2)
    assert _sleepers() <= before  # no orphan left


def test_a_forged_result_is_no_result(capsys):
    # the case writes garbage to what was the result file (sys.argv[4]): the argument is
    # gone, so the attempt is the student's own exception, a failed verdict
    status, out = grade(capsys, "forged_output.py")
    assert status == 1 and out.rstrip().endswith("Student result: FAIL.")
    assert "IndexError" in out
    # the same attack aimed at the real channel (a pipe among its descriptors): no result
    status = main(["grade", f"{ROOT / 'tests' / 'submissions' / 'grading' / 'forged_channel.py'}:backward"])
    captured = capsys.readouterr()
    assert status == 1 and "Traceback" not in captured.out + captured.err
    assert "sent back no usable result" in captured.out and captured.out.rstrip().endswith("Student result: FAIL.")


def test_a_shadow_module_cannot_reach_the_grader(tmp_path):
    """Graded from a scratch folder: the module the student drops must not land in the
    grader's folder, and a later wrong submission graded from there must still fail."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    xor = str(DATA / "xor_2_2_1_sigmoid.toml")
    first = subprocess.run([sys.executable, "-m", "compare", "grade", f"{CASES / 'shadow_module.py'}:backward",
                            "--exercise", xor], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 1 and "Traceback" not in first.stderr
    assert not (tmp_path / "gmpy2.py").exists()
    zeros = tmp_path / "zeros.py"
    zeros.write_text("import numpy as np\ndef backward(params, x, y):\n"
                     "    return {f'dL/d{k}': np.zeros_like(v) for k, v in params.items()}\n")
    (tmp_path / "gmpy2.py").write_text((CASES / "shadow_module.py").read_text().split("PAYLOAD = '''")[1]
                                       .split("'''")[0])  # even a planted gmpy2.py in the cwd is not imported
    second = subprocess.run([sys.executable, "-m", "compare", "grade", f"{zeros}:backward", "--exercise", xor],
                            cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 1, second.stdout[-2000:]
    assert "Student result: FAIL." in second.stdout


def test_every_step_rounded_to_four_decimals_is_accepted(capsys):
    exercise = load_exercise(CASES / "rounded_steps_correct.exercise.toml")
    checks = check_answers(exercise)
    assert len(checks) == 39 and all(c.agree for c in checks), [c.diagnosis for c in checks if not c.agree]
    carried = [c.key for c in checks if c.rule.startswith("carried rounding")]
    assert "dL/dW1[2][0]" in carried and "dL/dW2[0][0]" in carried
    assert summary_line(checks).startswith("Hand answers: 39 of 39 entries agree (")
    assert main([str(CASES / "rounded_steps_correct.exercise.toml")]) == 0
    assert "by carried rounding" in capsys.readouterr().out


def test_a_real_slip_among_rounded_steps_is_still_caught_and_located(tmp_path):
    text = (CASES / "rounded_steps_correct.exercise.toml").read_text()
    path = tmp_path / "slip.exercise.toml"
    # dL/dh[1][0] misread as 0.219 (it is 0.2089), then carried: dL/dz1[1][0] = 0.219 * 0.9901 = 0.2168
    path.write_text(text.replace('"dL/dh" = [[-0.114, 0.078], [0.209, -0.143]]',
                                 '"dL/dh" = [[-0.114, 0.078], [0.219, -0.143]]')
                    .replace('"dL/dz1" = [[-0.0294, 0.075], [0.2069, -0.0259]]',
                             '"dL/dz1" = [[-0.0294, 0.075], [0.2168, -0.0259]]'))
    checks = {c.key: c for c in check_answers(load_exercise(path))}
    wrong = [c for c in checks.values() if not c.agree]
    assert [c.key for c in wrong if c.kind == "slip"] == ["dL/dh[1][0]"]
    assert checks["dL/dh[1][0]"].diagnosis.startswith("slip: the mistake entered here, at Step 4")
    assert [c.key for c in wrong if c.kind == "follows"] == ["dL/dz1[1][0]"]
    assert checks["dL/dz1[1][0]"].follows_from == ["dL/dh[1][0]"]
    # a 0.01 slip on a value the next steps never read is still a slip, not rounding
    path.write_text(text.replace('"dL/db2" = [0.05, -0.05]', '"dL/db2" = [0.06, -0.05]'))
    checks = {c.key: c for c in check_answers(load_exercise(path))}
    assert [c.key for c in checks.values() if not c.agree] == ["dL/db2[0]"]
    assert checks["dL/db2[0]"].kind == "slip"
