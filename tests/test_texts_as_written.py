"""Walk-throughs as they are written: a value printed twice at two precisions, each judged
at its own; a text that states one loss and differentiates by another rule, judged on
its own terms with the mismatch named once."""
import json

import numpy as np
import pytest

from compare.catalogue import catalogue
from compare.cli import main
from compare.diagnosis import check_answers
from reference import load_exercise, run_pass
from reference.exercise import CHAPTER7_PATH

SETUP = CHAPTER7_PATH.read_text().split("[answers]")[0]
SOFTMAX = CHAPTER7_PATH.parent / "softmax_classifier.toml"


def write(tmp_path, text: str, name: str = "text.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_value_printed_twice_is_judged_at_each_precision(tmp_path, capsys):
    path = write(tmp_path, SETUP + '[answers]\nL = 0.896\n"dL/dW2[2][2]" = -0.013\n'
                                   '[answers.table]\nL = 0.89625\n"dL/dW2[2][2]" = -0.012500\n')
    checks = {c.key: c for c in check_answers(load_exercise(path))}
    assert set(checks) == {"L", "dL/dW2[2][2]", "L (table)", "dL/dW2[2][2] (table)"}
    assert all(c.agree for c in checks.values())
    # -0.013 agrees to 3 decimals; the same value to 6 decimals does not
    path = write(tmp_path, SETUP + '[answers]\n"dL/dW2[2][2]" = -0.013\n[answers.table]\n"dL/dW2[2][2]" = -0.013000\n')
    checks = {c.key: c for c in check_answers(load_exercise(path))}
    assert checks["dL/dW2[2][2]"].agree and not checks["dL/dW2[2][2] (table)"].agree
    assert main([str(path), "--json"]) == 1
    gradients = {g["parameter"]: g for g in json.loads(capsys.readouterr().out)["gradients"]}
    assert gradients["W2[2][2]"]["verdict"] == "DISAGREE: printed -0.013000 ≠ exact (table)"


def test_the_same_value_at_the_same_precision_twice_is_one_line(tmp_path, capsys):
    path = write(tmp_path, SETUP + '[answers]\nL = 0.896\n[answers.table]\nL = 0.896\n')
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("answers.table.L: expected each value of an entry at its own precision, "
                                     "but L is given at the same precision by answers.L too") in err


@pytest.mark.parametrize("name", ['"a\\nb"', '"table 2"', '"x]"'])
def test_a_sub_table_name_that_is_not_plain_is_one_line(tmp_path, capsys, name):
    # the name is printed in reports, keys and feedback: a newline or bracket would forge their lines
    path = write(tmp_path, SETUP + f'[answers]\nL = 0.896\n[answers.{name}]\nL = 0.89625\n')
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expected a sub-table name of letters, digits, _ and -" in err
    assert main([str(write(tmp_path, SETUP + '[answers]\nL = 0.896\n[answers.table_2-b]\nL = 0.89625\n'))]) == 0


def test_the_plugin_names_the_second_printing(pytester):
    pytester.makefile(".exercise.toml", text=SETUP + '[answers]\nL = 0.896\n[answers.table]\nL = 0.89626\n')
    result = pytester.runpytest("-p", "no:backprop_crosscheck", "-p", "compare.pytest_plugin",
                                "-p", "no:hypothesispytest", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*answers.table.L*", "*L (table): expected 0.89625, given 0.89626*"])


def text_values(mistake_name: str, path=SOFTMAX) -> str:
    """The exercise's [answers] as a text that differentiates by ``mistake_name`` prints them, to 4 decimals."""
    exercise = load_exercise(path)
    mistake = next(m for m in catalogue(exercise.architecture, exercise.batch_size) if m.name == mistake_name)
    values = run_pass(exercise, exercise.architecture.ground_truth, mistake).values

    def text(a):
        a = np.asarray(a, dtype=object)
        return f"{float(a):.4f}" if a.ndim == 0 else "[" + ", ".join(text(r) for r in a) + "]"
    return "[answers]\n" + "\n".join(f'"{n}" = {text(values[n])}' for n in ("dL/dy_hat", "dL/dW2", "dL/db2", "dL/dW1"))


def test_a_text_that_differentiates_another_loss_is_judged_on_its_own_terms(tmp_path, capsys):
    body = SOFTMAX.read_text().split("[answers]")[0] + text_values("CrossEntropyWithoutSoftmax")
    without = write(tmp_path, body, "without.toml")
    checks = check_answers(load_exercise(without))
    assert sum(not c.agree for c in checks) == 32  # one mistake, 32 wrong entries: 9 named, 23 carried
    assert {c.convention for c in checks if c.kind == "convention"} == {
        "cross-entropy's gradient taken as logits − y: the softmax forgotten"}
    recorded = write(tmp_path, body + '\n[errata]\nbackward = "CrossEntropyWithoutSoftmax"\n', "recorded.toml")
    assert all(c.agree for c in check_answers(load_exercise(recorded)))
    assert main([str(recorded)]) == 0
    out = capsys.readouterr().out
    assert ("The text's backward pass: cross-entropy's gradient taken as logits − y: the softmax forgotten "
            "([errata] backward): its printed values are judged on its own terms; for the stated loss "
            "(cross_entropy) 26 of 27 gradients differ (known erratum).") in out
    assert "Result: everything agrees." in out  # hand, autograd and exact still checked on the stated loss


def test_a_text_backward_that_is_no_mistake_of_the_network_is_one_line(tmp_path, capsys):
    body = SOFTMAX.read_text().split("[answers]")[0] + '[answers]\nL = 1\n[errata]\nbackward = "CrossEntropyWithoutSoftmx"\n'
    assert main([str(write(tmp_path, body))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "errata.backward: expected a mistake of the catalogue for this network:" in err
    assert "did you mean 'CrossEntropyWithoutSoftmax'?" in err


@pytest.mark.parametrize("text", ['backward = 3', 'backward = ""'])
def test_a_text_backward_that_is_no_name_is_one_line(tmp_path, capsys, text):
    assert main([str(write(tmp_path, SETUP + f"[errata]\n{text}\n"))]) == 2
    assert "errata.backward: expected the name of a catalogued mistake" in capsys.readouterr().err


SHARED_OUT_IN = """[network]
sizes = [3, 2, 1]
activations = ["relu", "identity"]
layout = "out_in"
shared_bias = true
[parameters]
W1 = [[0.1, 0.2, 0.3], [-0.4, 0.5, 0.6]]
b1 = 0.1
W2 = [[0.7, -0.8]]
b2 = 0.05
[[examples]]
x = [1, 2, 3]
y = [1]
[answers]
"dL/db1" = 0.38
"""


@pytest.mark.parametrize("mistake, why", [
    # a (2, 3) weight: its transposed gradient cannot be printed in the text's (2, 3) layout
    ("WeightGradientTransposed", "WeightGradientTransposed gives dL/dW1 of shape (3, 2), not (2, 3)"),
    # W2 is one row: read as a column it is its own transpose, so the rule changes no gradient
    ("WeightsReshapedNotTransposed", "WeightsReshapedNotTransposed gives the stated loss's own gradients here: "
                                     "there is nothing to record")])
def test_a_text_backward_that_cannot_be_the_texts_rule_here_is_one_line(tmp_path, capsys, mistake, why):
    path = write(tmp_path, SHARED_OUT_IN + f'[errata]\nbackward = "{mistake}"\n')
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "errata.backward: expected a rule the text's printed gradients can follow" in err
    assert why in err
    assert main([str(write(tmp_path, SHARED_OUT_IN, "no_errata.toml"))]) == 0  # the same text without it is fine
