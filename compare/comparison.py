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
import math

import numpy as np

from compare.claims import check_claims
from compare.diagnosis import CARRIED_RULE, check_answers, differing_gradients, text_backward
from compare.kinks import Kink, SideMatched, affected_parameters, find_kinks, is_affected, sides_taken
from compare.reasons import Reasons
from compare.tolerance import Tolerance, written_value_agrees
from reference.backprop import Backprop, Pass, run_pass
from reference.exercise import Exercise
from reference.numbers import GROUND_TRUTH_NAMES, as_fraction
from torch_impl import run_autograd

HAND, AUTOGRAD = "hand", "autograd"
PRINTED = "printed"  # the problem a wrong printed (hand-written) value raises


@dataclass
class Row:
    """One scalar entry: a parameter's gradient (``W1[0][2]``) or an intermediate
    (``z1[0]``, ``L``). ``label`` names it as the text does (its layout), ``index`` is
    the entry in the computed array (the (in, out) layout). ``exact`` follows ReLU'(0) =
    0; ``expected`` holds, per float run, the exact value for the side of any kink that
    run took. ``hand`` is None when the hand pass did not produce this entry."""
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
    not_returned: bool = False  # an optional intermediate the hand run (a student's code) did not give
    index: tuple[int, ...] = ()  # the entry of the computed array (Architecture.layout_index maps it to the text's)

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
    answers: list = field(default_factory=list)  # compare.diagnosis.AnswerCheck of the printed values
    hand_sides: dict = field(default_factory=dict)  # kink neuron -> alive, where the hand run took the other side
    text_backward: object = None  # compare.catalogue.Mistake: the rule the text differentiates by ([errata] backward)
    text_differs: int = 0  # gradient entries where that rule and the stated loss differ
    underflows: int = 0  # values of the 50-digit ground truth that underflowed to 0 (Pass.underflows)

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
    """The printed value of each entry, as ``[answers]`` writes it (a sub-table's second
    printing of the same entry is judged too, shown in the hand answers' table)."""
    table = {}
    for answer in sorted(exercise.answers, key=lambda a: a.group != ""):
        if answer.index:
            table.setdefault((answer.name, answer.index), answer.value[()])
        else:
            for index in np.ndindex(answer.value.shape):
                table.setdefault((answer.name, index), answer.value[index])
    return table


def _run_hand(exercise: Exercise, dtype: str, backprop: Backprop) -> tuple[Pass | None, str | None]:
    try:
        return run_pass(exercise, dtype, backprop), None
    except Exception as error:  # a broken backward pass is a verdict, not a crash
        return None, f"{type(error).__name__}: {error}"


MAX_SIDE_SEARCH = 10  # kink neurons whose sides are searched jointly (2**10 exact passes at most)


