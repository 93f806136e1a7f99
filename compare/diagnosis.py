"""Checking hand answers and diagnosing where a mistake entered.

Each hand answer (the exercise's ``[answers]``) is compared with the exact value at the
precision it is written with (d decimals: within 1/2 * 10**-d; an integer must be exact).
For each wrong entry the diagnosis recomputes that step of the text from the answer's
OWN upstream values (the student's y_hat for L and dL/dy_hat, their h and dL/dy_hat for
dL/dW2, their dL/dh and relu_mask for dL/dz1, ...; where an upstream value is not written,
the one that follows from their written values):

- ``follows``: the step is done right on a wrong upstream value; the report names the
  earlier error(s) it carries, so the instructor sees the one real slip, not a cascade.
- ``convention``: the value is right for a common wrong convention (loss gradient
  without the 1/n or 2/n factor, ReLU'(0) taken as 1, W2 used untransposed, outer product
  in the wrong order, bias treated as a constant, sign flipped, transposed matrix),
  made at this step or, when the step itself is not written, in an earlier one.
- ``slip``: none of these: the mistake entered at this step.

All arithmetic is exact (``Fraction``), with the text's ReLU'(0) = 0. Same steps as
``reference.backprop.Backprop``, so broken ``Backprop`` variants model the conventions.
"""
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np

from compare.formatting import array_text, exact_text
from tabulate import tabulate
from compare.selftest import (BiasGradientNotSummed, BiasGradientZero, LossGradientMissingFactor,
                              LossGradientWithoutBatchMean, MaskDropped, OuterProductWrongOrder,
                              WeightsReshapedNotTransposed)
from compare.tolerance import written_value_agrees
from reference import activations, losses, quantities
from reference.backprop import Backprop
from reference.exercise import Exercise
from reference.network import Network
from reference.numbers import as_fraction, convert

AGREE, SLIP, FOLLOWS, CONVENTION = "agree", "slip", "follows", "convention"


class ReluPrimeOneAtZero(Backprop):
    """Step 5 takes ReLU'(0) = 1: the mask is (z >= 0)."""
    def activation_derivative(self, activation, z, a, layer, negative_slope=0):
        if activation != "relu":
            return super().activation_derivative(activation, z, a, layer, negative_slope)
        return np.where(z >= 0, 1, 0).astype(z.dtype)


class LossGradientWithoutOneOverN(Backprop):
    """Step 1 without the 1/n factor: dL/dy_hat = 2 (y_hat - y) (still / B for a batch mean)."""
    def loss_gradient(self, y_hat, y, loss, reduction):
        if loss != "mse":
            return super().loss_gradient(y_hat, y, loss, reduction)
        return 2 * (y_hat - y) / (len(y) if reduction == "mean" else 1)


@dataclass(frozen=True)
class Convention:
    """A common wrong convention: its wording, the step kinds it changes and the broken
    backward pass that models it (None for forward conventions, computed directly)."""
    label: str
    kinds: tuple[str, ...]
    backprop: Backprop | None = None
    batch_only: bool = False
    narrower: str | None = None  # a convention to name instead when both explain the value


RELU_PRIME_ONE = "ReLU'(0) taken as 1, where the text and PyTorch take 0"
CONVENTIONS = [
    Convention("loss gradient without the 1/n factor: 2(y_hat - y)", ("dy",), LossGradientWithoutOneOverN()),
    Convention("loss gradient without the 2/n factor: (y_hat - y)", ("dy",), LossGradientMissingFactor()),
    Convention("loss gradient without the 1/B mean over the batch", ("dy",), LossGradientWithoutBatchMean(),
               batch_only=True),
    Convention(RELU_PRIME_ONE, ("deriv", "dz"), ReluPrimeOneAtZero()),
    Convention("ReLU gate skipped: derivative taken as 1 everywhere", ("deriv", "dz"), MaskDropped(),
               narrower=RELU_PRIME_ONE),
    Convention("weights used untransposed: W reshaped to (out, in) instead of W.T", ("da",),
               WeightsReshapedNotTransposed()),
    Convention("outer product in the wrong order (upstream x input, reshaped to W's shape)", ("dW",),
               OuterProductWrongOrder()),
    Convention("bias treated as a constant: gradient 0", ("db",), BiasGradientZero()),
    Convention("bias gradient of the first example only, not summed over the batch", ("db",),
               BiasGradientNotSummed(), batch_only=True),
    Convention("ReLU not applied: activation taken equal to the pre-activation", ("a",)),
    Convention("bias left out of the weighted sum", ("z", "a")),
    Convention("sum of squares instead of the mean over the outputs", ("L",)),
    Convention("half the sum of squares (the 1/2 sum convention)", ("L",)),
]


