"""How numbers are shown: exact fractions as decimals where finite, floats briefly."""
import math
import unicodedata
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np


MAX_DIGITS = 20


def _twos_fives_rest(denominator: int) -> tuple[int, int, int]:
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    return twos, fives, denominator


def terminating_places(value: Fraction) -> int | None:
    """Decimal places of ``value`` written out in full (``-39/400`` -> 4), None when its
    decimal expansion does not end (``1/3``)."""
    twos, fives, rest = _twos_fives_rest(value.denominator)
    return max(twos, fives) if rest == 1 else None


def significant_decimal(value: Fraction, digits: int) -> Decimal:
    """``value`` rounded to ``digits`` significant digits, as a ``Decimal``."""
    with localcontext() as ctx:
        ctx.prec = digits
        return Decimal(value.numerator) / Decimal(value.denominator)


def exact_text(value: Fraction) -> str:
    """``Fraction(-39, 400)`` -> ``"-0.0975"``; a fraction with no finite decimal
    expansion -> ``"1/3"``; a value whose expansion runs past 20 digits (a 50-digit
    mpmath ground truth) -> ``"≈0.0821670405"``, rounded to 12 significant digits."""
    twos, fives, rest = _twos_fives_rest(value.denominator)
    places = max(twos, fives)
    if places > MAX_DIGITS and (rest != 1 or value.denominator.bit_length() > 64):
        return approximate_text(value)
    if abs(value) >= 10 ** MAX_DIGITS:  # a long integer part: 1e+300, or ≈ and 12 digits
        rounded = significant_decimal(value, MAX_DIGITS)
        return f"{rounded.normalize():e}" if rounded == value else approximate_text(value)
    if rest != 1:
        return f"{value.numerator}/{value.denominator}"
    scaled = abs(value.numerator) * (10 ** places // value.denominator)
    digits = str(scaled).rjust(places + 1, "0")
    text = digits if places == 0 else f"{digits[:-places]}.{digits[-places:]}"
    return ("-" if value < 0 else "") + text


def short_decimal(value: Fraction, significant: int = 40, max_places: int = 12) -> Decimal | None:
    """The short decimal a high-precision value stands for, if any: a 50-digit mpmath
    value of -0.1 is the binary number nearest -0.1, whose first 40 significant digits
    round to -0.1000...; None when those digits need more than ``max_places`` places or
    ``MAX_DIGITS`` digits (6e+299 and 1.67e+299 are no short decimals)."""
    rounded = significant_decimal(value, significant).normalize()
    if rounded == 0:
        return Decimal(0)
    digits, exponent = rounded.as_tuple()[1:]
    short = -exponent <= max_places and len(digits) <= MAX_DIGITS and rounded.adjusted() < MAX_DIGITS
    return rounded if short else None


def approximate_text(value: Fraction, digits: int = 12) -> str:
    """A value of a 50-digit ground truth: its short decimal where it is one (``-0.1``),
    else ``≈`` and ``digits`` significant digits (``≈1.66666666667e+299``, also beyond
    float64's range)."""
    short = short_decimal(value)
    if short is not None:
        return f"{short:f}"
    try:
        approximate = float(value)
    except OverflowError:
        approximate = math.inf
    if math.isinf(approximate) or (approximate == 0 and value != 0):
        return f"≈{significant_decimal(value, digits).normalize():e}"
    return f"≈{approximate:.{digits}g}"


def array_text(values, cell=str) -> str:
    """Nested lists of an array's entries, each shown by ``cell``: ``[[0.2, 0.1], ...]``."""
    if not isinstance(values, np.ndarray):
        return cell(values)
    if values.ndim == 0:
        return cell(values[()])
    return "[" + ", ".join(array_text(v, cell) for v in values) + "]"


def float_text(value: float) -> str:
    """Enough digits to see float noise, without the last noisy ones: ``.12g``;
    ``-0.0`` shows as ``0``."""
    value = float(value)
    return "0" if value == 0 else f"{value:.12g}"


def diff_text(value: float) -> str:
    """An absolute difference in scientific notation: ``5.6e-17``; exact zero as ``0``."""
    return "0" if value == 0 else f"{value:.1e}"


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "<": r"\textless{}", ">": r"\textgreater{}", "′": "'", "−": "-", "≤": r"$\le$",
                 "≥": r"$\ge$", "·": r"$\cdot$", "×": r"$\times$", "…": "...", "—": "---", "–": "--",
                 "≈": r"$\approx$", "∂": r"$\partial$", "θ": r"$\theta$", "⟨": r"$\langle$", "⟩": r"$\rangle$",
                 "½": r"$\frac12$", "⊗": r"$\otimes$", "∇": r"$\nabla$", "ŷ": r"$\hat y$"}


