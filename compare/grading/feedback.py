"""A graded student's report: text (any tabulate format; Markdown for feedback files),
JSON, and HTML for Jupyter and for feedback pages.

Everything the student's code controls (keys, messages, printed output) reached this
module escaped (``compare.grading.escape``); HTML escapes it once more for markup.
"""
import html
import json

from compare.diagnosis import answers_table
from compare.grading.check import StudentCheck, first_mistake, wrong_diagnoses
from compare.grading.escape import split_escaped_lines
from compare.grading.probes import shrunk_file, summary as probe_summary
from compare.report import render_html_fragment as comparison_html, render_json as comparison_json, render_text as comparison_text


def student_lines(check: StudentCheck) -> list[str]:
    """What the student's code did, a line each, for the top of the report."""
    run = check.run
    arch = check.comparison.exercise.architecture
    lines = [f"Student code: {run.target}"]
    lines += run.notes
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
    if run.sandbox:
        lines.append(f"Sandbox: {run.sandbox}")
    return lines


def named_line(check: StudentCheck) -> str | None:
    """The whole-pass diagnosis in one line, or None when no catalogued mistake gives
    every returned value."""
    if not check.named:
        return None
    return ("Named mistake: your returned values are exactly those of a backward pass with "
            + " or ".join(m.describe() for m in check.named) + ".")


def diagnosis_lines(check: StudentCheck, fmt: str = "github") -> list[str]:
    """The whole-pass diagnosis, then the wrong returned values with where each mistake
    entered; empty when there is nothing wrong."""
    wrong = wrong_diagnoses(check)
    lines = []
    named = named_line(check)
    if named:
        lines += ["", named]
    if not wrong:
        return lines
    return lines + ["", "Diagnosis of the returned values", "", answers_table(wrong, fmt), "",
                    f"Returned values: {len(wrong)} wrong; " + ", ".join(
                        f"{sum(c.kind == kind for c in wrong)} {label}" for kind, label in
                        (("slip", "slip(s) where the mistake entered"),
                         ("convention", "explained by a common convention"),
                         ("not a number", "not a finite number"),
                         ("follows", "only carry an earlier error")) if any(c.kind == kind for c in wrong)) + "."]


def probe_lines(check: StudentCheck) -> list[str]:
    """The probes in a line, and the smallest failing one as an exercise file."""
    if not check.probes:
        return []
    lines = ["", probe_summary(check.probes, check.seed)]
    for result in check.probes:
        if not result.ok:
            why = result.outcome.error or ", ".join(label for label, _, _ in result.wrong[:4]) + (
                " ..." if len(result.wrong) > 4 else "")
            lines.append(f"  {result.probe.label}: FAIL ({why})")
    if check.shrunk is not None:
        lines += ["", "The smallest failing probe, shrunk (a ready-to-run exercise file):", "",
                  "```toml", shrunk_file(check.shrunk).rstrip(), "```"]
    return lines


def verdict_line(check: StudentCheck) -> str:
    if check.ok:
        return "Student result: PASS, every gradient agrees" + (", on every probe too." if check.probes else ".")
    if check.exercise_ok:
        return "Student result: FAIL: the exercise agrees, but a probe does not (see above)."
    return "Student result: FAIL."


def render_text(check: StudentCheck, fmt: str = "github") -> str:
    """The student lines, the comparison's report, the diagnosis, the probes, the verdict."""
    return "\n".join(student_lines(check) + ["", comparison_text(check.comparison, fmt)]
                     + diagnosis_lines(check, fmt) + probe_lines(check) + [verdict_line(check)])


def as_json(check: StudentCheck) -> dict:
    """The comparison's JSON object with a ``student`` object added."""
    data = json.loads(comparison_json(check.comparison))
    run = check.run
    first = first_mistake(check)
    data["student"] = {
        "target": run.target, "status": run.status, "failure": run.failure, "message": run.message,
        "line": run.line, "source": run.source, "where": run.where, "notes": run.notes,
        "returned": {k: list(v.shape) for k, v in run.values.items()},
        "bad_values": run.bad_values, "unknown_keys": check.unknown_keys, "seconds": run.seconds,
        "output_lines": run.output_lines, "sandbox": run.sandbox, "ok": check.ok,
        "exercise_ok": check.exercise_ok,
        "first_mistake": None if first is None else first.as_json(),
        "diagnoses": [c.as_json() for c in wrong_diagnoses(check)],
        "named_mistakes": [{"name": m.name, "description": m.describe()} for m in check.named],
        "probes": {"seed": check.seed, "run": len(check.probes), "failed": sum(not p.ok for p in check.probes),
                   "results": [{"label": p.probe.label, "ok": p.ok, "error": p.outcome.error,
                                "wrong": [{"entry": label, "given": given,
                                           "exact": None if exact is None else float(exact)}
                                          for label, given, exact in p.wrong]} for p in check.probes],
                   "shrunk": None if check.shrunk is None else shrunk_file(check.shrunk)},
    }
    return data


def render_json(check: StudentCheck) -> str:
    return json.dumps(as_json(check), indent=2, ensure_ascii=False)


def render_html_fragment(check: StudentCheck) -> str:
    """The report as HTML for Jupyter or a feedback page: lists, the comparison's tables,
    the diagnosis table, the probes and the shrunk probe."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in student_lines(check))
    wrong = wrong_diagnoses(check)
    diagnosis = [line for line in [named_line(check)] if line] + (diagnosis_lines(check)[-1:] if wrong else [])
    table = answers_table(wrong, "html") if wrong else ""
    probes = probe_lines(check)
    shrunk = ""
    if check.shrunk is not None:
        shrunk = f"<pre>{html.escape(shrunk_file(check.shrunk))}</pre>"
        probes = probes[:probes.index("```toml")] if "```toml" in probes else probes
    probe_items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in probes if line.strip())
    return (f"<ul>{items}</ul>\n{comparison_html(check.comparison)}\n{table}"
            f"<ul>{''.join(f'<li>{html.escape(line)}</li>' for line in diagnosis)}</ul>\n"
            f"<ul>{probe_items}</ul>{shrunk}\n<p><b>{html.escape(verdict_line(check))}</b></p>")


def render_html_page(check: StudentCheck, title: str) -> str:
    """A whole HTML page (a student's feedback file)."""
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title></head><body>\n<h1>{html.escape(title)}</h1>\n"
            f"{render_html_fragment(check)}\n</body></html>\n")
