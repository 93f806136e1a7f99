"""ReLU kinks: pre-activations at 0, where ReLU (and leaky ReLU) has only a subgradient.

A neuron is at its kink when its pre-activation is exactly 0 in exact arithmetic, or so
close to 0 that a floating-point run may land on either side by rounding
(``rounding_bounds``): the ground truth decides, never a run's own (possibly wrong) z. There ReLU'(0) may be taken as any value
in [0, 1]; the text and PyTorch take 0. A float run can land on either side of the
kink by rounding (float64 autograd computes the chapter's z1[0] as +2.8e-17, NumPy as
-2.8e-17), so its gradients are checked against the exact gradient recomputed with the
float run's own side of the kink: matching that is a valid subgradient, not an error.
"""
from dataclasses import dataclass, field

import numpy as np

from reference import activations
from reference.backprop import Backprop
from reference.exercise import Exercise


@dataclass(frozen=True)
class Neuron:
    """Neuron ``index`` of weight layer ``layer`` (1-based) for example ``example``."""
    layer: int
    example: int
    index: int

    def label(self, n_layers: int, batch_size: int) -> str:
        """``"hidden neuron 0"``; ``"neuron 2 of layer 1 (example 3)"`` for larger nets."""
        text = f"hidden neuron {self.index}" if n_layers == 2 else f"neuron {self.index} of layer {self.layer}"
        return text + (f" (example {self.example})" if batch_size > 1 else "")

    def z_label(self, batch_size: int) -> str:
        """``"z1[0]"`` (``"z1[3][0]"`` in a batch)."""
        return f"z{self.layer}" + (f"[{self.example}]" if batch_size > 1 else "") + f"[{self.index}]"


@dataclass
class Kink:
    """A neuron at a ReLU kink: its exact pre-activation, each float run's, and the
    bound on a float run's rounding there (``rounding_bounds``)."""
    neuron: Neuron
    exact_z: object
    float_z: dict[str, float] = field(default_factory=dict)
    bound: float = 0.0

    def float_alive(self, run: str) -> bool:
        """The side the float run ``run`` took: True if its z > 0 (ReLU' = 1)."""
        return self.float_z[run] > 0


UNIT_ROUNDOFF = {"float64": 2.0 ** -53, "float32": 2.0 ** -24}


def rounding_bounds(exercise: Exercise, exact_zs: list, dtype: str) -> list[np.ndarray]:
    """For each layer, a bound (B, n_k) on |float z - exact z| of a run in ``dtype``: the
    decimals rounded to floats (one unit roundoff u each), each dot product's rounding
    (the standard (n + 2) u sum |terms| bound, doubled for safety) and the error the
    previous layer passes on through |W| (activations are 1-Lipschitz here)."""
    u = UNIT_ROUNDOFF[dtype]
    a = np.abs(np.array([[float(v) for v in row] for row in exercise.x]))
    error = u * a
    bounds = []
    arch = exercise.architecture
    for k, z in enumerate(exact_zs, start=1):
        W = np.abs(np.array([[float(v) for v in row] for row in exercise.parameters[f"W{k}"]]))
        b = np.abs(np.array([float(v) for v in exercise.layer_bias(k)]))
        floats = np.array([[float(v) for v in row] for row in z])
        with np.errstate(over="ignore", invalid="ignore"):  # a sum of |terms| beyond float64: no bound (inf)
            scale = a @ W + b
            bound = np.nan_to_num(2 * (W.shape[0] + 2) * u * scale + error @ W, nan=np.inf)
            # |f(z)|, not |z|: a dead ReLU's -1e308 passes 0 on, and 1e308 times the next W would overflow
            a = np.abs(activations.forward(arch.activations[k - 1], floats, float(arch.negative_slope)))
            error = bound + u * np.abs(floats)
        bounds.append(bound)
    return bounds


