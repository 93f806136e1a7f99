"""The picture: the network as layers of neurons, its gradients drawn on the edges.

As the chapter's figure of gradients flowing backward: every weight W_k[i][j] is an edge
from neuron i of layer k-1 to neuron j of layer k, coloured by the sign of its exact
gradient dL/dW_k[i][j] (blue: negative, gradient descent raises the weight; red:
positive, it lowers it; pale grey: zero, the weight does not move) with a width that
grows with |dL/dW|. An edge whose source is 0 (a zero input pixel, a dead neuron's h)
is dashed: no gradient can flow along it. Each edge's label sits on its own edge, turned
along it, where no other label, neuron or text is and the fewest other edges cross it
(``compare.plot_labels``, measured with the renderer). Each neuron's bias is a small box
above it, on a stub coloured like an edge, holding dL/db (the weight of a constant 1).
Dead ReLU neurons (z <= 0: ReLU' = 0, the text's convention; only plain ReLU: a leaky
ReLU never dies) are greyed and labelled; a ReLU or leaky ReLU neuron exactly on the
kink (z = 0 exactly, ``compare.kinks``) gets an orange ring. Inputs show their pixel
values, hidden neurons z, h and dL/dz, outputs y_hat, the target y and dL/dy_hat; for a
batch, a table per neuron with a row per example (the values the batch's gradients
sum). Layer headers name the activation; the title carries the exact loss (or the
50-digit one, for sigmoid and tanh networks). All values come from the ground-truth pass
of ``reference.backprop`` (Fractions, or mpmath; ``compare.picture``).

The figure stays at most ``MAX_INCHES`` a side (about 1400 x 1400 pixels as PNG): a
layer of more than ``DRAWN_LIMIT`` neurons is drawn in part (the first ``DRAWN_HEAD``,
a "⋮ N more" marker, the last ``DRAWN_TAIL``; the subtitle says which layers), edge
widths share one scale over the drawn edges. A weight layer with more than
``EDGE_LABEL_ALL`` drawn edges labels only its ``EDGE_LABEL_TOP`` largest |dL/dW|; a
layer of more than ``NODE_LABEL_LIMIT`` neurons is drawn without per-neuron values and
bias boxes, and so is a batch whose tables would not fit at full size. A neuron of a
batch counts as dead when it is dead in every example. The legend lists only what the
picture can show.

Drawn with matplotlib's object API (``Figure``, the Agg/SVG canvases; no pyplot state)
and written atomically: a temporary file in the target directory, then ``os.replace``.
"""
import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import mpmath
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch
import numpy as np

from compare.formatting import exact_text
from compare.picture import TABLE_WIDTH, NetworkPicture, short  # noqa: F401 (short: the labels' numbers, tests use it)
from compare.plot_labels import EdgeLabel, place
from compare.usage import atomic_output
from reference import activations
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
# inches: the bias box's stub above a neuron, a line of the values under a hidden neuron
# (one example) and of a batch's table, the room a status line ("dead") takes above the box
BIAS_STUB, VALUE_LINE, TABLE_LINE, STATUS_ROOM = 0.25, 0.137, 0.125, 0.22


class PlotError(ValueError):
    """A file the picture cannot be written to; ``str`` is one line."""


def _drawn(size: int) -> list[int]:
    """The neurons of a layer that are drawn: all of them up to ``DRAWN_LIMIT``, else the
    first ``DRAWN_HEAD`` and the last ``DRAWN_TAIL`` (a "⋮ N more" marker between)."""
    if size <= DRAWN_LIMIT:
        return list(range(size))
    return list(range(DRAWN_HEAD)) + list(range(size - DRAWN_TAIL, size))


def _slots(size: int) -> int:
    """Vertical places a layer takes: its drawn neurons, plus one for the marker."""
    return size if size <= DRAWN_LIMIT else DRAWN_HEAD + 1 + DRAWN_TAIL


def _positions(sizes, layer_gap: float = LAYER_GAP, neuron_gap: float = NEURON_GAP) -> list[dict]:
    """Per layer, ``{neuron index: (x, y)}`` in data units for the drawn neurons."""
    layers = []
    for k, size in enumerate(sizes):
        slots = _slots(size)
        places = {}
        for slot, j in enumerate(_drawn(size)):
            if size > DRAWN_LIMIT and slot >= DRAWN_HEAD:
                slot += 1  # leave the marker's place free
            places[j] = (k * layer_gap, ((slots - 1) / 2 - slot) * neuron_gap)
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



