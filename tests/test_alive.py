"""The chapter's four examples, alone and as a batch, and which hidden neurons are alive
for which example."""
import json

import pytest

from compare.alive import alive_table, example_signals
from compare.cli import main
from reference.exercise import CHAPTER7_PATH, load_exercise

BATCH_PATH = CHAPTER7_PATH.parent / "diagonal_flip_batch.toml"


@pytest.mark.parametrize("n, nonzero", [(0, 11), (1, 16), (2, 18), (3, 12)])
def test_each_example_runs_alone_and_agrees_with_autograd(n, nonzero, capsys):
    assert main([str(BATCH_PATH), "--example", str(n), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert summary["gradients_agree"] == 31 and summary["nonzero_gradients"] == nonzero


def test_the_batch_agrees_and_shows_the_alive_table(capsys):
    assert main([str(BATCH_PATH)]) == 0
    out = capsys.readouterr().out
    assert "Hidden neurons alive (z > 0) per example" in out
    assert "Hidden neuron 0 is alive in examples 1, 2." in out
    assert "Hidden neuron 1 is alive in no example." in out
    assert "Hidden neuron 2 is alive in examples 0, 1, 2, 3." in out
    assert ("20 of 31 parameters get a nonzero gradient from at least one example (at most 18 from any one "
            "alone); 2 from exactly one example: W1[0][0] (example 2), W1[2][2] (example 3).") in out


def test_alive_states_are_exact():
    signals = example_signals(load_exercise(BATCH_PATH))
    assert [s.states() for s in signals] == [["dead", "dead", "alive"], ["alive", "dead", "alive"],
                                             ["alive", "dead", "alive"], ["kink (z = 0)", "dead", "alive"]]
    assert [len(s.nonzero) for s in signals] == [11, 16, 18, 12]
    assert "W1[0][0]" in signals[2].nonzero and "W1[0][0]" not in signals[3].nonzero  # the running example


def test_single_example_has_no_alive_table(capsys):
    assert main([]) == 0
    assert "alive (z > 0)" not in capsys.readouterr().out


def test_batch_json_has_alive(capsys):
    assert main([str(BATCH_PATH), "--json"]) == 0
    alive = json.loads(capsys.readouterr().out)["alive"]
    assert alive[3]["pre_activations"] == [["0", "-1/10", "1/2"]] and alive[3]["states"][0] == "kink (z = 0)"


def test_alive_table_in_other_formats():
    assert "<table>" in alive_table(load_exercise(BATCH_PATH), "html")
