"""Gradient-descent steps, cross-checked: exact vs hand NumPy vs ``torch.optim.SGD``.

The text ends with "we'll apply these gradients to update all 31 parameters and see the
loss drop". Three tracks take the same N steps from the file's parameters:

- exact: ``Fraction`` parameters, the hand backward pass (``reference.backprop``), the
  update written out by hand. The learning rate and momentum are ``Decimal`` strings from
  the command line, so lr 0.1 is exactly 1/10.
  Where the network leaves the rationals (sigmoid, tanh, softmax, log) this track runs in
  the exercise's ground truth, mpmath at 50 digits, and is named "50-digit"; on a network
  which one exact step would cost more than ``compare.finite_differences.EXACT_BUDGET`` it is
  left out (NumPy vs torch only), and it stops before its steps together pass that budget.
- NumPy: the same hand pass and update in float64 or float32.
- torch: ``nn.Sequential`` with ``torch.optim.SGD(lr, momentum)`` and ``loss.backward()``.

The update is PyTorch's SGD (``torch.optim.SGD`` docs, dampening 0, no Nesterov, no weight
decay): ``v = momentum * v + g`` (``v = g`` on the first step), ``p = p - lr * v``; with
momentum 0 simply ``p = p - lr * g``. Frozen parameters (``TrainingSettings.freeze``, the
file's ``[training] freeze``) keep their values in every track: the hand tracks leave them
out of the update, torch sets ``requires_grad_(False)`` and leaves them out of the
optimiser, as a text that updates only the weights does.

Values a text prints after its update steps (``[after.K]``: the loss and parameters
after K steps) are judged against the exact track at step K (``StepCheck``), by the
exercise's rule for printed values (``compare.tolerance.written_value_agrees``).

After every step each parameter entry and the loss are compared under ``Tolerance``: the
float tracks against the exact one while it runs, torch against NumPy after. Exact
fractions grow fast (each step multiplies the digits of the denominators by about the
degree of the loss in the parameters, 3 for one hidden layer), so the exact track stops
once a denominator has more than ``EXACT_DIGIT_LIMIT`` digits; the report says when and
why, and NumPy vs torch go on for all N steps.

At a ReLU kink (a pre-activation exactly 0, or within ``atol`` of 0 in a float track) the
tracks may take different subgradients by rounding alone: float64 torch computes the
chapter's z1[0] as +2.8e-17 (ReLU' = 1) where it is exactly 0 (ReLU' = 0). With
``kink_side="torch"`` (the default) the exact and NumPy tracks take torch's side there, so
all three follow one valid subgradient-descent trajectory, and the step says so; with
``kink_side="text"`` every track keeps its own ReLU'(z) (1 if z > 0 else 0), the text's
convention for the exact track, and a torch track that takes the other side disagrees.
"""
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
import math
import re

import numpy as np
import torch

from compare.finite_differences import EXACT_BUDGET, step_cost
from compare.kinks import Neuron, SideMatched
from compare.progress import progress_bar
from compare.reasons import Reasons
from compare.tolerance import Tolerance, rule_text, written_value_agrees
from reference import activations, quantities
from reference.backprop import DEFAULT_LR, Backprop, Pass, run_network_pass
from reference.exercise import Exercise, StepAnswer, did_you_mean, in_range, range_text
from reference.network import Network
from reference.numbers import MP, MP_DIGITS, as_fraction, convert
from torch_impl.model import DTYPES, build_loss, build_model, tensor_from_decimals

EXACT = "exact"
MAX_PARAMETER_ROWS = 64  # the step-1 parameter table is left out for larger networks
TOO_LARGE = "left out, the network is too large for exact arithmetic; NumPy vs torch only"
EXACT_DIGIT_LIMIT = 10000  # digits of the largest parameter denominator the exact track allows
KINK_SIDES = ("torch", "text")
MAX_TRAJECTORY = 5_000_000  # floats of the per-step parameter record the training picture reads


class Update:
    """PyTorch's SGD update, written by hand for one parameter array (any number type).

    ``param``, ``grad`` and ``velocity`` share a shape; ``velocity`` is None before the
    first step. Returns ``(new_param, new_velocity)``. Source: ``torch.optim.SGD`` with
    dampening 0: ``v = m * v + g`` (``v = g`` first), ``p = p - lr * v``.
    """

    def apply(self, param, grad, velocity, lr, momentum):
        if momentum == 0:
            return param - lr * grad, None
        velocity = grad if velocity is None else momentum * velocity + grad
        return param - lr * velocity, velocity


class GradientAscent(Update):
    """Broken on purpose: adds the gradient, p = p + lr * g (climbs the loss)."""

    def apply(self, param, grad, velocity, lr, momentum):
        velocity = grad if velocity is None or momentum == 0 else momentum * velocity + grad
        return param + lr * velocity, velocity


