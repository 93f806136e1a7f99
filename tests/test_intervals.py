"""Interval arithmetic for carried rounding is sound: the image of an interval holds the
value at every point inside it (for ReLU and leaky ReLU of any slope, exp, log, tanh,
sigmoid), and the derivative on an interval holding the kink is every subgradient."""
from decimal import Decimal
from fractions import Fraction

import numpy as np
from hypothesis import given, settings, strategies as st

from reference import activations, intervals

decimals = st.decimals(min_value=-5, max_value=5, allow_nan=False, allow_infinity=False, places=3)


def box(low: Decimal, high: Decimal) -> np.ndarray:
    low, high = min(low, high), max(low, high)
    return np.array([intervals.hull(intervals.point(low), intervals.point(high))], dtype=object)


@settings(max_examples=200, deadline=None)
@given(decimals, decimals, st.floats(0, 1), st.sampled_from(["0", "0.1", "-1", "2.5"]))
def test_relu_and_leaky_relu_images_hold_every_point(a, b, t, slope):
    low, high = min(a, b), max(a, b)
    inside = low + (high - low) * Decimal(t)
    image = activations.piecewise_linear(box(low, high), Decimal(slope))[0]
    value = Fraction(inside) if inside > 0 else Fraction(inside) * Fraction(slope)
    assert intervals.contains(image, value)


@settings(max_examples=100, deadline=None)
@given(decimals, decimals, st.floats(0, 1), st.sampled_from(["exp", "tanh"]))
def test_increasing_functions_hold_every_point(a, b, t, name):
    import mpmath
    low, high = min(a, b), max(a, b)
    inside = low + (high - low) * Decimal(t)
    image = activations.elementwise(box(low, high), getattr(np, name), name)[0]
    with mpmath.workdps(60):
        assert intervals.contains(image, getattr(mpmath, name)(mpmath.mpf(str(inside))))


def test_the_kink_gives_every_subgradient_and_a_negative_slope_is_not_monotone():
    both = activations.piecewise_linear_derivative(box(Decimal("-0.05"), Decimal("0.05")), Decimal("0.1"))[0]
    assert intervals.contains(both, Fraction(1, 10)) and intervals.contains(both, 1)
    assert not intervals.contains(both, Fraction(11, 10))
    image = activations.piecewise_linear(box(Decimal(-1), Decimal(1)), Decimal(-1))[0]
    assert intervals.contains(image, 0) and intervals.contains(image, 1) and not intervals.contains(image, -1)
    dead = activations.piecewise_linear_derivative(box(Decimal("-0.3"), Decimal(0)), Decimal(0))[0]
    assert intervals.contains(dead, 0) and not intervals.contains(dead, 1)  # ReLU'(0) = 0 on a closed dead side
