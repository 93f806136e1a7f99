"""Probes: the student's function on more inputs than the exercise's one example.

One example hides bugs: in Chapter 7 hidden neuron 1 is dead, so every mistake in its
column is invisible. Grading therefore also runs the function on seeded random
*probes* of the same architecture (one-decimal parameters and inputs; a batch of one
and, for a batch exercise, a batch of B; every ReLU neuron alive in at least one probe;
no pre-activation within ``MARGIN`` of a kink), judged against exact arithmetic, and on
one *kink probe* built from dyadic numbers (multiples of 1/8, exact in binary) so that
a hidden pre-activation is exactly 0 in float arithmetic too: the gradients then show
which ReLU′(0) the code takes, without needing its z.

A failing probe is shrunk (``shrink``): examples, neurons, inputs and outputs are
dropped and values set to 0 while the function still fails the same way (the same kind
of failure, on a quantity that failed: ``_fails_like``), so the student gets the
smallest network that shows the bug, printed as a ready-to-run exercise file.
"""
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Callable

import numpy as np

from compare.comparison import Truth, choose_sides, disagreements
from compare.tolerance import Tolerance
from reference import activations, quantities
from reference.exercise import Architecture, Exercise
from reference.writer import dump_exercise

MARGIN = 0.05  # random probes keep every ReLU pre-activation this far from 0
ATTEMPTS = 200
DEFAULT_PROBES = 6
MAX_SHRINK_ROUNDS = 60


@dataclass(frozen=True)
class Probe:
    """One probe: its label, the exercise it is, and whether the function receives it
    as a batch (2-D x and y) even for one example, as the graded exercise's function does."""
    label: str
    exercise: Exercise
    as_batch: bool
    kink: bool = False


@dataclass
class Outcome:
    """What the function did on one probe: the returned arrays by name, or the error."""
    values: dict[str, np.ndarray] | None = None
    error: str | None = None


# A runner calls the student's function on probes: [(exercise, as_batch), ...] -> outcomes.
Runner = Callable[[list[tuple[Exercise, bool]]], list[Outcome]]


@dataclass
class ProbeResult:
    """A probe, what the function did on it, and the entries that disagree with the
    exact values (``(label, given, exact)``; given None for a missing gradient)."""
    probe: Probe
    outcome: Outcome
    wrong: list = field(default_factory=list)
    side_at_kink: bool | None = None  # the kink probe: True if the code took the right derivative (1) at z = 0

    @property
    def ok(self) -> bool:
        return self.outcome.error is None and not self.wrong


def _decimals(rng: np.random.Generator, shape: tuple, tenths: int = 9, nonzero: bool = False) -> np.ndarray:
    """Random one-decimal numbers in [-tenths/10, tenths/10], as a Decimal array."""
    values = rng.integers(-tenths, tenths + 1, size=shape)
    if nonzero:
        values = np.where(values == 0, 1, values)
    out = np.empty(shape, dtype=object)
    out.reshape(-1)[:] = [Decimal(int(v)).scaleb(-1) for v in values.reshape(-1)]
    return out


def _targets(rng: np.random.Generator, arch: Architecture, batch: int, class_indices: bool) -> np.ndarray:
    n = arch.sizes[-1]
    if arch.loss == "cross_entropy":
        labels = rng.integers(0, n, size=batch)
        y = np.empty((batch, n), dtype=object)
        y.reshape(-1)[:] = [Decimal(int(c == label)) for label in labels for c in range(n)]
        return y
    if arch.loss in ("bce", "bce_with_logits"):
        y = np.empty((batch, n), dtype=object)
        y.reshape(-1)[:] = [Decimal(int(v)) for v in rng.integers(0, 2, size=batch * n)]
        return y
    return _decimals(rng, (batch, n))


def _exact_zs(exercise: Exercise) -> list[np.ndarray]:
    from reference.backprop import run_pass
    return run_pass(exercise, exercise.architecture.ground_truth).pre_activations


def _kinked_layers(arch: Architecture) -> list[int]:
    return [k for k, a in enumerate(arch.activations, start=1) if a in activations.KINKED]


def _clear_of_kinks(exercise: Exercise) -> bool:
    zs = _exact_zs(exercise)
    return all(abs(float(v)) >= MARGIN for k in _kinked_layers(exercise.architecture) for v in zs[k - 1].reshape(-1))


