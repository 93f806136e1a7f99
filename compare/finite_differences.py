"""A third witness: central finite differences of the forward pass alone.

dL/dθ ≈ (L(θ + h) − L(θ − h)) / 2h for one parameter entry at a time, computed in the
ground-truth arithmetic (exact ``Fraction`` for rational networks, where the loss is a
piecewise quadratic in any single parameter and the central difference is exactly the
derivative; mpmath at 50 digits otherwise), or in float64 for networks too large for it.

Kink-aware: when the perturbation moves a ReLU/leaky-ReLU pre-activation across 0 (or
it sits at 0), the result records the neurons crossed and the one-sided differences
(L(θ + h) − L(θ)) / h and (L(θ) − L(θ − h)) / h, which are the two one-sided
derivatives, instead of a central difference that matches neither.
"""
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from compare.kinks import Neuron
from reference import activations
from reference.exercise import Exercise
from reference.network import Network
from reference.numbers import EXACT, MP, convert

# Step per float dtype under test: about sqrt(machine epsilon), so a neuron within the
# reach of that dtype's rounding of its kink is crossed and flagged, while the
# truncation error (zero for rational networks, O(h**2) otherwise) stays far below the
# dtype's tolerance.
STEPS = {"float64": Fraction(1, 10 ** 8), "float32": Fraction(1, 10 ** 4)}
# A float64 forward pass (large networks) uses the classic step eps**(1/3).
FLOAT64_STEP = 6e-6
# Multiply-adds of one forward pass above which the 50-digit forward is too slow.
HIGH_PRECISION_BUDGET = 200_000


@dataclass
class FiniteDifference:
    """The finite difference of one parameter entry. ``central``, ``right`` and
    ``left`` are numbers of the arithmetic used (Fraction, mpf or float); ``crossed``
    names the neurons whose side of the kink the perturbation changes."""
    parameter: str
    index: tuple[int, ...]
    central: object
    right: object
    left: object
    crossed: list[str]


def forward_cost(exercise: Exercise) -> int:
    """Multiply-adds of one forward pass: B * sum of in * out."""
    sizes = exercise.architecture.sizes
    return exercise.batch_size * sum(a * b for a, b in zip(sizes, sizes[1:]))


def is_large(exercise: Exercise) -> bool:
    """Too large for per-entry rows and an exact or 50-digit ground truth: checked per
    tensor by ``compare.bulk`` instead."""
    return forward_cost(exercise) > HIGH_PRECISION_BUDGET


def arithmetic(exercise: Exercise) -> str:
    """The number type the finite differences use for ``exercise``."""
    if is_large(exercise):
        return "float64"
    return exercise.architecture.ground_truth


def step_for(exercise: Exercise, dtype: str):
    """The step h for checking a ``dtype`` run: see ``STEPS``; ``FLOAT64_STEP`` when the
    forward pass itself runs in float64."""
    return FLOAT64_STEP if arithmetic(exercise) == "float64" else STEPS[dtype]


def sample_entries(exercise: Exercise, k: int | None, seed: int = 0) -> list[tuple[str, tuple[int, ...]]]:
    """Every parameter entry, or ``k`` entries drawn per tensor (without replacement,
    seeded) when ``k`` is given."""
    rng = np.random.default_rng(seed)
    entries = []
    for name, shape in exercise.architecture.parameter_shapes().items():
        indices = list(np.ndindex(shape))
        if k is not None and k < len(indices):
            chosen = sorted(rng.choice(len(indices), size=k, replace=False))
            indices = [indices[i] for i in chosen]
        entries += [(name, tuple(int(i) for i in index)) for index in indices]
    return entries


def _kink_sides(exercise: Exercise, zs: list[np.ndarray]) -> dict[int, np.ndarray]:
    """Sign (-1, 0, 1) of every pre-activation of each kinked layer, (B, n_k) int8."""
    return {k: (zs[k - 1] > 0).astype(np.int8) - (zs[k - 1] < 0).astype(np.int8)
            for k, name in enumerate(exercise.architecture.activations, start=1) if name in activations.KINKED}


def _crossed(exercise: Exercise, base: dict, plus: dict, minus: dict) -> list[str]:
    """Neurons on a different side of their kink at θ + h or θ − h than at θ."""
    crossed = []
    for k, side in base.items():
        for b, j in zip(*np.nonzero((plus[k] != side) | (minus[k] != side))):
            crossed.append(Neuron(k, int(b), int(j)).label(exercise.architecture.n_layers, exercise.batch_size))
    return crossed


def finite_differences(exercise: Exercise, dtype: str = "float64",
                       entries: list[tuple[str, tuple[int, ...]]] | None = None,
                       progress=None) -> list[FiniteDifference]:
    """Central (and one-sided) finite differences of the loss for ``entries`` (every
    parameter entry by default), with the step ``step_for(exercise, dtype)``.

    ``progress`` wraps the loop over entries (a tqdm-like callable) if given.
    """
    number_type = arithmetic(exercise)
    network = Network.from_exercise(exercise, number_type)
    x, y = convert(exercise.x, number_type), convert(exercise.y, number_type)
    step = step_for(exercise, dtype)
    h = {EXACT: step, MP: None, "float64": float(step)}[number_type]
    if number_type == MP:
        from reference.numbers import mp
        h = mp().mpf(step.numerator) / step.denominator

    def loss_and_sides():
        zs, acts = network.forward(x)
        return network.loss(acts[-1], y), _kink_sides(exercise, zs)

    base_loss, base_sides = loss_and_sides()
    entries = entries if entries is not None else sample_entries(exercise, None)
    results = []
    for parameter, index in (progress(entries) if progress else entries):
        tensors = network.weights if parameter.startswith("W") else network.biases
        array = tensors[int(parameter[1:]) - 1]
        original = array[index]
        array[index] = original + h
        plus, plus_sides = loss_and_sides()
        array[index] = original - h
        minus, minus_sides = loss_and_sides()
        array[index] = original
        crossed = _crossed(exercise, base_sides, plus_sides, minus_sides)
        results.append(FiniteDifference(parameter, index, (plus - minus) / (2 * h),
                                        (plus - base_loss) / h, (base_loss - minus) / h, crossed))
    return results