class Truth:
    """What a comparison needs that does not depend on the hand values: the exact pass
    (ground truth, ReLU'(0) = 0), autograd in ``dtype``, the kinks (from the exact
    pre-activations) and the exact passes for other sides of them, the reasons, the
    printed values and their diagnosis. Built once per exercise; ``compare_values``
    then judges any number of hand runs (students' code) against it."""

    def __init__(self, exercise: Exercise, dtype: str = "float64", tolerance: Tolerance | None = None,
                 autograd: bool = True, printed: list[str] | None = None):
        self.exercise, self.dtype = exercise, dtype
        # the quantities texts print beside the steps get rows where they are given: by
        # the file's answers, or every one of them for students' code (``printed``)
        used = {a.name for a in exercise.answers}
        self.printed = [n for n in exercise.architecture.printed_names() if n in used] if printed is None else printed
        self.tolerance = tolerance or Tolerance.for_dtype(dtype)
        self.ground_truth = exercise.architecture.ground_truth
        self.exact = run_pass(exercise, self.ground_truth)
        self._sided: dict[tuple, dict] = {(): self.exact.values}
        if not autograd:  # enough to judge values (probes), not to build a comparison's rows
            self.autograd = None
            self.kinks = find_kinks(exercise, self.exact.pre_activations, {}, dtype)
            return
        self.autograd = run_autograd(exercise, dtype)
        self.kinks = find_kinks(exercise, self.exact.pre_activations,
                                {AUTOGRAD: [np.asarray(z) for z in self.autograd.pre_activations]}, dtype)
        self.autograd_expected = self.sided(sides_taken(self.kinks, AUTOGRAD))
        self.reasons = Reasons(exercise, self.exact)
        self.published = _published(exercise)
        self.text_backward = text_backward(exercise)
        self.answers = check_answers(exercise, self.text_backward)
        self.text_differs = 0  # gradient entries where the text's rule and the stated loss differ
        if self.text_backward is not None:
            own = run_pass(exercise, self.ground_truth, self.text_backward, printed=False).values
            self.text_differs = differing_gradients(exercise, own, self.exact.values)
        self.answer_by_entry: dict[tuple, list] = {}  # an entry printed twice has two checks
        for c in self.answers:
            self.answer_by_entry.setdefault((c.quantity, c.entry_index), []).append(c)
        self.affected = affected_parameters(self.kinks)
        self.claims = check_claims(exercise, {p: self.exact.gradient(p) for p in exercise.architecture.parameter_shapes()})

    def sided(self, sides: dict[tuple[int, int, int], bool]) -> dict:
        """The exact values with the kink neurons in ``sides`` taken on the given side."""
        key = tuple(sorted(sides.items()))
        if key not in self._sided:
            self._sided[key] = run_pass(self.exercise, self.ground_truth, SideMatched(sides)).values
        return self._sided[key]

    def entries(self):
        """``(quantity, index, label, parameter or None)`` of every row: the gradients
        parameter by parameter, then the intermediates in the text's order; each array's
        entries in the order and with the labels of the text's layout."""
        arch = self.exercise.architecture
        for parameter in arch.parameter_shapes():
            name = f"dL/d{parameter}"
            for index in arch.text_order(parameter, self.exact.values[name].shape):
                yield name, index, arch.label(parameter, index), parameter
        for name in arch.quantity_names() + self.printed:
            if name.startswith(("dL/dW", "dL/db")):
                continue
            for index in arch.text_order(name, self.exact.values[name].shape):  # delta_W in the text's layout
                yield name, index, arch.label(name, index), None


def _kink_notes(truth: Truth, hand_sides: dict | None, hand_z: dict | None, mixed: dict) -> list[str]:
    """One line per kink: where it is, the exact z, and the side each run took."""
    exercise, dtype = truth.exercise, truth.dtype
    n, batch = exercise.architecture.n_layers, exercise.batch_size
    notes = []
    for kink in truth.kinks:
        where = kink.neuron.z_label(batch)
        activation = exercise.architecture.activations[kink.neuron.layer - 1]
        if activation == "relu":
            at_zero, sides, name = "dead (on the boundary)", ("dead, ReLU′ = 0", "alive, ReLU′ = 1"), "ReLU"
        else:
            slope = f"{exercise.architecture.negative_slope:f}"
            at_zero, name = "on the kink", "leaky ReLU"
            sides = (f"left side, leaky ReLU′ = {slope}", "right side, leaky ReLU′ = 1")
        exact = (f"exactly 0: {at_zero}" if kink.exact_z == 0
                 else f"{float(kink.exact_z):.3g} exactly, within {dtype} rounding (±{kink.bound:.1g}) of 0")
        key = (kink.neuron.layer, kink.neuron.example, kink.neuron.index)
        runs = [f"{AUTOGRAD} {dtype} {kink.float_z[AUTOGRAD]:.2g} ({sides[kink.float_z[AUTOGRAD] > 0]})"]
        if key in mixed:
            runs.append(f"{HAND}: BOTH sides, {mixed[key]}: one neuron has one ReLU′(0), so no single "
                        "subgradient gives these values")
        elif hand_sides is not None:
            side = hand_sides.get(key, kink.exact_z > 0)
            runs.append(f"{HAND}: {sides[side]}, read from the returned gradients (either side is a valid subgradient)")
        elif hand_z is not None:
            runs.append(f"{HAND} {dtype} {hand_z[key]:.2g} ({sides[hand_z[key] > 0]})")
        notes.append(f"{kink.neuron.label(n, batch)} is at the {name} kink: {where} = {exact}; {', '.join(runs)}")
    return notes