@dataclass
class Layout:
    """Where everything goes: ``scale`` inches per data unit, neuron ``positions`` per
    layer (data units), the neuron ``radius`` (data units), the figure's size and limits,
    and per layer whether its neurons show their values (``valued``) and bias boxes
    (``biased``)."""
    positions: list
    scale: float
    radius: float
    gap_inches: float
    half: float
    valued: tuple
    biased: tuple
    two_line_headers: bool
    size: tuple
    limits: tuple
    bottom_margin: float
    header_y: float


def _value_height(pic: NetworkPicture, layer: int) -> float:
    """Inches a neuron's values take: under a hidden neuron three lines, beside an input
    one and beside an output two; a batch's table (a row per example) anywhere."""
    if pic.batch > 1:
        return pic.table_rows() * TABLE_LINE
    return (1 if layer == 0 else 2 if layer == pic.n else 3) * VALUE_LINE


def _layout(pic: NetworkPicture, heading: str) -> Layout:
    """The size of everything: the chapter's scale, smaller if the figure would pass
    ``MAX_INCHES``; the richest of (values, bias boxes and statuses), (bias boxes and
    statuses), (statuses) whose room above and below each neuron the final neuron gap
    leaves. Inputs and outputs show their values beside them wherever those fit; layers of
    more than ``NODE_LABEL_LIMIT`` neurons never show values or bias boxes."""
    sizes = pic.arch.sizes
    slots = max(_slots(s) for s in sizes)
    radius_inches = RADIUS * NATURAL_SCALE
    top_margin = 0.3 + 0.21 * (heading.count("\n") + 1)
    bottom_margin = 0.75
    left, right = 2.15, 2.4  # inches beside the input and output layers, for their values
    gap_inches = min(LAYER_GAP * NATURAL_SCALE, (MAX_INCHES - 0.3 - left - right) / max(len(sizes) - 1, 1))
    two_line_headers = gap_inches < 2.3  # "hidden h3 (leaky ReLU)" is wider than that
    hidden_values = max((_value_height(pic, k) for k in range(1, pic.n)), default=0)
    for values, biases in ((True, True), (False, True), (False, False)):
        above_neuron = radius_inches + (BIAS_STUB + 0.16 if biases else 0.11) + STATUS_ROOM  # box, status
        below = radius_inches + (0.11 + hidden_values if values and hidden_values else 0)
        needed = below + above_neuron + 0.08  # centre to centre: the values below one, the box above the next
        neuron_gap = max(NEURON_GAP * NATURAL_SCALE, needed)
        above = above_neuron + 0.25 + (0.2 if two_line_headers else 0)  # the header over the top neuron
        below_span = max(0.8, below + 0.1)
        half_units = (slots - 1) / 2 * neuron_gap / NATURAL_SCALE
        left_for_neurons = MAX_INCHES - top_margin - bottom_margin - above - below_span
        scale = min(NATURAL_SCALE, left_for_neurons / (2 * half_units or 1))
        if slots == 1 or neuron_gap / NATURAL_SCALE * scale >= needed - 1e-9:
            break
    room = neuron_gap / NATURAL_SCALE * scale - 0.15  # inches beside an input or output for its values
    fits = tuple(size <= NODE_LABEL_LIMIT for size in sizes)
    valued = tuple(fits[k] and (values if 0 < k < pic.n else slots == 1 or _value_height(pic, k) <= room)
                   for k in range(len(sizes)))
    positions = _positions(sizes, gap_inches / scale, neuron_gap / NATURAL_SCALE)
    radius = RADIUS * max(1.0, 0.75 * NATURAL_SCALE / scale)
    x_lo, x_hi = -left / scale, (len(sizes) - 1) * gap_inches / scale + right / scale
    y_lo, y_hi = -half_units - below_span / scale, half_units + above / scale
    width = (x_hi - x_lo) * scale + 0.3
    height = (y_hi - y_lo) * scale + top_margin + bottom_margin
    return Layout(positions, scale, radius, gap_inches, half_units, valued, tuple(f and biases for f in fits),
                  two_line_headers, (width, height), (x_lo, x_hi, y_lo, y_hi), bottom_margin,
                  half_units + (above_neuron + 0.05) / scale)


def _colour(g) -> str:
    return ZERO if g == 0 else (NEGATIVE if g < 0 else POSITIVE)


def _line_width(g, largest, thin: float, scale: float) -> float:
    return (0.8 if g == 0 else 1.2 + 4.8 * float(abs(g) / largest)) * thin * min(1, scale / NATURAL_SCALE) ** 0.5


