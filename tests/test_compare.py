"""The comparison: hand vs autograd vs exact vs printed, kinks, reasons, self-test."""
from fractions import Fraction

import pytest

from compare import Tolerance, compare_exercise, summarize
from compare.catalogue import BiasGradientNotSummed, ConstantFactor, MaskDropped
from compare.selftest import check_backprop, run_self_test, self_test_mistakes
from reference import Backprop, load_exercise
from reference.exercise import CHAPTER7_PATH

BATCH = CHAPTER7_PATH.parent / "diagonal_flip_batch.toml"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_all_31_gradients_agree(chapter7, dtype):
    comparison = compare_exercise(chapter7, dtype)
    assert len(comparison.gradients) == 31
    assert [r.label for r in comparison.gradients[:3]] == ["W1[0][0]", "W1[0][1]", "W1[0][2]"]
    assert all(r.agree for r in comparison.gradients), [r.verdict for r in comparison.gradients if not r.agree]
    assert comparison.ok
    summary = summarize(comparison)
    assert summary["gradients_agree"] == 31
    assert summary["nonzero_gradients"] == 12
    assert summary["nonzero_by_parameter"]["W1"] == {"nonzero": 3, "total": 12}
    assert summary["printed_checked"] == 55 and summary["printed_agree"] == 55


def test_hidden_neuron_0_is_at_the_kink(chapter7):
    comparison = compare_exercise(chapter7, "float64")
    assert len(comparison.kinks) == 1
    kink = comparison.kinks[0]
    assert (kink.neuron.layer, kink.neuron.index, kink.exact_z) == (1, 0, 0)
    kink_rows = {r.label for r in comparison.gradients if r.kink}
    assert kink_rows == {"W1[0][0]", "W1[1][0]", "W1[2][0]", "W1[3][0]", "b1[0]"}
    assert "dead (on the boundary)" in comparison.kink_notes[0]
    # float64 autograd puts z1[0] at +2.8e-17: it takes ReLU' = 1, a valid subgradient.
    row = next(r for r in comparison.gradients if r.label == "W1[0][0]")
    assert row.autograd == pytest.approx(-0.0975)
    assert row.expected["autograd"] == Fraction(-39, 400) and row.exact == 0
    assert row.agree and "autograd took the other side of the kink" in row.verdict


def test_reasons_follow_the_texts_summary(chapter7):
    reasons = {r.label: r.reason for r in compare_exercise(chapter7).gradients}
    assert reasons["W1[0][1]"] == "dead neuron 1"
    assert reasons["W1[0][0]"] == "dead neuron 0 (on the boundary)"
    assert reasons["W1[1][2]"] == "input x[1] = 0"
    assert reasons["W1[0][2]"] == "will decrease"
    assert reasons["W2[2][0]"] == "will increase"
    assert reasons["W2[2][2]"] == "tiny increase"
    assert reasons["b2[2]"] == "tiny increase"
    assert reasons["W2[1][3]"] == "dead neuron 1"


def test_the_texts_counts_are_checked_and_its_off_by_one_is_a_known_erratum(chapter7):
    claims = {c["claim"]: c for c in summarize(compare_exercise(chapter7))["claims"]}
    assert {k: (c["stated"], c["exact"], c["holds"], c["erratum"], c["agree"]) for k, c in claims.items()} == {
        "zero_gradients.W2": (8, 8, True, False, True),
        "nonzero_gradients.W1": (3, 3, True, False, True),
        "nonzero_gradients": (11, 12, False, True, True),
        "zero_gradients": (20, 19, False, True, True),
    }


def test_a_wrong_claim_fails_unless_it_is_a_known_erratum(chapter7_variant):
    not_listed = load_exercise(chapter7_variant('claims = ["nonzero_gradients", "zero_gradients"]',
                                                'claims = ["zero_gradients"]'))
    comparison = compare_exercise(not_listed)
    assert not comparison.ok
    assert "but exactly 12 do (W1 3/12, b1 1/3, W2 4/12, b2 4/4): WRONG" in comparison.claims[2].message
    corrected = load_exercise(chapter7_variant("nonzero_gradients = 11 ", "nonzero_gradients = 12 ", "c.toml"))
    comparison = compare_exercise(corrected)
    assert not comparison.ok  # listed as an erratum, but the claim now holds
    assert "listed as an erratum, but it holds" in comparison.claims[2].message


