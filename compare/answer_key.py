"""The worked answer key of an exercise: ``python -m compare answer-key [EXERCISE.toml]``.

Every intermediate and every gradient of the exact (``Fraction``) pass, in the order of
the text's steps (Recall: z1, h, y_hat, L; Step 1 dL/dy_hat; Step 2 dL/dW2; Step 3
dL/db2; Step 4 dL/dh; Step 5 relu_mask and dL/dz1; Step 6 dL/dW1; Step 7 dL/db1; deeper
networks follow ``reference.quantities`` order). Each entry is shown exactly (as a
fraction where it is not a short decimal: L = 717/800) and as a decimal, with the reason
for each zero and its working: the formula with the numbers substituted
(``compare.working``: ∂L/∂W2[2][0] = h[2] · ∂L/∂ŷ[0] = 0.5 × (−0.45) = −0.225), values that
are no short decimals to ``--digits`` decimals. Output as markdown (readable as plain
text; on a terminal its long columns wrap to the width, ``compare.tables``), LaTeX (a
complete document that compiles with pdflatex, the working in math mode) or HTML (a
complete page).

Exit status 0, or 2 with one line on stderr for bad usage or a bad exercise file.
"""
import argparse
import html
import math
import sys
from dataclasses import dataclass
from fractions import Fraction


from compare.cli.options import digits_value
from compare.expression import LATEX, TEXT, Formula
from compare.formatting import (array_text, exact_text, latex_escape, short_decimal, significant_decimal,
                                terminating_places)
from compare.progress import progress_while
from compare.tables import tabulate, table_width, width_for_output
from compare.usage import Parser, UsageError, atomic_output, load_selected
from compare.why_zero import ZeroReasons
from compare.working import Working
from reference import quantities
from reference.quantities import step_groups, step_title  # noqa: F401 (the key's step titles)
from reference import losses
from reference.backprop import check_finite, run_pass
from reference.numbers import as_fraction
from reference.exercise import CHAPTER7_PATH, Exercise, ExerciseError, answer_shape, printable

FORMATS = ("markdown", "latex", "html")
# Entries above which a key is refused without --allow-large: about 6 MB of markdown; the
# key of a 1000-1000-4 network would have a million entries (124 MB).
MAX_ENTRIES = 50_000
SHORT_DECIMAL_PLACES = 4  # exact values with more decimals (or none finite) are shown as fractions
DEFAULT_DIGITS = 4  # decimals of the working's values that are no short decimals
HEADERS = ["entry", "exact", "decimal", "why zero", "working"]


@dataclass
class Entry:
    """One scalar of the key: ``label`` (``"dL/dW1[0][2]"``), its exact value and, when
    it is zero, why."""
    label: str
    exact: Fraction
    why_zero: str
    approximate: bool = False  # the ground truth is mpmath at 50 digits, not a rational
    formula: Formula | None = None  # the working (compare.working); None for a quantity without a step

    def working(self, digits: int = DEFAULT_DIGITS, latex: bool = False) -> str:
        """The formula with the numbers substituted, as text or LaTeX math ("" without one)."""
        return "" if self.formula is None else self.formula.render(LATEX if latex else TEXT, digits)

    @property
    def exact_cell(self) -> str:
        """The exact value: a short decimal as is, anything else as a fraction; a 50-digit
        ground truth to 20 significant digits, marked ≈."""
        if self.approximate:
            short = short_decimal(self.exact)
            return f"{short:f}" if short is not None else "≈" + decimal_text(self.exact, 20).removesuffix(
                "...").removeprefix("≈")
        return exact_text(self.exact) if _is_short(self.exact) else _fraction_text(self.exact)

    @property
    def decimal_cell(self) -> str:
        short = short_decimal(self.exact) if self.approximate else None
        return f"{short:f}" if short is not None else decimal_text(self.exact)


@dataclass
class Step:
    """One step of the text: a title and the entries of the quantities it computes."""
    title: str
    names: list[str]
    entries: list[Entry]