def _draw_edges(ax, pic: NetworkPicture, layout: Layout, largest, shown: set) -> dict:
    """Every drawn weight as a line; returns the segments (data points) per weight layer."""
    segments = {}
    for k in range(1, pic.n + 1):
        grad, before, after = pic.gradient(k), layout.positions[k - 1], layout.positions[k]
        # thinner lines in a dense fan (more than 64 drawn edges), so it does not turn to a blot
        thin = min(1.0, (64 / (len(before) * len(after))) ** 0.5)
        segments[k] = []
        for i, start in before.items():
            for j, end in after.items():
                g, dashed = grad[i, j], (k - 1, i) in pic.zero_source
                shown.add(_colour(g))
                if dashed:
                    shown.add("dashed")
                ax.plot([start[0], end[0]], [start[1], end[1]], color=_colour(g), zorder=1,
                        lw=_line_width(g, largest, thin, layout.scale), solid_capstyle="round",
                        linestyle=(0, (4, 3)) if dashed else "-", gid=f"edge-W{k}-{i}-{j}")
                segments[k].append((start, end))
    return segments


def _bias_spots(layout: Layout, k: int, j: int) -> tuple:
    """Data points of the bias stub's ends and of the status line above the box."""
    x, y = layout.positions[k][j]
    top = y + layout.radius
    box = y + (RADIUS * NATURAL_SCALE + BIAS_STUB) / layout.scale
    return (x, top), (x, box), (x, box + 0.2 / layout.scale)


def _draw_biases(ax, pic: NetworkPicture, layout: Layout, largest) -> list:
    """Each bias as a box above its neuron holding ∂L/∂b, on a stub coloured and as wide as
    an edge with that gradient; returns the stubs' segments."""
    stubs = []
    for k in range(1, pic.n + 1):
        if layout.biased[k] and pic.shared_bias_gradient(k) is not None:
            stubs.append(_draw_shared_bias(ax, pic.shared_bias_gradient(k), layout, k, largest))
        grad = pic.bias_gradient(k)
        if grad is None or not layout.biased[k]:
            continue
        for j in layout.positions[k]:
            stubs.append(_bias_box(ax, layout, k, j, grad[j], short(grad[j], TABLE_WIDTH), f"{k}-{j}", largest))
    return stubs


def _bias_box(ax, layout: Layout, k: int, j: int, g, text: str, gid: str, largest) -> tuple:
    """A box holding ``text`` above neuron j of layer k, on a stub coloured and as wide
    as an edge with gradient ``g``; returns the stub's segment."""
    (x, top), (_, box), _ = _bias_spots(layout, k, j)
    ax.plot([x, x], [top, box], color=_colour(g), lw=_line_width(g, largest, 1.0, layout.scale), zorder=2,
            gid=f"bias-edge-{gid}")
    ax.text(x, box, text, ha="center", va="bottom", fontsize=7.5, zorder=5, gid=f"bias-{gid}",
            color="#666666" if g == 0 else _colour(g),
            bbox=dict(boxstyle="square,pad=0.25", fc="white", ec=_colour(g), lw=1.1))
    return (x, top), (x, box)


def _top_neuron(layout: Layout, k: int) -> int:
    """The drawn neuron of layer k highest on the page (where a shared bias's box goes)."""
    return max(layout.positions[k], key=lambda j: layout.positions[k][j][1])


def _draw_shared_bias(ax, g, layout: Layout, k: int, largest) -> tuple:
    """One bias shared by layer k: its box above the top neuron, on a stub, and a dotted
    line down the layer's column to every neuron it is added to; returns the stub."""
    top = _top_neuron(layout, k)
    bottom = min(layout.positions[k], key=lambda j: layout.positions[k][j][1])
    stub = _bias_box(ax, layout, k, top, g, "shared " + short(g, TABLE_WIDTH), f"{k}-shared", largest)
    (x, stub_top), _ = stub
    ax.plot([x, x], [layout.positions[k][bottom][1], stub_top], color=_colour(g), lw=1.0, linestyle=":", zorder=0.5,
            gid=f"bias-column-{k}")
    return stub


def _has_box_above(pic: NetworkPicture, layout: Layout, k: int, j: int) -> bool:
    """Whether neuron j of layer k has a bias box above it: its own, or the layer's shared
    one above its top neuron."""
    if not layout.biased[k]:
        return False
    if pic.shared_bias_gradient(k) is not None:
        return j == _top_neuron(layout, k)
    return pic.bias_gradient(k) is not None


