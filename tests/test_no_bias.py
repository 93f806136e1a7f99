"""Layers without bias (``[network] bias = false`` or one per layer): no b{k} parameter,
no dL/db{k} quantity, checked against ``nn.Linear(bias=False)`` and exact arithmetic,
refused b{k} in the file, and every part that names parameters (students' params, the
answer key, the catalogue, probes, shrinking, training) without it."""
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn

from compare import compare_exercise
from compare.answer_key import build_answer_key, given_lines
from compare.catalogue import BIAS_LEFT_OUT, BiasGradientZero, MaskDropped, catalogue, forward_mistakes
from compare.cli import main
from compare.grading.check import check_function, function_inputs
from compare.grading.key import GradingKey
from compare.grading.probes import make_probes, pin_kink, run_probes, function_runner, shrink, shrunk_file
from compare.training import TrainingSettings, run_training
from reference import load_exercise, run_pass
from reference.exercise import CHAPTER7_PATH, ExerciseError
from reference.numbers import convert
from reference.writer import dump_exercise
from torch_impl import build_model, run_autograd

DATA = CHAPTER7_PATH.parent
NO_BIAS = DATA / "two_layer_net_no_bias.toml"


@pytest.fixture
def chapter7_without_b2(tmp_path):
    """Chapter 7 with an output layer without bias (b2 = 0 removed: the numbers stay the
    text's except where b2 = (0, 0.1, -0.1, 0) entered), the text's answers left out."""
    text = (DATA / "chapter7.toml").read_text()
    text = text[:text.index("[answers]")].replace('reduction = "mean"', 'reduction = "mean"\nbias = [true, false]')
    lines = [line for line in text.splitlines() if not line.startswith("b2 =")]
    path = tmp_path / "no_b2.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_loader_reads_bias_false_and_per_layer(chapter7_without_b2):
    exercise = load_exercise(NO_BIAS)
    arch = exercise.architecture
    assert arch.bias == (False, False) and arch.layer_biases == (False, False)
    assert list(arch.parameter_shapes()) == ["W1", "W2"] and set(exercise.parameters) == {"W1", "W2"}
    assert not any(name.startswith("dL/db") for name in arch.quantity_names())
    mixed = load_exercise(chapter7_without_b2).architecture
    assert list(mixed.parameter_shapes()) == ["W1", "b1", "W2"]
    assert "dL/db1" in mixed.quantity_names() and "dL/db2" not in mixed.quantity_names()
    assert [title for title, _ in mixed.step_groups()][1:] == [
        "Step 1: gradient of the loss", "Step 2: output layer weights", "Step 3: backpropagate to the hidden layer",
        "Step 4: backpropagate through ReLU", "Step 5: hidden layer weights", "Step 6: hidden layer biases"]
    # every layer with a bias is the default, stored as ()
    assert load_exercise(CHAPTER7_PATH).architecture.bias == ()


@pytest.mark.parametrize("old, new, message", [
    ("bias = false", "bias = [false]", "network.bias: expected true, false, or a list of 2 of them"),
    ("bias = false", 'bias = "no"', "network.bias: expected true, false, or a list of 2 of them"),
    ("bias = false", "bias = [false, 0]", "network.bias: expected true, false, or a list of 2 of them"),
    ("[parameters]", "[parameters]\nb2 = [0.0, 0.0]", "parameters.b2: expected no b2: layer 2 has no bias"),
    ("[training]", '[answers]\n"dL/db1" = [0, 0, 0, 0]\n[training]', r"answers.dL/db1: expected a quantity of this "
                                                                     r"network: .*\(layer 1 has no bias\)"),
    ("lr = 0.05", 'lr = 0.05\nfreeze = ["b1"]', "training.freeze: .*'b1' is not one; layer 1 has no bias"),
])
def test_bad_bias_files_are_one_line_exit_2(tmp_path, capsys, old, new, message):
    path = tmp_path / "bad.toml"
    text = NO_BIAS.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ExerciseError, match=message.replace("[", r"\[").replace("]", r"\]")
                       if "\\" not in message and ".*" not in message else message):
        load_exercise(path)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err


