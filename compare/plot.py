"""The picture: the network as layers of neurons, its gradients drawn on the edges.

As the chapter's figure of gradients flowing backward: every weight W_k[i][j] is an edge
from neuron i of layer k-1 to neuron j of layer k, coloured by the sign of its exact
gradient dL/dW_k[i][j] (blue: negative, gradient descent raises the weight; red:
positive, it lowers it; pale grey: zero, the weight does not move) with a width that
grows with |dL/dW|. An edge whose source is 0 (a zero input pixel, a dead neuron's h)
is dashed: no gradient can flow along it. Dead ReLU neurons (z <= 0: ReLU' = 0, the
text's convention) are greyed and labelled; a neuron exactly on the ReLU kink (z = 0
exactly, ``compare.kinks``) gets an orange ring. Inputs show their pixel values, hidden
neurons z, h and dL/dz (= dL/db), outputs y_hat, the target y and dL/dy_hat; the title carries the
exact loss. All values come from the exact (``Fraction``) pass of ``reference.backprop``.

Layers of more than ``EDGE_LABEL_LIMIT`` neurons are drawn without per-edge labels, and
of more than ``NODE_LABEL_LIMIT`` without per-neuron values. For a batch, gradients are
the batch's; a neuron counts as dead when it is dead in every example, and per-neuron
values are shown for one example only (``--example N``).

Drawn with matplotlib's object API (``Figure``, the Agg/SVG canvases; no pyplot state)
and written atomically: a temporary file in the target directory, then ``os.replace``.
"""
from fractions import Fraction
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch
import numpy as np

from compare.formatting import exact_text
from compare.kinks import find_kinks
from compare.usage import atomic_output
from reference import activations, quantities
from reference.numbers import as_fraction
from reference.backprop import Pass, run_pass
from reference.exercise import Exercise

FORMATS = (".png", ".svg")
EDGE_LABEL_LIMIT = 8
NODE_LABEL_LIMIT = 12
NEGATIVE, POSITIVE, ZERO = "#1f62b4", "#c8312b", "#c9c9c9"
DEAD_FACE, ALIVE_FACE, KINK_RING = "#d9d9d9", "#ffffff", "#f08c00"
LAYER_GAP, NEURON_GAP, RADIUS = 4.0, 1.85, 0.28


class PlotError(ValueError):
    """A file the picture cannot be written to; ``str`` is one line."""


def short(value) -> str:
    """A number for a label: exact decimals when short (``-0.0975``), else 3 significant
    digits (``0.333``)."""
    value = as_fraction(value)
    text = exact_text(value) if value.denominator.bit_length() < 40 else ""
    return text if text and "/" not in text and len(text) <= 7 else f"{float(value):.3g}"


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
        for kink in find_kinks(exercise, zs, {}, atol=0.0):
            self.kinks.setdefault((kink.neuron.layer, kink.neuron.index), []).append(kink.neuron.example)
        self.dead = set()
        for k in range(1, self.n + 1):
            if self.arch.activations[k - 1] in activations.KINKED:
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

    def neuron_text(self, layer: int, j: int) -> str:
        """The values beside a neuron (one example only; empty for a batch)."""
        if self.batch > 1:
            return ""
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


def _positions(sizes) -> list[list[tuple[float, float]]]:
    return [[(k * LAYER_GAP, ((size - 1) / 2 - j) * NEURON_GAP) for j in range(size)]
            for k, size in enumerate(sizes)]


def _layer_name(k: int, n: int) -> str:
    if k == 0:
        return "input x"
    if k == n:
        return "output ŷ"
    return "hidden h" if n == 2 else f"hidden h{k}"


