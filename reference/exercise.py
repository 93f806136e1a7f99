"""Exercise files: a network, its parameters, one or more examples and hand answers.

The format is TOML, read with ``tomllib`` and every float parsed as ``Decimal``::

    title = "..."                 # optional
    source = "..."                # optional
    [network]                     # optional; the default is the chapter's 4-3-4 network
    sizes = [4, 3, 4]
    activations = ["relu", "identity"]   # relu, leaky_relu, sigmoid, tanh, identity
    loss = "mse"                         # mse, sse, sum_squares, bce, bce_with_logits, cross_entropy
    reduction = "mean"                   # over the examples: mean or sum
    negative_slope = 0.01                # leaky_relu only
    bias = true                          # or false, or one per layer: [true, false]
    shared_bias = false                  # or true: one number b{k} per layer; or one per layer
    layout = "in_out"                    # z = x @ W + b, W (in, out); "out_in": z = W @ x + b, W (out, in)
    [parameters]                  # W{k} in the layout, b{k} with shape (out,) (a number where shared)
    W1 = [[...], ...]
    [[examples]]                  # one or more
    x = [...]
    y = [...]
    [answers]                     # optional hand answers, whole arrays or single entries
    L = 0.896
    "dL/dW1[0][2]" = 0.44
    [claims]                      # optional claims of the prose, checked and reported
    nonzero_gradients = 11
    [training]                    # optional defaults of `train`: lr, steps, momentum, freeze
    lr = 0.5
    freeze = ["b1", "b2"]
    [after.1]                     # optional values the text prints after update step 1
    L = 0.291
    "W2[0][0]" = 0.35891648

Anything wrong raises ``ExerciseError`` with one line naming the file, the key and what
was expected.
"""
import difflib
import os
import re
import stat
import tomllib
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import numpy as np

from reference import activations, losses, quantities
from reference.numbers import EXACT, MP, decimal_array, decimals_written

CHAPTER7_PATH = Path(__file__).parent / "data" / "chapter7.toml"

ACTIVATIONS = activations.NAMES
LOSSES = losses.NAMES
REDUCTIONS = ("mean", "sum")
DEFAULT_NETWORK = {"sizes": [4, 3, 4], "activations": ["relu", "identity"],
                   "loss": "mse", "reduction": "mean", "negative_slope": Decimal("0.01"), "bias": True,
                   "shared_bias": False, "layout": "in_out"}
# How a text writes its weight matrices: the chapter's z = x @ W + b with W (in, out), or
# z = W @ x + b with W (out, in) (Nielsen's book, and nn.Linear.weight).
LAYOUTS = {"in_out": "z = x @ W + b, W of shape (in, out)", "out_in": "z = W @ x + b, W of shape (out, in)"}
WEIGHT_NAME = re.compile(r"^(dL/d|delta_)?W\d+$")  # a weight, its gradient or its update: what a layout transposes
BIAS_NAME = re.compile(r"^(dL/d|delta_)?b(\d+)$")  # a bias, its gradient or update: one number where shared
TOP_LEVEL_KEYS = {"title", "source", "network", "parameters", "examples", "answers", "claims", "errata", "grading",
                  "training", "after", "variants"}
TRAINING_KEYS = {"lr": "a learning rate: a number >= 0",
                 "steps": "a number of steps: a whole number >= 0",
                 "momentum": "SGD momentum: a number >= 0",
                 "freeze": "a list of parameter names (\"b1\", \"W2\") that keep their values"}
ERRATA_KEYS = ("claims", "after", "backward")
VARIANT_KEYS = {"kink_margin": "a number >= 0: no pre-activation of a ReLU layer closer than this to 0",
                "kinks": "0 or 1: how many pre-activations lie exactly at a kink (1: exactly one)",
                "dead": '"any", "at_least_one" or "none" (every ReLU neuron alive in some example)',
                "short_answers": "true or false: prefer variants whose answers are short decimals"}
GRADING_KEYS = {"rtol": "a relative tolerance between 0 and 1 (0.01 = 1%)",
                "sig_figs": "a number of significant figures from 1 to 15",
                "points": "a table of points: a quantity (\"dL/dW1\"), a step (\"Step 2\") or \"probes\" = a number >= 0",
                "carried_errors_lose_points": "true or false: whether an answer that only carries an earlier "
                                              "error loses its points"}
MAX_POINTS = Decimal(10) ** 6
FLOAT64_MAX = Decimal("1.7976931348623157e308")
FLOAT64_MIN = Decimal("2.2250738585072014e-308")  # smallest normal float64
# The range every number of a file must lie in (0, or a normal magnitude of the dtype the
# float runs use), so that no value becomes inf or a subnormal on the way in.
RANGES = {"float64": (FLOAT64_MIN, FLOAT64_MAX),
          "float32": (Decimal("1.1754943508222875e-38"), Decimal("3.4028234663852886e38"))}
# Claims the prose makes about the numbers, checked and reported beside them; each may
# be narrowed to one parameter tensor: "nonzero_gradients.W1".
CLAIMS = {"nonzero_gradients": "how many parameters receive a nonzero gradient",
          "zero_gradients": "how many parameters receive no gradient"}


def did_you_mean(word, choices) -> str:
    """``"; did you mean 'loss'?"`` naming the choice closest to ``word``: one that
    differs only in case (``w1`` for ``W1``), else ``difflib.get_close_matches``'s; ``""``
    when none is close. For one-line errors about an unknown key, name or option."""
    if not isinstance(word, str):
        return ""
    choices = [str(c) for c in choices]
    found = [c for c in choices if c.casefold() == word.casefold()] or difflib.get_close_matches(word, choices, n=1)
    return f"; did you mean {found[0]!r}?" if found else ""


def one_of(word, choices) -> str:
    """``"one of a, b, c"``, with ``did_you_mean`` for ``word``."""
    return "one of " + ", ".join(str(c) for c in choices) + did_you_mean(word, choices)


