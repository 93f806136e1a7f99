"""``python -m compare answer-key``: every quantity, exact values, and well-formed
markdown, LaTeX and HTML."""
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from fractions import Fraction
from html.parser import HTMLParser

import pytest

from compare.answer_key import build_answer_key, decimal_text, main, render
from compare.cli import main as cli_main
from reference.exercise import CHAPTER7_PATH, load_exercise

BATCH_PATH = CHAPTER7_PATH.parent / "diagonal_flip_batch.toml"
ORDER = ["z1", "h", "y_hat", "L", "dL/dy_hat", "dL/dW2", "dL/db2", "dL/dh", "relu_mask", "dL/dz1",
         "dL/dW1", "dL/db1"]


def test_key_has_every_quantity_in_the_order_of_the_text(chapter7):
    key = build_answer_key(chapter7)
    assert [s.title for s in key.steps] == [
        "Recall: the forward pass", "Step 1: gradient of the loss", "Step 2: output layer weights",
        "Step 3: output layer biases", "Step 4: backpropagate to the hidden layer",
        "Step 5: backpropagate through ReLU", "Step 6: hidden layer weights", "Step 7: hidden layer biases"]
    assert [n for s in key.steps for n in s.names] == ORDER
    # 3 + 3 + 4 + 1 intermediates forward, 4 + 12 + 4 + 3 + 3 + 3 + 12 + 3 backward
    assert sum(len(s.entries) for s in key.steps) == 55


@pytest.mark.parametrize("label, exact, exact_cell, decimal", [
    ("L", Fraction(717, 800), "717/800", "0.89625"),
    ("dL/dh[0]", Fraction(-39, 400), "-0.0975", "-0.0975"),
    ("dL/dh[1]", Fraction(-139, 400), "-0.3475", "-0.3475"),
    ("dL/dW2[2][3]", Fraction(-5, 16), "-0.3125", "-0.3125"),
    ("dL/dW1[0][2]", Fraction(11, 25), "0.44", "0.44"),
    ("z1[0]", Fraction(0), "0", "0"),
    ("relu_mask[2]", Fraction(1), "1", "1"),
])
def test_exact_values(chapter7, label, exact, exact_cell, decimal):
    entry = build_answer_key(chapter7).entry(label)
    assert entry.exact == exact
    assert entry.exact_cell == exact_cell and entry.decimal_cell == decimal


def test_every_zero_has_a_reason_and_only_zeros(chapter7):
    entries = [e for s in build_answer_key(chapter7).steps for e in s.entries]
    assert all(bool(e.why_zero) == (e.exact == 0) for e in entries)
    key = build_answer_key(chapter7)
    assert key.entry("h[1]").why_zero == "z1[1] = -0.1 < 0: dead neuron 1"
    assert key.entry("relu_mask[0]").why_zero.startswith("z1[0] = 0 exactly: ReLU'(0) = 0")
    assert key.entry("dL/dz1[1]").why_zero == "ReLU gate closed: relu_mask[1] = 0"
    assert key.entry("dL/dW1[1][2]").why_zero == "input x[1] = 0"


def test_non_terminating_values_show_as_fractions():
    assert decimal_text(Fraction(1, 3)) == "0.33333333..."
    assert decimal_text(Fraction(-39, 1600)) == "-0.024375"


def test_batch_key_uses_fractions_for_long_decimals():
    key = build_answer_key(load_exercise(BATCH_PATH))
    entry = key.entry("dL/dz1[3][0]")  # exact 0 (kink); a long decimal elsewhere in the batch
    assert entry.exact == 0
    long = [e for s in key.steps for e in s.entries if "/" in e.exact_cell]
    assert long and all(Fraction(e.exact_cell) == e.exact for e in long)


def test_markdown_is_the_default_and_tables_are_rectangular(capsys):
    assert cli_main(["answer-key"]) == 0
    out = capsys.readouterr().out
    assert "## Step 5: backpropagate through ReLU" in out
    assert re.search(r"\| L +\| 717/800 +\| 0\.89625 +\|", out)
    assert re.search(r"\| dL/dh\[0\] +\| -0\.0975 +\| -0\.0975 +\|", out)
    for block in out.split("\n\n"):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            assert len({row.count("|") for row in rows}) == 1


