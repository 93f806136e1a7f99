"""The catalogue of mistakes: one place for every way a backward pass is commonly wrong.

Each ``Mistake`` is a ``reference.Backprop`` with exactly one step of the text done
wrong, built for one network (``Architecture``) so that it can say in the network's own
words what it does ("sigmoid′ applied to z1 instead of to σ(z1)"; never "ReLU gate" in
a network without ReLU) and whether it applies at all. The self-test
(``compare.selftest``) runs every mistake and requires the comparison to reject it; the
diagnosis of hand answers and of students' code (``compare.diagnosis``,
``compare.grading``) names a value by the mistakes that reproduce it.

``kinds`` are the step kinds a mistake changes, as ``compare.diagnosis.Steps`` names
them: ``dy`` (Step 1, ∂L/∂ŷ), ``dW`` / ``db`` (the weight and bias gradients), ``da``
(back to the previous layer through W), ``deriv`` / ``dz`` (through the activation).
``ForwardMistake`` entries change the forward pass (a student's z, h, ŷ or L) and are
computed by the diagnosis directly.
"""
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from reference import activations
from reference.backprop import Backprop
from reference.exercise import Architecture
from reference.losses import sigmoid, softmax

SYMBOL = {"relu": "ReLU", "leaky_relu": "leaky ReLU", "sigmoid": "sigmoid", "tanh": "tanh", "identity": "identity"}
FORMULA = {"sigmoid": "σ(z)(1 − σ(z))", "tanh": "1 − tanh²(z)"}
UPDATE_RATES = (Fraction(1, 10), Fraction(1, 100), Fraction(1, 2), Fraction(1))  # lr of "already updated W"


def _scaled(values: np.ndarray, factor: Fraction) -> np.ndarray:
    """``values * factor`` in the values' own number type (floats, Fractions, mpf and
    intervals all take integers; not all take a Fraction)."""
    return values * factor.numerator / factor.denominator


def _mean(g, reduction: str, batch: int):
    return g / batch if reduction == "mean" else g


class Mistake(Backprop):
    """A backward pass with one step wrong, for the network ``arch``.

    ``kinds``: the step kinds it changes. ``batch_only``: only a batch of B > 1 examples
    can show it. ``subgradient``: a valid subgradient at a real kink (ReLU′(0) = 1),
    wrong only where the text's own convention is asked for (hand answers).
    ``narrower``: the name of a mistake to report instead when both explain a value."""
    kinds: tuple[str, ...] = ()
    batch_only = False
    subgradient = False
    narrower: str | None = None

    def __init__(self, arch: Architecture):
        self.arch = arch

    @property
    def name(self) -> str:
        """A short identifier: the class name."""
        return type(self).__name__

    @property
    def applies(self) -> bool:
        """Whether the mistake can happen in this network at all."""
        return True

    def describe(self) -> str:
        """What the mistake is, in the words of this network: by default the first line
        of the class's docstring, as a clause ("bias treated as a constant: gradient 0")."""
        text = (type(self).__doc__ or self.name).strip().splitlines()[0].rstrip(".")
        return text[0].lower() + text[1:] if text[1:2].islower() else text

    def _hidden(self) -> list[str]:
        return list(self.arch.activations[:-1])

    def _output(self) -> str:
        return self.arch.activations[-1]

    def __repr__(self) -> str:
        return f"<{self.name}: {self.describe()}>"


# Step 5: through the activation -------------------------------------------------------

class MaskDropped(Mistake):
    """The hidden activation's derivative left out: taken as 1 everywhere."""
    kinds = ("deriv", "dz")

    @property
    def applies(self):
        return any(a != "identity" for a in self._hidden())

    def describe(self):
        names = sorted({a for a in self._hidden() if a != "identity"})
        if names == ["relu"]:
            return "ReLU gate skipped: derivative taken as 1 everywhere"
        return " and ".join(SYMBOL[a] for a in names) + "′ left out of the hidden layer: derivative taken as 1"

    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        if layer == self.arch.n_layers:
            return super().activation_derivative(activation, z, a, layer, negative_slope)
        return np.ones_like(z)


class ReluPrimeOneAtZero(Mistake):
    """ReLU′(0) taken as 1, where the text and PyTorch take 0."""
    kinds = ("deriv", "dz")
    subgradient = True

    @property
    def applies(self):
        return "relu" in self.arch.activations

    def describe(self):
        return "ReLU'(0) taken as 1, where the text and PyTorch take 0"

    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        if activation != "relu":
            return super().activation_derivative(activation, z, a, layer, negative_slope)
        return np.where(z >= 0, 1, 0).astype(z.dtype)


