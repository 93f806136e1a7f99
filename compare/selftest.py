"""Deliberately broken backward passes that the comparison must reject.

Each variant replaces exactly one step of ``reference.Backprop`` with a mistake
students make. ``run_self_test`` runs the comparison on each and on the correct pass:
it succeeds only if every variant is caught and the correct pass is accepted.
"""
from dataclasses import dataclass

import numpy as np

from compare.comparison import compare_exercise
from compare.tolerance import Tolerance
from reference.backprop import Backprop
from reference.exercise import Exercise


class MaskDropped(Backprop):
    """Step 5 skips the ReLU gate: ReLU'(z) taken as 1 everywhere."""
    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        return np.ones_like(z)


class MaskFromActivationGreaterEqual(Backprop):
    """Step 5 builds the mask from h instead of z1 and with >=: (h >= 0), all ones."""
    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        if activation != "relu":
            return super().activation_derivative(activation, z, a, layer, negative_slope)
        return np.where(a >= 0, 1, 0).astype(z.dtype)


class WeightsReshapedNotTransposed(Backprop):
    """Step 4 multiplies by W2 reshaped to (out, in) instead of transposed."""
    def to_previous_layer(self, weights, upstream):
        return upstream @ weights.reshape(weights.shape[::-1])


class LossGradientMissingFactor(Backprop):
    """Step 1 forgets the 2/n factor of the mean squared error: dL/dy_hat = y_hat - y."""
    def loss_gradient(self, y_hat, y, loss, reduction):
        return y_hat - y


class BiasGradientZero(Backprop):
    """Steps 3 and 7 treat the bias as a constant: dL/db = 0 instead of the upstream gradient."""
    def bias_gradient(self, upstream):
        return 0 * upstream.sum(axis=0)


class OuterProductWrongOrder(Backprop):
    """Steps 2 and 6 take the outer product in the wrong order (upstream ⊗ input, reshaped to fit).

    The (out, in) result is reshaped to W's (in, out) shape, as students do to silence the
    shape error."""
    def weight_gradient(self, inputs, upstream):
        return (upstream.T @ inputs).reshape(inputs.shape[1], upstream.shape[1])


class BiasGradientNotSummed(Backprop):
    """Steps 3 and 7 scale the first example's upstream gradient instead of summing the batch.

    Indistinguishable from the right answer on one example, so it runs on the batch."""
    def bias_gradient(self, upstream):
        return upstream[0] * len(upstream)


VARIANTS = [MaskDropped, MaskFromActivationGreaterEqual, WeightsReshapedNotTransposed,
            LossGradientMissingFactor, BiasGradientZero, OuterProductWrongOrder]


@dataclass
class SelfTestResult:
    """One line of the self-test: the variant, whether the comparison rejected it, and
    the first rows it flagged."""
    name: str
    description: str
    expected_to_fail: bool
    rejected: bool
    evidence: str

    @property
    def passed(self) -> bool:
        return self.rejected == self.expected_to_fail


def check_backprop(exercise: Exercise, backprop: Backprop, dtype: str = "float64",
                   tolerance: Tolerance | None = None, expected_to_fail: bool = True) -> SelfTestResult:
    """Compare ``backprop`` against autograd and the exact values on ``exercise``."""
    comparison = compare_exercise(exercise, dtype, tolerance, backprop=backprop)
    flagged = [r for r in comparison.gradients + comparison.intermediates if not r.agree]
    if comparison.hand_error:
        evidence = comparison.hand_error
    elif flagged:
        labels = ", ".join(r.label for r in flagged[:4]) + (", ..." if len(flagged) > 4 else "")
        evidence = f"{len(flagged)} entries disagree ({labels}): {flagged[0].verdict}"
    else:
        evidence = "every entry agrees"
    doc = (type(backprop).__doc__ or "the correct backward pass").strip().splitlines()[0]
    return SelfTestResult(type(backprop).__name__, doc, expected_to_fail, not comparison.ok, evidence)


def run_self_test(exercise: Exercise, dtype: str = "float64", tolerance: Tolerance | None = None,
                  batch: Exercise | None = None) -> list[SelfTestResult]:
    """The correct pass (must be accepted) and every variant (each must be rejected) on
    ``exercise``; with ``batch``, also the variants only a batch can reveal."""
    results = [check_backprop(exercise, Backprop(), dtype, tolerance, expected_to_fail=False)]
    results += [check_backprop(exercise, variant(), dtype, tolerance) for variant in VARIANTS]
    if batch is not None:
        results.append(check_backprop(batch, Backprop(), dtype, tolerance, expected_to_fail=False))
        results.append(check_backprop(batch, BiasGradientNotSummed(), dtype, tolerance))
    return results
