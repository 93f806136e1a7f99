"""Checking given values step by step and diagnosing where a mistake entered.

A *given* value is a hand answer written in an exercise's ``[answers]`` (a decimal with
the precision it is written with) or a value a student's function returned (a float64,
judged at full precision). Each given entry is first compared with the exact value:

- a written answer by the exercise's rule (``compare.tolerance.allowance``: within 1/2 *
  10**-d for d written decimals, or the ``[grading]`` rtol / significant figures);
- a returned float by the float tolerance (``compare.tolerance.Tolerance``).

An entry that is not right against the exact value is recomputed by the same step of
the text from the OWN upstream values (the student's y_hat for L and dL/dy_hat, their h
and dL/dy_hat for dL/dW2, ...; an upstream value that is not given is the one that
follows from the given ones). A right written value enters as every number between it
and the exact value it rounds (the student carried on either the rounded number, as
written, or more digits), a wrong one as written, a returned float as itself; the
step is computed in interval arithmetic (``reference.intervals``), so it is judged on
the precision the student actually had. A given entry that a text may also compute from
printed quantities it wrote first (p from exps, ∂L/∂ŷ from e or p: ``Steps.routes``) is
recomputed by each route, and judged by any one that explains it:

- ``agree`` by *carried rounding*: right on the answer's own rounded upstream values,
  which carry no error (every step rounded to 4 decimals, all correct);
- ``follows``: the step is done right on a wrong upstream value; the report names the
  earlier error(s) it carries, so the instructor sees the one real mistake, not a cascade;
- ``convention``: the value is what a catalogued mistake (``compare.catalogue``) gives,
  made at this step or, when the step itself is not given, in an earlier one;
- ``slip``: none of these: the mistake entered at this step, or, when the values this
  step reads are not all given, at this step or an earlier one that is not given.

The exact values use the text's ReLU'(0) = 0. Non-finite given values are wrong entries
named as such; they never reach the arithmetic.
"""
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np
from compare.tables import tabulate  # tabulate, wrapping long text columns to the terminal

from compare.catalogue import (ConstantFactor, ForwardMistake, Mistake, catalogue, forward_mistakes, loss_factor,
                               wrong_probabilities)
from compare.formatting import array_text, exact_text
from compare.kinks import SideMatched
from compare.tolerance import Tolerance, allowance, rule_text, written_value_agrees
from reference import activations, intervals, losses, quantities
from reference.backprop import Backprop, learning_rate, stated_lr
from reference.exercise import Exercise, Grading
from reference.network import Network
from reference.numbers import EXACT, as_fraction, convert

AGREE, SLIP, FOLLOWS, CONVENTION, NOT_A_NUMBER = "agree", "slip", "follows", "convention", "not a number"
CARRIED_RULE = "carried rounding: right on your own rounded upstream values"
EXACTLY = Fraction(1, 10 ** 40)  # a written value this close to a 50-digit ground truth is that value


def _to_intervals(values: np.ndarray) -> np.ndarray:
    out = np.empty(values.shape, dtype=object)
    out.reshape(-1)[:] = [intervals.point(v) for v in values.reshape(-1)]
    return out


