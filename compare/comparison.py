"""The cross-check: hand-written NumPy backprop vs autograd vs exact arithmetic vs the
values the text prints, entry by entry.

Ground truth is the exact (``Fraction``) run of the hand backward pass, with the text's
convention ReLU'(0) = 0; where the network leaves the rationals (sigmoid, tanh, a loss
with exp or log) it is the same pass in mpmath at 50 significant digits. Each float run (NumPy and torch, same dtype) is compared with
the exact values under ``Tolerance``; printed values within their rounding. At a ReLU
kink a float run is compared with the exact gradient for the side of the kink it took
(see ``compare.kinks``).
"""
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
import itertools

import numpy as np

from compare.claims import check_claims
from compare.kinks import Kink, SideMatched, affected_parameters, find_kinks, is_affected, sides_taken
from compare.reasons import Reasons
from compare.tolerance import Tolerance, written_value_agrees
from reference import quantities
from reference.backprop import Backprop, Pass, run_pass
from reference.exercise import Exercise
from reference.network import Network
from reference.numbers import GROUND_TRUTH_NAMES, as_fraction, convert
from torch_impl import run_autograd

HAND, AUTOGRAD = "hand", "autograd"
PRINTED = "printed"  # the problem a wrong printed (hand-written) value raises


@dataclass
class Row:
    """One scalar entry: a parameter's gradient (``W1[0][2]``) or an intermediate
    (``z1[0]``, ``L``). ``exact`` follows ReLU'(0) = 0; ``expected`` holds, per float
    run, the exact value for the side of any kink that run took. ``hand`` is None when
    the hand pass did not produce this entry."""
    quantity: str
    label: str
    exact: Fraction
    expected: dict[str, Fraction]
    hand: float | None
    autograd: float
    published: Decimal | None = None
    kink: bool = False
    reason: str = ""
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    finite_difference: Fraction | None = None  # set by compare.witnesses.add_finite_differences
    fd_note: str = ""

    @property
    def agree(self) -> bool:
        return not self.problems

    @property
    def computed_agree(self) -> bool:
        """Hand, autograd and exact (and finite differences) agree, whatever the printed value."""
        return not [p for p in self.problems if not p.startswith(PRINTED)]

    @property
    def abs_diff(self) -> float | None:
        """|hand - autograd|, or None without a hand value."""
        return None if self.hand is None else abs(self.hand - self.autograd)

    @property
    def same_side(self) -> bool:
        """Whether hand and autograd took the same side of every kink on this row's path."""
        return self.expected[HAND] == self.expected[AUTOGRAD]

    @property
    def verdict(self) -> str:
        runs = " and ".join(run for run in (HAND, AUTOGRAD) if self.expected[run] != self.exact)
        if self.problems:
            compared = any("≠" in p and not p.startswith(PRINTED) for p in self.problems)
            kink = f" ({runs} took the other side of the kink)" if runs and compared else ""
            return "DISAGREE: " + "; ".join(self.problems) + kink
        if runs:
            return f"agree: subgradient, {runs} took the other side of the kink"
        return "agree"


@dataclass
class Comparison:
    """Every row of one exercise run, with the kinks found and the settings used."""
    exercise: Exercise
    dtype: str
    tolerance: Tolerance
    gradients: list[Row]
    intermediates: list[Row]
    kinks: list[Kink]
    kink_notes: list[str]
    hand_error: str | None = None
    claims: list = field(default_factory=list)  # compare.claims.ClaimCheck
    finite_differences: dict | None = None  # how they were taken, once added
    jvp: list | None = None  # compare.witnesses.JvpRow, once added
    jvp_seed: int | None = None

    @property
    def ok(self) -> bool:
        """True when every gradient, intermediate and directional derivative agrees."""
        return (self.hand_error is None and all(r.agree for r in self.gradients + self.intermediates)
                and all(j.agree for j in self.jvp or []) and all(c.ok for c in self.claims))

    def __str__(self) -> str:
        """The text report (``compare.report.render_text``), as ``python -m compare`` prints it."""
        from compare.report import render_text  # report imports this module
        return render_text(self)

    def __repr__(self) -> str:
        agree = sum(r.agree for r in self.gradients)
        return (f"<Comparison {self.exercise.title!r}: {agree} of {len(self.gradients)} gradients agree, "
                f"{'ok' if self.ok else 'DISAGREEMENT'}; print() it for the table>")

    def _repr_pretty_(self, printer, cycle) -> None:
        """IPython's terminal display: the text report."""
        printer.text(repr(self) if cycle else str(self))

    def _repr_html_(self) -> str:
        """Jupyter's display: the report's sections as HTML (``compare.report``)."""
        from compare.report import render_html_fragment
        return render_html_fragment(self)