MaskDropped.narrower = ReluPrimeOneAtZero.__name__  # at a kink neuron both explain a 1: name the narrower


class DerivativeOfPreactivation(Mistake):
    """sigmoid′ or tanh′ applied to the pre-activation z instead of to the activation."""
    kinds = ("deriv", "dz")

    def __init__(self, arch: Architecture, layers: tuple[int, ...] | None = None):
        super().__init__(arch)
        smooth = tuple(k for k, a in enumerate(arch.activations, start=1) if a in FORMULA)
        self.layers = smooth if layers is None else tuple(k for k in layers if k in smooth)

    @property
    def name(self):
        return f"DerivativeOfPreactivation(layers={','.join(map(str, self.layers))})"

    @property
    def applies(self):
        return bool(self.layers)

    def describe(self):
        parts = []
        for k in self.layers:
            z = f"z{k}"
            if self.arch.activations[k - 1] == "sigmoid":
                parts.append(f"sigmoid′ applied to {z}: {z}(1 − {z}) instead of σ({z})(1 − σ({z}))")
            else:
                parts.append(f"tanh′ applied to {z}: 1 − {z}² instead of 1 − tanh²({z})")
        return " and ".join(parts)

    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        if layer in self.layers and activation == "sigmoid":
            return z * (1 - z)
        if layer in self.layers and activation == "tanh":
            return 1 - z * z
        return super().activation_derivative(activation, z, a, layer, negative_slope)


def preactivation_derivatives(arch: Architecture) -> list[DerivativeOfPreactivation]:
    """sigmoid′/tanh′ of z in the hidden layers only, the output layer only, and all of
    them: a student makes the mistake in one place or in every place."""
    n = arch.n_layers
    choices = {tuple(range(1, n)), (n,), tuple(range(1, n + 1))}
    found = [DerivativeOfPreactivation(arch, layers) for layers in sorted(choices)]
    unique = {m.layers: m for m in found if m.layers}
    return list(unique.values())


class LeakySlopeIgnored(Mistake):
    """Leaky ReLU treated as ReLU: derivative 0 instead of the slope for z < 0."""
    kinds = ("deriv", "dz")

    @property
    def applies(self):
        return "leaky_relu" in self.arch.activations and self.arch.negative_slope != 0

    def describe(self):
        return f"leaky ReLU treated as ReLU: derivative 0 instead of {self.arch.negative_slope:f} for z < 0"

    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        name = "relu" if activation == "leaky_relu" else activation
        return super().activation_derivative(name, z, a, layer, negative_slope)


class OutputDerivativeSkipped(Mistake):
    """The output activation's derivative left out."""
    kinds = ("deriv", "dz")

    @property
    def applies(self):
        return self._output() != "identity"

    def describe(self):
        return f"{SYMBOL[self._output()]}′ of the output layer left out: ∂L/∂z{self.arch.n_layers} taken as ∂L/∂ŷ"

    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        derivative = super().activation_derivative(activation, z, a, layer, negative_slope)
        return np.ones_like(derivative) if layer == self.arch.n_layers else derivative


class OutputDerivativeTwice(Mistake):
    """The output activation's derivative applied twice."""
    kinds = ("deriv", "dz")

    @property
    def applies(self):
        return self._output() not in ("identity", "relu", "leaky_relu")  # a 0/1 mask squared is itself

    def describe(self):
        return f"{SYMBOL[self._output()]}′ of the output layer applied twice"

    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        derivative = super().activation_derivative(activation, z, a, layer, negative_slope)
        return derivative * derivative if layer == self.arch.n_layers else derivative


# Step 1: the loss gradient -------------------------------------------------------------

class ConstantFactor(Mistake):
    """Every gradient off by one constant factor k: Step 1 scaled, the rest follows."""
    kinds = ("dy",)

    def __init__(self, arch: Architecture, factor: Fraction, why: str, batch_only: bool = False):
        super().__init__(arch)
        self.factor, self.why, self.batch_only = factor, why, batch_only

    @property
    def name(self):
        return f"ConstantFactor({self.factor})"

    def describe(self):
        return self.why

    def loss_gradient(self, y_hat, y, loss, reduction):
        return _scaled(super().loss_gradient(y_hat, y, loss, reduction), self.factor)


