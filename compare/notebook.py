"""A comparison as HTML for Jupyter (``Comparison._repr_html_``): title, gradient
table, intermediates and summary. Tables are tabulate's ``html`` format, which escapes
every cell; the title and summary are escaped with ``html.escape``."""
import html

from compare.comparison import Comparison
from compare.report import gradient_table, intermediate_table, summary_lines


def render_html(comparison: Comparison) -> str:
    """The full report as one HTML fragment (no ``<html>``/``<body>``)."""
    summary = "".join(f"<li>{html.escape(line)}</li>" for line in summary_lines(comparison))
    return "\n".join([
        f"<h4>{html.escape(comparison.exercise.title)}</h4>",
        "<p><b>Parameter gradients ∂L/∂θ</b></p>",
        str(gradient_table(comparison, "html")),
        "<details><summary><b>Intermediates</b> (forward values and upstream gradients)</summary>",
        str(intermediate_table(comparison, "html")),
        "</details>",
        f"<ul>{summary}</ul>",
    ])