def _alive(exercise: Exercise) -> set[tuple[int, int]]:
    zs = _exact_zs(exercise)
    return {(k, j) for k in _kinked_layers(exercise.architecture)
            for j in range(zs[k - 1].shape[1]) if any(zs[k - 1][:, j] > 0)}


def _probe_exercise(base: Exercise, parameters: dict, x: np.ndarray, y: np.ndarray, title: str) -> Exercise:
    return replace(base, path=f"<{title}>", title=title, source=f"a probe of {base.title}",
                   parameters=parameters, x=x, y=y, answers=(), claims={}, errata=frozenset(), answers_left_out=0)


def _random_probe(base: Exercise, rng: np.random.Generator, batch: int, title: str) -> Exercise:
    arch = base.architecture
    for _ in range(ATTEMPTS):
        parameters = {name: _decimals(rng, shape) for name, shape in arch.parameter_shapes().items()}
        x = _decimals(rng, (batch, arch.sizes[0]), nonzero=True)
        probe = _probe_exercise(base, parameters, x, _targets(rng, arch, batch, base.class_indices), title)
        if _clear_of_kinks(probe):
            return probe
    return probe


POWERS_OF_TWO = {Decimal(1), Decimal("0.5"), Decimal("0.25"), Decimal("0.125")}  # dyadic inputs to divide by


def pin_kink(ex: Exercise) -> Exercise | None:
    """The kink probe's defining property restored: b1[0] set so that z1[0] of the
    first example is exactly 0 (after shrinking changed x or W1; a bias shared by the
    layer is set so, and moves its other neurons with it). A first layer without
    bias pins one weight instead: W1[i][0] for the first input x[0][i] that is ±1, ±1/2,
    ±1/4 or ±1/8, so that the weight stays a dyadic number, exact in binary; None when
    no input is one of those."""
    params = dict(ex.parameters)
    n_in = ex.architecture.sizes[0]
    if ex.architecture.has_bias(1):
        params["b1"] = params["b1"].copy()
        params["b1"][(0,) if params["b1"].ndim else ()] = -sum((ex.x[0, i] * params["W1"][i, 0]
                                                              for i in range(n_in)), Decimal(0))
        return replace(ex, parameters=params)
    pivot = next((i for i in range(n_in) if abs(ex.x[0, i]) in POWERS_OF_TWO), None)
    if pivot is None:
        return None
    params["W1"] = params["W1"].copy()
    rest = sum((ex.x[0, i] * params["W1"][i, 0] for i in range(n_in) if i != pivot), Decimal(0))
    params["W1"][pivot, 0] = -rest / ex.x[0, pivot]
    return replace(ex, parameters=params)


def _pinned_value(ex: Exercise) -> Decimal:
    """What ``pin_kink`` set: b1[0], or the pinned weight of a first layer without bias."""
    if ex.architecture.has_bias(1):
        return ex.parameters["b1"].reshape(-1)[0]
    return max(abs(v) for v in ex.parameters["W1"][:, 0])


def _kink_probe(base: Exercise, rng: np.random.Generator, batch: int) -> Exercise | None:
    """Dyadic parameters and inputs with hidden neuron 0 of layer 1 exactly at 0 in the
    first example, every other ReLU pre-activation clear of 0, and the side of that
    kink mattering for the gradients. None when no such probe is found."""
    from reference.backprop import run_pass
    from compare.kinks import SideMatched
    arch = base.architecture
    if 1 not in _kinked_layers(arch):
        return None

    def dyadic(shape, eighths=8):
        out = np.empty(shape, dtype=object)
        out.reshape(-1)[:] = [Decimal(int(v)) / 8 for v in rng.integers(-eighths, eighths + 1, size=int(np.prod(shape)))]
        return out
    for _ in range(ATTEMPTS):
        parameters = {name: dyadic(shape) for name, shape in arch.parameter_shapes().items()}
        x = dyadic((batch, arch.sizes[0]))
        probe = pin_kink(_probe_exercise(base, parameters, x, _targets(rng, arch, batch, base.class_indices),
                                         "ReLU′(0) probe: z1[0] = 0 exactly, in floats too"))
        if probe is None:
            continue
        zs = _exact_zs(probe)
        others = [abs(float(v)) for k in _kinked_layers(arch) for (b, j), v in np.ndenumerate(zs[k - 1])
                  if (k, b, j) != (1, 0, 0)]
        if any(v < MARGIN for v in others) or abs(_pinned_value(probe)) > 2:
            continue
        left = run_pass(probe, arch.ground_truth).values["dL/dW1"]
        right = run_pass(probe, arch.ground_truth, SideMatched({(1, 0, 0): True})).values["dL/dW1"]
        if any(a != b for a, b in zip(left.reshape(-1), right.reshape(-1))):
            return probe
    return None


