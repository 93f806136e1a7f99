"""The report of a comparison: text tables (tabulate, any of its formats), a complete
HTML or LaTeX document for those formats, or JSON."""
import html
import json
import math
from dataclasses import dataclass, field


from compare import finite_differences as fdm
from compare.alive import alive_json, alive_parts, applies as alive_applies
from compare.comparison import Comparison, Row, summarize
from compare.diagnosis import answers_table, summary_line as answers_summary_line
from compare.formatting import diff_text, exact_text, float_text, latex_escape
from compare.tables import tabulate
from reference.numbers import MP_EXPONENT_LIMIT

GRADIENT_HEADERS = ["parameter", "hand (NumPy)", "autograd (torch)", "|diff|", "exact",
                    "printed", "verdict", "kink", "why"]
INTERMEDIATE_HEADERS = ["quantity", "hand (NumPy)", "autograd (torch)", "|diff|", "exact",
                        "printed", "verdict"]


def _cells(row: Row) -> list[str]:
    return [row.label,
            "—" if row.hand is None else float_text(row.hand),
            float_text(row.autograd),
            "—" if row.abs_diff is None else diff_text(row.abs_diff),
            exact_text(row.exact),
            "" if row.published is None else str(row.published),
            row.verdict]


def _fd_cell(row: Row) -> str:
    if row.fd_note:
        return "crosses kink" if row.finite_difference is not None else "overflows"
    return "—" if row.finite_difference is None else float_text(row.finite_difference)


def gradient_table(comparison: Comparison, fmt: str = "github") -> str:
    """One row per parameter, named as in the text (``W1[0][2]``); with finite
    differences added, a column for them after autograd."""
    with_fd = comparison.finite_differences is not None
    headers = GRADIENT_HEADERS[:3] + ["finite diff."] + GRADIENT_HEADERS[3:] if with_fd else GRADIENT_HEADERS
    rows = []
    for r in comparison.gradients:
        cells = _cells(r) + ["yes" if r.kink else "", "; ".join(filter(None, [r.reason, r.fd_note]))]
        rows.append(cells[:3] + [_fd_cell(r)] + cells[3:] if with_fd else cells)
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)


def jvp_table(comparison: Comparison, fmt: str = "github") -> str:
    """One row per random direction v: torch.func.jvp against ⟨gradient, v⟩."""
    rows = [[j.direction, float_text(j.jvp), "—" if j.hand is None else float_text(j.hand),
             float_text(j.exact), "—" if j.hand is None else diff_text(abs(j.hand - j.jvp)),
             f"{j.tolerance:.1e}", j.verdict] for j in comparison.jvp]
    return tabulate(rows, headers=["direction", "torch.func.jvp", "⟨hand ∇L, v⟩", "⟨exact ∇L, v⟩",
                                   "|diff|", "tolerance", "verdict"], tablefmt=fmt, disable_numparse=True)


def intermediate_table(comparison: Comparison, fmt: str = "github") -> str:
    """One row per entry of z1, h, y_hat, L, dL/dy_hat, dL/dh, relu_mask, dL/dz1."""
    rows = [_cells(r) for r in comparison.intermediates]
    return tabulate(rows, headers=INTERMEDIATE_HEADERS, tablefmt=fmt, disable_numparse=True)


def check_cost(comparison: Comparison) -> "fdm.Cost":
    """The estimate that chose the exact per-entry check for this comparison, with the
    finite differences and directional derivatives it was asked for
    (``compare.finite_differences.estimate``)."""
    fd = comparison.finite_differences
    return fdm.estimate(comparison.exercise, fd is not None, fd["sampled_per_tensor"] if fd else None,
                        len(comparison.jvp) if comparison.jvp is not None else None)


def underflow_lines(comparison: Comparison) -> list[str]:
    """A line when the 50-digit ground truth underflowed somewhere: its exact column then
    shows 0 where the true value is tinier than any float."""
    count = comparison.underflows
    if not count:
        return []
    return [f"Underflow: {count} value(s) of the 50-digit pass fell below 2^-{MP_EXPONENT_LIMIT} (about 1e-4932, "
            "an exp of a hugely negative number: the softmax of a logit of 1e300, say) and count as 0, as in any "
            "floating point; float64 has them as 0 too."]


