"""Tolerances: float results against exact values, written values against exact values.

Floats follow ``torch.testing.assert_close``: ``|actual - expected| <= atol + rtol *
|expected|``, with its defaults per dtype. A written (printed) value with d decimals
agrees when it lies within 1/2 * 10**-d of the exact value; an integer must be exact.
An exercise's ``[grading]`` (``reference.exercise.Grading``) may replace that rule for
hand answers by a relative tolerance or a number of significant figures.
"""
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from reference.exercise import Grading
from reference.numbers import rounding_half_width

PRINTED_RULE = Grading()

# torch.testing.assert_close defaults (rtol, atol) per dtype.
DEFAULTS = {"float64": (1e-7, 1e-7), "float32": (1.3e-6, 1e-5)}


@dataclass(frozen=True)
class Tolerance:
    """``rtol`` and ``atol`` (dimensionless, as torch.testing) for one float dtype."""
    rtol: float
    atol: float

    @classmethod
    def for_dtype(cls, dtype: str, rtol: float | None = None, atol: float | None = None) -> "Tolerance":
        """The dtype's defaults, each overridden where given. Raises ``KeyError`` for an
        unknown dtype name."""
        default_rtol, default_atol = DEFAULTS[dtype]
        return cls(default_rtol if rtol is None else rtol, default_atol if atol is None else atol)

    def close(self, actual: float, expected) -> bool:
        """``actual`` (a float) agrees with ``expected`` (float or Fraction). An exact
        value beyond the float range (exp(800)) agrees with no float."""
        try:
            expected = float(expected)
        except OverflowError:
            return False
        return abs(float(actual) - expected) <= self.atol + self.rtol * abs(expected)

    def near_zero(self, value: float) -> bool:
        """Within ``atol`` of 0: where a float pre-activation may sit on a ReLU kink."""
        return abs(float(value)) <= self.atol


def decimal_exponent(value: Fraction) -> int:
    """e with 10**e <= |value| < 10**(e + 1), exactly (``value`` nonzero)."""
    value = abs(value)
    e = len(str(value.numerator)) - len(str(value.denominator))
    while Fraction(10) ** e > value:
        e -= 1
    while Fraction(10) ** (e + 1) <= value:
        e += 1
    return e


def allowance(written: Decimal, reference: Fraction, rule: Grading = PRINTED_RULE) -> Fraction:
    """How far from ``reference`` the written value may lie and still be right: half a
    unit in its last written place (the default rule), ``rtol * |reference|``, or half a
    unit in the ``sig_figs``-th significant digit of ``reference``."""
    if rule.rtol is not None:
        return Fraction(rule.rtol) * abs(reference)
    if rule.sig_figs is not None:
        return Fraction(0) if reference == 0 else Fraction(1, 2) * Fraction(10) ** (
            decimal_exponent(reference) - rule.sig_figs + 1)
    return rounding_half_width(written)


def rule_text(rule: Grading = PRINTED_RULE) -> str:
    """The rule in words, for the report: which rule judged an answer."""
    if rule.rtol is not None:
        return f"relative tolerance {rule.rtol:f} of the exact value ([grading] rtol)"
    if rule.sig_figs is not None:
        return f"{rule.sig_figs} significant figures of the exact value ([grading] sig_figs)"
    return "the exact value within its printed rounding (±1/2 in the last written place)"


def written_value_agrees(written: Decimal, exact: Fraction, rule: Grading = PRINTED_RULE) -> bool:
    """A value written with d decimals agrees with ``exact`` when it lies within
    1/2 * 10**-d of it (boundary included): 0.896 agrees with 717/800 = 0.89625, 0.895
    does not. An integer written without a decimal point must equal ``exact``. An
    exercise's ``[grading]`` rule replaces the 1/2 * 10**-d (``allowance``)."""
    return abs(Fraction(written) - exact) <= allowance(written, exact, rule)