class MomentumAveraged(Update):
    """Broken on purpose: the averaging convention v = m * v + (1 - m) * g, not PyTorch's
    v = m * v + g. Same as SGD without momentum, so only a run with momentum catches it."""

    def apply(self, param, grad, velocity, lr, momentum):
        if momentum == 0:
            return param - lr * grad, None
        velocity = (1 - momentum) * grad if velocity is None else momentum * velocity + (1 - momentum) * grad
        return param - lr * velocity, velocity


BROKEN_UPDATES = (GradientAscent, MomentumAveraged)


@dataclass(frozen=True)
class TrainingSettings:
    """``lr`` and ``momentum`` as written (``Decimal``, dimensionless), ``steps`` >= 0,
    ``dtype`` of the float tracks, ``kink_side`` one of ``KINK_SIDES``, ``freeze`` the
    names of parameters that keep their values (``"b1"``, ``"W2"``)."""
    lr: Decimal
    steps: int
    momentum: Decimal = Decimal(0)
    dtype: str = "float64"
    tolerance: Tolerance | None = None
    kink_side: str = "torch"
    exact_digit_limit: int = EXACT_DIGIT_LIMIT
    freeze: tuple[str, ...] = ()

    @classmethod
    def for_exercise(cls, exercise: Exercise, lr: Decimal | None = None, steps: int | None = None,
                     momentum: Decimal | None = None, freeze: tuple[str, ...] | None = None,
                     **options) -> "TrainingSettings":
        """The settings a run of ``exercise`` takes: each of ``lr``, ``steps``,
        ``momentum`` and ``freeze`` as given (the command line), else as the file's
        ``[training]`` says, else the defaults: lr 0.1, momentum 0, nothing frozen, and
        as many steps as the last ``[after.K]`` needs (1 without any). ``options`` are
        the other fields (dtype, tolerance, kink_side)."""
        defaults = exercise.training
        last = max((a.step for a in exercise.after), default=1)
        return cls(lr=lr if lr is not None else defaults.lr if defaults.lr is not None else DEFAULT_LR,
                   steps=steps if steps is not None else defaults.steps if defaults.steps is not None else last,
                   momentum=(momentum if momentum is not None else
                             defaults.momentum if defaults.momentum is not None else Decimal(0)),
                   freeze=tuple(freeze if freeze is not None else defaults.freeze), **options)

    def check(self) -> None:
        """Raise ``ValueError`` (one line) for settings SGD rejects, and for a learning
        rate or momentum outside the float dtype's range (``reference.exercise.in_range``:
        1e-400 would be 0 in the float tracks and a 400-digit fraction in the exact one)."""
        for option, value in (("--lr", self.lr), ("--momentum", self.momentum)):
            if not in_range(value, self.dtype) or value < 0:
                raise ValueError(f"{option}: expected a number >= 0 {range_text(self.dtype)}; got {value}")
        if self.steps < 0:
            raise ValueError(f"--steps: expected a number of steps >= 0; got {self.steps}")
        if self.kink_side not in KINK_SIDES:
            raise ValueError(f"kink side: expected one of {', '.join(KINK_SIDES)}; got {self.kink_side}")

    def check_freeze(self, exercise: Exercise) -> None:
        """Raise ``ValueError`` (one line) for a frozen name that is not a parameter of
        ``exercise``'s network (a bias of a layer without one, a typo), or one given twice."""
        shapes = exercise.architecture.parameter_shapes()
        for name in self.freeze:
            if name not in shapes:
                raise ValueError(f"--freeze: expected parameter names, each of {', '.join(shapes)}; "
                                 f"{name!r} is not one" + did_you_mean(name, shapes))
            if self.freeze.count(name) > 1:
                raise ValueError(f"--freeze: expected each parameter once; {name!r} is given twice")