def _edge_label_spots(positions, k: int, labelled: list[tuple[int, int]]) -> dict:
    """Where along each labelled edge of weight layer ``k`` its label goes: greedy, the
    first of a few fractions of the edge whose spot clears every label placed so far,
    the neurons at both ends and the values printed under hidden neurons."""
    # obstacles: (x, y, half-width, half-height) in data units, labels are ~(0.55, 0.16)
    obstacles = []
    for layer in (k - 1, k):
        for x, y in positions[layer]:
            obstacles.append((x, y, RADIUS + 0.55, RADIUS + 0.16))
            if 0 < layer < len(positions) - 1:
                obstacles.append((x, y - RADIUS - 0.5, 0.5 + 0.55, 0.4 + 0.16))
    spots = {}
    for i, j in labelled:
        (x0, y0), (x1, y1) = positions[k - 1][i], positions[k][j]
        best = None
        for t in (0.5, 0.35, 0.65, 0.42, 0.58, 0.27, 0.73, 0.2, 0.8):
            x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
            clearance = min((max(abs(x - ox) / wx, abs(y - oy) / wy) for ox, oy, wx, wy in obstacles), default=9)
            if best is None or clearance > best[0] + 1e-9:
                best = (clearance, x, y)
            if clearance >= 1:
                break
        obstacles.append((best[1], best[2], 1.1, 0.32))
        spots[(i, j)] = best[1:]
    return spots