def _published(exercise: Exercise) -> dict[tuple[str, tuple], Decimal]:
    table = {}
    for answer in exercise.answers:
        if answer.index:
            table[(answer.name, answer.index)] = answer.value[()]
        else:
            for index in np.ndindex(answer.value.shape):
                table[(answer.name, index)] = answer.value[index]
    return table


def _run_hand(exercise: Exercise, dtype: str, backprop: Backprop) -> tuple[Pass | None, str | None]:
    try:
        return run_pass(exercise, dtype, backprop), None
    except Exception as error:  # a broken backward pass is a verdict, not a crash
        return None, f"{type(error).__name__}: {error}"


def _kink_notes(exercise: Exercise, kinks: list[Kink], dtype: str, atol: float,
                hand_side_unknown: bool = False) -> list[str]:
    n, batch = exercise.architecture.n_layers, exercise.batch_size
    notes = []
    for kink in kinks:
        where = kink.neuron.z_label(batch)
        activation = exercise.architecture.activations[kink.neuron.layer - 1]
        if activation == "relu":
            at_zero, sides, name = "dead (on the boundary)", ("dead, ReLU′ = 0", "alive, ReLU′ = 1"), "ReLU"
        else:
            slope = f"{exercise.architecture.negative_slope:f}"
            at_zero, name = "on the kink", "leaky ReLU"
            sides = (f"left side, leaky ReLU′ = {slope}", "right side, leaky ReLU′ = 1")
        exact = (f"exactly 0: {at_zero}" if kink.exact_z == 0
                 else f"{float(kink.exact_z):.3g} exactly, but a float run puts it within atol {atol:g} of 0")
        runs = ", ".join(
            f"{run}: side unknown (no z returned), either side accepted" if run == HAND and hand_side_unknown
            else f"{run} {dtype} {z:.2g} ({sides[z > 0]})"
            for run, z in kink.float_z.items())
        notes.append(f"{kink.neuron.label(n, batch)} is at the {name} kink: {where} = {exact}; {runs}")
    return notes