def test_errata_must_name_claims(chapter7_variant):
    from reference.exercise import ExerciseError
    with pytest.raises(ExerciseError, match=r"errata.claims: expected names of claims in \[claims\]"):
        load_exercise(chapter7_variant('claims = ["nonzero_gradients", "zero_gradients"]', 'claims = ["L"]'))

def test_perturbed_printed_value_is_rejected(chapter7_variant):
    path = chapter7_variant('"dL/dy_hat" = [-0.45,', '"dL/dy_hat" = [-0.46,')
    comparison = compare_exercise(load_exercise(path))
    bad = [r for r in comparison.gradients + comparison.intermediates if not r.agree]
    assert [r.label for r in bad] == ["dL/dy_hat[0]"]
    assert "printed -0.46 ≠ exact" in bad[0].verdict
    assert not comparison.ok


def test_loss_printed_as_0_895_is_rejected(chapter7_variant):
    comparison = compare_exercise(load_exercise(chapter7_variant("L = 0.896", "L = 0.895")))
    assert [r.label for r in comparison.intermediates if not r.agree] == ["L"]


def test_batch_agrees_with_autograd_on_the_batched_tensor():
    batch = load_exercise(BATCH)
    comparison = compare_exercise(batch)
    assert comparison.ok
    assert summarize(comparison)["nonzero_gradients"] == 20


def test_tolerance_override_tightens_float32():
    chapter7 = load_exercise(CHAPTER7_PATH)
    tight = compare_exercise(chapter7, "float32", Tolerance.for_dtype("float32", rtol=0, atol=1e-12))
    assert not tight.ok


def test_every_mistake_of_the_chapter_is_rejected_and_named(chapter7):
    mistakes = self_test_mistakes(chapter7)
    assert len(mistakes) >= 12
    for mistake in mistakes:
        result = check_backprop(chapter7, mistake)
        assert result.rejected and result.named and result.passed, (mistake, result.evidence)


def test_batch_only_variant_needs_the_batch(chapter7):
    batch = load_exercise(BATCH)
    assert not check_backprop(chapter7, BiasGradientNotSummed(chapter7.architecture), expected_to_fail=False).rejected
    assert check_backprop(batch, BiasGradientNotSummed(batch.architecture)).rejected


def test_correct_backprop_is_accepted_by_the_self_test(chapter7):
    results = run_self_test(chapter7, batch=load_exercise(BATCH))
    assert all(r.passed for r in results)
    assert results[0].name == "Backprop on chapter7.toml" and not results[0].rejected and results[0].named is None
    batch_only = {m.name for m in self_test_mistakes(load_exercise(BATCH)) if m.batch_only}
    assert batch_only == {"BiasGradientNotSummed", "BiasGradientMean", "ConstantFactor(1/4)"}
    assert ({r.name.split(" on ")[0] for r in results if r.expected_to_fail}
            == {m.name for m in self_test_mistakes(chapter7)} | batch_only)


def test_hand_pass_that_raises_is_a_verdict(chapter7):
    class Raises(Backprop):
        def loss_gradient(self, *args):
            raise RuntimeError("boom")
    comparison = compare_exercise(chapter7, backprop=Raises())
    assert not comparison.ok
    assert comparison.hand_error == "RuntimeError: boom"
    assert all("hand backward failed" in r.verdict for r in comparison.gradients)


def test_every_variant_of_the_default_self_test_applies_and_is_caught(chapter7):
    results = run_self_test(chapter7, batch=load_exercise(BATCH), bundled=True)
    assert all(r.applicable for r in results)
    assert all(r.passed for r in results)


def test_a_variant_that_computes_the_correct_numbers_is_not_applicable():
    tanh = load_exercise(BATCH.parent / "tanh_3_4_2.toml")  # 2/n = 1 with two outputs
    arch = tanh.architecture
    result = check_backprop(tanh, ConstantFactor(arch, Fraction(1), "a factor 1"))
    assert not result.applicable and result.passed and not result.rejected
    assert check_backprop(tanh, BiasGradientNotSummed(arch)).applicable
    assert not MaskDropped(load_exercise(BATCH.parent / "mazur_2_2_2_sigmoid.toml").architecture).describe().startswith("ReLU")
