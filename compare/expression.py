"""Formulas of the answer key's working: expression trees whose leaves are named values.

One tree gives three things: the formula in the text's symbols (``h[2] · ∂L/∂ŷ[0]``),
the same formula with the numbers substituted (``0.5 × (−0.45)``), and its value,
evaluated in the ground truth's arithmetic (``Fraction``, or ``mpmath`` at 50 digits), so
that what the key shows can be checked against what it claims. Rendered as Unicode text
(Markdown, HTML) or as LaTeX math.

A sum of more than ``MAX_TERMS`` terms shows its first ``HEAD_TERMS`` and its last term
(``1×0.3 + 0×0.1 + 1×0.2 + … + 1×0.5 (64 terms)``); its terms may be a lazy ``Terms``
sequence, so a key of a wide layer builds only the terms it shows.
"""
import functools
from dataclasses import dataclass, field, replace
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Callable, Sequence

from compare.formatting import exact_text, short_decimal, significant_decimal, terminating_places
from reference.numbers import as_fraction

MAX_TERMS, HEAD_TERMS = 6, 3
SHORT_PLACES = 8  # a value with at most this many decimals is shown in full, whatever --digits
SUM, PRODUCT, UNARY, POWER, ATOM = 1, 2, 3, 4, 5  # precedences, loosest first


@dataclass(frozen=True)
class Style:
    """The tokens of one output: Unicode text or LaTeX math."""
    latex: bool
    times_symbol: str
    times_value: str
    times_tight: str
    minus: str
    ellipsis: str
    approx: str


TEXT = Style(False, " · ", " × ", "×", "−", "…", "≈")
LATEX = Style(True, r" \cdot ", r" \times ", r"\times ", "-", r"\dots", r"\approx")


class Numbers:
    """How numbers are shown: short decimals in full, others to ``digits`` decimals.
    ``rounded`` becomes True once a number is shown other than exactly."""

    def __init__(self, digits: int = 4):
        self.digits = digits
        self.rounded = False

    def text(self, value, style: Style) -> str:
        """``value`` (a Fraction, int or mpf) as the working shows it."""
        shown, rounded = number_text(value, not isinstance(value, (Fraction, int)), style.latex, self.digits)
        self.rounded |= rounded
        return shown


@functools.lru_cache(maxsize=1 << 16)  # a key repeats its inputs and parameters in many entries
def number_text(value, binary: bool, latex: bool, digits: int) -> tuple[str, bool]:
    """``value`` shown with ``digits`` decimals unless it is a short decimal (text or
    LaTeX), and whether that is other than exact; ``binary``: a 50-digit value (which
    stands for the short decimal its digits round to)."""
    exact = as_fraction(value)
    shown, rounded = _shown(exact, binary, digits)
    if "e" in shown:
        mantissa, exponent = shown.split("e")
        shown = rf"{mantissa} \times 10^{{{int(exponent)}}}" if latex else f"{mantissa}e{int(exponent)}"
    return shown.replace("-", LATEX.minus if latex else TEXT.minus), rounded


