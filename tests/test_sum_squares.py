"""The plain sum of squares Σ(ŷ − y)² (loss ``sum_squares``) beside sse (½Σ) and mse:
exact in the rationals, checked against ``nn.MSELoss(reduction="sum")``, its
constant-factor mistakes catalogued, hand answers and students' values judged."""
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn

from compare import compare_exercise
from compare.catalogue import ConstantFactor, catalogue, constant_factors
from compare.cli import main
from compare.diagnosis import check_answers
from compare.grading.check import check_function
from compare.grading.key import GradingKey
from compare.grading.matching import matching_mistakes
from reference import load_exercise, run_pass
from reference.exercise import CHAPTER7_PATH
from reference.losses import gradient, loss
from reference.numbers import convert
from torch_impl import run_autograd
from torch_impl.model import loss_value

DATA = CHAPTER7_PATH.parent
NO_BIAS = DATA / "two_layer_net_no_bias.toml"


def chapter7_with(tmp_path, loss_name: str, reduction: str = "mean", answers: str = "", batch: bool = False,
                  name: str = ""):
    """The Chapter 7 network (or its four-example batch) with another loss, without the
    text's answers and claims (they are the mse's)."""
    source = DATA / ("diagonal_flip_batch.toml" if batch else "chapter7.toml")
    text = source.read_text()
    text = text[:text.index("[answers]")] if "[answers]" in text else text
    text = text.replace('loss = "mse"', f'loss = "{loss_name}"').replace('reduction = "mean"', f'reduction = "{reduction}"')
    assert f'loss = "{loss_name}"' in text
    path = tmp_path / f"{name or loss_name}.toml"
    path.write_text(text + ("\n[answers]\n" + answers if answers else ""))
    return path


def test_the_loss_and_its_gradient_in_exact_fractions(tmp_path):
    exercise = load_exercise(chapter7_with(tmp_path, "sum_squares"))
    values = run_pass(exercise, "exact").values
    # y_hat = (0.1, -0.1, -0.05, -0.25), y = (1, 1, 0, 1): 0.81 + 1.21 + 0.0025 + 1.5625
    assert values["L"][()] == Fraction("3.585") == 4 * Fraction("0.89625")
    assert list(values["dL/dy_hat"]) == [Fraction(v) for v in ("-1.8", "-2.2", "-0.1", "-2.5")]
    assert exercise.architecture.rational and exercise.architecture.ground_truth == "exact"
    assert compare_exercise(exercise).ok


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_against_torch_mse_loss_with_reduction_sum(tmp_path, reduction):
    exercise = load_exercise(chapter7_with(tmp_path, "sum_squares", reduction, batch=True))
    y_hat = torch.tensor(run_pass(exercise, "float64").values["y_hat"], requires_grad=True)
    y = torch.tensor(convert(exercise.y, "float64"))
    per_example = [nn.MSELoss(reduction="sum")(y_hat[b], y[b]) for b in range(len(y))]
    expected = sum(per_example) / (len(y) if reduction == "mean" else 1)
    ours = loss_value(exercise.architecture, y_hat, y)
    assert ours.item() == pytest.approx(expected.item(), rel=1e-15)
    ours.backward()
    np.testing.assert_allclose(y_hat.grad.numpy(), gradient("sum_squares", y_hat.detach().numpy(), y.numpy(),
                                                            reduction), rtol=1e-15)
    exact = run_pass(exercise, "exact").values["L"][()]
    assert float(exact) == pytest.approx(expected.item(), rel=1e-15)
    assert loss("sum_squares", convert(exercise.y, "exact") * 0, convert(exercise.y, "exact"), "sum") == sum(
        Fraction(v) ** 2 for v in exercise.y.reshape(-1))
    comparison = compare_exercise(exercise)
    assert comparison.ok and run_autograd(exercise).values["L"] == pytest.approx(expected.item(), rel=1e-15)


def test_the_bundled_bias_free_net_is_the_tutorials_loss():
    exercise = load_exercise(NO_BIAS)
    assert exercise.architecture.loss == "sum_squares" and exercise.architecture.reduction == "sum"
    values = run_pass(exercise, "exact").values
    d = values["y_hat"] - convert(exercise.y, "exact")
    assert values["L"][()] == (d * d).sum()  # np.square(y_pred - y).sum()
    assert compare_exercise(exercise).ok


