"""A text's weight layout (``[network] layout = "out_in"``: z = W x + b, W of shape
(out, in), as Nielsen's book and ``nn.Linear.weight``): the file's parameters, hand
answers and ``[after.K]`` values, a student's ``params`` and returned ∂L/∂W, the reports,
the answer key, training, variants and probes all in the text's layout; the computation
in the chapter's (in, out) one. Checked against torch (whose weight is the (out, in)
layout itself) and exact arithmetic."""
import json
import re
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from compare import compare_exercise
from compare.answer_key import build_answer_key, given_lines, render
from compare.catalogue import OuterProductWrongOrder, WeightGradientTransposed, WeightsReshapedNotTransposed
from compare.cli import main
from compare.grading.check import check_function, function_inputs
from compare.grading.key import GradingKey
from compare.grading.probes import function_runner, make_probes, run_probes, shrink, shrunk_file
from compare.training import TrainingSettings, run_training
from compare.variants import make_variant
from reference import load_exercise, run_pass
from reference.exercise import CHAPTER7_PATH, ExerciseError
from reference.numbers import convert
from reference.writer import dump_exercise
from torch_impl import build_model, run_autograd

DATA = CHAPTER7_PATH.parent

# A 3-2-2 ReLU network written as z = W x + b: W1 is (2, 3), W2 is (2, 2), rational
# (exact Fractions). Row j of W1 holds the weights into hidden neuron j.
OUT_IN = """title = "3-2-2 ReLU, W as (out, in)"
[network]
sizes = [3, 2, 2]
activations = ["relu", "identity"]
loss = "mse"
layout = "out_in"

[parameters]
W1 = [[0.2, -0.1, 0.4],
      [0.3, 0.5, -0.2]]
b1 = [0.1, -0.1]
W2 = [[0.5, -0.3],
      [0.2, 0.4]]
b2 = [0.1, -0.2]

[[examples]]
x = [1, 0.5, -1]
y = [1, 0]
"""