class Steps:
    """The text's steps as functions of named values, in batch form: intermediates
    (B, n), gradients the parameters' (in, out) shapes, L a 0-d array. ``number_type``
    is the ground truth's (``"exact"`` or ``"mp50"``) or ``"interval"``.

    ``role[name]`` is ``(kind, layer)``: ``z`` (pre-activation), ``a`` (activation;
    y_hat is layer K's), ``p`` (the probabilities a loss on logits sees, computed from
    y_hat), ``L``, ``dy`` (∂L/∂ŷ), ``deriv`` (the activation's derivative), ``dz``, ``dW``,
    ``db`` and ``da`` (∂L/∂h, back through the next layer's W). A layer without bias has
    no ``db`` and adds b = 0. The quantities texts print beside the steps come last:
    ``e`` (output − y), ``exps`` (exp(ŷ)), ``Lb`` (each example's loss, (B,)) and
    ``delta`` (−lr · ∂L/∂θ, its parameter in ``delta_of``). ``alternatives`` are the other
    routes a text computes a step by, through printed quantities (``routes``), and
    ``evaluation_order`` is ``order`` with exps and e moved before the steps that read them."""

    SHAPED_AS_WRITTEN = ("dW", "db", "L", "Lb", "delta")  # kinds without a batch axis to add for one example

    def __init__(self, exercise: Exercise, number_type: str | None = None):
        self.kink_reference: dict[str, np.ndarray] | None = None  # exact z by name, for intervals
        self.arch = exercise.architecture
        self.n = n = self.arch.n_layers
        self.batch_size = exercise.batch_size
        self.number_type = number_type or self.arch.ground_truth
        if self.number_type == "interval":
            self.W = [_to_intervals(exercise.parameters[f"W{k}"]) for k in range(1, n + 1)]
            self.b = [_to_intervals(exercise.layer_bias(k)) for k in range(1, n + 1)]
            self.slope = intervals.point(self.arch.negative_slope)
            self.x, self.y = _to_intervals(exercise.x), _to_intervals(exercise.y)
            self.lr = intervals.point(learning_rate(exercise, EXACT))
        else:
            net = Network.from_exercise(exercise, self.number_type)
            self.W, self.b, self.slope = net.weights, net.biases, net.negative_slope
            self.x, self.y = convert(exercise.x, self.number_type), convert(exercise.y, self.number_type)
            self.lr = learning_rate(exercise, self.number_type)
        acts = list(self.arch.activations)
        self.order = self.arch.quantity_names() + self.arch.printed_names()
        self.role: dict[str, tuple[str, int]] = {"y_hat": ("a", n), "L": ("L", n), "dL/dy_hat": ("dy", n)}
        if self.arch.loss in losses.PROBABILITIES:
            self.role[quantities.PROBABILITIES_NAME] = ("p", n)
        for k in range(1, n + 1):
            self.role[f"dL/dW{k}"] = ("dW", k)
            if self.arch.has_bias(k):
                self.role[f"dL/db{k}"] = ("db", k)
            if k < n or acts[-1] != "identity":
                self.role[f"z{k}"] = ("z", k)
                self.role[quantities.derivative_name(k, n, acts[k - 1])] = ("deriv", k)
                self.role[f"dL/dz{k}"] = ("dz", k)
            if k < n:
                self.role[quantities.hidden_name(k, n)] = ("a", k)
                self.role[f"dL/d{quantities.hidden_name(k, n)}"] = ("da", k)
        self.role[quantities.ERROR_NAME] = ("e", n)
        self.role[quantities.EXPONENTIALS_NAME] = ("exps", n)
        self.role[quantities.PER_EXAMPLE_NAME] = ("Lb", n)
        self.delta_of = {quantities.DELTA_PREFIX + p: p for p in self.arch.parameter_shapes()}
        self.frozen = frozenset(exercise.training.freeze)
        for name in self.delta_of:
            self.role[name] = ("delta", n)
        self.alternatives = self._alternative_routes()
        self.evaluation_order = self._evaluation_order()

    def _alternative_routes(self) -> dict[str, list[tuple[str, ...]]]:
        """The other ways a text computes a step from printed quantities it wrote first,
        by name: the upstream quantities each route reads, the closest first. A softmax's
        p from its exps (p_i = exps_i / Σ exps); ∂L/∂ŷ from the error e (mse 2e/n, sse e,
        sum_squares 2e, bce e / (ŷ(1 − ŷ)) / n, bce_with_logits e/n, cross-entropy e) and
        for a loss on logits from p (p − y, over n for bce_with_logits); over B for a
        mean over the batch (``reference.losses.gradient`` with ŷ − y, or softmax(ŷ) and
        sigmoid(ŷ), written out). L from the loss of each example (their mean, or sum, over
        the batch). The step's own route (``deps``) comes after these."""
        loss = self.arch.loss
        found = {"dL/dy_hat": [(quantities.ERROR_NAME, "y_hat") if loss == "bce" else (quantities.ERROR_NAME,)],
                 "L": [(quantities.PER_EXAMPLE_NAME,)]}
        if loss in losses.PROBABILITIES:
            found["dL/dy_hat"].append((quantities.PROBABILITIES_NAME,))
            if losses.PROBABILITIES[loss] == "softmax":
                found[quantities.PROBABILITIES_NAME] = [(quantities.EXPONENTIALS_NAME,)]
        return found

    def _evaluation_order(self) -> list[str]:
        """``order`` with the printed quantities a later step may read moved before it:
        exps right after y_hat (before p), e after p (or y_hat), both before L and ∂L/∂ŷ;
        the loss of each example before L."""
        early = [name for name in (quantities.EXPONENTIALS_NAME, quantities.ERROR_NAME) if name in self.order]
        order = [name for name in self.order if name not in early and name != quantities.PER_EXAMPLE_NAME]
        order.insert(order.index("L"), quantities.PER_EXAMPLE_NAME)  # L may be the mean of the written ones
        after = order.index(quantities.PROBABILITIES_NAME if quantities.PROBABILITIES_NAME in order else "y_hat")
        if quantities.EXPONENTIALS_NAME in early:
            order.insert(order.index("y_hat") + 1, quantities.EXPONENTIALS_NAME)
            after += 1
        if quantities.ERROR_NAME in early:
            order.insert(after + 1, quantities.ERROR_NAME)
        return order

    def routes(self, name: str) -> list[tuple[str, ...] | None]:
        """The routes by which a text may compute ``name``, in order of preference: the
        alternative ones through printed quantities (``alternatives``), then None, the
        step's own (``deps``)."""
        return self.alternatives.get(name, []) + [None]

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
        if kind in ("L", "dy", "p", "exps", "Lb"):
            return ["y_hat"]
        if kind == "e":
            return [quantities.PROBABILITIES_NAME if self.arch.loss in losses.PROBABILITIES else "y_hat"]
        if kind == "delta":
            return [f"dL/d{self.delta_of[name]}"]
        if kind == "deriv":
            return [f"z{k}", self.activation_name(k)]
        if kind == "dz":
            return [self._upstream_name(k), self._derivative_name(k)]
        if kind == "dW":
            return ([self.activation_name(k - 1)] if k > 1 else []) + [self.dz_name(k)]
        if kind == "db":
            return [self.dz_name(k)]
        return [self.dz_name(k + 1)]  # "da": back through W_{k+1}

    def reads(self, name: str, bindex: tuple, shapes: dict[str, tuple],
              route: tuple[str, ...] | None = None) -> list[tuple[str, tuple]]:
        """The entries of the upstream quantities that entry ``bindex`` of ``name`` reads
        (``shapes``: each quantity's batch-form shape), by its own step or by the
        alternative ``route`` (``routes``)."""
        if route is not None:
            if route == (quantities.EXPONENTIALS_NAME,):  # p from a softmax's exps: the example's row
                return [(route[0], (bindex[0], j)) for j in range(shapes[route[0]][1])]
            if route == (quantities.PER_EXAMPLE_NAME,):  # L from every example's loss
                return [(route[0], i) for i in np.ndindex(shapes[route[0]])]
            return [(dep, bindex) for dep in route]  # ∂L/∂ŷ from e or p (and ŷ): entry by entry
        kind, k = self.role[name]
        out = []
        for dep in self.deps(name):
            if kind == "delta":  # the same entry of the gradient
                out.append((dep, bindex))
                continue
            rows, cols = shapes[dep]  # intermediates, in batch form (B, n)
            if kind == "Lb":  # the example's whole row
                out += [(dep, (bindex[0], j)) for j in range(cols)]
            elif kind in ("L",):
                out += [(dep, i) for i in np.ndindex(shapes[dep])]
            elif (kind in ("z", "dy") or (kind == "a" and k == self.n and self._linear_output())
                  or (kind == "p" and losses.PROBABILITIES[self.arch.loss] == "softmax")):
                out += [(dep, (bindex[0], j)) for j in range(cols)]
            elif kind in ("a", "deriv", "dz", "p", "e", "exps"):  # p = sigmoid(y_hat): entry by entry
                out.append((dep, bindex))
            elif kind == "dW":
                i, j = bindex
                column = i if dep == self.activation_name(k - 1) else j
                out += [(dep, (b, column)) for b in range(rows)]
            elif kind == "db":  # a bias shared by the layer (bindex ()) reads every neuron
                out += [(dep, (b, j)) for b in range(rows) for j in (bindex or range(cols))]
            else:  # "da": a row of dL/dz of the next layer
                out += [(dep, (bindex[0], j)) for j in range(cols)]
        return out

    def compute(self, name: str, v: dict, bp: Backprop, forward_variant: str | None = None) -> np.ndarray:
        """Quantity ``name`` from the values ``v`` by step method of ``bp`` (the text's
        step), or by the forward mistake ``forward_variant`` (a ``ForwardMistake`` label)."""
        kind, k = self.role[name]
        arch = self.arch
        if kind == "z" or (kind == "a" and k == self.n and self._linear_output()):
            weighted = self._activation(v, k - 1) @ self.W[k - 1]
            return weighted if forward_variant == "bias left out of the weighted sum" else weighted + self.b[k - 1]
        if kind == "a":
            if forward_variant and forward_variant.startswith("ReLU not applied"):
                return v[f"z{k}"]
            return activations.forward(arch.activations[k - 1], v[f"z{k}"], self.slope)
        if kind == "e":
            return v[self.deps(name)[0]] - self.y
        if kind == "exps":
            return activations.elementwise(v["y_hat"], np.exp, "exp")
        if kind == "Lb":
            return losses.per_example(arch.loss, v["y_hat"], self.y)
        if kind == "delta":
            gradient = v[self.deps(name)[0]]  # the array first: an interval times an array is not defined
            lr = self.lr * 0 if self.delta_of[name] in self.frozen else -self.lr  # a frozen parameter does not move
            return np.asarray(gradient * lr, dtype=gradient.dtype)  # a shared bias's stays 0-d
        if kind == "p":
            wrong = wrong_probabilities(forward_variant, arch, v["y_hat"]) if forward_variant else None
            return wrong if wrong is not None else bp.probabilities(v["y_hat"], arch.loss)
        if kind == "L":
            value = losses.loss(arch.loss, v["y_hat"], self.y, arch.reduction)
            factor = loss_factor(forward_variant, arch) if forward_variant else None
            if factor is not None:
                value = value * factor.numerator / factor.denominator
            out = np.empty((), dtype=object)
            out[()] = value
            return out
        if kind == "dy":
            return bp.loss_gradient(v["y_hat"], self.y, arch.loss, arch.reduction)
        if kind == "deriv":
            return bp.activation_derivative(arch.activations[k - 1], self._pinned(v[f"z{k}"], k),
                                            self._activation(v, k), k, self.slope)
        if kind == "dz":
            return bp.through_activation(v[self._upstream_name(k)], v[self._derivative_name(k)])
        if kind == "dW":
            return bp.weight_gradient(self._activation(v, k - 1), v[self.dz_name(k)])
        if kind == "db":
            return bp.layer_bias_gradient(v[self.dz_name(k)], arch.shares_bias(k))
        return bp.to_previous_layer(self.W[k], v[self.dz_name(k + 1)], v.get(f"dL/dW{k + 1}"))

    def compute_route(self, name: str, route: tuple[str, ...], v: dict) -> np.ndarray:
        """Quantity ``name`` by the alternative ``route`` (``routes``) from the values ``v``:
        the text's own formulas, as ``reference.losses`` computes them from ŷ."""
        if name == quantities.PROBABILITIES_NAME:  # softmax from the written numerators
            exps = v[quantities.EXPONENTIALS_NAME]
            if intervals.is_interval_array(exps):
                return _normalized(exps)
            return exps / exps.sum(axis=1, keepdims=True)
        if name == "L":  # the mean (or sum) of each example's loss
            each = list(v[quantities.PER_EXAMPLE_NAME])
            total = sum(each[1:], each[0])
            return np.asarray(total / len(each) if self.arch.reduction == "mean" else total, dtype=object)
        loss, n = self.arch.loss, self.y.shape[1]
        if route == (quantities.PROBABILITIES_NAME,):
            g = v[quantities.PROBABILITIES_NAME] - self.y
            g = g / n if loss == "bce_with_logits" else g
        else:
            e = v[quantities.ERROR_NAME]
            if loss == "mse":
                g = 2 * e / n
            elif loss == "sum_squares":
                g = 2 * e
            elif loss == "bce":  # (ŷ − y) / (ŷ (1 − ŷ)) / n, with the written e on top
                y_hat = v["y_hat"]
                g = e / (y_hat * (1 - y_hat)) / n
            elif loss == "bce_with_logits":  # (p − y) / n
                g = e / n
            else:  # sse: ŷ − y; cross-entropy: p − y
                g = e
        return g / len(self.y) if self.arch.reduction == "mean" else g

    def _pinned(self, z: np.ndarray, k: int) -> np.ndarray:
        """Intervals of z at a kinked activation with the exact z put in where they hold
        it: a rounded z of 0.0 stands for [-0.05, 0.05], but its side of the kink is the
        ground truth's, not either (a wrong z keeps its own interval)."""
        if (self.kink_reference is None or self.arch.activations[k - 1] not in activations.KINKED
                or not intervals.is_interval_array(z)):
            return z
        exact = self.kink_reference[f"z{k}"]
        pinned = z.copy()
        for i in np.ndindex(z.shape):
            if intervals.contains(z[i], exact[i]):
                pinned[i] = intervals.point(exact[i])
        return pinned

    def run(self, bp: Backprop) -> dict[str, np.ndarray]:
        """Every quantity, in order, by ``bp``: the exact pass for ``Backprop()``."""
        v: dict[str, np.ndarray] = {}
        for name in self.evaluation_order:
            v[name] = self.compute(name, v, bp)
        return {name: v[name] for name in self.order}

    def batch_index(self, name: str, index: tuple[int, ...]) -> tuple[int, ...]:
        """A hand answer's index (per example, as the text prints it) in batch form."""
        if self.batch_size == 1 and self.role[name][0] not in self.SHAPED_AS_WRITTEN:
            return (0,) + index
        return index


