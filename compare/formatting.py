"""How numbers are shown: exact fractions as decimals where finite, floats briefly."""
from fractions import Fraction


MAX_DIGITS = 20


def exact_text(value: Fraction) -> str:
    """``Fraction(-39, 400)`` -> ``"-0.0975"``; a fraction with no finite decimal
    expansion -> ``"1/3"``; a value whose expansion runs past 20 digits (a 50-digit
    mpmath ground truth) -> ``"≈0.0821670405"``, rounded to 12 significant digits."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    places = max(twos, fives)
    if places > MAX_DIGITS and (den != 1 or value.denominator.bit_length() > 64):
        return f"≈{float(value):.12g}"
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    scaled = abs(value.numerator) * (10 ** places // value.denominator)
    digits = str(scaled).rjust(places + 1, "0")
    text = digits if places == 0 else f"{digits[:-places]}.{digits[-places:]}"
    return ("-" if value < 0 else "") + text


def float_text(value: float) -> str:
    """Enough digits to see float noise, without the last noisy ones: ``.12g``;
    ``-0.0`` shows as ``0``."""
    value = float(value)
    return "0" if value == 0 else f"{value:.12g}"


def diff_text(value: float) -> str:
    """An absolute difference in scientific notation: ``5.6e-17``; exact zero as ``0``."""
    return "0" if value == 0 else f"{value:.1e}"
