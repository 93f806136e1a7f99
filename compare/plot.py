"""The picture: the network as layers of neurons, its gradients drawn on the edges.

As the chapter's figure of gradients flowing backward: every weight W_k[i][j] is an edge
from neuron i of layer k-1 to neuron j of layer k, coloured by the sign of its exact
gradient dL/dW_k[i][j] (blue: negative, gradient descent raises the weight; red:
positive, it lowers it; pale grey: zero, the weight does not move) with a width that
grows with |dL/dW|. An edge whose source is 0 (a zero input pixel, a dead neuron's h)
is dashed: no gradient can flow along it. Dead ReLU neurons (z <= 0: ReLU' = 0, the
text's convention; only plain ReLU: a leaky ReLU never dies) are greyed and labelled; a
ReLU or leaky ReLU neuron exactly on the kink (z = 0 exactly, ``compare.kinks``) gets an
orange ring. Inputs show their pixel values, hidden neurons z, h and dL/dz (= dL/db),
outputs y_hat, the target y and dL/dy_hat; layer headers name the activation; the title
carries the exact loss (or the 50-digit one, for sigmoid and tanh networks). All values
come from the ground-truth pass of ``reference.backprop`` (Fractions, or mpmath).

The figure stays at most ``MAX_INCHES`` a side (about 1400 x 1400 pixels as PNG): a
layer of more than ``DRAWN_LIMIT`` neurons is drawn in part (the first ``DRAWN_HEAD``,
a "⋮ N more" marker, the last ``DRAWN_TAIL``; the subtitle says which layers), edge
widths share one scale over the drawn edges. A weight layer with more than
``EDGE_LABEL_ALL`` drawn edges labels only its ``EDGE_LABEL_TOP`` largest |dL/dW|; a
layer of more than ``NODE_LABEL_LIMIT`` neurons is drawn without per-neuron values. For
a batch, gradients are the batch's; a neuron counts as dead when it is dead in every
example, and per-neuron values are shown for one example only (``--example N``). The
legend lists only what the picture can show.

Drawn with matplotlib's object API (``Figure``, the Agg/SVG canvases; no pyplot state)
and written atomically: a temporary file in the target directory, then ``os.replace``.
"""
from fractions import Fraction
import io
from pathlib import Path

import matplotlib
import mpmath
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
EDGE_LABEL_ALL = 16  # a weight layer with at most this many drawn edges has all of them labelled,
EDGE_LABEL_TOP = 8  # a larger one only its EDGE_LABEL_TOP largest |dL/dW|
NODE_LABEL_LIMIT = 12
DRAWN_LIMIT, DRAWN_HEAD, DRAWN_TAIL = 16, 12, 3  # larger layers: first 12, "⋮ N more", last 3
MAX_INCHES = 12.7  # either side of the figure; 1397 pixels at write_plot's 110 dpi
NATURAL_SCALE = 0.93  # inches per data unit when nothing needs shrinking (the Chapter 7 picture)
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


def _drawn(size: int) -> list[int]:
    """The neurons of a layer that are drawn: all of them up to ``DRAWN_LIMIT``, else the
    first ``DRAWN_HEAD`` and the last ``DRAWN_TAIL`` (a "⋮ N more" marker between)."""
    if size <= DRAWN_LIMIT:
        return list(range(size))
    return list(range(DRAWN_HEAD)) + list(range(size - DRAWN_TAIL, size))


def _slots(size: int) -> int:
    """Vertical places a layer takes: its drawn neurons, plus one for the marker."""
    return size if size <= DRAWN_LIMIT else DRAWN_HEAD + 1 + DRAWN_TAIL