def cost_json(cost: "fdm.Cost") -> dict:
    """The estimate as JSON: which check, the estimated operations, the budget and why."""
    return {"check": "per tensor" if cost.large else "entry by entry", "estimated_operations": cost.total,
            "budget": fdm.EXACT_BUDGET, "forward_multiply_adds": cost.passes, "rows": cost.rows,
            "finite_difference_operations": cost.finite_differences, "jvp_entries": cost.jvp_entries,
            "reason": cost.explain()}


def summary_lines(comparison: Comparison) -> list[str]:
    """The closing summary, a line each."""
    s = summarize(comparison)
    lines = []
    if s["hand_error"]:
        lines.append(f"The hand backward pass failed: {s['hand_error']}")
    lines.append(f"Gradients: {s['gradients_computed_agree']} of {s['gradients']} agree "
                 f"(hand vs autograd vs exact, {s['dtype']}, rtol {s['rtol']:g}, atol {s['atol']:g}).")
    lines.append(f"Ground truth: {s['ground_truth']}.")
    lines += underflow_lines(comparison)
    lines.append(check_cost(comparison).explain())
    given = s["intermediates"] - s["intermediates_not_returned"]
    if s["intermediates_not_returned"] == s["intermediates"] and not s["hand_error"]:
        lines.append(f"Intermediates: none returned (the {s['intermediates']} are checked autograd vs exact only).")
    elif s["intermediates_not_returned"] and not s["hand_error"]:
        lines.append(f"Intermediates: {s['intermediates_computed_agree']} of {given} returned agree; "
                     f"{s['intermediates_not_returned']} not returned (autograd vs exact only).")
    else:
        lines.append(f"Intermediates: {s['intermediates_computed_agree']} of {s['intermediates']} agree.")
    if s["printed_checked"]:
        carried = s["printed_by_carried_rounding"]
        lines.append(f"Printed (hand-written) values: {s['printed_agree']} of {s['printed_checked']} agree with "
                     "the exact values within their printed rounding"
                     + (f" ({carried} of them by carried rounding: right on their own rounded upstream values)"
                        if carried else "") + ".")
    if s["max_abs_diff"] is not None:
        lines.append(f"Max |hand - autograd|: {diff_text(s['max_abs_diff'])}"
                     + (f" (not counting {s['rows_on_different_sides_of_a_kink']} rows where the two runs "
                        "took different sides of a kink)" if s["rows_on_different_sides_of_a_kink"] else ""))
    layers = ", ".join(f"{p} {v['nonzero']}/{v['total']}" for p, v in s["nonzero_by_parameter"].items())
    lines.append(f"Nonzero gradients (exact): {s['nonzero_gradients']} of {s['gradients']} parameters ({layers}); "
                 f"{s['gradients'] - s['nonzero_gradients']} receive none.")
    if comparison.exercise.answers_left_out:
        lines.append(f"Hand answers: the file's {comparison.exercise.answers_left_out} answer(s) are for the whole "
                     "batch and are not checked for a single example.")
    lines += [claim["message"] for claim in s["claims"]]
    if comparison.text_backward is not None:
        loss = comparison.exercise.architecture.loss
        lines.append(f"The text's backward pass: {comparison.text_backward.describe()} ([errata] backward): its "
                     f"printed values are judged on its own terms; for the stated loss ({loss}) "
                     f"{comparison.text_differs} of {s['gradients']} gradients differ (known erratum).")
    if s["finite_differences"]:
        f = s["finite_differences"]
        lines.append(f"Finite differences: {f['entries']} entries, central, step h = {f['step']:g} "
                     f"(for {s['dtype']}), forward pass in {f['arithmetic']}"
                     + (f"; {f['crossing_kinks']} cross a kink (one-sided differences shown)" if f["crossing_kinks"] else "")
                     + (f"; {f['overflowing']} overflow at θ ± h (no finite difference)" if f.get("overflowing") else "")
                     + ".")
    if s["jvp"]:
        j = s["jvp"]
        lines.append(f"Forward mode: {j['agree']} of {j['directions']} random directions agree "
                     f"(torch.func.jvp vs ⟨hand ∇L, v⟩ vs ⟨exact ∇L, v⟩, seed {j['seed']}).")
    for note in s["kinks"]:
        lines.append("Kink: " + note + ".")
    computed_ok = (s["gradients_computed_agree"] == s["gradients"] and not s["hand_error"]
                   and s["intermediates_computed_agree"] == s["intermediates"])
    errata = sum(c["erratum"] and not c["holds"] for c in s["claims"])
    if s["ok"] and errata:
        lines.append(f"Result: everything agrees, apart from {errata} known errata of the text (see above).")
    elif s["ok"]:
        lines.append("Result: everything agrees.")
    elif computed_ok:
        wrong = s["printed_checked"] - s["printed_agree"]
        lines.append(f"Result: DISAGREEMENT: hand, autograd and exact agree, but {wrong} printed (hand-written) "
                     f"value{'s are' if wrong > 1 else ' is'} wrong (see the verdicts above).")
    else:
        lines.append("Result: DISAGREEMENT (see the verdicts above).")
    return lines


