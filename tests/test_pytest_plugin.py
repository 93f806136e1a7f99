"""The pytest plugin: ``*.exercise.toml`` files become tests, nothing else is collected.

Runs pytest inside pytest (``pytester``) on copies of ``tests/exercises/`` (one file that
passes, one with a real slip that must fail). The plugin is given with ``-p`` so this
worktree's module is tested whether or not the installed package registered it already
(``-p no:backprop_crosscheck`` drops the entry-point copy)."""
import shutil
from pathlib import Path

import compare.comparison  # noqa: F401  (see below)
from reference.exercise import CHAPTER7_PATH

# pytester's in-process runs restore sys.modules afterwards; torch must already be imported
# here, in the outer process, or each inner run would import it afresh (which crashes).

EXERCISES = Path(__file__).resolve().parent / "exercises"
# hypothesis' plugin and the cache are switched off in the inner runs: they only cost time.
PLUGIN = ["-p", "no:backprop_crosscheck", "-p", "compare.pytest_plugin",
          "-p", "no:hypothesispytest", "-p", "no:cacheprovider"]


def copy_exercises(pytester) -> None:
    for path in EXERCISES.glob("*.exercise.toml"):
        shutil.copy(path, pytester.path / path.name)


def test_passing_and_failing_exercise_files(pytester):
    copy_exercises(pytester)
    result = pytester.runpytest(*PLUGIN, "-rA")
    result.assert_outcomes(passed=19, failed=4)
    result.stdout.fnmatch_lines([
        "*relu_at_zero_slip.exercise.toml::answers.relu_mask*",
        "relu_mask: 1 of 3 entries wrong",
        "  relu_mask[0]: expected 0, given 1 (an integer: must be exact)",
        "*relu_at_zero_slip.exercise.toml::answers.dL/dz1*",
        "  dL/dz1[0]: expected 0, given -0.0975 (written with 4 decimals: must lie within 0.00005 of the exact value)",
    ])
    result.stdout.fnmatch_lines(["PASSED chapter7_correct.exercise.toml::crosscheck",
                                 "PASSED chapter7_correct.exercise.toml::claims.nonzero_gradients"])
    failed = {line.split()[1] for line in result.outlines if line.startswith("FAILED")}
    assert failed == {f"relu_at_zero_slip.exercise.toml::answers.{key}"
                      for key in ("relu_mask", "dL/dz1", "dL/db1", "dL/dW1[0][0]")}
    assert "Traceback" not in result.stdout.str()


def test_only_exercise_files_are_collected(pytester):
    shutil.copy(CHAPTER7_PATH, pytester.path / "chapter7.toml")
    shutil.copy(CHAPTER7_PATH, pytester.path / "chapter7.exercise.toml.bak")
    shutil.copy(CHAPTER7_PATH, pytester.path / ".exercise.toml")
    (pytester.path / "pyproject.toml").write_text("[tool.black]\nline-length = 100\n")
    (pytester.path / "exercise.toml").write_text("title = 'not an exercise file name'\n")
    result = pytester.runpytest(*PLUGIN, "--collect-only")
    assert result.ret == 5  # no tests collected
    shutil.copy(CHAPTER7_PATH, pytester.path / "chapter7.exercise.toml")
    result = pytester.runpytest(*PLUGIN, "--collect-only", "-q")
    collected = [line for line in result.outlines if "::" in line]
    assert len(collected) == 1 + 12 + 4  # crosscheck, 12 answers, 4 claims
    assert all(line.startswith("chapter7.exercise.toml::") for line in collected)


def test_the_texts_known_errata_pass_and_an_unlisted_wrong_claim_fails(pytester):
    shutil.copy(CHAPTER7_PATH, pytester.path / "chapter7.exercise.toml")
    pytester.runpytest(*PLUGIN).assert_outcomes(passed=17)
    text = CHAPTER7_PATH.read_text().replace('claims = ["nonzero_gradients", "zero_gradients"]',
                                             'claims = ["zero_gradients"]')
    (pytester.path / "chapter7.exercise.toml").write_text(text)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(passed=16, failed=1)
    result.stdout.fnmatch_lines(["claims.nonzero_gradients: The text says 11 parameters receive a nonzero "
                                 "gradient, but exactly 12 do (W1 3/12, b1 1/3, W2 4/12, b2 4/4): WRONG."])


def test_bad_exercise_file_fails_one_item_with_one_line(pytester):
    text = CHAPTER7_PATH.read_text().replace("b1 = [ 0.1, -0.1,  0.0]", "b1 = [0.1, -0.1]")
    (pytester.path / "bad.exercise.toml").write_text(text)
    result = pytester.runpytest(*PLUGIN)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*bad.exercise.toml::load*",
                                 "*bad.exercise.toml: parameters.b1: expected shape (3,), got (2,)"])
    assert "Traceback" not in result.stdout.str()


def test_the_plugin_runs_under_pytest_xdist(pytester):
    """``pytest -n 2``: the exercise files are collected and run by two xdist workers,
    with the same outcomes as in one process."""
    copy_exercises(pytester)
    result = pytester.runpytest_subprocess("-n", "2", *PLUGIN, "-p", "xdist", timeout=300)
    result.assert_outcomes(passed=19, failed=4)
    result.stdout.fnmatch_lines(["*2 workers*"])
    assert "Traceback" not in result.stdout.str()