class HandTrack:
    """Parameters, velocity and the hand backward pass in one number type (``"exact"``,
    ``"float64"``, ``"float32"``), updated by ``update``."""

    def __init__(self, exercise: Exercise, number_type: str, settings: TrainingSettings, update: Update):
        self.number_type = number_type
        self.network = Network.from_exercise(exercise, number_type)
        self.x, self.y = convert(exercise.x, number_type), convert(exercise.y, number_type)
        self.lr, self.momentum = convert(np.array([settings.lr, settings.momentum], dtype=object), number_type)
        self.update = update
        self.frozen = frozenset(settings.freeze)
        self.velocity: dict[str, np.ndarray | None] = {name: None for name in self.parameters()}

    def parameters(self) -> dict[str, np.ndarray]:
        """``{"W1": (in, out) array, "b1": (out,), ...}`` (the live arrays; no ``b{k}``
        for a layer without bias)."""
        return self.network.parameters()

    def forward_zs(self) -> list[np.ndarray]:
        """Pre-activations z_k, each (B, n_k)."""
        return self.network.forward(self.x)[0]

    def run(self, backprop: Backprop) -> Pass:
        return run_network_pass(self.network, self.x, self.y, self.number_type, backprop, printed=False)

    def step(self, gradients: dict[str, np.ndarray]) -> None:
        """One SGD update of every parameter that is not frozen with ``gradients`` (same
        names and shapes)."""
        for name in self.parameters():
            if name in self.frozen:
                continue
            store = self.network.weights if name[0] == "W" else self.network.biases
            k = int(name[1:])
            new, self.velocity[name] = self.update.apply(
                store[k - 1], gradients[name], self.velocity[name], self.lr, self.momentum)
            store[k - 1] = np.asarray(new, dtype=store[k - 1].dtype)  # a shared bias stays a 0-d array

    def denominator_digits(self) -> int:
        """Decimal digits of the largest denominator among the (exact) parameters; 0 for
        the fixed-precision 50-digit track, which does not grow."""
        if self.number_type != EXACT:
            return 0
        bits = max(v.denominator.bit_length() for p in self.parameters().values() for v in p.reshape(-1))
        return math.ceil(bits * math.log10(2))


class TorchTrack:
    """The exercise's ``nn.Sequential`` trained by ``torch.optim.SGD``; frozen parameters
    get ``requires_grad_(False)`` and are left out of the optimiser."""

    def __init__(self, exercise: Exercise, settings: TrainingSettings):
        self.exercise = exercise
        torch_dtype = DTYPES[settings.dtype]
        self.model = build_model(exercise, settings.dtype)
        self.loss_fn = build_loss(exercise)
        self.x = tensor_from_decimals(exercise.x, torch_dtype)
        self.y = tensor_from_decimals(exercise.y, torch_dtype)
        trained = []
        for name, parameter in self.named_parameters().items():
            if name in settings.freeze:
                parameter.requires_grad_(False)
            else:
                trained.append(parameter)
        self.optimizer = (torch.optim.SGD(trained, lr=float(settings.lr), momentum=float(settings.momentum))
                          if trained else None)

    def named_parameters(self) -> dict[str, torch.nn.Parameter]:
        """``{"W1": linear_1.weight, "b1": linear_1.bias, ...}``: torch's own parameters
        by the text's names (the weight in torch's (out, in) layout)."""
        named = {}
        linears = [m for m in self.model if isinstance(m, torch.nn.Linear)]
        for k, linear in enumerate(linears, start=1):
            named[f"W{k}"] = linear.weight
            if linear.bias is not None:
                named[f"b{k}"] = linear.bias
        return named

    def forward_backward(self) -> tuple[float, list[np.ndarray]]:
        """Zero the gradients, forward, ``loss.backward()`` (none when every parameter
        is frozen); returns the loss and the pre-activations z_k (B, n_k) as NumPy arrays."""
        if self.optimizer is not None:
            self.optimizer.zero_grad()
        zs, out = [], self.x
        for module in self.model:
            out = module(out)
            if isinstance(module, torch.nn.Linear):
                zs.append(out.detach().numpy().copy())
        loss = self.loss_fn(out, self.y)
        if loss.requires_grad:
            loss.backward()
        return float(loss.detach()), zs

    def step(self) -> None:
        if self.optimizer is not None:
            self.optimizer.step()

    def parameters(self) -> dict[str, np.ndarray]:
        """Parameters in the computation's layout: ``W_k = linear.weight.T`` (in, out)."""
        return {name: (p.detach().numpy().T if name[0] == "W" else p.detach().numpy()).copy()
                for name, p in self.named_parameters().items()}


@dataclass
class KinkStep:
    """A neuron at a ReLU kink at some step: ``label`` (``"hidden neuron 0"``), ``z``
    (``"z1[0]"``), its exact z (None when the exact track has stopped), the float zs and
    the side all tracks took (``alive``: ReLU' = 1)."""
    label: str
    z: str
    exact_z: Fraction | None
    float_z: dict[str, float]
    alive: bool | None
    activation: str = "relu"  # or "leaky_relu": never dead, its left derivative is the slope
    negative_slope: Decimal = Decimal(0)

    @property
    def name(self) -> str:
        return "leaky ReLU" if self.activation == "leaky_relu" else "ReLU"

    def derivative_text(self, right: bool) -> str:
        """``"ReLU′ = 1"``, ``"leaky ReLU′ = 0.25 (left)"``: the derivative on one side."""
        if self.activation != "leaky_relu":
            return f"ReLU′ = {int(right)}"
        return "leaky ReLU′ = 1 (right)" if right else f"leaky ReLU′ = {self.negative_slope} (left)"


