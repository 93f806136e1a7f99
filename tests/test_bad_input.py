"""The bad-input cases of issue 10 (tests/cases/bad_input/README.md), each with its right
outcome: one line on stderr and exit 2 for bad input, a report for anything else; never a
traceback, a hang or a file left behind.

Each command runs in a child process with a generous time limit that only guards against
a hang (speed targets live in benchmarks/, not here)."""
import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from compare.cli import main

CASES = Path(__file__).resolve().parent / "cases" / "bad_input"
HANG = 120  # seconds: far above any of these runs; only a hang reaches it


def run_cli(*args):
    """``python -m compare ARGS`` in this process: exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in args])
    return SimpleNamespace(returncode=status, stdout=out.getvalue(), stderr=err.getvalue())


def run_child(*args):
    """The same in a child process, for inputs that used to hang it."""
    return subprocess.run([sys.executable, "-m", "compare", *map(str, args)], capture_output=True, text=True,
                          timeout=HANG)


def assert_one_line_exit_2(result, *expected):
    assert result.returncode == 2, result.stdout[-500:] + result.stderr[-2000:]
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_negative_slope_1e400_is_outside_the_float64_range():
    result = run_cli(CASES / "negative_slope_1e400.toml")
    assert_one_line_exit_2(result, "negative_slope_1e400.toml: network.negative_slope: expected finite numbers "
                                    "within float64 range", "got 1E+400")


def test_negative_slope_on_relu_is_a_slope_no_layer_uses():
    result = run_cli(CASES / "negative_slope_on_relu.toml")
    assert_one_line_exit_2(result, "negative_slope_on_relu.toml: network.negative_slope: expected only with a "
                                    "\"leaky_relu\" layer")


def test_softmax_W_1e300_gives_a_report_without_an_exact_conversion_of_a_huge_number():
    """A logit of 6e299 through exp: the other classes' probabilities are exp(-6e299),
    which the 50-digit track underflows to 0 as any floating point does, instead of an
    exact fraction with 1e300 digits (minutes and gigabytes before)."""
    result = run_child(CASES / "softmax_W_1e300.toml")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == ""
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
            for line in result.stdout.splitlines() if line.startswith("| ")}
    assert rows["W1[0][0]"][:4] == ["1.66666666667e+299", "1.66666666667e+299", "0", "≈1.66666666667e+299"]
    assert rows["y_hat[0][0]"][3] == "≈6e+299"
    # softmax of the first example: class 0 takes all, exp(-6e299) of the others is 0
    assert rows["dL/dy_hat[0][1]"][:4] == ["0", "0", "0", "0"]
    assert "Ground truth: mpmath at 50 significant digits." in result.stdout
    # the overflow named: exp(-6e299) of the two other classes of examples 0 and 2, in the loss, its gradient
    # and the probabilities p
    assert "Underflow: 12 value(s) of the 50-digit pass fell below 2^-16384" in result.stdout
    assert rows["p[0][1]"][:4] == ["0", "0", "0", "0"]
    assert result.stdout.rstrip().endswith("Result: everything agrees.")


def test_a_huge_mpmath_value_is_never_converted_to_an_exact_fraction():
    from reference.numbers import MP_EXPONENT_LIMIT, as_fraction, flush_underflow, mp
    import numpy as np
    m = mp()
    with pytest.raises(OverflowError, match="beyond the range of exact fractions"):
        as_fraction(m.exp(m.mpf("1e300")))
    flushed = flush_underflow(np.array([m.exp(m.mpf("-1e300")), m.mpf("0.5"), m.mpf(2) ** (-MP_EXPONENT_LIMIT + 8)],
                                       dtype=object))
    assert flushed[0] == 0 and flushed[1] == m.mpf("0.5") and flushed[2] == m.mpf(2) ** (-MP_EXPONENT_LIMIT + 8)


@pytest.mark.parametrize("name", ["dev_zero", "fifo", "directory"])
def test_dev_zero_a_fifo_or_a_directory_is_not_a_regular_file(tmp_path, name):
    """``python -m compare /dev/zero`` read forever, a FIFO blocked forever."""
    if name == "dev_zero":
        path, kind = "/dev/zero", "a device"
    elif name == "fifo":
        path, kind = tmp_path / "exercise.toml", "a FIFO"
        os.mkfifo(path)
    else:
        path, kind = tmp_path, "a directory"
    run = run_cli if name == "directory" else run_child  # a child process where a hang was possible
    assert_one_line_exit_2(run(path), f"{path}: expected a regular file; this is {kind}")


def test_a_file_name_containing_a_newline_is_escaped_on_one_line(tmp_path):
    path = tmp_path / "bad\nname\x1b.toml"
    path.write_text("[parameters]\n")
    line = assert_one_line_exit_2(run_cli(path))
    assert line.startswith(f"python -m compare: {tmp_path}/bad\\nname\\x1b.toml: ")
    missing = assert_one_line_exit_2(run_cli(tmp_path / "no\nsuch.toml"))
    assert "no\\nsuch.toml: expected an existing exercise file" in missing


def test_steps_1000000000_is_refused_above_the_cap():
    line = assert_one_line_exit_2(run_cli("train", "--steps", "1000000000"))
    assert line == "python -m compare: error: --steps: at most 10,000 without --allow-large (asked for 1,000,000,000)"


def test_json_with_format_latex_do_not_go_together():
    assert_one_line_exit_2(run_cli("--json", "--format", "latex"), "--format: does not go with --json")


def test_answer_key_o_link_writes_through_the_symlink(tmp_path):
    target = tmp_path / "key-target.md"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "LINK"
    link.symlink_to(target.name)
    result = run_cli("answer-key", "-o", link)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    assert link.is_symlink() and os.readlink(link) == target.name
    assert target.read_text().startswith("# Answer key: Chapter 7")
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LINK", "key-target.md"]


def test_answer_key_o_a_device_or_a_directory_is_refused_not_replaced(tmp_path):
    for output in ["/dev/null", tmp_path]:
        assert_one_line_exit_2(run_cli("answer-key", "-o", output),
                               f"--output: cannot write {output} (it exists and is not a regular file)")
    assert Path("/dev/null").is_char_device() and list(tmp_path.iterdir()) == []


def test_answer_key_on_a_1000_1000_4_network_needs_allow_large(tmp_path):
    zeros = "[" + ", ".join(["0"] * 1000) + "]"
    path = tmp_path / "wide.toml"
    path.write_text("\n".join([
        "[network]", "sizes = [1000, 1000, 4]", "[parameters]", "W1 = [" + ",\n".join([zeros] * 1000) + "]",
        f"b1 = {zeros}", "W2 = [" + ",\n".join(["[0, 0, 0, 0]"] * 1000) + "]", "b2 = [0, 0, 0, 0]",
        "[[examples]]", f"x = {zeros}", "y = [0, 0, 0, 0]"]))
    output = tmp_path / "key.md"
    line = assert_one_line_exit_2(run_cli("answer-key", path, "-o", output))
    assert line == ("python -m compare answer-key: error: the key would have 1,010,013 entries, more than 50,000; "
                    "--allow-large writes it anyway")
    assert not output.exists()


def test_answer_key_allow_large_lifts_the_cap(monkeypatch, capsys):
    from compare import answer_key
    monkeypatch.setattr(answer_key, "MAX_ENTRIES", 50)  # the chapter's key has 55 entries
    assert answer_key.main([]) == 2
    assert "the key would have 55 entries, more than 50" in capsys.readouterr().err
    assert answer_key.main(["--allow-large"]) == 0
    assert capsys.readouterr().out.startswith("# Answer key: Chapter 7")


@pytest.mark.parametrize("text, argv", [
    # a dead ReLU's z of -1e308: the kink's rounding bound took |z| times the next W (overflow)
    ('[network]\nsizes = [2, 2, 2, 1]\nactivations = ["relu", "relu", "identity"]\n[parameters]\n'
     "W1 = [[0, 0], [0, -1e308]]\nb1 = [0, 0]\nW2 = [[0, 0], [0, 2]]\nb2 = [0, 0]\nW3 = [[0], [0]]\nb3 = [0]\n"
     "[[examples]]\nx = [0, 1]\ny = [0]\n", []),
    # a leaky slope of 1e300 times a positive z of 1e300, computed and thrown away
    ('[network]\nsizes = [1, 2, 1]\nactivations = ["leaky_relu", "sigmoid"]\nloss = "bce"\nnegative_slope = 1e300\n'
     "[parameters]\nW1 = [[0, 0]]\nb1 = [0, 1e300]\nW2 = [[0], [0]]\nb2 = [0]\n[[examples]]\nx = [0]\ny = [0]\n", []),
    # the same trained: the 50-digit track divides by zero at step 1 and stops
    ('[network]\nsizes = [1, 2, 1]\nactivations = ["leaky_relu", "sigmoid"]\nloss = "bce"\nnegative_slope = 1e300\n'
     "[parameters]\nW1 = [[0, 0]]\nb1 = [0, 1e300]\nW2 = [[0], [0]]\nb2 = [0]\n[[examples]]\nx = [0]\ny = [0]\n",
     ["train", "--steps", "2"]),
])
def test_extreme_values_the_hostile_test_found_give_no_warning(tmp_path, capsys, text, argv):
    import warnings
    from compare.cli import main
    path = tmp_path / "extreme.toml"
    path.write_text(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main(argv[:1] + [str(path)] + argv[1:])
    assert status in (0, 1) and not [str(w.message) for w in caught]
    assert "Traceback" not in capsys.readouterr().err


def test_steps_above_the_cap_from_the_file_name_the_file_and_its_key(tmp_path):
    from reference.exercise import CHAPTER7_PATH
    text = CHAPTER7_PATH.read_text().split("[answers]")[0]
    path = tmp_path / "long.toml"
    path.write_text(text + "[training]\nsteps = 20000\n")
    line = assert_one_line_exit_2(run_cli("train", path))
    assert line == (f"python -m compare: {path}: training.steps: expected at most 10,000 steps without "
                    "--allow-large; got 20,000")
    assert "--steps" not in line  # the command line gave no --steps
    assert run_cli("train", path, "--steps", "1").returncode == 0  # the command line's --steps wins


def test_a_bad_file_found_while_training_is_printed_as_a_bad_file(monkeypatch):
    # train turned every ValueError into a usage error, an ExerciseError too: "error: FILE: ..."
    import compare.cli.train
    from reference.exercise import ExerciseError

    def bad_file(exercise, settings, show_progress=False):
        raise ExerciseError(exercise.path, "after.1", "a value")
    monkeypatch.setattr(compare.cli.train, "run_training", bad_file)
    line = assert_one_line_exit_2(run_cli("train"))
    assert line.startswith("python -m compare: ") and ": after.1: expected a value" in line
    assert "error:" not in line


SMALL = ('[network]\nsizes = [2, 2]\nactivations = ["identity"]\n[parameters]\nW1 = [[0.1, 0.2], [0.3, 0.4]]\n'
         'b1 = [0, 0]\n[[examples]]\nx = [1, 2]\ny = [0, 1]\n')


@pytest.mark.parametrize("table, key", [
    ('[grading.points]\n"dL/dW1" = nan\n', "grading.points.dL/dW1: expected a number of points"),
    ('[grading.points]\n"dL/dW1" = inf\n', "grading.points.dL/dW1: expected a number of points"),
    ('[grading.points]\n"dL/dW1" = 1e-400\n', "grading.points.dL/dW1: expected a number of points"),
    ("[grading]\nrtol = nan\n", "grading.rtol: expected a relative tolerance"),
    ("[variants]\nkink_margin = nan\n", "variants.kink_margin: expected a number >= 0")])
def test_nan_inf_and_tiny_numbers_in_settings_are_one_line(tmp_path, table, key):
    path = tmp_path / "nan.toml"
    path.write_text(SMALL + table)
    assert_one_line_exit_2(run_cli(path), key)
    path.write_text(SMALL + table.replace("nan", "0.5").replace("inf", "2").replace("1e-400", "1.5"))
    assert run_cli(path).returncode == 0  # the same setting with a number in range
