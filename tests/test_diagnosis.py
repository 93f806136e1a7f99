"""Checking hand answers: one real slip reported once, carried errors named, wrong
conventions recognized by name, exit status 1 on any wrong answer, 0 when all agree."""
import json
from pathlib import Path

import pytest

from compare.cli import main
from compare.diagnosis import CONVENTION, FOLLOWS, SLIP, check_answers, summary_line
from reference.exercise import CHAPTER7_PATH, load_exercise

STUDENT = Path(__file__).parent.parent / "examples" / "chapter7-student.exercise.toml"
SETUP = CHAPTER7_PATH.read_text().split("[answers]")[0]


@pytest.fixture
def answers(tmp_path):
    """An exercise file: the Chapter 7 network with the given ``[answers]`` lines."""
    def make(*lines: str):
        path = tmp_path / "hand.exercise.toml"
        path.write_text(SETUP + "[answers]\n" + "\n".join(lines) + "\n")
        return load_exercise(path)
    return make


def by_key(exercise):
    return {c.key: c for c in check_answers(exercise)}


def test_one_upstream_slip_is_reported_once_and_the_rest_follow_from_it(answers):
    checks = by_key(answers(
        '"dL/dy_hat" = [-0.46, -0.55, -0.025, -0.625]',
        '"dL/dW2[2][0]" = -0.230',          # 0.5 * -0.46; as -0.23 it would agree with -0.225
        '"dL/db2" = [-0.46, -0.55, -0.025, -0.625]',
        '"dL/dh" = [-0.1005, -0.3465, 0.438]',
        '"dL/dz1" = [0, 0, 0.438]',
        '"dL/dW1[0][2]" = 0.438',
        '"dL/db1[2]" = 0.438'))
    slip = checks["dL/dy_hat[0]"]
    # y_hat is not written: the slip entered at Step 1 or in the forward pass before it
    assert slip.kind == SLIP and slip.diagnosis.startswith(
        "slip: the mistake entered at Step 1: gradient of the loss, or earlier (y_hat, which it reads, is not written out)")
    assert not slip.observed
    assert str(slip.given) == "-0.46" and slip.expected == pytest.approx(-0.45)
    followers = ["dL/dW2[2][0]", "dL/db2[0]", "dL/dh[0]", "dL/dh[1]", "dL/dh[2]", "dL/dz1[2]",
                 "dL/dW1[0][2]", "dL/db1[2]"]
    for key in followers:
        assert checks[key].kind == FOLLOWS, (key, checks[key].diagnosis)
        assert checks[key].follows_from == ["dL/dy_hat[0]"]
        assert "follows from the earlier error in dL/dy_hat[0]" in checks[key].diagnosis
    assert checks["dL/dh[2]"].own_value == pytest.approx(0.438)
    wrong = [c for c in checks.values() if not c.agree]
    assert sum(c.kind == SLIP for c in wrong) == 1 and len(wrong) == 1 + len(followers)


def test_a_slip_carried_through_unwritten_steps_is_still_traced(answers):
    # dL/dy_hat[0] written -0.46; dL/dh not written; dL/dz1[2] computed from it
    checks = by_key(answers('"dL/dy_hat[0]" = -0.46', '"dL/dz1[2]" = 0.438'))
    assert checks["dL/dz1[2]"].kind == FOLLOWS
    assert checks["dL/dz1[2]"].follows_from == ["dL/dy_hat[0]"]


def test_a_wrong_step_on_wrong_values_is_a_slip_of_its_own(answers):
    checks = by_key(answers('"dL/dy_hat[0]" = -0.46', '"dL/db2[0]" = -0.48'))
    assert checks["dL/db2[0]"].kind == SLIP
    assert checks["dL/db2[0]"].diagnosis == (
        "slip: the mistake entered here, at Step 3: output layer biases; from your own upstream values "
        "(carrying dL/dy_hat[0]) it is -0.46")
    # a wrong value is carried on as written: dL/db2 = dL/dy_hat gives -0.46 again, not -0.47
    assert by_key(answers('"dL/dy_hat[0]" = -0.46', '"dL/db2[0]" = -0.47'))["dL/db2[0]"].kind == SLIP