@dataclass
class StepRecord:
    """The state after ``step`` updates (step 0: the file's parameters).

    ``loss`` maps track name (``"exact"``, ``"numpy"``, ``"torch"``) to the loss at these
    parameters (exact: ``Fraction``). ``problems`` lists disagreeing entries, e.g.
    ``"W1[0][0]: torch ≠ exact"``. ``kinks`` are the kink neurons the gradient of this
    state passes (they shape the update to step + 1). ``max_diff`` is the largest
    |NumPy − torch| over the parameters."""
    step: int
    loss: dict[str, object]
    problems: list[str] = field(default_factory=list)
    kinks: list[KinkStep] = field(default_factory=list)
    max_diff: float = 0.0
    gradients: dict[str, np.ndarray] | None = None  # exact gradients used for the next step (steps 0, 1)
    dead: dict[tuple[int, int], float | None] = field(default_factory=dict)  # (layer, neuron) -> z if one example

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class StepCheck:
    """One entry a text prints after update step ``step`` (``[after.K]``), judged: the
    ``given`` decimal, the ``expected`` value of the exact track at that step (None when
    the run did not reach it), ``against`` which track judged it (the exact one, or NumPy
    where the exact track had stopped), ``agree`` (None: not reached) and whether the
    file lists it as a known ``erratum`` (``[errata] after``)."""
    step: int
    key: str  # as written in [after.K]: "L", "W2", "W2[0][0]"
    label: str  # the entry: "L", "W2[0][0]"
    given: Decimal
    expected: Fraction | None
    against: str
    agree: bool | None
    erratum: bool = False
    rule: str = ""
    other_side: str = ""  # judged on the text's side of a kink (ReLU′(0) = 0): which, in words
    mixed: str = ""  # wrong on the side the others take, right on the other: in words

    @property
    def name(self) -> str:
        """``"after step 1: W2[0][0]"``: how the report names it."""
        return f"after step {self.step}: {self.label}"

    @property
    def ok(self) -> bool:
        """Right, or a known erratum that is indeed wrong, or not reached."""
        return self.agree is None or self.agree != self.erratum

    @property
    def verdict(self) -> str:
        """``agree``, ``known erratum``, ``not checked: …`` or ``DISAGREE: …``: the report's words."""
        if self.agree is None:
            return "not checked: the run stopped before this step"
        if self.erratum:
            return ("known erratum" if not self.agree else
                    "DISAGREE: listed as an erratum, but it holds: remove it from [errata] after")
        if self.agree and self.other_side:
            return f"agree: subgradient ({self.other_side})"
        if self.agree:
            return "agree"
        return f"DISAGREE: printed {self.given} ≠ {self.against}" + (f" ({self.mixed})" if self.mixed else "")


@dataclass
class Training:
    """A whole run: one ``StepRecord`` per state 0..N, the exact parameters after each
    exact step (``exact_parameters[t]``: kept for t = 0, 1, the steps a text prints values
    after (``[after.K]``) and the last state the exact track reached, None in between,
    so that memory does not grow with the steps), and which entries never moved and why.
    ``records[t].gradients`` is kept for t = 0 and 1. ``step_checks`` judge the file's
    ``[after.K]`` values; ``trajectory`` holds the NumPy parameters of every state as one
    row each, in ``entries`` order (None beyond ``MAX_TRAJECTORY`` floats)."""
    exercise: Exercise
    settings: TrainingSettings
    tolerance: Tolerance
    records: list[StepRecord]
    exact_parameters: list[dict[str, np.ndarray] | None]
    exact_stop: str | None
    unmoved: list[tuple[str, str]]
    n_parameters: int
    initial: dict[str, np.ndarray] | None = None  # the file's parameters in the float dtype
    step1: dict[str, dict[str, np.ndarray]] | None = None  # {"numpy": params, "torch": params} after step 1
    final: dict[str, dict[str, np.ndarray]] | None = None  # the same after the last step
    step_checks: list[StepCheck] = field(default_factory=list)
    trajectory: np.ndarray | None = None  # (steps + 1, parameter entries), float64

    @property
    def frozen(self) -> tuple[str, ...]:
        """The parameters that kept their values (``TrainingSettings.freeze``)."""
        return self.settings.freeze

    @property
    def ground_truth(self) -> str:
        """The exact track's number type: ``"exact"`` (Fraction) or ``"mp50"`` (mpmath)."""
        return self.exercise.architecture.ground_truth

    @property
    def exact_name(self) -> str:
        """``"exact"`` or ``"50-digit"``: how the exact track is named in the report."""
        return EXACT if self.ground_truth != MP else f"{MP_DIGITS}-digit"

    @property
    def large(self) -> bool:
        return self.exact_stop == TOO_LARGE

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.records) and all(c.ok for c in self.step_checks)

    @property
    def exact_steps(self) -> int:
        """The last state the exact track reached."""
        return len(self.exact_parameters) - 1