def _shown(exact: Fraction, binary: bool, digits: int) -> tuple[str, bool]:
    if binary:  # a 50-digit value stands for a short decimal when its digits say so
        short = short_decimal(exact, max_places=SHORT_PLACES)
        if short is not None:
            return f"{short:f}", False
    else:
        places = terminating_places(exact)
        if places is not None and places <= SHORT_PLACES:
            return exact_text(exact), False
    if exact != 0 and (abs(exact) < Fraction(1, 2 * 10 ** digits) or abs(exact) >= 10 ** 15):
        return f"{significant_decimal(exact, digits).normalize():e}", True
    with localcontext() as context:
        context.prec = digits + max(1, len(str(abs(exact.numerator) // exact.denominator))) + 2
        rounded = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal(10) ** -digits)
    return f"{rounded:f}", rounded != exact


@dataclass
class Renderer:
    """One rendering: ``mode`` "symbols" (the formula) or "values" (numbers substituted)."""
    mode: str
    style: Style
    numbers: Numbers
    tight: bool = False  # inside a sum: products without spaces (``1×0.3 + 0×0.1``)
    _other: "Renderer | None" = field(default=None, repr=False, compare=False)  # the other tightness

    def __call__(self, node: "Node", tight: bool = False) -> str:
        if tight == self.tight:
            return node.render(self)
        if self._other is None:  # the same rendering, the other tightness: made once
            self._other = replace(self, tight=tight)
            self._other._other = self
        return node.render(self._other)


class Node:
    """An expression; subclasses render themselves and evaluate."""

    def precedence(self, r: Renderer) -> int:
        """How tightly the node binds as ``r`` renders it (``SUM`` … ``ATOM``): a looser
        child of a tighter operation is put in parentheses."""
        return ATOM

    def render(self, r: Renderer) -> str:
        """The node as ``r`` renders it: symbols or numbers, text or LaTeX."""
        raise NotImplementedError

    def evaluate(self):
        """The value, in the arithmetic of its leaves (Fraction or mpf)."""
        raise TypeError(f"{type(self).__name__} is a symbol only, without a value")


def _wrapped(r: Renderer, node: Node, below: int, minus: bool = True, tight: bool = False) -> str:
    """``node`` rendered, in parentheses when it binds looser than ``below`` or (with
    ``minus``) starts with a minus sign."""
    text = r(node, tight)
    if node.precedence(r) < below or (minus and text.startswith((r.style.minus, "-"))):
        return rf"\left({text}\right)" if r.style.latex and "frac" in text else f"({text})"
    return text


# ---- symbols (no value): the names of the text ----

@dataclass
class Literal(Node):
    """Fixed text in both styles: ``2/4`` (``\\frac{2}{4}``)."""
    text: str
    latex: str
    prec: int = ATOM

    def precedence(self, r):
        return self.prec

    def render(self, r):
        return self.latex if r.style.latex else self.text


def _latex_name(name: str) -> str:
    """``W2`` -> ``W_{2}``, ``y_hat`` -> ``\\hat{y}``, ``dL/dh`` -> ``\\partial L/\\partial h``."""
    if name.startswith("dL/d"):
        return r"\partial L/\partial " + _latex_name(name[4:])
    if name == "y_hat":
        return r"\hat{y}"
    stem = name.rstrip("0123456789")
    if stem and stem.isalpha() and len(stem) == 1:
        return stem + (f"_{{{name[1:]}}}" if name[1:] else "")
    from compare.formatting import latex_escape
    return rf"\mbox{{{latex_escape(name)}}}"


def entry_text(name: str, index: Sequence) -> str:
    """The text's name of an entry: ``("dL/dy_hat", (0,))`` -> ``∂L/∂ŷ[0]``; an index with
    a slice: ``("W1", (":", 2))`` -> ``W1[:,2]``."""
    pretty = name.replace("y_hat", "ŷ").replace("dL/d", "∂L/∂")
    return pretty + _index(index)


def _index(index: Sequence) -> str:
    if any(i == ":" for i in index):
        return "[" + ",".join(str(i) for i in index) + "]"
    return "".join(f"[{i}]" for i in index)


@dataclass
class Entry(Node):
    """An entry of a quantity or parameter, as the text names it: ``h[2]``, ``W1[:,2]``."""
    name: str
    index: tuple = ()

    def render(self, r):
        return _latex_name(self.name) + _index(self.index) if r.style.latex else entry_text(self.name, self.index)


FUNCTIONS = {  # name: (text, LaTeX)
    "relu": ("ReLU", r"\mathrm{ReLU}"), "leaky_relu": ("LeakyReLU", r"\mathrm{LeakyReLU}"),
    "sigmoid": ("σ", r"\sigma"), "tanh": ("tanh", r"\tanh"), "identity": ("id", r"\mathrm{id}"),
    "softmax": ("softmax", r"\mathrm{softmax}"), "exp": ("exp", "e"), "log": ("log", r"\log"),
}


@dataclass
class Applied(Node):
    """A function of the text applied to a symbol: ``σ(z1[0])``, ``ReLU′(z1[2])``."""
    function: str
    argument: Node
    prime: bool = False

    def render(self, r):
        text, latex = FUNCTIONS[self.function]
        name = (latex + ("'" if self.prime else "")) if r.style.latex else text + ("′" if self.prime else "")
        return f"{name}({r(self.argument)})"


@dataclass
class Binary(Node):
    """An operation on two expressions."""
    left: Node
    right: Node


class Dot(Binary):
    """A dot product named by its vectors: ``x·W1[:,2]``."""

    def precedence(self, r):
        return PRODUCT

    def render(self, r):
        return r(self.left) + (r" \cdot " if r.style.latex else "·") + r(self.right)


@dataclass
class Sigma(Node):
    """A sum over indices named by its body: ``Σ_b x[b][0] · ∂L/∂z1[b][2]``."""
    variables: tuple[str, ...]
    body: Node

    def precedence(self, r):
        return PRODUCT  # 1/4 · Σ_j …: the sum reaches to the end, as written

    def render(self, r):
        signs = "".join((rf"\sum_{{{v}}} " if r.style.latex else f"Σ_{v} ") for v in self.variables)
        return signs + _wrapped(r, self.body, PRODUCT, minus=False)


# ---- values and operations ----

@dataclass
class Value(Node):
    """A number, shown as ``symbol`` in the formula (the number itself without one)."""
    value: object
    symbol: Node | None = None

    def precedence(self, r):
        if r.mode == "symbols" and self.symbol is not None:
            return self.symbol.precedence(r)
        return UNARY if self.value < 0 else ATOM  # a negative number binds as a unary minus

    def render(self, r):
        if r.mode == "symbols" and self.symbol is not None:
            return r(self.symbol)
        return r.numbers.text(self.value, r.style)

    def evaluate(self):
        return self.value


@dataclass
class Shown(Node):
    """A formula written one way in symbols and worked out another way in numbers:
    ``x·W1[:,2]`` is ``1×0.3 + 0×0.1 + …``; ``σ(z1[0])`` is ``1/(1 + exp(−0.3))``."""
    symbolic: Node
    numeric: Node

    def _side(self, r):
        return self.symbolic if r.mode == "symbols" else self.numeric

    def precedence(self, r):
        return self._side(r).precedence(r)

    def render(self, r):
        return r(self._side(r), r.tight)

    def evaluate(self):
        return self.numeric.evaluate()


class Terms(Sequence):
    """``count`` terms made on demand by ``make(i)``: a sum of a wide layer builds only
    those it shows, and all of them only when evaluated."""

    def __init__(self, count: int, make: Callable[[int], Node]):
        self.count, self.make = count, make

    def __len__(self):
        return self.count

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.make(j) for j in range(*i.indices(self.count))]
        if not -self.count <= i < self.count:
            raise IndexError(i)
        return self.make(i % self.count)


@dataclass
class Add(Node):
    """A sum; more than ``MAX_TERMS`` terms are shown in part, with their count."""
    terms: Sequence[Node]

    def precedence(self, r):
        return SUM if len(self.terms) > 1 else self.terms[0].precedence(r)

    def render(self, r):
        n = len(self.terms)
        shown = list(self.terms) if n <= MAX_TERMS else [*self.terms[:HEAD_TERMS], None, self.terms[n - 1]]
        parts = []
        for i, term in enumerate(shown):
            if term is None:
                parts.append(r.style.ellipsis)
            else:
                parts.append(r(term, True) if i == 0 else _wrapped(r, term, SUM, tight=True))
        text = " + ".join(parts)
        if n > MAX_TERMS:
            text += rf"\mbox{{ ({n} terms)}}" if r.style.latex else f" ({n} terms)"
        return text

    def evaluate(self):
        total = 0
        for term in self.terms:
            total = total + term.evaluate()
        return total


@dataclass
class Group(Node):
    """An expression kept in parentheses, as one term of a longer sum."""
    inner: Node

    def render(self, r):
        return f"({r(self.inner, r.tight)})"

    def evaluate(self):
        return self.inner.evaluate()


class Sub(Binary):
    """``left − right``."""

    def precedence(self, r):
        return SUM

    def render(self, r):
        return f"{r(self.left, r.tight)} {r.style.minus} {_wrapped(r, self.right, PRODUCT, tight=r.tight)}"

    def evaluate(self):
        return self.left.evaluate() - self.right.evaluate()


@dataclass
class Mul(Node):
    """A product: ``h[2] · ∂L/∂ŷ[0]`` in symbols, ``0.5 × (−0.45)`` in numbers (``1×0.3``
    inside a sum)."""
    factors: list[Node]

    def precedence(self, r):
        return PRODUCT

    def render(self, r):
        if r.mode == "symbols":
            sign = r.style.times_symbol
        else:
            sign = r.style.times_tight if r.tight else r.style.times_value
        if r.mode == "symbols" and r.tight:
            sign = sign.strip() if not r.style.latex else sign
        return sign.join(_wrapped(r, f, PRODUCT, minus=i > 0 or r.tight) for i, f in enumerate(self.factors))

    def evaluate(self):
        result = 1
        for f in self.factors:
            result = result * f.evaluate()
        return result


class Div(Binary):
    """``left / right`` (``\frac`` in LaTeX)."""

    def precedence(self, r):
        return PRODUCT

    def render(self, r):
        if r.style.latex:
            return rf"\frac{{{r(self.left)}}}{{{r(self.right)}}}"
        return f"{_wrapped(r, self.left, PRODUCT, minus=False)}/{_wrapped(r, self.right, UNARY)}"

    def evaluate(self):
        return self.left.evaluate() / self.right.evaluate()


@dataclass
class Square(Node):
    """``base²``."""
    base: Node

    def precedence(self, r):
        return POWER

    def render(self, r):
        return _wrapped(r, self.base, ATOM) + ("^{2}" if r.style.latex else "²")

    def evaluate(self):
        value = self.base.evaluate()
        return value * value


@dataclass
class Neg(Node):
    """``−operand``; of a number, the negated number (``exp(−(−0.5))`` shows ``exp(0.5)``)."""
    operand: Node

    def precedence(self, r):
        return UNARY

    def render(self, r):
        if r.mode == "values" and isinstance(self.operand, Value):
            return r.numbers.text(-self.operand.value, r.style)  # exp(−(−0.5)) is exp(0.5)
        return r.style.minus + _wrapped(r, self.operand, POWER)

    def evaluate(self):
        return -self.operand.evaluate()


@dataclass
class Call(Node):
    """``exp``, ``log``, ``tanh``, or ``max0`` (max(0, ·)) of an argument."""
    function: str
    argument: Node

    def render(self, r):
        argument = r(self.argument)
        if self.function == "max0":
            return (r"\max(0, " if r.style.latex else "max(0, ") + argument + ")"
        if self.function == "exp" and r.style.latex:
            return f"e^{{{argument}}}"
        name = FUNCTIONS[self.function][1 if r.style.latex else 0]
        return f"{name}({argument})"

    def evaluate(self):
        value = self.argument.evaluate()
        if self.function == "max0":
            return value if value > 0 else 0 * value
        import mpmath
        return getattr(mpmath, self.function)(value)


@dataclass
class Cond(Node):
    """``(1 if z1[0] > 0 else 0)``: the derivative of a piecewise linear activation."""
    test: Node
    above: Node
    below: Node

    def render(self, r):
        if r.style.latex:
            return rf"({r(self.above)}\mbox{{ if }}{r(self.test)} > 0\mbox{{ else }}{r(self.below)})"
        return f"({r(self.above)} if {r(self.test)} > 0 else {r(self.below)})"

    def evaluate(self):
        return self.above.evaluate() if self.test.evaluate() > 0 else self.below.evaluate()


@dataclass
class Formula:
    """One entry's working: ``lhs = expression = value``."""
    lhs: Node
    expression: Node
    value: object  # the entry's value in the exact pass

    def render(self, style: Style = TEXT, digits: int = 4) -> str:
        """``∂L/∂W2[2][0] = h[2] · ∂L/∂ŷ[0] = 0.5 × (−0.45) = −0.225``: the symbols and
        the substituted numbers, each left out where it would only repeat the previous
        part; ``≈`` before the value where a number shown is rounded."""
        numbers = Numbers(digits)
        parts = [Renderer("symbols", style, numbers)(self.lhs),
                 Renderer("symbols", style, numbers)(self.expression),
                 Renderer("values", style, numbers)(self.expression)]
        result = numbers.text(self.value, style)
        kept = [p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1]]
        if kept[-1] == result:
            kept.pop()
        return " = ".join(kept) + f" {style.approx if numbers.rounded else '='} " + result

    def evaluate(self):
        """The expression's value in the ground truth's arithmetic."""
        return self.expression.evaluate()