def make_probes(exercise: Exercise, count: int = DEFAULT_PROBES, seed: int = 0) -> list[Probe]:
    """``count`` random probes of the exercise's architecture (for a batch exercise,
    half of them with one example and half with as many as the exercise, all given as
    batches), redrawn until every ReLU neuron is alive in at least one of them, plus the
    kink probe where the first layer is ReLU or leaky ReLU. Seeded: the same seed
    always gives the same probes."""
    rng = np.random.default_rng(seed)
    as_batch = exercise.batch_size > 1
    sizes = [1 if not as_batch or i % 2 == 0 else exercise.batch_size for i in range(count)]
    wanted = {(k, j) for k in _kinked_layers(exercise.architecture) for j in range(exercise.architecture.sizes[k])}
    probes = []
    for _ in range(20):
        probes = [_random_probe(exercise, rng, batch, f"probe {i + 1} of {count} (seed {seed}, "
                                                      f"{batch} example{'s' if batch > 1 else ''})")
                  for i, batch in enumerate(sizes)]
        if wanted <= set().union(*(_alive(p) for p in probes)) if probes else True:
            break
    found = [Probe(p.title, p, as_batch) for p in probes]
    kink = _kink_probe(exercise, rng, 1)
    if kink is not None:
        found.append(Probe(kink.title, kink, as_batch, kink=True))
    return found


def required_gradients(exercise: Exercise) -> list[str]:
    return [f"dL/d{p}" for p in exercise.architecture.parameter_shapes()]


def judge(exercise: Exercise, outcome: Outcome, tolerance: Tolerance, truth: Truth | None = None) -> list:
    """The disagreeing entries of one run on ``exercise`` (``compare.comparison.disagreements``)."""
    if outcome.error is not None or outcome.values is None:
        return []
    truth = truth or Truth(exercise, tolerance=tolerance, autograd=False)
    return disagreements(truth, exercise.architecture.layout_values(outcome.values), required_gradients(exercise))


def run_probes(probes: list[Probe], runner: Runner, tolerance: Tolerance,
               truths: dict | None = None) -> list[ProbeResult]:
    """Run the function on every probe (one runner call) and judge each."""
    outcomes = runner([(p.exercise, p.as_batch) for p in probes])
    results = []
    for probe, outcome in zip(probes, outcomes):
        truth = (truths or {}).get(probe.label) or Truth(probe.exercise, tolerance=tolerance, autograd=False)
        result = ProbeResult(probe, outcome, judge(probe.exercise, outcome, tolerance, truth))
        if probe.kink and result.ok:
            sides, _ = choose_sides(truth, probe.exercise.architecture.layout_values(outcome.values))
            result.side_at_kink = sides.get((1, 0, 0), False)
        results.append(result)
    return results


def summary(results: list[ProbeResult], seed: int) -> str:
    """``Probes: 7 of 7 agree (seed 0; ...).`` with the ReLU′(0) the code takes."""
    agree = sum(r.ok for r in results)
    kink = next((r for r in results if r.probe.kink), None)
    parts = [f"seed {seed}", f"{len(results) - (kink is not None)} random"]
    if kink is not None:
        arch = kink.probe.exercise.architecture
        name = "ReLU" if arch.activations[0] == "relu" else "leaky ReLU"
        left = "0" if name == "ReLU" else f"{arch.negative_slope:f}"
        if kink.side_at_kink is None:
            parts.append(f"1 at a {name} kink, failed")
        else:
            taken = "1" if kink.side_at_kink else left
            parts.append(f"1 at a {name} kink: your code takes {name}′(0) = {taken}"
                         + (", as the text and PyTorch" if taken == left
                            else f", a valid subgradient (the text and PyTorch take {left})"))
    return f"Probes: {agree} of {len(results)} agree ({'; '.join(parts)})."


# Shrinking ---------------------------------------------------------------------------------

def _without_example(ex: Exercise, i: int) -> Exercise:
    return replace(ex, x=np.delete(ex.x, i, axis=0), y=np.delete(ex.y, i, axis=0))


