"""The worked answer key of an exercise: ``python -m compare answer-key [EXERCISE.toml]``.

Every intermediate and every gradient of the exact (``Fraction``) pass, in the order of
the text's steps (Recall: z1, h, y_hat, L; Step 1 dL/dy_hat; Step 2 dL/dW2; Step 3
dL/db2; Step 4 dL/dh; Step 5 relu_mask and dL/dz1; Step 6 dL/dW1; Step 7 dL/db1; deeper
networks follow ``reference.quantities`` order). Each entry is shown exactly (as a
fraction where it is not a short decimal: L = 717/800) and as a decimal, with the reason
for each zero. Output as markdown (readable as plain text), LaTeX (a complete document
that compiles with pdflatex) or HTML (a complete page).

Exit status 0, or 2 with one line on stderr for bad usage or a bad exercise file.
"""
import argparse
import html
import math
import sys
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from tabulate import tabulate

from compare.formatting import (array_text, exact_text, latex_escape, short_decimal, significant_decimal,
                                terminating_places)
from compare.progress import progress_while
from compare.reasons import Reasons, neuron_name
from compare.usage import Parser, UsageError, atomic_output, load_selected
from reference import quantities
from reference.quantities import step_groups, step_title  # noqa: F401 (the key's step titles)
from reference import losses
from reference.backprop import Pass, check_finite, run_pass
from reference.numbers import as_fraction
from reference.exercise import CHAPTER7_PATH, Exercise, ExerciseError, answer_shape, printable

FORMATS = ("markdown", "latex", "html")
# Entries above which a key is refused without --allow-large: about 6 MB of markdown; the
# key of a 1000-1000-4 network would have a million entries (124 MB).
MAX_ENTRIES = 50_000
SHORT_DECIMAL_PLACES = 4  # exact values with more decimals (or none finite) are shown as fractions
HEADERS = ["entry", "exact", "decimal", "why zero"]


@dataclass
class Entry:
    """One scalar of the key: ``label`` (``"dL/dW1[0][2]"``), its exact value and, when
    it is zero, why."""
    label: str
    exact: Fraction
    why_zero: str
    approximate: bool = False  # the ground truth is mpmath at 50 digits, not a rational

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


class _ZeroReasons:
    """Why an entry of the exact pass is zero, worded as the text."""

    def __init__(self, exercise: Exercise, exact: Pass):
        self.exercise = exercise
        self.arch = exercise.architecture
        self.n = self.arch.n_layers
        self.values = exact.values
        self.zs = exact.pre_activations
        self.gradients = Reasons(exercise, exact)

    def _layer(self, name: str) -> int:
        digits = "".join(c for c in name if c.isdigit())
        return int(digits) if digits else 1

    def _z(self, layer: int, index: tuple) -> tuple[str, Fraction]:
        example, j = (index if len(index) == 2 else (0, index[0]))
        label = f"z{layer}" + (f"[{example}]" if len(index) == 2 else "") + f"[{j}]"
        return label, as_fraction(self.zs[layer - 1][example, j])

    def _dead(self, layer: int, index: tuple, derivative: bool) -> str:
        """Why ReLU's output (``derivative`` False) or its derivative is 0 at this neuron."""
        label, z = self._z(layer, index)
        neuron = neuron_name(layer, index[-1], self.n)
        if z == 0:
            rule = "ReLU'(0) = 0" if derivative else "ReLU(0) = 0"
            return f"{label} = 0 exactly: {rule}, dead {neuron} (on the boundary)"
        return f"{label} = {exact_text(z) if _is_short(z) else _fraction_text(z)} < 0: dead {neuron}"

    def why(self, name: str, index: tuple) -> str:
        if self.values[name][index] != 0:
            return ""
        if name.startswith(("dL/dW", "dL/db")):
            return self.gradients.for_entry(name[4:], index)
        if name == "L":
            return "every output equals its target"
        j = index[-1]
        if name == "dL/dy_hat":
            return f"output {j} equals its target"
        if name == "y_hat":
            return f"output {j}: the weighted sum and the bias cancel"
        if name.startswith("z"):
            kink = self.arch.activations[self._layer(name) - 1] == "relu"
            return "pre-activation exactly 0" + (": at the ReLU kink" if kink else "")
        if name.startswith("relu_mask"):
            return self._dead(self._layer(name), index, derivative=True)
        if name.startswith("h"):
            k = self._layer(name)
            if self.arch.activations[k - 1] == "relu":
                return self._dead(k, index, derivative=False)
            return f"{self.arch.activations[k - 1]}(0) = 0: {self._z(k, index)[0]} = 0"
        if name.startswith("dL/dz"):
            k = self._layer(name)
            mask = quantities.derivative_name(k, self.n, self.arch.activations[k - 1])
            if mask in self.values and self.values[mask][index] == 0:
                return f"ReLU gate closed: {quantities.entry_label(mask, index)} = 0"
            upstream = "dL/dy_hat" if k == self.n else f"dL/d{quantities.hidden_name(k, self.n)}"
            return f"{quantities.entry_label(upstream, index)} = 0"
        if name.startswith("dL/dh"):
            return f"the upstream gradients reaching neuron {j} through its outgoing weights cancel or are 0"
        return ""