def _normalized(exps: np.ndarray) -> np.ndarray:
    """exps_i / Σ exps row by row, for intervals of positive numbers: p_i grows with
    exps_i and falls with every other, so its range runs from low_i / (low_i + Σ high_j)
    to high_i / (high_i + Σ low_j) (j ≠ i), tighter than dividing the intervals (which
    count exps_i twice, and are unbounded where an interval reaches 0)."""
    out = np.empty(exps.shape, dtype=object)
    for b, row in enumerate(exps):
        for i, own in enumerate(row):
            others = [value for j, value in enumerate(row) if j != i]
            low, high = intervals.point(own.a), intervals.point(own.b)
            low_others = sum((intervals.point(o.a) for o in others), intervals.point(0))
            high_others = sum((intervals.point(o.b) for o in others), intervals.point(0))
            out[b, i] = intervals.hull(low / (low + high_others), high / (high + low_others))
    return out


# How a given value is read ---------------------------------------------------------------

class Written:
    """A hand answer as written, judged by the exercise's rule (``[grading]``, or the
    printed rounding)."""

    def __init__(self, value: Decimal, rule: Grading):
        self.value, self.rule = value, rule
        self.carried = intervals.point(value)  # what a wrong answer carries on: the number as written
        self.finite = True

    def own(self, exact: Fraction):
        """The values the student may have carried on from a right answer: the number as
        written (rounding at every step) or the exact one it rounds (more digits kept),
        and everything between."""
        written = intervals.point(self.value)
        return written if abs(self.number - exact) <= EXACTLY else intervals.hull(
            min(written.a, intervals.point(exact).a), max(written.b, intervals.point(exact).b))

    @property
    def text(self) -> str:
        return str(self.value)

    @property
    def number(self) -> Fraction:
        return Fraction(self.value)

    @property
    def rule_text(self) -> str:
        return rule_text(self.rule)

    def agrees(self, exact: Fraction) -> bool:
        return written_value_agrees(self.value, exact, self.rule)

    def matches(self, computed) -> bool:
        """Right on an interval of own upstream values: within the rule's allowance of it."""
        return intervals.distance(computed, self.number) <= allowance(self.value, self.number, self.rule)