def _without_neuron(ex: Exercise, k: int, j: int) -> Exercise:
    """Hidden neuron j of layer k gone: its column of W_k, its bias (a bias shared by the
    layer stays), its row of W_{k+1}."""
    arch = ex.architecture
    params = dict(ex.parameters)
    params[f"W{k}"] = np.delete(params[f"W{k}"], j, axis=1)
    if arch.has_bias(k) and not arch.shares_bias(k):
        params[f"b{k}"] = np.delete(params[f"b{k}"], j)
    params[f"W{k + 1}"] = np.delete(params[f"W{k + 1}"], j, axis=0)
    sizes = list(arch.sizes)
    sizes[k] -= 1
    return replace(ex, architecture=replace(arch, sizes=tuple(sizes)), parameters=params)


def _without_input(ex: Exercise, i: int) -> Exercise:
    params = dict(ex.parameters)
    params["W1"] = np.delete(params["W1"], i, axis=0)
    sizes = list(ex.architecture.sizes)
    sizes[0] -= 1
    return replace(ex, architecture=replace(ex.architecture, sizes=tuple(sizes)), parameters=params,
                   x=np.delete(ex.x, i, axis=1))


def _without_output(ex: Exercise, j: int) -> Exercise | None:
    arch = ex.architecture
    n = arch.n_layers
    if arch.loss == "cross_entropy" and (arch.sizes[-1] <= 2 or any(row[j] != 0 for row in ex.y)):
        return None  # keep two classes, and every class a target names
    params = dict(ex.parameters)
    params[f"W{n}"] = np.delete(params[f"W{n}"], j, axis=1)
    if arch.has_bias(n) and not arch.shares_bias(n):
        params[f"b{n}"] = np.delete(params[f"b{n}"], j)
    sizes = list(arch.sizes)
    sizes[-1] -= 1
    return replace(ex, architecture=replace(arch, sizes=tuple(sizes)), parameters=params,
                   y=np.delete(ex.y, j, axis=1))


def _zeroed(ex: Exercise, where: str, index: tuple) -> Exercise:
    if where == "x":
        x = ex.x.copy()
        x[index] = Decimal(0)
        return replace(ex, x=x)
    params = dict(ex.parameters)
    params[where] = params[where].copy()
    params[where][index] = Decimal(0)
    return replace(ex, parameters=params)


def smaller(ex: Exercise) -> list[Exercise]:
    """Every one-step simplification of ``ex``, structure first: an example dropped, a
    hidden neuron, an input, an output; then one value set to 0."""
    arch = ex.architecture
    found = [_without_example(ex, i) for i in range(ex.batch_size)] if ex.batch_size > 1 else []
    for k in range(1, arch.n_layers):
        if arch.sizes[k] > 1:
            found += [_without_neuron(ex, k, j) for j in range(arch.sizes[k])]
    if arch.sizes[0] > 1:
        found += [_without_input(ex, i) for i in range(arch.sizes[0])]
    if arch.sizes[-1] > 1:
        found += [c for j in range(arch.sizes[-1]) if (c := _without_output(ex, j)) is not None]
    for name, value in ex.parameters.items():
        found += [_zeroed(ex, name, i) for i in np.ndindex(value.shape) if value[i] != 0]
    found += [_zeroed(ex, "x", i) for i in np.ndindex(ex.x.shape) if ex.x[i] != 0]
    return found


def failure_kind(outcome: Outcome, wrong: list) -> tuple[str, frozenset]:
    """How a run fails: ``("exception", {})``, ``("shape", quantities)`` when a required
    quantity is missing or of the wrong shape (those quantities), else ``("values",
    quantities)``, the quantities with wrong entries (empty when nothing is wrong)."""
    if outcome.error is not None:
        return "exception", frozenset()
    shapes = frozenset(label for label, given, _ in wrong if given is None)
    if shapes:
        return "shape", shapes
    return "values", frozenset(quantities.split_entry(label)[0] for label, _, _ in wrong)