def test_a_slip_with_every_value_it_reads_written_entered_here(answers):
    checks = by_key(answers("y_hat = [0.1, -0.1, -0.05, -0.25]", '"dL/dy_hat[0]" = -0.46'))
    assert checks["dL/dy_hat[0]"].observed
    assert checks["dL/dy_hat[0]"].diagnosis == "slip: the mistake entered here, at Step 1: gradient of the loss"


def test_the_student_example_file(capsys):
    checks = check_answers(load_exercise(STUDENT))
    wrong = [c for c in checks if not c.agree]
    assert [c.key for c in wrong if c.kind == SLIP] == ["dL/dy_hat[0]"]
    assert [(c.key, c.convention) for c in wrong if c.kind == CONVENTION] == [
        ("relu_mask[0]", "ReLU'(0) taken as 1, where the text and PyTorch take 0")]
    assert sum(c.kind == FOLLOWS for c in wrong) == 15
    assert sorted({c.key: c for c in checks}["dL/dW1[0][0]"].follows_from) == [
        "dL/dy_hat[0]", "relu_mask[0]"]
    assert summary_line(checks) == (
        "Hand answers: 38 of 55 entries agree; 1 slip: dL/dy_hat[0]; 1 convention mistake: relu_mask[0] "
        "(ReLU'(0) taken as 1, where the text and PyTorch take 0); 15 more follow from them.")
    assert main([str(STUDENT)]) == 1
    out = capsys.readouterr().out
    assert "Hand answers" in out and "| dL/dy_hat[0] | -0.54" in out
    assert "follows from the earlier errors in dL/dy_hat[0] and relu_mask[0]" in out


@pytest.mark.parametrize("lines, key, convention", [
    (['"dL/dy_hat" = [-1.8, -2.2, -0.1, -2.5]'], "dL/dy_hat[0]",
     "loss gradient without the 1/n factor: 2(y_hat - y)"),
    (['"dL/dy_hat" = [-0.9, -1.1, -0.05, -1.25]'], "dL/dy_hat[1]",
     "loss gradient without the 2/n factor: (y_hat - y)"),
    (['relu_mask = [1, 0, 1]'], "relu_mask[0]", "ReLU'(0) taken as 1, where the text and PyTorch take 0"),
    (['"dL/dz1" = [-0.0975, 0, 0.44]'], "dL/dz1[0]", "ReLU'(0) taken as 1, where the text and PyTorch take 0"),
    (['relu_mask = [1, 1, 1]'], "relu_mask[1]", "ReLU gate skipped: derivative taken as 1 everywhere"),
    (['"dL/dh" = [0.0675, 0.0775, -0.1475]'], "dL/dh[0]",
     "weights used untransposed: W reshaped to (out, in) instead of W.T"),
    (['"dL/db2" = [0, 0, 0, 0]'], "dL/db2[0]", "bias treated as a constant: gradient 0"),
    (['"dL/db2[3]" = 0.625'], "dL/db2[3]", "sign flipped"),
    (['"dL/dW2[1][2]" = -0.275'], "dL/dW2[1][2]", "transposed matrix: this is the value of dL/dW2[2][1]"),
    (['L = 3.585'], "L", "sum of squares instead of the mean over the outputs"),
    (['h = [0, -0.1, 0.5]'], "h[1]", "ReLU not applied: activation taken equal to the pre-activation"),
])
def test_conventions_are_recognized_by_name(answers, lines, key, convention):
    check = by_key(answers(*lines))[key]
    assert check.kind == CONVENTION, check.diagnosis
    assert check.convention == convention
    assert check.diagnosis == f"convention: {convention}"


def test_a_convention_in_an_unwritten_earlier_step(answers):
    # dL/dW1 from W2 used untransposed in Step 4, Step 4 itself not written
    check = by_key(answers('"dL/dW1[0][2]" = -0.1475'))["dL/dW1[0][2]"]
    assert check.kind == CONVENTION
    assert check.convention == ("weights used untransposed: W reshaped to (out, in) instead of W.T "
                                "(made in an earlier step that is not written out)")
    check = by_key(answers('"dL/db2[0]" = -1.8'))["dL/db2[0]"]
    assert check.convention.startswith("loss gradient without the 1/n factor")