def entries(params: dict[str, np.ndarray], arch):
    """``(name, index, label)`` of every entry of ``params`` (the (in, out) layout), in the
    order and with the labels of the text's layout (``Architecture.text_order``)."""
    for name, array in params.items():
        for index in arch.text_order(name, array.shape):
            yield name, index, arch.label(name, index)


def _find_kinks(exercise: Exercise, exact_zs, numpy_zs, torch_zs, atol: float) -> list[tuple]:
    """``(layer, example, index)`` of every ReLU neuron at a kink in any track."""
    found = []
    for k, activation in enumerate(exercise.architecture.activations, start=1):
        if not activation in activations.KINKED:
            continue
        near = (np.abs(numpy_zs[k - 1].astype(np.float64)) <= atol) | (np.abs(torch_zs[k - 1]) <= atol)
        if exact_zs is not None:
            near = near | (exact_zs[k - 1] == 0)
        found += [(k, int(b), int(j)) for b, j in zip(*np.nonzero(near))]
    return found


def close(tolerance: Tolerance, actual, expected) -> bool:
    """``tolerance.close``; an exact value beyond float64's range agrees with nothing."""
    try:
        return tolerance.close(actual, expected)
    except OverflowError:
        return False


def _beyond_float64(value) -> str:
    """``" (beyond float64's range)"`` for an exact value a float cannot hold, else ``""``."""
    return " (beyond float64's range)" if math.isinf(as_float(value)) else ""


def _compare(record: StepRecord, exact_params, numpy_params, torch_params, tolerance: Tolerance,
             exact_name: str, arch) -> None:
    diffs = []
    for name, index, label in entries(numpy_params, arch):
        n, t = float(numpy_params[name][index]), float(torch_params[name][index])
        diffs.append(abs(n - t))
        if exact_params is not None:
            e = exact_params[name][index]
            if not close(tolerance, n, e):
                record.problems.append(f"{label}: NumPy ≠ {exact_name}{_beyond_float64(e)}")
            if not close(tolerance, t, e):
                record.problems.append(f"{label}: torch ≠ {exact_name}{_beyond_float64(e)}")
        elif not tolerance.close(t, n):
            record.problems.append(f"{label}: torch ≠ NumPy")
    record.max_diff = max(diffs) if diffs else 0.0
    loss = record.loss
    if EXACT in loss:
        for run, name in (("numpy", "NumPy"), ("torch", "torch")):
            if not close(tolerance, loss[run], loss[EXACT]):
                record.problems.append(f"L: {name} ≠ {exact_name}{_beyond_float64(loss[EXACT])}")
    elif not tolerance.close(loss["torch"], loss["numpy"]):
        record.problems.append("L: torch ≠ NumPy")


def run_training(exercise: Exercise, settings: TrainingSettings, update: Update | None = None,
                 show_progress: bool = False) -> Training:
    """Take ``settings.steps`` SGD steps on all three tracks and compare after each.

    ``update`` replaces the hand update of the exact and NumPy tracks (a broken variant
    must be caught); torch always uses ``torch.optim.SGD``. The exact track runs in the
    exercise's ground truth (``Fraction``, or mpmath at 50 digits where the network leaves
    the rationals); it is left out where one exact step costs more than
    ``compare.finite_differences.EXACT_BUDGET`` (``step_cost``) and stops before its steps together do.
    ``show_progress`` draws a tqdm bar on stderr for a long run (``compare.progress``).
    Raises ``ValueError`` for settings ``TrainingSettings.check`` and ``check_freeze``
    reject. A float track that overflows (a huge learning rate) shows inf or nan in the
    report, without NumPy's warnings. The exercise's ``[after.K]`` values are judged into
    ``Training.step_checks``.
    """
    settings.check()
    settings.check_freeze(exercise)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _run_training(exercise, settings, update, show_progress)


