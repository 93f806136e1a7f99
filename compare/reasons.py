"""Why a gradient is zero, or which way gradient descent moves the parameter.

Worded as the text's summary table: "dead neuron 0", "input x[1] = 0", "will decrease",
"tiny increase". Reasons come from the exact pass (ReLU'(0) = 0, as the text).
"""
import numpy as np

from reference import quantities
from reference.backprop import Pass
from reference.exercise import Exercise

TINY = 0.1  # a nonzero gradient below 10% of the largest |gradient| moves its parameter "tiny"


def neuron_name(layer: int, index: int, n_layers: int) -> str:
    """``"neuron 2"``, or ``"neuron 2 of layer 1"`` in a network with more than one hidden layer."""
    return f"neuron {index}" if n_layers == 2 else f"neuron {index} of layer {layer}"


def _dead(layer: int, index: int, z_exact, n_layers: int) -> str:
    boundary = " (on the boundary)" if z_exact == 0 else ""
    return f"dead {neuron_name(layer, index, n_layers)}{boundary}"


class Reasons:
    """Reasons for every parameter entry of one exact pass."""

    def __init__(self, exercise: Exercise, exact: Pass):
        self.arch = exercise.architecture
        self.n = self.arch.n_layers
        self.x = exercise.x
        self.exact = exact
        self.zs = exact.pre_activations
        grads = [abs(g) for p in self.arch.parameter_shapes() for g in exact.gradient(p).reshape(-1)]
        self.largest = max(grads) if grads else 0

    def _batch(self, name: str) -> np.ndarray:
        value = self.exact.values[name]
        return value.reshape(1, -1) if value.ndim == 1 else value

    def _input(self, layer: int) -> np.ndarray:
        if layer == 1:
            return self.x
        return self._batch("h" if self.n == 2 else f"h{layer - 1}")

    def _input_zero(self, layer: int, example: int, i: int) -> str:
        if layer == 1:
            return f"input x[{i}] = 0"
        activation = self.arch.activations[layer - 2]
        if activation == "relu":
            return _dead(layer - 1, i, self.zs[layer - 2][example, i], self.n)
        neuron = neuron_name(layer - 1, i, self.n)
        if activation == "sigmoid":  # never exactly 0: only the 50-digit track's underflow makes it so
            return f"{neuron} outputs 0 (σ underflows to 0 in the 50-digit track)"
        # leaky ReLU (never dead), tanh and identity give 0 only at z = 0 exactly
        return f"{neuron} outputs 0 (its pre-activation is exactly 0)"

    def _upstream_zero(self, layer: int, example: int, j: int) -> str:
        activation = self.arch.activations[layer - 1]
        z = self.zs[layer - 1][example, j]
        if activation == "relu" and z <= 0:
            return _dead(layer, j, z, self.n)
        derivative = quantities.derivative_name(layer, self.n, activation)
        if activation in ("sigmoid", "tanh") and derivative in self.exact.values and \
                self._batch(derivative)[example, j] == 0:
            name = "σ" if activation == "sigmoid" else "tanh"
            return f"{name}′ = 0 at {neuron_name(layer, j, self.n)} (saturated to 50 digits)"
        if layer == self.n:
            return f"output {j} already equals its target"
        return f"no gradient reaches {neuron_name(layer, j, self.n)}"

    def for_entry(self, parameter: str, index: tuple[int, ...]) -> str:
        """The reason for ``parameter[index]`` (``"W1", (1, 2)`` -> ``"input x[1] = 0"``; no
        index for a bias shared by the layer: the reasons of its neurons)."""
        gradient = self.exact.gradient(parameter)[index]
        if gradient != 0:
            size = "tiny " if abs(gradient) < TINY * self.largest else "will "
            return size + ("decrease" if gradient > 0 else "increase")
        layer = int(parameter[1:])
        upstream = self._batch(f"dL/dz{layer}")
        if not index:  # a bias shared by the layer: the sum over its neurons (and examples)
            if any(v != 0 for v in upstream.reshape(-1)):
                return "contributions of the neurons cancel"
            return "; ".join(self._zero_causes(parameter, layer, (j,), upstream) for j in range(upstream.shape[1]))
        return self._zero_causes(parameter, layer, index, upstream)

    def _zero_causes(self, parameter: str, layer: int, index: tuple[int, ...], upstream: np.ndarray) -> str:
        """Why the gradient of ``parameter[index]`` (zero) is zero, example by example;
        ``upstream`` is dL/dz of its layer (B, n)."""
        j = index[-1]
        causes = []
        for b in range(upstream.shape[0]):
            cause = []
            if upstream[b, j] == 0:
                cause.append(self._upstream_zero(layer, b, j))
            if parameter.startswith("W") and self._input(layer)[b, index[0]] == 0:
                cause.append(self._input_zero(layer, b, index[0]))
            causes.append("; ".join(cause))
        if all(causes) and len(set(causes)) == 1:
            return causes[0] + (" in every example" if len(causes) > 1 else "")
        if all(causes):
            return "; ".join(f"example {b}: {c}" for b, c in enumerate(causes))
        return "contributions of the examples cancel"
