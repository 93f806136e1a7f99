"""Tolerances: float results against exact values, written values against exact values.

Floats follow ``torch.testing.assert_close``: ``|actual - expected| <= atol + rtol *
|expected|``, with its defaults per dtype. A written (printed) value with d decimals
agrees when it lies within 1/2 * 10**-d of the exact value; an integer must be exact.
"""
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from reference.numbers import rounding_half_width

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
        """``actual`` (a float) agrees with ``expected`` (float or Fraction)."""
        expected = float(expected)
        return abs(float(actual) - expected) <= self.atol + self.rtol * abs(expected)

    def near_zero(self, value: float) -> bool:
        """Within ``atol`` of 0: where a float pre-activation may sit on a ReLU kink."""
        return abs(float(value)) <= self.atol


def written_value_agrees(written: Decimal, exact: Fraction) -> bool:
    """A value written with d decimals agrees with ``exact`` when it lies within
    1/2 * 10**-d of it (boundary included): 0.896 agrees with 717/800 = 0.89625, 0.895
    does not. An integer written without a decimal point must equal ``exact``."""
    return abs(Fraction(written) - exact) <= rounding_half_width(written)
