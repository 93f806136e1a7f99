"""A third witness: central finite differences of the forward pass alone.

dL/dθ ≈ (L(θ + h) − L(θ − h)) / 2h for one parameter entry at a time, computed in the
ground-truth arithmetic (exact for rational networks, where the loss is a piecewise
quadratic in any single parameter and the central difference is exactly the derivative;
mpmath at 50 digits otherwise), or in float64 for networks too large for it.

Each perturbed forward pass recomputes only what the perturbation changes: a change of
W_k[i][j] or b_k[j] moves only column j of z_k, that column moves layer k + 1 by a rank-one
update (its change times row j of W_{k+1}), and only the layers after that are computed
in full. The exact arithmetic runs in integers: every layer's values share one
denominator, fixed in advance so that ±h is a whole number of its units, and only the
loss becomes a fraction. The numbers are the same as a full forward pass in fractions.

Kink-aware: when the perturbation moves a ReLU/leaky-ReLU pre-activation across 0 (or
it sits at 0), the result records the neurons crossed and the one-sided differences
(L(θ + h) − L(θ)) / h and (L(θ) − L(θ − h)) / h, which are the two one-sided
derivatives, instead of a central difference that matches neither.

Which check a network gets, the exact one entry by entry or the per-tensor one of
``compare.bulk``, follows ``estimate``: the cost of the exact run, its passes, its rows
and the finite differences asked for, against ``EXACT_BUDGET``.
"""
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from compare.kinks import Neuron
from reference import activations
from reference.exercise import Exercise, answer_shape
from reference.network import Network, snap_rounded_zeros
from reference.numbers import EXACT, MP, MP_EXPONENT_LIMIT, convert, matmul, mp_exponent

# Step per float dtype under test: about sqrt(machine epsilon), so a neuron within the
# reach of that dtype's rounding of its kink is crossed and flagged, while the
# truncation error (zero for rational networks, O(h**2) otherwise) stays far below the
# dtype's tolerance.
STEPS = {"float64": Fraction(1, 10 ** 8), "float32": Fraction(1, 10 ** 4)}
# A float64 forward pass (large networks) uses the classic step eps**(1/3).
FLOAT64_STEP = 6e-6

# The cost model, in units of one integer multiply-add of the exact arithmetic (about
# 0.1 us on the reference machine, benchmarks/fd_cost.py): what an exact run costs per
# multiply-add of its passes, per row it compares and reports, per operation of a
# finite difference; a 50-digit (mpmath) operation costs MP_FACTOR integer ones.
UNITS_PER_PASS_MAC = 10  # the passes of a comparison (exact, kink sides, alive table) or a training step
UNITS_PER_ROW = 1200  # a row: exact conversion, reasons, verdict, its line of the report
UNITS_PER_JVP_ENTRY = 100  # a parameter entry of one --jvp direction: exact products and sums
MP_FACTOR = 40
# Above this estimate the per-tensor check of compare.bulk is used (about 30 s of exact
# arithmetic on the reference machine: every exercise below it checks in at most 60 s).
EXACT_BUDGET = 300_000_000


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

    @property
    def finite(self) -> bool:
        """Whether the perturbed losses stayed finite: a step of h can push a huge input
        over the edge (x = 1e300 times h through a sigmoid, then log(0))."""
        return all(_finite(v) for v in (self.central, self.right, self.left))


def _finite(value) -> bool:
    """A Fraction, a finite float, or an mpf that is finite and within the range that
    ``reference.numbers.as_fraction`` converts."""
    if isinstance(value, Fraction):
        return True
    if hasattr(value, "_mpf_"):
        sign, man, exp, _ = value._mpf_
        return (man != 0 or exp == 0) and abs(mp_exponent(value)) <= 4 * MP_EXPONENT_LIMIT
    return math.isfinite(value)


def forward_cost(exercise: Exercise) -> int:
    """Multiply-adds of one forward pass: B * sum of in * out."""
    sizes = exercise.architecture.sizes
    return exercise.batch_size * sum(a * b for a, b in zip(sizes, sizes[1:]))


