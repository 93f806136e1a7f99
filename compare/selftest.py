"""Deliberately broken backward passes that the comparison must reject.

Each variant replaces exactly one step of ``reference.Backprop`` with a mistake
students make. ``run_self_test`` runs the comparison on each and on the correct pass:
it succeeds only if every variant is caught and the correct pass is accepted.
"""
from dataclasses import asdict, dataclass, replace

from pathlib import Path

import numpy as np

from compare.comparison import compare_exercise
from compare.tolerance import Tolerance
from reference.backprop import Backprop, run_pass
from reference.exercise import CHAPTER7_PATH, Exercise, load_exercise
from reference.numbers import MP_ZERO, as_fraction


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
    """Step 1 forgets the 2/n factor of the mean squared error: dL/dy_hat = y_hat - y (still / B for a batch mean)."""
    def loss_gradient(self, y_hat, y, loss, reduction):
        if loss != "mse":
            return super().loss_gradient(y_hat, y, loss, reduction)
        return (y_hat - y) / (len(y) if reduction == "mean" else 1)


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


class SigmoidDerivativeOfPreactivation(Backprop):
    """Step 5 applies the sigmoid derivative to the pre-activation: z (1 - z) instead of a (1 - a)."""
    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        if activation == "sigmoid":
            return z * (1 - z)
        return super().activation_derivative(activation, z, a, layer, negative_slope)


class TanhDerivativeOfPreactivation(Backprop):
    """Step 5 applies the tanh derivative to the pre-activation: 1 - z**2 instead of 1 - a**2."""
    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        if activation == "tanh":
            return 1 - z * z
        return super().activation_derivative(activation, z, a, layer, negative_slope)


class LeakySlopeIgnored(Backprop):
    """Step 5 treats leaky ReLU as ReLU: derivative 0 instead of the slope for z < 0."""
    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        name = "relu" if activation == "leaky_relu" else activation
        return super().activation_derivative(name, z, a, layer, negative_slope)


class CrossEntropyWithoutSoftmax(Backprop):
    """Step 1 takes the cross-entropy gradient as logits - y, forgetting the softmax."""
    def loss_gradient(self, y_hat, y, loss, reduction):
        if loss != "cross_entropy":
            return super().loss_gradient(y_hat, y, loss, reduction)
        return (y_hat - y) / len(y) if reduction == "mean" else y_hat - y


class BceTakenAsLogits(Backprop):
    """Step 1 uses the with-logits gradient p - y for bce on probabilities, so the sigmoid's derivative counts twice."""
    def loss_gradient(self, y_hat, y, loss, reduction):
        if loss != "bce":
            return super().loss_gradient(y_hat, y, loss, reduction)
        g = (y_hat - y) / y.shape[1]
        return g / len(y) if reduction == "mean" else g


class SseHalfKept(Backprop):
    """Step 1 keeps the 1/2 of the half sum of squares: (y_hat - y) / 2 instead of y_hat - y."""
    def loss_gradient(self, y_hat, y, loss, reduction):
        return super().loss_gradient(y_hat, y, loss, reduction) / (2 if loss == "sse" else 1)


class BceWithLogitsWithoutSigmoid(Backprop):
    """Step 1 takes the bce-with-logits gradient as logits - y, forgetting the sigmoid."""
    def loss_gradient(self, y_hat, y, loss, reduction):
        if loss != "bce_with_logits":
            return super().loss_gradient(y_hat, y, loss, reduction)
        g = (y_hat - y) / y.shape[1]
        return g / len(y) if reduction == "mean" else g


class LossGradientWithoutBatchMean(Backprop):
    """Step 1 forgets the mean over the batch: dL/dy_hat is B times too large."""
    def loss_gradient(self, y_hat, y, loss, reduction):
        g = super().loss_gradient(y_hat, y, loss, reduction)
        return g * len(y) if reduction == "mean" else g