@dataclass
class Section:
    """A part of the report: a heading, a table in the requested format, lines of text."""
    heading: str | None
    table: str | None = None
    lines: list[str] = field(default_factory=list)


def sections(comparison: Comparison, fmt: str = "github") -> list[Section]:
    """The report's parts in order; tables in tabulate's format ``fmt``."""
    ex = comparison.exercise
    parts = [Section("Parameter gradients ∂L/∂θ", gradient_table(comparison, fmt)),
             Section("Intermediates (forward values and upstream gradients)", intermediate_table(comparison, fmt))]
    if comparison.jvp is not None:
        parts.append(Section("Forward-mode check: directional derivatives along random directions v",
                             jvp_table(comparison, fmt)))
    if alive_applies(ex):
        parts.append(Section("Hidden neurons alive (z > 0) per example", *alive_parts(ex, fmt)))
    checks = comparison.answers
    if checks:
        parts.append(Section("Hand answers", answers_table(checks, fmt), [answers_summary_line(checks)]))
    parts.append(Section("Summary" if fmt in DOCUMENT_FORMATS else None, None, summary_lines(comparison)))
    return parts


def render_text(comparison: Comparison, fmt: str = "github") -> str:
    """The full report: title, gradient table, intermediates, the optional parts,
    summary. HTML and LaTeX formats give a complete document (``render_document``)."""
    if fmt in DOCUMENT_FORMATS:
        return render_document(comparison, fmt)
    out = [comparison.exercise.title]
    for part in sections(comparison, fmt):
        out += [""] + ([part.heading, ""] if part.heading else [])
        if part.table:
            out += [part.table] + ([""] if part.lines else [])
        out += part.lines
    return "\n".join(out)


# Formats that escape their cells give a whole document; the raw ones (latex_raw,
# unsafehtml) stay bare tables, for those who escape themselves.
HTML_FORMATS = ("html",)
LATEX_FORMATS = ("latex", "latex_booktabs", "latex_longtable")
DOCUMENT_FORMATS = HTML_FORMATS + LATEX_FORMATS


