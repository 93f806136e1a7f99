"""Naming a student's mistake from the whole backward pass.

Every catalogued mistake (``compare.catalogue``) is run on the exercise in exact
arithmetic; a mistake *matches* when its pass reproduces every value the student
returned (within the float tolerance) while the correct pass does not. That names the
mistake as a whole ("your returned values are exactly those of a backward pass that
applies sigmoid′ to z") however many entries it spoils, and needs no intermediates:
the gradients alone are enough.
"""
import numpy as np

from compare.catalogue import Mistake
from compare.comparison import float_arrays
from compare.diagnosis import Diagnoser, Steps
from compare.kinks import SideMatched
from compare.tolerance import Tolerance
from reference.exercise import value_shape


def _as_returned(diagnoser: Diagnoser, name: str, value: np.ndarray) -> np.ndarray:
    """A batch-form quantity of ``Steps`` in the shape a student returns it."""
    kind = diagnoser.steps.role[name][0]
    if diagnoser.exercise.batch_size == 1 and kind not in Steps.SHAPED_AS_WRITTEN and np.ndim(value) == 2:
        return value[0]
    return value


def _reproduces(expected: np.ndarray, value: np.ndarray, tolerance: Tolerance) -> bool:
    if np.shape(expected) != value.shape:
        return False
    return all(tolerance.close(value[i], expected[i]) for i in np.ndindex(value.shape))


def _usable(diagnoser: Diagnoser, values: dict) -> dict[str, np.ndarray]:
    """The returned values the matching can use: known names, finite real arrays."""
    return {name: array for name, array in float_arrays(values, diagnoser.steps.role).items()
            if array.size and np.all(np.isfinite(array))}


def matching_mistakes(diagnoser: Diagnoser, values: dict, tolerance: Tolerance,
                      sides: dict[tuple[int, int, int], bool] | None = None) -> list[Mistake]:
    """The catalogued mistakes whose whole pass gives every returned value, when the
    correct pass does not. ``values``: the student's arrays by the text's names, in the
    computation's (in, out) layout (``Architecture.layout_values``; a weight gradient may
    come back transposed). ``sides``: the
    side of each kink neuron the student took (``compare.comparison``), so a mistake is
    judged on the student's own subgradient. Empty when the student is right or no
    single mistake explains every value."""
    values = _usable(diagnoser, values)
    if not values:
        return []
    arch, batch = diagnoser.exercise.architecture, diagnoser.exercise.batch_size
    correct = diagnoser.steps.run(SideMatched(sides)) if sides else diagnoser.exact
    right_shape = {name: v for name, v in values.items() if v.shape == value_shape(name, arch, batch)}
    if len(right_shape) == len(values) and all(
            _reproduces(_as_returned(diagnoser, name, correct[name]), v, tolerance) for name, v in values.items()):
        return []
    found = []
    for mistake in diagnoser.mistakes:
        try:
            passes = diagnoser.steps.run(SideMatched(sides, mistake)) if sides else diagnoser.whole_passes.get(
                mistake.describe())
        except (ValueError, ArithmeticError):
            continue
        if passes is not None and all(_reproduces(_as_returned(diagnoser, name, passes[name]), v, tolerance)
                                      for name, v in values.items()):
            found.append(mistake)
    return found


def describe(mistakes: list[Mistake]) -> str:
    """``"a backward pass that <does this>"``, every matching mistake named."""
    return " or ".join(m.describe() for m in mistakes)