@dataclass
class AnswerKey:
    """The whole key of one exercise."""
    exercise: Exercise
    steps: list[Step]
    digits: int = DEFAULT_DIGITS  # decimals of the working's values that are no short decimals

    def _repr_html_(self) -> str:
        """Jupyter: the HTML handout's body."""
        page = render(self, "html")
        return page[page.index("<body>") + len("<body>"):page.index("</body>")]

    def __str__(self) -> str:
        return render(self, "markdown")

    def entry(self, label: str) -> Entry:
        """The entry named ``label``; raises ``KeyError`` when there is none."""
        for step in self.steps:
            for e in step.entries:
                if e.label == label:
                    return e
        raise KeyError(label)


def _is_short(value: Fraction) -> bool:
    places = terminating_places(value)
    return places is not None and places <= SHORT_DECIMAL_PLACES


def _fraction_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def decimal_text(value: Fraction, digits: int = 8) -> str:
    """The decimal expansion: exact when it terminates within 12 places (``0.89625``),
    else ``digits`` significant digits followed by ``...`` (``0.33333333...``)."""
    places = terminating_places(value)
    if places is not None and places <= 12:
        return exact_text(value)
    return f"{significant_decimal(value, digits)}..."


def build_answer_key(exercise: Exercise, digits: int = DEFAULT_DIGITS) -> AnswerKey:
    """The exact pass of ``exercise`` (ReLU'(0) = 0, as the text) arranged step by step,
    each entry with its working (values that are no short decimals shown to ``digits``
    decimals), then the quantities the file's answers print beside the steps (e, exps,
    each example's loss, Δθ). Intermediates have shape (n,) for one example and (B, n)
    for a batch; gradients (and Δθ) the parameters' shapes, their entries named and
    ordered as the text's layout writes them (``Architecture.label``, ``text_order``)."""
    exact = run_pass(exercise, exercise.architecture.ground_truth)
    reasons = ZeroReasons(exercise, exact)
    working = Working(exercise, exact)
    arch = exercise.architecture
    steps = []
    used = {a.name for a in exercise.answers}
    printed = quantities.printed_groups([n for n in arch.printed_names() if n in used])  # what the text prints too
    for title, names in arch.step_groups() + printed:
        entries = []
        for name in names:
            value = exact.values[name]
            for index in arch.text_order(name, value.shape):
                entries.append(Entry(arch.label(name, index), as_fraction(value[index]),
                                     reasons.why(name, index), approximate=not arch.rational,
                                     formula=working.formula(name, index)))
        steps.append(Step(title, names, entries))
    return AnswerKey(exercise, steps, digits)


def convention_line(exercise: Exercise) -> str:
    """What the key takes at a kink, and which probabilities the loss reads, for this
    network: nothing about ReLU where there is none."""
    arch = exercise.architecture
    parts = []
    if "relu" in arch.activations:
        parts.append("ReLU'(0) = 0, as the text and PyTorch")
    if "leaky_relu" in arch.activations:
        parts.append(f"leaky ReLU'(0) = {arch.negative_slope} (its slope below 0), as PyTorch")
    if arch.loss == "cross_entropy":
        parts.append("p = softmax(ŷ) of each example, the class probabilities")
    if arch.loss == "bce_with_logits":
        parts.append("σ(ŷ), the probabilities of the logits ŷ")
    return "; ".join(parts)


def given_lines(exercise: Exercise) -> list[str]:
    """The network, parameters and examples the key is for, one line each."""
    arch = exercise.architecture
    lines = [f"Network: sizes {'-'.join(map(str, arch.sizes))}, activations {', '.join(arch.activations)}; "
             f"loss {arch.loss} ({losses.DESCRIPTIONS[arch.loss]}), {arch.reduction} over the "
             f"{exercise.batch_size} example{'s' if exercise.batch_size > 1 else ''}"
             + bias_note(arch) + f". Layout {arch.layout_text()}"
             + ("; " + convention_line(exercise) if convention_line(exercise) else "") + "."]
    lines += [f"{name} = {array_text(arch.layout_array(name, value))}" for name, value in exercise.parameters.items()]
    for b in range(exercise.batch_size):
        which = f" (example {b})" if exercise.batch_size > 1 else ""
        lines.append(f"x{which} = {array_text(exercise.x[b])}, y{which} = {array_text(exercise.y[b])}")
    return lines