def compare_exercise(exercise: Exercise, dtype: str = "float64", tolerance: Tolerance | None = None,
                     backprop: Backprop | None = None, hand_values: dict | None = None,
                     hand_error: str | None = None, hand_optional: frozenset = frozenset()) -> Comparison:
    """Run the exact pass, the hand pass in ``dtype`` (by ``backprop``, or take
    ``hand_values`` computed elsewhere), autograd in ``dtype``, and compare every entry.

    ``dtype`` is ``"float64"`` or ``"float32"``; ``tolerance`` defaults to
    ``Tolerance.for_dtype(dtype)``. A hand pass that raises is reported in
    ``hand_error`` and fails every row; it never propagates. A ``hand_error`` passed in
    (a student's code that failed elsewhere) does the same. Names in ``hand_optional``
    may be missing from ``hand_values``: their rows have no hand value and do not fail.
    """
    tolerance = tolerance or Tolerance.for_dtype(dtype)
    ground_truth = exercise.architecture.ground_truth
    exact = run_pass(exercise, ground_truth)
    # Values computed elsewhere (a student's code) that report no z: the side of a kink
    # they took is unknown, so either side's exact value is a valid subgradient.
    side_unknown = hand_values is not None and not any(
        f"z{k}" in hand_values for k in range(1, exercise.architecture.n_layers + 1))
    hand_pass = None
    if hand_values is None and hand_error is None:
        hand_pass, hand_error = _run_hand(exercise, dtype, backprop or Backprop())
        hand_values = hand_pass.values if hand_pass else None
    auto = run_autograd(exercise, dtype)

    float_zs = {AUTOGRAD: [np.asarray(z) for z in auto.pre_activations]}
    if hand_pass is not None:
        hand_zs = hand_pass.pre_activations
    else:  # the forward pass is not under test: its z in the hand run's dtype
        hand_zs = Network.from_exercise(exercise, dtype).forward(convert(exercise.x, dtype))[0]
    if hand_values is not None and hand_pass is None:  # values from elsewhere (a student's code) may report z
        hand_zs = _reported_pre_activations(hand_values, hand_zs)
    float_zs[HAND] = hand_zs
    kinks = find_kinks(exercise, exact.pre_activations, float_zs, tolerance.atol)
    expected = {}
    for run in (HAND, AUTOGRAD):
        sides = sides_taken(kinks, run)
        expected[run] = run_pass(exercise, ground_truth, SideMatched(sides)).values if sides else exact.values
    other_side = None
    if side_unknown and kinks:
        flipped = {(k.neuron.layer, k.neuron.example, k.neuron.index): not k.float_alive(HAND) for k in kinks}
        other_side = run_pass(exercise, ground_truth, SideMatched(flipped)).values
    affected = affected_parameters(kinks)
    published = _published(exercise)
    reasons = Reasons(exercise, exact)
    arch = exercise.architecture

    def row(name: str, index: tuple, label: str, parameter: str | None) -> Row:
        if hand_error is None and name not in hand_values and name in hand_optional:
            hand_value, problems = None, []
        else:
            hand_value, problems = _hand_entry(hand_values, hand_error, exact.values[name], name, index)
        r = Row(quantity=name, label=label, exact=as_fraction(exact.values[name][index]),
                expected={run: as_fraction(expected[run][name][index]) for run in (HAND, AUTOGRAD)},
                hand=hand_value, autograd=float(auto.values[name][index]),
                published=published.get((name, index)), problems=problems)
        if (other_side is not None and r.hand is not None
                and not tolerance.close(r.hand, r.expected[HAND])
                and tolerance.close(r.hand, other := as_fraction(other_side[name][index]))):
            r.expected[HAND] = other  # the hand run's side of the kink was the other one
        if parameter is not None:
            r.kink = is_affected(affected, parameter, index)
            r.reason = reasons.for_entry(parameter, index)
        _judge(r, tolerance)
        return r

    gradients = []
    for parameter in arch.parameter_shapes():
        name = f"dL/d{parameter}"
        for index in np.ndindex(exact.values[name].shape):
            gradients.append(row(name, index, quantities.entry_label(parameter, index), parameter))
    intermediates = []
    for name in quantities.all_names(arch.n_layers, list(arch.activations)):
        if name.startswith(("dL/dW", "dL/db")):
            continue
        for index in np.ndindex(exact.values[name].shape):
            intermediates.append(row(name, index, quantities.entry_label(name, index), None))
    claims = check_claims(exercise, {p: exact.gradient(p) for p in arch.parameter_shapes()})
    return Comparison(exercise, dtype, tolerance, gradients, intermediates, kinks,
                      _kink_notes(exercise, kinks, dtype, tolerance.atol, side_unknown), hand_error, claims)


def _reported_pre_activations(hand_values: dict, zs: list) -> list:
    """``zs`` with each ``z{k}`` the hand values report (shape (n,) or (B, n), finite)
    put in its place, so the side of a ReLU kink the hand run took is its own."""
    zs = list(zs)
    for k, z in enumerate(zs, start=1):
        try:
            reported = np.asarray(hand_values.get(f"z{k}"), dtype=np.float64).reshape(z.shape)
        except (TypeError, ValueError):
            continue
        if np.all(np.isfinite(reported)):
            zs[k - 1] = reported.astype(z.dtype)
    return zs


