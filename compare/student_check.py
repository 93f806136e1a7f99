"""Grading a student's backward function: ``python -m compare --backward FILE.py:FUNCTION``.

The function has the signature of the book's NumPy code::

    def backward(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]

- ``params``: ``{"W1": (in, out), "b1": (out,), "W2": ..., "b2": ...}``, float64 (float32
  with ``--dtype float32``), in the text's layout ``z = x @ W + b``.
- ``x``, ``y``: for a single example 1-D arrays, shape (4,) each for the chapter (as the
  book's code); for a batch of B examples 2-D, shape (B, n_in) and (B, n_out).
- returns the gradients by the text's names: ``"dL/dW1"``, ``"dL/db1"``, ``"dL/dW2"``,
  ``"dL/db2"`` (required, the parameters' shapes) and optionally intermediates ``"z1"``,
  ``"h"``, ``"y_hat"``, ``"L"``, ``"dL/dy_hat"``, ``"dL/dh"``, ``"relu_mask"``,
  ``"dL/dz1"`` (shape (n,) for one example, (B, n) for a batch; ``L`` a scalar). Any
  intermediate given is checked like a gradient.

The function runs in a child process started by ``compare.grading.run_submission``, with
a time limit and resource limits, under bubblewrap where it is installed and works
(``docs/sandbox.md`` says what that does and does not protect). An import failure, a
missing function, an exception, a timeout, the memory limit, a crash, a missing or
garbled result, a missing key, a wrong shape or a non-numeric value fails the check with a
verdict naming it; the harness never crashes.
"""
import html
import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import numpy as np

from compare import student
from compare.comparison import Comparison, compare_exercise
# Everything used after the student's code has run is imported here, before it runs.
from compare.diagnosis import answers_table, check_answers
from compare.grading import Call, run_submission
from compare.grading.escape import split_escaped_lines
from compare.report import render_html_fragment, render_json, render_text
from compare.tolerance import Tolerance
from reference import quantities
from reference.exercise import Answer, Exercise, answer_shape
from reference.numbers import convert

DEFAULT_TIMEOUT = 10.0
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
    """What the student's function did. ``status`` is ``"ok"`` or one of
    ``STATUS_TEXT``; ``values`` the returned arrays (float64) by name; ``bad_values``
    returned keys whose value is not an array of numbers; ``line``/``source`` the line of
    the student's file an exception came from; ``seconds`` the call's wall time;
    ``output`` what the code printed, escaped (newlines as ``\\n``), and ``output_lines``
    how many lines it printed; ``sandbox`` what protected the run (one line)."""
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

    @property
    def target(self) -> str:
        return f"{self.path}:{self.function}"

    @property
    def failure(self) -> str | None:
        """One line describing why no gradients came back, or None when they did."""
        if self.status == "ok":
            return None
        where = f" at {self.path.name} line {self.line}" + (f": {self.source}" if self.source else "") \
            if self.line else ""
        return f"student code {STATUS_TEXT[self.status]}: {self.message}{where}"


@dataclass
class StudentCheck:
    """A student's run and its comparison with autograd and the exact values."""
    run: StudentRun
    comparison: Comparison
    unknown_keys: list[str]
    diagnoses: list = field(default_factory=list)  # compare.diagnosis.AnswerCheck of the returned values

    @property
    def ok(self) -> bool:
        return self.run.status == "ok" and not self.run.bad_values and self.comparison.ok

    def __str__(self) -> str:
        return render_student_text(self)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(f"<StudentCheck {self.run.target}>" if cycle else str(self))

    def _repr_html_(self) -> str:
        """Jupyter: the student lines, then the comparison's HTML tables."""
        lines = "".join(f"<li>{html.escape(line)}</li>" for line in student_lines(self))
        diagnosis = "".join(f"<li>{html.escape(line)}</li>" for line in diagnosis_lines(self)[-1:])
        table = diagnosis_lines(self, "html")[3] if diagnosis else ""
        verdict = "PASS" if self.ok else "FAIL"
        return (f"<ul>{lines}</ul>\n{render_html_fragment(self.comparison)}\n{table}<ul>{diagnosis}</ul>"
                f"\n<p><b>Student result: {verdict}</b></p>")