def test_a_convention_in_a_written_step_makes_the_rest_follow(answers):
    checks = by_key(answers('"dL/dy_hat" = [-0.9, -1.1, -0.05, -1.25]', '"dL/db2" = [-0.9, -1.1, -0.05, -1.25]'))
    assert checks["dL/dy_hat[0]"].kind == CONVENTION
    assert checks["dL/db2[0]"].kind == FOLLOWS and checks["dL/db2[0]"].follows_from == ["dL/dy_hat[0]"]


def test_precision_rule(answers):
    """d decimals: within 1/2 * 10**-d of the exact value; an integer must be exact."""
    checks = by_key(answers("L = 0.896", '"dL/dh[0]" = -0.1', '"dL/dh[1]" = -0.34', '"dL/dh[2]" = 0.44',
                            '"dL/dW2[2][2]" = 0.0', '"dL/dW2[2][3]" = 0'))
    assert checks["L"].agree                   # 717/800 = 0.89625 within 0.0005
    assert checks["dL/dh[0]"].agree            # -0.0975 within 0.05
    assert not checks["dL/dh[1]"].agree        # -0.3475 is 0.0075 away, more than 0.005
    assert checks["dL/dh[2]"].agree
    assert checks["dL/dW2[2][2]"].agree        # -0.0125 within 0.05 of 0.0
    assert not checks["dL/dW2[2][3]"].agree    # an integer 0 means exactly 0; it is -0.3125
    assert not by_key(answers("L = 0.895"))["L"].agree
    assert by_key(answers('"dL/dW2[2][0]" = -0.23'))["dL/dW2[2][0]"].agree      # -0.225 rounds either way
    assert not by_key(answers('"dL/dW2[2][0]" = -0.230'))["dL/dW2[2][0]"].agree


