"""The gradebook of a class and each student's feedback files.

``gradebook.csv`` and ``gradebook.json`` hold one row per student: id, status (pass,
fail, error, timeout), points and max points (empty without a rubric), the first own
mistake (its entry, step and named cause), how many entries are wrong, how many probes
failed, seconds. ``feedback/ID.md`` and ``feedback/ID.html`` hold each student's whole
report. Every file is written atomically (a temporary file renamed into place), so an
interrupted run never leaves a half-written one.
"""
import csv
import io
import json
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from compare.comparison import NO_VALUE, in_students_words
from compare.grading.check import StudentCheck, first_mistake, step_of
from compare.grading.feedback import render_html_page, render_text
from compare.grading.rubric import Score
from compare.usage import atomic_output, file_stem, name_clash

COLUMNS = ["student", "status", "points", "max_points", "first_mistake", "step", "cause", "wrong_entries",
           "probes_failed", "seconds", "file"]
ERROR_STATUSES = {"import_error", "missing_function", "exception", "bad_return", "crashed", "no_result",
                  "memory_limit"}


@dataclass
class Row:
    """One student's line of the gradebook."""
    student: str
    status: str
    points: str
    max_points: str
    first_mistake: str
    step: str
    cause: str
    wrong_entries: int
    probes_failed: int
    seconds: float
    file: str


def status_of(check: StudentCheck | None) -> str:
    """``pass``, ``fail`` (ran, something wrong), ``timeout`` or ``error`` (no values)."""
    if check is None:
        return "error"
    if check.run.status == "timeout":
        return "timeout"
    if check.run.status in ERROR_STATUSES:
        return "error"
    return "pass" if check.ok else "fail"


def _number(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def row(student: str, file: Path | None, check: StudentCheck | None, score: Score | None,
        problem: str | None = None) -> Row:
    """The gradebook row of one student (``problem``: why nothing could be graded)."""
    if check is None:
        return Row(student, "error", _number(Decimal(0) if score else None), _number(score.max_points if score else None),
                   "", "", problem or "", 0, 0, 0.0, "" if file is None else str(file))
    first = first_mistake(check)
    first_label, step, cause = ("", "", "") if first is None else (first.key, step_of(check, first.quantity),
                                                                   first.diagnosis)
    wrong = None if first is not None or check.run.failure else _first_wrong_row(check)
    if wrong is not None:  # a row no diagnosis covers: a quantity not returned, of another shape
        shown = wrong.quantity if any(p.startswith(NO_VALUE) or " has shape " in p for p in wrong.problems) \
            else wrong.label
        first_label, step = shown, step_of(check, wrong.quantity)
        cause = "; ".join(dict.fromkeys(in_students_words(p) for p in wrong.problems))
    if check.run.failure:
        cause = check.run.failure
    elif check.named and first is None:  # the whole pass named: say that, at the first wrong entry
        cause = " or ".join(m.describe() for m in check.named)
    elif not cause and check.probes and not all(p.ok for p in check.probes):
        cause = "the exercise agrees, a probe does not"
    judged = not check.run.failure  # a run without values (a timeout, a crash) has no wrong entries to count
    return Row(student, status_of(check), _number(score.points if score else None),
               _number(score.max_points if score else None), first_label, step, cause,
               sum(not r.agree for r in check.comparison.gradients + check.comparison.intermediates) if judged else 0,
               sum(not p.ok for p in check.probes), round(check.run.seconds, 6), str(check.run.path))


def _first_wrong_row(check: StudentCheck):
    """The first disagreeing row in the order of the text's steps, or None."""
    arch = check.comparison.exercise.architecture
    order = [name for _, names in arch.step_groups() for name in names]
    return min((r for r in check.comparison.gradients + check.comparison.intermediates if not r.agree),
               key=lambda r: order.index(r.quantity) if r.quantity in order else len(order), default=None)


def write_gradebook(out: Path, rows: list[Row]) -> None:
    """``gradebook.csv`` and ``gradebook.json`` in ``out`` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(asdict(r))
    with atomic_output(out / "gradebook.csv") as stream:
        stream.write(text.getvalue())
    with atomic_output(out / "gradebook.json") as stream:
        stream.write(json.dumps([json_row(r) for r in rows], indent=2, ensure_ascii=False) + "\n")


def json_row(r: Row) -> dict:
    """A row for JSON: points and max points as numbers (null without a rubric)."""
    def number(text: str):
        if not text:
            return None
        value = Decimal(text)
        return int(value) if value == value.to_integral_value() else float(value)
    return {**asdict(r), "points": number(r.points), "max_points": number(r.max_points)}


def feedback_markdown(check: StudentCheck | None, score: Score | None, student: str, problem: str | None) -> str:
    """A student's feedback in Markdown: the points, then the whole report."""
    lines = [f"# Feedback: {student}", ""]
    if score is not None:
        lines += [f"Points: {_number(score.points)} of {_number(score.max_points)}", "",
                  "| item | points | why not all |", "|---|---|---|"]
        lines += [f"| {i.item} | {_number(i.earned)} / {_number(i.possible)} | {i.why} |" for i in score.items]
        lines.append("")
    if check is None:
        return "\n".join(lines + [f"Nothing could be graded: {problem}", ""])
    return "\n".join(lines + ["```", render_text(check, "github"), "```", ""])


def output_files(students: list[str]) -> list[str]:
    """The files ``--out`` gets, relative to it: the gradebook and each student's
    feedback. Raises ``ValueError`` naming two students whose feedback would share a file
    (also where the names differ in case only)."""
    clash = name_clash(students)
    if clash:
        other, student = clash
        stem = file_stem(student)
        case_only = "" if file_stem(other) == stem else " on macOS and Windows (names differ in case only)"
        raise ValueError(f"students {other!r} and {student!r} would share feedback/{stem}.md{case_only}")
    return ["gradebook.csv", "gradebook.json"] + [f"feedback/{file_stem(s)}.{suffix}" for s in dict.fromkeys(students)
                                                  for suffix in ("md", "html")]


def write_feedback(out: Path, student: str, check: StudentCheck | None, score: Score | None,
                   problem: str | None = None) -> None:
    """``feedback/STUDENT.md`` and ``feedback/STUDENT.html`` in ``out``."""
    folder = out / "feedback"
    folder.mkdir(parents=True, exist_ok=True)
    safe = file_stem(student)
    with atomic_output(folder / f"{safe}.md") as stream:
        stream.write(feedback_markdown(check, score, student, problem))
    title = f"Feedback: {student}"
    with atomic_output(folder / f"{safe}.html") as stream:
        if check is None:
            import html
            stream.write(f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                         f"</head><body><h1>{html.escape(title)}</h1><p>Nothing could be graded: "
                         f"{html.escape(problem or '')}</p></body></html>\n")
        else:
            points = (f"<p>Points: {_number(score.points)} of {_number(score.max_points)}</p>" if score else "")
            stream.write(render_html_page(check, title).replace("</h1>\n", "</h1>\n" + points, 1))