def constant_factors(arch: Architecture, batch: int) -> list[ConstantFactor]:
    """The constant-factor mistakes of this network: the MSE's 2/n, its 1/n and its 2
    left out (n outputs); the ½ of the half sum of squares kept in its gradient, or
    dropped from it; the 2 of the plain sum of squares left out, or the ½ convention
    taken, or its sum divided by n as the mean is; the batch mean's 1/B left out or applied
    twice, and a plain ½ or 2. Factors that coincide (n = B; the 2 left out and the ½
    taken) are one mistake with every explanation named."""
    n = arch.sizes[-1]
    reasons: list[tuple[Fraction, str, bool]] = []
    if arch.loss == "mse":
        reasons += [(Fraction(n), "loss gradient without the 1/n factor: 2(y_hat - y)", False),
                    (Fraction(n, 2), "loss gradient without the 2/n factor: (y_hat - y)", False),
                    (Fraction(1, 2), "loss gradient without the 2 of 2/n: (y_hat - y)/n, every gradient "
                                     "half the right value", False)]
    if arch.loss == "sse":
        reasons += [(Fraction(1, 2), "the 1/2 of the half sum of squares kept: (y_hat - y)/2 instead of "
                                     "y_hat - y", False),
                    (Fraction(2), "the 1/2 of the half sum of squares dropped: 2(y_hat - y), the gradient of "
                                  "sum (y_hat - y)^2 instead of 1/2 sum", False)]
    if arch.loss == "sum_squares":
        reasons += [(Fraction(1, 2), "the 2 of 2(y_hat - y) left out: y_hat - y, the gradient of the 1/2 sum "
                                     "convention instead of the plain sum of squares", False),
                     (Fraction(1, n), "the sum of squares differentiated as a mean over the n outputs: "
                                      "2(y_hat - y)/n instead of 2(y_hat - y)", False),
                     (Fraction(1, 2 * n), "the 2 left out and divided by n: (y_hat - y)/n instead of "
                                          "2(y_hat - y)", False)]
    if arch.reduction == "mean" and batch > 1:
        reasons += [(Fraction(batch), "loss gradient without the 1/B mean over the batch", True),
                    (Fraction(1, batch), "the 1/B mean over the batch applied twice", True)]
    reasons += [(Fraction(2), "every gradient twice the right value (a factor 2 too many)", False),
                (Fraction(1, 2), "every gradient half the right value (a factor 2 missing)", False)]
    merged: dict[Fraction, list[tuple[str, bool]]] = {}
    for factor, why, batch_only in reasons:
        if factor != 1 and all(why != w for w, _ in merged.get(factor, [])):
            merged.setdefault(factor, []).append((why, batch_only))
    mistakes = []
    for factor, whys in merged.items():
        specific = [w for w, _ in whys if not w.startswith("every gradient")] or [w for w, _ in whys]
        mistakes.append(ConstantFactor(arch, factor, " or ".join(specific), all(b for _, b in whys)))
    return mistakes


class CrossEntropyWithoutSoftmax(Mistake):
    """Cross-entropy's gradient taken as logits − y: the softmax forgotten."""
    kinds = ("dy",)

    @property
    def applies(self):
        return self.arch.loss == "cross_entropy"

    def loss_gradient(self, y_hat, y, loss, reduction):
        return _mean(y_hat - y, reduction, len(y))


class SoftmaxJacobianDiagonal(Mistake):
    """Softmax's Jacobian taken as its diagonal: ∂L/∂z = p(1 − p) ∂L/∂p, 0 for the wrong classes."""
    kinds = ("dy",)

    @property
    def applies(self):
        return self.arch.loss == "cross_entropy"

    def loss_gradient(self, y_hat, y, loss, reduction):
        p = softmax(y_hat)
        return _mean(y * (p - 1), reduction, len(y))  # -y/p * p(1 - p), entry by entry


class OutputDeltaTimesSigmoidPrime(Mistake):
    """The cross-entropy output delta p − y multiplied by p(1 − p), as if the loss were MSE."""
    kinds = ("dy",)

    @property
    def applies(self):
        return self.arch.loss in ("cross_entropy", "bce_with_logits")

    def describe(self):
        p = "softmax(z)" if self.arch.loss == "cross_entropy" else "σ(z)"
        return f"the output delta p − y multiplied by σ′: (p − y) p(1 − p) with p = {p}, as for a squared error"

    def loss_gradient(self, y_hat, y, loss, reduction):
        p = softmax(y_hat) if loss == "cross_entropy" else sigmoid(y_hat)
        n = 1 if loss == "cross_entropy" else y.shape[1]
        return _mean((p - y) * p * (1 - p) / n, reduction, len(y))