class Steps:
    """The text's steps as functions of named values, in batch form: intermediates
    (B, n), gradients the parameters' (in, out) shapes, L a 0-d array; exact Fractions."""

    def __init__(self, exercise: Exercise):
        self.arch = exercise.architecture
        self.n = n = self.arch.n_layers
        self.batch_size = exercise.batch_size
        self.number_type = self.arch.ground_truth
        net = Network.from_exercise(exercise, self.number_type)
        self.W, self.b, self.slope = net.weights, net.biases, net.negative_slope
        self.x, self.y = convert(exercise.x, self.number_type), convert(exercise.y, self.number_type)
        acts = list(self.arch.activations)
        self.order = quantities.all_names(n, acts)
        self.role: dict[str, tuple[str, int]] = {"y_hat": ("a", n), "L": ("L", n), "dL/dy_hat": ("dy", n)}
        for k in range(1, n + 1):
            self.role[f"dL/dW{k}"] = ("dW", k)
            self.role[f"dL/db{k}"] = ("db", k)
            if k < n or acts[-1] != "identity":
                self.role[f"z{k}"] = ("z", k)
                self.role[quantities.derivative_name(k, n, acts[k - 1])] = ("deriv", k)
                self.role[f"dL/dz{k}"] = ("dz", k)
            if k < n:
                self.role[quantities.hidden_name(k, n)] = ("a", k)
                self.role[f"dL/d{quantities.hidden_name(k, n)}"] = ("da", k)

    def activation_name(self, k: int) -> str | None:
        """The name of layer k's activation (None for the input x)."""
        return None if k == 0 else "y_hat" if k == self.n else quantities.hidden_name(k, self.n)

    def _activation(self, v: dict, k: int) -> np.ndarray:
        return self.x if k == 0 else v[self.activation_name(k)]

    def _linear_output(self) -> bool:
        return self.arch.activations[-1] == "identity"

    def dz_name(self, k: int) -> str:
        return "dL/dy_hat" if k == self.n and self._linear_output() else f"dL/dz{k}"

    def _upstream_name(self, k: int) -> str:
        return "dL/dy_hat" if k == self.n else f"dL/d{quantities.hidden_name(k, self.n)}"

    def _derivative_name(self, k: int) -> str:
        return quantities.derivative_name(k, self.n, self.arch.activations[k - 1])

    def deps(self, name: str) -> list[str]:
        """The named quantities a step reads (the input x and parameters are fixed)."""
        kind, k = self.role[name]
        if kind == "z" or (kind == "a" and k == self.n and self._linear_output()):
            return [self.activation_name(k - 1)] if k > 1 else []
        if kind == "a":
            return [f"z{k}"]
        if kind in ("L", "dy"):
            return ["y_hat"]
        if kind == "deriv":
            return [f"z{k}", self.activation_name(k)]
        if kind == "dz":
            return [self._upstream_name(k), self._derivative_name(k)]
        if kind == "dW":
            return ([self.activation_name(k - 1)] if k > 1 else []) + [self.dz_name(k)]
        if kind == "db":
            return [self.dz_name(k)]
        return [self.dz_name(k + 1)]  # "da": back through W_{k+1}

    def compute(self, name: str, v: dict, bp: Backprop, forward_variant: str | None = None) -> np.ndarray:
        """Quantity ``name`` from the values ``v`` by step method of ``bp`` (the text's
        step), or by the forward convention ``forward_variant``."""
        kind, k = self.role[name]
        arch = self.arch
        if kind == "z" or (kind == "a" and k == self.n and self._linear_output()):
            weighted = self._activation(v, k - 1) @ self.W[k - 1]
            return weighted if forward_variant == "bias left out of the weighted sum" else weighted + self.b[k - 1]
        if kind == "a":
            if forward_variant and forward_variant.startswith("ReLU not applied"):
                return v[f"z{k}"]
            return activations.forward(arch.activations[k - 1], v[f"z{k}"], self.slope)
        if kind == "L":
            value = losses.loss(arch.loss, v["y_hat"], self.y, arch.reduction)
            if arch.loss == "mse" and forward_variant and forward_variant.startswith("sum of squares"):
                value = value * self.y.shape[1]
            elif arch.loss == "mse" and forward_variant and forward_variant.startswith("half the sum"):
                value = value * self.y.shape[1] / 2
            out = np.empty((), dtype=object)
            out[()] = value
            return out
        if kind == "dy":
            return bp.loss_gradient(v["y_hat"], self.y, arch.loss, arch.reduction)
        if kind == "deriv":
            return bp.activation_derivative(arch.activations[k - 1], v[f"z{k}"], self._activation(v, k), k,
                                            self.slope)
        if kind == "dz":
            return bp.through_activation(v[self._upstream_name(k)], v[self._derivative_name(k)])
        if kind == "dW":
            return bp.weight_gradient(self._activation(v, k - 1), v[self.dz_name(k)])
        if kind == "db":
            return bp.bias_gradient(v[self.dz_name(k)])
        return bp.to_previous_layer(self.W[k], v[self.dz_name(k + 1)])

    def run(self, bp: Backprop) -> dict[str, np.ndarray]:
        """Every quantity, in order, by ``bp``: the exact pass for ``Backprop()``."""
        v: dict[str, np.ndarray] = {}
        for name in self.order:
            v[name] = self.compute(name, v, bp)
        return v

    def batch_index(self, name: str, index: tuple[int, ...]) -> tuple[int, ...]:
        """A hand answer's index (per example, as the text prints it) in batch form."""
        if self.batch_size == 1 and self.role[name][0] not in ("dW", "db", "L"):
            return (0,) + index
        return index


