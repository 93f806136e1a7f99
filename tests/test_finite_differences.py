"""Finite differences that recompute only what a perturbation changes give the numbers
of a full forward pass; the cost estimate picks the check and says why."""
import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from compare import finite_differences as fdm
from compare.cli import main
from compare.kinks import Neuron
from reference import activations
from reference.exercise import CHAPTER7_PATH, load_exercise
from reference.network import Network
from reference.numbers import EXACT, convert, mp
from tests.strategies import exercises


def full_recompute(exercise, dtype="float64"):
    """The plain method: every perturbed loss from a whole forward pass in the ground truth."""
    number_type = exercise.architecture.ground_truth
    network = Network.from_exercise(exercise, number_type)
    x, y = convert(exercise.x, number_type), convert(exercise.y, number_type)
    step = fdm.STEPS[dtype]
    h = step if number_type == EXACT else mp().mpf(step.numerator) / step.denominator
    kinked = [k for k, a in enumerate(exercise.architecture.activations, start=1) if a in activations.KINKED]

    def run():
        zs, acts = network.forward(x)
        return network.loss(acts[-1], y), {k: np.sign(zs[k - 1].astype(float)) for k in kinked}

    base, base_sides = run()
    out = []
    for parameter, index in fdm.sample_entries(exercise, None):
        array = (network.weights if parameter[0] == "W" else network.biases)[int(parameter[1:]) - 1]
        original = array[index]
        array[index] = original + h
        plus, plus_sides = run()
        array[index] = original - h
        minus, minus_sides = run()
        array[index] = original
        crossed = [Neuron(k, int(b), int(j)).label(exercise.architecture.n_layers, exercise.batch_size)
                   for k in kinked
                   for b, j in zip(*np.nonzero((plus_sides[k] != base_sides[k]) | (minus_sides[k] != base_sides[k])))]
        out.append(((plus - minus) / (2 * h), (plus - base) / h, (base - minus) / h, crossed))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exercise=exercises(max_layers=3, max_width=4, max_batch=3))
def test_incremental_finite_differences_equal_a_full_forward_pass(exercise):
    fast = fdm.finite_differences(exercise, "float32")  # h = 1e-4 crosses kinks often
    slow = full_recompute(exercise, "float32")
    assert len(fast) == len(slow)
    for fd, (central, right, left, crossed) in zip(fast, slow):
        assert fd.crossed == crossed
        if exercise.architecture.rational:  # exact: the very same fractions
            assert (fd.central, fd.right, fd.left) == (central, right, left)
            assert type(fd.central) is Fraction
        else:  # 50 digits: the same up to the rounding of a different order of operations
            for a, b in ((fd.central, central), (fd.right, right), (fd.left, left)):
                assert abs(a - b) <= 1e-30 * (1 + abs(b)), (fd, central)


def test_the_chapter_s_exact_finite_differences():
    fds = {(fd.parameter, fd.index): fd for fd in fdm.finite_differences(load_exercise(CHAPTER7_PATH))}
    assert fds[("W1", (0, 2))].central == Fraction(11, 25) and not fds[("W1", (0, 2))].crossed
    kink = fds[("W1", (0, 0))]
    assert kink.crossed == ["hidden neuron 0"] and kink.left == 0  # one side dead: the loss does not move
    assert kink.right == Fraction(-389999997, 4000000000)  # -0.0975 and the O(h) term of a one-sided difference


def test_the_estimate_counts_rows_passes_and_the_finite_differences_asked_for():
    chapter = load_exercise(CHAPTER7_PATH)
    cost = fdm.estimate(chapter)
    assert (cost.passes, cost.rows, cost.finite_differences) == (24, 55, 0)
    with_fd = fdm.estimate(chapter, fd=True)
    # per entry two passes of batch 1: W1/b1 entries move a column, then 2 * 4 rank-one and 4 loss terms
    assert with_fd.finite_differences == 15 * 2 * (1 + 4 + 2 * 4) + 16 * 2 * (1 + 4)
    assert fdm.estimate(chapter, fd=True, sample=2).finite_differences == 4 * 2 * (1 + 4 + 2 * 4) + 4 * 2 * (1 + 4)
    assert with_fd.total == cost.total + with_fd.finite_differences and not with_fd.large
    assert fdm.estimate(chapter, jvp=3).jvp_entries == 3 * 31  # an exact product per entry and direction
    assert "entry by entry against the exact values" in with_fd.explain()


def test_fd_on_a_network_just_below_the_budget_switches_to_the_per_tensor_check(capsys, monkeypatch):
    """Asking for finite differences adds to the cost: the same file is checked entry by
    entry without --fd and per tensor with it, and the report says why."""
    path = str(CHAPTER7_PATH.parent / "tanh_3_4_2.toml")  # no kink: hand and autograd agree per tensor too
    exercise = load_exercise(path)
    budget = fdm.estimate(exercise).total + 100  # just above its cost without --fd
    monkeypatch.setattr(fdm, "EXACT_BUDGET", budget)
    assert not fdm.is_large(exercise) and fdm.is_large(exercise, fd=True)
    assert main([path, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["check"]["check"] == "entry by entry" and data["check"]["budget"] == budget
    assert data["check"]["estimated_operations"] == fdm.estimate(exercise).total
    assert main([path, "--fd"]) == 0
    out = capsys.readouterr().out
    assert "Check: per tensor (compare.bulk), not entry by entry: the 50-digit run would cost an estimated" in out
    assert "operations of finite differences), above the budget" in out
    assert "Finite differences: 5 random entries per tensor" in out


@pytest.mark.parametrize("mode, message", [("self-test", "self-test: compares entry by entry"),
                                           ("grade", "grade: compares entry by entry")])
def test_entry_by_entry_jobs_count_their_comparisons(mode, message, monkeypatch, capsys):
    from compare.cli import comparisons
    chapter7 = load_exercise(CHAPTER7_PATH)
    # the self-test runs one comparison per catalogued mistake and two correct ones; the
    # grading of a student also the probes: a budget for the first refuses the second
    assert comparisons(chapter7, "backward") > comparisons(chapter7, "self_test") > 10
    monkeypatch.setattr("compare.cli.EXACT_BUDGET", comparisons(chapter7, "self_test") * fdm.estimate(chapter7).total)
    args = [mode] + (["examples/students/correct.py:backward"] if mode == "grade" else [])
    monkeypatch.chdir(CHAPTER7_PATH.parent.parent.parent)
    assert main(args) == (0 if mode == "self-test" else 2)
    err = capsys.readouterr().err
    assert (message in err) == (mode == "grade")