def bias_note(arch) -> str:
    """``"; no bias in layer 2"`` for layers without bias, ``"; one bias per layer, shared
    by its neurons, in layer 1"`` for shared ones (``""`` when every layer has a bias per neuron)."""
    def layers(ks: list[str]) -> str:
        return f"layer{'s' if len(ks) > 1 else ''} {', '.join(ks)}"
    without = [str(k) for k in range(1, arch.n_layers + 1) if not arch.has_bias(k)]
    shared = [str(k) for k in range(1, arch.n_layers + 1) if arch.shares_bias(k)]
    return ((f"; no bias in {layers(without)}" if without else "")
            + (f"; one bias shared by all neurons of {layers(shared)}" if shared else ""))


def _rows(step: Step, digits: int) -> list[list[str]]:
    return [[e.label, e.exact_cell, e.decimal_cell, e.why_zero, e.working(digits)] for e in step.entries]


def render_markdown(key: AnswerKey) -> str:
    """Markdown with github tables; reads as plain text in a terminal."""
    ex = key.exercise
    parts = [f"# Answer key: {ex.title}", ""]
    if ex.source:
        parts += [f"Source: {ex.source}", ""]
    parts += [f"- {line}" for line in given_lines(ex)] + [""]
    for step in key.steps:
        parts += [f"## {step.title}", "",
                  tabulate(_rows(step, key.digits), headers=HEADERS, tablefmt="github", disable_numparse=True), ""]
    return "\n".join(parts)


def _latex_number(value: Fraction, cell: str) -> str:
    if "/" in cell:
        sign = "-" if value < 0 else ""
        return f"${sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}$"
    return "$" + cell.replace("≈", r"\approx ") + "$"


def render_latex(key: AnswerKey) -> str:
    """A complete LaTeX document (article, longtable) that compiles with pdflatex."""
    ex = key.exercise
    lines = [r"\documentclass[10pt]{article}", r"\usepackage[margin=2cm]{geometry}",
             r"\usepackage{longtable}", r"\setlength{\parindent}{0pt}",
             r"\begin{document}", rf"\section*{{Answer key: {latex_escape(ex.title)}}}"]
    if ex.source:
        lines.append(rf"Source: {latex_escape(ex.source)}\par\medskip")
    lines.append(r"\begin{itemize}")
    lines += [rf"\item \texttt{{{latex_escape(line)}}}" if " = " in line and not line.startswith("Network")
              else rf"\item {latex_escape(line)}" for line in given_lines(ex)]
    lines.append(r"\end{itemize}")
    for step in key.steps:
        lines += [rf"\subsection*{{{latex_escape(step.title)}}}",
                  r"\begin{longtable}{lrrp{0.3\textwidth}}", r"\hline",
                  " & ".join(rf"\textbf{{{h}}}" for h in HEADERS[:4]) + r" \\",
                  r"\multicolumn{4}{l}{\hspace{1.5em}\small\textit{working}} \\", r"\hline", r"\endhead"]
        for e in step.entries:
            lines.append(rf"\texttt{{{latex_escape(e.label)}}} & {_latex_number(e.exact, e.exact_cell)} & "
                         rf"{latex_escape(e.decimal_cell)} & {latex_escape(e.why_zero)} \\")
            if e.formula is not None:  # the working on a row of its own, in math mode (it breaks at = and +)
                lines.append(rf"\multicolumn{{4}}{{p{{0.95\textwidth}}}}{{\hspace{{1.5em}}\small "
                             rf"${e.working(key.digits, latex=True)}$}} \\[2pt]")
        lines += [r"\hline", r"\end{longtable}"]
    lines.append(r"\end{document}")
    return "\n".join(lines) + "\n"


