"""Decimal values as written, and the number types the backward pass runs on.

Exercise files hold decimals (``0.1``), read as ``decimal.Decimal`` so nothing is rounded
on the way in. From them we build exact ``fractions.Fraction`` arrays (the ground truth
for networks that stay in the rationals), ``mpmath.mpf`` arrays at 50 significant digits
(the ground truth where the math leaves the rationals: sigmoid, tanh, exp, log) and float
arrays, each float made straight from the decimal (correctly rounded to float64; float32
is rounded from that), never through float32 on the way to float64.
"""
import contextlib
import contextvars
import math
from decimal import Decimal
from fractions import Fraction

import numpy as np

EXACT = "exact"
MP = "mp50"
MP_DIGITS = 50
MP_ZERO = 1e-40  # a 50-digit value this close to 0 is the rounding of an exact 0 (a float: mpf compares with it)
# The 50-digit track's exponent range, in bits: an exp or sigmoid below 2**-MP_EXPONENT_LIMIT
# (about 1e-4932, the range of IEEE quadruple precision) underflows to 0, as in any
# floating-point arithmetic, far below float64's smallest number (5e-324). Without it
# exp(-1e300) would be a number whose exact binary value has 1e300 digits.
MP_EXPONENT_LIMIT = 16384
FLOAT_DTYPES = {"float64": np.float64, "float32": np.float32}
GROUND_TRUTH_NAMES = {EXACT: "exact rational arithmetic (fractions.Fraction)",
                      MP: f"mpmath at {MP_DIGITS} significant digits"}


def decimal_array(nested) -> np.ndarray:
    """Nested lists of ``Decimal``/``int`` as an object array of ``Decimal``.

    Raises ``ValueError`` for ragged nesting and ``TypeError`` for anything that is not
    a ``Decimal`` or an ``int`` (a bool, a string); callers check the shape.
    """
    arr = np.empty(_nested_shape(nested), dtype=object)
    flat = arr.reshape(-1)
    for i, value in enumerate(_flatten(nested)):
        if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
            raise TypeError(f"not a number: {value!r}")
        flat[i] = value if isinstance(value, Decimal) else Decimal(value)
    return arr


def _nested_shape(nested) -> tuple:
    if not isinstance(nested, list):
        return ()
    if not nested:
        return (0,)
    inner = [_nested_shape(item) for item in nested]
    if any(s != inner[0] for s in inner):
        raise ValueError("ragged nesting")
    return (len(nested),) + inner[0]


