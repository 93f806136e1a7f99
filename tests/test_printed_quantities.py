"""Quantities texts print beside the steps: the error e = ŷ − y, the softmax's exp(ŷ), the
loss of each example and the update step delta_θ = −lr·∂L/∂θ. Each is computed exactly,
by hand in floats and by torch; each is judged as a hand answer and as a student's return,
and nobody is asked for one they did not give."""
from fractions import Fraction

import numpy as np
import pytest

from compare.cli import main
from compare.comparison import compare_exercise
from compare.diagnosis import check_answers
from compare.grading.check import check_student
from reference import load_exercise, run_pass
from reference.backprop import DEFAULT_LR, underflows
from reference.exercise import CHAPTER7_PATH
from torch_impl.model import run_autograd

DATA = CHAPTER7_PATH.parent
SETUP = CHAPTER7_PATH.read_text().split("[answers]")[0]
CORRECT_STUDENT = (CHAPTER7_PATH.parents[2] / "examples" / "students" / "correct.py").read_text()


def write(tmp_path, text: str, name: str = "text.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", sorted(DATA.glob("*.toml")), ids=lambda p: p.stem)
def test_every_printed_quantity_agrees_exactly_by_hand_and_by_torch(path):
    exercise = load_exercise(path)
    arch = exercise.architecture
    exact = run_pass(exercise, arch.ground_truth).values
    hand = run_pass(exercise, "float64").values
    torch_values = run_autograd(exercise).values
    names = arch.printed_names()
    assert names[0] == "e" and all(f"delta_{p}" in names for p in arch.parameter_shapes())
    assert ("exps" in names) == (arch.loss == "cross_entropy")
    lr = exercise.training.lr if exercise.training.lr is not None else DEFAULT_LR
    for name in names:
        want = np.asarray(exact[name], dtype=float)
        if not name.startswith("delta_"):
            np.testing.assert_allclose(hand[name], want, rtol=1e-12, atol=1e-12, err_msg=name)
            np.testing.assert_allclose(torch_values[name], want, rtol=1e-12, atol=1e-12, err_msg=name)
    for parameter in arch.parameter_shapes():
        step = 0 if parameter in exercise.training.freeze else lr  # Mazur's files freeze the biases
        # each float run steps by its own gradient: at a kink (the chapter's z1[0]) the runs take different sides
        for run in (hand, torch_values):
            np.testing.assert_allclose(run[f"delta_{parameter}"], -float(step) * run[f"dL/d{parameter}"],
                                       rtol=1e-15, atol=0)
        if arch.rational:
            assert (exact[f"delta_{parameter}"] == -Fraction(step) * exact[f"dL/d{parameter}"]).all()
    assert exact["L_per_example"].shape == (exercise.batch_size,)


def test_chapter7_printed_values_are_the_texts():
    values = run_pass(load_exercise(CHAPTER7_PATH), "exact").values
    # ŷ = (0.1, −0.1, −0.05, −0.25) against the flipped image (1, 1, 0, 1)
    assert list(values["e"]) == [Fraction(-9, 10), Fraction(-11, 10), Fraction(-1, 20), Fraction(-5, 4)]
    assert list(values["L_per_example"]) == [Fraction(717, 800)] == [values["L"]]
    # lr 0.1 (the file states none): ΔW2[2][0] = −0.1 · −0.225
    assert values["delta_W2"][2, 0] == Fraction(9, 400) and values["delta_b2"][3] == Fraction(1, 16)


def test_softmax_error_is_p_minus_y_and_exps_are_exp_of_the_logits():
    exercise = load_exercise(DATA / "softmax_classifier.toml")
    values = run_pass(exercise, "float64").values
    np.testing.assert_allclose(values["e"], values["p"] - np.asarray(exercise.y, dtype=float), rtol=1e-15)
    np.testing.assert_allclose(values["exps"], np.exp(values["y_hat"]), rtol=1e-15)
    # for a mean cross-entropy the error is B times the upstream gradient of the logits
    np.testing.assert_allclose(values["e"] / exercise.batch_size, values["dL/dy_hat"], rtol=1e-12, atol=1e-15)