def printable(text: str) -> str:
    """``text`` with every character that is not printable (a newline, a tab, an escape
    character, a byte of a file name that is not UTF-8) written as its Python escape
    (``\\n``, ``\\x1b``, ``\\udcff``), so that a message naming it stays one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ExerciseError(ValueError):
    """A bad exercise file. ``str(error)`` is one line: ``FILE: KEY: expected ...``, the
    file name and key escaped by ``printable``."""

    def __init__(self, path, key: str, expected: str):
        self.path, self.key, self.expected = str(path), key, expected
        where = f"{self.path}: {key}: " if key else f"{self.path}: "
        super().__init__(printable(f"{where}expected {expected}"))


@dataclass(frozen=True)
class Architecture:
    """A fully connected network: ``sizes[k]`` neurons per layer, one activation per
    weight layer, a loss over the outputs and a reduction over the examples;
    ``negative_slope`` is leaky ReLU's slope for z < 0 (PyTorch's name and default).
    ``bias[k-1]`` says whether layer k has a bias b_k (``nn.Linear(bias=False)`` where
    not); ``()``, the default, is a bias in every layer (a tuple of all True is stored
    as ``()``). ``shared_bias[k-1]`` says whether layer k's bias is one number shared by
    all its neurons (``()``, the default: none is; a tuple of all False is stored as
    ``()``). ``layout`` is how the text writes its weights (``LAYOUTS``); the computation
    always holds W_k as (in, out), and ``layout_index``/``layout_array`` map an entry or
    an array between that and the text's layout."""
    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    reduction: str
    negative_slope: Decimal = Decimal("0.01")
    bias: tuple[bool, ...] = ()
    shared_bias: tuple[bool, ...] = ()
    layout: str = "in_out"

    def __post_init__(self):
        if self.bias and all(self.bias):
            object.__setattr__(self, "bias", ())
        if not any(self.shared_bias):
            object.__setattr__(self, "shared_bias", ())

    def has_bias(self, k: int) -> bool:
        """Whether layer ``k`` (1-based) has a bias b_k."""
        return not self.bias or bool(self.bias[k - 1])

    def shares_bias(self, k: int) -> bool:
        """Whether layer ``k`` (1-based) has one bias b_k shared by all its neurons: a
        0-d parameter, its gradient the sum over the layer's neurons (and the batch)."""
        return bool(self.shared_bias) and bool(self.shared_bias[k - 1]) and self.has_bias(k)

    def transposes(self, name: str) -> bool:
        """Whether the text writes ``name`` (``W2``, ``dL/dW2``, ``delta_W2``) transposed against the
        computation's (in, out) layout: a weight matrix of an ``out_in`` text."""
        return self.layout == "out_in" and bool(WEIGHT_NAME.match(name))

    def layout_index(self, name: str, index: tuple) -> tuple:
        """Entry ``index`` of ``name`` in the other layout: the text's ``W1[j][i]`` for
        the computation's ``W1[i][j]`` of an ``out_in`` text, and back (the map is its
        own inverse); unchanged for every other name and layout."""
        return tuple(index[::-1]) if self.transposes(name) and len(index) == 2 else tuple(index)

    def layout_shape(self, name: str, shape: tuple) -> tuple:
        """A shape of ``name`` in the other layout (as ``layout_index``)."""
        return self.layout_index(name, tuple(shape))

    def layout_array(self, name: str, array):
        """An array of ``name`` in the other layout: a 2-d weight (gradient) of an
        ``out_in`` text transposed, both ways; anything else as it is."""
        return array.T if self.transposes(name) and np.ndim(array) == 2 else array

    def layout_values(self, values: dict) -> dict:
        """``values`` (arrays by quantity or parameter name) with each array in the other
        layout (``layout_array``): a student's ``params`` from the computation's, what the
        function returns back to it."""
        return {name: self.layout_array(name, value) for name, value in values.items()}

    def label(self, name: str, index: tuple) -> str:
        """How the text names entry ``index`` (the computation's) of ``name``:
        ``"W1[0][2]"``, or ``"W1[2][0]"`` in an ``out_in`` text."""
        return quantities.entry_label(name, self.layout_index(name, index))

    def text_order(self, name: str, shape: tuple) -> list[tuple]:
        """The computation's indices of an array of ``name`` and ``shape`` in the order
        the text reads its entries (row by row of the text's layout)."""
        return [self.layout_index(name, i) for i in np.ndindex(self.layout_shape(name, shape))]

    def layout_text(self) -> str:
        """``"z = x @ W + b, W of shape (in, out)"`` or its ``out_in`` form."""
        return LAYOUTS[self.layout]

    @property
    def layer_biases(self) -> tuple[bool, ...]:
        """``has_bias`` of every layer, in order."""
        return tuple(self.has_bias(k) for k in range(1, self.n_layers + 1))

    def quantity_names(self) -> list[str]:
        """Every quantity of this network (``reference.quantities.all_names``), ``p``
        and the bias gradients included where they exist."""
        return quantities.all_names(self.n_layers, list(self.activations), self.loss, self.layer_biases)

    def printed_names(self) -> list[str]:
        """The quantities texts print beside the steps (``reference.quantities.printed_names``):
        e, exps for cross-entropy, L_per_example, delta_W1 = −lr·∂L/∂W1, ..."""
        return quantities.printed_names(list(self.parameter_shapes()), self.loss)

    def step_groups(self) -> list[tuple[str, list[str]]]:
        """The text's steps of this network (``reference.quantities.step_groups``)."""
        return quantities.step_groups(self.n_layers, list(self.activations), self.loss, self.layer_biases)

    @property
    def rational(self) -> bool:
        """Whether every activation and the loss stay in the rationals (exact Fractions)."""
        return (all(a in activations.RATIONAL for a in self.activations)
                and self.loss in losses.RATIONAL)

    @property
    def ground_truth(self) -> str:
        """The number type of the ground truth: ``"exact"`` (Fraction) for rational
        networks, ``"mp50"`` (mpmath, 50 digits) where sigmoid, tanh, exp or log enter."""
        return EXACT if self.rational else MP

    @property
    def n_layers(self) -> int:
        """Number of weight layers (2 for the chapter's 4-3-4 network)."""
        return len(self.sizes) - 1

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """``{"W1": (4, 3), "b1": (3,), ...}`` in the computation's (in, out) layout
        (``layout_shape`` gives the text's); ``()`` for a shared bias; no ``b{k}`` for a
        layer without bias."""
        shapes = {}
        for k in range(1, self.n_layers + 1):
            shapes[f"W{k}"] = (self.sizes[k - 1], self.sizes[k])
            if self.has_bias(k):
                shapes[f"b{k}"] = () if self.shares_bias(k) else (self.sizes[k],)
        return shapes

    def written_shapes(self) -> dict[str, tuple[int, ...]]:
        """``parameter_shapes`` in the text's layout: how the file writes each parameter."""
        return {name: self.layout_shape(name, shape) for name, shape in self.parameter_shapes().items()}