def parse_target(text: str) -> tuple[Path, str]:
    """``"path/to/student.py:backward"`` -> ``(Path, "backward")``. Raises ``ValueError``
    (one line) without a ``:FUNCTION`` part or when the file does not exist."""
    path, sep, function = text.rpartition(":")
    if not sep or not path or not function.isidentifier():
        raise ValueError(f"expected PATH.py:FUNCTION, got {text!r}")
    if not Path(path).is_file():
        raise ValueError(f"{path}: no such file")
    return Path(path), function


def student_call(exercise: Exercise, dtype: str) -> Call:
    """``params``, ``x`` and ``y`` as the student's function receives them: params in
    ``dtype``, x and y 1-D for one example, (B, n) for a batch."""
    params = {name: convert(value, dtype) for name, value in exercise.parameters.items()}
    x, y = convert(exercise.x, dtype), convert(exercise.y, dtype)
    if exercise.batch_size == 1:
        x, y = x[0], y[0]
    return Call(params, x, y)


def student_arguments(exercise: Exercise, dtype: str) -> dict:
    """``student_call`` JSON-encoded as ``compare/student.py`` (the former child) reads it."""
    call = student_call(exercise, dtype)
    return {"params": {name: student.encode(value) for name, value in call.params.items()},
            "x": student.encode(call.x), "y": student.encode(call.y)}


def run_student(path: Path, function: str, exercise: Exercise, dtype: str = "float64",
                timeout: float = DEFAULT_TIMEOUT) -> StudentRun:
    """Run ``function`` of ``path`` on the exercise in a child process
    (``compare.grading.run_submission``, sandboxed where bwrap works), killed with what it
    left behind after ``timeout`` seconds. Never raises for what the student's code does."""
    run = run_submission(path, function, [student_call(exercise, dtype)], timeout=timeout, sandbox="auto")
    common = {"output": run.output, "output_lines": run.output_lines, "sandbox": run.sandbox}
    if run.status != "ok":
        return StudentRun(path, function, run.status, run.message, run.line, run.source, seconds=run.seconds,
                          **common)
    call = run.calls[0]
    return StudentRun(path, function, call.status, call.message, call.line, call.source, call.values,
                      call.bad_values, call.seconds, **common)


def check_student(path: Path, function: str, exercise: Exercise, dtype: str = "float64",
                  tolerance: Tolerance | None = None, timeout: float = DEFAULT_TIMEOUT) -> StudentCheck:
    """Run the student's function and compare what it returns, entry by entry, with
    autograd and the exact values (``compare_exercise`` with ``hand_values``). The
    parameter gradients are required; intermediates are checked when returned. The
    exercise's printed answers and claims are left out: they grade the text, not the student."""
    exercise = replace(exercise, answers=(), claims={})
    run = run_student(path, function, exercise, dtype, timeout)
    arch = exercise.architecture
    known = quantities.all_names(arch.n_layers, list(arch.activations))
    required = {f"dL/d{p}" for p in arch.parameter_shapes()}
    comparison = compare_exercise(exercise, dtype, tolerance,
                                  hand_values={k: v for k, v in run.values.items() if k in known},
                                  hand_error=run.failure and f"student code {STATUS_TEXT[run.status]}, see above",
                                  hand_optional=frozenset(known) - required)
    unknown = sorted(k for k in list(run.values) + list(run.bad_values) if k not in known)
    return StudentCheck(run, comparison, unknown, diagnose_returned_values(exercise, run.values, dtype))


# Significant digits a returned float keeps when it is read as a hand answer: the
# precision rule then allows 1/2 unit in the last of them, far above float rounding.
SIGNIFICANT = {"float64": 12, "float32": 6}