class BceTakenAsLogits(Mistake):
    """BCE on probabilities differentiated as BCE with logits: ∂L/∂p = p − y, so σ′ counts twice."""
    kinds = ("dy",)

    @property
    def applies(self):
        return self.arch.loss == "bce"

    def describe(self):
        return ("BCE on probabilities differentiated as BCE with logits: ∂L/∂p taken as p − y, "
                "so the sigmoid's derivative counts twice")

    def loss_gradient(self, y_hat, y, loss, reduction):
        return _mean((y_hat - y) / y.shape[1], reduction, len(y))


class BceWithLogitsTakenAsProbabilities(Mistake):
    """BCE with logits differentiated as BCE on probabilities: σ′ of the logits left out."""
    kinds = ("dy",)

    @property
    def applies(self):
        return self.arch.loss == "bce_with_logits"

    def describe(self):
        return ("BCE with logits differentiated as BCE on probabilities: (p − y)/(p(1 − p)) with p = σ(z), "
                "the sigmoid's derivative left out")

    def loss_gradient(self, y_hat, y, loss, reduction):
        p = sigmoid(y_hat)
        return _mean((p - y) / (p * (1 - p)) / y.shape[1], reduction, len(y))


class BceWithLogitsWithoutSigmoid(Mistake):
    """BCE-with-logits gradient taken as logits − y: the sigmoid forgotten."""
    kinds = ("dy",)

    @property
    def applies(self):
        return self.arch.loss == "bce_with_logits"

    def loss_gradient(self, y_hat, y, loss, reduction):
        return _mean((y_hat - y) / y.shape[1], reduction, len(y))


# Steps 2, 3, 6, 7: weight and bias gradients --------------------------------------------

class _BiasMistake(Mistake):
    """A mistake in a bias gradient: it applies only where some layer has a bias. A layer
    whose bias is shared sums the mistaken per-neuron gradients over its neurons
    (``Backprop.shared_bias_gradient``), so the mistake means the same there."""

    @property
    def applies(self):
        return any(self.arch.layer_biases)


def _out_in(arch: Architecture) -> bool:
    return arch.layout == "out_in"


class OuterProductWrongOrder(Mistake):
    """Outer product in the wrong order (upstream x input, reshaped to W's shape)."""
    kinds = ("dW",)
    narrower = "WeightGradientTransposed"  # for a square W the reshape is a transpose: say that

    def describe(self):
        if _out_in(self.arch):  # the text's ∂L/∂W = δ xᵀ, (out, in)
            return "outer product in the wrong order (input x upstream, reshaped to W's shape)"
        return super().describe()

    def weight_gradient(self, inputs, upstream):
        if _out_in(self.arch):  # x δᵀ reshaped to the text's (out, in), read back in the (in, out) layout
            return (inputs.T @ upstream).reshape(upstream.shape[1], inputs.shape[1]).T
        return (upstream.T @ inputs).reshape(inputs.shape[1], upstream.shape[1])


class WeightGradientTransposed(Mistake):
    """∂L/∂W in the other layout than the text's: torch's (out, in) for an (in, out)
    text, (in, out) for an (out, in) one (the text's layout, ``Architecture.layout``)."""
    kinds = ("dW",)

    def describe(self):
        if _out_in(self.arch):
            return ("∂L/∂W given in the (in, out) layout (x.T @ δ): transpose it to the text's (out, in), "
                    "the layout of W and of nn.Linear.weight.grad")
        return "∂L/∂W given in torch's (out, in) layout (nn.Linear.weight.grad): transpose it to the text's (in, out)"

    def weight_gradient(self, inputs, upstream):
        return upstream.T @ inputs  # the other layout: what comes back, read in the (in, out) one


class BiasGradientZero(_BiasMistake):
    """Bias treated as a constant: gradient 0."""
    kinds = ("db",)

    def bias_gradient(self, upstream):
        return 0 * upstream.sum(axis=0)


class BiasGradientNotSummed(_BiasMistake):
    """Bias gradient of the first example only, not summed over the batch."""
    kinds = ("db",)
    batch_only = True

    def bias_gradient(self, upstream):
        return upstream[0] * len(upstream)


class BiasGradientMean(_BiasMistake):
    """Bias gradient averaged over the batch where the sum is right (the 1/B is already in ∂L/∂ŷ)."""
    kinds = ("db",)
    batch_only = True

    def bias_gradient(self, upstream):
        return upstream.sum(axis=0) / len(upstream)