@dataclass(frozen=True)
class Answer:
    """One hand answer as written: ``key`` as in the file, the quantity ``name``, the
    entry ``index`` (``()`` for a whole array) and the value(s) as a ``Decimal`` array;
    ``index`` and ``value`` in the computation's (in, out) layout, whatever the text's
    (``Architecture.layout_index`` gives the text's entry)."""
    key: str
    name: str
    index: tuple[int, ...]
    value: np.ndarray
    group: str = ""  # "" for [answers]; "table" for [answers.table]: the same values printed again


@dataclass(frozen=True)
class StepAnswer(Answer):
    """A value a text prints after update step ``step`` (``[after.K]``), an ``Answer``
    whose ``name`` is ``L`` (the loss at the parameters after K updates) or a parameter
    (``"W2"``, entry ``index`` or ``()`` for the whole array) after K updates."""
    step: int = 1

    @property
    def label(self) -> str:
        """``"after.1.L"``: how the report and ``[errata] after`` name it (``"1.L"`` there)."""
        return f"after.{self.step}.{self.key}"


@dataclass(frozen=True)
class TrainingDefaults:
    """``[training]``: the text's own settings of its update steps, defaults that the
    command line (``train --lr/--steps/--momentum/--freeze``) overrides. None where the
    file does not say; ``freeze`` the parameters that keep their values."""
    lr: Decimal | None = None
    steps: int | None = None
    momentum: Decimal | None = None
    freeze: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grading:
    """``[grading]``: how hand answers are judged against the exact values. By default a
    value written with d decimals must lie within 1/2 * 10**-d of the exact value (the
    rounding it is printed with); ``rtol`` (relative tolerance) or ``sig_figs``
    (significant figures, as PrairieLearn's and Gradescope's numeric questions) replace
    that rule. Either way an answer that is right on its own rounded upstream values
    (carried rounding) is right. ``points`` is the rubric for grading code: points per
    quantity, per step of the text or for passing every probe (``compare.grading.rubric``)."""
    rtol: Decimal | None = None
    sig_figs: int | None = None
    points: tuple[tuple[str, Decimal], ...] = ()  # the rubric: (item, points), in file order; empty: pass/fail
    carried_errors_lose_points: bool = False

    @property
    def max_points(self) -> Decimal:
        return sum((p for _, p in self.points), Decimal(0))


@dataclass(frozen=True)
class VariantRules:
    """``[variants]``: what a variant of this exercise must satisfy (``compare.variants``):
    no ReLU pre-activation within ``kink_margin`` of 0, or exactly one exactly at 0
    (``kinks = 1``); ``dead`` neurons allowed (``any``), required (``at_least_one``) or
    not (``none``: every ReLU neuron alive in some example); ``short_answers``: prefer
    exact answers that are short decimals."""
    kink_margin: Decimal = Decimal("0.05")
    kinks: int = 0
    dead: str = "any"
    short_answers: bool = True


@dataclass(frozen=True)
class Exercise:
    """A loaded exercise. Arrays are object arrays of ``Decimal`` as written.

    ``x`` has shape (B, sizes[0]) and ``y`` (B, sizes[-1]) for B examples.
    """
    path: str
    title: str
    source: str
    architecture: Architecture
    parameters: dict[str, np.ndarray]
    x: np.ndarray
    y: np.ndarray
    answers: tuple[Answer, ...] = field(default=())
    claims: dict[str, int] = field(default_factory=dict)
    errata: frozenset[str] = frozenset()  # claims known to be wrong in the text: reported, not failed
    class_indices: bool = False  # cross_entropy targets were written as class indices
    answers_left_out: int = 0  # hand answers of the whole batch, left out by example()
    grading: Grading = Grading()
    variants: VariantRules = VariantRules()
    training: TrainingDefaults = TrainingDefaults()
    after: tuple[StepAnswer, ...] = ()  # values printed after update steps ([after.K])
    after_errata: frozenset[str] = frozenset()  # [errata] after: "1.L", known wrong in the text
    text_backward: str | None = None  # [errata] backward: the catalogued rule the text differentiates by

    def bias_array(self, k: int) -> np.ndarray:
        """b_k as a network holds it (``reference.network``): the parameter (0-d for a
        bias shared by the layer, broadcast in the forward pass), or zeros of shape
        (sizes[k],) for a layer without bias."""
        if self.architecture.shares_bias(k):
            return self.parameters[f"b{k}"]
        return self.layer_bias(k)

    def layer_bias(self, k: int) -> np.ndarray:
        """What layer k adds to its neurons: b_k as written (a ``Decimal`` array of shape
        (sizes[k],)), a shared bias repeated for every neuron, or zeros for a layer
        without bias: the forward pass adds it either way (``reference.network``)."""
        if self.architecture.shares_bias(k):
            return np.array([self.parameters[f"b{k}"][()]] * self.architecture.sizes[k], dtype=object)
        if self.architecture.has_bias(k):
            return self.parameters[f"b{k}"]
        return np.array([Decimal(0)] * self.architecture.sizes[k], dtype=object)

    @property
    def batch_size(self) -> int:
        return self.x.shape[0]

    def example(self, i: int) -> "Exercise":
        """The exercise restricted to example ``i`` (0-based), without hand answers,
        which belong to the whole batch. Raises ``IndexError`` when out of range."""
        if not 0 <= i < self.batch_size:
            raise IndexError(f"example {i} out of range: the file has {self.batch_size}")
        if self.batch_size == 1:
            return self
        return replace(self, x=self.x[i:i + 1], y=self.y[i:i + 1], answers=(), claims={}, errata=frozenset(),
                       answers_left_out=len(self.answers), after=(), after_errata=frozenset(),
                       title=f"{self.title} (example {i})")


def load_exercise(path, dtype: str = "float64") -> Exercise:
    """Read and validate an exercise file for runs in ``dtype`` (``"float64"`` or
    ``"float32"``: every number must be 0 or a normal magnitude of that dtype, see
    ``RANGES``).

    Raises ``ExerciseError`` for a missing or empty file, anything but a regular file (a
    directory, a FIFO, a device such as ``/dev/zero``), invalid TOML, unknown or missing
    keys, wrong shapes, non-numeric, NaN, infinite or out-of-range values, options the
    network does not use (``negative_slope`` without a leaky ReLU layer), and answers for
    quantities the network does not have. Raises ``KeyError`` for an unknown ``dtype``.
    """
    path = Path(path)
    RANGES[dtype]  # KeyError for an unknown dtype, before the file is read
    text = _read_regular_file(path)
    if not text.strip():
        raise ExerciseError(path, "", "an exercise, but the file is empty")
    try:
        data = tomllib.loads(text, parse_float=_decimal)
    except ValueError as error:  # TOMLDecodeError, or an integer of more than 4300 digits
        if not isinstance(error, tomllib.TOMLDecodeError):
            raise ExerciseError(path, "", "valid TOML numbers; an integer has more than 4300 digits") from None
        raise ExerciseError(path, "", f"valid TOML ({error})") from None
    except RecursionError:  # tomllib recurses once per level of [ or {
        raise ExerciseError(path, "", "valid TOML (arrays or tables nested too deeply)") from None
    return _parse(path, data, dtype)