def _positions(sizes, layer_gap: float = None) -> list[dict[int, tuple[float, float]]]:
    """Per layer, ``{neuron index: (x, y)}`` in data units for the drawn neurons."""
    layer_gap = LAYER_GAP if layer_gap is None else layer_gap
    layers = []
    for k, size in enumerate(sizes):
        slots = _slots(size)
        places = {}
        for slot, j in enumerate(_drawn(size)):
            if size > DRAWN_LIMIT and slot >= DRAWN_HEAD:
                slot += 1  # leave the marker's place free
            places[j] = (k * layer_gap, ((slots - 1) / 2 - slot) * NEURON_GAP)
        layers.append(places)
    return layers


ACTIVATION_NAMES = {"relu": "ReLU", "leaky_relu": "leaky ReLU", "sigmoid": "sigmoid", "tanh": "tanh",
                    "identity": "identity"}


def _layer_name(k: int, n: int, activations_=None) -> str:
    """``"input x"``, ``"hidden h (ReLU)"``, ``"hidden h2 (tanh)"``, ``"output ŷ (identity)"``."""
    if k == 0:
        return "input x"
    name = "output ŷ" if k == n else ("hidden h" if n == 2 else f"hidden h{k}")
    if activations_ is None:
        return name
    activation = activations_[k - 1]
    return f"{name} ({ACTIVATION_NAMES.get(activation, activation)})"


def _edge_label_spots(positions, k: int, labelled: list[tuple[int, int]], scale: float,
                      valued: tuple[bool, ...], radius: float = RADIUS, flagged=frozenset()) -> dict:
    """Where along each labelled edge of weight layer ``k`` its label goes: greedy, the
    first of a few fractions of the edge whose spot clears every label placed so far,
    the neurons at both ends and the values printed under hidden neurons. ``scale`` is
    inches per data unit (labels have a fixed size in inches); ``valued[layer]`` whether
    that layer's neurons carry printed values; ``flagged`` the (layer, neuron) pairs with
    a status ("dead", "on the kink") printed above them."""
    # obstacles: (x, y, half-width, half-height) in data units; a label is ~(0.5, 0.15) inch
    lw, lh = 0.5 / scale, 0.15 / scale
    obstacles = []
    for layer in (k - 1, k):
        for j, (x, y) in positions[layer].items():
            obstacles.append((x, y, radius + lw, radius + lh))
            if (layer, j) in flagged:
                obstacles.append((x, y + radius + 0.2 / scale, 1.1 / scale + lw, 0.1 / scale + lh))
            if 0 < layer < len(positions) - 1 and valued[layer]:
                obstacles.append((x, y - radius - 0.45 / scale, 0.45 / scale + lw, 0.37 / scale + lh))
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
        obstacles.append((best[1], best[2], 2 * lw, 2 * lh))
        spots[(i, j)] = best[1:]
    return spots


def _labelled_edges(grad: np.ndarray, rows: list[int], cols: list[int]) -> tuple[list[tuple[int, int]], bool]:
    """The drawn edges of one weight layer that get a value label, and whether only a
    selection is labelled: every nonzero one if the layer has at most
    ``EDGE_LABEL_ALL`` drawn edges, else the ``EDGE_LABEL_TOP`` largest |dL/dW|."""
    nonzero = [(i, j) for i in rows for j in cols if grad[i, j] != 0]
    if len(rows) * len(cols) <= EDGE_LABEL_ALL:
        return nonzero, False
    nonzero.sort(key=lambda e: (-abs(grad[e]), e))
    return sorted(nonzero[:EDGE_LABEL_TOP]), True


def _loss_text(pic: "NetworkPicture") -> str:
    """``"L = 0.89625"``, ``"L = 0.333 (exactly 1/3)"`` for an exact rational loss;
    ``"L ≈ 0.698480610782 (50-digit ground truth)"`` for an mpmath one."""
    loss = pic.loss()
    if not pic.arch.rational:
        return f"L ≈ {mpmath.nstr(pic.exact.values['L'][()], 12)} (50-digit ground truth)"
    exact = exact_text(loss)
    return f"L = {short(loss)}" + (f" (exactly {exact})" if short(loss) != exact and "/" not in exact else "")