def write(tmp_path, text: str, name: str = "out_in.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def in_out_text() -> str:
    """The same network in the chapter's (in, out) layout: every W transposed."""
    return (OUT_IN.replace('layout = "out_in"\n', "")
            .replace("W1 = [[0.2, -0.1, 0.4],\n      [0.3, 0.5, -0.2]]", "W1 = [[0.2, 0.3], [-0.1, 0.5], [0.4, -0.2]]")
            .replace("W2 = [[0.5, -0.3],\n      [0.2, 0.4]]", "W2 = [[0.5, 0.2], [-0.3, 0.4]]"))


def test_the_loader_holds_the_computation_in_in_out_and_the_text_in_out_in(tmp_path):
    text = load_exercise(write(tmp_path, OUT_IN))
    chapter = load_exercise(write(tmp_path, in_out_text(), "in_out.toml"))
    arch = text.architecture
    assert arch.layout == "out_in" and chapter.architecture.layout == "in_out"
    assert arch.parameter_shapes()["W1"] == (3, 2) and arch.written_shapes()["W1"] == (2, 3)
    for name in ("W1", "W2"):
        assert (text.parameters[name] == chapter.parameters[name]).all()
    assert arch.layout_index("dL/dW1", (2, 0)) == (0, 2) and arch.layout_index("z1", (1,)) == (1,)
    assert arch.label("W1", (2, 0)) == "W1[0][2]" and chapter.architecture.label("W1", (2, 0)) == "W1[2][0]"
    assert arch.text_order("W1", (3, 2)) == [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]


def test_torch_weight_is_the_text_layout_and_agrees_with_exact_arithmetic(tmp_path):
    """nn.Linear.weight is (out, in): its .grad is the out_in text's ∂L/∂W as written, and
    both equal the exact gradient worked out by hand in fractions: ∂L/∂W1[j][i] = δ_j x_i."""
    exercise = load_exercise(write(tmp_path, OUT_IN))
    arch = exercise.architecture
    exact = run_pass(exercise, "exact").values
    model = build_model(exercise)
    x = convert(exercise.x, "float64")
    for k, linear in ((1, model[0]), (2, model[2])):
        written = convert(arch.layout_array(f"W{k}", exercise.parameters[f"W{k}"]), "float64")
        np.testing.assert_array_equal(linear.weight.detach().numpy(), written)
    auto = run_autograd(exercise).values
    import torch
    model.zero_grad()
    torch.nn.MSELoss()(model(torch.tensor(x)), torch.tensor(convert(exercise.y, "float64"))).backward()
    text_gradient = arch.layout_array("dL/dW1", exact["dL/dW1"])  # (out, in), as the text writes it
    assert text_gradient.shape == (2, 3)
    np.testing.assert_allclose(model[0].weight.grad.numpy(), text_gradient.astype(float), rtol=1e-14)
    np.testing.assert_allclose(auto["dL/dW1"], exact["dL/dW1"].astype(float), rtol=1e-14)
    # by hand: z = W x + b with the text's W, δ1 = 2/2 (ŷ − y) W2 ⊙ [z1 > 0], ∂L/∂W1 = δ1 xᵀ
    W1 = np.array([[Fraction(str(v)) for v in row] for row in ([0.2, -0.1, 0.4], [0.3, 0.5, -0.2])], dtype=object)
    W2 = np.array([[Fraction(str(v)) for v in row] for row in ([0.5, -0.3], [0.2, 0.4])], dtype=object)
    b1, b2 = np.array([Fraction(1, 10), Fraction(-1, 10)]), np.array([Fraction(1, 10), Fraction(-2, 10)])
    X, Y = np.array([Fraction(1), Fraction(1, 2), Fraction(-1)]), np.array([Fraction(1), Fraction(0)])
    z1 = W1 @ X + b1
    h = np.array([z if z > 0 else Fraction(0) for z in z1], dtype=object)
    delta2 = (W2 @ h + b2 - Y) * Fraction(2, 2)
    delta1 = (W2.T @ delta2) * np.array([1 if z > 0 else 0 for z in z1])
    assert (np.outer(delta1, X) == text_gradient).all()
    assert (arch.layout_array("dL/dW2", exact["dL/dW2"]) == np.outer(delta2, h)).all()


def test_both_layouts_give_the_same_rows_with_the_text_labels(tmp_path):
    out_in = compare_exercise(load_exercise(write(tmp_path, OUT_IN)))
    in_out = compare_exercise(load_exercise(write(tmp_path, in_out_text(), "in_out.toml")))
    assert out_in.ok and in_out.ok
    labels = [r.label for r in out_in.gradients]
    assert labels[:6] == ["W1[0][0]", "W1[0][1]", "W1[0][2]", "W1[1][0]", "W1[1][1]", "W1[1][2]"]
    by_label = {r.label: r.exact for r in in_out.gradients}
    for r in out_in.gradients:
        name, rest = r.label.split("[", 1) if "[" in r.label else (r.label, "")
        if name.startswith("W"):
            j, i = rest.rstrip("]").split("][")
            assert by_label[f"{name}[{i}][{j}]"] == r.exact  # the text's W1[j][i] is the chapter's W1[i][j]
        else:
            assert by_label[r.label] == r.exact


def test_hand_answers_in_the_text_layout_agree_and_in_the_other_fail(tmp_path, capsys):
    right = OUT_IN + '\n[answers]\n"dL/dW1" = [[0, 0, 0], [0.3525, 0.17625, -0.3525]]\n"dL/dW2[0][1]" = -0.71175\n'
    exercise = load_exercise(write(tmp_path, right))
    assert [c.agree for c in compare_exercise(exercise).answers] == [True] * 7
    assert main([str(write(tmp_path, right))]) == 0
    capsys.readouterr()
    # the same numbers in the chapter's (in, out) layout: the wrong shape for a whole array
    transposed = OUT_IN + '\n[answers]\n"dL/dW1" = [[0, 0.3525], [0, 0.17625], [0, -0.3525]]\n'
    with pytest.raises(ExerciseError, match=r"answers.dL/dW1: expected shape \(2, 3\), got \(3, 2\)"):
        load_exercise(write(tmp_path, transposed))
    assert main([str(write(tmp_path, transposed))]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    # entries of Mazur's square W2 in the other layout: wrong values, named as the layout mistake
    mazur = (DATA / "mazur_as_written.toml").read_text()
    entry = mazur[:mazur.index("[answers]")] + '[answers]\n"dL/dW2[0][1]" = -0.022602540\n"dL/dW2[1][0]" = 0.082667628\n'
    checks = compare_exercise(load_exercise(write(tmp_path, entry))).answers
    assert [c.agree for c in checks] == [False, False]
    assert all("∂L/∂W given in the (in, out) layout" in c.diagnosis for c in checks)
    assert main([str(write(tmp_path, entry))]) == 1


def test_the_catalogue_speaks_of_the_text_layout(tmp_path):
    out_in = load_exercise(write(tmp_path, OUT_IN)).architecture
    chapter = load_exercise(CHAPTER7_PATH).architecture
    assert "torch's (out, in) layout" in WeightGradientTransposed(chapter).describe()
    assert "(in, out) layout" in WeightGradientTransposed(out_in).describe()
    assert "the text's (out, in)" in WeightGradientTransposed(out_in).describe()
    assert "reshaped to (out, in)" in WeightsReshapedNotTransposed(chapter).describe()
    assert "reshaped to (in, out)" in WeightsReshapedNotTransposed(out_in).describe()
    assert "upstream x input" in OuterProductWrongOrder(chapter).describe()
    assert "input x upstream" in OuterProductWrongOrder(out_in).describe()


def relu_backward(transpose_returned=False, reshape_weights=False, outer_wrong=False):
    """A student's backward for the out_in 3-2-2 network, written as a text with column
    vectors does it (z = x @ W.T + b for a batch of rows), with one optional mistake."""
    def backward(params, x, y):
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        x, y = np.atleast_2d(x), np.atleast_2d(y)
        z1 = x @ W1.T + b1
        h = np.maximum(z1, 0)
        dy = 2 * (h @ W2.T + b2 - y) / y.size
        dh = (W2.reshape(W2.shape[::-1]) @ dy.T).T if reshape_weights else dy @ W2
        dz1 = dh * (z1 > 0)
        dW1, dW2 = dz1.T @ x, dy.T @ h
        if outer_wrong:
            dW1, dW2 = (x.T @ dz1).reshape(W1.shape), (h.T @ dy).reshape(W2.shape)
        if transpose_returned:
            dW1, dW2 = dW1.T, dW2.T
        return {"dL/dW1": dW1, "dL/db1": dz1.sum(axis=0), "dL/dW2": dW2, "dL/db2": dy.sum(axis=0)}
    return backward


def test_a_student_receives_and_returns_the_text_layout(tmp_path):
    exercise = load_exercise(write(tmp_path, OUT_IN))
    params, x, y = function_inputs(exercise, "float64")
    assert params["W1"].shape == (2, 3) and params["W1"][0].tolist() == [0.2, -0.1, 0.4]
    key = GradingKey.build(exercise, probes=3)
    assert check_function(relu_backward(), key).ok


@pytest.mark.parametrize("mistake, named", [
    ({"transpose_returned": True}, "∂L/∂W given in the (in, out) layout"),
    ({"reshape_weights": True}, "weights used untransposed: W reshaped to (in, out) instead of W.T"),
    ({"outer_wrong": True}, "outer product in the wrong order (input x upstream"),
])
def test_a_students_layout_mistakes_are_named(tmp_path, mistake, named):
    exercise = load_exercise(write(tmp_path, OUT_IN))
    check = check_function(relu_backward(**mistake), GradingKey.build(exercise, probes=0))
    assert not check.ok
    assert any(named in m.describe() for m in check.named), [m.describe() for m in check.named]
    if "transpose_returned" in mistake:  # the shape is reported as the text writes it
        problems = {p for r in check.comparison.gradients for p in r.problems}
        assert "hand: dL/dW1 has shape (3, 2), expected (2, 3)" in problems


def test_probes_and_their_shrunk_file_keep_the_text_layout(tmp_path):
    exercise = load_exercise(write(tmp_path, OUT_IN))
    probes = make_probes(exercise, 2, seed=1)
    runner = function_runner(relu_backward(transpose_returned=True))
    results = run_probes(probes, runner, GradingKey.build(exercise, probes=0).tolerance)
    failing = next(r for r in results if not r.ok)
    assert all(label.startswith("dL/dW") for label, _, _ in failing.wrong)
    shrunk = shrink(failing, runner, GradingKey.build(exercise, probes=0).tolerance)
    text = shrunk_file(shrunk)
    assert 'layout = "out_in"' in text
    path = write(tmp_path, text, "shrunk.toml")
    reloaded = load_exercise(path)
    assert reloaded.architecture.layout == "out_in"
    for name, value in shrunk.probe.exercise.parameters.items():
        assert (reloaded.parameters[name] == value).all()


def test_the_writer_and_variants_keep_the_text_layout(tmp_path):
    exercise = load_exercise(write(tmp_path, OUT_IN))
    text = dump_exercise(exercise)
    assert 'layout = "out_in"' in text and "W1 = [[0.2, -0.1, 0.4],\n      [0.3, 0.5, -0.2]]" in text
    again = load_exercise(write(tmp_path, text, "again.toml"))
    assert all((again.parameters[n] == v).all() for n, v in exercise.parameters.items())
    variant = make_variant(exercise, seed=4)
    reloaded = load_exercise(write(tmp_path, dump_exercise(variant), "variant.toml"))
    assert reloaded.architecture.layout == "out_in"
    assert all((reloaded.parameters[n] == v).all() for n, v in variant.parameters.items())


def test_the_answer_key_writes_the_text_layout_and_its_working(tmp_path):
    exercise = load_exercise(write(tmp_path, OUT_IN))
    key = build_answer_key(exercise)
    lines = given_lines(exercise)
    assert "Layout z = W @ x + b, W of shape (out, in)" in lines[0]
    assert "W1 = [[0.2, -0.1, 0.4], [0.3, 0.5, -0.2]]" in lines
    assert key.entry("z1[1]").working() == "z1[1] = W1[1,:]·x + b1[1] = 0.3×1 + 0.5×0.5 + (−0.2)×(−1) + (−0.1) = 0.65"
    assert key.entry("dL/dW1[1][0]").working() == "∂L/∂W1[1][0] = ∂L/∂z1[1] · x[0] = 0.3525 × 1 = 0.3525"
    assert key.entry("dL/dh[0]").working().startswith("∂L/∂h[0] = W2[:,0]·∂L/∂ŷ = 0.5×")
    steps = [e.label for step in key.steps for e in step.entries if e.label.startswith("dL/dW1")]
    assert steps == ["dL/dW1[0][0]", "dL/dW1[0][1]", "dL/dW1[0][2]", "dL/dW1[1][0]", "dL/dW1[1][1]", "dL/dW1[1][2]"]
    assert "W1[1,:]" in render(key, "latex") or "W_{1}[1,:]" in render(key, "latex")


def test_training_and_after_values_in_the_text_layout(tmp_path, capsys):
    after = OUT_IN + """
[training]
lr = 0.5
[after.1]
W1 = [[0.2, -0.1, 0.4],
      [0.12375, 0.411875, -0.02375]]
"W2[0][1]" = 0.055875
"""
    path = write(tmp_path, after)
    exercise = load_exercise(path)
    training = run_training(exercise, TrainingSettings.for_exercise(exercise))
    assert training.ok and [c.label for c in training.step_checks][:3] == ["W1[0][0]", "W1[0][1]", "W1[0][2]"]
    assert all(c.agree for c in training.step_checks), [(c.label, c.given, c.expected) for c in training.step_checks]
    assert main(["train", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(data["parameters"]["W1"]["numpy"], [[0.2, -0.1, 0.4], [0.12375, 0.411875, -0.02375]])
    assert [row["parameter"] for row in data["step1_parameters"]][:3] == ["W1[0][0]", "W1[0][1]", "W1[0][2]"]
    assert data["step1_parameters"][1]["before"] == "-0.1"
    wrong = after.replace('"W2[0][1]" = 0.055875', '"W2[1][0]" = 0.055875')  # the other layout's entry
    training = run_training(load_exercise(write(tmp_path, wrong, "wrong.toml")), TrainingSettings(Decimal("0.5"), 1))
    assert [c.agree for c in training.step_checks if c.label == "W2[1][0]"] == [False]


def test_the_json_report_names_the_text_entries(tmp_path, capsys):
    assert main([str(write(tmp_path, OUT_IN)), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    entry = data["gradients"][4]
    assert entry["parameter"] == "W1[1][1]" and entry["exact_fraction"] == "141/800"


@pytest.mark.parametrize("layout, message", [
    ('"row"', 'network.layout: expected "in_out" (z = x @ W + b, W of shape (in, out)) or "out_in" '
              '(z = W @ x + b, W of shape (out, in))'),
    ('"out-in"', "did you mean 'out_in'?"),
    ("1", 'network.layout: expected "in_out"'),
    ('["out_in"]', 'network.layout: expected "in_out"'),
])
def test_a_bad_layout_is_one_line_exit_2(tmp_path, capsys, layout, message):
    path = write(tmp_path, OUT_IN.replace('layout = "out_in"', f"layout = {layout}"))
    with pytest.raises(ExerciseError, match=re.escape(message)):
        load_exercise(path)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and message in err


def test_parameters_of_the_wrong_layout_are_one_line_exit_2(tmp_path, capsys):
    path = write(tmp_path, in_out_text().replace("[network]", '[network]\nlayout = "out_in"'))
    assert main([str(path)]) == 2
    assert "parameters.W1: expected shape (2, 3), got (3, 2)" in capsys.readouterr().err


def test_the_update_step_delta_w_is_in_the_text_layout(tmp_path):
    """The printed Δθ = −lr·∂L/∂θ of a weight is written, judged, labelled and worked out
    in the text's layout, and a student returns it so."""
    text = OUT_IN + '\n[training]\nlr = 0.5\n[answers]\n"delta_W1" = [[0, 0, 0], [-0.17625, -0.088125, 0.17625]]\n'
    exercise = load_exercise(write(tmp_path, text))
    comparison = compare_exercise(exercise)
    assert comparison.ok and all(c.agree for c in comparison.answers)
    rows = [r.label for r in comparison.intermediates if r.quantity == "delta_W1"]
    assert rows == ["delta_W1[0][0]", "delta_W1[0][1]", "delta_W1[0][2]", "delta_W1[1][0]", "delta_W1[1][1]",
                    "delta_W1[1][2]"]
    working = build_answer_key(exercise).entry("delta_W1[1][1]").working()
    assert working == "delta_W1[1][1] = −(lr · ∂L/∂W1[1][1]) = −(0.5 × 0.17625) = −0.088125"

    def with_delta(params, x, y):
        grads = relu_backward()(params, x, y)
        return {**grads, "delta_W1": -0.5 * grads["dL/dW1"]}
    key = GradingKey.build(load_exercise(write(tmp_path, OUT_IN + "\n[training]\nlr = 0.5\n", "plain.toml")), probes=0)
    assert check_function(with_delta, key).ok


def test_an_answer_printed_twice_is_shown_in_the_text_layout(tmp_path, capsys):
    text = OUT_IN + """
[answers]
"dL/dW1" = [[0, 0, 0], [0.35, 0.18, -0.35]]
[answers.table]
"dL/dW1" = [[0.0, 0.0, 0.0], [0.3525, 0.17625, -0.3525]]
"""
    assert main([str(write(tmp_path, text))]) == 0
    out = capsys.readouterr().out
    assert "| dL/dW1         | [[0, 0, 0], [0.35, 0.18, -0.35]]" in out
    assert "| dL/dW1 (table) | [[0.0, 0.0, 0.0], [0.3525, 0.17625, -0.3525]] | [[0, 0, 0], [0.3525, 0.17625, -0.3525]]" in out