class _Unreadable(Decimal):
    """A TOML float whose exponent is beyond even ``Decimal``'s range (``1e-99999999999999999999``):
    kept as a NaN that the range check rejects, showing the number as written."""

    def __new__(cls, written: str):
        value = super().__new__(cls, "NaN")
        value.written = written
        return value

    def __str__(self) -> str:
        return self.written

    def __format__(self, spec: str) -> str:
        return self.written


def _decimal(text: str) -> Decimal:
    """``parse_float`` for tomllib: the float as written, as a ``Decimal``."""
    try:
        return Decimal(text)
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond Decimal's
        return _Unreadable(text)


def _read_regular_file(path: Path) -> str:
    """The text of ``path``, opened without blocking and read only if it is a regular
    file: a FIFO would block, ``/dev/zero`` never ends."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ExerciseError(path, "", "an existing exercise file; there is none") from None
    except (OSError, ValueError) as error:  # ValueError: a NUL byte in the name
        raise ExerciseError(path, "", f"a readable file ({getattr(error, 'strerror', None) or error})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket")
        raise ExerciseError(path, "", f"a regular file; this is {kind}")
    with os.fdopen(fd, "rb") as stream:
        try:
            return stream.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ExerciseError(path, "", f"a readable UTF-8 text file ({error})") from None


def _parse(path: Path, data: dict, dtype: str) -> Exercise:
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        raise ExerciseError(path, unknown[0], one_of(unknown[0], sorted(TOP_LEVEL_KEYS)))
    for key in ("parameters", "examples"):
        if key not in data:
            raise ExerciseError(path, key, "this section; it is missing")
    architecture = _architecture(path, data.get("network", {}), dtype)
    parameters = _parameters(path, data["parameters"], architecture, dtype)
    x, y = _examples(path, data["examples"], architecture, dtype)
    _shared_biases_as_numbers(path, data, architecture)
    answers = _computed_layout(_answers(path, data.get("answers", {}), architecture, x.shape[0], dtype), architecture)
    after = _computed_layout(_after(path, data.get("after", {}), architecture, dtype), architecture)
    claims = _claims(path, data.get("claims", {}), architecture, dtype)
    errata, after_errata = _errata(path, data.get("errata", {}), claims, after)
    return Exercise(path=str(path), title=_text(path, data, "title", path.stem),
                    source=_text(path, data, "source", ""), architecture=architecture,
                    parameters=parameters, x=x, y=y, answers=answers,
                    claims=claims, errata=errata, after=after, after_errata=after_errata,
                    text_backward=_text_backward(path, data.get("errata", {})),
                    training=_training(path, data.get("training", {}), architecture, dtype),
                    grading=_grading(path, data.get("grading", {}), architecture),
                    variants=_variant_rules(path, data.get("variants", {})),
                    class_indices=architecture.loss == "cross_entropy" and all(
                        isinstance(e.get("y"), int) for e in data["examples"]))


def _claims(path, table, architecture: Architecture, dtype: str) -> dict[str, int]:
    allowed = list(CLAIMS) + [f"{claim}.{p}" for claim in CLAIMS for p in architecture.parameter_shapes()]
    if not isinstance(table, dict):
        raise ExerciseError(path, "claims", "a table of " + ", ".join(CLAIMS))
    for key, value in table.items():
        if key not in allowed:
            raise ExerciseError(path, f"claims.{key}", one_of(key, allowed))
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ExerciseError(path, f"claims.{key}", f"a non-negative integer: {CLAIMS[key.split('.')[0]]}")
        _check_range(path, f"claims.{key}", [Decimal(value)], dtype)
    return dict(table)


def _errata(path, table, claims: dict[str, int], after: tuple[StepAnswer, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """``[errata] claims = [...]``: claims of the file known to be wrong in the text;
    ``after = ["1.L", ...]``: values of ``[after.K]`` known to be wrong ("K.KEY");
    ``backward`` is read by ``_text_backward``."""
    if not isinstance(table, dict):
        raise ExerciseError(path, "errata", "a table with claims = [names of claims the text gets wrong] "
                                            "and after = [\"K.KEY\" of [after.K] values the text gets wrong]")
    _known_keys(path, "errata", table, ERRATA_KEYS)
    names = _listed_names(path, "errata.claims", table.get("claims", []), list(claims),
                          "a list of claim names", "names of claims in [claims]")
    steps = _listed_names(path, "errata.after", table.get("after", []),
                          [a.label.removeprefix("after.") for a in after],
                          "a list of \"K.KEY\" names of [after.K] values (\"1.L\")", "\"K.KEY\" names of [after.K] values")
    return frozenset(names), frozenset(steps)


def _text_backward(path, table) -> str | None:
    """``[errata] backward = "CrossEntropyWithoutSoftmax"``: the text states one loss and
    differentiates by another rule, a mistake of ``compare.catalogue`` by name (checked
    there); its printed values are then judged on its own terms."""
    name = table.get("backward") if isinstance(table, dict) else None
    if name is not None and (not isinstance(name, str) or not name):
        raise ExerciseError(path, "errata.backward", "the name of a catalogued mistake the text's backward pass "
                                                     "makes (python -m compare self-test lists them)")
    return name


def _listed_names(path, key: str, names, known: list[str], a_list: str, of: str) -> list[str]:
    """``names``, a list of strings each one of ``known``; else ``ExerciseError`` at ``key``
    expecting ``a_list`` (not a list of strings) or ``of`` (naming the first unknown one
    and the closest known one)."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ExerciseError(path, key, a_list)
    for name in names:
        if name not in known:
            raise ExerciseError(path, key, f"{of}; {name!r} is not one" + did_you_mean(name, known))
    return names