def compare_exercise(exercise: Exercise, dtype: str = "float64", tolerance: Tolerance | None = None,
                     backprop: Backprop | None = None, hand_values: dict | None = None,
                     hand_error: str | None = None, hand_optional: frozenset = frozenset(),
                     truth: Truth | None = None) -> Comparison:
    """Run the exact pass, the hand pass in ``dtype`` (by ``backprop``, or take
    ``hand_values`` computed elsewhere), autograd in ``dtype``, and compare every entry.

    ``dtype`` is ``"float64"`` or ``"float32"``; ``tolerance`` defaults to
    ``Tolerance.for_dtype(dtype)``. A hand pass that raises is reported in
    ``hand_error`` and fails every row; it never propagates. A ``hand_error`` passed in
    (a student's code that failed elsewhere) does the same. Names in ``hand_optional``
    may be missing from ``hand_values``: their rows have no hand value, are counted as
    "not returned" and do not fail. ``truth`` (a ``Truth`` of the same exercise, dtype
    and tolerance) saves recomputing what does not depend on the hand values.

    At a kink (``compare.kinks``) the hand pass of ``backprop`` is judged on the side its
    own float z took; values from elsewhere on the one side per kink neuron that best
    explains them, and entries that need the other side of the same neuron fail (mixed
    sides).
    """
    truth = truth or Truth(exercise, dtype, tolerance)
    hand_pass = None
    external = hand_values is not None
    if not external and hand_error is None:
        hand_pass, hand_error = _run_hand(exercise, dtype, backprop or Backprop())
        hand_values = hand_pass.values if hand_pass else None
    hand_z, hand_sides, mixed = None, None, {}
    if hand_pass is not None:
        for kink in truth.kinks:
            kink.float_z[HAND] = float(hand_pass.pre_activations[kink.neuron.layer - 1][kink.neuron.example,
                                                                                        kink.neuron.index])
        hand_z = {(k.neuron.layer, k.neuron.example, k.neuron.index): k.float_z[HAND] for k in truth.kinks}
        taken = sides_taken(truth.kinks, HAND)
        expected_hand = truth.sided(taken)
        for kink in truth.kinks:
            del kink.float_z[HAND]  # the Truth is shared between runs
    elif external and hand_error is None and truth.kinks:
        hand_sides, mixed = choose_sides(truth, hand_values)
        taken = _overrides(truth, hand_sides)
        expected_hand = truth.sided(taken)
    else:
        taken, expected_hand = {}, truth.exact.values

    def row(name: str, index: tuple, label: str, parameter: str | None) -> Row:
        not_returned = hand_error is None and name not in hand_values and name in hand_optional
        if not_returned:
            hand_value, problems = None, []
        else:
            hand_value, problems = _hand_entry(hand_values, hand_error, truth.exact.values[name], name, index,
                                               truth.exercise.architecture)
        r = Row(quantity=name, label=label, index=index, exact=as_fraction(truth.exact.values[name][index]),
                expected={HAND: as_fraction(expected_hand[name][index]),
                          AUTOGRAD: as_fraction(truth.autograd_expected[name][index])},
                hand=hand_value, autograd=float(truth.autograd.values[name][index]),
                published=truth.published.get((name, index)), problems=problems, not_returned=not_returned)
        if parameter is not None:
            r.kink = is_affected(truth.affected, parameter, index)
            r.reason = truth.reasons.for_entry(parameter, index)
        _judge(r, truth.tolerance, truth.answer_by_entry.get((name, index)))
        for key, text in mixed.items():
            if r.hand is not None and r.problems and _needs_other_side(truth, hand_sides, key, name, index, r.hand):
                r.problems.append(f"mixed sides of the kink: {text}")
        return r

    # a printed quantity (the error, delta_W, ...) nobody gave or asked for gets no row
    answered = {a.name for a in exercise.answers}
    rows = [row(*entry) for entry in truth.entries()
            if entry[0] not in truth.printed or entry[0] in answered or (hand_values or {}).get(entry[0]) is not None]
    gradients = [r for r in rows if r.quantity.startswith(("dL/dW", "dL/db"))]
    intermediates = [r for r in rows if not r.quantity.startswith(("dL/dW", "dL/db"))]
    return Comparison(exercise, dtype, truth.tolerance, gradients, intermediates, truth.kinks,
                      _kink_notes(truth, hand_sides, hand_z, mixed), hand_error, truth.claims,
                      answers=truth.answers, hand_sides=taken, text_backward=truth.text_backward,
                      text_differs=truth.text_differs, underflows=truth.exact.underflows)