def row_count(exercise: Exercise) -> int:
    """Entries an exact comparison reports one by one: every gradient and intermediate."""
    arch = exercise.architecture
    return sum(math.prod(answer_shape(name, arch, exercise.batch_size))
               for name in arch.quantity_names())


def perturbation_cost(exercise: Exercise, layer: int) -> int:
    """Operations of the two perturbed forward passes of one entry of W_layer or
    b_layer: its column, the rank-one update of the next layer, every later layer in
    full, the loss."""
    sizes, batch = exercise.architecture.sizes, exercise.batch_size
    n = len(sizes) - 1
    ops = 1 + sizes[-1]
    if layer < n:
        ops += 2 * sizes[layer + 1] + sum(sizes[m - 1] * sizes[m] + sizes[m] for m in range(layer + 2, n + 1))
    return 2 * batch * ops


def fd_entry_counts(exercise: Exercise, sample: int | None) -> dict[str, int]:
    """Entries per parameter tensor that ``--fd`` (``--sample K``: K per tensor) checks."""
    return {name: math.prod(shape) if sample is None else min(sample, math.prod(shape))
            for name, shape in exercise.architecture.parameter_shapes().items()}


@dataclass(frozen=True)
class Cost:
    """The estimated cost of the exact run, in integer multiply-adds (``estimate``)."""
    passes: int  # multiply-adds of one forward pass
    rows: int  # entries compared and reported one by one
    finite_differences: int  # operations of the finite differences asked for
    ground_truth: str
    jvp_entries: int = 0  # parameter entries times --jvp directions

    @property
    def total(self) -> int:
        """The estimate in integer multiply-adds: the passes and finite differences (40
        times as much in 50 digits), the rows, the directional derivatives."""
        factor = MP_FACTOR if self.ground_truth == MP else 1
        return (factor * (UNITS_PER_PASS_MAC * self.passes + self.finite_differences) + UNITS_PER_ROW * self.rows
                + UNITS_PER_JVP_ENTRY * self.jvp_entries)

    @property
    def large(self) -> bool:
        """Above ``EXACT_BUDGET``: the per-tensor check of ``compare.bulk`` instead."""
        return self.total > EXACT_BUDGET

    def explain(self) -> str:
        """One sentence: which check, and why."""
        parts = f"{self.passes:,} multiply-adds a forward pass, {self.rows:,} rows" + (
            f", {self.finite_differences:,} operations of finite differences" if self.finite_differences else "") + (
            f", {self.jvp_entries:,} entries of directional derivatives" if self.jvp_entries else "")
        arithmetic = "50-digit" if self.ground_truth == MP else "exact"
        if self.large:
            return (f"Check: per tensor (compare.bulk), not entry by entry: the {arithmetic} run would cost an "
                    f"estimated {self.total:.2g} operations ({parts}), above the budget of {EXACT_BUDGET:.2g}.")
        return (f"Check: entry by entry against the {arithmetic} values: an estimated {self.total:.2g} operations "
                f"({parts}), within the budget of {EXACT_BUDGET:.2g}.")


def estimate(exercise: Exercise, fd: bool = False, sample: int | None = None, jvp: int | None = None) -> Cost:
    """The cost of the exact per-entry run of ``exercise``, with ``--fd`` (on ``sample``
    entries per tensor, or all) and ``--jvp`` directions if asked: forward multiply-adds
    (each pass costs a few of them), rows compared, the operations of the incremental
    finite differences (``perturbation_cost`` per entry) and the exact dot products of
    the directional derivatives (one per parameter entry and direction)."""
    fd_ops = 0
    if fd:
        for name, count in fd_entry_counts(exercise, sample).items():
            fd_ops += count * perturbation_cost(exercise, int(name[1:]))
    parameters = sum(math.prod(shape) for shape in exercise.architecture.parameter_shapes().values())
    return Cost(forward_cost(exercise), row_count(exercise), fd_ops, exercise.architecture.ground_truth,
                parameters * (jvp or 0))