def _run_training(exercise: Exercise, settings: TrainingSettings, update: Update | None,
                  show_progress: bool) -> Training:
    tolerance = settings.tolerance or Tolerance.for_dtype(settings.dtype)
    update = update or Update()
    per_step = step_cost(exercise)
    large = per_step > EXACT_BUDGET
    exact = None if large else HandTrack(exercise, exercise.architecture.ground_truth, settings, update)
    hand = HandTrack(exercise, settings.dtype, settings, update)
    auto = TorchTrack(exercise, settings)
    initial = {name: p.copy() for name, p in hand.parameters().items()}
    records, exact_parameters = [], []
    exact_stop = TOO_LARGE if large else None
    exact_alive = not large
    first_exact_pass = first_hand_pass = None
    float_parameters = []  # {"numpy": ..., "torch": ...} after steps 1 and N
    checked = {a.step for a in exercise.after}  # states whose parameters the [after.K] values need
    numpy_checked = {}  # step -> NumPy parameters, where the exact track may not reach
    n_entries = sum(p.size for p in initial.values())
    trajectory = (np.empty((settings.steps + 1, n_entries)) if (settings.steps + 1) * n_entries <= MAX_TRAJECTORY
                  else None)
    steps = progress_bar("gradient-descent steps", enabled=show_progress)(range(settings.steps + 1))
    for step in steps:
        if exact_alive and (step + 1) * per_step > EXACT_BUDGET:
            exact_alive = False
            exact_stop = (f"its {step + 1} passes would cost an estimated {(step + 1) * per_step:.2g} operations, "
                          f"above the budget of {EXACT_BUDGET:.2g} (compare.finite_differences.estimate), so the "
                          f"exact track stops at step {step - 1}; NumPy vs torch go on")
        if exact_alive and step > 0:
            digits = exact.denominator_digits()
            if digits > settings.exact_digit_limit:
                exact_alive = False
                exact_stop = (f"after step {step} a parameter's denominator has {digits} digits (limit "
                              f"{settings.exact_digit_limit}; each step multiplies the digits), so the exact "
                              f"track stops at step {step - 1}; NumPy vs torch go on")
        torch_loss, torch_zs = auto.forward_backward()
        numpy_zs = hand.forward_zs()
        exact_zs = exact.forward_zs() if exact_alive else None
        neurons = _find_kinks(exercise, exact_zs, numpy_zs, torch_zs, tolerance.atol)
        if settings.kink_side == "torch":
            backprop = SideMatched({n: bool(torch_zs[n[0] - 1][n[1], n[2]] > 0) for n in neurons})
        else:
            backprop = Backprop()
        hand_pass = hand.run(backprop)
        first_hand_pass = first_hand_pass or hand_pass
        record = StepRecord(step, {"numpy": float(hand_pass.values["L"]), "torch": torch_loss})
        if exact_alive:
            try:
                exact_pass = exact.run(backprop)
            except ArithmeticError:  # a probability of exactly 0 or 1 after a huge step: log(0), 1/(p(1 - p))
                exact_alive = False
                exact_stop = (f"its pass at step {step} divides by zero (a probability of exactly 0 or 1 after "
                              f"the steps before), so the exact track stops at step {step - 1}; NumPy vs torch go on")
        if exact_alive:
            first_exact_pass = first_exact_pass or exact_pass
            record.loss[EXACT] = as_fraction(exact_pass.values["L"][()])
            record.gradients = {p: exact_pass.gradient(p) for p in exact.parameters()}
            exact_parameters.append({p: v.copy() for p, v in exact.parameters().items()})
            if step >= 3 and step - 1 not in checked:  # memory stays bounded: states 0, 1, the checked
                exact_parameters[step - 1] = None        # ones and the latest are what the report reads
        record.dead = _dead_neurons(exact_pass if exact_alive else hand_pass, exercise)
        arch = exercise.architecture
        for layer, example, index in neurons:
            neuron = Neuron(layer, example, index)
            label, z = neuron.label(exercise.architecture.n_layers, exercise.batch_size), neuron.z_label(exercise.batch_size)
            record.kinks.append(KinkStep(
                label, z, None if exact_zs is None else exact_zs[layer - 1][example, index],
                {"numpy": float(numpy_zs[layer - 1][example, index]),
                 "torch": float(torch_zs[layer - 1][example, index])},
                bool(torch_zs[layer - 1][example, index] > 0) if settings.kink_side == "torch" else None,
                arch.activations[layer - 1], arch.negative_slope))
        numpy_now, torch_now = hand.parameters(), auto.parameters()
        if trajectory is not None:
            trajectory[step] = np.concatenate([exercise.architecture.layout_array(p, v).reshape(-1)  # entries' order
                                               for p, v in numpy_now.items()]).astype(np.float64)
        if step in checked:
            numpy_checked[step] = {p: v.copy() for p, v in numpy_now.items()}
        _compare(record, exact_parameters[-1] if exact_alive else None, numpy_now, torch_now, tolerance,
                 EXACT if exercise.architecture.ground_truth != MP else f"{MP_DIGITS}-digit", exercise.architecture)
        if step in (1, settings.steps):
            float_parameters.append({"numpy": {p: v.copy() for p, v in numpy_now.items()}, "torch": torch_now})
        records.append(record)
        if step < settings.steps:
            hand.step({p: hand_pass.gradient(p) for p in hand.parameters()})
            auto.step()
            if exact_alive:
                exact.step(record.gradients)
                if step >= 2:  # only the gradients of steps 0 and 1 are reported
                    record.gradients = None
    if settings.lr == 0:
        unmoved = [(label, "the learning rate is 0") for _, _, label in entries(initial, exercise.architecture)]
    else:
        unmoved = _unmoved(exercise, initial, hand.parameters(), first_exact_pass or first_hand_pass, settings.freeze)
    training = Training(exercise, settings, tolerance, records, exact_parameters, exact_stop, unmoved,
                        n_entries, initial, float_parameters[0] if settings.steps else None, float_parameters[-1],
                        trajectory=trajectory)
    training.step_checks = check_steps(training, numpy_checked, _text_side(exercise, settings, update, records))
    return training