def build_answer_key(exercise: Exercise) -> AnswerKey:
    """The exact pass of ``exercise`` (ReLU'(0) = 0, as the text) arranged step by step.
    Intermediates have shape (n,) for one example and (B, n) for a batch; gradients the
    parameters' (in, out) shapes."""
    exact = run_pass(exercise, exercise.architecture.ground_truth)
    reasons = _ZeroReasons(exercise, exact)
    arch = exercise.architecture
    steps = []
    for title, names in arch.step_groups():
        entries = []
        for name in names:
            value = exact.values[name]
            for index in np.ndindex(value.shape):
                entries.append(Entry(quantities.entry_label(name, index), as_fraction(value[index]),
                                     reasons.why(name, index), approximate=not arch.rational))
        steps.append(Step(title, names, entries))
    return AnswerKey(exercise, steps)


def given_lines(exercise: Exercise) -> list[str]:
    """The network, parameters and examples the key is for, one line each."""
    arch = exercise.architecture
    lines = [f"Network: sizes {'-'.join(map(str, arch.sizes))}, activations {', '.join(arch.activations)}; "
             f"loss {arch.loss} ({losses.DESCRIPTIONS[arch.loss]}), {arch.reduction} over the "
             f"{exercise.batch_size} example{'s' if exercise.batch_size > 1 else ''}"
             + bias_note(arch) + ". Layout z = x @ W + b, W of shape (in, out); ReLU'(0) = 0."]
    lines += [f"{name} = {array_text(value)}" for name, value in exercise.parameters.items()]
    for b in range(exercise.batch_size):
        which = f" (example {b})" if exercise.batch_size > 1 else ""
        lines.append(f"x{which} = {array_text(exercise.x[b])}, y{which} = {array_text(exercise.y[b])}")
    return lines


def bias_note(arch) -> str:
    """``"; no bias in layer 2"`` for layers without bias (``""`` when every layer has one)."""
    without = [str(k) for k in range(1, arch.n_layers + 1) if not arch.has_bias(k)]
    if not without:
        return ""
    return f"; no bias in layer{'s' if len(without) > 1 else ''} {', '.join(without)}"


def _rows(step: Step) -> list[list[str]]:
    return [[e.label, e.exact_cell, e.decimal_cell, e.why_zero] for e in step.entries]


def render_markdown(key: AnswerKey) -> str:
    """Markdown with github tables; reads as plain text in a terminal."""
    ex = key.exercise
    parts = [f"# Answer key: {ex.title}", ""]
    if ex.source:
        parts += [f"Source: {ex.source}", ""]
    parts += [f"- {line}" for line in given_lines(ex)] + [""]
    for step in key.steps:
        parts += [f"## {step.title}", "",
                  tabulate(_rows(step), headers=HEADERS, tablefmt="github", disable_numparse=True), ""]
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
                  r"\begin{longtable}{lrrp{0.45\textwidth}}", r"\hline",
                  " & ".join(rf"\textbf{{{h}}}" for h in HEADERS) + r" \\", r"\hline", r"\endhead"]
        for e in step.entries:
            lines.append(rf"\texttt{{{latex_escape(e.label)}}} & {_latex_number(e.exact, e.exact_cell)} & "
                         rf"{latex_escape(e.decimal_cell)} & {latex_escape(e.why_zero)} \\")
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
             "td.num{text-align:right;font-family:monospace}</style>", "</head>", "<body>",
             f"<h1>Answer key: {esc(ex.title)}</h1>"]
    if ex.source:
        parts.append(f"<p>Source: {esc(ex.source)}</p>")
    parts += ["<ul>"] + [f"<li>{esc(line)}</li>" for line in given_lines(ex)] + ["</ul>"]
    for step in key.steps:
        parts += [f"<h2>{esc(step.title)}</h2>", "<table>",
                  "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in HEADERS) + "</tr>"]
        for e in step.entries:
            parts.append(f"<tr><td><code>{esc(e.label)}</code></td><td class=\"num\">{esc(e.exact_cell)}</td>"
                         f"<td class=\"num\">{esc(e.decimal_cell)}</td><td>{esc(e.why_zero)}</td></tr>")
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
        with progress_while("answer key"):
            text = render(build_answer_key(exercise), args.format)
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