class Returned:
    """A float a student's function returned, judged at full precision by ``tolerance``."""

    def __init__(self, value: float, tolerance: Tolerance):
        self.value, self.tolerance = float(value), tolerance
        self.finite = math.isfinite(self.value)
        self.carried = intervals.point(self.value) if self.finite else None

    def own(self, exact: Fraction):
        """The value the student had: the float itself."""
        return self.carried

    @property
    def text(self) -> str:
        return repr(self.value)

    @property
    def number(self) -> Fraction:
        return Fraction(self.value)

    @property
    def rule_text(self) -> str:
        return f"float tolerance rtol {self.tolerance.rtol:g}, atol {self.tolerance.atol:g}"

    def agrees(self, exact: Fraction) -> bool:
        return self.tolerance.close(self.value, exact)

    def matches(self, computed) -> bool:
        return intervals.distance(computed, self.value) <= self.tolerance.atol + self.tolerance.rtol * abs(self.value)


@dataclass
class AnswerCheck:
    """One given entry: as given, the exact value and the diagnosis.

    ``kind`` is ``agree``, ``slip`` (the mistake entered here, or at this step or earlier
    when ``observed`` is False), ``follows`` (carries the errors in ``follows_from``
    correctly), ``convention`` (what the catalogued mistake ``convention`` gives) or
    ``not a number`` (NaN or infinite). ``rule`` says which rule judged the entry.
    ``own_value`` is the value the step gives on the answer's own upstream values (the
    middle of its interval)."""
    key: str
    written_as: str
    quantity: str
    index: tuple[int, ...]
    given: Decimal | float
    expected: Fraction
    kind: str = AGREE
    diagnosis: str = ""
    follows_from: list[str] = field(default_factory=list)
    convention: str | None = None
    own_value: float | None = None
    entry_index: tuple[int, ...] = ()
    rule: str = ""
    observed: bool = True
    group: str = ""  # the [answers] sub-table it is written in ("" for [answers] itself)

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
                "convention": self.convention, "rule": self.rule,
                "own_value": self.own_value}


def _value_text(value: float) -> str:
    return f"{value:.6g}"


def written_entries(exercise: Exercise, group: str = "") -> list[tuple[str, str, tuple, Decimal]]:
    """``(written key, quantity, per-example index, value)`` for every written entry of
    one group of answers (``[answers]``, or a sub-table such as ``[answers.table]``)."""
    entries = []
    for answer in exercise.answers:
        if answer.group != group:
            continue
        if answer.index:
            entries.append((answer.key, answer.name, answer.index, answer.value[()]))
        else:
            for index in np.ndindex(answer.value.shape):
                entries.append((answer.key, answer.name, index, answer.value[index]))
    return entries


def _join(keys: list[str]) -> str:
    return keys[0] if len(keys) == 1 else ", ".join(keys[:-1]) + " and " + keys[-1]


def _same(first, second) -> bool:
    return first.a == second.a and first.b == second.b


def _bounded(interval) -> bool:
    """Whether an interval has finite ends (one divided by an interval reaching 0 does not:
    the written values then do not bound the step, and a route through them explains nothing)."""
    return not (intervals.iv().isinf(interval.a) or intervals.iv().isinf(interval.b))


def _plain(bp: Backprop, method: str) -> bool:
    """Whether ``bp`` (through a ``SideMatched`` around it) computes ``method`` by the
    correct rule, so the text's printed quantities lead to the step as they do there."""
    while isinstance(bp, SideMatched):
        bp = bp.inner
    return getattr(type(bp), method) is getattr(Backprop, method)