def render_html_fragment(comparison: Comparison) -> str:
    """The report as an HTML fragment (Jupyter's ``_repr_html_``): every heading and line
    escaped, tables in tabulate's escaping ``html`` format."""
    out = [f"<h4>{html.escape(comparison.exercise.title)}</h4>"]
    for part in sections(comparison, "html"):
        if part.heading:
            out.append(f"<p><b>{html.escape(part.heading)}</b></p>")
        if part.table:
            out.append(str(part.table))
        if part.lines:
            out.append("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in part.lines) + "</ul>")
    return "\n".join(out)


def render_document(comparison: Comparison, fmt: str) -> str:
    """A complete HTML page, or a LaTeX document that compiles with pdflatex."""
    title = comparison.exercise.title
    if fmt in HTML_FORMATS:
        return "\n".join(["<!DOCTYPE html>", '<html lang="en">', '<head><meta charset="utf-8"/>',
                          f"<title>{html.escape(title)}</title>",
                          "<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}"
                          "</style></head>", "<body>", render_html_fragment(comparison), "</body>", "</html>"])
    out = LATEX_PREAMBLE + [rf"\section*{{{latex_escape(title)}}}"]
    for part in sections(comparison, fmt):
        if part.heading:
            out.append(rf"\subsection*{{{latex_escape(part.heading)}}}")
        if part.table:
            out.append(r"{\scriptsize" + "\n" + part.table + "\n}")
        out += [latex_escape(line) + r"\par" for line in part.lines]
    return "\n".join(out + [r"\end{document}"])


# tabulate's LaTeX tables hold the report's Unicode as it is: declared for pdflatex here.
_UNICODE_IN_TABLES = {"2260": r"\ensuremath{\neq}", "2248": r"\ensuremath{\approx}", "2202": r"\ensuremath{\partial}",
                      "2032": "'", "2212": "-", "2014": "---", "03B8": r"\ensuremath{\theta}",
                      "27E8": r"\ensuremath{\langle}", "27E9": r"\ensuremath{\rangle}", "2207": r"\ensuremath{\nabla}",
                      "22C5": r"\ensuremath{\cdot}", "00B7": r"\ensuremath{\cdot}", "2297": r"\ensuremath{\otimes}"}
LATEX_PREAMBLE = ([r"\documentclass[10pt]{article}", r"\usepackage[margin=1.5cm,landscape]{geometry}",
                   r"\usepackage{longtable}", r"\setlength{\parindent}{0pt}",
                   # latex_booktabs tables without needing the booktabs package
                   r"\providecommand{\toprule}{\hline}", r"\providecommand{\midrule}{\hline}",
                   r"\providecommand{\bottomrule}{\hline}"]
                  + [rf"\DeclareUnicodeCharacter{{{code}}}{{{tex}}}" for code, tex in _UNICODE_IN_TABLES.items()]
                  + [r"\begin{document}"])


def _row_json(row: Row, rational: bool = True) -> dict:
    return {"parameter" if row.quantity.startswith(("dL/dW", "dL/db")) else "quantity": row.label,
            "numpy": row.hand, "torch": row.autograd,
            "exact": float(row.exact), "exact_text": exact_text(row.exact),
            # a 50-digit ground truth is no fraction: its binary expansion would mislead
            "exact_fraction": str(row.exact) if rational else None,
            "published": None if row.published is None else float(row.published),
            "published_text": None if row.published is None else str(row.published),
            "abs_diff": row.abs_diff, "agree": row.agree, "kink": row.kink,
            "reason": row.reason, "verdict": row.verdict,
            "finite_difference": None if row.finite_difference is None else float(row.finite_difference),
            "fd_note": row.fd_note or None}


def render_json(comparison: Comparison) -> str:
    """One JSON object: ``gradients`` (one object per parameter entry), ``intermediates``
    and ``summary``."""
    rational = comparison.exercise.architecture.rational
    data = {"exercise": comparison.exercise.title,
            "gradients": [_row_json(r, rational) for r in comparison.gradients],
            "intermediates": [_row_json(r, rational) for r in comparison.intermediates],
            "answers": [c.as_json() for c in comparison.answers],
            **({"alive": alive_json(comparison.exercise)} if alive_applies(comparison.exercise) else {}),
            "check": cost_json(check_cost(comparison)),
            "underflows": comparison.underflows,
            "summary": summarize(comparison)}
    if comparison.jvp is not None:
        data["jvp"] = [{"direction": j.direction, "jvp": j.jvp, "hand": j.hand, "exact": float(j.exact),
                        "tolerance": j.tolerance, "agree": j.agree, "verdict": j.verdict} for j in comparison.jvp]
    return json.dumps(data, indent=2, ensure_ascii=False)


def bulk_table(check, fmt: str = "github") -> str:
    """One row per parameter tensor of a large network (``compare.bulk``)."""
    rows = [[t.parameter, "×".join(map(str, t.shape)), math.prod(t.shape), t.disagreeing,
             diff_text(t.max_abs_diff), t.parameter + "".join(f"[{i}]" for i in t.worst),
             t.fd_checked or "—", "agree" if t.agree else "DISAGREE: " + "; ".join(
                 ([f"{t.disagreeing} entries hand ≠ autograd"] if t.disagreeing else []) + t.fd_problems[:3])]
            for t in check.tensors]
    return tabulate(rows, headers=["tensor", "shape", "entries", "disagreeing", "max |diff|", "at",
                                   "finite diff.", "verdict"], tablefmt=fmt, disable_numparse=True)


def render_bulk(check, title: str, fmt: str = "github") -> str:
    """The report of a large network: per-tensor table, JVPs and a summary."""
    total = sum(math.prod(t.shape) for t in check.tensors)
    lines = [title, "", f"Every gradient entry, hand (NumPy) vs autograd (torch), {check.dtype}, "
             f"rtol {check.tolerance.rtol:g}, atol {check.tolerance.atol:g}; too large for an exact ground truth.",
             *([check.cost.explain()] if check.cost else []), "", bulk_table(check, fmt), ""]
    for i, (jvp, hand, agree) in enumerate(check.jvp):
        lines.append(f"Direction {i}: torch.func.jvp {jvp:.12g}, ⟨hand ∇L, v⟩ {hand:.12g}: "
                     + ("agree" if agree else "DISAGREE"))
    if check.finite_differences:
        f = check.finite_differences
        lines.append(f"Finite differences: {f['sampled_per_tensor']} random entries per tensor (seed {f['seed']}), "
                     f"central, step h = {f['step']:g}, forward pass in float64 (too large for 50 digits), "
                     f"tolerance rtol {f['rtol']:g}, atol {f['atol']:g}"
                     + (f"; {f['crossing_kinks']} cross a kink and are not judged" if f["crossing_kinks"] else "")
                     + (f"; {f['overflowing']} overflow at θ ± h and are not judged" if f.get("overflowing") else "")
                     + ".")
    if check.jvp:
        lines.append(f"Forward mode: {sum(a for _, _, a in check.jvp)} of {len(check.jvp)} random directions agree "
                     f"(seed {check.jvp_seed}).")
    bad = sum(t.disagreeing for t in check.tensors)
    lines.append(f"Gradients: {total - bad} of {total} entries agree.")
    lines.append("Result: " + ("everything agrees." if check.ok else "DISAGREEMENT (see the verdicts above)."))
    return "\n".join(lines)


def bulk_json(check) -> str:
    """A large network's check as JSON: ``tensors`` and ``summary``."""
    return json.dumps({
        "tensors": [{"parameter": t.parameter, "shape": list(t.shape), "disagreeing": t.disagreeing,
                     "max_abs_diff": t.max_abs_diff, "worst": list(t.worst), "fd_checked": t.fd_checked,
                     "fd_problems": t.fd_problems, "agree": t.agree} for t in check.tensors],
        "jvp": [{"jvp": j, "hand": h, "agree": a} for j, h, a in check.jvp],
        "jvp_seed": check.jvp_seed,
        "finite_differences": check.finite_differences,
        **({"check": cost_json(check.cost)} if check.cost else {}),
        "summary": {"dtype": check.dtype, "rtol": check.tolerance.rtol, "atol": check.tolerance.atol,
                    "entries": sum(math.prod(t.shape) for t in check.tensors),
                    "disagreeing": sum(t.disagreeing for t in check.tensors), "ok": check.ok},
    }, indent=2)