@dataclass
class TextSide:
    """The exact track again with the text's ReLU′(0) = 0 at every kink, where the run's
    exact track took torch's side (ReLU′ = 1) at an exact kink: ``parameters`` and
    ``losses`` by step (those ``[after.K]`` reads), and ``where``, the first such kink in
    words. A printed value right on this track is a valid subgradient step, not a slip."""
    parameters: dict[int, dict[str, np.ndarray]]
    losses: dict[int, Fraction]
    where: str
    z: str = ""  # the kink's pre-activation, "z1[0]"
    step: int = 1  # the update step whose gradient crossed it

    def mixed(self, taken_by_others: str) -> str:
        """Why a value right only on one side is wrong when the others take the other
        (``taken_by_others``: ``"torch"`` or ``"text"``)."""
        own, others = ("ReLU′(0) = 0", "ReLU′ = 1") if taken_by_others == "torch" else ("ReLU′ = 1", "ReLU′(0) = 0")
        return (f"right only with {own} at {self.z} = 0 in step {self.step}, where the other values take "
                f"{others}: mixed sides of the kink")


def _text_side(exercise: Exercise, settings: TrainingSettings, update: Update, records: list) -> TextSide | None:
    """``TextSide`` when the exact track crossed an exact kink on torch's side before the
    last ``[after.K]`` step it reached; None otherwise (both sides give one path). The
    text's track runs no further than the exact track did (its budget and digit limit)."""
    reached = max((r.step for r in records if EXACT in r.loss), default=-1)  # the exact track's last state
    last = min(max((a.step for a in exercise.after), default=0), reached)  # no further: its cost is the same
    crossed = [(r.step, k) for r in records[:last] for k in r.kinks
               if k.exact_z == 0 and k.alive and k.activation == "relu"]
    if not crossed:
        return None
    step, kink = crossed[0]
    track = HandTrack(exercise, exercise.architecture.ground_truth, settings, update)
    wanted = {a.step for a in exercise.after}
    parameters, losses = {}, {}
    try:
        for now in range(last + 1):
            text_pass = track.run(Backprop())  # 1 if z > 0 else 0: the text's ReLU′(0) = 0
            if now in wanted:
                parameters[now] = {p: v.copy() for p, v in track.parameters().items()}
                losses[now] = as_fraction(text_pass.values["L"][()])
            if now < last:
                track.step({p: text_pass.gradient(p) for p in track.parameters()})
    except ArithmeticError:
        return None
    where = (f"the text's ReLU′(0) = 0 at {kink.z} = 0 in step {step + 1}, where the exact track took torch's "
             f"side, ReLU′ = 1")
    return TextSide(parameters, losses, where, kink.z, step + 1)


def check_steps(training: Training, numpy_parameters: dict[int, dict[str, np.ndarray]],
                text_side: TextSide | None = None) -> list[StepCheck]:
    """Judge every ``[after.K]`` entry of the exercise: the loss ``L`` at the state after
    K updates and parameters after K updates, against the exact track (NumPy's value,
    said so, where the exact track stopped before K; not reached beyond the run's steps),
    by the exercise's ``[grading]`` rule or the printed rounding (``written_value_agrees``).

    With ``text_side`` (the exact track took torch's side of an exact kink) the values are
    judged on the one side that explains more of them: the text's ReLU′(0) = 0 is the
    other valid subgradient. A text takes one side: a value right only on the side the
    others do not take is wrong, named as mixed sides of the kink."""
    exercise = training.exercise
    rule = exercise.grading
    entries = []  # (answer, label, given, (expected, against), text's side value or None)
    for answer in exercise.after:
        for index, given in _written(answer, exercise.architecture):
            expected, against = _value_after(training, numpy_parameters, answer, index)
            other = None
            if text_side and answer.step in text_side.parameters and against == training.exact_name:
                other = (text_side.losses[answer.step] if answer.name == "L" else
                         as_fraction(text_side.parameters[answer.step][answer.name][index]))
            entries.append((answer, exercise.architecture.label(answer.name, index), given, expected, against, other))
    text_wins = text_side is not None and (
        sum(o is not None and written_value_agrees(g, o, rule) for _, _, g, _, _, o in entries)
        > sum(o is not None and written_value_agrees(g, e, rule) for _, _, g, e, _, o in entries))
    checks = []
    for answer, label, given, expected, against, other in entries:
        erratum = f"{answer.step}.{answer.key}" in exercise.after_errata
        check = StepCheck(answer.step, answer.key, label, given, expected, against,
                          None if expected is None else written_value_agrees(given, expected, rule), erratum,
                          rule_text(rule))
        if other is not None and other != expected:  # the side of the kink decides this value
            on_torch, on_text = check.agree, written_value_agrees(given, other, rule)
            if text_wins:
                check.expected, check.agree, check.other_side = other, on_text, text_side.where
            if not check.agree and (on_torch if text_wins else on_text):
                check.mixed = text_side.mixed(taken_by_others="text" if text_wins else "torch")
        checks.append(check)
    return checks


