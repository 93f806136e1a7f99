"""Points from the rubric of an exercise (``[grading.points]``, ``reference.exercise.Grading``).

An item is a quantity (``"dL/dW2"``: its points when every entry of it is right), a step
of the text (``"Step 2"``: every quantity the step computes is right) or ``"probes"``
(every probe agrees). A wrong entry that only carries an earlier error (``follows`` in
the diagnosis) keeps the item's points unless ``carried_errors_lose_points = true``, as
a human grader gives credit for a step done right on a wrong value. An intermediate that
is not returned earns nothing. Without a rubric there are no points: pass or fail.
"""
from dataclasses import dataclass, field
from decimal import Decimal

from compare.comparison import NO_VALUE, in_students_words
from reference.exercise import Grading


@dataclass
class ItemScore:
    """One rubric item: what it is, points earned and possible, and why not all."""
    item: str
    earned: Decimal
    possible: Decimal
    why: str = ""


@dataclass
class Score:
    """The points of one submission, item by item."""
    items: list[ItemScore] = field(default_factory=list)

    @property
    def points(self) -> Decimal:
        return sum((i.earned for i in self.items), Decimal(0))

    @property
    def max_points(self) -> Decimal:
        return sum((i.possible for i in self.items), Decimal(0))


def _quantities(item: str, arch) -> list[str]:
    if item.startswith("Step "):
        for title, names in arch.step_groups():
            if title.split(":")[0] == item:
                return names
    return [item]


def _why_wrong(check, name: str, carried_ok: bool) -> str:
    """Why quantity ``name`` earns nothing, or "" when it is right."""
    rows = [r for r in check.comparison.gradients + check.comparison.intermediates if r.quantity == name]
    if check.comparison.hand_error:
        return "no result"
    if not rows or all(r.not_returned or any(p.startswith(NO_VALUE) for p in r.problems) for r in rows):
        return f"{name} not returned"  # a printed quantity not returned has no rows, a gradient a problem each
    shapes = [p for r in rows for p in r.problems if " has shape " in p]
    if shapes:
        return in_students_words(shapes[0])
    wrong = [r for r in rows if not r.agree]
    if not wrong:
        return ""
    kinds = {(c.quantity, c.entry_index): c.kind for c in check.diagnoses}
    own = [r for r in wrong if kinds.get((r.quantity, r.index)) != "follows"]
    if carried_ok and not own:
        return ""
    return f"{len(wrong)} of {len(rows)} entries wrong" + (
        f" ({len(wrong) - len(own)} only carry an earlier error)" if len(own) < len(wrong) else "")


def score(check, grading: Grading) -> Score | None:
    """The rubric's points for a graded submission (``compare.grading.check.StudentCheck``),
    or None when the exercise has no rubric (pass/fail grading)."""
    if not grading.points:
        return None
    arch = check.comparison.exercise.architecture
    result = Score()
    for item, possible in grading.points:
        if item == "probes":
            failed = [p for p in check.probes if not p.ok]
            why = "no result" if check.comparison.hand_error else (
                f"{len(failed)} of {len(check.probes)} probes fail" if failed else "")
        else:
            reasons = [w for name in _quantities(item, arch)
                       if (w := _why_wrong(check, name, not grading.carried_errors_lose_points))]
            why = "; ".join(reasons)
        result.items.append(ItemScore(item, Decimal(0) if why else possible, possible, why))
    return result