def _draw_neuron(ax, pic: NetworkPicture, layout: Layout, k: int, j: int) -> None:
    """One neuron: its circle (grey when dead, an orange ring on the kink), its index, its
    values (lines, or a batch's table) and its status."""
    x, y = layout.positions[k][j]
    scale, radius = layout.scale, layout.radius
    dead, kink = (k, j) in pic.dead, (k, j) in pic.kinks
    ax.add_patch(Circle((x, y), radius, fc=DEAD_FACE if dead else ALIVE_FACE, ec="#8a8a8a" if dead else "#333333",
                        lw=1.4, zorder=3, gid=f"neuron-{k}-{j}" + ("-dead" if dead else "")))
    if kink:
        ax.add_patch(Circle((x, y), radius + 0.08 / scale, fc="none", ec=KINK_RING, lw=2.6, zorder=3,
                            gid=f"kink-{k}-{j}"))
    ax.text(x, y, str(j), ha="center", va="center", fontsize=9 if j < 100 else 7, zorder=5,
            color="#777777" if dead else "black")
    text = pic.neuron_text(k, j) if layout.valued[k] else ""
    table = dict(fontfamily="DejaVu Sans Mono", fontsize=7, linespacing=1.2) if pic.batch > 1 else \
        dict(fontsize=9 if k in (0, pic.n) else 8.5, linespacing=1.15)
    if text and k in (0, pic.n):
        side = -1 if k == 0 else 1
        ax.text(x + side * (radius + 0.14 / scale), y, text, ha="right" if k == 0 else "left", va="center",
                zorder=5, gid=f"values-{k}-{j}", **table)
    elif text:
        ax.text(x, y - radius - 0.11 / scale, text, ha="center", va="top", zorder=5, gid=f"values-{k}-{j}",
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.9), **table)
    status = pic.status_text(k, j) if pic.arch.sizes[k] <= NODE_LABEL_LIMIT else ""
    if status:
        spot = _bias_spots(layout, k, j)[2] if _has_box_above(pic, layout, k, j) else \
            (x, y + radius + 0.11 / scale)
        ax.text(*spot, status, ha="center", va="bottom", fontsize=8.5, zorder=5, gid=f"status-{k}-{j}",
                color="#555555" if dead else KINK_RING, fontweight="bold",
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))


def _draw_layers(ax, pic: NetworkPicture, layout: Layout) -> None:
    """Every drawn neuron, the "⋮ N more" markers, the layer headers."""
    sizes, scale = pic.arch.sizes, layout.scale
    for k, layer in enumerate(layout.positions):
        for j in layer:
            _draw_neuron(ax, pic, layout, k, j)
        if len(layer) < sizes[k]:
            x = k * layout.gap_inches / scale
            y = ((_slots(sizes[k]) - 1) / 2 - DRAWN_HEAD) * layout.positions[k][0][1] / ((_slots(sizes[k]) - 1) / 2)
            ax.text(x, y, f"⋮ {sizes[k] - len(layer)} more", ha="center", va="center", fontsize=9,
                    zorder=5, gid=f"more-{k}", fontweight="bold", color="#333333",
                    bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="#8a8a8a", alpha=0.95))
    for k in range(len(sizes)):
        header = _layer_name(k, pic.n, pic.arch.activations)
        ax.text(k * layout.gap_inches / scale, layout.header_y,
                header.replace(" (", "\n(") if layout.two_line_headers else header,
                ha="center", va="bottom", fontsize=10, fontweight="bold", gid=f"header-{k}")


def _legend(fig, pic: NetworkPicture, shown: set, biases: bool) -> None:
    """Only what the picture shows."""
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
               Patch(fc="white", ec="#333333", label="box above a neuron: ∂L/∂b of its bias" + (
                   " (shared: of the one bias its layer shares)" if any(pic.arch.shared_bias) else ""))
               if biases else None,
               Patch(fc=DEAD_FACE, ec="#8a8a8a", label="dead ReLU neuron (z ≤ 0, ReLU′ = 0)") if relu else None,
               Line2D([], [], marker="o", color="none", markerfacecolor="none", markeredgecolor=KINK_RING,
                      markeredgewidth=2.4, markersize=12, label="on the kink (z = 0 exactly)")
               if kinked else None]
    fig.legend(handles=[h for h in handles if h is not None], loc="lower center", ncol=3, fontsize=8.5,
               frameon=False, bbox_to_anchor=(0.5, 0.005), handlelength=2.6)