def disagreements(truth: Truth, values: dict[str, np.ndarray], required: list[str]) -> list[tuple[str, float, object]]:
    """``(label, given, exact)`` of every entry of ``values`` (known names, the shapes
    of hand answers) that disagrees with the exact value under ``truth.tolerance``, with
    one side per kink neuron chosen as ``compare_exercise`` does; a ``required`` name
    that is missing or has the wrong shape is one disagreement with given None. For
    judging many runs cheaply (probes and their shrinking): no rows, no autograd."""
    present = {}
    for name, array in float_arrays(values, truth.exact.values).items():
        expected_shape = np.shape(truth.exact.values[name])
        if _unit_axes_only(array.shape, expected_shape):
            array = array.reshape(expected_shape)  # (1, n) from batch-style code on one example
        present[name] = array
    found = [(name, None, None) for name in required
             if name not in present or present[name].shape != np.shape(truth.exact.values[name])]
    sides = {}
    if truth.kinks:
        sides = _overrides(truth, choose_sides(truth, present)[0])
    expected = truth.sided(sides)
    for name, array in present.items():
        if array.shape != np.shape(expected[name]):
            continue
        for index in truth.exercise.architecture.text_order(name, array.shape):
            if not (math.isfinite(array[index]) and truth.tolerance.close(array[index], expected[name][index])):
                found.append((truth.exercise.architecture.label(name, index), float(array[index]),
                              as_fraction(expected[name][index])))
    return found