@dataclass
class AnswerCheck:
    """One entry of a hand answer: as written, the exact value and the diagnosis.

    ``kind`` is ``agree``, ``slip`` (the mistake entered here), ``follows`` (carries the
    errors in ``follows_from`` correctly) or ``convention`` (right for ``convention``)."""
    key: str
    written_as: str
    quantity: str
    index: tuple[int, ...]
    given: Decimal
    expected: Fraction
    kind: str = AGREE
    diagnosis: str = ""
    follows_from: list[str] = field(default_factory=list)
    convention: str | None = None
    own_value: Fraction | None = None
    entry_index: tuple[int, ...] = ()

    @property
    def agree(self) -> bool:
        return self.kind == AGREE

    @property
    def verdict(self) -> str:
        return "agree" if self.agree else "WRONG"

    def as_json(self) -> dict:
        return {"key": self.key, "written_as": self.written_as, "quantity": self.quantity,
                "index": list(self.index), "given": str(self.given), "expected": float(self.expected),
                "expected_fraction": str(self.expected), "agree": self.agree, "verdict": self.verdict,
                "kind": self.kind, "diagnosis": self.diagnosis, "follows_from": self.follows_from,
                "convention": self.convention,
                "own_value": None if self.own_value is None else str(self.own_value)}


def _value_text(value: Fraction) -> str:
    text = exact_text(value)
    return text if len(text) <= 12 else f"{text} ({float(value):.6g})"


def _given_entries(exercise: Exercise) -> list[tuple[str, str, tuple, Decimal]]:
    """``(written key, quantity, per-example index, value)`` for every written entry."""
    entries = []
    for answer in exercise.answers:
        if answer.index:
            entries.append((answer.key, answer.name, answer.index, answer.value[()]))
        else:
            for index in np.ndindex(answer.value.shape):
                entries.append((answer.key, answer.name, index, answer.value[index]))
    return entries


def _join(keys: list[str]) -> str:
    return keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]