# Learning rates a text or a student may take instead of the exercise's: an update step
# by one of them is named as such, not as a mistake in the gradient it reads.
COMMON_LEARNING_RATES = ("0.001", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.25", "0.3", "0.4", "0.5",
                         "0.6", "0.7", "0.75", "0.8", "0.9", "1", "1.5", "2")


class Diagnoser:
    """Diagnoses given entries of one exercise. Built once per exercise (the exact pass,
    the catalogue's whole passes); ``check`` runs on one set of given values."""

    def __init__(self, exercise: Exercise, subgradients_are_mistakes: bool = True, given: str = "written out"):
        self.exercise = exercise
        self.given_word = given  # how the report says a value is given: "written out" or "returned"
        self.steps = Steps(exercise)
        self.box = Steps(exercise, "interval")
        self.exact = self.steps.run(Backprop())
        self.box.kink_reference = self.exact
        self.batch = exercise.batch_size > 1
        arch = exercise.architecture
        self.mistakes: list[Mistake] = [m for m in catalogue(arch, exercise.batch_size)
                                        if subgradients_are_mistakes or not m.subgradient]
        self.forward: list[ForwardMistake] = forward_mistakes(arch)
        self.whole_passes = {}
        for mistake in self.mistakes:
            try:
                self.whole_passes[mistake.describe()] = self.steps.run(mistake)
            except (ValueError, ArithmeticError):  # a mistake that cannot even run here
                continue
        self.step_of = {name: title for title, names in arch.step_groups()
                        for name in names}
        for title, names in quantities.printed_groups(arch.printed_names()):
            self.step_of.update({name: title[0].lower() + title[1:] for name in names})  # "at the update step"
        self.shapes = {name: np.shape(value) for name, value in self.exact.items()}
        self.narrower = {m.describe(): next((o.describe() for o in self.mistakes if o.name == m.narrower), None)
                         for m in self.mistakes}

    def label(self, name: str, bindex: tuple) -> str:
        index = bindex[1:] if (not self.batch and self.steps.role[name][0] not in Steps.SHAPED_AS_WRITTEN) else bindex
        return self.exercise.architecture.label(name, index)

    def check(self, given: dict[tuple[str, tuple], tuple[str, tuple, Written | Returned]],
              sides: dict[tuple[int, int, int], bool] | None = None,
              text: Mistake | None = None) -> list[AnswerCheck]:
        """Diagnose every given entry: ``given[(quantity, batch index)] = (written key,
        per-example index, reading)``. ``sides``: kink neurons where the given values take
        the other side (a student's valid subgradient), as ``compare.kinks.SideMatched``.
        ``text``: the rule the text differentiates by (``[errata] backward``): its own
        terms are then the right values. Returns the checks in the order of the text's steps."""
        self.correct = text or (SideMatched(sides) if sides else Backprop())
        exact_values = self.steps.run(self.correct) if (sides or text) else self.exact
        own: dict[str, np.ndarray] = {}
        roots: dict[tuple[str, tuple], list[str]] = {}  # entry -> the root errors it carries
        checks: dict[str, list[AnswerCheck]] = {}
        for name in self.steps.evaluation_order:  # exps and e before the steps that may read them
            self._variants = {}
            computed = self._box(name, own, self.correct)
            own[name] = computed.copy()  # an entry not given: what its own step gives
            routes = None
            for bindex in self.exercise.architecture.text_order(name, computed.shape):
                if (name, bindex) not in given:
                    carried = self._carried(name, bindex, own, roots)
                    if carried:
                        roots[(name, bindex)] = carried
                    continue
                routes = routes or self._routes(name, own, computed)
                key, index, reading = given[(name, bindex)]
                exact = as_fraction(exact_values[name][bindex])
                check = AnswerCheck(self.label(name, bindex), key, name, bindex,
                                    reading.value, exact, entry_index=index, rule=reading.rule_text,
                                    own_value=intervals.midpoint(computed[bindex]))
                checks.setdefault(name, []).append(check)
                self._judge(check, reading, name, bindex, routes, own, roots, given)
        return [check for name in self.steps.order for check in checks.get(name, [])]

    def _routes(self, name: str, own: dict, computed: np.ndarray) -> list[tuple[tuple[str, ...] | None, np.ndarray]]:
        """``(route, value of name by it)`` for every route a text may compute ``name``
        by (``Steps.routes``), the step's own (None, ``computed``) last. The routes
        through printed quantities follow the correct rule only: not a text's
        ``[errata] backward`` that changes ∂L/∂ŷ or p."""
        found = []
        for route in self.steps.routes(name):
            if route is None:
                found.append((None, computed))
            elif self._route_factor(name) is not None:
                try:
                    found.append((route, self._route_box(name, route, own)))
                except (ValueError, ArithmeticError, TypeError):  # a written sum of exps of 0, say
                    continue
        return found

    def _route_factor(self, name: str) -> Fraction | None:
        """What the text's rule multiplies a route through printed quantities by: 1 for
        the correct rule (and for L, a forward quantity), the factor of a text that
        scales ∂L/∂ŷ by a constant (``[errata] backward = "ConstantFactor(3)"``), None
        for another rule that changes ∂L/∂ŷ or p (the route does not hold there)."""
        if name == "L":
            return Fraction(1)
        method = "probabilities" if name == quantities.PROBABILITIES_NAME else "loss_gradient"
        if _plain(self.correct, method):
            return Fraction(1)
        # a text's rule is self.correct itself: check() never wraps it in SideMatched
        if isinstance(self.correct, ConstantFactor) and method == "loss_gradient":
            return Fraction(self.correct.factor)
        return None

    def _route_box(self, name: str, route: tuple[str, ...] | None, own: dict) -> np.ndarray:
        if route is None:
            return self._box(name, own, self.correct)
        value = np.asarray(self.box.compute_route(name, route, own), dtype=object)
        factor = self._route_factor(name)
        for i in np.ndindex(value.shape):
            if not intervals.is_interval(value[i]):
                value[i] = intervals.point(value[i])
            if factor != 1:
                value[i] = value[i] * intervals.point(factor)
        return value

    def _chosen(self, name, bindex, routes, given) -> tuple:
        """The route a given entry that no route explains is worded by (the values its
        slip is computed from): the one reading the largest share of given values, the
        closest on a tie; the step's own where none reads any."""
        def share(route, value):
            if not _bounded(value[bindex]):
                return -1
            reads = self.steps.reads(name, bindex, self.shapes, route)
            return sum(entry in given for entry in reads) / len(reads) if reads else 0
        if len(routes) == 1:
            return routes[0]
        shares = [share(route, value) for route, value in routes]
        best = max(shares)
        return routes[-1] if best <= 0 else routes[shares.index(best)]

    def _judge(self, check, reading, name, bindex, routes, own, roots, given) -> None:
        if not reading.finite:
            check.kind, check.rule = NOT_A_NUMBER, ""
            check.diagnosis = f"not a finite number ({reading.text})"
            roots[(name, bindex)] = [check.key]
            return  # the own value stays the one the step gives, so later steps are judged on their own
        exact = check.expected
        if reading.agrees(exact):
            own[name][bindex] = reading.own(exact)
            return
        # right on the own values by any route: carrying no error where one route does
        matched = [(route, value, self._carried(name, bindex, own, roots, route))
                   for route, value in routes if _bounded(value[bindex]) and reading.matches(value[bindex])]
        if matched:
            route, value, carried = min(matched, key=lambda found: bool(found[2]))
            check.own_value = intervals.midpoint(value[bindex])
            own[name][bindex] = reading.carried
            if not carried:
                check.rule = CARRIED_RULE
                return
            check.kind, check.follows_from = FOLLOWS, carried
            errors = "error" if len(carried) == 1 else "errors"
            check.diagnosis = (f"follows from the earlier {errors} in {_join(carried)}: "
                               f"this step is right on your own values ({_value_text(check.own_value)})")
            roots[(name, bindex)] = carried
            return
        route, value = self._chosen(name, bindex, routes, given)
        check.own_value = intervals.midpoint(value[bindex])
        carried = self._carried(name, bindex, own, roots, route)
        own[name][bindex] = reading.carried
        roots[(name, bindex)] = [check.key]
        # observed where some route's values are all given; else what the chosen one misses
        missing_by_route = {r: list(dict.fromkeys(dep for dep, dindex in self.steps.reads(name, bindex, self.shapes, r)
                                                  if (dep, dindex) not in given))
                            for r, v in routes if r is None or _bounded(v[bindex])}
        missing = [] if not all(missing_by_route.values()) else missing_by_route[route]
        check.observed = not missing
        convention = self._convention(check, reading, name, bindex, routes[-1][1][bindex], own)
        if convention:
            check.kind, check.convention = CONVENTION, convention
            check.diagnosis = f"convention: {convention}"
            return
        check.kind = SLIP
        step = self.step_of.get(name, name)
        where = (f"the mistake entered here, at {step}" if check.observed else
                 f"the mistake entered at {step}, or earlier ({_join(missing)}, which it reads, "
                 f"{'is' if len(missing) == 1 else 'are'} not {self.given_word})")
        from_own = (f"; from your own upstream values (carrying {_join(carried)}) it is {_value_text(check.own_value)}"
                    if carried else "")
        check.diagnosis = f"slip: {where}{from_own}"

    def _carried(self, name, bindex, own, roots, route=None) -> list[str]:
        """The root errors an entry of ``own`` carries by ``route`` (``Steps.routes``;
        None: the step's own): entries it reads that carry an error and change this
        entry when set right."""
        candidates = [(dep, dindex) for dep, dindex in self.steps.reads(name, bindex, self.shapes, route)
                      if (dep, dindex) in roots]
        if not candidates:
            return []
        base = self._route_box(name, route, own)[bindex]
        found = []
        for dep, dindex in candidates:
            trial = dict(own)
            trial[dep] = own[dep].copy()
            trial[dep][dindex] = intervals.point(self.exact[dep][dindex])
            if not _same(self._route_box(name, route, trial)[bindex], base):
                found += [r for r in roots[(dep, dindex)] if r not in found]
        return found

    def _another_learning_rate(self, name, bindex, reading, own) -> str | None:
        """``"update step with lr = 0.1, not the exercise's 0.05 ([training] lr)"`` where
        the value is −lr′ · (the answer's own ∂L/∂θ) for exactly one common learning rate
        lr′ other than the exercise's, and is not also read as 0; None otherwise. A frozen
        parameter's step is another matter (named below)."""
        parameter = self.steps.delta_of[name]
        if parameter in self.steps.frozen:
            return None
        gradient = own[f"dL/d{parameter}"][bindex]
        if intervals.contains(gradient, 0):
            return None
        if reading.matches(intervals.point(0)):  # a 0.00 fits the tiny step of any small lr: it tells none apart
            return None
        exercise_lr = stated_lr(self.exercise)
        fitting = [lr for lr in COMMON_LEARNING_RATES
                   if Decimal(lr) != exercise_lr and reading.matches(gradient * intervals.point(-Fraction(lr)))]
        if len(fitting) != 1:  # none, or a value too coarse to tell which
            return None
        stated = (f"the exercise's {exercise_lr} ([training] lr)" if self.exercise.training.lr is not None else
                  f"the default {exercise_lr} (the file states no [training] lr)")
        return f"update step with lr = {fitting[0]}, not {stated}"

    def _convention(self, check: AnswerCheck, reading, name, bindex, computed, own) -> str | None:
        kind = self.steps.role[name][0]
        if kind == "delta":
            other_lr = self._another_learning_rate(name, bindex, reading, own)
            if other_lr:
                return other_lr
        # Every mistake that explains the value is named: with n = B = 4 outputs and
        # examples, dropping the 1/n and dropping the 1/B factor give the same number.
        local = []
        for mistake in self.mistakes + self.forward:
            if kind not in mistake.kinds:
                continue
            try:
                variant = self._local_variant(mistake, name, own)
            except (ValueError, ArithmeticError, TypeError):  # the mistake cannot run on these values
                continue
            if np.shape(variant) != np.shape(own[name]):
                continue
            value = variant[bindex]
            if not _same(value, computed) and reading.matches(value):
                local.append(mistake.describe())
        if local:
            return " or ".join(self._without_wider(local))
        earlier = [label for label, values in self.whole_passes.items()
                   if np.shape(values[name]) == self.shapes[name]
                   and (value := as_fraction(values[name][bindex])) != check.expected
                   and reading.matches(intervals.point(value))]
        if earlier:
            return " or ".join(self._without_wider(earlier)) + f" (made in an earlier step that is not {self.given_word})"
        if kind == "delta" and self.steps.delta_of[name] in self.steps.frozen:
            parameter = self.steps.delta_of[name]
            moved = own[f"dL/d{parameter}"][bindex] * -self.box.lr
            if not intervals.contains(moved, 0) and reading.matches(moved):
                return (f"{parameter} is frozen ([training] freeze): its update step is 0, "
                        f"not −lr · ∂L/∂{parameter}")
        negated = -computed
        if not intervals.contains(computed, 0) and reading.matches(negated):
            return "sign flipped"
        if kind == "dW" and len(bindex) == 2:
            i, j = bindex
            shape = own[name].shape
            if i != j and j < shape[0] and i < shape[1]:
                swapped = self._box(name, own, self.correct)[j, i]
                if not _same(swapped, computed) and reading.matches(swapped):
                    return f"transposed matrix: this is the value of {self.exercise.architecture.label(name, (j, i))}"
        return None

    def _local_variant(self, mistake, name: str, own: dict) -> np.ndarray:
        """Quantity ``name`` by the mistake's step from the own values (cached while one
        quantity is checked: its upstream values do not change meanwhile)."""
        key = (id(mistake), name)
        if key not in self._variants:
            self._variants[key] = self._variant(mistake, name, own)
        return self._variants[key]

    def _variant(self, mistake, name: str, own: dict) -> np.ndarray:
        kind, k = self.steps.role[name]
        if isinstance(mistake, ForwardMistake):
            return self._box(name, own, Backprop(), forward_variant=mistake.label)
        if kind == "dz":  # the mistake changes the derivative this step multiplies by
            trial = dict(own)
            derivative = self.steps.deps(name)[1]
            trial[derivative] = self._box(derivative, own, mistake)
            return self._box(name, trial, mistake)
        return self._box(name, own, mistake)

    def _box(self, name: str, own: dict, bp: Backprop, forward_variant: str | None = None) -> np.ndarray:
        """``name`` by ``bp`` on the own intervals; plain numbers (an identity's
        derivative of 1) become point intervals."""
        value = np.asarray(self.box.compute(name, own, bp, forward_variant), dtype=object)
        for i in np.ndindex(value.shape):
            if not intervals.is_interval(value[i]):
                value[i] = intervals.point(value[i])
        return value

    def _without_wider(self, labels: list[str]) -> list[str]:
        """Drop a mistake whose narrower one also explains the value (ReLU'(0) = 1 over a
        skipped ReLU gate, at a neuron on the kink; sigmoid′ of z1 over sigmoid′ of z1
        and of z2, where only z1's step is at stake)."""
        labels = list(dict.fromkeys(labels))
        return [label for label in labels if self.narrower.get(label) not in labels
                and not any(other != label and other in label for other in labels)]