class BiasGradientSummedOverUnits(_BiasMistake):
    """Bias gradient summed over the units too (np.sum without axis=0): one number for every entry."""
    kinds = ("db",)

    @property
    def applies(self):  # right for a shared bias: a mistake only where a layer has a bias per neuron
        return any(self.arch.has_bias(k) and not self.arch.shares_bias(k) for k in range(1, self.arch.n_layers + 1))

    def bias_gradient(self, upstream):
        total = upstream.sum()
        return np.full(upstream.shape[1:], total, dtype=object if upstream.dtype == object else upstream.dtype)

    def shared_bias_gradient(self, upstream):
        return Backprop().shared_bias_gradient(upstream)


class _SharedBiasMistake(_BiasMistake):
    """A mistake in the gradient of a bias shared by a layer's neurons: it applies only
    where some layer shares one."""
    kinds = ("db",)

    @property
    def applies(self):
        return any(self.arch.shares_bias(k) for k in range(1, self.arch.n_layers + 1))


class SharedBiasOneNeuron(_SharedBiasMistake):
    """Shared bias gradient of the first neuron only, not summed over the layer's neurons."""

    def shared_bias_gradient(self, upstream):
        return np.asarray(self.bias_gradient(upstream)[0], dtype=upstream.dtype)


class SharedBiasMeanOverNeurons(_SharedBiasMistake):
    """Shared bias gradient averaged over the layer's neurons instead of summed."""

    def shared_bias_gradient(self, upstream):
        return np.asarray(super().shared_bias_gradient(upstream) / upstream.shape[1], dtype=upstream.dtype)


# Step 4: back to the previous layer -----------------------------------------------------

class WeightsReshapedNotTransposed(Mistake):
    """Weights used untransposed: W reshaped to the shape of W.T instead of transposed."""
    kinds = ("da",)

    def describe(self):
        shape = "(in, out)" if _out_in(self.arch) else "(out, in)"
        return f"weights used untransposed: W reshaped to {shape} instead of W.T"

    def to_previous_layer(self, weights, upstream, weight_gradient=None):
        if _out_in(self.arch):  # the text's W (out, in) reshaped to (in, out) in place of W.T: Wᵀδ as (W.reshape) δ
            return upstream @ weights.T.reshape(weights.shape).T
        return upstream @ weights.reshape(weights.shape[::-1])


class ThroughWeightGradient(Mistake):
    """Step 4 through ∂L/∂W instead of W."""
    kinds = ("da",)

    def describe(self):
        return "back to the previous layer through ∂L/∂W instead of W"

    def to_previous_layer(self, weights, upstream, weight_gradient=None):
        return upstream @ weight_gradient.T


class ThroughUpdatedWeights(Mistake):
    """Step 4 through the already-updated weights W − lr ∂L/∂W."""
    kinds = ("da",)

    def __init__(self, arch: Architecture, lr: Fraction):
        super().__init__(arch)
        self.lr = lr

    @property
    def name(self):
        return f"ThroughUpdatedWeights(lr={self.lr})"

    def describe(self):
        return f"back to the previous layer through the already-updated weights W − {float(self.lr):g}·∂L/∂W"

    def to_previous_layer(self, weights, upstream, weight_gradient=None):
        return upstream @ (weights - _scaled(weight_gradient, self.lr)).T


@dataclass(frozen=True)
class ForwardMistake:
    """A wrong forward step (computed by ``compare.diagnosis.Steps`` itself): its words,
    the step kinds it changes (``z``, ``a``, ``L``) and the network it fits."""
    label: str
    kinds: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.label

    def describe(self) -> str:
        return self.label


RELU_NOT_APPLIED = "ReLU not applied: activation taken equal to the pre-activation"
BIAS_LEFT_OUT = "bias left out of the weighted sum"
SUM_OF_SQUARES = "sum of squares instead of the mean over the outputs"
HALF_SUM_OF_SQUARES = "half the sum of squares (the 1/2 sum convention)"
SUM_WITHOUT_HALF = "sum of squares without the 1/2 of the half sum"
MEAN_INSTEAD_OF_HALF_SUM = "mean over the outputs instead of half the sum of squares"
MEAN_INSTEAD_OF_SUM = "mean over the outputs instead of the sum of squares"
# p of a loss on logits by the other function: the loss -> the wrong function and its words
WRONG_PROBABILITIES = {"cross_entropy": ("sigmoid", "p taken as the sigmoid of each logit instead of the softmax "
                                                    "over the classes"),
                       "bce_with_logits": ("softmax", "p taken as the softmax over the outputs instead of the "
                                                      "sigmoid of each logit")}