class _Diagnoser:
    def __init__(self, exercise: Exercise):
        from compare.answer_key import step_groups  # the text's step titles
        self.steps = Steps(exercise)
        self.exact = self.steps.run(Backprop())
        self.batch = exercise.batch_size > 1
        self.conventions = [c for c in CONVENTIONS if self.batch or not c.batch_only]
        self.whole_passes = {c.label: self.steps.run(c.backprop) for c in self.conventions if c.backprop}
        arch = exercise.architecture
        self.step_of = {name: title for title, names in step_groups(arch.n_layers, list(arch.activations))
                        for name in names}

    def label(self, name: str, bindex: tuple) -> str:
        index = bindex[1:] if (not self.batch and self.steps.role[name][0] not in ("dW", "db", "L")) else bindex
        return quantities.entry_label(name, index)

    def check(self, exercise: Exercise) -> list[AnswerCheck]:
        given, given_index = {}, {}
        for key, name, index, value in _given_entries(exercise):
            bindex = self.steps.batch_index(name, index)
            given[(name, bindex)] = (key, value)
            given_index[(name, bindex)] = index
        own: dict[str, np.ndarray] = {}
        roots: dict[tuple[str, tuple], list[str]] = {}  # every entry that differs from exact
        checks = []
        for name in self.steps.order:
            recomputed = self.steps.compute(name, own, Backprop())
            own[name] = recomputed.copy()
            for bindex in np.ndindex(recomputed.shape):
                exact = as_fraction(self.exact[name][bindex])
                if (name, bindex) not in given:
                    if as_fraction(recomputed[bindex]) != exact:
                        roots[(name, bindex)] = self._carried(name, bindex, own, roots)
                    continue
                key, value = given[(name, bindex)]
                check = AnswerCheck(self.label(name, bindex), key, name, bindex, value, exact,
                                    entry_index=given_index[(name, bindex)])
                checks.append(check)
                if written_value_agrees(value, exact):
                    own[name][bindex] = self.exact[name][bindex]
                    continue
                own[name][bindex] = convert(np.array([value], dtype=object), self.steps.number_type)[0]
                self._diagnose(check, name, bindex, as_fraction(recomputed[bindex]), own, roots)
        return checks

    def _carried(self, name, bindex, own, roots) -> list[str]:
        """The root errors an entry of ``own`` carries: deps entries that differ from
        exact and change this entry when set right."""
        base = self.steps.compute(name, own, Backprop())[bindex]
        found = []
        for dep in self.steps.deps(name):
            for dindex in np.ndindex(own[dep].shape):
                if (dep, dindex) not in roots:
                    continue
                trial = dict(own)
                trial[dep] = own[dep].copy()
                trial[dep][dindex] = self.exact[dep][dindex]
                if as_fraction(self.steps.compute(name, trial, Backprop())[bindex]) != as_fraction(base):
                    found += [r for r in roots[(dep, dindex)] if r not in found]
        return found

    def _diagnose(self, check: AnswerCheck, name, bindex, recomputed: Fraction, own, roots) -> None:
        check.own_value = recomputed
        if recomputed != check.expected and written_value_agrees(check.given, recomputed):
            check.kind = FOLLOWS
            check.follows_from = self._carried(name, bindex, own, roots)
            errors = "error" if len(check.follows_from) == 1 else "errors"
            check.diagnosis = (f"follows from the earlier {errors} in {_join(check.follows_from)}: "
                               f"this step is right on your own values ({_value_text(recomputed)})")
            roots[(name, bindex)] = check.follows_from
            return
        roots[(name, bindex)] = [check.key]
        convention = self._convention(check, name, bindex, recomputed, own)
        if convention:
            check.kind, check.convention = CONVENTION, convention
            check.diagnosis = f"convention: {convention}"
            return
        check.kind = SLIP
        carried = self._carried(name, bindex, own, roots) if recomputed != check.expected else []
        from_own = (f"; from your own upstream values (carrying {_join(carried)}) it is {_value_text(recomputed)}"
                    if carried else "")
        check.diagnosis = f"slip: the mistake entered here, at {self.step_of.get(name, name)}{from_own}"

    def _convention(self, check: AnswerCheck, name, bindex, recomputed: Fraction, own) -> str | None:
        kind = self.steps.role[name][0]
        given = check.given
        # Every convention that explains the value is named: with n = B = 4 outputs and
        # examples, dropping the 1/n and dropping the 1/B factor give the same number.
        local = [c.label for c in self.conventions if kind in c.kinds
                 and (value := as_fraction(self._local_variant(c, name, own)[bindex])) != recomputed
                 and written_value_agrees(given, value)]
        if local:
            return " or ".join(_without_wider(local))
        earlier = [label for label, values in self.whole_passes.items()
                   if (value := as_fraction(values[name][bindex])) != check.expected
                   and written_value_agrees(given, value)]
        if earlier:
            return " or ".join(_without_wider(earlier)) + " (made in an earlier step that is not written out)"
        if recomputed != 0 and written_value_agrees(given, -recomputed):
            return "sign flipped"
        if kind in ("dW",) and len(bindex) == 2:
            i, j = bindex
            shape = own[name].shape
            if i != j and j < shape[0] and i < shape[1]:
                swapped = as_fraction(self.steps.compute(name, own, Backprop())[j, i])
                if swapped != recomputed and written_value_agrees(given, swapped):
                    return f"transposed matrix: this is the value of {quantities.entry_label(name, (j, i))}"
        return None

    def _local_variant(self, convention: Convention, name: str, own: dict) -> np.ndarray:
        kind, k = self.steps.role[name]
        if convention.backprop is None:
            return self.steps.compute(name, own, Backprop(), forward_variant=convention.label)
        if kind == "dz":  # the convention changes the derivative this step multiplies by
            trial = dict(own)
            derivative = self.steps.deps(name)[1]
            trial[derivative] = self.steps.compute(derivative, own, convention.backprop)
            return self.steps.compute(name, trial, convention.backprop)
        return self.steps.compute(name, own, convention.backprop)