_FROM_THE_FILE = object()  # check_answers: the text's rule not resolved yet


def check_answers(exercise: Exercise, text=_FROM_THE_FILE) -> list[AnswerCheck]:
    """Check and diagnose every written entry of ``exercise.answers`` (decimals as
    written, by the exercise's ``[grading]`` rule or the printed rounding, with carried
    rounding), in the order of the text's steps. Empty when the exercise has no answers.
    ``text`` is the rule of ``[errata] backward`` where the caller has resolved it
    already (``text_backward``; None: the stated loss's own)."""
    if not exercise.answers:
        return []
    diagnoser = Diagnoser(exercise)
    if text is _FROM_THE_FILE:
        text = text_backward(exercise)
    checks = []
    for group in dict.fromkeys(answer.group for answer in exercise.answers):  # [answers] first, then sub-tables
        given = {}
        for key, name, index, value in written_entries(exercise, group):
            given[(name, diagnoser.steps.batch_index(name, index))] = (key, index, Written(value, exercise.grading))
        group_checks = diagnoser.check(given, text=text)  # each group on its own values, at its own precision
        for check in group_checks:
            check.group = group
            if group:
                check.key = f"{check.key} ({group})"
        checks += group_checks
    return checks


def text_backward(exercise: Exercise) -> Mistake | None:
    """The catalogued mistake ``[errata] backward`` names, the rule the text's backward
    pass uses, or None. Raises ``ExerciseError`` (one line, the names that exist) for a
    name that is not a mistake of this network."""
    if not exercise.text_backward:
        return None
    from reference.exercise import ExerciseError, did_you_mean
    found = {m.name: m for m in catalogue(exercise.architecture, exercise.batch_size)}
    if exercise.text_backward not in found:
        raise ExerciseError(exercise.path, "errata.backward",
                            "a mistake of the catalogue for this network: " + ", ".join(found)
                            + did_you_mean(exercise.text_backward, list(found)))
    mistake = found[exercise.text_backward]
    why = _not_a_text_rule(exercise, mistake)
    if why:
        raise ExerciseError(exercise.path, "errata.backward",
                            f"a rule the text's printed gradients can follow on this network, but {why}")
    return mistake