def test_torch_model_is_linear_without_bias_and_agrees_with_exact_arithmetic():
    exercise = load_exercise(NO_BIAS)
    model = build_model(exercise)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert all(m.bias is None for m in linears)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "2.weight"]
    # the same network written independently, as the tutorial's torch version does
    w1 = torch.tensor(convert(exercise.parameters["W1"], "float64"), requires_grad=True)
    w2 = torch.tensor(convert(exercise.parameters["W2"], "float64"), requires_grad=True)
    x, y = torch.tensor(convert(exercise.x, "float64")), torch.tensor(convert(exercise.y, "float64"))
    loss = nn.MSELoss(reduction="sum")(torch.relu(x @ w1) @ w2, y)
    loss.backward()
    auto = run_autograd(exercise).values
    np.testing.assert_allclose(auto["dL/dW1"], w1.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(auto["dL/dW2"], w2.grad.numpy(), rtol=1e-15)
    assert "dL/db1" not in auto and "dL/db2" not in auto
    exact = run_pass(exercise, "exact").values
    # by hand in fractions: dL/dW2 = relu(x W1)^T 2 (y_hat - y)
    W1, W2 = convert(exercise.parameters["W1"], "exact"), convert(exercise.parameters["W2"], "exact")
    X, Y = convert(exercise.x, "exact"), convert(exercise.y, "exact")
    h = np.where(X @ W1 > 0, X @ W1, Fraction(0))
    assert (exact["dL/dW2"] == h.T @ (2 * (h @ W2 - Y))).all()
    np.testing.assert_allclose(w2.grad.numpy(), exact["dL/dW2"].astype(float), rtol=1e-14)
    comparison = compare_exercise(exercise)
    assert comparison.ok and [r.label for r in comparison.gradients][-1] == "W2[3][1]"
    assert len(comparison.gradients) == 20


def test_a_network_that_does_add_a_bias_is_rejected(chapter7_without_b2):
    """The same file with b2 = (0, 0.1, -0.1, 0) added back: its numbers are not the
    bias-free network's, and a hand pass that keeps b2 fails against autograd's."""
    exercise = load_exercise(chapter7_without_b2)
    assert compare_exercise(exercise).ok
    with_b2 = load_exercise(CHAPTER7_PATH)
    wrong = {name: v for name, v in run_pass(with_b2, "float64").values.items() if name != "dL/db2"}
    comparison = compare_exercise(exercise, hand_values=wrong)
    assert not comparison.ok
    assert {r.label for r in comparison.intermediates if not r.agree} >= {"y_hat[1]", "y_hat[2]"}
    assert compare_exercise(exercise, backprop=MaskDropped(exercise.architecture)).ok is False


def test_the_catalogue_leaves_out_bias_mistakes(chapter7_without_b2):
    arch = load_exercise(NO_BIAS).architecture
    names = [m.name for m in catalogue(arch, 2)]
    assert not any(name.startswith("BiasGradient") for name in names)
    assert BIAS_LEFT_OUT not in [m.label for m in forward_mistakes(arch)]
    mixed = load_exercise(chapter7_without_b2).architecture
    assert BiasGradientZero(mixed).applies and BIAS_LEFT_OUT in [m.label for m in forward_mistakes(mixed)]
    assert compare_exercise(load_exercise(chapter7_without_b2), backprop=BiasGradientZero(mixed)).ok is False


def tutorial_backward(params, x, y, relu_grad=True):
    """The tutorial's backward pass of the bias-free net (``relu_grad`` False: ReLU′ left out)."""
    h = x @ params["W1"]
    r = np.maximum(h, 0)
    g = 2 * (r @ params["W2"] - y)
    upstream = g @ params["W2"].T
    return {"dL/dW2": r.T @ g, "dL/dW1": x.T @ (upstream * (h > 0) if relu_grad else upstream)}


def test_students_get_params_without_b_and_are_graded():
    exercise = load_exercise(NO_BIAS)
    params, x, y = function_inputs(exercise, "float64")
    assert set(params) == {"W1", "W2"} and x.shape == (2, 3)

    def adds_a_bias(params, x, y):
        params["b1"]  # a student who expects a bias
        return tutorial_backward(params, x, y)
    key = GradingKey.build(exercise, probes=3)
    assert check_function(tutorial_backward, key).ok
    assert all("b1" not in p.exercise.parameters for p in key.probes)
    failed = check_function(adds_a_bias, key)
    assert not failed.ok and "KeyError: 'b1'" in failed.run.message


def test_the_kink_probe_pins_a_weight_when_layer_one_has_no_bias():
    exercise = load_exercise(NO_BIAS)
    probes = make_probes(exercise, 2, seed=0)
    kink = next(p for p in probes if p.kink)
    z = run_pass(kink.exercise, "exact").pre_activations[0][0, 0]
    assert z == 0 and "b1" not in kink.exercise.parameters
    floats = kink.exercise.x[0].astype(float) @ kink.exercise.parameters["W1"][:, 0].astype(float)
    assert floats == 0.0  # exact in binary too
    no_pivot = kink.exercise.x.copy()
    no_pivot[0] = [Decimal("0.375")] * len(no_pivot[0])  # no input of ±1, ±1/2, ±1/4, ±1/8 to divide by
    from dataclasses import replace
    assert pin_kink(replace(kink.exercise, x=no_pivot)) is None


def test_a_failing_probe_shrinks_to_a_bias_free_file(tmp_path):
    exercise = load_exercise(NO_BIAS)

    runner = function_runner(lambda params, x, y: tutorial_backward(params, x, y, relu_grad=False))
    key = GradingKey.build(exercise, probes=4)
    results = run_probes(key.probes, runner, key.tolerance)
    failing = next(r for r in results if not r.ok)
    small = shrink(failing, runner, key.tolerance)
    assert not small.ok
    text = shrunk_file(small)
    assert "bias = [false, false]" in text and "b1 =" not in text
    path = tmp_path / "shrunk.toml"
    path.write_text(text)
    assert load_exercise(path).architecture.bias == (False, False)


def test_writer_round_trip_keeps_the_biases_per_layer(tmp_path, chapter7_without_b2):
    exercise = load_exercise(chapter7_without_b2)
    text = dump_exercise(exercise)
    assert "bias = [true, false]" in text
    path = tmp_path / "again.toml"
    path.write_text(text)
    again = load_exercise(path)
    assert again.architecture == exercise.architecture and set(again.parameters) == {"W1", "b1", "W2"}


def test_the_answer_key_has_no_bias_step(chapter7_without_b2):
    key = build_answer_key(load_exercise(NO_BIAS))
    labels = [e.label for step in key.steps for e in step.entries]
    assert not any(label.startswith("dL/db") for label in labels)
    assert "no bias in layers 1, 2" in given_lines(key.exercise)[0]
    mixed = build_answer_key(load_exercise(chapter7_without_b2))
    assert "no bias in layer 2" in given_lines(mixed.exercise)[0]
    # y_hat = 0.5 W2[2] = (0.1, -0.2, 0.05, -0.25) without b2; dL/dy_hat = (y_hat - y)/2;
    # dL/db1[2] = W2[2] . dL/dy_hat = -0.09 + 0.24 + 0.0025 + 0.3125 (0.44 with the text's b2)
    assert mixed.entry("dL/db1[2]").exact == Fraction("0.465")


def test_training_without_bias_in_three_tracks():
    exercise = load_exercise(NO_BIAS)
    training = run_training(exercise, TrainingSettings.for_exercise(exercise, steps=3))
    assert training.ok and training.settings.lr == exercise.training.lr
    assert set(training.final["torch"]) == set(training.final["numpy"]) == {"W1", "W2"}
    assert training.n_parameters == 20 and training.exact_steps == 3
    exact_after = training.exact_parameters[-1]["W2"].astype(float)
    np.testing.assert_allclose(training.final["torch"]["W2"], exact_after, rtol=1e-12)
