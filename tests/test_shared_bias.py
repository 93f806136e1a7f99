"""One bias shared by all neurons of a layer (``[network] shared_bias``): the parameter
``b{k}`` is one number, its gradient the sum over the layer's neurons and the batch;
checked against a torch twin whose ``linear.bias`` is a 0-d parameter and against exact
arithmetic; hand answers, students' functions, the catalogue, probes, shrinking,
variants, the answer key and training all take it as a scalar."""
import json
import re
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import torch

from compare import compare_exercise
from compare.answer_key import build_answer_key, given_lines
from compare.catalogue import (BiasGradientSummedOverUnits, SharedBiasMeanOverNeurons, SharedBiasOneNeuron,
                               catalogue)
from compare.cli import main
from compare.grading.check import check_function, function_inputs
from compare.grading.key import GradingKey
from compare.grading.probes import function_runner, make_probes, pin_kink, run_probes, shrink, shrunk_file
from compare.training import TrainingSettings, run_training
from compare.variants import make_variant
from compare.witnesses import add_finite_differences, add_jvp
from reference import load_exercise, run_pass
from reference.exercise import CHAPTER7_PATH, ExerciseError
from reference.writer import dump_exercise
from torch_impl import build_model, run_autograd

DATA = CHAPTER7_PATH.parent

# A 3-2-2 ReLU network on a batch of two, the hidden layer's bias shared (b1 = 0.1 for
# both hidden neurons), the output layer's per neuron. Rational: exact Fractions.
SHARED = """title = "3-2-2 ReLU, b1 shared"
[network]
sizes = [3, 2, 2]
activations = ["relu", "identity"]
loss = "mse"
shared_bias = [true, false]

[parameters]
W1 = [[0.2, 0.3], [-0.1, 0.5], [0.4, -0.2]]
b1 = 0.1
W2 = [[0.5, 0.2], [-0.3, 0.4]]
b2 = [0.1, -0.2]

[[examples]]
x = [1, 0.5, -1]
y = [1, 0]

[[examples]]
x = [0.5, 1, 1]
y = [0, 1]
"""
PER_NEURON = SHARED.replace("shared_bias = [true, false]\n", "").replace("b1 = 0.1", "b1 = [0.1, 0.1]")


