"""The catalogue of mistakes, shared by the self-test and the diagnosis: every mistake is
rejected by the comparison and named by the whole-pass matching wherever it applies, the
correct pass is never named, and each mistake speaks the network's own words."""
from dataclasses import replace

import pytest

from compare import catalogue as cat
from compare.diagnosis import Diagnoser
from compare.grading.matching import matching_mistakes
from compare.selftest import _same_numbers, check_backprop, self_test_mistakes
from compare.tolerance import Tolerance
from reference import load_exercise, run_pass
from reference.exercise import CHAPTER7_PATH

DATA = CHAPTER7_PATH.parent
BUNDLED = sorted(p.name for p in DATA.glob("*.toml"))


def exercise(name: str):
    return replace(load_exercise(DATA / name), answers=(), claims={})


@pytest.mark.parametrize("name", BUNDLED)
def test_every_mistake_that_changes_the_numbers_is_rejected_and_named(name):
    ex = exercise(name)
    diagnoser = Diagnoser(ex, subgradients_are_mistakes=False)
    tried = 0
    for mistake in self_test_mistakes(ex):
        if _same_numbers(ex, mistake):
            continue
        result = check_backprop(ex, mistake, diagnoser=diagnoser)
        assert result.rejected, (mistake, result.evidence)
        assert result.named, (mistake, result.evidence)
        tried += 1
    assert tried >= 5


@pytest.mark.parametrize("name", BUNDLED)
def test_the_correct_pass_is_named_by_no_mistake(name):
    ex = exercise(name)
    values = run_pass(ex, "float64").values
    assert matching_mistakes(Diagnoser(ex, subgradients_are_mistakes=False), values, Tolerance.for_dtype("float64")) == []


def test_every_kind_of_mistake_applies_somewhere_in_the_bundle():
    kinds = set()
    for name in BUNDLED:
        ex = exercise(name)
        kinds |= {type(m).__name__ for m in self_test_mistakes(ex) if not _same_numbers(ex, m)}
    assert kinds == {k.__name__ for k in cat.STEP_MISTAKES if not k.subgradient} | {
        "ConstantFactor", "ThroughUpdatedWeights", "DerivativeOfPreactivation"}


@pytest.mark.parametrize("name", BUNDLED)
def test_a_mistake_speaks_the_words_of_its_network(name):
    arch = exercise(name).architecture
    for mistake in cat.catalogue(arch, 4):
        words = mistake.describe()
        if "relu" not in arch.activations:
            assert "ReLU gate" not in words and "ReLU'" not in words, (name, words)
        if "sigmoid" not in arch.activations:
            assert "sigmoid′ applied" not in words, (name, words)
        if arch.loss != "mse":
            assert "2/n" not in words, (name, words)


def test_coinciding_factors_are_one_mistake_named_both_ways():
    batch = exercise("diagonal_flip_batch.toml")  # n = B = 4 outputs and examples
    factors = {m.factor: m.describe() for m in cat.constant_factors(batch.architecture, batch.batch_size)}
    assert factors[4] == ("loss gradient without the 1/n factor: 2(y_hat - y) or loss gradient without the 1/B "
                          "mean over the batch")
    assert sorted(factors) == [0.25, 0.5, 2, 4]