# A wrong loss L of a squared-error loss: the right one times a factor (n outputs), per loss.
LOSS_FACTORS = {"mse": {SUM_OF_SQUARES: lambda n: Fraction(n), HALF_SUM_OF_SQUARES: lambda n: Fraction(n, 2)},
                "sse": {SUM_WITHOUT_HALF: lambda n: Fraction(2), MEAN_INSTEAD_OF_HALF_SUM: lambda n: Fraction(2, n)},
                "sum_squares": {HALF_SUM_OF_SQUARES: lambda n: Fraction(1, 2),
                                MEAN_INSTEAD_OF_SUM: lambda n: Fraction(1, n)}}


def loss_factor(label: str, arch: Architecture) -> Fraction | None:
    """The factor by which the forward mistake ``label`` scales this network's loss L
    (``LOSS_FACTORS``), or None for a mistake that does not change L that way."""
    factor = LOSS_FACTORS.get(arch.loss, {}).get(label)
    return None if factor is None else factor(arch.sizes[-1])


def forward_mistakes(arch: Architecture) -> list[ForwardMistake]:
    """The forward-pass mistakes that fit this network: the bias left out (where some
    layer has one), ReLU not applied, the squared-error loss scaled (``LOSS_FACTORS``),
    p by the wrong one of softmax and sigmoid (``WRONG_PROBABILITIES``)."""
    found = [ForwardMistake(BIAS_LEFT_OUT, ("z", "a"))] if any(arch.layer_biases) else []
    if "relu" in arch.activations:
        found.append(ForwardMistake(RELU_NOT_APPLIED, ("a",)))
    found += [ForwardMistake(label, ("L",)) for label, factor in LOSS_FACTORS.get(arch.loss, {}).items()
              if factor(arch.sizes[-1]) != 1]
    if arch.loss in WRONG_PROBABILITIES:
        found.append(ForwardMistake(WRONG_PROBABILITIES[arch.loss][1], ("p",)))
    return found


def wrong_probabilities(label: str, arch: Architecture, y_hat: np.ndarray) -> np.ndarray | None:
    """``p`` as the forward mistake ``label`` computes it from ``y_hat`` (the other of
    softmax and sigmoid, ``WRONG_PROBABILITIES``), or None when ``label`` is not that mistake."""
    wrong = WRONG_PROBABILITIES.get(arch.loss)
    if wrong is None or label != wrong[1]:
        return None
    return softmax(y_hat) if wrong[0] == "softmax" else sigmoid(y_hat)


STEP_MISTAKES = [MaskDropped, ReluPrimeOneAtZero, LeakySlopeIgnored,
                 OutputDerivativeSkipped, OutputDerivativeTwice, CrossEntropyWithoutSoftmax,
                 SoftmaxJacobianDiagonal, OutputDeltaTimesSigmoidPrime, BceTakenAsLogits,
                 BceWithLogitsTakenAsProbabilities, BceWithLogitsWithoutSigmoid, OuterProductWrongOrder,
                 WeightGradientTransposed, BiasGradientZero, BiasGradientNotSummed, BiasGradientMean,
                 BiasGradientSummedOverUnits, SharedBiasOneNeuron, SharedBiasMeanOverNeurons,
                 WeightsReshapedNotTransposed, ThroughWeightGradient]


def catalogue(arch: Architecture, batch: int = 1) -> list[Mistake]:
    """Every backward-pass mistake that applies to this network and batch size, in a
    fixed order: the step mistakes, the constant factors, the updated-weights ones."""
    found = [kind(arch) for kind in STEP_MISTAKES]
    found += preactivation_derivatives(arch)
    found += constant_factors(arch, batch)
    if arch.n_layers > 1:
        found += [ThroughUpdatedWeights(arch, lr) for lr in UPDATE_RATES]
    else:
        found = [m for m in found if "da" not in m.kinds]
    return [m for m in found if m.applies and (batch > 1 or not m.batch_only)]


def derivative_name(activation: str) -> str:
    """``"ReLU′"``, ``"sigmoid′"``: how a report names an activation's derivative."""
    return SYMBOL[activation] + "′"


def kinked(arch: Architecture) -> bool:
    """Whether the network has a piecewise linear activation (a kink at z = 0)."""
    return any(a in activations.KINKED for a in arch.activations)
