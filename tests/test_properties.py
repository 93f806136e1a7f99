"""Property-based tests: on random networks, activations, losses, weights and inputs, the
hand backward pass, autograd, exact/50-digit values, finite differences and forward-mode
JVPs all agree, except at rows flagged as kinks."""
from hypothesis import HealthCheck, given, settings

from compare import compare_exercise
from compare.witnesses import add_finite_differences, add_jvp
from tests.strategies import exercises

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(exercises())
def test_hand_and_autograd_agree_everywhere_but_kinks(exercise):
    comparison = compare_exercise(exercise, "float64")
    for row in comparison.gradients + comparison.intermediates:
        assert row.agree or row.kink, (row.label, row.verdict, exercise.architecture)


@SETTINGS
@given(exercises())
def test_finite_differences_agree_with_both(exercise):
    comparison = compare_exercise(exercise, "float64")
    add_finite_differences(comparison)
    for row in comparison.gradients:
        assert row.finite_difference is not None
        if not row.fd_note:
            assert "finite difference ≠ exact" not in row.problems, (row.label, row.finite_difference, row.exact)
            assert abs(float(row.finite_difference) - row.autograd) <= 1e-6 + 1e-6 * abs(row.autograd) or row.kink


@settings(max_examples=25, deadline=None)
@given(exercises(max_layers=2))
def test_forward_mode_agrees(exercise):
    comparison = compare_exercise(exercise, "float64")
    add_jvp(comparison, count=2, seed=1)
    assert all(j.agree for j in comparison.jvp), [j.verdict for j in comparison.jvp]


@settings(max_examples=25, deadline=None)
@given(exercises(max_layers=2))
def test_float32_agrees_within_float32_tolerance(exercise):
    comparison = compare_exercise(exercise, "float32")
    for row in comparison.gradients:
        assert row.agree or row.kink, (row.label, row.verdict)