def draw_network(exercise: Exercise) -> Figure:
    """The picture as a matplotlib ``Figure`` (not yet saved), at most ``MAX_INCHES``
    on each side (at the 110 dpi of ``write_plot``: about 1400 x 1400 pixels)."""
    pic = NetworkPicture(exercise)
    sizes = pic.arch.sizes
    positions = _positions(sizes)
    slots = max(_slots(s) for s in sizes)
    half = (slots - 1) / 2 * NEURON_GAP
    condensed = [(k, len(positions[k]), s) for k, s in enumerate(sizes) if len(positions[k]) < s]

    # edges first: what they show decides the legend and the subtitle
    drawn_grads = [pic.gradient(k)[i, j] for k in range(1, pic.n + 1)
                   for i in positions[k - 1] for j in positions[k]]
    largest = max((abs(g) for g in drawn_grads), default=0) or 1  # one scale for every layer
    labelled, selected = {}, False
    for k in range(1, pic.n + 1):
        labelled[k], part = _labelled_edges(pic.gradient(k), list(positions[k - 1]), list(positions[k]))
        selected |= part

    title = exercise.title
    subtitle = _loss_text(pic)
    grads = [g for p in pic.exercise.architecture.parameter_shapes() for g in pic.exact.gradient(p).reshape(-1)]
    subtitle += (f"; {sum(g != 0 for g in grads)} of {len(grads)} parameters get a nonzero gradient; "
                 "edges: ∂L/∂W")
    notes = []
    if condensed:
        notes.append("; ".join(f"{_layer_name(k, pic.n)}: {drawn} of {size} neurons shown"
                               for k, drawn, size in condensed))
    if selected:
        notes.append(f"edge labels: the {EDGE_LABEL_TOP} largest |∂L/∂W| per layer"
                     + (" (of the edges drawn)" if condensed else "")
                     + (f" of more than {EDGE_LABEL_ALL} edges" if any(
                         len(positions[k - 1]) * len(positions[k]) <= EDGE_LABEL_ALL for k in range(1, pic.n + 1))
                        else ""))
    for note in notes:
        subtitle += "\n" + note
    if pic.batch > 1:
        subtitle += (f"\na batch of {pic.batch} examples: gradients of the batch "
                     "(draw one example with --example N to see its values)")
    heading = f"{title}\n{subtitle}"

    # size: the vertical scale (inches per data unit) of the chapter's picture, smaller if
    # the figure would grow past MAX_INCHES; margins, the horizontal spacing, the neurons'
    # radius and the text keep their size in inches
    top_margin = 0.3 + 0.21 * (heading.count("\n") + 1)
    bottom_margin = 0.75
    left, right = 2.15, 2.4  # inches beside the input and output layers, for their values
    gap_inches = min(LAYER_GAP * NATURAL_SCALE, (MAX_INCHES - 0.3 - left - right) / max(len(sizes) - 1, 1))
    two_line_headers = gap_inches < 2.3  # "hidden h3 (leaky ReLU)" is wider than that
    above = 1.1 if two_line_headers else 0.9
    y_span_inches = 0.8 + above  # below the lowest and above the highest neuron
    scale = min(NATURAL_SCALE, (MAX_INCHES - top_margin - bottom_margin - y_span_inches) / (2 * half or 1))
    positions = _positions(sizes, gap_inches / scale)
    radius = RADIUS * max(1.0, 0.75 * NATURAL_SCALE / scale)
    x_lo, x_hi = -left / scale, (len(sizes) - 1) * gap_inches / scale + right / scale
    y_lo, y_hi = -half - 0.8 / scale, half + above / scale
    width = (x_hi - x_lo) * scale + 0.3
    height = (y_hi - y_lo) * scale + top_margin + bottom_margin
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_axes((0.15 / width, bottom_margin / height, 1 - 0.3 / width, (y_hi - y_lo) * scale / height))
    ax.set_axis_off()
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_aspect("equal")

    valued = tuple(sizes[k] <= NODE_LABEL_LIMIT and pic.batch == 1 for k in range(len(sizes)))
    flagged = {(k, j) for k in range(len(sizes)) for j in positions[k]
               if sizes[k] <= NODE_LABEL_LIMIT and pic.status_text(k, j)}
    shown = set()  # which legend entries occur
    for k in range(1, pic.n + 1):
        grad = pic.gradient(k)
        # thinner lines in a dense fan (more than 64 drawn edges), so it does not turn to a blot
        thin = min(1.0, (64 / (len(positions[k - 1]) * len(positions[k]))) ** 0.5)
        for i in positions[k - 1]:
            for j in positions[k]:
                g = grad[i, j]
                colour = ZERO if g == 0 else (NEGATIVE if g < 0 else POSITIVE)
                shown.add(colour)
                lw = 0.8 if g == 0 else 1.2 + 4.8 * float(abs(g) / largest)
                dashed = (k - 1, i) in pic.zero_source
                shown.add("dashed") if dashed else None
                (x0, y0), (x1, y1) = positions[k - 1][i], positions[k][j]
                ax.plot([x0, x1], [y0, y1], color=colour, lw=lw * thin * min(1, scale / NATURAL_SCALE) ** 0.5,
                        zorder=1, solid_capstyle="round", linestyle=(0, (4, 3)) if dashed else "-",
                        gid=f"edge-W{k}-{i}-{j}")
        for (i, j), (x, y) in _edge_label_spots(positions, k, labelled[k], scale, valued, radius, flagged).items():
            g = grad[i, j]
            ax.text(x, y, short(g), fontsize=8, ha="center", va="center", zorder=4, gid=f"label-W{k}-{i}-{j}",
                    color=NEGATIVE if g < 0 else POSITIVE,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))

    for k, layer in enumerate(positions):
        for j, (x, y) in layer.items():
            dead, kink = (k, j) in pic.dead, (k, j) in pic.kinks
            ax.add_patch(Circle((x, y), radius, fc=DEAD_FACE if dead else ALIVE_FACE,
                                ec="#8a8a8a" if dead else "#333333", lw=1.4, zorder=3,
                                gid=f"neuron-{k}-{j}" + ("-dead" if dead else "")))
            if kink:
                ax.add_patch(Circle((x, y), radius + 0.08 / scale, fc="none", ec=KINK_RING, lw=2.6, zorder=3,
                                    gid=f"kink-{k}-{j}"))
            ax.text(x, y, str(j), ha="center", va="center", fontsize=9 if j < 100 else 7, zorder=5,
                    color="#777777" if dead else "black")
            text = pic.neuron_text(k, j) if valued[k] else ""
            status = pic.status_text(k, j) if sizes[k] <= NODE_LABEL_LIMIT else ""
            if k == 0:
                ax.text(x - radius - 0.14 / scale, y, text, ha="right", va="center", fontsize=9, zorder=5)
            elif k == pic.n:
                ax.text(x + radius + 0.14 / scale, y, text, ha="left", va="center", fontsize=9, zorder=5)
            elif text:
                ax.text(x, y - radius - 0.11 / scale, text, ha="center", va="top", fontsize=8.5, zorder=5,
                        linespacing=1.15, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.9))
            if status:
                colour = "#555555" if dead else KINK_RING
                ax.text(x, y + radius + 0.11 / scale, status, ha="center", va="bottom", fontsize=8.5, zorder=5,
                        gid=f"status-{k}-{j}",
                        color=colour, fontweight="bold",
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
        if len(layer) < sizes[k]:
            x = k * gap_inches / scale
            y = ((_slots(sizes[k]) - 1) / 2 - DRAWN_HEAD) * NEURON_GAP
            ax.text(x, y, f"⋮ {sizes[k] - len(layer)} more", ha="center", va="center", fontsize=9,
                    zorder=5, gid=f"more-{k}", fontweight="bold", color="#333333",
                    bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="#8a8a8a", alpha=0.95))
    for k in range(len(sizes)):
        header = _layer_name(k, pic.n, pic.arch.activations)
        ax.text(k * gap_inches / scale, half + 0.7 / scale, header.replace(" (", "\n(") if two_line_headers else header,
                ha="center", va="bottom", fontsize=10, fontweight="bold", gid=f"header-{k}")

    fig.suptitle(heading, fontsize=11.5, y=1 - 0.12 / height, va="top")
    relu = "relu" in pic.arch.activations
    kinked = any(a in activations.KINKED for a in pic.arch.activations)
    handles = [Line2D([], [], color=NEGATIVE, lw=3, label="∂L/∂W < 0: the weight will increase")
               if NEGATIVE in shown else None,
               Line2D([], [], color=POSITIVE, lw=3, label="∂L/∂W > 0: the weight will decrease")
               if POSITIVE in shown else None,
               Line2D([], [], color=ZERO, lw=1.5, label="∂L/∂W = 0: no gradient") if ZERO in shown else None,
               Line2D([], [], color="#555555", lw=1.5, linestyle=(0, (4, 3)),
                      label="from a zero input or dead neuron" if relu else "from a zero input")
               if "dashed" in shown else None,
               Patch(fc=DEAD_FACE, ec="#8a8a8a", label="dead ReLU neuron (z ≤ 0, ReLU′ = 0)") if relu else None,
               Line2D([], [], marker="o", color="none", markerfacecolor="none", markeredgecolor=KINK_RING,
                      markeredgewidth=2.4, markersize=12, label="on the kink (z = 0 exactly)")
               if kinked else None]
    handles = [h for h in handles if h is not None]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8.5, frameon=False,
               bbox_to_anchor=(0.5, 0.005), handlelength=2.6)
    return fig