def _known_keys(path, section: str, table: dict, allowed) -> None:
    """Raise ``ExerciseError`` for the first key of ``table`` (the file's ``[section]``)
    that is not one of ``allowed``, naming the closest one (``one_of``)."""
    for key in table:
        if key not in allowed:
            raise ExerciseError(path, f"{section}.{key}", one_of(key, allowed))


def _training(path, table, architecture: Architecture, dtype: str) -> TrainingDefaults:
    """``[training]``: lr, steps, momentum (numbers as written) and freeze (parameter names)."""
    if not isinstance(table, dict):
        raise ExerciseError(path, "training", "a table with " + ", ".join(TRAINING_KEYS))
    _known_keys(path, "training", table, TRAINING_KEYS)
    numbers = {}
    for key in ("lr", "momentum"):
        value = table.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
            raise ExerciseError(path, f"training.{key}", TRAINING_KEYS[key])
        _check_range(path, f"training.{key}", [value if isinstance(value, Decimal) else Decimal(value)],
                     dtype)  # NaN, inf, 1e-99999999999 before any comparison
        if value < 0:
            raise ExerciseError(path, f"training.{key}", TRAINING_KEYS[key])
        numbers[key] = Decimal(value)
    steps = table.get("steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 0):
        raise ExerciseError(path, "training.steps", TRAINING_KEYS["steps"])
    freeze = table.get("freeze", [])
    if not isinstance(freeze, list) or not all(isinstance(n, str) for n in freeze):
        raise ExerciseError(path, "training.freeze", TRAINING_KEYS["freeze"])
    return TrainingDefaults(numbers.get("lr"), steps, numbers.get("momentum"),
                            tuple(check_frozen(path, "training.freeze", freeze, architecture)))


def check_frozen(path, key: str, names: list[str], architecture: Architecture) -> list[str]:
    """``names`` of parameters to freeze, each a parameter of ``architecture`` given once;
    raises ``ExerciseError`` (``path``, ``key``) naming the first that is not."""
    shapes = architecture.parameter_shapes()
    for name in names:
        if name not in shapes:
            without = (f"; layer {name[1:]} has no bias (network.bias)"
                       if name[:1] == "b" and name[1:].isdigit() and 1 <= int(name[1:]) <= architecture.n_layers
                       else did_you_mean(name, shapes))
            raise ExerciseError(path, key, f"parameter names, each of {', '.join(shapes)}; {name!r} is not one"
                                + without)
        if names.count(name) > 1:
            raise ExerciseError(path, key, f"each parameter once; {name!r} is given twice")
    return list(names)


def _after(path, table, architecture: Architecture, dtype: str) -> tuple[StepAnswer, ...]:
    """``[after.K]`` tables: ``L`` and parameters (whole, or entries ``"W2[0][0]"``) after
    K >= 1 update steps."""
    if not isinstance(table, dict):
        raise ExerciseError(path, "after", "tables [after.K] of values after update step K")
    shapes = {"L": (), **architecture.written_shapes()}
    found = []
    for step_key, values in table.items():
        if not step_key.isdigit() or int(step_key) < 1 or len(step_key) > 6:
            raise ExerciseError(path, f"after.{step_key}", "a step number K >= 1 (at most 6 digits): [after.1]")
        if not isinstance(values, dict):
            raise ExerciseError(path, f"after.{step_key}", "a table of L and parameters after the step")
        step = int(step_key)
        given_by = {}
        for key, value in values.items():
            where = f"after.{step_key}.{key}"
            name, index = quantities.split_entry(key)
            if name not in shapes:
                raise ExerciseError(path, where, "L or a parameter of this network: " + ", ".join(shapes)
                                    + did_you_mean(name, shapes))
            arr = _entry_values(path, f"after.{step_key}", key, value, shapes[name], given_by, dtype)
            found.append(StepAnswer(key=key, name=name, index=index, value=arr, step=step))
    return tuple(sorted(found, key=lambda a: a.step))


def _grading(path, table, architecture: Architecture) -> Grading:
    if not isinstance(table, dict):
        raise ExerciseError(path, "grading", "a table with " + ", ".join(GRADING_KEYS))
    _known_keys(path, "grading", table, GRADING_KEYS)
    if "rtol" in table and "sig_figs" in table:
        raise ExerciseError(path, "grading", "one rule: rtol or sig_figs, not both")
    rtol, sig_figs = table.get("rtol"), table.get("sig_figs")
    if rtol is not None and (not _finite_number(rtol) or not Decimal(0) < Decimal(rtol) < 1):
        raise ExerciseError(path, "grading.rtol", GRADING_KEYS["rtol"])
    if sig_figs is not None and (isinstance(sig_figs, bool) or not isinstance(sig_figs, int)
                                 or not 1 <= sig_figs <= 15):
        raise ExerciseError(path, "grading.sig_figs", GRADING_KEYS["sig_figs"])
    carried = table.get("carried_errors_lose_points", False)
    if not isinstance(carried, bool):
        raise ExerciseError(path, "grading.carried_errors_lose_points", GRADING_KEYS["carried_errors_lose_points"])
    return Grading(None if rtol is None else Decimal(rtol), sig_figs,
                   _points(path, table.get("points", {}), architecture), carried)


def _variant_rules(path, table) -> VariantRules:
    if not isinstance(table, dict):
        raise ExerciseError(path, "variants", "a table with " + ", ".join(VARIANT_KEYS))
    for key in table:
        if key not in VARIANT_KEYS:
            raise ExerciseError(path, f"variants.{key}", "one of " + ", ".join(VARIANT_KEYS))
    margin = table.get("kink_margin", VariantRules.kink_margin)
    if not _finite_number(margin) or not 0 <= margin <= 1000:
        raise ExerciseError(path, "variants.kink_margin", VARIANT_KEYS["kink_margin"])
    kinks = table.get("kinks", 0)
    if isinstance(kinks, bool) or kinks not in (0, 1):
        raise ExerciseError(path, "variants.kinks", VARIANT_KEYS["kinks"])
    dead = table.get("dead", "any")
    if dead not in ("any", "at_least_one", "none"):
        raise ExerciseError(path, "variants.dead", VARIANT_KEYS["dead"])
    short = table.get("short_answers", True)
    if not isinstance(short, bool):
        raise ExerciseError(path, "variants.short_answers", VARIANT_KEYS["short_answers"])
    return VariantRules(Decimal(margin), kinks, dead, short)


def _finite_number(value) -> bool:
    """A TOML number (read as ``Decimal`` or ``int``, not a boolean) that is finite: nan
    and inf cannot be compared with a range (``Decimal`` raises on nan)."""
    return not isinstance(value, bool) and isinstance(value, (Decimal, int)) and Decimal(value).is_finite()


def _points(path, table, architecture: Architecture) -> tuple[tuple[str, Decimal], ...]:
    """``[grading.points]``: each key a quantity (a printed one too), ``Step k`` or ``probes``; each value a
    number of points >= 0 (at most a million)."""
    if not isinstance(table, dict):
        raise ExerciseError(path, "grading.points", GRADING_KEYS["points"])
    names = architecture.quantity_names() + architecture.printed_names()
    steps = [title.split(":")[0] for title, _ in architecture.step_groups()[1:]]
    items = []
    for key, value in table.items():
        if key not in names and key not in steps and key != "probes":
            raise ExerciseError(path, f"grading.points.{key}",
                                "a quantity (" + ", ".join(names) + "), a step (" + ", ".join(steps) + ") or probes"
                                + did_you_mean(key, names + steps + ["probes"]))
        if not _finite_number(value) or not 0 <= value <= MAX_POINTS or not in_range(Decimal(value)):
            raise ExerciseError(path, f"grading.points.{key}", "a number of points from 0 to 1000000")
        items.append((key, Decimal(value)))
    return tuple(items)


def _text(path, data, key, default) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ExerciseError(path, key, "a string")
    return value


def _architecture(path, network, dtype: str) -> Architecture:
    if not isinstance(network, dict):
        raise ExerciseError(path, "network", "a table")
    unknown = sorted(set(network) - set(DEFAULT_NETWORK))
    if unknown:
        raise ExerciseError(path, f"network.{unknown[0]}", one_of(unknown[0], DEFAULT_NETWORK))
    sizes = network.get("sizes", DEFAULT_NETWORK["sizes"])
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes)):
        raise ExerciseError(path, "network.sizes", "a list of at least two positive integers")
    default_acts = ["relu"] * (len(sizes) - 2) + ["identity"]
    activations = network.get("activations", default_acts)
    if not isinstance(activations, list) or len(activations) != len(sizes) - 1:
        raise ExerciseError(path, "network.activations",
                            f"a list of {len(sizes) - 1} activation names, one per weight layer")
    for i, name in enumerate(activations):
        if name not in ACTIVATIONS:
            raise ExerciseError(path, f"network.activations[{i}]", one_of(name, ACTIVATIONS))
    loss = network.get("loss", "mse")
    if loss not in LOSSES:
        raise ExerciseError(path, "network.loss", one_of(loss, LOSSES))
    reduction = network.get("reduction", "mean")
    if reduction not in REDUCTIONS:
        raise ExerciseError(path, "network.reduction", one_of(reduction, REDUCTIONS))
    bias = network.get("bias", True)
    if isinstance(bias, bool):
        bias = [bias] * (len(sizes) - 1)
    if not isinstance(bias, list) or len(bias) != len(sizes) - 1 or not all(isinstance(b, bool) for b in bias):
        raise ExerciseError(path, "network.bias", f"true, false, or a list of {len(sizes) - 1} of them, one per "
                                                  "weight layer (whether it has a bias b_k)")
    shared = _shared_bias(path, network.get("shared_bias", False), bias)
    layout = network.get("layout", "in_out")
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise ExerciseError(path, "network.layout", " or ".join(f'"{name}" ({text})' for name, text in LAYOUTS.items())
                            + did_you_mean(layout, LAYOUTS))
    needed = losses.OUTPUT_ACTIVATION.get(loss)
    if needed and activations[-1] != needed:
        raise ExerciseError(path, f"network.activations[{len(activations) - 1}]",
                            f"{needed!r} for loss {loss!r}" + (" (it takes logits)" if needed == "identity" else ""))
    slope = network.get("negative_slope", DEFAULT_NETWORK["negative_slope"])
    if isinstance(slope, bool) or not isinstance(slope, (Decimal, int)):
        raise ExerciseError(path, "network.negative_slope", "a finite number (leaky ReLU's slope for z < 0)")
    _check_range(path, "network.negative_slope", [slope if isinstance(slope, Decimal) else Decimal(slope)], dtype)
    if "negative_slope" in network and "leaky_relu" not in activations:
        raise ExerciseError(path, "network.negative_slope", "only with a \"leaky_relu\" layer in network.activations "
                                                            "(it is leaky ReLU's slope); this network has none")
    return Architecture(tuple(sizes), tuple(activations), loss, reduction, Decimal(slope), tuple(bias),
                        tuple(shared), layout)


