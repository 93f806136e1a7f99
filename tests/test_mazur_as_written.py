"""Mazur's walk-through transcribed as he writes it (``reference/data/mazur_as_written.toml``):
W of shape (out, in) (``layout = "out_in"``), one bias per layer shared by its neurons,
and every value he prints that is a quantity of the network, checked against the
50-digit ground truth and torch; the same numbers as the chapter-layout transcription
(``mazur_2_2_2_sigmoid.toml``)."""
import json

import numpy as np

from compare import compare_exercise
from compare.cli import main
from compare.comparison import summarize
from compare.training import TrainingSettings, run_training
from reference import load_exercise, run_pass
from reference.exercise import CHAPTER7_PATH

DATA = CHAPTER7_PATH.parent
AS_WRITTEN = DATA / "mazur_as_written.toml"
CHAPTER_LAYOUT = DATA / "mazur_2_2_2_sigmoid.toml"


def test_every_printed_value_agrees(capsys):
    exercise = load_exercise(AS_WRITTEN)
    arch = exercise.architecture
    assert arch.layout == "out_in" and arch.shares_bias(1) and arch.shares_bias(2)
    comparison = compare_exercise(exercise)
    summary = summarize(comparison)
    assert comparison.ok and summary["printed_checked"] == summary["printed_agree"] == 14
    assert main([str(AS_WRITTEN)]) == 0
    out = capsys.readouterr().out
    assert "Printed (hand-written) values: 14 of 14 agree" in out
    # his w3 (input 1 -> h2) is the text's W1[1][0]: dE/dw3 = i1 · δ_h2
    rows = {r.label: r for r in comparison.gradients}
    assert f"{float(rows['W1[1][0]'].exact):.9f}" == "0.000497713"
    assert [r.label for r in comparison.gradients] == ["W1[0][0]", "W1[0][1]", "W1[1][0]", "W1[1][1]", "b1",
                                                       "W2[0][0]", "W2[0][1]", "W2[1][0]", "W2[1][1]", "b2"]


def test_the_same_numbers_as_the_chapter_layout_transcription():
    written, chapter = load_exercise(AS_WRITTEN), load_exercise(CHAPTER_LAYOUT)
    a, b = run_pass(written, "mp50").values, run_pass(chapter, "mp50").values
    for name in ("dL/dW1", "dL/dW2", "h", "y_hat", "L"):
        assert np.array_equal(a[name], b[name]), name  # the computation holds W as (in, out) in both
    for k in (1, 2):
        assert a[f"dL/db{k}"][()] == sum(b[f"dL/db{k}"])  # one shared bias: the sum of the per-neuron ones
    np.testing.assert_allclose(written.architecture.layout_array("W1", written.parameters["W1"]).astype(float),
                               [[0.15, 0.20], [0.25, 0.30]])  # W1 = [[w1, w2], [w3, w4]] as in the file


def test_his_update_step(capsys):
    exercise = load_exercise(AS_WRITTEN)
    training = run_training(exercise, TrainingSettings.for_exercise(exercise))
    assert training.ok and training.settings.freeze == ("b1", "b2")
    checks = {c.label: c for c in training.step_checks if c.step == 1}
    assert [label for label in checks] == ["W2[0][0]", "W2[0][1]", "W2[1][0]", "W2[1][1]", "W1[0][0]", "W1[0][1]",
                                           "W1[1][0]", "W1[1][1]", "L"]
    assert all(checks[label].agree for label in checks if label != "L")
    assert checks["L"].agree is False and checks["L"].erratum
    assert training.final["torch"]["b1"].shape == () and float(training.final["torch"]["b1"]) == 0.35
    assert main(["train", str(AS_WRITTEN), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(data["parameters"]["W1"]["numpy"], [[0.149780716, 0.19956143], [0.24975114, 0.29950229]],
                               atol=5e-9)


STUDENT = '''import numpy as np


def backward(params, x, y):
    """Mazur's network as he writes it: W (out, in), one bias per layer (0-d)."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    assert W1.shape == (2, 2) and b1.shape == () and b2.shape == ()
    h = 1 / (1 + np.exp(-(W1 @ x + b1)))
    out = 1 / (1 + np.exp(-(W2 @ h + b2)))
    delta_o = (out - y) * out * (1 - out)
    delta_h = (W2.T @ delta_o) * h * (1 - h)
    grads = {"dL/dW1": np.outer(delta_h, x), "dL/db1": delta_h.sum(),
             "dL/dW2": np.outer(delta_o, h), "dL/db2": delta_o.sum()}
    if TRANSPOSED:
        grads["dL/dW1"], grads["dL/dW2"] = grads["dL/dW1"].T, grads["dL/dW2"].T
    return grads


TRANSPOSED = False
'''


def test_a_students_file_in_his_layout_is_graded_in_a_child_process(tmp_path):
    from compare.grading.check import check_student
    exercise = load_exercise(AS_WRITTEN)
    right, wrong = tmp_path / "right.py", tmp_path / "wrong.py"
    right.write_text(STUDENT)
    wrong.write_text(STUDENT.replace("TRANSPOSED = False", "TRANSPOSED = True"))
    assert check_student(right, "backward", exercise, probes=2).ok
    check = check_student(wrong, "backward", exercise, probes=0)
    assert not check.ok
    assert any("∂L/∂W given in the (in, out) layout" in m.describe() for m in check.named)