def step_cost(exercise: Exercise) -> int:
    """The estimated cost of one exact gradient-descent step (its passes, no rows), in
    the units of ``estimate``: the training's exact track stops before the steps together
    pass ``EXACT_BUDGET``."""
    factor = MP_FACTOR if exercise.architecture.ground_truth == MP else 1
    return factor * UNITS_PER_PASS_MAC * forward_cost(exercise)


def is_large(exercise: Exercise, fd: bool = False, sample: int | None = None) -> bool:
    """Too costly for per-entry rows and an exact or 50-digit ground truth (``estimate``,
    with the finite differences asked for): checked per tensor by ``compare.bulk``
    instead."""
    return estimate(exercise, fd, sample).large


def step_for(number_type: str, dtype: str):
    """The step h for checking a ``dtype`` run: see ``STEPS``; ``FLOAT64_STEP`` when the
    forward pass itself runs in float64 (``number_type``)."""
    return FLOAT64_STEP if number_type == "float64" else STEPS[dtype]


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


def _sides(z: np.ndarray) -> np.ndarray:
    """Sign (-1, 0, 1) of every entry, int8."""
    return (z > 0).astype(np.int8) - (z < 0).astype(np.int8)


class _Floats:
    """The forward pass in floats or 50-digit mpf arrays, as ``reference.network``."""

    def __init__(self, exercise: Exercise, number_type: str, h):
        self.network = Network.from_exercise(exercise, number_type)
        self.y = convert(exercise.y, number_type)
        self.h = h
        self.zs, self.acts = self.network.forward(convert(exercise.x, number_type))

    def activate(self, k: int, z: np.ndarray) -> np.ndarray:
        return activations.forward(self.network.architecture.activations[k - 1], z, self.network.negative_slope)

    def linear(self, k: int, a: np.ndarray) -> np.ndarray:
        return snap_rounded_zeros(matmul(a, self.network.weights[k - 1]) + self.network.biases[k - 1])

    def moved(self, z: np.ndarray) -> np.ndarray:
        return snap_rounded_zeros(z)

    def weight_step(self, k: int, i: int, sign: int) -> np.ndarray:
        return (sign * self.h) * self.acts[k - 1][:, i]

    def bias_step(self, k: int, sign: int):
        return sign * self.h

    def row_update(self, k: int, j: int, change: np.ndarray) -> np.ndarray:
        return np.multiply.outer(change, self.network.weights[k - 1][j])

    def loss(self, y_hat: np.ndarray):
        return self.network.loss(y_hat, self.y)


