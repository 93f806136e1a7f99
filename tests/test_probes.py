"""Probes beyond the exercise's one example, and shrinking a failing probe to the
smallest network that still fails. The "students" here are Python functions called in
this process (``function_runner``), so the minimal counterexamples can be checked by hand."""
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from compare.grading.probes import (MARGIN, function_runner, make_probes, run_probes, shrink, shrunk_file, size,
                                    summary)
from compare.tolerance import Tolerance
from reference import load_exercise
from reference.backprop import run_pass
from reference.exercise import CHAPTER7_PATH

DATA = CHAPTER7_PATH.parent
TOL = Tolerance.for_dtype("float64")


def forward(params, x):
    z1 = x @ params["W1"] + params["b1"]
    return z1, np.maximum(0, z1)


def correct(params, x, y):
    """The book's code for one example (1-D x and y)."""
    z1, h = forward(params, x)
    dy = 2 / len(y) * (h @ params["W2"] + params["b2"] - y)
    dz1 = (params["W2"] @ dy) * (z1 > 0)
    return {"dL/dW1": np.outer(x, dz1), "dL/db1": dz1, "dL/dW2": np.outer(h, dy), "dL/db2": dy}


def relu_prime_one(params, x, y):
    """Correct, with ReLU'(0) = 1 everywhere: a valid subgradient."""
    z1, h = forward(params, x)
    dy = 2 / len(y) * (h @ params["W2"] + params["b2"] - y)
    dz1 = (params["W2"] @ dy) * (z1 >= 0)
    return {"dL/dW1": np.outer(x, dz1), "dL/db1": dz1, "dL/dW2": np.outer(h, dy), "dL/db2": dy}


def mixed_sides(params, x, y):
    """Step 6 with ReLU'(0) = 1, Step 7 with ReLU'(0) = 0 (the grading case mixed_kink_sides.py)."""
    z1, h = forward(params, x)
    dy = 2 / len(y) * (h @ params["W2"] + params["b2"] - y)
    dh = params["W2"] @ dy
    return {"dL/dW1": np.outer(x, dh * (z1 >= 0)), "dL/db1": dh * (z1 > 0), "dL/dW2": np.outer(h, dy), "dL/db2": dy}


def bias_left_out(params, x, y):
    """z1 = x @ W1: the hidden bias forgotten (the grading case bias_left_out_fake_kink.py)."""
    z1 = x @ params["W1"]
    h = np.maximum(0, z1)
    dy = 2 / len(y) * (h @ params["W2"] + params["b2"] - y)
    dz1 = (params["W2"] @ dy) * (z1 > 0)
    return {"dL/dW1": np.outer(x, dz1), "dL/db1": dz1, "dL/dW2": np.outer(h, dy), "dL/db2": dy}


def batch_correct(params, x, y):
    z1 = x @ params["W1"] + params["b1"]
    h = np.maximum(0, z1)
    dy = 2 / y.size * (h @ params["W2"] + params["b2"] - y)
    dz1 = (dy @ params["W2"].T) * (z1 > 0)
    return {"dL/dW1": x.T @ dz1, "dL/db1": dz1.sum(0), "dL/dW2": h.T @ dy, "dL/db2": dy.sum(0)}