def _fails_like(failure: ProbeResult, outcome: Outcome, wrong: list) -> int | None:
    """Whether a candidate fails the same way as ``failure``: None when not, else a rank
    (lower is better). The same kind of failure: an exception for an exception; a missing
    or misshapen quantity for one of the same quantities; wrong values for wrong values,
    with nothing missing or misshapen (a smaller network must not turn wrong numbers into
    a wrong shape, as a transposed square gradient does once the matrix is no longer
    square). Rank 0 when a quantity that failed still fails, 1 when only others do (at a
    kink the side read from the gradients may move the wrong entry from dL/db1 to dL/dW1)."""
    kind, quantities = failure_kind(failure.outcome, failure.wrong)
    now, failing = failure_kind(outcome, wrong)
    if now != kind:
        return None
    if kind == "exception":
        return 0
    if kind == "shape":
        return 0 if failing & quantities else None
    if not failing:
        return None
    return 0 if failing & quantities else 1


def size(ex: Exercise) -> tuple:
    """How big an exercise is, for shrinking: entries, then nonzero values."""
    entries = sum(v.size for v in ex.parameters.values()) + ex.x.size
    nonzero = sum(int(np.count_nonzero(v != 0)) for v in ex.parameters.values()) + int(np.count_nonzero(ex.x != 0))
    return entries, nonzero


def _first_alike(failure: ProbeResult, candidates: list[Exercise], outcomes: list[Outcome],
                 tolerance: Tolerance) -> tuple[Exercise, Outcome, list] | None:
    """The first candidate that fails like ``failure`` with the best rank of
    ``_fails_like`` (still wrong on a quantity that was wrong, if any is), with its
    outcome and wrong entries; None when none fails like it."""
    best, best_rank = None, None
    for candidate, outcome in zip(candidates, outcomes):
        wrong = judge(candidate, outcome, tolerance)
        rank = _fails_like(failure, outcome, wrong)
        if rank is not None and (best_rank is None or rank < best_rank):
            best, best_rank = (candidate, outcome, wrong), rank
            if rank == 0:
                break
    return best


def shrink(failure: ProbeResult, runner: Runner, tolerance: Tolerance,
           rounds: int = MAX_SHRINK_ROUNDS) -> ProbeResult:
    """The smallest probe found that still fails the same way (``_fails_like``: the same
    kind of failure, preferably on a quantity that failed): greedily take the first
    one-step simplification (``smaller``) that does, until none does. Each round is one
    runner call on all candidates. Returns the shrunk probe's result."""
    current = failure
    for _ in range(rounds):
        candidates = smaller(current.probe.exercise)
        if failure.probe.kink:  # keep the probe a kink probe: z1[0] = 0 exactly
            candidates = [pinned for c in candidates if (pinned := pin_kink(c)) is not None]
        candidates = [c for c in candidates if size(c) < size(current.probe.exercise)]  # progress, or stop
        if not candidates:
            break
        outcomes = runner([(c, current.probe.as_batch) for c in candidates])
        chosen = _first_alike(failure, candidates, outcomes, tolerance)
        if chosen is None:
            break
        candidate, outcome, wrong = chosen
        title = f"shrunk from {failure.probe.label}"
        probe = Probe(title, replace(candidate, title=title, path=f"<{title}>"), current.probe.as_batch,
                      failure.probe.kink)
        current = ProbeResult(probe, outcome, wrong)
    return current


def shrunk_file(result: ProbeResult) -> str:
    """The shrunk probe as a ready-to-run exercise file, the wrong entries in a comment."""
    lines = ["The smallest probe found on which your function fails; run it with",
             "python -m compare grade YOUR_FILE.py --exercise this_file.toml"]
    if result.outcome.error is not None:
        lines.append(f"Your function raised: {result.outcome.error}")
    for label, given, exact in result.wrong[:8]:
        lines.append(f"{label}: missing or of the wrong shape" if exact is None
                     else f"{label}: yours {given!r}, exact {float(exact):.6g}")
    return dump_exercise(result.probe.exercise, "\n".join(lines))


def function_runner(function, dtype: str = "float64") -> Runner:
    """A runner that calls a Python function in this process (for tests and the
    notebook API; students' files go through ``compare.grading.runner``)."""
    from compare.grading.check import function_inputs

    def run(calls: list[tuple[Exercise, bool]]) -> list[Outcome]:
        outcomes = []
        for exercise, as_batch in calls:
            params, x, y = function_inputs(exercise, dtype, as_batch)
            try:
                returned = function(params, x, y)
                values = {str(k): np.asarray(v, dtype=np.float64) for k, v in dict(returned).items()}
                outcomes.append(Outcome(values))
            except Exception as error:  # the function's own failure is an outcome
                outcomes.append(Outcome(error=f"{type(error).__name__}: {error}"))
        return outcomes
    return run