def test_printed_answers_right_and_wrong(tmp_path):
    path = write(tmp_path, SETUP + '[answers]\ne = [-0.9, -1.1, -0.05, -1.25]\nL_per_example = [0.89625]\n'
                                   '"delta_W2[2][0]" = 0.0225\n"delta_b2[3]" = 0.0625\n')
    checks = {c.key: c for c in check_answers(load_exercise(path))}
    assert set(checks) == {"e[0]", "e[1]", "e[2]", "e[3]", "L_per_example[0]", "delta_W2[2][0]", "delta_b2[3]"}
    assert all(c.agree for c in checks.values()), [c.key for c in checks.values() if not c.agree]
    # the update with the gradient's sign (θ + lr·∂L/∂θ) and the error the other way round (y − ŷ)
    path = write(tmp_path, SETUP + '[answers]\ne = [0.9, 1.1, 0.05, 1.25]\n"delta_W2[2][0]" = -0.0225\n'
                                   '"delta_b2[3]" = 0.0625\n')
    checks = {c.key: c for c in check_answers(load_exercise(path))}
    assert not any(checks[f"e[{i}]"].agree for i in range(4)) and not checks["delta_W2[2][0]"].agree
    assert checks["delta_b2[3]"].agree
    assert "sign" in checks["delta_W2[2][0]"].diagnosis


def test_rows_only_for_printed_quantities_that_were_given(tmp_path):
    comparison = compare_exercise(load_exercise(CHAPTER7_PATH))
    assert not any(r.quantity in ("e", "L_per_example") or r.quantity.startswith("delta_")
                   for r in comparison.intermediates)
    path = write(tmp_path, SETUP + '[answers]\n"delta_b2[3]" = 0.0625\n')
    comparison = compare_exercise(load_exercise(path))
    printed = [r for r in comparison.intermediates if r.quantity.startswith("delta_")]
    assert [r.label for r in printed] == ["delta_b2[0]", "delta_b2[1]", "delta_b2[2]", "delta_b2[3]"]
    assert all(r.agree for r in printed)


def test_the_underflow_count_does_not_count_exp_twice():
    # exp(−6e299) of the other classes, in the loss, its gradient and p: the printed exps are not counted again
    assert underflows(load_exercise(CHAPTER7_PATH.parents[2] / "tests" / "cases" / "bad_input"
                                    / "softmax_W_1e300.toml")) == 12


def student_returning(tmp_path, extra: str):
    source = CORRECT_STUDENT.replace('"dL/dz1": dL_dz1}', '"dL/dz1": dL_dz1, ' + extra + "}")
    assert source != CORRECT_STUDENT
    return write(tmp_path, source, "student.py")


def test_a_student_returning_the_error_and_the_update_step_passes(tmp_path, chapter7):
    path = student_returning(tmp_path, '"e": y_hat - y, "delta_W2": -0.1 * dL_dW2, "L_per_example": np.array([L])')
    check = check_student(path, "backward", chapter7, probes=0)
    assert check.ok
    labels = {r.label: r for r in check.comparison.intermediates}
    assert labels["e[3]"].hand == pytest.approx(-1.25) and labels["delta_W2[2][3]"].agree
    assert "delta_b2[0]" not in labels  # not returned: no row


def test_a_student_whose_update_step_climbs_the_loss_fails_with_the_sign_named(tmp_path, chapter7):
    path = student_returning(tmp_path, '"delta_W2": 0.1 * dL_dW2')
    check = check_student(path, "backward", chapter7, probes=0)
    assert not check.ok
    failing = [r.label for r in check.comparison.intermediates if not r.agree]
    assert failing == ["delta_W2[2][0]", "delta_W2[2][1]", "delta_W2[2][2]", "delta_W2[2][3]"]
    assert all(r.agree for r in check.comparison.gradients)
    assert "sign flipped" in str(check)