def _without_wider(labels: list[str]) -> list[str]:
    """Drop a convention whose narrower one also explains the value (ReLU'(0) = 1 over a
    skipped ReLU gate, at a neuron on the kink)."""
    narrower = {c.label: c.narrower for c in CONVENTIONS}
    return [label for label in labels if narrower.get(label) not in labels]


def check_answers(exercise: Exercise) -> list[AnswerCheck]:
    """Check and diagnose every written entry of ``exercise.answers``, in the order of
    the text's steps. Empty when the exercise has no answers."""
    if not exercise.answers:
        return []
    return _Diagnoser(exercise).check(exercise)


def summary_line(checks: list[AnswerCheck]) -> str:
    """``Hand answers: 47 of 55 entries agree; mistakes: ...; 6 follow from them.``"""
    wrong = [c for c in checks if not c.agree]
    line = f"Hand answers: {len(checks) - len(wrong)} of {len(checks)} entries agree"
    if not wrong:
        return line + "."
    slips = [c.key for c in wrong if c.kind == SLIP]
    conventions = [f"{c.key} ({c.convention})" for c in wrong if c.kind == CONVENTION]
    follows = sum(c.kind == FOLLOWS for c in wrong)
    parts = []
    if slips:
        parts.append(f"{len(slips)} slip{'s' if len(slips) > 1 else ''}: {', '.join(slips)}")
    if conventions:
        parts.append(f"{len(conventions)} convention mistake{'s' if len(conventions) > 1 else ''}: "
                     + ", ".join(conventions))
    if follows:
        parts.append(f"{follows} more follow{'s' if follows == 1 else ''} from "
                     f"{'it' if len(slips) + len(conventions) == 1 else 'them'}")
    return line + "; " + "; ".join(parts) + "."


ANSWER_HEADERS = ["key", "given", "expected", "verdict", "diagnosis"]


def answers_table(checks: list[AnswerCheck], fmt: str = "github") -> str:
    """The "Hand answers" table: one row per written key whose entries all agree (the
    whole array as written), one row per entry of a key with a wrong entry."""
    by_key: dict[str, list[AnswerCheck]] = {}
    for c in checks:
        by_key.setdefault(c.written_as, []).append(c)
    rows = []
    for key, group in by_key.items():
        if all(c.agree for c in group) and len(group) > 1:
            shape = tuple(max(c.entry_index[d] for c in group) + 1 for d in range(len(group[0].entry_index)))
            given, expected = np.empty(shape, dtype=object), np.empty(shape, dtype=object)
            for c in group:
                given[c.entry_index], expected[c.entry_index] = c.given, c.expected
            rows.append([key, array_text(given), array_text(expected, exact_text), "agree", ""])
            continue
        for c in group:
            rows.append([c.key, str(c.given), exact_text(c.expected), c.verdict, c.diagnosis])
    return tabulate(rows, headers=ANSWER_HEADERS, tablefmt=fmt, disable_numparse=True)