def _flatten(nested):
    if isinstance(nested, list):
        for item in nested:
            yield from _flatten(item)
    else:
        yield nested


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for arrays of any number type of this module, with the same numbers.

    Exact arrays (object arrays of ``Fraction`` and ``int``) are multiplied in integers:
    each side is scaled to a common denominator, the integer products are summed, and
    only the m x n results become fractions again, so a multiply-add costs an integer
    operation (about 60 ns) instead of a ``Fraction`` one (about 2 us, a gcd each).
    Where the common denominator would be much longer than the longest single one
    (unrelated denominators), or for floats and mpf, it is plain ``a @ b``.
    """
    if a.dtype != object or b.dtype != object or not a.size or not b.size:
        return a @ b
    scaled = [_common_denominator(a), _common_denominator(b)]
    if scaled[0] is None or scaled[1] is None:
        return a @ b
    (numerators_a, denominator_a), (numerators_b, denominator_b) = scaled
    product = numerators_a @ numerators_b
    denominator = denominator_a * denominator_b
    out = np.empty(product.shape, dtype=object)
    out.reshape(-1)[:] = [Fraction(v, denominator) for v in product.reshape(-1)]
    return out


def _common_denominator(values: np.ndarray):
    """``(integer numerators, d)`` with ``values == numerators / d`` for an array of
    Fractions and ints, or None for other entries or a d much longer than its parts."""
    flat = values.reshape(-1)
    if not all(type(v) is Fraction or type(v) is int for v in flat):
        return None
    denominators = {v.denominator for v in flat}
    d = math.lcm(*denominators)
    if d.bit_length() > 4 * max(x.bit_length() for x in denominators) + 64:
        return None
    numerators = np.empty(values.shape, dtype=object)
    numerators.reshape(-1)[:] = [v.numerator * (d // v.denominator) for v in flat]
    return numerators, d


def mp():
    """The mpmath context, set to ``MP_DIGITS`` significant digits (imported lazily:
    rational networks never need it)."""
    import mpmath
    mpmath.mp.dps = MP_DIGITS
    return mpmath


def convert(values: np.ndarray, number_type: str) -> np.ndarray:
    """Convert a ``Decimal`` object array to the given number type.

    ``number_type`` is ``"exact"`` (object array of ``Fraction``), ``"mp50"`` (object
    array of ``mpmath.mpf``, 50 digits), ``"float64"`` or ``"float32"``. Shape is kept.
    Raises ``KeyError`` for an unknown number type.
    """
    if number_type in (EXACT, MP):
        make = Fraction if number_type == EXACT else (lambda d, m=mp(): m.mpf(str(d)))
        out = np.empty(values.shape, dtype=object)
        out.reshape(-1)[:] = [make(v) for v in values.reshape(-1)]
        return out
    dtype = FLOAT_DTYPES[number_type]
    return np.array([float(v) for v in values.reshape(-1)],
                    dtype=np.float64).astype(dtype).reshape(values.shape)


def decimals_written(value: Decimal) -> int | None:
    """How many decimals a written value has: ``0.896`` -> 3, ``0.0`` -> 1.

    An integer written without a decimal point (``0``, ``1``) returns ``None``: it is
    read as exact, so a printed ``0`` means exactly zero, as the text uses it.
    """
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < 0:
        return -exponent
    if "." in str(value) or "E" in str(value).upper():
        return max(0, -exponent) if isinstance(exponent, int) else None
    return None


def rounding_half_width(value: Decimal) -> Fraction:
    """Half a unit in the last written place: 0.896 -> 1/2000; integers -> 0."""
    decimals = decimals_written(value)
    return Fraction(0) if decimals is None else Fraction(1, 2 * 10 ** decimals)


def mp_exponent(value) -> int:
    """The binary exponent e of an ``mpmath.mpf``: 2**(e - 1) <= |value| < 2**e (0 for 0,
    inf and nan). Read from its representation, never computed."""
    sign, man, exp, bits = value._mpf_
    return exp + bits if man else 0


_UNDERFLOWS = contextvars.ContextVar("underflows", default=None)


def flush_underflow(values: np.ndarray) -> np.ndarray:
    """An object array of ``mpmath.mpf`` with every value below 2**-MP_EXPONENT_LIMIT in
    magnitude set to 0 (the 50-digit track's underflow); other arrays unchanged. Within
    ``counting_underflows`` the values set to 0 are counted."""
    if values.dtype != object:
        return values
    flat = values.reshape(-1)
    for i, v in enumerate(flat):
        if hasattr(v, "_mpf_") and mp_exponent(v) < -MP_EXPONENT_LIMIT:
            flat[i] = 0 * v
            counter = _UNDERFLOWS.get()
            if counter is not None:
                counter[0] += 1
    return values


@contextlib.contextmanager
def counting_underflows():
    """Count the values ``flush_underflow`` sets to 0 in the block: yields a one-item
    list whose item is the count so far."""
    counter = [0]
    token = _UNDERFLOWS.set(counter)
    try:
        yield counter
    finally:
        _UNDERFLOWS.reset(token)


def as_fraction(value) -> Fraction:
    """An exact Fraction from a Decimal, int, Fraction, float or ``mpmath.mpf`` (the
    exact binary value of a float or mpf).

    Raises ``ValueError`` for a NaN or infinite mpf and ``OverflowError`` for an mpf
    beyond 2**±(4 * MP_EXPONENT_LIMIT), whose exact value would take time and memory
    that grow with its exponent (the 50-digit track flushes such values to 0 before)."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (np.floating, float)):
        return Fraction(float(value))
    if isinstance(value, (np.integer, np.bool_, bool)):
        return Fraction(int(value))
    if hasattr(value, "_mpf_"):  # mpmath.mpf: (sign, mantissa, exponent, bit count)
        sign, man, exp, _ = value._mpf_
        if not man and exp:
            raise ValueError(f"not a finite number: {value}")
        if abs(mp_exponent(value)) > 4 * MP_EXPONENT_LIMIT:
            raise OverflowError(f"a {MP_DIGITS}-digit value of about 2**{mp_exponent(value)} is beyond the "
                                "range of exact fractions")
        return (-1) ** sign * Fraction(man) * Fraction(2) ** exp
    return Fraction(value)