def find_kinks(exercise: Exercise, exact_zs: list, float_runs: dict[str, list], dtype: str = "float64") -> list[Kink]:
    """Every ReLU (or leaky ReLU) neuron at its kink, decided by the ground truth alone:
    its exact pre-activation is 0, or lies within the rounding a float run in ``dtype``
    makes (``rounding_bounds``), so that a float run may land on either side. A run's
    own z (a student's wrong one included) never makes a kink. ``float_runs`` gives each
    float run's pre-activations ({run name: [z1, z2, ...]}, each (B, n_k)), recorded
    on the kink for its side."""
    kinks = []
    bounds = rounding_bounds(exercise, exact_zs, dtype)
    for k, activation in enumerate(exercise.architecture.activations, start=1):
        if activation not in activations.KINKED:
            continue
        exact = exact_zs[k - 1]
        near = np.array([[v == 0 or abs(float(v)) <= bound for v, bound in zip(row, bound_row)]
                         for row, bound_row in zip(exact, bounds[k - 1])], dtype=bool).reshape(exact.shape)
        for b, j in zip(*np.nonzero(near)):
            neuron = Neuron(k, int(b), int(j))
            kinks.append(Kink(neuron, exact[b, j], {run: float(zs[k - 1][b, j]) for run, zs in float_runs.items()},
                              float(bounds[k - 1][b, j])))
    return kinks


def affected_parameters(kinks: list[Kink]) -> set[tuple[str, tuple[int, ...]]]:
    """Parameter entries whose gradient passes through a kink neuron: the neuron's own
    incoming weights and bias, and every parameter of the layers before it."""
    affected = set()
    for kink in kinks:
        k, j = kink.neuron.layer, kink.neuron.index
        affected.add((f"b{k}", (j,)))
        affected.add((f"b{k}", ()))  # a bias shared by the layer passes through every neuron of it
        affected.add((f"W{k}", (None, j)))
        for m in range(1, k):
            affected.add((f"W{m}", None))
            affected.add((f"b{m}", None))
    return affected


def is_affected(affected: set, parameter: str, index: tuple[int, ...]) -> bool:
    """Whether the entry ``parameter[index]`` is in ``affected_parameters``'s set."""
    if (parameter, None) in affected or (parameter, index) in affected:
        return True
    return parameter.startswith("W") and (parameter, (None, index[1])) in affected


class SideMatched(Backprop):
    """A backward pass (the correct one, or ``inner``) with the derivative at chosen kink
    neurons set by hand: ``sides[(layer, example, index)] = True`` takes the right
    derivative there (1), False the left one (0 for ReLU, the slope for leaky ReLU)."""

    def __init__(self, sides: dict[tuple[int, int, int], bool], inner: Backprop | None = None):
        self.sides = sides
        self.inner = inner or Backprop()

    def loss_gradient(self, y_hat, y, loss, reduction):
        return self.inner.loss_gradient(y_hat, y, loss, reduction)

    def weight_gradient(self, inputs, upstream):
        return self.inner.weight_gradient(inputs, upstream)

    def bias_gradient(self, upstream):
        return self.inner.bias_gradient(upstream)

    def to_previous_layer(self, weights, upstream, weight_gradient=None):
        return self.inner.to_previous_layer(weights, upstream, weight_gradient)

    def through_activation(self, upstream, derivative):
        return self.inner.through_activation(upstream, derivative)

    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        derivative = self.inner.activation_derivative(activation, z, a, layer, negative_slope).copy()
        if activation not in activations.KINKED:
            return derivative
        left, right = activations.one_sided_derivatives(activation, negative_slope)
        for (k, b, j), alive in self.sides.items():
            if k == layer:
                derivative[b, j] = right if alive else left
        return derivative


def sides_taken(kinks: list[Kink], run: str) -> dict[tuple[int, int, int], bool]:
    """The side of each kink that float run ``run`` took, where it differs from the
    exact convention (alive iff exact z > 0). Empty when the run agrees everywhere."""
    sides = {}
    for kink in kinks:
        alive = kink.float_alive(run)
        if alive != (kink.exact_z > 0):
            n = kink.neuron
            sides[(n.layer, n.example, n.index)] = alive
    return sides
