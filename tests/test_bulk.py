"""Large networks: every entry hand vs autograd, vectorised per tensor."""
import json

import numpy as np
import pytest
import torch

from compare.bulk import add_bulk_jvp, bulk_check
from compare.finite_differences import is_large
from compare.cli import main
from compare.catalogue import MaskDropped, WeightsReshapedNotTransposed
from reference import load_exercise
from reference.exercise import Architecture
from torch_impl.model import sequential
from decimal import Decimal

SIZES = (30, 40, 20, 10)


def problem(seed=0):
    rng = np.random.default_rng(seed)
    arch = Architecture(SIZES, ("relu", "tanh", "identity"), "mse", "mean", Decimal("0.01"))
    weights = [rng.standard_normal((a, b)) * 0.3 for a, b in zip(SIZES, SIZES[1:])]
    biases = [rng.standard_normal(b) * 0.1 for b in SIZES[1:]]
    return arch, weights, biases, rng.standard_normal((64, SIZES[0])), rng.standard_normal((64, SIZES[-1]))


def test_every_entry_agrees_and_jvp_too():
    arch, weights, biases, x, y = problem()
    check = bulk_check(arch, weights, biases, x, y)
    assert check.ok and [t.parameter for t in check.tensors] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert all(t.max_abs_diff < 1e-12 for t in check.tensors)
    model = sequential(arch, [torch.from_numpy(w) for w in weights], [torch.from_numpy(b) for b in biases],
                       torch.float64)
    add_bulk_jvp(check, (model, arch, torch.from_numpy(x), torch.from_numpy(y), False), count=3)
    assert len(check.jvp) == 3 and all(agree for _, _, agree in check.jvp)


@pytest.mark.parametrize("variant", [MaskDropped, WeightsReshapedNotTransposed])
def test_a_broken_backward_is_caught_in_bulk(variant):
    arch, weights, biases, x, y = problem()
    if variant is WeightsReshapedNotTransposed:  # needs shapes that reshape: use square hidden layers
        arch = Architecture((30, 20, 20, 10), arch.activations, "mse", "mean", Decimal("0.01"))
        rng = np.random.default_rng(1)
        weights = [rng.standard_normal((a, b)) * 0.3 for a, b in zip(arch.sizes, arch.sizes[1:])]
        biases = [rng.standard_normal(b) * 0.1 for b in arch.sizes[1:]]
    check = bulk_check(arch, weights, biases, x, y, backprop=variant(arch))
    assert not check.ok
    assert check.tensors[0].disagreeing > 0


def test_cli_switches_to_the_per_tensor_report(large_file, capsys):
    assert is_large(load_exercise(large_file))
    assert main([str(large_file), "--fd", "--sample", "3", "--jvp", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["entries"] == 8 * 1000 + 1000 + 1000 * 4 + 4 and data["summary"]["ok"]
    assert data["check"]["check"] == "per tensor" and data["check"]["estimated_operations"] > data["check"]["budget"]
    assert [t["fd_checked"] for t in data["tensors"]] == [3, 3, 3, 3]
    assert len(data["jvp"]) == 2


@pytest.mark.parametrize("args", [["self-test", "{}"], ["grade", "examples/students/correct.py:backward", "--exercise", "{}"]])
def test_entry_by_entry_jobs_refuse_a_large_network(large_file, args, capsys):
    assert main([a.format(large_file) for a in args]) == 2
    assert "too slow for a network this large" in capsys.readouterr().err