class _Balance(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_html_is_well_formed(chapter7):
    page = render(build_answer_key(chapter7), "html")
    assert page.startswith("<!DOCTYPE html>")
    root = ElementTree.fromstring(page.split("\n", 1)[1])  # XML-parseable after the doctype
    cells = [td.text for td in root.iter("td")]
    assert "717/800" in cells and "0.89625" in cells
    assert len(list(root.iter("table"))) == 8
    checker = _Balance()
    checker.feed(page)
    assert checker.errors == [] and checker.stack == []


def test_latex_structure(chapter7):
    tex = render(build_answer_key(chapter7), "latex")
    assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}")
    assert tex.count("\\begin{longtable}") == tex.count("\\end{longtable}") == 8
    assert "\\frac{717}{800}" in tex and "\\texttt{dL/dy\\_hat[0]}" in tex
    body = tex.split("\\begin{document}")[1]
    text = re.sub(r"\$[^$]*\$", "", body)  # outside math mode (the working, the exact values)
    assert "_" not in text.replace("\\_", "")  # every underscore escaped


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
@pytest.mark.parametrize("path", sorted(CHAPTER7_PATH.parent.glob("*.toml")), ids=lambda p: p.name)
def test_latex_compiles(tmp_path, path):
    tex = tmp_path / "key.tex"
    assert main([str(path), "--format", "latex", "--output", str(tex)]) == 0
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "key.tex"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "key.pdf").stat().st_size > 1000


def test_output_file_is_written_whole(tmp_path):
    target = tmp_path / "key.md"
    assert main(["--output", str(target)]) == 0
    assert "717/800" in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["key.md"]  # no temporary file left


@pytest.mark.parametrize("args, expected", [
    (["missing.toml"], "missing.toml: expected an existing exercise file"),
    (["--format", "rtf"], "invalid choice: 'rtf'"),
    ([str(BATCH_PATH), "--example", "9"], "--example: example 9 out of range"),
    (["--output", "/nonexistent-dir/key.md"], "--output: cannot write"),
])
def test_bad_input_exits_2_with_one_line(args, expected, capsys):
    assert cli_main(["answer-key", *args]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and expected in lines[0]
    assert lines[0].startswith("python -m compare answer-key: ")


def test_bad_file_in_a_subprocess_has_no_traceback(tmp_path):
    path = tmp_path / "bad.exercise.toml"
    path.write_text(CHAPTER7_PATH.read_text().replace("b1 = [ 0.1, -0.1,  0.0]", "b1 = [0.1, -0.1]"))
    result = subprocess.run([sys.executable, "-m", "compare", "answer-key", str(path), "--format", "latex"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().endswith("parameters.b1: expected shape (3,), got (2,)")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_answer_key_displays_in_jupyter_and_as_text():
    from compare.answer_key import build_answer_key
    from reference import load_exercise
    key = build_answer_key(load_exercise(CHAPTER7_PATH))
    fragment = key._repr_html_()
    assert "<body>" not in fragment and "<table" in fragment and "717/800" in fragment
    assert "| L        | 717/800 | 0.89625   |" in str(key)


UNICODE_TITLE = "Backprop through σ and ŷ: Nielsen § 2.4, “quoted” — Müller’s façade, Δw ± ε, Α"


def test_a_title_in_unicode_is_written_in_latex_not_as_question_marks():
    from compare.formatting import latex_escape
    assert latex_escape(UNICODE_TITLE) == (
        "Backprop through $\\sigma$ and $\\hat y$: Nielsen \\S{} 2.4, ``quoted'' --- M\\\"{u}ller's fa\\c{c}ade, "
        "$\\Delta$w $\\pm$ $\\epsilon$, A")
    assert latex_escape("漢") == "?"  # what pdflatex cannot set stays a question mark, and compiles


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_a_unicode_title_compiles(tmp_path):
    path = tmp_path / "uni.toml"
    path.write_text(re.sub(r'(?m)^title = ".*"$', f'title = "{UNICODE_TITLE}"', CHAPTER7_PATH.read_text()))
    tex = tmp_path / "key.tex"
    assert main([str(path), "--format", "latex", "--output", str(tex)]) == 0
    assert "Backprop through $\\sigma$ and $\\hat y$: Nielsen \\S{} 2.4, ``quoted''" in tex.read_text()
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "key.tex"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
