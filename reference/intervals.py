"""Interval arithmetic for values written with a limited precision ("carried rounding").

A hand answer written as 0.8617 for an exact 0.861723... may have been carried on to the
next step as written or with more digits: any number between the two. To judge a step
from the answer's own rounded upstream values, each written value becomes such an
interval and every step of ``reference.backprop`` runs on object arrays of
``mpmath.iv.mpf`` intervals (outward rounded at ``MP_DIGITS`` digits, so the result
always contains every value the step can take). Sums and products are mpmath's own
interval arithmetic; exp, log and tanh are increasing, so they map the endpoints
(``monotone``); ReLU and leaky ReLU map the endpoints too and their derivative is the
hull [slope, 1] on an interval that contains the kink.
"""
from decimal import Decimal

import numpy as np

from reference.numbers import MP_DIGITS, mp

GUARD = 10  # extra digits for the endpoint functions, then rounded outward


def iv():
    """mpmath's interval context at ``MP_DIGITS`` digits."""
    import mpmath
    mpmath.iv.dps = MP_DIGITS
    return mpmath.iv


def is_interval(value) -> bool:
    """Whether ``value`` is an mpmath interval."""
    return hasattr(value, "_mpi_")


def is_interval_array(values: np.ndarray) -> bool:
    """Whether ``values`` is an object array of mpmath intervals."""
    return values.dtype == object and values.size > 0 and is_interval(values.flat[0])


def point(value) -> object:
    """The interval holding exactly ``value`` (a ``Decimal``, ``Fraction``, int, float or
    mpf); a decimal such as 0.1 becomes the tightest interval around 1/10."""
    context = iv()
    if isinstance(value, Decimal):
        return context.mpf(str(value))
    if hasattr(value, "numerator") and hasattr(value, "denominator") and not isinstance(value, int):
        return context.mpf(value.numerator) / context.mpf(value.denominator)
    return context.mpf(value)


def hull(low, high) -> object:
    """The interval from ``low`` to ``high`` (each an interval or a number)."""
    context = iv()
    a = low.a if is_interval(low) else context.mpf(low).a
    b = high.b if is_interval(high) else context.mpf(high).b
    return context.mpf([a, b])


def contains(interval, value) -> bool:
    """Whether the interval contains the number ``value`` (a Fraction, float or mpf)."""
    inner = point(value)
    return interval.a <= inner.a and inner.b <= interval.b


def distance(interval, value) -> float:
    """How far the number ``value`` lies outside ``interval`` (0 inside), as a float."""
    inner = point(value)
    if inner.b < interval.a:
        return float((interval.a - inner.b).a)
    if inner.a > interval.b:
        return float((inner.a - interval.b).a)
    return 0.0


def intersects(first, second) -> bool:
    """Whether two intervals share a point."""
    return not (first.b < second.a or second.b < first.a)


def midpoint(interval) -> float:
    """The middle of an interval, as a float (for messages)."""
    return float(interval.mid.a)


def monotone(values: np.ndarray, mp_name: str) -> np.ndarray:
    """An increasing function of mpmath (``"exp"``, ``"log"``, ``"tanh"``) on each
    interval: [f(low), f(high)], each endpoint computed with ``GUARD`` more digits and
    widened by one unit of ``MP_DIGITS`` so the result is outward rounded."""
    m = mp()
    context = iv()
    function = getattr(m, mp_name)

    def apply(v):
        with m.workdps(MP_DIGITS + GUARD):
            low, high = function(m.mpf(v.a)), function(m.mpf(v.b))
            slack = m.mpf(10) ** -(MP_DIGITS + 1)
            low = low - slack * max(1, abs(low))
            high = high + slack * max(1, abs(high))
        return context.mpf([low, high])
    return np.frompyfunc(apply, 1, 1)(values).astype(object)


def piecewise_linear(values: np.ndarray, negative_slope) -> np.ndarray:
    """ReLU (slope 0) or leaky ReLU on each interval: the smallest interval holding f at
    both endpoints and, where the interval holds the kink, f(0) = 0 (f is not monotone
    for a negative slope)."""
    context = iv()
    slope = point(negative_slope)

    def f(endpoint):
        bound = context.mpf(endpoint)
        return bound if endpoint > 0 else bound * slope

    def image(v):
        parts = [f(v.a), f(v.b)] + ([context.mpf(0)] if v.a < 0 < v.b else [])
        return context.mpf([min(p.a for p in parts), max(p.b for p in parts)])

    return np.frompyfunc(image, 1, 1)(values).astype(object)


def piecewise_linear_derivative(values: np.ndarray, negative_slope) -> np.ndarray:
    """1 where the whole interval is > 0, the slope where it is <= 0, and the hull of
    both (every subgradient) where it holds the kink and a positive value."""
    context = iv()
    slope = point(negative_slope)
    one = context.mpf(1)
    both = hull(slope if slope.a <= 1 else one, one if slope.a <= 1 else slope)

    def derivative(v):
        if v.a > 0:
            return one
        if v.b <= 0:
            return slope
        return both
    return np.frompyfunc(derivative, 1, 1)(values).astype(object)