LATEX_SPECIAL.update({"“": "``", "”": "''", "‘": "`", "’": "'", "„": ",,", "«": r"\guillemotleft{}",
                      "»": r"\guillemotright{}", "§": r"\S{}", "¶": r"\P{}", "°": r"$^\circ$", "±": r"$\pm$",
                      "→": r"$\to$", "←": r"$\leftarrow$", "∑": r"$\sum$", "Σ": r"$\Sigma$", "√": r"$\surd$",
                      "∈": r"$\in$", "≠": r"$\ne$", "∞": r"$\infty$", "ß": r"\ss{}", "ø": r"\o{}",
                      "Ø": r"\O{}", "æ": r"\ae{}", "Æ": r"\AE{}", "œ": r"\oe{}", "å": r"\aa{}", "Å": r"\AA{}",
                      "\u00a0": "~"})
# Greek letters LaTeX names in math mode (capitals only where they differ from Latin ones)
GREEK_CAPITALS = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}
GREEK_AS_LATIN = {"Alpha": "A", "Beta": "B", "Epsilon": "E", "Zeta": "Z", "Eta": "H", "Iota": "I", "Kappa": "K",
                  "Mu": "M", "Nu": "N", "Omicron": "O", "Rho": "P", "Tau": "T", "Chi": "X"}
# combining accents (after NFD) as LaTeX text accents
LATEX_ACCENTS = {"\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~", "\u0304": "=",
                 "\u0327": "c", "\u030c": "v", "\u0306": "u", "\u030a": "r", "\u0328": "k", "\u030b": "H"}


def _latex_letter(c: str) -> str | None:
    """A Greek letter in math mode (σ as ``$\\sigma$``) or an accented Latin letter as a
    text accent (é as ``\\'{e}``); None for anything else."""
    name = unicodedata.name(c, "")
    if name.startswith("GREEK SMALL LETTER ") and " WITH " not in name:
        letter = name.split()[-1].lower()
        letter = {"lamda": "lambda", "final": "varsigma", "omicron": "o"}.get(letter, letter)
        return letter if letter == "o" else f"$\\{letter}$"
    if name.startswith("GREEK CAPITAL LETTER ") and " WITH " not in name:
        letter = name.split()[-1].capitalize().replace("Lamda", "Lambda")
        return f"$\\{letter}$" if letter in GREEK_CAPITALS else GREEK_AS_LATIN.get(letter)
    parts = unicodedata.normalize("NFD", c)
    if len(parts) == 2 and parts[0].isascii() and parts[0].isalpha() and parts[1] in LATEX_ACCENTS:
        return f"\\{LATEX_ACCENTS[parts[1]]}{{{parts[0]}}}"
    return None


def latex_escape(text: str) -> str:
    """Text-mode LaTeX: special characters escaped, common Unicode symbols, Greek letters
    and accented Latin letters mapped, any other non-ASCII character replaced by ``?`` so
    the document always compiles with pdflatex."""
    out = []
    for c in text:
        if c in LATEX_SPECIAL:
            out.append(LATEX_SPECIAL[c])
        elif ord(c) < 128:
            out.append(c)
        else:
            out.append(_latex_letter(c) or "?")
    return "".join(out)