def _not_a_text_rule(exercise: Exercise, mistake: Mistake) -> str:
    """Why ``mistake`` cannot be the rule of the text's backward pass here ("" when it
    can): its pass fails, gives a gradient another shape than its parameter's, or gives
    every gradient of the stated loss unchanged."""
    from reference.backprop import run_pass
    truth = exercise.architecture.ground_truth
    try:
        own = run_pass(exercise, truth, mistake, printed=False).values
    except (ValueError, ArithmeticError, IndexError) as error:
        return f"{mistake.name} cannot run on it ({type(error).__name__})"
    exact = run_pass(exercise, truth, printed=False).values
    gradients = [f"dL/d{p}" for p in exercise.architecture.parameter_shapes()]
    arch = exercise.architecture
    for name in gradients:
        if np.shape(own[name]) != np.shape(exact[name]):
            return (f"{mistake.name} gives {name} of shape {arch.layout_shape(name, np.shape(own[name]))}, "
                    f"not {arch.layout_shape(name, np.shape(exact[name]))}")
    if not differing_gradients(exercise, own, exact):
        return f"{mistake.name} gives the stated loss's own gradients here: there is nothing to record"
    return ""


def differing_gradients(exercise: Exercise, own: dict, exact: dict) -> int:
    """How many parameter-gradient entries of the pass ``own`` differ exactly from
    ``exact``'s (both pass values of the same shapes)."""
    return sum(as_fraction(a) != as_fraction(b) for p in exercise.architecture.parameter_shapes()
               for a, b in zip(np.ravel(own[f"dL/d{p}"]), np.ravel(exact[f"dL/d{p}"])))


