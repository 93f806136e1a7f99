"""Tables that fit the terminal (compare.tables): long text columns wrap to $COLUMNS or the
terminal's width; pipes, files, --json and --wide keep one line per row."""
import io
import json
import os
from contextlib import redirect_stdout

import pytest

from compare import tables
from compare.cli import main
from compare.tables import fitted_widths, table_width, tabulate, terminal_width
from reference.exercise import CHAPTER7_PATH

STUDENT = "examples/chapter7-student.exercise.toml"
ROOT = CHAPTER7_PATH.parents[2]
ROWS = [["W1[0][0]", "0", "agree: subgradient, autograd took the other side of the kink",
         "dead neuron 0 (on the boundary); input x[1] = 0"], ["W1[0][1]", "0.44", "agree", "will decrease"]]
HEADERS = ["parameter", "exact", "verdict", "why"]


def printed(args, monkeypatch, columns=None) -> str:
    monkeypatch.chdir(ROOT)
    if columns is not None:
        monkeypatch.setenv("COLUMNS", str(columns))
    out = io.StringIO()
    with redirect_stdout(out):
        main(args)
    return out.getvalue()


def table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def test_fitted_widths_keep_narrow_columns_and_share_the_rest():
    assert fitted_widths([5, 50, 80], 70) == [5, 32, 32]
    assert fitted_widths([5, 20], 100) == [5, 20]
    assert fitted_widths([40, 40], 10) == [12, 12]  # never narrower than MIN_WIDTH


def test_long_text_columns_wrap_to_the_width_and_keep_their_words():
    with table_width(60):
        wrapped = tabulate(ROWS, headers=HEADERS, tablefmt="github")
    plain = tabulate(ROWS, headers=HEADERS, tablefmt="github")
    assert max(map(len, wrapped.splitlines())) <= 60 < max(map(len, plain.splitlines()))
    assert len(plain.splitlines()) == 4 and len(wrapped.splitlines()) > 4
    first = [line.split("|")[3].strip() for line in wrapped.splitlines()[2:] if line.split("|")[1].strip() != "W1[0][1]"]
    words = " ".join(w for w in first if w).split()
    assert " ".join(words).startswith("agree: subgradient, autograd took the other side of the kink")


def test_a_table_that_fits_or_has_no_text_column_is_left_alone():
    with table_width(200):
        assert tabulate(ROWS, headers=HEADERS, tablefmt="github") == tabulate(ROWS, headers=HEADERS, tablefmt="github")
    numbers = [["1234567890" * 3, "x" * 40]]
    with table_width(30):
        assert tabulate(numbers, headers=["a", "b"], tablefmt="github") == \
            tabulate(numbers, headers=["a", "b"], tablefmt="github")


@pytest.mark.parametrize("fmt", ["html", "latex", "tsv", "unsafehtml"])
def test_formats_without_multiline_cells_never_wrap(fmt):
    with table_width(40):
        assert tabulate(ROWS, headers=HEADERS, tablefmt=fmt) == tabulate(ROWS, headers=HEADERS, tablefmt=fmt)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_width_is_columns_else_the_terminal_else_none(monkeypatch):
    monkeypatch.setattr(tables.shutil, "get_terminal_size", lambda: os.terminal_size((77, 24)))
    assert terminal_width(io.StringIO()) is None  # a pipe or a file
    assert terminal_width(_Terminal()) == 77
    monkeypatch.setenv("COLUMNS", "101")
    assert terminal_width(io.StringIO()) == 101
    for junk in ("abc", "0", "-5", ""):
        monkeypatch.setenv("COLUMNS", junk)
        assert terminal_width(io.StringIO()) is None and terminal_width(_Terminal()) == 77


def test_answer_key_wraps_to_columns_and_not_with_wide_or_into_a_file(monkeypatch, tmp_path):
    plain = printed(["answer-key"], monkeypatch)
    assert max(map(len, table_lines(plain))) > 150
    wrapped = printed(["answer-key"], monkeypatch, columns=100)
    assert max(map(len, table_lines(wrapped))) <= 100 and len(wrapped.splitlines()) > len(plain.splitlines())
    assert printed(["answer-key", "--wide"], monkeypatch, columns=100) == plain
    target = tmp_path / "key.md"
    printed(["answer-key", "-o", str(target)], monkeypatch, columns=100)
    assert target.read_text() == plain


def test_check_report_and_hand_answers_wrap(monkeypatch):
    plain = printed([STUDENT], monkeypatch)
    wrapped = printed([STUDENT], monkeypatch, columns=140)
    assert max(map(len, table_lines(plain))) > 190
    assert max(map(len, table_lines(wrapped))) <= 140
    # the hand answers' diagnosis column, one row now on several lines
    assert "| dL/dy_hat[0] | -0.54  " in wrapped and "slip: the mistake entered here, at Step 1: gradient of the loss" in plain
    assert printed([STUDENT, "--wide"], monkeypatch, columns=140) == plain


def test_json_is_never_wrapped_and_wide_does_not_go_with_it(monkeypatch, capsys):
    plain = json.loads(printed(["--json"], monkeypatch))
    assert json.loads(printed(["--json"], monkeypatch, columns=60)) == plain
    assert main(["--json", "--wide"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--wide: does not go with --json" in err


def test_train_wraps_its_verdicts(monkeypatch):
    plain = printed(["train", "--steps", "2"], monkeypatch)
    wrapped = printed(["train", "--steps", "2"], monkeypatch, columns=70)
    assert "agree (kink: see below) |" in plain
    assert "agree (kink:" in wrapped and "agree (kink: see below)" not in wrapped
    assert printed(["train", "--steps", "2", "--wide"], monkeypatch, columns=70) == plain


def test_grade_report_wraps_its_diagnosis(monkeypatch):
    args = ["grade", "examples/students/mask_dropped.py", "--probes", "0", "--sandbox", "none"]
    plain = printed(args, monkeypatch)
    wrapped = printed(args, monkeypatch, columns=140)
    assert "Diagnosis of the returned values" in plain
    assert max(map(len, table_lines(plain))) > 140 >= max(map(len, table_lines(wrapped)))