def _shared_bias(path, shared, bias: list[bool]) -> list[bool]:
    """``network.shared_bias``: ``true`` (every layer with a bias shares it), ``false``,
    or a list of one boolean per weight layer (``true`` only for a layer with a bias)."""
    layers = len(bias)
    if isinstance(shared, bool):
        if shared and not any(bias):
            raise ExerciseError(path, "network.shared_bias", "false: no layer has a bias to share (network.bias)")
        return [shared and b for b in bias]
    if not isinstance(shared, list) or len(shared) != layers or not all(isinstance(s, bool) for s in shared):
        raise ExerciseError(path, "network.shared_bias", f"true, false, or a list of {layers} of them, one per "
                                                         "weight layer (whether one bias b_k is shared by its neurons)")
    for k, (s, b) in enumerate(zip(shared, bias), start=1):
        if s and not b:
            raise ExerciseError(path, "network.shared_bias", f"false for layer {k}: it has no bias (network.bias)")
    return shared


def _numbers(path, key: str, value, shape: tuple[int, ...] | None, dtype: str) -> np.ndarray:
    """``value`` as a Decimal array of ``shape`` (any shape if None), all finite numbers
    within the range of ``dtype`` (``in_range``)."""
    try:
        arr = decimal_array(value)
    except (ValueError, TypeError, RecursionError):
        arr = None
    if arr is None:
        want = ("a number" if shape == () else f"numbers of shape {shape}") if shape is not None \
            else "a number or an array of numbers"
        raise ExerciseError(path, key, want)
    _check_range(path, key, arr.reshape(-1), dtype)
    if shape is not None and arr.shape != shape:
        raise ExerciseError(path, key, f"shape {shape}, got {arr.shape}")
    return arr


def in_range(value: Decimal, dtype: str = "float64") -> bool:
    """Finite, and 0 or a normal magnitude of ``dtype`` (``RANGES``): 1e999 would become
    inf in the float runs, and 1e-999999999 a fraction with a billion-digit denominator in
    the exact run."""
    smallest, largest = RANGES[dtype]
    return value.is_finite() and (value == 0 or smallest <= value.copy_abs() <= largest)