def _palette_png(fig: Figure) -> bytes:
    """``fig`` as a PNG of at most 256 colours (Pillow, matplotlib's own image library):
    the picture has few colours, and a dense network's antialiased edges would otherwise
    make an RGBA file of well over a megabyte."""
    from PIL import Image
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    buffer.seek(0)
    with Image.open(buffer) as image:
        palette = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def write_plot(exercise: Exercise, path) -> Path:
    """Draw the picture of ``exercise`` and write it to ``path`` (``.png`` or ``.svg``,
    any case), atomically: never a half-written file. SVG text stays text
    (``svg.fonttype = none``), so its labels are searchable; a PNG is 110 dpi with a
    palette of 256 colours (at most about 1400 x 1400 pixels, well under a megabyte).

    Raises ``PlotError`` for another extension or a directory that does not exist or
    cannot be written.
    """
    check_path(path)
    return save_figure(draw_network(exercise), path)


def check_path(path) -> None:
    """Raise ``PlotError`` unless ``path`` ends in .png or .svg (any case) and lies in an
    existing directory: checked before anything is drawn."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise PlotError(f"expected a file name ending in .svg or .png; got {str(path)!r}")
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise PlotError(f"{str(path)!r}: expected an existing directory {str(directory)!r}")


def save_figure(fig: Figure, path) -> Path:
    """Write ``fig`` to ``path`` as ``write_plot`` does (``check_path`` first; SVG text as
    text, PNG 110 dpi with 256 colours), atomically through ``atomic_output``. Raises
    ``PlotError`` for a bad name or a file that cannot be written."""
    check_path(path)
    path = Path(path)
    suffix = path.suffix.lower()
    directory = path.parent if str(path.parent) else Path(".")
    try:
        with atomic_output(path, binary=True) as stream, matplotlib.rc_context(
                {"svg.fonttype": "none", "svg.hashsalt": "backprop-crosscheck"}):
            if suffix == ".svg":
                fig.savefig(stream, format="svg", dpi=110, metadata={"Date": None})
            else:
                stream.write(_palette_png(fig))
    except OSError as error:
        raise PlotError(f"{str(path)!r}: cannot write in {str(directory)!r} ({error.strerror or error})") from None
    return path