def diagnose_returned_values(exercise: Exercise, values: dict, dtype: str) -> list:
    """The student's returned values read as hand answers, each with ``SIGNIFICANT``
    digits, and diagnosed as hand answers are (``compare.diagnosis``): where the mistake
    entered, which entries only carry it, which common convention explains a value."""
    arch = exercise.architecture
    known = quantities.all_names(arch.n_layers, list(arch.activations))
    answers = []
    for name, value in values.items():
        value = np.asarray(value, dtype=np.float64)
        if name not in known or value.shape != answer_shape(name, arch, exercise.batch_size):
            continue
        written = np.empty(value.shape, dtype=object)
        for index in np.ndindex(value.shape):
            written[index] = Decimal(f"{value[index]:.{SIGNIFICANT[dtype] - 1}e}")
        answers.append(Answer(key=name, name=name, index=(), value=written))
    return check_answers(replace(exercise, answers=tuple(answers))) if answers else []


def student_lines(check: StudentCheck) -> list[str]:
    """What the student's code did, a line each, for the top of the report."""
    run = check.run
    arch = check.comparison.exercise.architecture
    lines = [f"Student code: {run.target}"]
    if run.failure:
        lines.append(f"FAILED: {run.failure}")
    else:
        lines.append(f"Ran in {run.seconds:.3g} s and returned: "
                     + (", ".join(f"{k} {tuple(v.shape)}" for k, v in run.values.items()) or "an empty dict"))
        required = [f"dL/d{p}" for p in arch.parameter_shapes()]
        missing = [k for k in required if k not in run.values and k not in run.bad_values]
        if missing:
            lines.append("FAILED: missing required key(s): " + ", ".join(missing))
        for key, why in run.bad_values.items():
            lines.append(f"FAILED: {key}: {why}")
        if check.unknown_keys:
            lines.append("Ignored unknown key(s): " + ", ".join(check.unknown_keys)
                         + " (the text's names are " + ", ".join(required) + ", z1, h, y_hat, L, ...)")
    printed = split_escaped_lines(run.output)
    if run.output_lines:
        lines.append(f"The student's code printed {run.output_lines} line(s); the first: "
                     f"{(printed or [''])[0][:200]}")
    return lines


def diagnosis_lines(check: StudentCheck, fmt: str = "github") -> list[str]:
    """The wrong returned values with where each mistake entered; empty when none."""
    rejected = {(r.quantity, quantities.split_entry(r.label)[1])
                for r in check.comparison.gradients + check.comparison.intermediates if not r.agree}
    # an entry the comparison accepts (the other side of a kink, a valid subgradient) is not a mistake
    wrong = [c for c in check.diagnoses if not c.agree and (c.quantity, c.entry_index) in rejected]
    if not wrong:
        return []
    return ["", "Diagnosis of the returned values", "", answers_table(wrong, fmt), "",
            f"Returned values: {len(wrong)} wrong; " + ", ".join(
                f"{sum(c.kind == kind for c in wrong)} {label}" for kind, label in
                (("slip", "slip(s) where the mistake entered"), ("convention", "explained by a common convention"),
                 ("follows", "only carry an earlier error")) if any(c.kind == kind for c in wrong)) + "."]


def render_student_text(check: StudentCheck, fmt: str = "github") -> str:
    """The student lines, then the usual report, then the diagnosis of wrong values."""
    verdict = "Student result: " + ("PASS, every gradient agrees." if check.ok else "FAIL.")
    return "\n".join(student_lines(check) + ["", render_text(check.comparison, fmt)]
                     + diagnosis_lines(check, fmt) + [verdict])


def render_student_json(check: StudentCheck) -> str:
    """The usual JSON object with a ``student`` object added."""
    data = json.loads(render_json(check.comparison))
    run = check.run
    data["student"] = {"target": run.target, "status": run.status, "failure": run.failure,
                       "message": run.message, "line": run.line, "source": run.source,
                       "returned": {k: list(v.shape) for k, v in run.values.items()},
                       "bad_values": run.bad_values, "unknown_keys": check.unknown_keys,
                       "seconds": run.seconds, "ok": check.ok,
                       "diagnoses": [c.as_json() for c in check.diagnoses if not c.agree]}
    return json.dumps(data, indent=2, ensure_ascii=False)
