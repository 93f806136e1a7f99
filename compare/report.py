"""The report of a comparison: text tables (tabulate, any of its formats) or JSON."""
import json

from tabulate import tabulate

from compare.alive import alive_json, alive_table
from compare.comparison import Comparison, Row, summarize
from compare.diagnosis import answers_table, check_answers, summary_line as answers_summary_line
from compare.formatting import diff_text, exact_text, float_text

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


def gradient_table(comparison: Comparison, fmt: str = "github") -> str:
    """One row per parameter, named as in the text (``W1[0][2]``)."""
    rows = [_cells(r) + ["yes" if r.kink else "", r.reason] for r in comparison.gradients]
    return tabulate(rows, headers=GRADIENT_HEADERS, tablefmt=fmt, disable_numparse=True)


def intermediate_table(comparison: Comparison, fmt: str = "github") -> str:
    """One row per entry of z1, h, y_hat, L, dL/dy_hat, dL/dh, relu_mask, dL/dz1."""
    rows = [_cells(r) for r in comparison.intermediates]
    return tabulate(rows, headers=INTERMEDIATE_HEADERS, tablefmt=fmt, disable_numparse=True)


def summary_lines(comparison: Comparison) -> list[str]:
    """The closing summary, a line each."""
    s = summarize(comparison)
    lines = []
    if s["hand_error"]:
        lines.append(f"The hand backward pass failed: {s['hand_error']}")
    lines.append(f"Gradients: {s['gradients_agree']} of {s['gradients']} agree "
                 f"(hand vs autograd vs exact, {s['dtype']}, rtol {s['rtol']:g}, atol {s['atol']:g}).")
    lines.append(f"Intermediates: {s['intermediates_agree']} of {s['intermediates']} agree.")
    if s["printed_checked"]:
        lines.append(f"Printed values: {s['printed_agree']} of {s['printed_checked']} agree with the exact "
                     "values within their printed rounding.")
    if s["max_abs_diff"] is not None:
        lines.append(f"Max |hand - autograd|: {diff_text(s['max_abs_diff'])}"
                     + (f" (not counting {s['rows_on_different_sides_of_a_kink']} rows where the two runs "
                        "took different sides of a kink)" if s["rows_on_different_sides_of_a_kink"] else ""))
    layers = ", ".join(f"{p} {v['nonzero']}/{v['total']}" for p, v in s["nonzero_by_parameter"].items())
    lines.append(f"Nonzero gradients (exact): {s['nonzero_gradients']} of {s['gradients']} parameters ({layers}); "
                 f"{s['gradients'] - s['nonzero_gradients']} receive none.")
    for claim in s["claims"]:
        if claim["agree"]:
            lines.append(f"The text says {claim['stated']} parameters change: confirmed.")
        else:
            lines.append(f"The text says {claim['stated']} parameters change, but {claim['exact']} receive a "
                         f"nonzero gradient: the text's count is wrong (its own table lists {claim['exact']}).")
    for note in s["kinks"]:
        lines.append("Kink: " + note + ".")
    lines.append("Result: " + ("everything agrees." if s["ok"] else "DISAGREEMENT (see the verdicts above)."))
    return lines


def render_text(comparison: Comparison, fmt: str = "github") -> str:
    """The full text report: title, gradient table, intermediate table, summary."""
    ex = comparison.exercise
    parts = [ex.title, "", "Parameter gradients ∂L/∂θ", "", gradient_table(comparison, fmt), "",
             "Intermediates (forward values and upstream gradients)", "",
             intermediate_table(comparison, fmt), ""]
    if ex.batch_size > 1:
        parts += ["Hidden neurons alive (z > 0) per example", "", alive_table(ex, fmt), ""]
    checks = check_answers(ex)
    if checks:
        parts += ["Hand answers", "", answers_table(checks, fmt), "", answers_summary_line(checks)]
    parts += summary_lines(comparison)
    return "\n".join(parts)


def _row_json(row: Row) -> dict:
    return {"parameter" if row.quantity.startswith(("dL/dW", "dL/db")) else "quantity": row.label,
            "numpy": row.hand, "torch": row.autograd,
            "exact": float(row.exact), "exact_fraction": str(row.exact),
            "published": None if row.published is None else float(row.published),
            "published_text": None if row.published is None else str(row.published),
            "abs_diff": row.abs_diff, "agree": row.agree, "kink": row.kink,
            "reason": row.reason, "verdict": row.verdict}


def render_json(comparison: Comparison) -> str:
    """One JSON object: ``gradients`` (one object per parameter entry), ``intermediates``
    and ``summary``."""
    return json.dumps({"exercise": comparison.exercise.title,
                       "gradients": [_row_json(r) for r in comparison.gradients],
                       "intermediates": [_row_json(r) for r in comparison.intermediates],
                       "answers": [c.as_json() for c in check_answers(comparison.exercise)],
                       **({"alive": alive_json(comparison.exercise)} if comparison.exercise.batch_size > 1 else {}),
                       "summary": summarize(comparison)}, indent=2, ensure_ascii=False)