def test_all_correct_answers_exit_0_and_json_lists_them(answers, capsys):
    exercise = answers('"dL/dy_hat" = [-0.45, -0.55, -0.025, -0.625]', '"dL/dW1[0][2]" = 0.44',
                       "L = 0.89625", 'relu_mask = [0, 0, 1]')
    assert all(c.agree for c in check_answers(exercise))
    assert main([exercise.path, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["answers"]) == 9 and all(a["agree"] for a in data["answers"])
    first = data["answers"][0]
    assert first["key"] == "L" and first["expected_fraction"] == "717/800" and first["verdict"] == "agree"


def test_a_wrong_answer_exits_1_and_json_has_the_diagnosis(answers, capsys):
    exercise = answers('"dL/dy_hat[0]" = -0.46', '"dL/db2[0]" = -0.46')
    assert main([exercise.path, "--json"]) == 1
    data = {a["key"]: a for a in json.loads(capsys.readouterr().out)["answers"]}
    assert data["dL/dy_hat[0]"]["kind"] == "slip" and data["dL/dy_hat[0]"]["given"] == "-0.46"
    assert data["dL/db2[0]"]["kind"] == "follows" and data["dL/db2[0]"]["follows_from"] == ["dL/dy_hat[0]"]
    assert data["dL/db2[0]"]["expected"] == -0.45


def test_no_answers_no_section(tmp_path, capsys):
    path = tmp_path / "bare.toml"
    path.write_text(SETUP)
    assert check_answers(load_exercise(path)) == []
    assert main([str(path)]) == 0
    assert "Hand answers" not in capsys.readouterr().out


DEEP = """title = "a 2-3-2-2 network"
[network]
sizes = [2, 3, 2, 2]
activations = ["relu", "relu", "identity"]
[parameters]
W1 = [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]
b1 = [0.1, 0.0, -0.1]
W2 = [[0.2, -0.1], [0.3, 0.4], [-0.5, 0.1]]
b2 = [0.0, 0.1]
W3 = [[0.3, -0.2], [0.1, 0.5]]
b3 = [0.1, 0.0]
[[examples]]
x = [1, 1]
y = [1, 0]
[answers]
"dL/dy_hat" = [-0.812, 0.038]
"dL/db3[0]" = -0.812
"relu_mask1[2]" = 1
"""


def test_deeper_network(tmp_path):
    path = tmp_path / "deep.exercise.toml"
    path.write_text(DEEP)
    checks = by_key(load_exercise(path))
    assert checks["dL/dy_hat[0]"].kind == SLIP and float(checks["dL/dy_hat[0]"].expected) == -0.821
    assert checks["dL/db3[0]"].kind == FOLLOWS and checks["dL/db3[0]"].follows_from == ["dL/dy_hat[0]"]
    assert checks["relu_mask1[2]"].kind == CONVENTION  # z1[2] = 0.3 - 0.6 - 0.1 = -0.4 < 0
    assert checks["relu_mask1[2]"].convention == "ReLU gate skipped: derivative taken as 1 everywhere"


def test_verdicts_match_the_printed_column_of_the_comparison():
    from compare.comparison import compare_exercise
    exercise = load_exercise(STUDENT)
    comparison = compare_exercise(exercise)
    printed_wrong = {(r.quantity, r.label) for r in comparison.gradients + comparison.intermediates
                     if any(p.startswith("printed") for p in r.problems)}
    wrong = {c.key for c in check_answers(exercise) if not c.agree}
    assert len(printed_wrong) == len(wrong) == 17
    assert {label for _, label in printed_wrong} == {k.replace("dL/d", "") if k.startswith(("dL/dW", "dL/db"))
                                                     else k for k in wrong}


def test_batch_answers(tmp_path):
    batch = CHAPTER7_PATH.parent / "diagonal_flip_batch.toml"
    path = tmp_path / "batch.exercise.toml"
    path.write_text(batch.read_text() + '[answers]\n"dL/dy_hat[3][0]" = -0.1215\n"dL/db2[0]" = -0.3065\n'
                    '"dL/db2[1]" = -0.72\n"z1[3][0]" = 0\n')
    checks = by_key(load_exercise(path))
    assert checks["z1[3][0]"].agree
    assert checks["dL/dy_hat[3][0]"].kind == SLIP and checks["dL/dy_hat[3][0]"].expected == pytest.approx(-0.1125)
    # -0.11 + 0.0175 - 0.0925 - 0.1215: the batch sum carried correctly
    assert checks["dL/db2[0]"].kind == FOLLOWS and checks["dL/db2[0]"].follows_from == ["dL/dy_hat[3][0]"]
    # 4 * -0.18: with n = B = 4 dropping 1/n and dropping 1/B give the same value; both named
    assert checks["dL/db2[1]"].expected == pytest.approx(-0.18)
    assert checks["dL/db2[1]"].convention == (
        "loss gradient without the 1/n factor: 2(y_hat - y) or loss gradient without the 1/B mean over the "
        "batch (made in an earlier step that is not written out)")


@pytest.mark.parametrize("rule, given, right", [
    ("rtol = 0.01", "-0.447", True),       # -0.45 within 1%
    ("rtol = 0.01", "-0.44", False),       # 2.2% off
    ("sig_figs = 2", "-0.45", True),
    ("sig_figs = 2", "-0.4", False),       # one figure is not two: the printed rounding would accept it
    ("sig_figs = 3", "-0.4504", True),     # more figures than asked for, within half a unit of the third
    ("sig_figs = 3", "-0.456", False),
])
def test_the_instructors_rule_replaces_the_printed_rounding(answers, rule, given, right):
    path = Path(answers(f'"dL/db2[0]" = {given}').path)
    path.write_text(path.read_text() + f"\n[grading]\n{rule}\n")
    check = by_key(load_exercise(path))["dL/db2[0]"]
    assert check.agree == right, check.diagnosis
    assert ("rtol" if "rtol" in rule else "significant figures") in check.rule


@pytest.mark.parametrize("table, expected", [
    ("rtol = 2", "grading.rtol: expected a relative tolerance between 0 and 1"),
    ("sig_figs = 0", "grading.sig_figs: expected a number of significant figures from 1 to 15"),
    ("rtol = 0.1\nsig_figs = 2", "grading: expected one rule: rtol or sig_figs, not both"),
    ("atol = 0.1", "grading.atol: expected one of rtol, sig_figs, points, carried_errors_lose_points"),
    ("points = {\"dL/dW9\" = 1}", "grading.points.dL/dW9: expected a quantity (z1, h"),
    ("points = {\"Step 2\" = -1}", "grading.points.Step 2: expected a number of points from 0 to 1000000"),
    ("carried_errors_lose_points = 1", "grading.carried_errors_lose_points: expected true or false"),
])
def test_a_bad_grading_table_is_one_line(answers, table, expected, capsys):
    path = Path(answers('"dL/db2[0]" = -0.45').path)
    path.write_text(path.read_text() + f"\n[grading]\n{table}\n")
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1