def test_one_examples_loss_may_be_a_number_or_a_list_of_one(tmp_path, chapter7):
    for written in ("0.89625", "[0.89625]"):
        path = write(tmp_path, SETUP + f"[answers]\nL_per_example = {written}\n")
        assert [c.agree for c in check_answers(load_exercise(path))] == [True]
    for returned in ("L", "np.array([L])"):
        check = check_student(student_returning(tmp_path, f'"L_per_example": {returned}'), "backward", chapter7,
                              probes=2)
        assert check.ok and [r.agree for r in check.comparison.intermediates if r.quantity == "L_per_example"] == [True]
    wrong = check_student(student_returning(tmp_path, '"L_per_example": np.array([L, L])'), "backward", chapter7,
                          probes=0)
    assert not wrong.ok  # two numbers for one example: a wrong shape still


def test_the_update_step_of_a_frozen_parameter_is_zero_in_every_track(tmp_path, capsys):
    # Mazur's text keeps its biases: with [training] freeze their update step is 0, not −lr·∂L/∂b
    body = (DATA / "mazur_as_written.toml").read_text().split("[answers]")[0]
    frozen = write(tmp_path, body + '[answers]\ndelta_b1 = 0\n"delta_W2[0][0]" = -0.04108352\n'
                                    '[training]\nlr = 0.5\nfreeze = ["b1", "b2"]\n')
    exercise = load_exercise(frozen)
    exact, torch_values = run_pass(exercise, exercise.architecture.ground_truth).values, run_autograd(exercise).values
    assert exact["delta_b1"] == 0 and exact["dL/db1"] != 0 and float(torch_values["delta_b1"]) == 0
    assert float(exact["delta_W2"][0, 0]) == pytest.approx(-0.5 * float(exact["dL/dW2"][0, 0]), rel=1e-15)
    assert all(c.agree for c in check_answers(exercise))
    assert main(["answer-key", str(frozen)]) == 0
    assert "b1 is frozen ([training] freeze): the update leaves it" in capsys.readouterr().out
    moving = write(tmp_path, body + '[answers]\ndelta_b1 = 0\n[training]\nlr = 0.5\n', "moving.toml")
    assert not any(c.agree for c in check_answers(load_exercise(moving)))  # not frozen: −lr·∂L/∂b1 ≠ 0


def test_an_update_step_with_another_learning_rate_is_named_at_that_step(tmp_path):
    # lr 0.2 in the file; 0.0225 = −0.1 · (−0.225) is the step at lr 0.1, the gradient itself right
    path = write(tmp_path, SETUP + '[training]\nlr = 0.2\n[answers]\n"dL/dW2[2][0]" = -0.225\n'
                                   '"delta_W2[2][0]" = 0.0225\n"delta_W2[2][2]" = 0.0050\n"delta_b2[3]" = 0.125\n')
    checks = {c.key: c for c in check_answers(load_exercise(path))}
    assert checks["dL/dW2[2][0]"].agree and checks["delta_b2[3]"].agree  # −0.2 · (−0.625)
    assert checks["delta_W2[2][0]"].diagnosis == ("convention: update step with lr = 0.1, not the exercise's 0.2 "
                                                  "([training] lr)")
    # 0.0050 = −0.4 · (−0.0125): the step at lr 0.4 (at the file's 0.2 it is 0.0025)
    assert "lr = 0.4" in checks["delta_W2[2][2]"].diagnosis
    other = write(tmp_path, SETUP + '[training]\nlr = 0.2\n[answers]\n"delta_W2[2][0]" = 0.0317\n', "other.toml")
    assert check_answers(load_exercise(other))[0].diagnosis.startswith("slip")  # no common lr gives 0.0317
    # no [training] lr: the default is named as such; a coarse 0.00 tells no learning rate apart
    default = write(tmp_path, SETUP + '[answers]\n"dL/dW2[2][0]" = -0.225\n"delta_W2[2][0]" = 0.045\n'
                                      '"delta_W2[2][1]" = 0.00\n', "default.toml")
    checks = {c.key: c for c in check_answers(load_exercise(default))}
    assert checks["delta_W2[2][0]"].diagnosis == ("convention: update step with lr = 0.2, not the default 0.1 (the "
                                                  "file states no [training] lr)")
    assert "update step with lr" not in checks["delta_W2[2][1]"].diagnosis