def _hand_entry(hand_values, hand_error, exact_value, name, index) -> tuple[float | None, list[str]]:
    if hand_error is not None:
        return None, [f"hand backward failed ({hand_error})"]
    if name not in hand_values:
        return None, [f"hand: no value for {name}"]
    value = np.asarray(hand_values[name])
    if value.shape != exact_value.shape:
        return None, [f"hand: {name} has shape {value.shape}, expected {exact_value.shape}"]
    return float(value[index]), []


def _judge(r: Row, tolerance: Tolerance) -> None:
    """Fill ``r.problems`` and ``r.notes``."""
    if r.hand is not None:
        if not tolerance.close(r.hand, r.expected[HAND]):
            r.problems.append("hand ≠ exact")
        elif r.same_side and not tolerance.close(r.hand, r.autograd):
            r.problems.append("hand ≠ autograd")
    if not tolerance.close(r.autograd, r.expected[AUTOGRAD]):
        r.problems.append("autograd ≠ exact")
    for run in (HAND, AUTOGRAD):
        if r.expected[run] != r.exact:
            r.notes.append(f"{run} took the other side of the kink: exact there {r.expected[run]}")
    if r.published is not None and not written_value_agrees(r.published, r.exact):
        r.problems.append(f"{PRINTED} {r.published} ≠ exact")


def summarize(comparison: Comparison) -> dict:
    """Counts for the summary: agreement, max |hand - autograd|, nonzero gradients per
    parameter (exact), printed values checked, kinks."""
    rows = comparison.gradients
    diffs = [r.abs_diff for r in rows if r.abs_diff is not None and r.same_side]
    by_parameter = {}
    for parameter, group in itertools.groupby(rows, key=lambda r: r.label.split("[")[0]):
        group = list(group)
        by_parameter[parameter] = {"nonzero": sum(r.exact != 0 for r in group), "total": len(group)}
    checked = [r for r in rows + comparison.intermediates if r.published is not None]
    nonzero = sum(v["nonzero"] for v in by_parameter.values())
    return {
        "ground_truth": GROUND_TRUTH_NAMES[comparison.exercise.architecture.ground_truth],
        "dtype": comparison.dtype,
        "rtol": comparison.tolerance.rtol,
        "atol": comparison.tolerance.atol,
        "gradients": len(rows),
        "gradients_agree": sum(r.agree for r in rows),
        "gradients_computed_agree": sum(r.computed_agree for r in rows),
        "intermediates": len(comparison.intermediates),
        "intermediates_agree": sum(r.agree for r in comparison.intermediates),
        "intermediates_computed_agree": sum(r.computed_agree for r in comparison.intermediates),
        "max_abs_diff": max(diffs) if diffs else None,
        "rows_on_different_sides_of_a_kink": sum(not r.same_side for r in rows),
        "nonzero_gradients": nonzero,
        "nonzero_by_parameter": by_parameter,
        "printed_checked": len(checked),
        "printed_agree": sum(r.published is not None and written_value_agrees(r.published, r.exact)
                             for r in checked),
        "kink_rows": sum(r.kink for r in rows),
        "kinks": comparison.kink_notes,
        "claims": [{"claim": c.claim, "stated": c.stated, "exact": c.exact, "holds": c.holds,
                    "erratum": c.erratum, "agree": c.ok, "message": c.message} for c in comparison.claims],
        "finite_differences": comparison.finite_differences,
        "jvp": None if comparison.jvp is None else {
            "directions": len(comparison.jvp), "agree": sum(j.agree for j in comparison.jvp),
            "seed": comparison.jvp_seed},
        "hand_error": comparison.hand_error,
        "ok": comparison.ok,
    }