def check_returned(exercise: Exercise, values: dict[str, np.ndarray], tolerance: Tolerance,
                   diagnoser: Diagnoser | None = None, sides: dict | None = None) -> list[AnswerCheck]:
    """Check and diagnose the values a student's function returned (float arrays by the
    text's names, each with the shape of a hand answer: (n,) per example, (B, n) for a
    batch, gradients the parameters' shapes) at full precision, with ``tolerance``.
    Quantities of another shape or name are left to the comparison. A ReLU′(0) = 1 is
    not a mistake here: at a real kink either side is a valid subgradient, and ``sides``
    (``Comparison.hand_sides``) says which one the student took."""
    from reference.exercise import value_shape
    diagnoser = diagnoser or Diagnoser(exercise, subgradients_are_mistakes=False, given="returned")
    arch = exercise.architecture
    given = {}
    for name, value in values.items():
        if name not in diagnoser.steps.role:
            continue
        value = np.asarray(value, dtype=np.float64)
        if value.shape != value_shape(name, arch, exercise.batch_size):
            continue
        for index in np.ndindex(value.shape):
            given[(name, diagnoser.steps.batch_index(name, index))] = (name, index, Returned(value[index], tolerance))
    return diagnoser.check(given, sides) if given else []


def summary_line(checks: list[AnswerCheck]) -> str:
    """``Hand answers: 47 of 55 entries agree; mistakes: ...; 6 follow from them.``"""
    wrong = [c for c in checks if not c.agree]
    carried = sum(c.agree and c.rule == CARRIED_RULE for c in checks)
    line = f"Hand answers: {len(checks) - len(wrong)} of {len(checks)} entries agree"
    if carried:
        line += f" ({carried} by carried rounding: right on their own rounded upstream values)"
    if not wrong:
        return line + "."
    slips = [c.key for c in wrong if c.kind == SLIP]
    conventions = [f"{c.key} ({c.convention})" for c in wrong if c.kind == CONVENTION]
    broken = [c.key for c in wrong if c.kind == NOT_A_NUMBER]
    follows = sum(c.kind == FOLLOWS for c in wrong)
    parts = []
    if slips:
        parts.append(f"{len(slips)} slip{'s' if len(slips) > 1 else ''}: {', '.join(slips)}")
    if conventions:
        by_kind: dict[str, list[str]] = {}
        for c in wrong:
            if c.kind == CONVENTION:
                by_kind.setdefault(c.convention, []).append(c.key)
        parts.append(f"{len(conventions)} convention mistake{'s' if len(conventions) > 1 else ''}: "
                     + "; ".join(", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
                                 + f" ({convention})" for convention, keys in by_kind.items()))
    if broken:
        parts.append(f"{len(broken)} not a finite number: {', '.join(broken)}")
    if follows:
        parts.append(f"{follows} more follow{'s' if follows == 1 else ''} from "
                     f"{'it' if len(slips) + len(conventions) + len(broken) == 1 else 'them'}")
    return line + "; " + "; ".join(parts) + "."


ANSWER_HEADERS = ["key", "given", "expected", "verdict", "diagnosis"]


def _rule_note(check: AnswerCheck) -> str:
    return f"agree ({CARRIED_RULE})" if check.rule == CARRIED_RULE else ""


def answers_table(checks: list[AnswerCheck], fmt: str = "github") -> str:
    """The "Hand answers" table: one row per written key whose entries all agree by the
    exercise's rule (the whole array as written), one row per entry of a key with a
    wrong entry or an entry right only by carried rounding."""
    by_key: dict[str, list[AnswerCheck]] = {}
    for c in checks:
        by_key.setdefault(c.written_as, []).append(c)
    rows = []
    for key, group in by_key.items():
        if all(c.agree and c.rule != CARRIED_RULE for c in group) and len(group) > 1:
            written = [quantities.split_entry(c.key.split(" ")[0])[1] for c in group]  # as the text writes it
            shape = tuple(max(index[d] for index in written) + 1 for d in range(len(written[0])))
            given, expected = np.empty(shape, dtype=object), np.empty(shape, dtype=object)
            for c, index in zip(group, written):
                given[index], expected[index] = c.given, c.expected
            label = f"{key.split('.', 1)[1]} ({group[0].group})" if group[0].group else key  # as an entry's label
            rows.append([label, array_text(given), array_text(expected, exact_text), "agree", ""])
            continue
        for c in group:
            rows.append([c.key, str(c.given), exact_text(c.expected), c.verdict, c.diagnosis or _rule_note(c)])
    return tabulate(rows, headers=ANSWER_HEADERS, tablefmt=fmt, disable_numparse=True)