class _Integers:
    """The forward pass of a rational network in integers: the values of layer k are
    ``A_k / d_k`` with one denominator d_k per layer, chosen so that a step of h in any
    parameter is a whole number of units. z_k = A_{k-1} @ Ws_k + Bs_k with the weights and
    biases scaled to d_k's units; ReLU and identity keep the units, leaky ReLU with slope
    p/q multiplies them by q. Only the loss becomes a ``Fraction``."""

    def __init__(self, exercise: Exercise, h: Fraction):
        arch = exercise.architecture
        self.arch, self.h = arch, h
        self.activation_names = arch.activations
        slope = Fraction(arch.negative_slope)
        self.slope = (slope.numerator, slope.denominator)
        x, denominator = _integers(convert(exercise.x, EXACT))
        self.weights, self.biases, self.weight_units, self.bias_units = [], [], [], []
        for k in range(1, arch.n_layers + 1):
            weight, weight_denominator = _integers(convert(exercise.parameters[f"W{k}"], EXACT), h.denominator)
            bias, bias_denominator = _integers(convert(exercise.layer_bias(k), EXACT), h.denominator)
            z_denominator = math.lcm(denominator * weight_denominator, bias_denominator)
            self.weights.append(weight * (z_denominator // (denominator * weight_denominator)))
            self.biases.append(bias * (z_denominator // bias_denominator))
            # h in the units of z_k: times a_{k-1}[:, i] for W_k[i][j], as it is for b_k[j]
            self.weight_units.append(_whole(h * z_denominator / denominator))
            self.bias_units.append(_whole(h * z_denominator))
            leaky = arch.activations[k - 1] == "leaky_relu"
            denominator = z_denominator * (self.slope[1] if leaky else 1)
        self.output_denominator = denominator
        self.y, self.y_denominator = _integers(convert(exercise.y, EXACT))
        self.zs, self.acts = [], [x]
        for k in range(1, arch.n_layers + 1):
            self.zs.append(self.linear(k, self.acts[-1]))
            self.acts.append(self.activate(k, self.zs[-1]))

    def activate(self, k: int, z: np.ndarray) -> np.ndarray:
        name = self.activation_names[k - 1]
        if name == "relu":
            return np.where(z > 0, z, 0)
        if name == "leaky_relu":
            return np.where(z > 0, z * self.slope[1], z * self.slope[0])
        return z

    def linear(self, k: int, a: np.ndarray) -> np.ndarray:
        return a @ self.weights[k - 1] + self.biases[k - 1]

    def moved(self, z: np.ndarray) -> np.ndarray:
        return z

    def weight_step(self, k: int, i: int, sign: int) -> np.ndarray:
        return (sign * self.weight_units[k - 1]) * self.acts[k - 1][:, i]

    def bias_step(self, k: int, sign: int) -> int:
        return sign * self.bias_units[k - 1]

    def row_update(self, k: int, j: int, change: np.ndarray) -> np.ndarray:
        return np.multiply.outer(change, self.weights[k - 1][j])

    def loss(self, y_hat: np.ndarray) -> Fraction:
        """mse, sse or sum_squares, as ``reference.losses``, from integers: one fraction at the end."""
        common = math.lcm(self.output_denominator, self.y_denominator)
        d = y_hat * (common // self.output_denominator) - self.y * (common // self.y_denominator)
        squares = int(np.sum(d * d)) if d.size else 0
        batch, outputs = d.shape
        over = {"mse": outputs, "sse": 2, "sum_squares": 1}[self.arch.loss] * (batch if self.arch.reduction == "mean" else 1)
        return Fraction(squares, common * common * over)


def _integers(values: np.ndarray, unit: int = 1) -> tuple[np.ndarray, int]:
    """``(N, d)``: integers N over one denominator d (a multiple of ``unit``) with
    ``values == N / d``, for an array of Fractions."""
    d = math.lcm(unit, *(v.denominator for v in values.reshape(-1)))
    out = np.empty(values.shape, dtype=object)
    out.reshape(-1)[:] = [v.numerator * (d // v.denominator) for v in values.reshape(-1)]
    return out, d


def _whole(value: Fraction) -> int:
    assert value.denominator == 1, value  # the denominators were chosen for it
    return value.numerator


def finite_differences(exercise: Exercise, dtype: str = "float64",
                       entries: list[tuple[str, tuple[int, ...]]] | None = None,
                       progress=None, arithmetic: str | None = None) -> list[FiniteDifference]:
    """Central (and one-sided) finite differences of the loss for ``entries`` (every
    parameter entry by default), with the step ``step_for(arithmetic, dtype)``, in
    ``arithmetic``: the exercise's ground truth by default (exact or 50-digit), or
    ``"float64"`` (a large network's sampled check).

    ``progress`` wraps the loop over entries (a tqdm-like callable) if given.
    """
    number_type = arithmetic or exercise.architecture.ground_truth
    step = step_for(number_type, dtype)
    if number_type == EXACT:
        run = _Integers(exercise, step)
    elif number_type == MP:
        from reference.numbers import mp
        run = _Floats(exercise, MP, mp().mpf(step.numerator) / step.denominator)
    else:
        run = _Floats(exercise, number_type, float(step))
    kinked = [k for k, name in enumerate(exercise.architecture.activations, start=1) if name in activations.KINKED]
    base_loss = run.loss(run.acts[-1])
    base_sides = {k: _sides(run.zs[k - 1]) for k in kinked}
    entries = entries if entries is not None else sample_entries(exercise, None)
    results = []
    for parameter, index in (progress(entries) if progress else entries):
        plus, plus_sides = _perturbed(run, kinked, base_loss, parameter, index, 1)
        minus, minus_sides = _perturbed(run, kinked, base_loss, parameter, index, -1)
        h = run.h
        results.append(FiniteDifference(parameter, index, (plus - minus) / (2 * h), (plus - base_loss) / h,
                                        (base_loss - minus) / h,
                                        _crossed(exercise, base_sides, plus_sides, minus_sides,
                                                 int(parameter[1:]), index[-1] if index else None)))
    return results


def _perturbed(run, kinked: list[int], base_loss, parameter: str, index: tuple, sign: int):
    """The loss with one parameter entry moved by ``sign`` * h, recomputing only what the
    move changes; and the sides of the kinks of layers k (column j only) and after,
    ``{layer: sides}``. A bias shared by layer k (no index) moves all its columns."""
    if not index:
        return _shared_bias_perturbed(run, kinked, parameter, sign)
    k, j = int(parameter[1:]), index[-1]
    n = len(run.zs)
    step = run.weight_step(k, index[0], sign) if parameter[0] == "W" else run.bias_step(k, sign)
    column = run.moved(run.zs[k - 1][:, j] + step)
    sides = {k: _sides(column)} if k in kinked else {}
    new = run.activate(k, column)
    change = new - run.acts[k][:, j]
    if k == n:
        y_hat = run.acts[n].copy()
        y_hat[:, j] = new
        return run.loss(y_hat), sides
    if not any(change):  # the activation did not move (a dead ReLU stays dead): nothing after it does
        return base_loss, sides
    return _forward_from(run, kinked, k + 1, run.moved(run.zs[k] + run.row_update(k + 1, j, change)), sides)


def _shared_bias_perturbed(run, kinked: list[int], parameter: str, sign: int):
    """``_perturbed`` for a bias shared by layer k: every z_k moves by the step, and every
    layer from k on is recomputed; the sides of the kinks of layers k and after."""
    k = int(parameter[1:])
    return _forward_from(run, kinked, k, run.moved(run.zs[k - 1] + run.bias_step(k, sign)), {})


def _forward_from(run, kinked: list[int], first: int, z, sides: dict):
    """The loss with layer ``first``'s pre-activation moved to ``z`` and every later layer
    recomputed from it; the sides of the kinks of those layers added to ``sides``."""
    for m in range(first, len(run.zs) + 1):
        if m > first:
            z = run.linear(m, a)
        if m in kinked:
            sides[m] = _sides(z)
        a = run.activate(m, z)
    return run.loss(a), sides


def _crossed(exercise: Exercise, base: dict, plus: dict, minus: dict, layer: int, column: int | None) -> list[str]:
    """Neurons on a different side of their kink at θ + h or θ − h than at θ: column
    ``column`` of layer ``layer`` (the only one of that layer that moves; every one for
    ``None``, a shared bias) and every neuron of the layers after it, in order."""
    crossed = []
    n, batch = exercise.architecture.n_layers, exercise.batch_size
    for k, side in base.items():
        if k < layer:
            continue
        if k == layer and column is not None:
            base_column = side[:, column]
            rows = np.nonzero((plus[k] != base_column) | (minus[k] != base_column))[0]
            crossed += [Neuron(k, int(b), column).label(n, batch) for b in rows]
            continue
        moved = (plus.get(k, side) != side) | (minus.get(k, side) != side)
        crossed += [Neuron(k, int(b), int(j)).label(n, batch) for b, j in zip(*np.nonzero(moved))]
    return crossed