def test_the_rubric_and_the_gradebook_know_the_update_step(tmp_path):
    import csv
    exercise = write(tmp_path, SETUP + '[training]\nlr = 0.5\n[grading.points]\n"dL/dW2" = 3\n"delta_W2" = 2\n',
                     "rubric.toml")
    students = {"right": '"delta_W2": -0.5 * dL_dW2', "climbs": '"delta_W2": 0.5 * dL_dW2',
                "old_lr": '"delta_W2": -0.1 * dL_dW2', "none": '"e": y_hat - y'}
    paths = []
    for name, extra in students.items():
        paths.append(student_returning(tmp_path, extra).rename(tmp_path / f"{name}.py"))
    out = tmp_path / "out"
    assert main(["grade", *map(str, paths), "--exercise", str(exercise), "--out", str(out), "--probes", "0"]) == 1
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert {name: (r["status"], r["points"]) for name, r in rows.items()} == {
        "right": ("pass", "5"), "climbs": ("fail", "3"), "old_lr": ("fail", "3"), "none": ("pass", "3")}
    assert rows["climbs"]["step"] == rows["old_lr"]["step"] == "The update step Δθ = −lr · ∂L/∂θ"
    assert rows["climbs"]["first_mistake"] == "delta_W2[2][0]"
    assert "| delta_W2 | 0 / 2 | delta_W2 not returned |" in (out / "feedback" / "none.md").read_text()


def test_the_answer_key_shows_the_working_of_printed_quantities_it_is_asked_for(tmp_path, capsys):
    path = write(tmp_path, SETUP + '[answers]\ne = [-0.9, -1.1, -0.05, -1.25]\n"delta_W2[2][0]" = 0.0225\n')
    assert main(["answer-key", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| e[3]    | -1.25   | -1.25     |            | e[3] = ŷ[3] − y[3] = −0.25 − 1 = −1.25 |" in out
    assert "delta_W2[2][0] = −(lr · ∂L/∂W2[2][0]) = −(0.1 × (−0.225)) = 0.0225" in out
    assert "L_per_example" not in out and "## The update step Δθ = −lr · ∂L/∂θ" in out
    assert main(["answer-key", str(CHAPTER7_PATH)]) == 0
    assert "delta_" not in capsys.readouterr().out  # nobody asked: the key stays the text's steps


def test_an_unknown_name_lists_the_printed_quantities_of_this_network(tmp_path, capsys):
    assert main([str(write(tmp_path, SETUP + '[answers]\ndelta_W3 = 1\n'))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "dL/db1, e, L_per_example, delta_W1, delta_b1, delta_W2, delta_b2; did you mean 'delta_W2'?" in err
    assert "exps" not in err  # no softmax here


HUGE_LOGIT = """[network]
sizes = [1, 2]
activations = ["identity"]
loss = "cross_entropy"
[parameters]
W1 = [[800, 0]]
b1 = [0, 0]
[[examples]]
x = [1]
y = 1
"""


ONE_WEIGHT = """[network]
sizes = [1, 1]
activations = ["identity"]
[parameters]
W1 = [[3]]
b1 = [0]
[[examples]]
x = [1]
y = [0]
"""


@pytest.mark.parametrize("text, dtype, named", [
    (HUGE_LOGIT + '[answers]\n"exps[1]" = 1\n', "float64", "exps[0] overflows to inf"),  # exp(800) > 1.8e308
    (HUGE_LOGIT.replace("800", "100") + '[answers]\n"exps[1]" = 1\n', "float32", "exps[0] overflows to inf"),
    (ONE_WEIGHT + '[training]\nlr = 1e308\n[answers]\n"delta_W1[0][0]" = 1\n', "float64",
     "delta_W1[0][0] overflows to -inf")])  # −1e308 · 6
def test_a_printed_quantity_that_overflows_the_floats_is_one_line(tmp_path, capsys, text, dtype, named):
    assert main([str(write(tmp_path, text)), "--dtype", dtype]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"expected numbers whose {dtype} forward and backward pass stays finite" in err
    assert named in err


def test_a_huge_logit_nobody_asks_the_exponential_of_is_checked_as_usual(tmp_path, capsys):
    # log-softmax keeps the loss of logit 800 finite: exps overflows only where a text prints it
    assert main([str(write(tmp_path, HUGE_LOGIT))]) == 0
    assert "Result: everything agrees." in capsys.readouterr().out