def _unit_axes_only(shape: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    """``shape`` is ``expected`` with size-1 axes added or dropped ((1, 4) for (4,)); a
    transpose ((3, 4) for (4, 3), or (2, 1) for (1, 2)) is not."""
    def squeezed(s):
        return tuple(n for n in s if n != 1)
    return len(shape) != len(expected) and squeezed(shape) == squeezed(expected)


def _exact_z(truth: Truth, key: tuple[int, int, int]):
    layer, example, index = key
    return truth.exact.pre_activations[layer - 1][example, index]


def _overrides(truth: Truth, sides: dict) -> dict:
    """The kink neurons of ``sides`` that differ from the exact convention (alive iff z > 0)."""
    return {k: v for k, v in sides.items() if v != (_exact_z(truth, k) > 0)}


def shaped_as_expected(values: dict, expected: dict) -> dict:
    """``values`` with every array whose shape differs from ``expected``'s only by size-1
    axes reshaped to it (``(1, n)`` rows of batch-style code for ``(n,)``, ``[db1]`` for a
    shared bias): one rule for the exercise, the diagnosis, the catalogue and the probes.
    Anything else is left as it is, for the comparison to judge."""
    out = dict(values)
    for name, value in values.items():
        if name not in expected:
            continue
        try:
            array = np.asarray(value)
        except (TypeError, ValueError):
            continue
        if array.dtype != object and _unit_axes_only(array.shape, np.shape(expected[name])):
            out[name] = array.reshape(np.shape(expected[name]))
    return out


def float_arrays(values: dict, known) -> dict[str, np.ndarray]:
    """The entries of ``values`` whose name is in ``known``, as float64 arrays; values
    that are not arrays of real numbers are left out (the comparison names them)."""
    arrays = {}
    for name, value in values.items():
        if name not in known:
            continue
        try:
            arrays[name] = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            continue
    return arrays


def _agreeing_entries(truth: Truth, values: dict, sides: dict) -> set[str]:
    """Labels of the given entries that agree with the exact values for ``sides``."""
    expected = truth.sided(_overrides(truth, sides))
    arch = truth.exercise.architecture
    found = set()
    for name, value in float_arrays(values, expected).items():
        if value.shape != np.shape(expected[name]):
            continue
        for i in np.ndindex(value.shape):
            if np.isfinite(value[i]) and truth.tolerance.close(value[i], expected[name][i]):
                found.add(arch.label(name.removeprefix("dL/d") if name.startswith(("dL/dW", "dL/db")) else name, i))
    return found


def choose_sides(truth: Truth, values: dict) -> tuple[dict, dict]:
    """The side of each kink neuron that best explains ``values`` (ReLU'(0) is one number
    per neuron): searched jointly for up to ``MAX_SIDE_SEARCH`` neurons, one at a time
    beyond. Ties keep the text's side. Returns ``(sides, mixed)``: ``mixed`` names the
    neurons where some entries need one side and others the other."""
    keys = [(k.neuron.layer, k.neuron.example, k.neuron.index) for k in truth.kinks]
    default = {key: bool(_exact_z(truth, key) > 0) for key in keys}

    def score(sides: dict) -> int:
        return len(_agreeing_entries(truth, values, sides))

    best, best_score = dict(default), score(default)
    if len(keys) <= MAX_SIDE_SEARCH:
        for flips in itertools.product((False, True), repeat=len(keys)):
            sides = {key: default[key] != flip for key, flip in zip(keys, flips)}
            if (current := score(sides)) > best_score:
                best, best_score = sides, current
    else:
        for key in keys:
            trial = {**best, key: not best[key]}
            if (current := score(trial)) > best_score:
                best, best_score = trial, current
    arch = truth.exercise.architecture
    mixed = {}
    for key in keys:
        gained = (_agreeing_entries(truth, values, {**best, key: not best[key]})
                  - _agreeing_entries(truth, values, best))
        if gained:
            neuron = next(k.neuron for k in truth.kinks if (k.neuron.layer, k.neuron.example, k.neuron.index) == key)
            leaky = arch.activations[key[0] - 1] == "leaky_relu"
            name, left = ("leaky ReLU", f"{arch.negative_slope:f}") if leaky else ("ReLU", "0")
            taken, other = ("1", left) if best[key] else (left, "1")
            listed = ", ".join(sorted(gained)[:4]) + (" ..." if len(gained) > 4 else "")
            mixed[key] = (f"most entries take {name}′(0) = {taken} at {neuron.label(arch.n_layers, truth.exercise.batch_size)}, "
                          f"but {listed} {'takes' if len(gained) == 1 else 'take'} {other}")
    return best, mixed


def _needs_other_side(truth: Truth, sides: dict, key: tuple, name: str, index: tuple, value: float) -> bool:
    """Whether ``value`` is right for the other side of the kink neuron ``key`` only."""
    other = truth.sided(_overrides(truth, {**sides, key: not sides[key]}))
    return truth.tolerance.close(value, other[name][index])


NO_VALUE = "hand: no value for "  # the problem of an entry whose quantity a student's code did not return


def in_students_words(problem: str) -> str:
    """A row's problem as a student reads it: ``"dL/dW1 not returned"``, ``"dL/dW1 has
    shape (3,), expected (2, 3)"``, ``"your function failed (...)"``; the judge's own
    words (``hand ≠ exact``) as ``"wrong value"``."""
    if problem.startswith(NO_VALUE):
        return f"{problem[len(NO_VALUE):]} not returned"
    if problem.startswith("hand backward failed"):
        return "your function failed" + problem[len("hand backward failed"):]
    if problem.startswith("hand: "):
        return problem[len("hand: "):]
    return "wrong value" if problem.startswith(("hand ≠", "printed")) else problem


def _hand_entry(hand_values, hand_error, exact_value, name, index, arch) -> tuple[float | None, list[str]]:
    if hand_error is not None:
        return None, [f"hand backward failed ({hand_error})"]
    if name not in hand_values:
        return None, [f"{NO_VALUE}{name}"]
    value = np.asarray(hand_values[name])
    if _unit_axes_only(value.shape, exact_value.shape):  # the probes' rule too (``disagreements``)
        value = value.reshape(exact_value.shape)  # one example's loss as a number, a (1, n) row for (n,)
    if value.shape != exact_value.shape:  # both shown as the text writes them
        shared = (f" (layer {name.rsplit('b', 1)[1]} shares one bias: one number, its gradient the sum over the "
                  "layer's neurons)" if exact_value.ndim == 0 and name.startswith(("dL/db", "delta_b")) else "")
        return None, [f"hand: {name} has shape {arch.layout_shape(name, value.shape)}, "
                      f"expected {arch.layout_shape(name, exact_value.shape)}{shared}"]
    number = float(value[index])
    if not math.isfinite(number):
        return number, [f"hand: not a finite number ({number})"]
    return number, []


def _judge(r: Row, tolerance: Tolerance, answer=None) -> None:
    """Fill ``r.problems`` and ``r.notes``. ``answer`` is the diagnosis of the printed
    value (a list of ``compare.diagnosis.AnswerCheck``, two for an entry the text prints
    twice): their verdicts, carried rounding included, decide the printed column."""
    if r.hand is not None and not r.problems:
        if not tolerance.close(r.hand, r.expected[HAND]):
            r.problems.append("hand ≠ exact")
        elif r.same_side and not tolerance.close(r.hand, r.autograd):
            r.problems.append("hand ≠ autograd")
    if not tolerance.close(r.autograd, r.expected[AUTOGRAD]):
        r.problems.append("autograd ≠ exact")
    for run in (HAND, AUTOGRAD):
        if r.expected[run] != r.exact:
            r.notes.append(f"{run} took the other side of the kink: exact there {r.expected[run]}")
    if r.published is not None:
        checks = answer or []
        for c in checks or [None]:
            given = r.published if c is None else c.given
            if not (c.agree if c is not None else written_value_agrees(r.published, r.exact)):
                r.problems.append(f"{PRINTED} {given} ≠ exact" + (f" ({c.group})" if c is not None and c.group else ""))
            elif c is not None and c.rule == CARRIED_RULE:
                r.notes.append(f"printed {given}: {CARRIED_RULE}")


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
        "intermediates_agree": sum(r.agree and not r.not_returned for r in comparison.intermediates),
        "intermediates_computed_agree": sum(r.computed_agree and not r.not_returned for r in comparison.intermediates),
        "intermediates_not_returned": sum(r.not_returned for r in comparison.intermediates),
        "max_abs_diff": max(diffs) if diffs else None,
        "rows_on_different_sides_of_a_kink": sum(not r.same_side for r in rows),
        "nonzero_gradients": nonzero,
        "nonzero_by_parameter": by_parameter,
        "printed_checked": len(checked),
        "printed_agree": sum(not any(p.startswith(PRINTED) for p in r.problems) for r in checked),
        "printed_by_carried_rounding": sum(c.agree and c.rule == CARRIED_RULE for c in comparison.answers),
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
