"""Deliberately broken backward passes that the comparison must reject and name.

The broken passes are the mistakes of ``compare.catalogue``, each with exactly one step
of ``reference.Backprop`` done wrong. ``run_self_test`` runs the comparison on each
mistake that applies to an exercise and on the correct pass: it succeeds only if every
mistake is rejected, and named by the whole-pass diagnosis (``compare.grading.matching``)
from the values it computes, and the correct pass is accepted.
"""
from dataclasses import asdict, dataclass, replace

from pathlib import Path

import numpy as np

from compare.catalogue import Mistake, catalogue
from compare.comparison import compare_exercise
from compare.diagnosis import Diagnoser
from compare.grading.matching import describe, matching_mistakes
from compare.tolerance import Tolerance
from reference.backprop import Backprop, run_pass
from reference.exercise import CHAPTER7_PATH, Exercise, load_exercise
from reference.numbers import MP_ZERO, as_fraction


@dataclass
class SelfTestResult:
    """One line of the self-test: the pass, whether the comparison rejected it, the
    first rows it flagged, and for a catalogued mistake whether the whole-pass diagnosis
    named it from the values it computes."""
    name: str
    description: str
    expected_to_fail: bool
    rejected: bool
    evidence: str
    applicable: bool = True  # False: the mistake computes the correct numbers on this exercise
    named: bool | None = None  # None: not asked (the correct pass)
    named_as: str = ""  # what the whole-pass diagnosis named the values as

    @property
    def outcome(self) -> str:
        """``rejected and named``, ``accepted``, ``not applicable``, ... in a few words."""
        if not self.applicable:
            return "not applicable"
        if not self.rejected:
            return "accepted"
        return {None: "rejected", True: "rejected and named", False: "rejected but NOT named"}[self.named]

    @property
    def passed(self) -> bool:
        return not self.applicable or (self.rejected == self.expected_to_fail and self.named is not False)

    def as_json(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def _name_of(backprop: Backprop) -> str:
    return backprop.name if isinstance(backprop, Mistake) else type(backprop).__name__


def _description(backprop: Backprop) -> str:
    if isinstance(backprop, Mistake):
        return backprop.describe()
    return (type(backprop).__doc__ or "the correct backward pass").strip().splitlines()[0]


def check_backprop(exercise: Exercise, backprop: Backprop, dtype: str = "float64",
                   tolerance: Tolerance | None = None, expected_to_fail: bool = True,
                   diagnoser: Diagnoser | None = None) -> SelfTestResult:
    """Compare ``backprop`` against autograd and the exact values on ``exercise``; its
    printed values and claims are left out, since they test the text, not the backward
    pass. A catalogued mistake must also be named: the values its pass computes are
    matched against every mistake of the catalogue (``matching_mistakes``) and its own
    description must be among those that reproduce them.

    A mistake that computes exactly the correct numbers on this exercise (no ReLU to
    drop the mask of; 2/n = 1 with two outputs) has nothing to be caught for: it is
    reported as not applicable, not as a failure of the comparison."""
    exercise = replace(exercise, answers=(), claims={})
    where = Path(exercise.path).name
    name, doc = f"{_name_of(backprop)} on {where}", _description(backprop)
    if expected_to_fail and _same_numbers(exercise, backprop):
        return SelfTestResult(name, doc, True, False,
                              "computes the correct numbers on this exercise: nothing to catch", applicable=False)
    comparison = compare_exercise(exercise, dtype, tolerance, backprop=backprop)
    flagged = [r for r in comparison.gradients + comparison.intermediates if not r.agree]
    if comparison.hand_error:
        evidence = comparison.hand_error
    elif flagged:
        labels = ", ".join(r.label for r in flagged[:4]) + (", ..." if len(flagged) > 4 else "")
        entries = "1 entry disagrees" if len(flagged) == 1 else f"{len(flagged)} entries disagree"
        evidence = f"{entries} ({labels}): {flagged[0].verdict}"
    else:
        evidence = "every entry agrees"
    named = None
    if isinstance(backprop, Mistake) and not comparison.hand_error:
        diagnoser = diagnoser or Diagnoser(exercise, subgradients_are_mistakes=False)
        values = run_pass(exercise, dtype, backprop).values
        found = matching_mistakes(diagnoser, values, comparison.tolerance, comparison.hand_sides)
        named = backprop.describe() in [m.describe() for m in found]
        named_as = describe(found) if found else "no catalogued mistake"
        if not named:
            evidence += f"; the values were named as: {named_as}"
        return SelfTestResult(name, doc, expected_to_fail, not comparison.ok, evidence, named=named,
                              named_as=named_as)
    return SelfTestResult(name, doc, expected_to_fail, not comparison.ok, evidence)


def _same_numbers(exercise: Exercise, backprop: Backprop) -> bool:
    """Whether ``backprop`` gives every quantity the correct pass gives, in the ground
    truth (exactly for Fractions; within 1e-40 for 50-digit numbers)."""
    truth = exercise.architecture.ground_truth
    try:
        variant = run_pass(exercise, truth, backprop).values
    except Exception:  # a variant that cannot even run is different
        return False
    correct = run_pass(exercise, truth).values
    return all(np.shape(variant[name]) == np.shape(value)
               and all(abs(as_fraction(a) - as_fraction(b)) <= MP_ZERO
                       for a, b in zip(np.ravel(variant[name]), np.ravel(value)))
               for name, value in correct.items())


BUNDLED = ["diagonal_flip_batch.toml", "xor_2_2_1_sigmoid.toml", "mazur_2_2_2_sigmoid.toml", "tanh_3_4_2.toml",
           "leaky_relu_sse.toml", "softmax_classifier.toml", "softmax_one_hot_tanh.toml",
           "multilabel_bce_logits.toml", "two_layer_net_no_bias.toml", "mazur_as_written.toml"]


def self_test_mistakes(exercise: Exercise) -> list[Mistake]:
    """The catalogue's mistakes for ``exercise`` that the comparison must reject: all but
    ReLU′(0) = 1, which is a valid subgradient at a kink, not a mistake of code."""
    return [m for m in catalogue(exercise.architecture, exercise.batch_size) if not m.subgradient]


def run_self_test(exercise: Exercise, dtype: str = "float64", tolerance: Tolerance | None = None,
                  batch: Exercise | None = None, bundled: bool = False) -> list[SelfTestResult]:
    """The correct pass (must be accepted) and every catalogued mistake that applies
    (each must be rejected and named) on ``exercise``; with ``batch``, the same on the
    batch for the mistakes only a batch can show; with ``bundled``, the correct pass on
    each bundled exercise (``reference/data``) and every mistake not tried yet on the
    first bundled exercise where it computes different numbers."""
    results = [check_backprop(exercise, Backprop(), dtype, tolerance, expected_to_fail=False)]
    tried = set()

    def run(ex: Exercise, mistakes: list[Mistake]) -> None:
        diagnoser = None
        for mistake in mistakes:
            if mistake.name in tried or _same_numbers(replace(ex, answers=(), claims={}), mistake):
                continue
            diagnoser = diagnoser or Diagnoser(replace(ex, answers=(), claims={}), subgradients_are_mistakes=False)
            results.append(check_backprop(ex, mistake, dtype, tolerance, diagnoser=diagnoser))
            tried.add(mistake.name)

    run(exercise, self_test_mistakes(exercise))
    if batch is not None:
        results.append(check_backprop(batch, Backprop(), dtype, tolerance, expected_to_fail=False))
        run(batch, self_test_mistakes(batch))
    if bundled:
        done = {Path(exercise.path).resolve()} | ({Path(batch.path).resolve()} if batch is not None else set())
        for file in BUNDLED:
            other = _bundled(file)
            if Path(other.path).resolve() in done:
                continue
            results.append(check_backprop(other, Backprop(), dtype, tolerance, expected_to_fail=False))
            run(other, self_test_mistakes(other))
    return results


def _bundled(name: str) -> Exercise:
    return load_exercise(CHAPTER7_PATH.parent / name)
