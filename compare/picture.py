"""What the picture of a network shows, from one exact pass: per neuron its values (one
example) or a small table of them per example (a batch), its status (dead, on the kink)
and the gradient of its bias; per weight layer the gradients of its edges.

The drawing is ``compare.plot``'s; this module only computes and words what it shows.
"""
from fractions import Fraction

import numpy as np

from compare.formatting import exact_text
from compare.kinks import find_kinks
from compare.tables import tabulate
from reference import quantities
from reference.backprop import Pass, run_pass
from reference.exercise import Exercise
from reference.numbers import as_fraction

TABLE_WIDTH = 9  # characters of a number in a neuron's table or bias box: -0.040875 in full
BATCH_ROWS = 8  # examples in a neuron's table; a larger batch shows the first BATCH_ROWS - 1 and a count


def short(value, width: int = 7) -> str:
    """A number for a label: exact decimals when at most ``width`` characters
    (``-0.0975``), else 3 significant digits (``0.333``)."""
    value = as_fraction(value)
    text = exact_text(value) if value.denominator.bit_length() < 40 else ""
    return text if text and "/" not in text and len(text) <= width else f"{float(value):.3g}"


class NetworkPicture:
    """What the picture shows, from one exact pass: per layer the neuron states, per
    weight layer the gradients. ``layers[0]`` is the input layer."""

    def __init__(self, exercise: Exercise):
        self.exercise = exercise
        self.arch = exercise.architecture
        self.exact: Pass = run_pass(exercise, exercise.architecture.ground_truth)
        self.n = self.arch.n_layers
        self.batch = exercise.batch_size
        zs = self.exact.pre_activations  # each (B, n_k)
        self.kinks: dict[tuple[int, int], list[int]] = {}  # (layer, neuron) -> examples at z = 0
        for kink in find_kinks(exercise, zs, {}):
            self.kinks.setdefault((kink.neuron.layer, kink.neuron.index), []).append(kink.neuron.example)
        self.dead = set()
        for k in range(1, self.n + 1):
            # only a plain ReLU dies: leaky ReLU's derivative for z < 0 is its slope, and
            # sigmoid, tanh and identity have no flat part
            if self.arch.activations[k - 1] == "relu":
                for j in range(self.arch.sizes[k]):
                    if all(zs[k - 1][b, j] <= 0 for b in range(self.batch)):
                        self.dead.add((k, j))
        acts = [exercise.x] + [self._batch(quantities.hidden_name(k, self.n)) for k in range(1, self.n)]
        self.zero_source = {(k, i) for k in range(self.n) for i in range(self.arch.sizes[k])
                            if all(acts[k][b, i] == 0 for b in range(self.batch))}

    def _batch(self, name: str) -> np.ndarray:
        value = self.exact.values[name]
        return value.reshape(1, -1) if value.ndim == 1 else value

    def gradient(self, k: int) -> np.ndarray:
        """dL/dW_k, shape (in, out), exact."""
        return self.exact.gradient(f"W{k}")

    def loss(self) -> Fraction:
        return as_fraction(self.exact.values["L"][()])

    def bias_gradient(self, k: int) -> np.ndarray | None:
        """dL/db_k, shape (out,), exact (the batch's sum for a batch); None for a layer
        without bias, or with one bias shared by its neurons (no box per neuron)."""
        name = f"dL/db{k}"
        return self.exact.values[name] if name in self.exact.values and not self.arch.shares_bias(k) else None

    def shared_bias_gradient(self, k: int):
        """dL/db_k of a bias shared by layer k's neurons (the sum over them and the
        batch), exact and 0-d; None for any other layer."""
        return self.exact.values[f"dL/db{k}"][()] if self.arch.shares_bias(k) else None

    def neuron_text(self, layer: int, j: int) -> str:
        """The values beside a neuron: a few lines for one example, a table with a row per
        example for a batch (``neuron_table``)."""
        if self.batch > 1:
            return self.neuron_table(layer, j)
        if layer == 0:
            return f"x[{j}] = {short(self.exercise.x[0, j])}"
        z = self._batch(f"z{layer}")[0, j]
        if layer == self.n:
            y_hat, y = self._batch("y_hat")[0, j], self.exercise.y[0, j]
            grad = self._batch("dL/dy_hat")[0, j]
            return f"ŷ[{j}] = {short(y_hat)}   y = {short(y)}\n∂L/∂ŷ = {short(grad)}"
        h = self._batch(quantities.hidden_name(layer, self.n))[0, j]
        upstream = self._batch(f"dL/dz{layer}")[0, j]
        return f"z = {short(z)}\nh = {short(h)}\n∂L/∂z = {short(upstream)}"

    def status_text(self, layer: int, j: int) -> str:
        """``"dead"``, ``"dead, on the kink (z = 0)"``, ``"on the kink (z = 0)"`` or ``""``."""
        dead, kink = (layer, j) in self.dead, (layer, j) in self.kinks
        where = f" in all {self.batch} examples" if self.batch > 1 and dead else ""
        if kink:
            examples = self.kinks[(layer, j)]
            kink_text = "on the kink (z = 0" + (
                "" if self.batch == 1 else
                " in example " + ", ".join(map(str, examples)) if len(examples) < self.batch else
                " in every example") + ")"
        if dead and kink:
            return f"dead{where}, {kink_text}"
        if dead:
            return f"dead{where}"
        return kink_text if kink else ""


    def table_rows(self) -> int:
        """Lines of a neuron's table of a batch: the header and its rule, a row per example
        shown, a count."""
        return 2 + min(self.batch, BATCH_ROWS) + (self.batch > BATCH_ROWS)

    def neuron_table(self, layer: int, j: int) -> str:
        """The values of one neuron in each example, a row per example (``ex``): x for an
        input; z, h and ∂L/∂z (whose sum over the examples is ∂L/∂b) for a hidden neuron;
        ŷ, y and ∂L/∂ŷ for an output."""
        if layer == 0:
            headers, columns = ["ex", f"x[{j}]"], [self.exercise.x[:, j]]
        elif layer == self.n:
            headers = ["ex", "ŷ", "y", "∂L/∂ŷ"]
            columns = [self._batch("y_hat")[:, j], self.exercise.y[:, j], self._batch("dL/dy_hat")[:, j]]
        else:
            headers = ["ex", "z", "h", "∂L/∂z"]
            columns = [self._batch(f"z{layer}")[:, j], self._batch(quantities.hidden_name(layer, self.n))[:, j],
                       self._batch(f"dL/dz{layer}")[:, j]]
        shown = range(self.batch) if self.batch <= BATCH_ROWS else range(BATCH_ROWS - 1)
        rows = [[str(b)] + [short(column[b], TABLE_WIDTH) for column in columns] for b in shown]
        if self.batch > BATCH_ROWS:
            rows.append(["…", f"{self.batch - len(rows)} more", "", ""][:len(headers)])  # ⋮ is not in the mono font
        return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True, stralign="right")