def render_html(key: AnswerKey) -> str:
    """A complete, well-formed HTML page (parses as XML too)."""
    ex = key.exercise
    esc = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8"/>',
             f"<title>Answer key: {esc(ex.title)}</title>",
             "<style>table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}"
             "td.num{text-align:right;font-family:monospace}td.working{font-family:serif}</style>", "</head>", "<body>",
             f"<h1>Answer key: {esc(ex.title)}</h1>"]
    if ex.source:
        parts.append(f"<p>Source: {esc(ex.source)}</p>")
    parts += ["<ul>"] + [f"<li>{esc(line)}</li>" for line in given_lines(ex)] + ["</ul>"]
    for step in key.steps:
        parts += [f"<h2>{esc(step.title)}</h2>", "<table>",
                  "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in HEADERS) + "</tr>"]
        for e in step.entries:
            parts.append(f"<tr><td><code>{esc(e.label)}</code></td><td class=\"num\">{esc(e.exact_cell)}</td>"
                         f"<td class=\"num\">{esc(e.decimal_cell)}</td><td>{esc(e.why_zero)}</td>"
                         f"<td class=\"working\">{esc(e.working(key.digits))}</td></tr>")
        parts.append("</table>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


RENDERERS = {"markdown": render_markdown, "latex": render_latex, "html": render_html}


def render(key: AnswerKey, fmt: str = "markdown") -> str:
    """The key in ``fmt`` (one of ``FORMATS``); raises ``KeyError`` for another."""
    return RENDERERS[fmt](key)


def build_parser(prog: str = "python -m compare answer-key") -> argparse.ArgumentParser:
    parser = Parser(prog=prog,
                     description="Print the complete worked answer key of an exercise, step by step, "
                                 "exact and as decimals, with the reason for each zero.")
    parser.add_argument("exercise", nargs="?", default=str(CHAPTER7_PATH),
                        help="exercise TOML file (default: the Chapter 7 network)")
    parser.add_argument("--format", choices=FORMATS, default="markdown",
                        help="markdown (default, reads as plain text), latex (a complete document) or html")
    parser.add_argument("--example", type=int, metavar="N", help="only example N (0-based) of a file with several")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write to FILE (atomically: a temporary file renamed; a symbolic link is written "
                             "through) instead of stdout")
    parser.add_argument("--digits", type=digits_value, default=DEFAULT_DIGITS, metavar="N",
                        help=f"decimals of the working's values that are no short decimals (default {DEFAULT_DIGITS})")
    parser.add_argument("--wide", action="store_true",
                        help="one line per row on a terminal too (by default long columns wrap to $COLUMNS or "
                             "the terminal's width; a pipe wraps only when $COLUMNS is set, -o FILE never)")
    parser.add_argument("--allow-large", action="store_true",
                        help=f"write a key of more than {MAX_ENTRIES:,} entries (a large network's key is huge)")
    return parser


def entry_count(exercise: Exercise) -> int:
    """How many entries (rows) the key of ``exercise`` has, from its shapes alone."""
    arch = exercise.architecture
    return sum(math.prod(answer_shape(name, arch, exercise.batch_size))
               for _, names in arch.step_groups() for name in names)


def main(argv: list[str], prog: str = "python -m compare answer-key") -> int:
    """``python -m compare answer-key ...``; returns the exit status (0, or 2 on bad input)."""
    try:
        args = build_parser(prog).parse_args(argv)
        exercise = load_selected(args.exercise, args.example)
        check_finite(exercise, "float64")  # where the floats overflow, the exact pass divides by 0 or takes log(0)
        entries = entry_count(exercise)
        if entries > MAX_ENTRIES and not args.allow_large:
            raise UsageError(f"the key would have {entries:,} entries, more than {MAX_ENTRIES:,}; "
                             "--allow-large writes it anyway")
        with progress_while("answer key"), table_width(None if args.output else width_for_output(args.wide)):
            text = render(build_answer_key(exercise, args.digits), args.format)
        if args.output:
            try:
                with atomic_output(args.output) as stream:
                    stream.write(text)
            except OSError as error:
                raise UsageError(f"--output: cannot write {args.output} ({error.strerror or error})") from None
        else:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
    except UsageError as error:
        print(f"{prog}: error: {printable(str(error))}", file=sys.stderr)
        return 2
    except ExerciseError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    return 0