# Variants of the new activations and losses, each with the bundled exercise it breaks.
BUNDLED_VARIANTS = [
    (SigmoidDerivativeOfPreactivation, "xor_2_2_1_sigmoid.toml"),
    (SigmoidDerivativeOfPreactivation, "mazur_2_2_2_sigmoid.toml"),
    (TanhDerivativeOfPreactivation, "tanh_3_4_2.toml"),
    (LeakySlopeIgnored, "leaky_relu_sse.toml"),
    (CrossEntropyWithoutSoftmax, "softmax_classifier.toml"),
    (BceTakenAsLogits, "xor_2_2_1_sigmoid.toml"),
    (SseHalfKept, "leaky_relu_sse.toml"),
    (SseHalfKept, "mazur_2_2_2_sigmoid.toml"),
    (BceWithLogitsWithoutSigmoid, "multilabel_bce_logits.toml"),
    (CrossEntropyWithoutSoftmax, "softmax_one_hot_tanh.toml"),
    (LeakySlopeIgnored, "multilabel_bce_logits.toml"),
    (LossGradientWithoutBatchMean, "diagonal_flip_batch.toml"),
    (LossGradientWithoutBatchMean, "xor_2_2_1_sigmoid.toml"),
]

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
    applicable: bool = True  # False: the variant computes the correct numbers on this exercise

    @property
    def passed(self) -> bool:
        return not self.applicable or self.rejected == self.expected_to_fail

    def as_json(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def check_backprop(exercise: Exercise, backprop: Backprop, dtype: str = "float64",
                   tolerance: Tolerance | None = None, expected_to_fail: bool = True) -> SelfTestResult:
    """Compare ``backprop`` against autograd and the exact values on ``exercise``; its
    printed values and claims are left out, since they test the text, not the backward pass.

    A broken variant that computes exactly the correct numbers on this exercise (no ReLU
    to drop the mask of; 2/n = 1 with two outputs) has nothing to be caught for: it is
    reported as not applicable, not as a failure of the comparison."""
    exercise = replace(exercise, answers=(), claims={})
    where = Path(exercise.path).name
    doc = (type(backprop).__doc__ or "the correct backward pass").strip().splitlines()[0]
    if expected_to_fail and _same_numbers(exercise, backprop):
        return SelfTestResult(f"{type(backprop).__name__} on {where}", doc, True, False,
                              "computes the correct numbers on this exercise: nothing to catch", applicable=False)
    comparison = compare_exercise(exercise, dtype, tolerance, backprop=backprop)
    flagged = [r for r in comparison.gradients + comparison.intermediates if not r.agree]
    if comparison.hand_error:
        evidence = comparison.hand_error
    elif flagged:
        labels = ", ".join(r.label for r in flagged[:4]) + (", ..." if len(flagged) > 4 else "")
        entries = "1 entry disagrees" if len(flagged) == 1 else f"{len(flagged)} entries disagree"
        evidence = f"{entries} ({labels}): {flagged[0].verdict}"
    else:
        evidence = "every entry agrees"
    return SelfTestResult(f"{type(backprop).__name__} on {where}", doc, expected_to_fail, not comparison.ok, evidence)


def _same_numbers(exercise: Exercise, backprop: Backprop) -> bool:
    """Whether ``backprop`` gives every quantity the correct pass gives, in the ground
    truth (exactly for Fractions; within 1e-40 for 50-digit numbers)."""
    truth = exercise.architecture.ground_truth
    try:
        variant = run_pass(exercise, truth, backprop).values
    except Exception:  # a variant that cannot even run is different
        return False
    correct = run_pass(exercise, truth).values
    return all(np.shape(variant[name]) == np.shape(value)
               and all(abs(as_fraction(a) - as_fraction(b)) <= MP_ZERO
                       for a, b in zip(np.ravel(variant[name]), np.ravel(value)))
               for name, value in correct.items())


def run_self_test(exercise: Exercise, dtype: str = "float64", tolerance: Tolerance | None = None,
                  batch: Exercise | None = None, bundled: bool = False) -> list[SelfTestResult]:
    """The correct pass (must be accepted) and every variant (each must be rejected) on
    ``exercise``; with ``batch``, also the variants only a batch can reveal; with
    ``bundled``, the correct pass and the activation and loss variants on the bundled
    exercises (``reference/data``)."""
    results = [check_backprop(exercise, Backprop(), dtype, tolerance, expected_to_fail=False)]
    results += [check_backprop(exercise, variant(), dtype, tolerance) for variant in VARIANTS]
    if batch is not None:
        results.append(check_backprop(batch, Backprop(), dtype, tolerance, expected_to_fail=False))
        results.append(check_backprop(batch, BiasGradientNotSummed(), dtype, tolerance))
    if bundled:
        for name in dict.fromkeys(file for _, file in BUNDLED_VARIANTS):
            results.append(check_backprop(_bundled(name), Backprop(), dtype, tolerance, expected_to_fail=False))
        for variant, name in BUNDLED_VARIANTS:
            results.append(check_backprop(_bundled(name), variant(), dtype, tolerance))
    return results


def _bundled(name: str) -> Exercise:
    return load_exercise(CHAPTER7_PATH.parent / name)
