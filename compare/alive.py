"""Which hidden neurons are alive (z > 0) for which example of a batch.

The text: "On other training examples where different neurons are alive and different
inputs are non-zero, different weights will get gradients." For a batch this shows, per
example, each hidden ReLU neuron as alive (z > 0), dead (z < 0) or at the kink (z = 0
exactly: dead, as ReLU'(0) = 0), and how many parameters that example alone gives a
nonzero gradient. Exact arithmetic throughout.
"""
import collections
from dataclasses import dataclass

import numpy as np
from tabulate import tabulate

from compare.formatting import exact_text
from reference.activations import KINKED
from reference.backprop import run_pass
from reference.numbers import as_fraction
from reference.exercise import Exercise


@dataclass
class ExampleSignal:
    """One example: its hidden pre-activations per layer (exact), and which parameter
    entries get a nonzero gradient from it alone (``"W1[0][2]"``, ...)."""
    example: int
    x: list
    y: list
    pre_activations: list[list]
    nonzero: list[str]

    def states(self) -> list[str]:
        """``alive``/``dead``/``kink`` for each hidden neuron, layer by layer."""
        return ["alive" if z > 0 else "kink (z = 0)" if z == 0 else "dead"
                for layer in self.pre_activations for z in layer]


def _nonzero(exercise: Exercise, values: dict) -> list[str]:
    labels = []
    for parameter in exercise.architecture.parameter_shapes():
        gradient = values[f"dL/d{parameter}"]
        labels += [parameter + "".join(f"[{i}]" for i in index)
                   for index in np.ndindex(gradient.shape) if gradient[index] != 0]
    return labels


def example_signals(exercise: Exercise) -> list[ExampleSignal]:
    """One ``ExampleSignal`` per example of ``exercise`` (hidden layers only)."""
    n = exercise.architecture.n_layers
    signals = []
    for b in range(exercise.batch_size):
        single = exercise.example(b)
        exact = run_pass(single, single.architecture.ground_truth)
        zs = [[as_fraction(z) for z in exact.pre_activations[k][0]] for k in range(n - 1)]
        signals.append(ExampleSignal(b, [str(v) for v in exercise.x[b]], [str(v) for v in exercise.y[b]],
                                     zs, _nonzero(exercise, exact.values)))
    return signals


def applies(exercise: Exercise) -> bool:
    """A batch whose hidden layers have a ReLU-type kink, where "alive" means something."""
    return exercise.batch_size > 1 and any(a in KINKED for a in exercise.architecture.activations[:-1])


def neuron_headers(exercise: Exercise) -> list[str]:
    """``["neuron 0", ...]`` (``"layer 1 neuron 0"`` for deeper networks)."""
    sizes, n = exercise.architecture.sizes, exercise.architecture.n_layers
    return [f"neuron {j}" if n == 2 else f"layer {k} neuron {j}"
            for k in range(1, n) for j in range(sizes[k])]


def alive_table(exercise: Exercise, fmt: str = "github") -> str:
    """The table, one row per example, and a line per hidden neuron and on the signal."""
    table, lines = alive_parts(exercise, fmt)
    return "\n".join([table, ""] + lines)


def alive_parts(exercise: Exercise, fmt: str = "github") -> tuple[str, list[str]]:
    """``alive_table`` as the table and its lines apart (for HTML and LaTeX)."""
    signals = example_signals(exercise)
    headers = ["example", "x", "y", "z (hidden)"] + neuron_headers(exercise) + ["nonzero gradients alone"]
    total = sum(int(np.prod(shape)) for shape in exercise.architecture.parameter_shapes().values())
    rows = [[s.example, "[" + ", ".join(s.x) + "]", "[" + ", ".join(s.y) + "]",
             "; ".join("[" + ", ".join(exact_text(z) for z in layer) + "]" for layer in s.pre_activations)]
            + s.states() + [f"{len(s.nonzero)} of {total}"] for s in signals]
    table = tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)
    lines = []
    for column, header in enumerate(neuron_headers(exercise)):
        alive = [str(s.example) for s in signals if s.states()[column] == "alive"]
        lines.append(f"Hidden {header} is alive in " + (f"example{'s' if len(alive) > 1 else ''} "
                                                        + ", ".join(alive) if alive else "no example") + ".")
    counts = collections.Counter(label for s in signals for label in s.nonzero)
    only_one = [label for label in sorted(counts) if counts[label] == 1]
    union = set(counts)
    lines.append(f"{len(union)} of {total} parameters get a nonzero gradient from at least one example "
                  f"(at most {max(len(s.nonzero) for s in signals)} from any one alone); "
                  f"{len(only_one)} from exactly one example"
                  + (": " + ", ".join(f"{label} (example {_sole(label, signals)})" for label in only_one)
                     if 0 < len(only_one) <= 8 else "") + ".")
    return table, lines


def _sole(label: str, signals: list[ExampleSignal]) -> int:
    return next(s.example for s in signals if label in set(s.nonzero))


def alive_json(exercise: Exercise) -> list[dict]:
    """Per example: ``example``, ``pre_activations`` (exact, as strings), ``states``,
    ``nonzero_gradients`` (parameter entries)."""
    return [{"example": s.example, "pre_activations": [[str(z) for z in layer] for layer in s.pre_activations],
             "states": s.states(), "nonzero_gradients": s.nonzero} for s in example_signals(exercise)]