def test_constant_factor_mistakes_of_the_sum_of_squares(tmp_path):
    arch = load_exercise(chapter7_with(tmp_path, "sum_squares")).architecture
    factors = {m.factor: m.describe() for m in constant_factors(arch, 1)}
    assert factors[Fraction(1, 2)].startswith("the 2 of 2(y_hat - y) left out")
    assert factors[Fraction(1, 4)].startswith("the sum of squares differentiated as a mean over the n outputs")
    assert factors[Fraction(1, 8)].startswith("the 2 left out and divided by n")
    sse = load_exercise(chapter7_with(tmp_path, "sse")).architecture
    sse_factors = {m.factor: m.describe() for m in constant_factors(sse, 1)}
    assert sse_factors[Fraction(2)].startswith("the 1/2 of the half sum of squares dropped")
    assert sse_factors[Fraction(1, 2)].startswith("the 1/2 of the half sum of squares kept")


def test_the_sse_gradient_on_a_sum_of_squares_is_rejected_and_named(tmp_path):
    """y_hat - y (the ½Σ convention's gradient) where the loss is Σ: every gradient half."""
    exercise = load_exercise(chapter7_with(tmp_path, "sum_squares"))
    mistake = next(m for m in catalogue(exercise.architecture)
                   if isinstance(m, ConstantFactor) and m.factor == Fraction(1, 2))
    broken = compare_exercise(exercise, backprop=mistake)
    assert not broken.ok
    assert any("hand ≠ exact" in r.verdict for r in broken.gradients)
    from compare.diagnosis import Diagnoser
    diagnoser = Diagnoser(exercise, subgradients_are_mistakes=False, given="returned")
    values = run_pass(exercise, "float64", mistake).values
    named = matching_mistakes(diagnoser, {k: v for k, v in values.items() if k.startswith("dL/dW")},
                              broken.tolerance)
    assert mistake.describe() in [m.describe() for m in named]


def test_hand_answers_right_and_wrong(tmp_path, capsys):
    right = chapter7_with(tmp_path, "sum_squares", answers='L = 3.585\n"dL/dy_hat" = [-1.8, -2.2, -0.1, -2.5]\n')
    assert all(c.agree for c in check_answers(load_exercise(right)))
    assert main([str(right)]) == 0
    capsys.readouterr()
    # half the sum (the sse convention) and the mean over the outputs (the mse one); y_hat - y
    wrong = chapter7_with(tmp_path, "sum_squares", answers='y_hat = [0.1, -0.1, -0.05, -0.25]\nL = 1.7925\n'
                                                           '"dL/dy_hat" = [-0.9, -1.1, -0.05, -1.25]\n')
    checks = {c.key: c for c in check_answers(load_exercise(wrong)) if not c.agree}
    assert checks["L"].convention == "half the sum of squares (the 1/2 sum convention)"
    assert checks["dL/dy_hat[0]"].convention.startswith("the 2 of 2(y_hat - y) left out")
    mean = chapter7_with(tmp_path, "sum_squares", answers="L = 0.89625\n", name="mean")
    assert check_answers(load_exercise(mean))[0].convention == "mean over the outputs instead of the sum of squares"
    assert main([str(wrong)]) == 1
    assert "half the sum of squares" in capsys.readouterr().out


def sum_squares_student(factor=2.0):
    """A student's backward for the bias-free two-layer net; ``factor`` is the 2 of 2(ŷ − y)."""
    def backward(params, x, y):
        h = x @ params["W1"]
        h_relu = np.maximum(h, 0)
        y_pred = h_relu @ params["W2"]
        grad_y_pred = factor * (y_pred - y)
        grad_h = (grad_y_pred @ params["W2"].T) * (h > 0)
        return {"dL/dW1": x.T @ grad_h, "dL/dW2": h_relu.T @ grad_y_pred, "y_hat": y_pred,
                "L": np.square(y_pred - y).sum(), "dL/dy_hat": grad_y_pred}
    return backward


def test_a_student_function_right_and_wrong():
    key = GradingKey.build(load_exercise(NO_BIAS), probes=2)
    right = check_function(sum_squares_student(), key)
    assert right.ok and all(p.ok for p in right.probes)
    wrong = check_function(sum_squares_student(1.0), key)
    assert not wrong.ok
    assert [m.describe() for m in wrong.named][0].startswith("the 2 of 2(y_hat - y) left out")
