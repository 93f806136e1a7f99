"""The third and fourth witnesses, added to a finished comparison.

- Finite differences (``--fd``): beside hand and autograd in each gradient row, checked
  against the exact gradient under the run's tolerance. Where the perturbation crosses
  a kink the row says so (with both one-sided differences) instead of failing.
- Forward mode (``--jvp``): for random directions v (seeded, reproducible) the JVP from
  ``torch.func.jvp`` must equal ⟨hand gradient, v⟩ and ⟨exact gradient, v⟩.

Sums of many products get a tolerance that grows with them: |a − b| ≤ atol·√N +
rtol·Σ|g_i v_i| for N parameters (each product carries its own rounding).
"""
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from compare import finite_differences as fdm
from compare.comparison import AUTOGRAD, HAND, Comparison
from reference.numbers import GROUND_TRUTH_NAMES, as_fraction, matmul


def add_finite_differences(comparison: Comparison, sample: int | None = None, seed: int = 0,
                           progress=None) -> None:
    """Fill ``finite_difference`` and ``fd_note`` of every gradient row (or of ``sample``
    random entries per tensor) and record how in ``comparison.finite_differences``."""
    exercise = comparison.exercise
    entries = fdm.sample_entries(exercise, sample, seed)
    results = fdm.finite_differences(exercise, comparison.dtype, entries, progress)
    rows = {(r.quantity, r.index): r for r in comparison.gradients}
    tol = comparison.tolerance
    for fd in results:
        row = rows[(f"dL/d{fd.parameter}", fd.index)]
        if not fd.finite:
            row.fd_note = "the loss at θ ± h is not finite (it overflows), so there is no finite difference"
            continue
        row.finite_difference = as_fraction(fd.central)
        if fd.crossed:
            # one-sided differences carry an O(h) error: 6 significant digits are meaningful
            row.fd_note = (f"perturbation crosses the kink of {', '.join(fd.crossed)}: one-sided differences "
                           f"{float(fd.right):.6g} (θ + h) and {float(fd.left):.6g} (θ − h)")
        elif not tol.close(float(row.finite_difference), row.exact):
            row.problems.append("finite difference ≠ exact")
    arithmetic = exercise.architecture.ground_truth
    comparison.finite_differences = {
        "step": float(fdm.step_for(arithmetic, comparison.dtype)),
        "arithmetic": GROUND_TRUTH_NAMES.get(arithmetic, arithmetic),
        "entries": len(results),
        "sampled_per_tensor": sample,
        "seed": seed,
        "crossing_kinks": sum(bool(fd.crossed) for fd in results if fd.finite),
        "overflowing": sum(not fd.finite for fd in results),
    }


@dataclass
class JvpRow:
    """One direction: ``jvp`` from torch.func.jvp, ``hand`` = ⟨hand gradient, v⟩,
    ``exact`` = ⟨exact gradient, v⟩ (v's float64 entries taken exactly)."""
    direction: int
    jvp: float
    hand: float | None
    exact: Fraction
    expected: dict[str, Fraction]
    tolerance: float
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not self.problems

    @property
    def verdict(self) -> str:
        if self.problems:
            return "DISAGREE: " + "; ".join(self.problems)
        return "agree: " + "; ".join(self.notes) if self.notes else "agree"


def random_directions(comparison: Comparison, count: int, seed: int) -> list[dict[str, np.ndarray]]:
    """``count`` standard-normal directions over all parameters, float64, seeded;
    rounded to the run's dtype so torch and the dot products see the same v."""
    rng = np.random.default_rng(seed)
    shapes = comparison.exercise.architecture.parameter_shapes()
    return [{name: rng.standard_normal(shape).astype(comparison.dtype).astype(np.float64)
             for name, shape in shapes.items()} for _ in range(count)]


def add_jvp(comparison: Comparison, count: int = 4, seed: int = 0, progress=None) -> None:
    """Check ``count`` random directional derivatives; fills ``comparison.jvp``.
    ``progress`` wraps the loop over directions. The exact dot products run in integers
    (``reference.numbers.matmul``), one per direction and side of a kink."""
    from torch_impl.forward_mode import directional_derivatives
    directions = random_directions(comparison, count, seed)
    jvps = directional_derivatives(comparison.exercise, directions, comparison.dtype)
    tol = comparison.tolerance
    rows = comparison.gradients
    where = [(r.quantity.removeprefix("dL/d"), r.index) for r in rows]
    exact_column = np.array([r.exact for r in rows], dtype=object)[None, :]
    expected_columns = {run: None if all(r.expected[run] == r.exact for r in rows)
                        else np.array([r.expected[run] for r in rows], dtype=object)[None, :] for run in (HAND, AUTOGRAD)}
    exact_floats = np.array([float(r.exact) for r in rows])
    hands = None if any(r.hand is None for r in rows) else np.array([r.hand for r in rows])
    comparison.jvp, comparison.jvp_seed = [], seed
    steps = list(enumerate(zip(directions, jvps)))
    for i, (v, jvp) in (progress(steps) if progress else steps):
        floats = np.array([v[parameter][index] for parameter, index in where], dtype=np.float64)
        fractions = np.array([Fraction(float(f)) for f in floats], dtype=object)[:, None]
        exact = _dot(exact_column, fractions)
        expected = {run: exact if column is None else _dot(column, fractions)
                    for run, column in expected_columns.items()}
        hand = None if hands is None else math.fsum((hands * floats).tolist())
        scale = math.fsum(np.abs(exact_floats * floats).tolist())
        limit = tol.atol * math.sqrt(len(rows)) + tol.rtol * scale
        row = JvpRow(i, jvp, hand, exact, expected, limit)
        if abs(jvp - float(expected[AUTOGRAD])) > limit:
            row.problems.append("torch.func.jvp ≠ ⟨exact gradient, v⟩")
        if hand is not None and abs(hand - float(expected[HAND])) > limit:
            row.problems.append("⟨hand gradient, v⟩ ≠ ⟨exact gradient, v⟩")
        if hand is not None and expected[HAND] == expected[AUTOGRAD] and abs(hand - jvp) > limit:
            row.problems.append("⟨hand gradient, v⟩ ≠ torch.func.jvp")
        for run in (HAND, AUTOGRAD):
            if expected[run] != exact:
                row.notes.append(f"{run} took the other side of a kink")
        comparison.jvp.append(row)


def _dot(row: np.ndarray, column: np.ndarray) -> Fraction:
    """⟨row, column⟩ of exact values, (1, N) times (N, 1), as a Fraction."""
    return Fraction(matmul(row, column)[0, 0]) if row.size else Fraction(0)

