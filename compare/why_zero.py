"""Why an entry of the exact pass is zero: the answer key's "why zero" column.

Worded for the network's own activations and loss: a ReLU neuron is dead or on its
kink; a leaky ReLU is never dead (its output is 0 only at z = 0); tanh(0) = 0 and the
identity pass a zero on; a sigmoid is never exactly 0 (only an underflow of the 50-digit
track makes it so), though a zero input still kills the gradient of its weights. ReLU is
named only where the layer is a ReLU. Parameter gradients take their reasons from
``compare.reasons`` (the report's "why" column).
"""
from fractions import Fraction

from compare.formatting import approximate_text, exact_text, short_decimal, terminating_places
from compare.reasons import Reasons, neuron_name
from reference import quantities
from reference.backprop import Pass
from reference.exercise import Exercise
from reference.numbers import as_fraction

SHORT_PLACES = 4
# Why f(z) or f′(z) is 0, per activation other than ReLU (whose neurons die: ZeroReasons._dead)
OUTPUT_ZERO = {"sigmoid": "σ({label}) underflows to 0 in the 50-digit track ({label} ≈ {z:.3g}); "
                          "σ is never exactly 0",
               "leaky_relu": "{label} = 0 exactly: leaky ReLU(0) = 0 (never dead: slope {slope} below 0)",
               "tanh": "{label} = 0 exactly: tanh(0) = 0",
               "identity": "{label} = 0 exactly: the identity passes it on"}
DERIVATIVE_ZERO = {"leaky_relu": "{label} <= 0 and the slope is 0",
                   "sigmoid": "σ({label}) is 1 or 0 to 50 digits: σ′ = 0 (saturated)",
                   "tanh": "tanh({label}) is 1 or -1 to 50 digits: tanh′ = 0 (saturated)",
                   "identity": "the identity's derivative is 1"}
Z_ZERO = {"relu": ": at the ReLU kink", "leaky_relu": ": at the leaky ReLU kink", "tanh": " (tanh(0) = 0)",
          "sigmoid": " (σ(0) = 0.5)"}
FUNCTION_TEXT = {"relu": "ReLU", "leaky_relu": "leaky ReLU", "sigmoid": "σ", "tanh": "tanh",
                 "identity": "the identity"}


def value_text(value: Fraction) -> str:
    """A short decimal as it is (``-0.1``, also a 50-digit value that stands for one),
    a long binary fraction of the 50-digit track approximately, anything else as a
    fraction (``-1/30``)."""
    places = terminating_places(value)
    if places is not None and places <= SHORT_PLACES:
        return exact_text(value)
    short = short_decimal(value)
    if short is not None:
        return f"{short:f}"
    if value.denominator.bit_length() > 64:
        return approximate_text(value)
    return f"{value.numerator}/{value.denominator}"