def write(tmp_path, text: str, name: str = "shared.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_one_number_whose_gradient_sums_the_neurons_and_the_batch(tmp_path):
    shared = load_exercise(write(tmp_path, SHARED))
    per_neuron = load_exercise(write(tmp_path, PER_NEURON, "per_neuron.toml"))
    arch = shared.architecture
    assert arch.shares_bias(1) and not arch.shares_bias(2) and arch.parameter_shapes()["b1"] == ()
    assert shared.parameters["b1"].shape == () and shared.parameters["b1"][()] == Decimal("0.1")
    assert (shared.layer_bias(1) == [Decimal("0.1")] * 2).all()
    exact, each = run_pass(shared, "exact").values, run_pass(per_neuron, "exact").values
    # the same forward pass; the shared bias's gradient is the per-neuron ones' sum
    assert (exact["z1"] == each["z1"]).all() and exact["L"] == each["L"]
    assert exact["dL/db1"].shape == () and exact["dL/db1"][()] == sum(each["dL/db1"])
    # by hand in fractions: the sum over the batch and the neurons of dL/dz1
    assert exact["dL/db1"][()] == sum(exact["dL/dz1"].reshape(-1)) == Fraction(-177, 4000)
    assert (exact["dL/db2"] == each["dL/db2"]).all() and exact["dL/db2"].shape == (2,)


def test_the_torch_twin_shares_one_scalar_parameter(tmp_path):
    exercise = load_exercise(write(tmp_path, SHARED))
    model = build_model(exercise)
    assert model[0].bias.shape == () and model[2].bias.shape == (2,)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    auto = run_autograd(exercise).values
    exact = run_pass(exercise, "exact").values
    assert auto["dL/db1"].shape == ()
    np.testing.assert_allclose(auto["dL/db1"], float(exact["dL/db1"][()]), rtol=1e-14)
    # the same network written independently: one scalar added to every hidden neuron
    x, y = torch.tensor([[1, .5, -1], [.5, 1, 1]], dtype=torch.float64), torch.tensor([[1., 0], [0, 1]],
                                                                                          dtype=torch.float64)
    w1 = torch.tensor([[.2, .3], [-.1, .5], [.4, -.2]], dtype=torch.float64)
    b1 = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    w2, b2 = torch.tensor([[.5, .2], [-.3, .4]], dtype=torch.float64), torch.tensor([.1, -.2], dtype=torch.float64)
    torch.nn.MSELoss()(torch.relu(x @ w1 + b1) @ w2 + b2, y).backward()
    assert b1.grad.item() == pytest.approx(float(exact["dL/db1"][()]), rel=1e-14)
    comparison = compare_exercise(exercise)
    assert comparison.ok and [r.label for r in comparison.gradients][6] == "b1"


def test_a_scalar_hand_answer_agrees_and_a_wrong_one_fails(tmp_path, capsys):
    right = SHARED + '\n[answers]\n"dL/db1" = -0.04425\n"dL/db2" = [-0.485, -0.37]\n'
    assert [c.agree for c in compare_exercise(load_exercise(write(tmp_path, right))).answers] == [True] * 3
    assert main([str(write(tmp_path, right))]) == 0
    capsys.readouterr()
    # one neuron's share only, as a per-neuron text would give it: named
    first = SHARED + '\n[answers]\n"dL/db1" = -0.04175\n'
    (check,) = compare_exercise(load_exercise(write(tmp_path, first))).answers
    assert not check.agree and "first neuron only" in check.diagnosis
    assert main([str(write(tmp_path, first))]) == 1


@pytest.mark.parametrize("old, new, message", [
    ("[[examples]]\nx = [1", '[answers]\n"dL/db1" = [-0.3, 0.1]\n\n[[examples]]\nx = [1',
     "answers.dL/db1: expected one number: layer 1 shares one bias b1 among its neurons (network.shared_bias), "
     "so dL/db1 is a scalar; got a list of 2"),
    ("[[examples]]\nx = [1", '[answers]\n"dL/db1[0]" = -0.3\n\n[[examples]]\nx = [1',
     "answers.dL/db1[0]: expected dL/db1 without an index: layer 1 shares one bias among its neurons"),
    ("b1 = 0.1", "b1 = [0.1, 0.1]", "parameters.b1: expected one number: layer 1 shares one bias b1"),
    ("b2 = [0.1, -0.2]", "b2 = 0.1", "parameters.b2: expected 2 numbers, one per neuron of layer 2 (for one "
                                     "number shared by the layer, set network.shared_bias)"),
    ("shared_bias = [true, false]", "shared_bias = [true]", "network.shared_bias: expected true, false, or a list "
                                                            "of 2 of them"),
    ("shared_bias = [true, false]", 'shared_bias = "yes"', "network.shared_bias: expected true, false, or a list"),
    ("shared_bias = [true, false]", "shared_bias = [true, true]\nbias = [true, false]",
     "network.shared_bias: expected false for layer 2: it has no bias (network.bias)"),
    ("shared_bias = [true, false]", "shared_bias = true\nbias = false",
     "network.shared_bias: expected false: no layer has a bias to share (network.bias)"),
    ("[[examples]]\nx = [1", '[after.1]\nb1 = [0.1, 0.2]\n\n[[examples]]\nx = [1',
     "after.1.b1: expected one number: layer 1 shares one bias b1"),
])
def test_bad_shared_bias_files_are_one_line_exit_2(tmp_path, capsys, old, new, message):
    assert old in SHARED
    path = write(tmp_path, SHARED.replace(old, new, 1), "bad.toml")
    with pytest.raises(ExerciseError, match=re.escape(message)):
        load_exercise(path)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err


def test_true_shares_every_layer_with_a_bias(tmp_path):
    text = SHARED.replace("shared_bias = [true, false]", "shared_bias = true\nbias = [true, false]")
    text = text.replace("b2 = [0.1, -0.2]\n", "")
    arch = load_exercise(write(tmp_path, text)).architecture
    assert arch.shares_bias(1) and not arch.has_bias(2) and list(arch.parameter_shapes()) == ["W1", "b1", "W2"]


def shared_backward(bias_gradient=lambda dz: dz.sum()):
    """A student's backward for the shared-bias network; ``bias_gradient`` of dL/dz1 (B, 2)."""
    def backward(params, x, y):
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        z1 = x @ W1 + b1
        h = np.maximum(z1, 0)
        dy = 2 * (h @ W2 + b2 - y) / y.size
        dz1 = (dy @ W2.T) * (z1 > 0)
        return {"dL/dW1": x.T @ dz1, "dL/db1": bias_gradient(dz1), "dL/dW2": h.T @ dy, "dL/db2": dy.sum(axis=0)}
    return backward


def test_a_student_receives_and_returns_a_0d_bias(tmp_path):
    exercise = load_exercise(write(tmp_path, SHARED))
    params, x, y = function_inputs(exercise, "float64")
    assert params["b1"].shape == () and float(params["b1"]) == 0.1 and params["b2"].shape == (2,)
    assert check_function(shared_backward(), GradingKey.build(exercise, probes=3)).ok


def test_a_per_neuron_bias_gradient_gets_a_clear_verdict(tmp_path):
    exercise = load_exercise(write(tmp_path, SHARED))
    check = check_function(shared_backward(lambda dz: dz.sum(axis=0)), GradingKey.build(exercise, probes=0))
    assert not check.ok
    (row,) = [r for r in check.comparison.gradients if r.label == "b1"]
    assert row.problems == ["hand: dL/db1 has shape (2,), expected () (layer 1 shares one bias: one number, its "
                            "gradient the sum over the layer's neurons)"]


@pytest.mark.parametrize("bias_gradient, mistake", [
    (lambda dz: dz[:, 0].sum(), SharedBiasOneNeuron),
    (lambda dz: dz.sum() / 2, SharedBiasMeanOverNeurons),
])
def test_the_catalogue_names_the_shared_bias_mistakes(tmp_path, bias_gradient, mistake):
    exercise = load_exercise(write(tmp_path, SHARED))
    arch = exercise.architecture
    names = [m.name for m in catalogue(arch, exercise.batch_size)]
    assert "SharedBiasOneNeuron" in names and "SharedBiasMeanOverNeurons" in names
    assert "BiasGradientSummedOverUnits" in names  # b2 is per neuron: summing over its units is a mistake
    check = check_function(shared_backward(bias_gradient), GradingKey.build(exercise, probes=0))
    assert not check.ok and mistake(arch).describe() in [m.describe() for m in check.named]
    assert not compare_exercise(exercise, backprop=mistake(arch)).ok
    # where every bias is shared, summing over the units is what is right
    every = load_exercise(write(tmp_path, SHARED.replace("[true, false]", "true").replace("b2 = [0.1, -0.2]",
                                                                                            "b2 = 0.1"), "all.toml"))
    assert not BiasGradientSummedOverUnits(every.architecture).applies
    assert compare_exercise(every, backprop=BiasGradientSummedOverUnits(every.architecture)).ok
    assert not SharedBiasOneNeuron(load_exercise(CHAPTER7_PATH).architecture).applies


def test_probes_shrinking_and_the_kink_pin_keep_one_number(tmp_path):
    exercise = load_exercise(write(tmp_path, SHARED))
    probes = make_probes(exercise, 2, seed=0)
    assert all(p.exercise.parameters["b1"].shape == () for p in probes)
    kink = next(p for p in probes if p.kink).exercise
    assert run_pass(kink, "exact").pre_activations[0][0, 0] == 0
    runner = function_runner(shared_backward(lambda dz: dz[:, 0].sum()))
    tolerance = GradingKey.build(exercise, probes=0).tolerance
    failing = next(r for r in run_probes(probes, runner, tolerance) if not r.ok)
    shrunk = shrink(failing, runner, tolerance)
    assert shrunk.probe.exercise.parameters["b1"].shape == ()
    text = shrunk_file(shrunk)
    assert "shared_bias = [true, false]" in text and re.search(r"^b1 = -?[\d.]+$", text, re.M)
    assert load_exercise(write(tmp_path, text, "shrunk.toml")).parameters["b1"].shape == ()
    pinned = pin_kink(exercise)
    assert run_pass(pinned, "exact").pre_activations[0][0, 0] == 0


def test_variants_and_the_writer_keep_one_number(tmp_path):
    exercise = load_exercise(write(tmp_path, SHARED + "\n[variants]\nkinks = 1\n"))
    text = dump_exercise(exercise)
    assert "shared_bias = [true, false]" in text and "\nb1 = 0.1\n" in text
    variant = make_variant(exercise, seed=2)
    assert variant.parameters["b1"].shape == ()
    zs = run_pass(variant, "exact").pre_activations[0]
    assert sum(z == 0 for z in zs.reshape(-1)) == 1  # the one kink, set by the shared bias
    reloaded = load_exercise(write(tmp_path, dump_exercise(variant), "variant.toml"))
    assert reloaded.parameters["b1"] == variant.parameters["b1"]


def test_the_answer_key_works_out_the_sum_over_the_neurons(tmp_path):
    exercise = load_exercise(write(tmp_path, SHARED))
    key = build_answer_key(exercise)
    assert "one bias shared by all neurons of layer 1" in given_lines(exercise)[0]
    assert "b1 = 0.1" in given_lines(exercise)
    working = key.entry("dL/db1").working()
    assert working.startswith("∂L/∂b1 = Σ_b Σ_j ∂L/∂z1[b][j] = ") and working.endswith("= −0.04425")
    assert key.entry("z1[0][1]").working().endswith("+ 0.1 = 0.85")
    one = load_exercise(write(tmp_path, SHARED[:SHARED.index("[[examples]]", SHARED.index("[[examples]]") + 1)],
                              "one.toml"))
    assert build_answer_key(one).entry("dL/db1").working().startswith("∂L/∂b1 = Σ_j ∂L/∂z1[j] = ")


def test_training_updates_or_freezes_the_one_number(tmp_path, capsys):
    text = SHARED + "\n[training]\nlr = 0.5\n[after.1]\nb1 = 0.122125\n"
    path = write(tmp_path, text)
    exercise = load_exercise(path)
    training = run_training(exercise, TrainingSettings.for_exercise(exercise))
    assert training.ok and training.step_checks[0].agree
    assert training.final["torch"]["b1"].shape == () and float(training.final["torch"]["b1"]) == pytest.approx(0.122125)
    assert training.exact_parameters[1]["b1"][()] == Fraction(1, 10) + Fraction(1, 2) * Fraction(177, 4000)
    frozen = run_training(exercise, TrainingSettings.for_exercise(exercise, freeze=("b1",)))
    assert float(frozen.final["numpy"]["b1"]) == 0.1 and frozen.step_checks[0].agree is False and not frozen.ok
    assert main(["train", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["parameters"]["b1"]["numpy"] == pytest.approx(0.122125)
    assert [row["parameter"] for row in data["step1_parameters"]].count("b1") == 1


def test_the_witnesses_move_the_one_number(tmp_path):
    exercise = load_exercise(write(tmp_path, SHARED))
    comparison = compare_exercise(exercise)
    add_finite_differences(comparison)
    add_jvp(comparison, 3)
    (row,) = [r for r in comparison.gradients if r.label == "b1"]
    assert row.finite_difference == row.exact and comparison.ok
    mazur = compare_exercise(load_exercise(DATA / "mazur_as_written.toml"))
    add_finite_differences(mazur)
    assert mazur.ok and all(r.finite_difference is not None for r in mazur.gradients)


def test_the_update_step_of_a_shared_bias_is_one_number(tmp_path, capsys):
    text = SHARED + '\n[training]\nlr = 0.5\n[answers]\n"delta_b1" = 0.022125\n'
    exercise = load_exercise(write(tmp_path, text))
    comparison = compare_exercise(exercise)
    assert comparison.ok and [r.label for r in comparison.intermediates if r.quantity == "delta_b1"] == ["delta_b1"]
    bad = write(tmp_path, SHARED + '\n[answers]\n"delta_b1" = [0.01, 0.01]\n', "bad.toml")
    assert main([str(bad)]) == 2
    assert "answers.delta_b1: expected one number: layer 1 shares one bias b1" in capsys.readouterr().err


def test_a_shared_bias_gradient_as_one_number_in_a_list_passes_the_exercise_and_the_probes(tmp_path):
    # one rule for both: shapes that differ by size-1 axes only ((1,) for ()) are the same numbers
    exercise = load_exercise(write(tmp_path, SHARED))
    check = check_function(shared_backward(lambda dz: np.array([dz.sum()])), GradingKey.build(exercise, probes=3))
    assert check.ok and all(p.ok for p in check.probes)
    wrong = check_function(shared_backward(lambda dz: np.array([dz.sum(), 0.0])), GradingKey.build(exercise, probes=3))
    assert not wrong.ok and not any(p.ok for p in wrong.probes)  # two numbers: a wrong shape in both
