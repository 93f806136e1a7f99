"""The quantity ``p``: the probabilities a loss on logits sees (softmax(y_hat) for
cross_entropy, sigmoid(y_hat) for bce_with_logits; y_hat stays the logits), computed
by the reference pass, checked against torch and the 50-digit ground truth, in the
answer key, as hand answers and as students' returned values."""
import json
from decimal import Decimal

import mpmath
import numpy as np
import pytest
import torch

from compare import compare_exercise
from compare.answer_key import build_answer_key
from compare.catalogue import WRONG_PROBABILITIES
from compare.cli import main
from compare.diagnosis import check_answers
from compare.grading.check import check_function
from compare.grading.key import GradingKey
from reference import load_exercise, run_pass
from reference.backprop import Backprop
from reference.exercise import CHAPTER7_PATH, ExerciseError
from reference.losses import probabilities
from torch_impl import run_autograd

DATA = CHAPTER7_PATH.parent
SOFTMAX = DATA / "softmax_classifier.toml"
LOGITS = DATA / "multilabel_bce_logits.toml"


def exact_softmax(row):
    e = [mpmath.exp(v) for v in row]
    return [v / sum(e) for v in e]


def test_p_is_softmax_of_the_logits_by_hand_by_torch_and_at_50_digits():
    exercise = load_exercise(SOFTMAX)
    truth = run_pass(exercise, "mp50").values
    assert exercise.architecture.quantity_names()[:5] == ["z1", "h", "y_hat", "p", "L"]
    for row_p, row_logits in zip(truth["p"], truth["y_hat"]):
        assert all(abs(a - b) < mpmath.mpf(10) ** -45 for a, b in zip(row_p, exact_softmax(row_logits)))
    assert abs(truth["p"][0][0] - mpmath.mpf("0.42349076577376775796285090805409")) < 1e-30
    hand = run_pass(exercise, "float64").values["p"]
    auto = run_autograd(exercise).values["p"]
    logits = torch.tensor(run_autograd(exercise).values["y_hat"])
    np.testing.assert_allclose(auto, torch.softmax(logits, dim=1).numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(hand, auto, rtol=1e-15)
    np.testing.assert_allclose(hand.sum(axis=1), 1.0, rtol=1e-15)
    # y_hat keeps meaning the logits
    assert float(truth["y_hat"][0][0]) == pytest.approx(0.34)


def test_p_is_sigmoid_of_the_logits_for_bce_with_logits():
    exercise = load_exercise(LOGITS)
    truth = run_pass(exercise, "mp50").values
    for b, j in np.ndindex(truth["p"].shape):
        assert abs(truth["p"][b, j] - 1 / (1 + mpmath.exp(-truth["y_hat"][b, j]))) < mpmath.mpf(10) ** -45
    auto = run_autograd(exercise)
    np.testing.assert_allclose(auto.values["p"], torch.sigmoid(torch.tensor(auto.values["y_hat"])).numpy(), atol=0)
    assert f"{float(truth['p'][0, 0]):.10f}" == "0.5608223037"


def test_no_p_without_a_loss_on_logits(chapter7):
    assert "p" not in chapter7.architecture.quantity_names()
    assert "p" not in run_pass(chapter7, "exact").values
    assert "p" not in load_exercise(DATA / "xor_2_2_1_sigmoid.toml").architecture.quantity_names()  # bce


@pytest.mark.parametrize("path", [SOFTMAX, LOGITS])
def test_p_rows_of_the_report_agree_and_a_wrong_p_step_is_rejected(path):
    exercise = load_exercise(path)
    comparison = compare_exercise(exercise)
    rows = [r for r in comparison.intermediates if r.quantity == "p"]
    assert len(rows) == exercise.batch_size * exercise.architecture.sizes[-1]
    assert comparison.ok and all(r.agree for r in rows)

    class WrongFunction(Backprop):
        """p by the other of softmax and sigmoid."""

        def probabilities(self, y_hat, loss):
            return probabilities("bce_with_logits" if loss == "cross_entropy" else "cross_entropy", y_hat)

    broken = compare_exercise(exercise, backprop=WrongFunction())
    wrong = [r for r in broken.intermediates if not r.agree]
    assert not broken.ok and {r.quantity for r in wrong} == {"p"}
    assert all("hand ≠ exact" in r.verdict for r in wrong)


def test_p_in_the_answer_key_forward_part():
    key = build_answer_key(load_exercise(SOFTMAX))
    assert key.steps[0].names == ["z1", "h", "y_hat", "p", "L"]
    assert key.entry("p[0][0]").decimal_cell == "0.42349077..."


def write_answers(tmp_path, source, answers: str):
    path = tmp_path / "answers.toml"
    path.write_text(source.read_text() + "\n[answers]\n" + answers)
    return path


def test_hand_answers_of_p_right_and_wrong(tmp_path, capsys):
    right = write_answers(tmp_path, SOFTMAX, 'p = [[0.4235, 0.2955, 0.2810], [0.3414, 0.4006, 0.2580], '
                                             '[0.3634, 0.32229, 0.3143]]\n')
    checks = check_answers(load_exercise(right))
    assert len(checks) == 9 and all(c.agree for c in checks)
    assert main([str(right)]) == 0
    capsys.readouterr()
    # 0.2811 is one unit off in its last place; 0.5842 is sigmoid(0.34), the wrong function
    wrong = write_answers(tmp_path, SOFTMAX, '"p[0][0]" = 0.4235\n"p[0][2]" = 0.2811\n"p[1][0]" = 0.5125\n'
                                             'y_hat = [[0.34, -0.02, -0.07], [0.05, 0.21, -0.23], '
                                             '[0.225, 0.105, 0.08]]\n')
    by_key = {c.key: c for c in check_answers(load_exercise(wrong))}
    assert by_key["p[0][0]"].agree
    assert by_key["p[0][2]"].kind == "slip" and by_key["p[0][2]"].observed  # every logit it reads is written
    assert by_key["p[0][2]"].diagnosis.startswith("slip: the mistake entered here, at Recall: the forward pass")
    assert by_key["p[1][0]"].kind == "convention"
    assert by_key["p[1][0]"].convention == WRONG_PROBABILITIES["cross_entropy"][1]
    assert main([str(wrong), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert {a["key"] for a in data["answers"] if not a["agree"]} == {"p[0][2]", "p[1][0]"}


def test_sigmoid_outputs_as_hand_answers(tmp_path):
    path = write_answers(tmp_path, LOGITS, '"p[0][0]" = 0.5608\n"p[0][1]" = 0.5206\n"p[1][1]" = 0.5896\n')
    checks = {c.key: c for c in check_answers(load_exercise(path))}
    assert checks["p[0][0]"].agree and checks["p[0][1]"].agree and not checks["p[1][1]"].agree


def test_p_is_refused_where_the_loss_does_not_take_logits(chapter7_variant):
    path = chapter7_variant("[answers]", "[answers]\np = [0.1, 0.2, 0.3, 0.4]")
    with pytest.raises(ExerciseError, match=r"answers\.p: .*\(p belongs to the losses on logits, "
                                            r"cross_entropy and bce_with_logits\)"):
        load_exercise(path)


def softmax_student(shift=0.0):
    """A student's cross-entropy backward for the 4-3-3 classifier (class-index targets),
    returning p; ``shift`` spoils p (and nothing else)."""
    def backward(params, x, y):
        z1 = x @ params["W1"] + params["b1"]
        h = np.maximum(z1, 0)
        logits = h @ params["W2"] + params["b2"]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        onehot = np.eye(p.shape[1])[y]
        dy = (p - onehot) / len(x)
        dh = dy @ params["W2"].T
        dz1 = dh * (z1 > 0)
        return {"dL/dW2": h.T @ dy, "dL/db2": dy.sum(axis=0), "dL/dW1": x.T @ dz1, "dL/db1": dz1.sum(axis=0),
                "y_hat": logits, "p": p + shift, "L": -np.log(p[np.arange(len(y)), y]).mean()}
    return backward


def test_a_student_returning_p_right_and_wrong():
    key = GradingKey.build(load_exercise(SOFTMAX), probes=0)
    right = check_function(softmax_student(), key)
    assert right.ok
    assert any(r.quantity == "p" and r.hand is not None and r.agree for r in right.comparison.intermediates)
    wrong = check_function(softmax_student(0.01), key)
    assert not wrong.ok
    assert {r.quantity for r in wrong.comparison.intermediates + wrong.comparison.gradients if not r.agree} == {"p"}
    diagnosed = [c for c in wrong.diagnoses if c.quantity == "p"]
    assert len(diagnosed) == 9 and all(c.kind == "slip" and c.observed for c in diagnosed)
    assert "the mistake entered here, at Recall: the forward pass" in diagnosed[0].diagnosis


def test_a_student_returning_sigmoid_of_each_logit_as_p_is_named(tmp_path):
    key = GradingKey.build(load_exercise(SOFTMAX), probes=0)

    def sigmoid_p(params, x, y):
        values = softmax_student()(params, x, y)
        values["p"] = 1 / (1 + np.exp(-values["y_hat"]))
        return values
    check = check_function(sigmoid_p, key)
    assert not check.ok
    conventions = {c.convention for c in check.diagnoses if c.quantity == "p"}
    assert conventions == {WRONG_PROBABILITIES["cross_entropy"][1]}


def test_p_takes_the_shape_of_y_hat_in_a_batch_and_alone():
    from reference.exercise import answer_shape
    exercise = load_exercise(SOFTMAX)
    assert answer_shape("p", exercise.architecture, 3) == (3, 3)
    assert answer_shape("p", exercise.architecture, 1) == (3,)
    assert run_pass(exercise.example(1), "mp50").values["p"].shape == (3,)
    assert Decimal(str(float(run_pass(exercise.example(1), "mp50").values["p"][1]))).quantize(
        Decimal("0.0001")) == Decimal("0.4006")
