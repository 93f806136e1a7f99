"""Everything grading needs from an exercise, computed once in the parent.

A class of 300 is graded against one ``GradingKey``: the exact pass and autograd
(``compare.comparison.Truth``), the diagnoser with the catalogue's whole passes, the
probes and their exact passes. Each student then costs one NumPy-only child process
(all calls in it) and the judging of what came back.
"""
from dataclasses import dataclass, field, replace

from compare.comparison import Truth
from compare.diagnosis import Diagnoser
from compare.grading.probes import DEFAULT_PROBES, Probe, make_probes
from compare.grading.sandbox import Limits
from compare.tolerance import Tolerance
from reference.exercise import Exercise

DEFAULT_TIMEOUT = 10.0


@dataclass
class GradingKey:
    """One exercise made ready for grading. ``exercise`` has its printed answers and
    claims left out (they grade the text, not the student); ``grading`` keeps the
    file's ``[grading]`` (rule and rubric). ``probes``/``seed``: the probes run beside the
    exercise (0 probes: the exercise alone)."""
    exercise: Exercise
    dtype: str
    tolerance: Tolerance
    truth: Truth
    diagnoser: Diagnoser
    probes: list[Probe]
    probe_truths: dict[str, Truth]
    seed: int
    timeout: float = DEFAULT_TIMEOUT
    sandbox: str = "auto"
    limits: Limits = field(default_factory=Limits)

    @property
    def grading(self):
        return self.exercise.grading

    @classmethod
    def build(cls, exercise: Exercise, dtype: str = "float64", tolerance: Tolerance | None = None,
              probes: int = DEFAULT_PROBES, seed: int = 0, timeout: float = DEFAULT_TIMEOUT,
              sandbox: str = "auto", limits: Limits | None = None) -> "GradingKey":
        """Compute the truth, the diagnoser and the probes of ``exercise`` (``dtype``
        float64 or float32, ``tolerance`` its default by default)."""
        exercise = replace(exercise, answers=(), claims={}, errata=frozenset())
        tolerance = tolerance or Tolerance.for_dtype(dtype)
        truth = Truth(exercise, dtype, tolerance, printed=exercise.architecture.printed_names())
        found = make_probes(exercise, probes, seed) if probes else []
        probe_truths = {p.label: Truth(p.exercise, dtype, tolerance, autograd=False) for p in found}
        return cls(exercise, dtype, tolerance, truth,
                   Diagnoser(exercise, subgradients_are_mistakes=False, given="returned"),
                   found, probe_truths, seed, timeout, sandbox, limits or Limits())