def _label_edges(fig, ax, pic: NetworkPicture, layout: Layout, labelled: dict, segments: dict, stubs: list) -> None:
    """A label per labelled edge, on its own edge (``compare.plot_labels``), the largest
    |∂L/∂W| placed first."""
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax.apply_aspect()
    obstacles = [t.get_window_extent(renderer).padded(2) for t in ax.texts if t.get_text().strip()]
    obstacles += [p.get_window_extent(renderer) for p in ax.patches]
    order = sorted(((k, i, j) for k in labelled for i, j in labelled[k]),
                   key=lambda e: (-abs(pic.gradient(e[0])[e[1], e[2]]), e))
    for k, i, j in order:
        g = pic.gradient(k)[i, j]
        start, end = layout.positions[k - 1][i], layout.positions[k][j]
        text = ax.text(*start, short(g), fontsize=8, ha="center", va="center", rotation_mode="anchor", zorder=4,
                       gid=f"label-W{k}-{i}-{j}", color=NEGATIVE if g < 0 else POSITIVE,
                       bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.9))
        place(ax, renderer, [EdgeLabel(text, start, end)], segments[k] + stubs, obstacles)


def draw_network(exercise: Exercise) -> Figure:
    """The picture as a matplotlib ``Figure`` (not yet saved), at most ``MAX_INCHES``
    on each side (at the 110 dpi of ``write_plot``: about 1400 x 1400 pixels)."""
    pic = NetworkPicture(exercise)
    sizes = pic.arch.sizes
    positions = _positions(sizes)
    condensed = [(k, len(positions[k]), s) for k, s in enumerate(sizes) if len(positions[k]) < s]

    # edges first: what they show decides the legend and the subtitle
    drawn_grads = [pic.gradient(k)[i, j] for k in range(1, pic.n + 1)
                   for i in positions[k - 1] for j in positions[k]]
    drawn_grads += [g for k in range(1, pic.n + 1) if pic.bias_gradient(k) is not None
                    for j, g in enumerate(pic.bias_gradient(k)) if j in positions[k]]
    drawn_grads += [pic.shared_bias_gradient(k) for k in range(1, pic.n + 1) if pic.arch.shares_bias(k)]
    largest = max((abs(g) for g in drawn_grads), default=0) or 1  # one scale for every layer and bias
    labelled, selected = {}, False
    for k in range(1, pic.n + 1):
        labelled[k], part = _labelled_edges(pic.gradient(k), list(positions[k - 1]), list(positions[k]))
        selected |= part

    grads = [g for name, value in pic.exact.values.items() if name.startswith(("dL/dW", "dL/db"))
             for g in value.reshape(-1)]
    subtitle = (f"{_loss_text(pic)}; {sum(g != 0 for g in grads)} of {len(grads)} parameters get a nonzero "
                "gradient; edges: ∂L/∂W")
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
    layout = _layout(pic, "\n".join([exercise.title, subtitle, *notes]))
    fitting = all(size <= NODE_LABEL_LIMIT for size in sizes)
    if pic.batch > 1 or (fitting and not all(layout.valued)):  # a line more: the layout again, with it
        layout = _layout(pic, "\n".join([exercise.title, subtitle, *notes, "one more line"]))
    if pic.batch > 1:
        notes.append(f"a batch of {pic.batch} examples: edges" + (" and bias boxes" if any(layout.biased) else "")
                     + " carry the batch's gradients, "
                     + ("the tables each example's values (ex)" if any(layout.valued) else
                        "too many examples or neurons for a table per neuron (draw one with --example N)"))
    elif fitting and not all(layout.valued):
        notes.append("too many neurons to show every value at full size"
                     + ("" if any(layout.biased) else " or the bias gradients"))
    heading = "\n".join([exercise.title, subtitle, *notes])

    width, height = layout.size
    x_lo, x_hi, y_lo, y_hi = layout.limits
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_axes((0.15 / width, layout.bottom_margin / height, 1 - 0.3 / width,
                       (y_hi - y_lo) * layout.scale / height))
    ax.set_axis_off()
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_aspect("equal")

    shown = set()  # which legend entries occur
    segments = _draw_edges(ax, pic, layout, largest, shown)
    stubs = _draw_biases(ax, pic, layout, largest)
    _draw_layers(ax, pic, layout)
    fig.suptitle(heading, fontsize=11.5, y=1 - 0.12 / height, va="top")
    _legend(fig, pic, shown, bool(stubs))
    _label_edges(fig, ax, pic, layout, labelled, segments, stubs)
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
