"""ReLU kinks: pre-activations at 0, where ReLU (and leaky ReLU) has only a subgradient.

A neuron is at its kink when its pre-activation is exactly 0 in exact arithmetic, or
within ``atol`` of 0 in a floating-point run. There ReLU'(0) may be taken as any value
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
    """A neuron at a ReLU kink: its exact pre-activation and each float run's."""
    neuron: Neuron
    exact_z: object
    float_z: dict[str, float] = field(default_factory=dict)

    def float_alive(self, run: str) -> bool:
        """The side the float run ``run`` took: True if its z > 0 (ReLU' = 1)."""
        return self.float_z[run] > 0


def find_kinks(exercise: Exercise, exact_zs: list, float_runs: dict[str, list], atol: float) -> list[Kink]:
    """Every ReLU neuron whose exact pre-activation is 0 or whose pre-activation in any
    float run (``{run name: [z1, z2, ...]}``, each (B, n_k)) is within ``atol`` of 0."""
    kinks = []
    for k, activation in enumerate(exercise.architecture.activations, start=1):
        if activation not in activations.KINKED:
            continue
        exact = exact_zs[k - 1]
        near = exact == 0
        for zs in float_runs.values():
            near = near | (np.abs(zs[k - 1].astype(np.float64)) <= atol)
        for b, j in zip(*np.nonzero(near)):
            neuron = Neuron(k, int(b), int(j))
            kinks.append(Kink(neuron, exact[b, j], {run: float(zs[k - 1][b, j]) for run, zs in float_runs.items()}))
    return kinks


def affected_parameters(kinks: list[Kink]) -> set[tuple[str, tuple[int, ...]]]:
    """Parameter entries whose gradient passes through a kink neuron: the neuron's own
    incoming weights and bias, and every parameter of the layers before it."""
    affected = set()
    for kink in kinks:
        k, j = kink.neuron.layer, kink.neuron.index
        affected.add((f"b{k}", (j,)))
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
    """The correct backward pass with the derivative at chosen kink neurons set by hand:
    ``sides[(layer, example, index)] = True`` takes the right derivative there (1),
    False the left one (0 for ReLU, the slope for leaky ReLU)."""

    def __init__(self, sides: dict[tuple[int, int, int], bool]):
        self.sides = sides

    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        derivative = super().activation_derivative(activation, z, a, layer, negative_slope).copy()
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
