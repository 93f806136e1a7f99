"""pytest plugin: every file named ``*.exercise.toml`` is a test file.

Registered through the ``pytest11`` entry point (``backprop_crosscheck``), so once the
package is installed ``pytest path/to/exercises/`` checks every exercise there. It
collects nothing else: no other file name is touched, and nothing heavy (NumPy, torch)
is imported until an exercise file is actually collected, so it is harmless in other
projects. Disable it with ``-p no:backprop_crosscheck``.

Test items of one exercise file ``NAME.exercise.toml``:

- ``load``: only when the file is bad; fails with the loader's one line (file, key,
  what was expected).
- ``crosscheck``: the hand-written NumPy backward pass, autograd and the exact values
  agree on every gradient and intermediate (float64, default tolerances).
- ``answers.KEY``: one per hand answer in ``[answers]`` (``answers.L``,
  ``answers.dL/dW1[0][2]``): every entry agrees with the exact value at the precision it
  is written with. A failure lists each wrong entry with expected, given and, where the
  comparison gives one, a diagnosis.
- ``claims.KEY``: one per claim in ``[claims]``.
"""

import pytest

SUFFIX = ".exercise.toml"


def pytest_collect_file(file_path, parent):
    """Collect ``*.exercise.toml`` (a name with something before the suffix), nothing else."""
    if file_path.name.endswith(SUFFIX) and len(file_path.name) > len(SUFFIX):
        return ExerciseFile.from_parent(parent, path=file_path)
    return None


class ExerciseCheckFailed(Exception):
    """A failed check of an exercise file; the message is the whole report."""


class ExerciseFile(pytest.File):
    """One exercise file; computes the exact pass once for all of its items."""

    def collect(self):
        from reference.exercise import ExerciseError, load_exercise
        try:
            self.exercise = load_exercise(self.path)
        except ExerciseError as error:
            message = str(error)
            yield ExerciseItem.from_parent(self, name="load", check=lambda: _fail(message))
            return
        self._exact = None
        self._answer_checks = None
        yield ExerciseItem.from_parent(self, name="crosscheck", check=self.check_crosscheck)
        for answer in self.exercise.answers:
            yield ExerciseItem.from_parent(self, name=f"answers.{answer.key}",
                                           check=lambda answer=answer: self.check_answer(answer))
        for claim in self.exercise.claims:
            yield ExerciseItem.from_parent(self, name=f"claims.{claim}",
                                           check=lambda claim=claim: self.check_claim(claim))

    @property
    def exact(self) -> dict:
        """The exact (Fraction) values of every quantity, by name."""
        if self._exact is None:
            from reference.backprop import run_pass
            self._exact = run_pass(self.exercise, self.exercise.architecture.ground_truth).values
        return self._exact

    def check_crosscheck(self) -> None:
        from dataclasses import replace

        from compare.comparison import compare_exercise
        from compare.formatting import exact_text, float_text
        comparison = compare_exercise(replace(self.exercise, answers=(), claims={}))
        bad = [r for r in comparison.gradients + comparison.intermediates if not r.agree]
        if bad or comparison.hand_error:
            lines = [f"{len(bad)} entries disagree (hand NumPy vs autograd vs exact, float64):"]
            lines += [f"  {r.label}: exact {exact_text(r.exact)}, hand "
                      f"{'—' if r.hand is None else float_text(r.hand)}, autograd {float_text(r.autograd)}: "
                      f"{r.verdict}" for r in bad]
            _fail("\n".join(lines))

    def check_answer(self, answer) -> None:
        """One ``[answers]`` key: every entry right by the exercise's rule (the printed
        rounding, or ``[grading]``), or by carried rounding on its own upstream values."""
        from compare.formatting import exact_text
        checks = [c for c in self._checks() if c.written_as == answer.key]
        wrong = [c for c in checks if not c.agree]
        if not wrong:
            return
        lines = [f"{answer.key}: {len(wrong)} of {len(checks)} entries wrong"]
        for c in wrong:
            exact_shown = exact_text(c.expected)
            if "/" in exact_shown or exact_shown.startswith("≈"):
                exact_shown += f" = {float(c.expected):.10g}"
            lines.append(f"  {c.key}: expected {exact_shown}, given {c.given} ({self._rule(c)})")
            lines.append(f"    diagnosis: {c.diagnosis}")
        _fail("\n".join(lines))

    def _rule(self, check) -> str:
        """The rule that judged a wrong entry, in words: the printed precision it needed."""
        from compare.formatting import exact_text
        from reference.exercise import Grading
        from reference.numbers import decimals_written, rounding_half_width
        if self.exercise.grading != Grading() or not check.rule:
            return check.rule or check.kind
        decimals = decimals_written(check.given)
        return ("an integer: must be exact" if decimals is None else
                f"written with {decimals} decimals: must lie within {exact_text(rounding_half_width(check.given))} "
                "of the exact value")

    def _checks(self) -> list:
        """Every written entry checked and diagnosed (``compare.diagnosis``), once per file."""
        if self._answer_checks is None:
            from compare.diagnosis import check_answers
            self._answer_checks = check_answers(self.exercise)
        return self._answer_checks

    def check_claim(self, claim: str) -> None:
        from compare.claims import check_claims
        exact = {p: self.exact[f"dL/d{p}"] for p in self.exercise.architecture.parameter_shapes()}
        result = next(c for c in check_claims(self.exercise, exact) if c.claim == claim)
        if not result.ok:
            _fail(f"claims.{claim}: {result.message}")


class ExerciseItem(pytest.Item):
    """One check of an exercise file; fails with a plain message, no traceback."""

    def __init__(self, *, check, **kwargs):
        super().__init__(**kwargs)
        self.check = check

    def runtest(self) -> None:
        self.check()

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ExerciseCheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"{self.path.name}::{self.name}"


def _fail(message: str):
    raise ExerciseCheckFailed(message)
