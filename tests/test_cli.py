"""``python -m compare``: the table, JSON contract, self-test and exit codes."""
import json
import subprocess
import sys

import pytest

from compare.cli import BATCH_PATH, main
from reference.exercise import CHAPTER7_PATH, load_exercise


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "compare", *args], capture_output=True, text=True)


def test_default_run_prints_the_31_row_table(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| W") or line.startswith("| b")]
    assert len(rows) == 31
    assert "Gradients: 31 of 31 agree" in out
    assert "dead neuron 1" in out and "input x[1] = 0" in out


def test_json_contract(capsys):
    assert main(["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["gradients"]) == 31
    first = data["gradients"][2]
    for key in ("parameter", "numpy", "torch", "exact", "published", "abs_diff", "agree", "kink", "reason"):
        assert key in first
    assert first["parameter"] == "W1[0][2]" and first["exact"] == 0.44 and first["published"] == 0.44
    assert data["summary"]["gradients_agree"] == 31 and data["summary"]["ok"] is True
    assert sum(g["kink"] for g in data["gradients"]) == 5


def test_published_is_null_where_the_text_prints_none(tmp_path, capsys):
    from reference.exercise import CHAPTER7_PATH
    text = CHAPTER7_PATH.read_text().split("[answers]")[0]
    path = tmp_path / "bare.toml"
    path.write_text(text)
    assert main([str(path), "--json"]) == 0
    assert all(g["published"] is None for g in json.loads(capsys.readouterr().out)["gradients"])


@pytest.mark.parametrize("fmt", ["grid", "latex", "html"])
def test_formats(fmt, capsys):
    assert main(["--format", fmt]) == 0
    out = capsys.readouterr().out
    assert {"grid": "+----", "latex": "\\begin{tabular}", "html": "<table>"}[fmt] in out


def test_self_test_exits_0():
    result = run_cli("self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    from compare.selftest import BUNDLED, run_self_test
    results = run_self_test(load_exercise(CHAPTER7_PATH), batch=load_exercise(BATCH_PATH), bundled=True)
    broken = sum(r.expected_to_fail for r in results)
    correct = 1 + len(BUNDLED)  # the batch is one of the bundled exercises
    assert len(results) == broken + correct
    from compare.catalogue import STEP_MISTAKES
    covered = {r.name.split(" on ")[0].split("(")[0] for r in results if r.expected_to_fail}
    every_kind = {kind.__name__ for kind in STEP_MISTAKES if not kind.subgradient}
    assert covered == every_kind | {"ConstantFactor", "ThroughUpdatedWeights", "DerivativeOfPreactivation"}
    assert f"{broken + correct} of {broken + correct} self-test checks passed." in result.stdout
    assert result.stdout.count(": rejected and named —") == broken
    assert result.stdout.count(": accepted —") == correct


def test_disagreement_exits_1(chapter7_variant):
    result = run_cli(str(chapter7_variant("L = 0.896", "L = 0.8")))
    assert result.returncode == 1
    assert "DISAGREE" in result.stdout


@pytest.mark.parametrize("make, expected", [
    (lambda v, tmp: str(tmp / "missing.toml"), "missing.toml: expected an existing exercise file"),
    (lambda v, tmp: v("[parameters]", "[parameters"), "valid TOML"),
    (lambda v, tmp: v("b1 = [ 0.1, -0.1,  0.0]", "b1 = [0.1, -0.1]"), "parameters.b1: expected shape (3,), got (2,)"),
    (lambda v, tmp: v("x = [1, 0, 1, 1]", "x = [1, 0, 1]"), "examples[0].x: expected shape (4,)"),
    (lambda v, tmp: v('L = 0.896', 'L = nan'), "answers.L: expected finite numbers"),
    (lambda v, tmp: v('L = 0.896', 'L = "0.896"'), "answers.L: expected a number"),
    (lambda v, tmp: v('L = 0.896', 'dL_dq = 0.896'), "answers.dL_dq: expected a quantity of this network"),
])
def test_bad_input_exits_2_with_one_line(chapter7_variant, tmp_path, make, expected):
    path = make(chapter7_variant, tmp_path)
    result = run_cli(path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_empty_file_exits_2(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text("")
    result = run_cli(str(path))
    assert result.returncode == 2 and "empty" in result.stderr


@pytest.mark.parametrize("args", [["--dtype", "float16"], ["--rtol", "-1"], ["--format", "nope"], ["--bogus"],
                                  ["--example", "7"]])
def test_bad_usage_exits_2(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("python -m compare: error:")


def test_help_exits_0():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("check", "grade", "train", "plot", "answer-key", "self-test", "gradescope"):
        assert command in result.stdout


def test_an_entry_given_twice_is_bad_input(chapter7_variant):
    path = chapter7_variant('"dL/db1" = [0, 0, 0.44]', '"dL/db1" = [0, 0, 0.44]\n"dL/dW1[0][2]" = 0.45')
    result = run_cli(str(path))
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "answers.dL/dW1[0][2]: expected one value per entry, but dL/dW1[0][2] is given by answers.dL/dW1 too")


def test_html_format_is_a_whole_page(capsys):
    import html.parser
    assert main(["--format", "html"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<title>Chapter 7: the 2x2 diagonal flip network, running example</title>" in page
    html.parser.HTMLParser().feed(page)


@pytest.mark.skipif(__import__("shutil").which("pdflatex") is None, reason="pdflatex not installed")
@pytest.mark.parametrize("exercise", ["chapter7.toml", "xor_2_2_1_sigmoid.toml", "diagonal_flip_batch.toml"])
def test_latex_format_is_a_document_that_compiles(tmp_path, capsys, exercise):
    from reference.exercise import CHAPTER7_PATH
    assert main([str(CHAPTER7_PATH.parent / exercise), "--format", "latex", "--fd", "--jvp", "2"]) == 0
    (tmp_path / "r.tex").write_text(capsys.readouterr().out)
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "r.tex"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]


@pytest.mark.parametrize("args, message", [
    (["--momentum", "0.9"], "--momentum: is now the subcommand `python -m compare train --momentum M`"),
    (["--kink-side", "text"], "--kink-side: is now the subcommand `python -m compare train --kink-side`"),
    (["--plot", "x.png", "--json"], "--plot: is now the subcommand `python -m compare plot -o FILE`"),
    (["--backward", "x.py:f"], "--backward: is now the subcommand `python -m compare grade FILE.py:FUNCTION`"),
    (["--self-test"], "--self-test: is now the subcommand `python -m compare self-test`"),
    (["plot", "-o", "x.png", "--json"], "unrecognized arguments: --json"),
    (["train", "--steps", "2", "--fd"], "unrecognized arguments: --fd"),
    (["check", "--timeout", "3"], "--timeout: is now the subcommand `python -m compare grade --timeout S`"),
    (["self-test", "--format", "grid"], "unrecognized arguments: --format"),
    (["--jvp", "--seed", "-5"], "argument --seed: expected a whole number >= 0, got '-5'"),
    (["--json", "--format", "latex"], "--format: does not go with --json"),
    (["grade", "examples/students/correct.py", "--json", "--format", "grid"], "--format: does not go with --json"),
])
def test_options_a_job_would_ignore_are_bad_usage(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing written