class ZeroReasons:
    """Why each zero entry of one exact pass is zero."""

    def __init__(self, exercise: Exercise, exact: Pass):
        self.exercise = exercise
        self.arch = exercise.architecture
        self.n = self.arch.n_layers
        self.values = exact.values
        self.zs = exact.pre_activations
        self.gradients = Reasons(exercise, exact)
        self.layers = {}  # quantity name -> (kind, layer)
        for k in range(1, self.n + 1):
            activation = self.arch.activations[k - 1]
            self.layers[f"z{k}"] = ("z", k)
            self.layers[quantities.derivative_name(k, self.n, activation)] = ("derivative", k)
            self.layers[f"dL/dz{k}"] = ("dL/dz", k)
            if k < self.n:
                self.layers[quantities.hidden_name(k, self.n)] = ("activation", k)
                self.layers[f"dL/d{quantities.hidden_name(k, self.n)}"] = ("dL/dh", k)
        if self.arch.activations[-1] != "identity":
            self.layers["y_hat"] = ("activation", self.n)

    def _z(self, layer: int, index: tuple) -> tuple[str, Fraction]:
        example, j = (index if len(index) == 2 else (0, index[0]))
        label = f"z{layer}" + (f"[{example}]" if len(index) == 2 else "") + f"[{j}]"
        return label, as_fraction(self.zs[layer - 1][example, j])

    def _dead(self, layer: int, index: tuple, derivative: bool) -> str:
        """Why ReLU's output (``derivative`` False) or its derivative is 0 at this neuron."""
        label, z = self._z(layer, index)
        neuron = neuron_name(layer, index[-1], self.n)
        if z == 0:
            rule = "ReLU'(0) = 0" if derivative else "ReLU(0) = 0"
            return f"{label} = 0 exactly: {rule}, dead {neuron} (on the boundary)"
        return f"{label} = {value_text(z)} < 0: dead {neuron}"

    def activation_zero(self, layer: int, index: tuple) -> str:
        """Why f(z) = 0: a dead ReLU; z = 0 for leaky ReLU, tanh and identity; an
        underflow for sigmoid."""
        activation = self.arch.activations[layer - 1]
        if activation == "relu":
            return self._dead(layer, index, derivative=False)
        label, z = self._z(layer, index)
        return OUTPUT_ZERO.get(activation, "{label} = 0 exactly").format(label=label, z=float(z),
                                                                        slope=self.arch.negative_slope)

    def derivative_zero(self, layer: int, index: tuple) -> str:
        """Why f′(z) = 0: ReLU at or below its kink, a leaky ReLU of slope 0, a saturated
        sigmoid or tanh (f′ below the 50-digit track's precision)."""
        activation = self.arch.activations[layer - 1]
        if activation == "relu":
            return self._dead(layer, index, derivative=True)
        return DERIVATIVE_ZERO.get(activation, "the derivative at {label} is 0").format(label=self._z(layer, index)[0])

    def output_matches(self, j: int) -> str:
        """Why ∂L/∂ŷ[j] is 0, worded for the loss."""
        loss = self.arch.loss
        if loss == "bce_with_logits":
            return f"σ(ŷ[{j}]) equals its target"
        if loss == "cross_entropy":
            return f"softmax(ŷ)[{j}] equals its target"
        return f"output {j} equals its target"

    def why(self, name: str, index: tuple) -> str:
        """The reason entry ``index`` of quantity ``name`` is 0; "" when it is not."""
        if self.values[name][index] != 0:
            return ""
        if name.startswith(("dL/dW", "dL/db")):
            return self.gradients.for_entry(name[4:], index)
        if quantities.delta_parameter(name):  # Δθ = −lr·∂L/∂θ: zero with its gradient, lr or a freeze
            parameter = quantities.delta_parameter(name)
            if parameter in self.exercise.training.freeze:
                return f"{parameter} is frozen ([training] freeze): the update leaves it"
            if self.values[f"dL/d{parameter}"][index] != 0:
                return "lr = 0 ([training] lr)"
            return f"∂L/∂{self.arch.label(parameter, index)} = 0: " + self.gradients.for_entry(parameter, index)
        if name == quantities.ERROR_NAME:
            return self.output_matches(index[-1])
        if name == "L":
            return {"bce_with_logits": "σ(ŷ) equals the target everywhere",
                    "cross_entropy": "softmax(ŷ) equals the target in every example"}.get(
                        self.arch.loss, "every output equals its target")
        if name == "dL/dy_hat":
            return self.output_matches(index[-1])
        kind, k = self.layers.get(name, ("", 0))
        if kind == "activation":
            return self.activation_zero(k, index)
        if name == "y_hat":
            return f"output {index[-1]}: the weighted sum and the bias cancel"
        if kind == "z":
            return "pre-activation exactly 0" + Z_ZERO.get(self.arch.activations[k - 1], "")
        if kind == "derivative":
            return self.derivative_zero(k, index)
        if kind == "dL/dz":
            return self._through_zero(k, index)
        if kind == "dL/dh":
            return (f"the upstream gradients reaching neuron {index[-1]} through its outgoing weights "
                    "cancel or are 0")
        return ""

    def _through_zero(self, k: int, index: tuple) -> str:
        """Why ∂L/∂z = ∂L/∂a · f′(z) is 0: the derivative (a closed ReLU gate) or the upstream."""
        activation = self.arch.activations[k - 1]
        derivative = quantities.derivative_name(k, self.n, activation)
        if derivative in self.values and self.values[derivative][index] == 0:
            label = quantities.entry_label(derivative, index)
            return f"ReLU gate closed: {label} = 0" if activation == "relu" else \
                f"{FUNCTION_TEXT.get(activation, activation)}′ = 0 here: {label} = 0"
        upstream = "dL/dy_hat" if k == self.n else f"dL/d{quantities.hidden_name(k, self.n)}"
        return f"{quantities.entry_label(upstream, index)} = 0"