def _written(answer: StepAnswer, arch):
    """``(index, Decimal)`` of every entry a ``[after.K]`` key gives, in the text's order."""
    if answer.index or answer.name == "L":
        return [(answer.index, answer.value[()])]
    return [(index, answer.value[index]) for index in arch.text_order(answer.name, answer.value.shape)]


def _value_after(training: Training, numpy_parameters: dict, answer: StepAnswer, index: tuple):
    """``(value, track)``: the entry after ``answer.step`` updates in the exact track, or
    NumPy's (as a Fraction of the float) where the exact track did not reach that step;
    ``(None, "")`` beyond the run's steps."""
    step = answer.step
    if step > training.settings.steps:
        return None, ""
    record = training.records[step]
    if step <= training.exact_steps and not training.large:
        if answer.name == "L":
            return record.loss[EXACT], training.exact_name
        return as_fraction(training.exact_parameters[step][answer.name][index]), training.exact_name
    value = record.loss["numpy"] if answer.name == "L" else numpy_parameters[step][answer.name][index]
    return Fraction(float(value)), f"NumPy {training.settings.dtype} (the exact track stopped)"


def _dead_neurons(reference: Pass, exercise: Exercise) -> dict[tuple[int, int], float | None]:
    """ReLU neurons whose derivative in this pass (with the side taken at any kink) is 0
    in every example: ``{(layer, index): z}`` (z for a single example, else None)."""
    arch = exercise.architecture
    n = arch.n_layers
    dead = {}
    for k, activation in enumerate(arch.activations, start=1):
        if activation != "relu":  # a leaky ReLU neuron always passes slope * upstream
            continue
        mask = reference.values[quantities.derivative_name(k, n, activation)]
        mask = mask.reshape(1, -1) if mask.ndim == 1 else mask
        for j in range(mask.shape[1]):
            if all(mask[b, j] == 0 for b in range(mask.shape[0])):
                z = reference.pre_activations[k - 1]
                dead[(k, j)] = as_float(z[0, j]) if z.shape[0] == 1 else None
    return dead


FROZEN_REASON = "frozen: kept out of the update ([training] freeze or --freeze)"


def _unmoved(exercise: Exercise, initial, final, exact_pass: Pass, frozen=()) -> list[tuple[str, str]]:
    """Entries whose NumPy value never changed, with the reason their first gradient
    was zero (``compare.reasons``, from the exact pass of the file's parameters), or
    that they were frozen."""
    reasons = Reasons(exercise, exact_pass)
    return [(label, FROZEN_REASON if name in frozen else common_cause(reasons.for_entry(name, index)))
            for name, index, label in entries(initial, exercise.architecture)
            if initial[name][index] == final[name][index]]


def as_float(value) -> float:
    """``float(value)``, or ±inf for an exact value beyond float64's range (a huge step)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


EXAMPLE_PREFIX = re.compile(r"(?:^|; )example \d+: ")


def common_cause(reason: str) -> str:
    """``compare.reasons`` words a batch's zero gradient per example (``"example 0: dead
    neuron 1; input x[0] = 0; example 1: dead neuron 1"``); where one cause holds in every
    example, say just that: ``"dead neuron 1 in every example"``. Other reasons pass
    through unchanged."""
    if not reason.startswith("example 0: "):
        return reason
    per_example = [set(part.split("; ")) for part in EXAMPLE_PREFIX.split(reason)[1:]]
    shared = [cause for cause in reason[len("example 0: "):].split("; ") if all(cause in p for p in per_example)]
    return " and ".join(dict.fromkeys(shared)) + " in every example" if shared else reason


# ---------------------------------------------------------------------------- report
