"""Which hidden neurons are alive (z > 0) for which example of a batch.

The text: "On other training examples where different neurons are alive and different
inputs are non-zero, different weights will get gradients." For a batch this shows, per
example, each hidden ReLU neuron as alive (z > 0), dead (z < 0) or at the kink (z = 0
exactly: dead, as ReLU'(0) = 0), and how many parameters that example alone gives a
nonzero gradient. Exact arithmetic throughout.
"""
from dataclasses import dataclass

import numpy as np

from compare.formatting import exact_text
from compare.tables import tabulate
from reference import quantities
from reference.activations import KINKED
from reference.backprop import run_pass
from reference.numbers import as_fraction
from reference.exercise import Architecture, Exercise


@dataclass
class ExampleSignal:
    """One example: its hidden pre-activations per layer (exact), and which parameter
    entries get a nonzero gradient from it alone: per weight layer k, which inputs
    a_{k-1} of the example are nonzero and which dL/dz_k are (W_k[i][j] gets one where
    both are, b_k[j] where dL/dz_k[j] is: a product of exact numbers is 0 only when a
    factor is)."""
    example: int
    x: list
    y: list
    pre_activations: list[list]
    signal: list[tuple[np.ndarray, np.ndarray]]  # per layer: (a_{k-1} != 0, dL/dz_k != 0), bool
    architecture: Architecture | None = None  # which layers have a bias, shared or not, and the text's layout

    def _has_bias(self, k: int) -> bool:
        return self.architecture is None or self.architecture.has_bias(k)

    def _bias_entries(self, k: int, d: np.ndarray) -> list[str]:
        """The bias entries of layer k with a nonzero gradient where ``d`` (dL/dz_k != 0)
        is: ``b1[j]`` per neuron, or ``b1`` once for a bias shared by the layer."""
        if not self._has_bias(k):
            return []
        if self.architecture is not None and self.architecture.shares_bias(k):
            return [f"b{k}"] if d.any() else []
        return [f"b{k}[{j}]" for j in np.flatnonzero(d)]

    def _weight_label(self, k: int, i: int, j: int) -> str:
        name = f"W{k}"
        return self.architecture.label(name, (i, j)) if self.architecture else f"{name}[{i}][{j}]"

    def states(self) -> list[str]:
        """``alive``/``dead``/``kink`` for each hidden neuron, layer by layer."""
        return ["alive" if z > 0 else "kink (z = 0)" if z == 0 else "dead"
                for layer in self.pre_activations for z in layer]

    @property
    def count(self) -> int:
        """How many parameter entries get a nonzero gradient from this example alone."""
        return sum(int(a.sum()) * int(d.sum()) + len(self._bias_entries(k, d))
                   for k, (a, d) in enumerate(self.signal, start=1))

    @property
    def nonzero(self) -> list[str]:
        """Those entries by name (``"W1[0][2]"``, ...), in the order of the parameters."""
        labels = []
        for k, (a, d) in enumerate(self.signal, start=1):
            labels += [self._weight_label(k, i, j) for i, j in np.argwhere(np.outer(a, d))]
            labels += self._bias_entries(k, d)
        return labels


def example_signals(exercise: Exercise) -> list[ExampleSignal]:
    """One ``ExampleSignal`` per example of ``exercise`` (hidden layers only), all from
    one exact pass of the whole batch: each example's rows of it are the values of that
    example alone (the batch's dL/dz is each example's own, divided by B for a mean)."""
    n = exercise.architecture.n_layers
    exact = run_pass(exercise, exercise.architecture.ground_truth, printed=False)
    batch = exercise.batch_size

    def rows(values):
        values = np.asarray(values)
        return values.reshape(batch, -1)

    inputs = [rows(exercise.x)] + [rows(exact.values[quantities.hidden_name(k, n)]) for k in range(1, n)]
    upstream = [rows(exact.values[f"dL/dz{k}"]) for k in range(1, n + 1)]
    signals = []
    for b in range(batch):
        zs = [[as_fraction(z) for z in exact.pre_activations[k][b]] for k in range(n - 1)]
        signal = [(inputs[k][b] != 0, upstream[k][b] != 0) for k in range(n)]
        signals.append(ExampleSignal(b, [str(v) for v in exercise.x[b]], [str(v) for v in exercise.y[b]],
                                     zs, signal, exercise.architecture))
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
    states = [s.states() for s in signals]
    rows = [[s.example, "[" + ", ".join(s.x) + "]", "[" + ", ".join(s.y) + "]",
             "; ".join("[" + ", ".join(exact_text(z) for z in layer) + "]" for layer in s.pre_activations)]
            + state + [f"{s.count} of {total}"] for s, state in zip(signals, states)]
    table = tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)
    lines = []
    for column, header in enumerate(neuron_headers(exercise)):
        alive = [str(s.example) for s, state in zip(signals, states) if state[column] == "alive"]
        lines.append(f"Hidden {header} is alive in " + (f"example{'s' if len(alive) > 1 else ''} "
                                                        + ", ".join(alive) if alive else "no example") + ".")
    union, only_one = _shared_signal(signals)
    lines.append(f"{union} of {total} parameters get a nonzero gradient from at least one example "
                  f"(at most {max(s.count for s in signals)} from any one alone); "
                  f"{len(only_one)} from exactly one example"
                  + (": " + ", ".join(f"{label} (example {example})" for label, example in only_one)
                     if 0 < len(only_one) <= 8 else "") + ".")
    return table, lines


def _shared_signal(signals: list[ExampleSignal]) -> tuple[int, list[tuple[str, int]]]:
    """How many parameter entries get a nonzero gradient from at least one example, and
    ``(label, example)`` of those that get one from exactly one example, sorted by label;
    counted with matrix products of the examples' masks, without a label per entry."""
    union, only_one = 0, []
    for k in range(1, len(signals[0].signal) + 1):
        inputs = np.array([s.signal[k - 1][0] for s in signals], dtype=np.int64)  # (B, in)
        upstream = np.array([s.signal[k - 1][1] for s in signals], dtype=np.int64)  # (B, out)
        weights, biases = inputs.T @ upstream, upstream.sum(axis=0)  # examples per entry
        first = signals[0]
        union += int(np.count_nonzero(weights))
        for i, j in np.argwhere(weights == 1):
            only_one.append((first._weight_label(k, i, j), int(np.argmax(inputs[:, i] * upstream[:, j]))))
        if first._has_bias(k) and first.architecture is not None and first.architecture.shares_bias(k):
            reached = upstream.any(axis=1)  # the examples that give the shared bias a gradient
            union += int(reached.any())
            only_one += [(f"b{k}", int(np.argmax(reached)))] if reached.sum() == 1 else []
        elif first._has_bias(k):
            union += int(np.count_nonzero(biases))
            only_one += [(f"b{k}[{j}]", int(np.argmax(upstream[:, j]))) for j in np.flatnonzero(biases == 1)]
    return union, sorted(only_one)


def alive_json(exercise: Exercise) -> list[dict]:
    """Per example: ``example``, ``pre_activations`` (exact, as strings), ``states``,
    ``nonzero_gradients`` (parameter entries)."""
    return [{"example": s.example, "pre_activations": [[str(z) for z in layer] for layer in s.pre_activations],
             "states": s.states(), "nonzero_gradients": s.nonzero} for s in example_signals(exercise)]
