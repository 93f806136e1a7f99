"""The notebook API: a student checks their own function, as Otter's ``grader.check``.

    import compare
    compare.check_backward(backward)                     # the Chapter 7 exercise
    compare.check_backward(backward, "hw3.exercise.toml")

The function runs in this process (it is the student's own code in the student's own
notebook: no child process, no sandbox), on the exercise and on the probes; the result
renders as HTML in Jupyter and as text with ``print``.
"""
from pathlib import Path

from compare.grading.check import StudentCheck, check_function
from compare.grading.key import GradingKey
from compare.grading.probes import DEFAULT_PROBES
from reference.exercise import CHAPTER7_PATH, Exercise, load_exercise


def check_backward(function, exercise: Exercise | str | Path | None = None, dtype: str = "float64",
                   probes: int = DEFAULT_PROBES, seed: int = 0) -> StudentCheck:
    """Grade ``function(params, x, y) -> dict`` on ``exercise`` (an ``Exercise``, the path
    of an exercise file, or None for the Chapter 7 network) and ``probes`` random probes
    with ``seed``. Returns the ``StudentCheck``: ``.ok`` is PASS. Raises
    ``reference.ExerciseError`` for a bad exercise file; nothing the function does raises."""
    if exercise is None:
        exercise = CHAPTER7_PATH
    if not isinstance(exercise, Exercise):
        exercise = load_exercise(exercise)
    return check_function(function, GradingKey.build(exercise, dtype, probes=probes, seed=seed))