def range_text(dtype: str = "float64") -> str:
    """``"within float64 range (0 or 2.23e-308 to 1.8e+308 in magnitude)"``."""
    smallest, largest = RANGES[dtype]
    return f"within {dtype} range (0 or {smallest:.3g} to {largest:.3g} in magnitude)"


def _check_range(path, key: str, values, dtype: str) -> None:
    bad = next((v for v in values if not in_range(v, dtype)), None)
    if bad is not None:
        raise ExerciseError(path, key, f"finite numbers {range_text(dtype)}, got {bad}")


def _parameters(path, table, architecture: Architecture, dtype: str) -> dict[str, np.ndarray]:
    if not isinstance(table, dict):
        raise ExerciseError(path, "parameters", "a table of W1, b1, ...")
    shapes = architecture.parameter_shapes()
    unknown = sorted(set(table) - set(shapes))
    for name in unknown:
        if name[:1] == "b" and name[1:].isdigit() and 1 <= int(name[1:]) <= architecture.n_layers:
            raise ExerciseError(path, f"parameters.{name}", f"no {name}: layer {name[1:]} has no bias "
                                                            "(network.bias is false for it)")
    if unknown:
        raise ExerciseError(path, f"parameters.{unknown[0]}",
                            "one of " + ", ".join(shapes) + f" for sizes {list(architecture.sizes)}"
                            + did_you_mean(unknown[0], shapes))
    params = {}
    for name, shape in architecture.written_shapes().items():
        if name not in table:
            raise ExerciseError(path, f"parameters.{name}", (f"one number (layer {name[1:]} shares one bias: "
                                                             "network.shared_bias)" if shape == () else
                                                             f"an array of shape {shape}") + "; it is missing")
        _shared_bias_is_a_number(path, f"parameters.{name}", name, table[name], architecture)
        value = _numbers(path, f"parameters.{name}", table[name], shape, dtype)
        params[name] = architecture.layout_array(name, value)
    return params


def _shared_bias_is_a_number(path, key: str, name: str, value, architecture: Architecture) -> None:
    """A shared bias ``b{k}`` (or its gradient ``dL/db{k}``) written as a list, or a
    per-neuron one written as a single number: one line saying which the file says."""
    k = _biased_layer(name, architecture)
    if not k:
        return
    if architecture.shares_bias(k) and isinstance(value, list):
        raise ExerciseError(path, key, f"one number: layer {k} shares one bias b{k} among its neurons "
                                       f"(network.shared_bias), so {name} is a scalar; got a list of {len(value)}")
    if not architecture.shares_bias(k) and not isinstance(value, list):
        raise ExerciseError(path, key, f"{architecture.sizes[k]} numbers, one per neuron of layer {k} (for one "
                                       "number shared by the layer, set network.shared_bias)")


def _shared_biases_as_numbers(path, data: dict, architecture: Architecture) -> None:
    """Every ``[answers]`` (and sub-table) and ``[after.K]`` key of a shared bias or its
    gradient is one number, never an entry ``[j]`` or a list (``ExerciseError``); the
    other keys are left to their own sections' checks."""
    tables = []
    for section in ("answers", "after"):
        table = data.get(section, {})
        if not isinstance(table, dict):
            continue
        if section == "answers":
            tables.append(("answers", table))
        tables += [(f"{section}.{key}", sub) for key, sub in table.items() if isinstance(sub, dict)]
    for where, table in tables:
        for key, value in table.items():
            if isinstance(value, dict):
                continue
            name, index = quantities.split_entry(key)
            k = _biased_layer(name, architecture)
            if not k or not architecture.shares_bias(k):
                continue
            if index:
                raise ExerciseError(path, f"{where}.{key}", f"{name} without an index: layer {k} shares one "
                                                            f"bias among its neurons (network.shared_bias)")
            _shared_bias_is_a_number(path, f"{where}.{key}", name, value, architecture)


def _biased_layer(name: str, architecture: Architecture) -> int:
    """The layer k of ``b{k}`` or ``dL/db{k}`` where layer k has a bias; 0 for any other name."""
    match = BIAS_NAME.match(name)
    k = int(match[2]) if match else 0
    return k if 1 <= k <= architecture.n_layers and architecture.has_bias(k) else 0


def _computed_layout(answers: tuple, architecture: Architecture) -> tuple:
    """Answers (or ``[after.K]`` values) as written, in the computation's (in, out)
    layout: entries and arrays of a weight (gradient) of an ``out_in`` text transposed;
    ``key`` stays as written."""
    return tuple(replace(a, index=architecture.layout_index(a.name, a.index),
                         value=architecture.layout_array(a.name, a.value)) for a in answers)