def bias_of_first_example(params, x, y):
    """Batch code whose output bias gradient is the first example's times B."""
    grads = batch_correct(params, x, y)
    dy = 2 / y.size * (np.maximum(0, x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"] - y)
    grads["dL/db2"] = dy[0] * len(dy)
    return grads


@pytest.fixture(scope="module")
def chapter7():
    return load_exercise(CHAPTER7_PATH)


def test_probes_are_seeded_clear_of_kinks_and_wake_every_neuron(chapter7):
    first, again, other = make_probes(chapter7, seed=0), make_probes(chapter7, seed=0), make_probes(chapter7, seed=1)
    assert [p.exercise.parameters["W1"].tolist() for p in first] == [p.exercise.parameters["W1"].tolist() for p in again]
    assert [p.exercise.parameters["W1"].tolist() for p in first] != [p.exercise.parameters["W1"].tolist() for p in other]
    random, kinks = [p for p in first if not p.kink], [p for p in first if p.kink]
    assert len(random) == 6 and len(kinks) == 1
    alive = set()
    for probe in random:
        z1 = run_pass(probe.exercise, "exact").pre_activations[0]
        assert all(abs(v) >= MARGIN for v in z1.reshape(-1))
        alive |= {j for j in range(3) if z1[0, j] > 0}
        assert all(Decimal(v).as_tuple().exponent >= -1 for v in probe.exercise.parameters["W1"].reshape(-1))
    assert alive == {0, 1, 2}  # neuron 1, dead in the chapter's example, is alive in some probe
    z1 = run_pass(kinks[0].exercise, "exact").pre_activations[0]
    assert z1[0, 0] == 0 and all(abs(v) >= MARGIN for v in z1.reshape(-1)[1:])
    floats = run_pass(kinks[0].exercise, "float64").pre_activations[0]
    assert floats[0, 0] == 0.0  # dyadic numbers: exactly 0 in float arithmetic too


@pytest.mark.parametrize("function, taken", [(correct, "ReLU′(0) = 0, as the text and PyTorch"),
                                             (relu_prime_one, "ReLU′(0) = 1, a valid subgradient")])
def test_a_correct_function_passes_every_probe_whichever_side_it_takes(chapter7, function, taken):
    results = run_probes(make_probes(chapter7), function_runner(function), TOL)
    assert all(r.ok for r in results)
    assert taken in summary(results, 0) and summary(results, 0).startswith("Probes: 7 of 7 agree (seed 0; 6 random")


def transposed_weight_gradient(params, x, y):
    """∂L/∂W1 returned as (3, 4), W1's transpose: as many numbers, another shape."""
    grads = correct(params, x, y)
    grads["dL/dW1"] = grads["dL/dW1"].T
    return grads


def bias_gradient_as_a_row(params, x, y):
    """∂L/∂b1 returned as (1, 3), as batch-style code gives it for one example."""
    grads = correct(params, x, y)
    grads["dL/db1"] = grads["dL/db1"][None, :]
    return grads


def test_a_transposed_gradient_fails_every_probe_but_a_row_for_one_example_passes(chapter7):
    results = run_probes(make_probes(chapter7), function_runner(transposed_weight_gradient), TOL)
    assert not any(r.ok for r in results)
    assert all(r.wrong == [("dL/dW1", None, None)] for r in results)  # a wrong shape, never its numbers reshaped
    results = run_probes(make_probes(chapter7), function_runner(bias_gradient_as_a_row), TOL)
    assert all(r.ok for r in results)


def test_mixed_sides_fail_only_the_kink_probe_and_shrink_to_a_hand_checkable_net(chapter7):
    results = run_probes(make_probes(chapter7), function_runner(mixed_sides), TOL)
    assert [r.ok for r in results] == [True] * 6 + [False]
    small = shrink(results[-1], function_runner(mixed_sides), TOL)
    ex = small.probe.exercise
    assert ex.architecture.sizes == (1, 1, 1)
    W1, b1, x = ex.parameters["W1"][0, 0], ex.parameters["b1"][0], ex.x[0, 0]
    assert x * W1 + b1 == 0 and x != 0  # z1 exactly 0, with an input that makes dL/dW1 show the side
    # by hand: dh = W2 dy, dy = 2 (b2 - y); Step 6 takes the alive side, Step 7 the dead one
    W2, b2, y = (Fraction(ex.parameters["W2"][0, 0]), Fraction(ex.parameters["b2"][0]), Fraction(ex.y[0, 0]))
    dh = W2 * 2 * (b2 - y)
    assert dh != 0
    labels = {label for label, _, _ in small.wrong}
    assert labels in ({"dL/db1[0]"}, {"dL/dW1[0][0]"})  # whichever side is taken, the other entry is wrong


def test_a_forward_bug_hidden_by_a_dead_neuron_shrinks_to_a_1_1_1_network(chapter7):
    results = run_probes(make_probes(chapter7), function_runner(bias_left_out), TOL)
    assert not any(r.ok for r in results[:6])
    small = shrink(results[0], function_runner(bias_left_out), TOL)
    ex = small.probe.exercise
    assert ex.architecture.sizes == (1, 1, 1) and ex.batch_size == 1
    b1 = Fraction(ex.parameters["b1"][0])
    assert b1 > 0  # the bias the student forgot is what makes the hidden neuron alive
    # every other value shrank to 0 where it could: the student's h is 0, the true h is b1
    assert ex.parameters["W1"][0, 0] == 0 and ex.x[0, 0] == 0
    b2, y = Fraction(ex.parameters["b2"][0]), Fraction(ex.y[0, 0])
    exact = dict((label, value) for label, _, value in small.wrong)
    assert exact["dL/dW2[0][0]"] == b1 * 2 * (b2 - y)  # by hand: h * dL/dy_hat with h = b1
    text = shrunk_file(small)
    assert load_exercise_text(text).architecture.sizes == (1, 1, 1)
    assert "# dL/dW2[0][0]: yours 0.0, exact" in text


def test_a_batch_only_bug_shrinks_to_two_examples():
    batch = load_exercise(DATA / "diagonal_flip_batch.toml")
    results = run_probes(make_probes(batch), function_runner(bias_of_first_example), TOL)
    one_example = [r for r in results if r.probe.exercise.batch_size == 1]
    assert one_example and all(r.ok for r in one_example)  # invisible with one example
    failing = next(r for r in results if not r.ok)
    small = shrink(failing, function_runner(bias_of_first_example), TOL)
    ex = small.probe.exercise
    assert ex.batch_size == 2 and ex.architecture.sizes == (1, 1, 1)
    assert {label for label, _, _ in small.wrong} == {"dL/db2[0]"}


def test_class_index_probes_reach_the_function_as_integer_labels():
    softmax = load_exercise(DATA / "softmax_classifier.toml")
    seen = []

    def spy(params, x, y):
        seen.append((y.dtype, y.shape))
        return {}
    run_probes(make_probes(softmax, count=2), function_runner(spy), TOL)
    assert all(dtype == np.int64 for dtype, _ in seen)
    assert {shape for _, shape in seen} == {(1,), (3,)}


def load_exercise_text(text: str):
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shrunk.toml"
        path.write_text(text)
        return load_exercise(path)


def mazur(params, x, y):
    """Mazur's network as he writes it (W of shape (out, in), one shared bias per layer,
    sigmoid, E = sum of 1/2 (target - out)**2), for one example."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    h = sig(params["W1"] @ x + params["b1"])
    out = sig(params["W2"] @ h + params["b2"])
    dz2 = (out - y) * out * (1 - out)
    dz1 = (params["W2"].T @ dz2) * h * (1 - h)
    return {"dL/dW1": np.outer(dz1, x), "dL/db1": dz1.sum(), "dL/dW2": np.outer(dz2, h), "dL/db2": dz2.sum()}


def mazur_dW1_transposed(params, x, y):
    """∂L/∂W1 in the (in, out) layout where the text's is (out, in): W1 is square in
    Mazur's network, so the shape is right and the numbers are wrong."""
    grads = mazur(params, x, y)
    grads["dL/dW1"] = grads["dL/dW1"].T
    return grads


def test_a_wrong_values_failure_never_shrinks_to_a_wrong_shape():
    """A transposed square gradient fails on its values; a smaller network whose W1 is not
    square would fail on the shape instead, another kind of failure: the shrunk probe
    keeps W1 square, and is still smaller than the probe it came from."""
    exercise = load_exercise(DATA / "mazur_as_written.toml")
    assert run_probes(make_probes(exercise, count=2), function_runner(mazur), TOL)[0].ok
    failing = run_probes(make_probes(exercise, count=2), function_runner(mazur_dW1_transposed), TOL)[0]
    assert failing.wrong and all(given is not None for _, given, _ in failing.wrong)
    small = shrink(failing, function_runner(mazur_dW1_transposed), TOL)
    sizes = small.probe.exercise.architecture.sizes
    assert sizes[0] == sizes[1] > 1, sizes  # W1 stays square: its transpose has the right shape
    assert small.wrong and all(given is not None for _, given, _ in small.wrong)  # wrong values, no shape
    assert {label.split("[")[0] for label, _, _ in small.wrong} == {"dL/dW1"}
    assert size(small.probe.exercise) < size(failing.probe.exercise)  # it still shrank


def test_a_wrong_shape_failure_still_shrinks_and_stays_a_wrong_shape(chapter7):
    """The neighbour: a gradient of the wrong shape shrinks, as a wrong shape, to a network
    where W1 is still not square (where it is, the transpose has the right shape)."""
    failing = run_probes(make_probes(chapter7, count=1), function_runner(transposed_weight_gradient), TOL)[0]
    small = shrink(failing, function_runner(transposed_weight_gradient), TOL)
    assert small.wrong == [("dL/dW1", None, None)]
    sizes = small.probe.exercise.architecture.sizes
    assert sizes[0] != sizes[1] and sum(sizes) == 4, sizes  # 2-1-1 or 1-2-1: the smallest non-square W1
