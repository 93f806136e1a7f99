"""Grading one student's backward function: run it, judge it, name the mistake, probe it.

The function has the signature of the book's NumPy code::

    def backward(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]

- ``params``: ``{"W1": (in, out), "b1": (out,), ...}``, float64 (float32 with
  ``--dtype float32``), in the text's layout: ``z = x @ W + b``, or ``W1`` (out, in) where
  the exercise says ``layout = "out_in"`` (z = W x + b); ``b1`` a 0-d array where the
  layer shares one bias (``network.shared_bias``); no ``b{k}`` for a layer without bias
  (``network.bias``).
- ``x``: (n_in,) for a single example, as the book's code; (B, n_in) for a batch.
- ``y``: the same shapes with n_out for mse, sse, bce and bce_with_logits (floats) and for
  cross-entropy with one-hot targets; for cross-entropy whose exercise writes class
  indices, an int64 array (B,) of labels (0-d for one example), as CS231n's ``softmax_loss``.
- returns a dict keyed by the text's names: ``"dL/dW1"``, ``"dL/db1"``, ... (required, the
  parameters' shapes in the text's layout; none for a layer without bias) and optionally intermediates
  (``"z1"``, ``"h"``, ``"y_hat"``, ``"p"`` for a loss on logits, ``"L"``, ``"dL/dy_hat"``,
  ...; (n,) for one example, (B, n) for a batch).

It runs in a NumPy-only child process (``compare.grading.runner``) on the exercise and on
every probe (``compare.grading.probes``) in one go. PASS means every returned value of
the exercise agrees with the exact one at full float precision (one side per ReLU kink
neuron), every probe agrees too, and nothing came back broken.
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from compare.comparison import Comparison, compare_exercise, shaped_as_expected
from compare.diagnosis import CONVENTION, check_returned
from compare.grading.key import DEFAULT_TIMEOUT, GradingKey
from compare.grading.matching import matching_mistakes
from compare.grading.probes import DEFAULT_PROBES, Outcome, ProbeResult, Runner, function_runner, run_probes, shrink
from compare.grading.runner import Call, Session, SubmissionRun, run_submission
from reference import quantities
from reference.exercise import Exercise
from reference.numbers import convert

STATUS_TEXT = {
    "import_error": "could not be imported",
    "missing_function": "has no such function",
    "exception": "raised an exception",
    "bad_return": "returned the wrong type",
    "timeout": "timed out",
    "memory_limit": "exceeded the memory limit",
    "crashed": "crashed",
    "no_result": "sent back no usable result",
}


@dataclass
class StudentRun:
    """What the student's function did on the exercise. ``status`` is ``"ok"`` or one of
    ``STATUS_TEXT``; ``values`` the returned arrays (float64) by name; ``bad_values``
    returned keys whose value is not an array of numbers; ``line``/``source`` the line of
    the student's file an exception came from (``where``: the notebook cell, for a
    notebook); ``seconds`` the call's wall time; ``output`` what the code printed,
    escaped, and ``output_lines`` how many lines it printed before any cut; ``sandbox``
    what protected the run (one line); ``notes`` anything else worth saying (the IPython
    lines a notebook's module left out)."""
    path: Path
    function: str
    status: str
    message: str = ""
    line: int | None = None
    source: str | None = None
    values: dict[str, np.ndarray] = field(default_factory=dict)
    bad_values: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    output: str = ""
    output_lines: int = 0
    sandbox: str = ""
    where: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def target(self) -> str:
        return f"{self.path}:{self.function}"

    @property
    def failure(self) -> str | None:
        """One line describing why no gradients came back, or None when they did."""
        if self.status == "ok":
            return None
        place = self.where or (f"{self.path.name} line {self.line}" if self.line else None)
        where = f" at {place}" + (f": {self.source}" if self.source else "") if place else ""
        return f"student code {STATUS_TEXT[self.status]}: {self.message}{where}"


@dataclass
class StudentCheck:
    """A student's run, judged: the comparison with autograd and the exact values, the
    diagnosis of each returned value, the catalogued mistakes that give the whole pass,
    the probes (and the smallest failing one, shrunk)."""
    run: StudentRun
    comparison: Comparison
    unknown_keys: list[str]
    diagnoses: list = field(default_factory=list)  # compare.diagnosis.AnswerCheck of the returned values
    named: list = field(default_factory=list)  # compare.catalogue.Mistake whose whole pass gives the returned values
    probes: list[ProbeResult] = field(default_factory=list)
    shrunk: ProbeResult | None = None
    seed: int = 0

    @property
    def exercise_ok(self) -> bool:
        return self.run.status == "ok" and not self.run.bad_values and self.comparison.ok

    @property
    def ok(self) -> bool:
        """PASS: the exercise and every probe agree."""
        return self.exercise_ok and all(p.ok for p in self.probes)

    def __str__(self) -> str:
        from compare.grading.feedback import render_text
        return render_text(self)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(f"<StudentCheck {self.run.target}>" if cycle else str(self))

    def _repr_html_(self) -> str:
        """Jupyter: the report as HTML (``compare.grading.feedback``)."""
        from compare.grading.feedback import render_html_fragment
        return render_html_fragment(self)


def parse_target(text: str) -> tuple[Path, str]:
    """``"path/to/student.py:backward"`` -> ``(Path, "backward")``. Raises ``ValueError``
    (one line) without a ``:FUNCTION`` part or when the file does not exist."""
    path, sep, function = text.rpartition(":")
    if not sep or not path or not function.isidentifier():
        raise ValueError(f"expected PATH.py:FUNCTION, got {text!r}")
    if not Path(path).is_file():
        raise ValueError(f"{path}: no such file")
    return Path(path), function


def check_student(path: Path, function: str, exercise: Exercise, dtype: str = "float64", tolerance=None,
                  timeout: float = DEFAULT_TIMEOUT, probes: int = DEFAULT_PROBES, seed: int = 0,
                  sandbox: str = "auto") -> StudentCheck:
    """Grade one student's file on ``exercise`` (its printed answers and claims left out):
    ``GradingKey.build`` then ``grade_file``. ``probes`` random probes with ``seed`` (0:
    the exercise alone); ``sandbox`` as ``compare.grading.runner.run_submission``."""
    key = GradingKey.build(exercise, dtype, tolerance, probes, seed, timeout, sandbox)
    return grade_file(Path(path), function, key)


def function_inputs(exercise: Exercise, dtype: str, as_batch: bool | None = None
                    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """``params``, ``x`` and ``y`` as the student's function receives them (see the
    module's docstring). ``as_batch`` (default: whether the exercise has more than one
    example) gives even one example as a batch, as a batch exercise's probes are."""
    params = {name: convert(value, dtype)
              for name, value in exercise.architecture.layout_values(exercise.parameters).items()}
    x, y = convert(exercise.x, dtype), convert(exercise.y, dtype)
    if exercise.class_indices:
        y = np.array([int(np.argmax(row)) for row in exercise.y], dtype=np.int64)
    if not (exercise.batch_size > 1 if as_batch is None else as_batch):
        x, y = x[0], np.asarray(y[0])  # a class label as a 0-d array, not a NumPy scalar
    return params, x, y


def student_call(exercise: Exercise, dtype: str, as_batch: bool | None = None) -> Call:
    """``function_inputs`` as the runner's ``Call``."""
    return Call(*function_inputs(exercise, dtype, as_batch))


def _outcome(call) -> Outcome:
    if call.status != "ok":
        return Outcome(error=f"{call.message}" + (f" (line {call.line})" if call.line else ""))
    if call.bad_values:
        key, why = next(iter(call.bad_values.items()))
        return Outcome(error=f"{key}: {why}")
    return Outcome(call.values)


class SessionRunner:
    """A probe runner (``compare.grading.probes.Runner``) over one ``Session``: the
    student's file is imported once and every batch of calls (each round of shrinking)
    goes to the same child process. A context manager; closing it ends the child."""

    def __init__(self, path: Path, function: str, key: GradingKey, support_files=()):
        self.session = Session(path, function, timeout=key.timeout, sandbox=key.sandbox, limits=key.limits,
                               support_files=support_files)
        self.dtype = key.dtype

    def __call__(self, calls: list[tuple[Exercise, bool]]) -> list[Outcome]:
        submission = self.session.run([student_call(ex, self.dtype, as_batch) for ex, as_batch in calls])
        if submission.status != "ok":
            return [Outcome(error=f"student code {STATUS_TEXT[submission.status]}")] * len(calls)
        return [_outcome(call) for call in submission.calls]

    def __enter__(self) -> "SessionRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.session.close()


def student_run(path: Path, function: str, submission: SubmissionRun, where=None, notes=()) -> StudentRun:
    """The exercise's part of a submission's run (its first call) as a ``StudentRun``;
    ``where`` maps a line of the file to a place in the student's notebook."""
    common = {"output": submission.output, "output_lines": submission.output_lines,
              "sandbox": submission.sandbox, "notes": list(notes)}
    if submission.status != "ok":
        return StudentRun(path, function, submission.status, submission.message, submission.line, submission.source,
                          seconds=submission.seconds, where=where(submission.line) if where else None, **common)
    call = submission.calls[0]
    return StudentRun(path, function, call.status, call.message, call.line, call.source, call.values,
                      call.bad_values, call.seconds, where=where(call.line) if where else None, **common)


def grade_file(path: Path, function: str, key: GradingKey, support_files=(), shown_as: Path | None = None,
               where=None, notes=(), shrink_probes: bool = True) -> StudentCheck:
    """Run ``function`` of the file ``path`` on the exercise and every probe (one child
    process), judge it, and shrink the first failing probe (a few more processes) unless
    ``shrink_probes`` is false. ``shown_as``: the path the report names (a notebook, for
    its generated module)."""
    calls = [student_call(key.exercise, key.dtype)] + [student_call(p.exercise, key.dtype, p.as_batch)
                                                       for p in key.probes]
    submission = run_submission(path, function, calls, timeout=key.timeout, sandbox=key.sandbox,
                                limits=key.limits, support_files=support_files)
    run = student_run(shown_as or path, function, submission, where, notes)
    outcomes = [_outcome(call) for call in submission.calls[1:]] if submission.status == "ok" else []
    if not shrink_probes:
        return judge(run, key, outcomes, None)
    with SessionRunner(path, function, key, support_files) as runner:
        return judge(run, key, outcomes, runner)


def check_function(function, key: GradingKey) -> StudentCheck:
    """Grade a Python function object in this process (no child, no sandbox: the
    student's own notebook checking their own code)."""
    runner = function_runner(function, key.dtype)
    outcome = runner([(key.exercise, key.exercise.batch_size > 1)])[0]
    name = getattr(function, "__name__", "function")
    run = (StudentRun(Path("<notebook>"), name, "ok", values=outcome.values or {}) if outcome.error is None
           else StudentRun(Path("<notebook>"), name, "exception", outcome.error))
    probe_outcomes = runner([(p.exercise, p.as_batch) for p in key.probes]) if key.probes else []
    return judge(run, key, probe_outcomes, runner)


def judge(run: StudentRun, key: GradingKey, probe_outcomes: list[Outcome] | None = None,
          runner: Runner | None = None) -> StudentCheck:
    """Judge a run: the exercise's values entry by entry (one side per kink neuron), the
    diagnosis of each wrong value on the student's own values, the catalogued mistakes
    that give the whole pass, and the probes, the first failing one shrunk with ``runner``."""
    exercise = key.exercise
    arch = exercise.architecture
    known = arch.quantity_names() + arch.printed_names()
    required = {f"dL/d{p}" for p in arch.parameter_shapes()}
    values = arch.layout_values({k: v for k, v in run.values.items() if k in known})  # to the (in, out) layout
    values = shaped_as_expected(values, key.truth.exact.values)  # (1, n) for (n,): the same numbers everywhere
    comparison = compare_exercise(exercise, key.dtype, key.tolerance, hand_values=values,
                                  hand_error=run.failure and f"student code {STATUS_TEXT[run.status]}, see above",
                                  hand_optional=frozenset(known) - required, truth=key.truth)
    unknown = sorted(k for k in list(run.values) + list(run.bad_values) if k not in known)
    if run.failure:
        return StudentCheck(run, comparison, unknown, seed=key.seed)
    diagnoses = check_returned(exercise, values, key.tolerance, key.diagnoser, comparison.hand_sides)
    _name_mixed_sides(diagnoses, comparison)
    named = matching_mistakes(key.diagnoser, values, key.tolerance, comparison.hand_sides)
    check = StudentCheck(run, comparison, unknown, diagnoses, named, seed=key.seed)
    if key.probes and probe_outcomes:
        check.probes = run_probes(key.probes, lambda calls: probe_outcomes, key.tolerance, key.probe_truths)
        failing = next((p for p in check.probes if not p.ok), None)
        if failing is not None and runner is not None:
            check.shrunk = shrink(failing, runner, key.tolerance)
    return check


def _name_mixed_sides(diagnoses: list, comparison: Comparison) -> None:
    """An entry that is right only for the other side of a kink neuron whose other
    entries take one side is a mixed-sides mistake: say so, whatever else its value fits."""
    mixed = {}
    for r in comparison.gradients + comparison.intermediates:
        for problem in r.problems:
            if problem.startswith("mixed sides of the kink: "):
                mixed[(r.quantity, r.index)] = problem.removeprefix("mixed sides of the kink: ")
    for check in diagnoses:
        text = mixed.get((check.quantity, check.entry_index))
        if text and not check.agree:
            check.kind, check.follows_from = CONVENTION, []
            check.convention = f"mixed sides of the kink: {text} (one neuron, one ReLU′(0))"
            check.diagnosis = f"convention: {check.convention}"


def wrong_diagnoses(check: StudentCheck) -> list:
    """The diagnoses of the returned entries the comparison rejects, in the order of the
    text's steps (an entry the comparison accepts, the other side of a kink, is no mistake)."""
    rejected = {(r.quantity, r.index) for r in check.comparison.gradients + check.comparison.intermediates
                if not r.agree}
    return [c for c in check.diagnoses if not c.agree and (c.quantity, c.entry_index) in rejected]


def first_mistake(check: StudentCheck):
    """The first wrong entry that does not only carry an earlier error, or None."""
    return next((c for c in wrong_diagnoses(check) if c.kind != "follows"), None)


def step_of(check: StudentCheck, quantity: str) -> str:
    """The text's step that computes ``quantity`` ("Step 2: output layer weights"), or
    the heading of a printed quantity ("The update step Δθ = −lr · ∂L/∂θ")."""
    arch = check.comparison.exercise.architecture
    groups = arch.step_groups() + quantities.printed_groups(arch.printed_names())
    return next((title for title, names in groups if quantity in names), "")