def _examples(path, examples, architecture: Architecture, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(examples, list) or not examples or not all(isinstance(e, dict) for e in examples):
        raise ExerciseError(path, "examples", "one or more [[examples]] tables with x and y")
    xs, ys = [], []
    n_in = architecture.sizes[0]
    for i, example in enumerate(examples):
        unknown = sorted(set(example) - {"x", "y"})
        if unknown:
            raise ExerciseError(path, f"examples[{i}].{unknown[0]}", "only x and y" + did_you_mean(unknown[0], "xy"))
        for key in ("x", "y"):
            if key not in example:
                raise ExerciseError(path, f"examples[{i}].{key}", "this key; it is missing")
        xs.append(_numbers(path, f"examples[{i}].x", example["x"], (n_in,), dtype))
        ys.append(_target(path, f"examples[{i}].y", example["y"], architecture, dtype))
    return np.stack(xs), np.stack(ys)


def _target(path, key: str, value, architecture: Architecture, dtype: str) -> np.ndarray:
    """A target as a Decimal array of shape (n_out,). For ``cross_entropy`` a class index
    (an integer) becomes its one-hot vector; one-hot or probability rows must be
    non-negative and sum to 1. Targets of the bce losses must lie in [0, 1]."""
    n_out = architecture.sizes[-1]
    if architecture.loss == "cross_entropy" and isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < n_out:
            raise ExerciseError(path, key, f"a class index from 0 to {n_out - 1}")
        return decimal_array([1 if c == value else 0 for c in range(n_out)])
    y = _numbers(path, key, value, (n_out,), dtype)
    if architecture.loss == "cross_entropy" and (any(v < 0 for v in y) or sum(y) != 1):
        raise ExerciseError(path, key, "a class index, or class probabilities (one-hot) that are >= 0 and sum to 1")
    if architecture.loss in ("bce", "bce_with_logits") and any(not 0 <= v <= 1 for v in y):
        raise ExerciseError(path, key, "targets between 0 and 1")
    return y


def answer_shape(name: str, architecture: Architecture, batch_size: int) -> tuple[int, ...]:
    """Shape a whole answer for quantity ``name`` has as the text writes it: the
    ``value_shape`` in the text's layout (a weight gradient of an ``out_in`` text is
    (out, in))."""
    return architecture.layout_shape(name, value_shape(name, architecture, batch_size))


def value_shape(name: str, architecture: Architecture, batch_size: int) -> tuple[int, ...]:
    """Shape the computed value of quantity ``name`` has (the computation's layout):
    parameter shapes for gradients (() for a shared bias), () for L, (n,) per example for
    intermediates (``p`` as y_hat), (B, n) for a batch of B > 1."""
    if name == "L":
        return ()
    if name == quantities.PER_EXAMPLE_NAME:
        return (batch_size,)
    if quantities.delta_parameter(name):
        return architecture.parameter_shapes()[quantities.delta_parameter(name)]
    if name.startswith("dL/dW") or name.startswith("dL/db"):
        return architecture.parameter_shapes()[name[4:]]
    width = architecture.sizes[_layer_of(name, architecture)]
    return (width,) if batch_size == 1 else (batch_size, width)


def _layer_of(name: str, architecture: Architecture) -> int:
    """Which layer's width an intermediate quantity has (0 = input, K = output)."""
    n = architecture.n_layers
    if name in ("y_hat", "dL/dy_hat", quantities.PROBABILITIES_NAME, quantities.ERROR_NAME,
                quantities.EXPONENTIALS_NAME):
        return n
    digits = "".join(c for c in name if c.isdigit())
    return int(digits) if digits else 1


def _answers(path, table, architecture: Architecture, batch_size: int, dtype: str) -> tuple[Answer, ...]:
    """``[answers]``, and its sub-tables (``[answers.table]``): the same quantities
    printed again elsewhere in the text, each entry at a precision of its own (an entry
    given twice at the same precision is an error)."""
    if not isinstance(table, dict):
        raise ExerciseError(path, "answers", "a table of quantity = value")
    answers = list(_answer_group(path, "", {k: v for k, v in table.items() if not isinstance(v, dict)},
                                 architecture, batch_size, dtype))
    for group, sub in table.items():
        if isinstance(sub, dict):
            if not re.fullmatch(r"[A-Za-z0-9_-]+", group):  # the name is printed in reports and keys
                raise ExerciseError(path, f"answers.{group!r}",
                                    "a sub-table name of letters, digits, _ and - ([answers.table])")
            answers += _answer_group(path, group, sub, architecture, batch_size, dtype)
    _different_precisions(path, answers, batch_size, architecture)
    return tuple(answers)


def _answer_group(path, group: str, table: dict, architecture: Architecture, batch_size: int,
                  dtype: str) -> list[Answer]:
    known = architecture.quantity_names() + architecture.printed_names()
    section = "answers" + (f".{group}" if group else "")
    answers = []
    given_by = {}  # (quantity, index) -> the key that gives it: each entry once in a group
    for key, value in table.items():
        name, index = quantities.split_entry(key)
        if name not in known:
            raise ExerciseError(path, f"{section}.{key}", "a quantity of this network: " + ", ".join(known)
                                + _why_not_a_quantity(name, architecture) + did_you_mean(name, known))
        arr = _entry_values(path, section, key, value, answer_shape(name, architecture, batch_size), given_by,
                            dtype)
        answers.append(Answer(key=f"{group}.{key}" if group else key, name=name, index=index, value=arr, group=group))
    return answers


def _different_precisions(path, answers: list[Answer], batch_size: int, architecture: Architecture) -> None:
    """An entry given in two groups must be written at two precisions (4 decimals in the
    text, 6 in its table): the same value at the same precision twice says nothing new."""
    seen = {}
    for answer in answers:
        entries = ([(answer.index, answer.value[()])] if answer.index else
                   [(i, answer.value[i]) for i in np.ndindex(answer.value.shape)])
        for index, value in entries:
            where = (answer.name, index, decimals_written(value))
            if where in seen and seen[where] != answer.group:
                raise ExerciseError(path, f"answers.{answer.key}",
                                    f"each value of an entry at its own precision, but "
                                    f"{quantities.entry_label(answer.name, index)} is given at the same precision by "
                                    f"answers.{seen[where] + '.' if seen[where] else ''}{answer.name} too")
            seen[where] = answer.group


def _entry_values(path, section: str, key: str, value, shape: tuple[int, ...], given_by: dict, dtype: str) -> np.ndarray:
    """The value of ``section.key`` (``"dL/dW1"`` whole, of ``shape``, or ``"dL/dW1[0][2]"``
    one entry) as a ``Decimal`` array, each entry given once in the section: ``given_by``
    maps ``(name, entry)`` to the key that gave it and is filled in here. Raises
    ``ExerciseError`` for an index outside ``shape``, numbers of another shape, or an
    entry given twice."""
    name, index = quantities.split_entry(key)
    where = f"{section}.{key}"
    if name == quantities.PER_EXAMPLE_NAME and shape == (1,) and not index and not isinstance(value, list):
        value = [value]  # one example's loss written as a number, like its other quantities
    if index:
        if len(index) != len(shape) or any(i >= s for i, s in zip(index, shape)):
            raise ExerciseError(path, where, f"an index into shape {shape}")
        arr = _numbers(path, where, value, (), dtype)
    else:
        arr = _numbers(path, where, value, shape, dtype)
    for entry in ([index] if index else list(np.ndindex(shape))):
        if (name, entry) in given_by:
            raise ExerciseError(path, where, f"one value per entry, but {quantities.entry_label(name, entry)} "
                                             f"is given by {section}.{given_by[(name, entry)]} too")
        given_by[(name, entry)] = key
    return arr


def _why_not_a_quantity(name: str, architecture: Architecture) -> str:
    """Why a name a text might use is not a quantity of this network (``dL/db2`` of a
    layer without bias, ``p`` without a loss on logits), or ``""``."""
    if name.startswith("dL/db") and name[5:].isdigit() and 1 <= int(name[5:]) <= architecture.n_layers:
        return f" (layer {name[5:]} has no bias)"
    if name == quantities.PROBABILITIES_NAME:
        return f" (p belongs to the losses on logits, {' and '.join(losses.PROBABILITIES)})"
    return ""