def draw_network(exercise: Exercise) -> Figure:
    """The picture as a matplotlib ``Figure`` (not yet saved)."""
    pic = NetworkPicture(exercise)
    sizes = pic.arch.sizes
    positions = _positions(sizes)
    top = max(sizes)
    width = 2.6 + 3.3 * len(sizes)
    height = 2.4 + 0.95 * top * NEURON_GAP
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_axes((0.02, 0.08, 0.96, 0.78 if exercise.batch_size > 1 else 0.80))
    ax.set_axis_off()
    half = (top - 1) / 2 * NEURON_GAP
    ax.set_xlim(-2.3, (len(sizes) - 1) * LAYER_GAP + 2.6)
    ax.set_ylim(-half - 0.8, half + 0.9)
    ax.set_aspect("equal")

    # one scale for every layer, so widths compare across layers
    largest = max(abs(g) for k in range(1, pic.n + 1) for g in pic.gradient(k).reshape(-1)) or 1
    for k in range(1, pic.n + 1):
        grad = pic.gradient(k)
        labelled = []
        for i in range(sizes[k - 1]):
            for j in range(sizes[k]):
                g = grad[i, j]
                colour = ZERO if g == 0 else (NEGATIVE if g < 0 else POSITIVE)
                lw = 0.8 if g == 0 else 1.2 + 4.8 * float(abs(g) / largest)
                (x0, y0), (x1, y1) = positions[k - 1][i], positions[k][j]
                ax.plot([x0, x1], [y0, y1], color=colour, lw=lw, zorder=1, solid_capstyle="round",
                        linestyle=(0, (4, 3)) if (k - 1, i) in pic.zero_source else "-",
                        gid=f"edge-W{k}-{i}-{j}")
                if g != 0:
                    labelled.append((i, j))
        if max(sizes[k - 1], sizes[k]) <= EDGE_LABEL_LIMIT:
            for (i, j), (x, y) in _edge_label_spots(positions, k, labelled).items():
                g = grad[i, j]
                ax.text(x, y, short(g), fontsize=8, ha="center", va="center", zorder=4, gid=f"label-W{k}-{i}-{j}",
                        color=NEGATIVE if g < 0 else POSITIVE,
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))

    for k, layer in enumerate(positions):
        for j, (x, y) in enumerate(layer):
            dead, kink = (k, j) in pic.dead, (k, j) in pic.kinks
            ax.add_patch(Circle((x, y), RADIUS, fc=DEAD_FACE if dead else ALIVE_FACE,
                                ec="#8a8a8a" if dead else "#333333", lw=1.4, zorder=3,
                                gid=f"neuron-{k}-{j}" + ("-dead" if dead else "")))
            if kink:
                ax.add_patch(Circle((x, y), RADIUS + 0.09, fc="none", ec=KINK_RING, lw=2.6, zorder=3,
                                    gid=f"kink-{k}-{j}"))
            ax.text(x, y, str(j), ha="center", va="center", fontsize=9, zorder=5,
                    color="#777777" if dead else "black")
            text = pic.neuron_text(k, j) if sizes[k] <= NODE_LABEL_LIMIT else ""
            status = pic.status_text(k, j)
            if k == 0:
                ax.text(x - RADIUS - 0.15, y, text, ha="right", va="center", fontsize=9, zorder=5)
            elif k == pic.n:
                ax.text(x + RADIUS + 0.15, y, text, ha="left", va="center", fontsize=9, zorder=5)
            elif text:
                ax.text(x, y - RADIUS - 0.12, text, ha="center", va="top", fontsize=8.5, zorder=5,
                        linespacing=1.15, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.9))
            if status:
                colour = "#555555" if dead else KINK_RING
                ax.text(x, y + RADIUS + 0.12, status, ha="center", va="bottom", fontsize=8.5, zorder=5,
                        gid=f"status-{k}-{j}",
                        color=colour, fontweight="bold",
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
    for k, layer in enumerate(positions):
        ax.text(layer[0][0], half + 0.75, _layer_name(k, pic.n), ha="center", va="bottom",
                fontsize=10, fontweight="bold")

    title = exercise.title
    subtitle = f"L = {short(pic.loss())}" + (f" (exactly {exact_text(pic.loss())})"
                                           if short(pic.loss()) != exact_text(pic.loss())
                                           and "/" not in exact_text(pic.loss()) else "")
    grads = [g for k in range(1, pic.n + 1) for p in (f"W{k}", f"b{k}") for g in pic.exact.gradient(p).reshape(-1)]
    subtitle += (f"; {sum(g != 0 for g in grads)} of {len(grads)} parameters get a nonzero gradient; "
                 "edges: ∂L/∂W")
    if pic.batch > 1:
        subtitle += (f"\na batch of {pic.batch} examples: gradients of the batch "
                     "(draw one example with --example N to see its values)")
    fig.suptitle(f"{title}\n{subtitle}", fontsize=11.5, y=0.985)
    handles = [Line2D([], [], color=NEGATIVE, lw=3, label="∂L/∂W < 0: the weight will increase"),
               Line2D([], [], color=POSITIVE, lw=3, label="∂L/∂W > 0: the weight will decrease"),
               Line2D([], [], color=ZERO, lw=1.5, label="∂L/∂W = 0: no gradient"),
               Line2D([], [], color="#555555", lw=1.5, linestyle=(0, (4, 3)),
                      label="from a zero input or dead neuron"),
               Patch(fc=DEAD_FACE, ec="#8a8a8a", label="dead neuron (z ≤ 0, ReLU′ = 0)"),
               Line2D([], [], marker="o", color="none", markerfacecolor="none", markeredgecolor=KINK_RING,
                      markeredgewidth=2.4, markersize=12, label="on the ReLU kink (z = 0 exactly)")]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8.5, frameon=False,
               bbox_to_anchor=(0.5, 0.005), handlelength=2.6)
    return fig


def write_plot(exercise: Exercise, path) -> Path:
    """Draw the picture of ``exercise`` and write it to ``path`` (``.png`` or ``.svg``,
    any case), atomically: never a half-written file. SVG text stays text
    (``svg.fonttype = none``), so its labels are searchable.

    Raises ``PlotError`` for another extension or a directory that does not exist or
    cannot be written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise PlotError(f"expected a file name ending in .svg or .png; got {str(path)!r}")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise PlotError(f"{str(path)!r}: expected an existing directory {str(directory)!r}")
    fig = draw_network(exercise)
    try:
        with atomic_output(path, binary=True) as stream, matplotlib.rc_context(
                {"svg.fonttype": "none", "svg.hashsalt": "backprop-crosscheck"}):
            fig.savefig(stream, format=suffix[1:], dpi=110,
                        metadata={"Date": None} if suffix == ".svg" else None)
    except OSError as error:
        raise PlotError(f"{str(path)!r}: cannot write in {str(directory)!r} ({error.strerror or error})") from None
    return path
