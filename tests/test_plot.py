"""The picture (compare.plot): files written, what is marked, bad file names."""
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from compare.cli import main
from compare.plot import PlotError, draw_network, short, write_plot
from reference.exercise import load_exercise
from tests.networks import network_toml

SVG = "{http://www.w3.org/2000/svg}"


def svg_tree(path):
    root = ET.parse(path).getroot()
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("id")}
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    return root, groups, texts


def group_text(group):
    return "".join("".join(t.itertext()) for t in group.iter(f"{SVG}text"))


def test_chapter7_png(chapter7, tmp_path):
    path = write_plot(chapter7, tmp_path / "chapter7.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 600 and image.shape[1] > 900
    assert len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 50  # not blank
    assert [p.name for p in tmp_path.iterdir()] == ["chapter7.png"]  # no temporary left


def test_chapter7_svg_marks_dead_neurons_kink_zero_input_and_loss(chapter7, tmp_path):
    path = write_plot(chapter7, tmp_path / "chapter7.svg")
    root, groups, texts = svg_tree(path)
    assert root.tag == f"{SVG}svg"
    assert "L = 0.89625" in " ".join(texts)
    # hidden neurons 0 and 1 are dead (z1 = [0, -0.1, 0.5]); neuron 0 is exactly on the kink
    assert "neuron-1-0-dead" in groups and "neuron-1-1-dead" in groups and "neuron-1-2" in groups
    assert group_text(groups["status-1-0"]) == "dead, on the kink (z = 0)"
    assert group_text(groups["status-1-1"]) == "dead"
    assert "status-1-2" not in groups
    assert "kink-1-0" in groups and not any(g.startswith("kink-") and g != "kink-1-0" for g in groups)
    # 12 + 12 edges; x[1] = 0, so its edges are dashed, and so are the dead neurons' outgoing ones
    edges = {g: groups[g] for g in groups if g.startswith("edge-")}
    assert len(edges) == 24
    dashed = {g for g, e in edges.items() if "stroke-dasharray" in ET.tostring(e, encoding="unicode")}
    assert dashed == {f"edge-W1-1-{j}" for j in range(3)} | {f"edge-W2-{i}-{j}" for i in (0, 1) for j in range(4)}
    # edge colour: dL/dW1[0][2] = 0.44 > 0 red, dL/dW2[2][3] = -0.3125 < 0 blue, zero grey
    assert "#c8312b" in ET.tostring(edges["edge-W1-0-2"], encoding="unicode")
    assert "#1f62b4" in ET.tostring(edges["edge-W2-2-3"], encoding="unicode")
    assert "#c9c9c9" in ET.tostring(edges["edge-W1-0-0"], encoding="unicode")
    # only the 7 nonzero weight gradients are labelled, with their exact values
    labels = {g: group_text(groups[g]) for g in groups if g.startswith("label-")}
    assert labels == {"label-W1-0-2": "0.44", "label-W1-2-2": "0.44", "label-W1-3-2": "0.44",
                      "label-W2-2-0": "-0.225", "label-W2-2-1": "-0.275", "label-W2-2-2": "-0.0125",
                      "label-W2-2-3": "-0.3125"}
    joined = "\n".join(texts)
    for value in ("x[1] = 0", "z = -0.1", "h = 0.5", "∂L/∂z = 0.44", "ŷ[3] = -0.25", "y = 1", "∂L/∂ŷ = -0.625"):
        assert value in joined, value


def test_wider_thicker_edge_for_a_larger_gradient(chapter7, tmp_path):
    _, groups, _ = svg_tree(write_plot(chapter7, tmp_path / "c.svg"))

    def width(gid):
        style = ET.tostring(groups[gid], encoding="unicode")
        return float(style.split("stroke-width: ")[1].split('"')[0].split(";")[0])
    # |dL/dW1[0][2]| = 0.44 > |dL/dW2[2][3]| = 0.3125 > |dL/dW2[2][2]| = 0.0125 > 0
    assert width("edge-W1-0-2") > width("edge-W2-2-3") > width("edge-W2-2-2") > width("edge-W1-0-0")


def test_deep_and_wide_networks(tmp_path):
    text = """title = "deep"
[network]
sizes = [3, 10, 4, 2]
activations = ["relu", "relu", "identity"]
[parameters]
W1 = [%s]
b1 = [%s]
W2 = [%s]
b2 = [0.1, 0.0, -0.1, 0.2]
W3 = [[0.5, -0.5], [0.3, 0.2], [-0.2, 0.4], [0.1, 0.1]]
b3 = [0.0, 0.1]
[[examples]]
x = [1, 0, 2]
y = [1, 0]
""" % (", ".join(["[" + ", ".join(f"{(-1) ** (i + j) * 0.1 * ((i + j) % 4)}" for j in range(10)) + "]"
                  for i in range(3)]),
       ", ".join(f"{0.1 * ((j % 3) - 1)}" for j in range(10)),
       ", ".join(["[" + ", ".join(f"{0.1 * ((i * j) % 5 - 2)}" for j in range(4)) + "]" for i in range(10)]))
    path = tmp_path / "deep.toml"
    path.write_text(text)
    exercise = load_exercise(path)
    _, groups, texts = svg_tree(write_plot(exercise, tmp_path / "deep.svg"))
    assert sum(g.startswith("edge-W") for g in groups) == 3 * 10 + 10 * 4 + 4 * 2
    # 30 and 40 edges: only the 8 largest |dL/dW| labelled; the 4 -> 2 layer (8 edges) keeps all
    from reference.backprop import run_pass
    exact = run_pass(exercise, "exact")
    for k in (1, 2, 3):
        grad = exact.gradient(f"W{k}")
        labels = {tuple(map(int, g.split("-")[2:])) for g in groups if g.startswith(f"label-W{k}-")}
        nonzero = {(i, j) for i in range(grad.shape[0]) for j in range(grad.shape[1]) if grad[i, j] != 0}
        if k == 3:
            assert labels == nonzero
        else:
            assert len(labels) == min(8, len(nonzero)) and labels <= nonzero
            assert min(abs(grad[e]) for e in labels) >= max(abs(grad[e]) for e in nonzero - labels)
    assert "hidden h1 (ReLU)" in texts and "hidden h2 (ReLU)" in texts and "output ŷ (identity)" in texts
    assert any("edge labels: the 8 largest |∂L/∂W| per layer of more than 16 edges" in t for t in texts)


def test_batch_picture_says_it_is_a_batch(tmp_path):
    from compare.cli import BATCH_PATH
    _, groups, texts = svg_tree(write_plot(load_exercise(BATCH_PATH), tmp_path / "batch.svg"))
    assert any("a batch of 4 examples" in t for t in texts)
    assert group_text(groups["status-1-1"]) == "dead in all 4 examples"


def test_short_numbers():
    from fractions import Fraction
    assert short(Fraction("-0.0975")) == "-0.0975" and short(Fraction(1, 3)) == "0.333"
    assert short(Fraction(0)) == "0" and short(Fraction("0.123456789")) == "0.123"


@pytest.mark.parametrize("name", ["picture.pdf", "picture", "picture.svg.txt"])
def test_other_extensions_are_refused(chapter7, tmp_path, name):
    with pytest.raises(PlotError, match="expected a file name ending in .svg or .png"):
        write_plot(chapter7, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_half_written_file(chapter7, tmp_path, monkeypatch):
    target = tmp_path / "keep.png"
    target.write_bytes(b"old picture")

    def broken_savefig(self, stream, **kwargs):
        stream.write(b"\x89PNG half")
        raise OSError("disk full")
    monkeypatch.setattr("matplotlib.figure.Figure.savefig", broken_savefig)
    with pytest.raises(PlotError, match="disk full"):  # one line for the CLI, not a traceback
        write_plot(chapter7, target)
    assert target.read_bytes() == b"old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_cli_plot(tmp_path, capsys):
    assert main(["plot", "-o", str(tmp_path / "c.SVG")]) == 0
    assert (tmp_path / "c.SVG").exists() and "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("args, expected", [
    (["plot", "-o", "picture.jpg"], "--output: expected a file name ending in .svg or .png"),
    (["plot", "-o", "/no/such/dir/c.png"], "expected an existing directory"),
    (["plot", "-o", "c.png", "--steps", "2"], "unrecognized arguments: --steps"),
])
def test_cli_plot_bad_usage_exits_2(args, expected, capsys):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and expected in captured.err and len(captured.err.strip().splitlines()) == 1


def test_figure_is_built_without_pyplot(chapter7):
    import sys
    fig = draw_network(chapter7)
    assert fig.axes and "matplotlib.pyplot" not in sys.modules


def test_written_file_has_the_usual_mode(chapter7, tmp_path):
    import os
    mask = os.umask(0o022)
    try:
        path = write_plot(chapter7, tmp_path / "c.png")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("sizes", [[20, 8, 3], [50, 60, 10]])
def test_wide_networks_give_a_bounded_picture(tmp_path, sizes):
    path = tmp_path / "wide.toml"
    path.write_text(network_toml(sizes, ["relu", "identity"]))
    exercise = load_exercise(path)
    png = write_plot(exercise, tmp_path / "wide.png")
    height, width = matplotlib.image.imread(png).shape[:2]
    assert 900 <= width <= 1400 and 900 <= height <= 1400, (width, height)
    assert png.stat().st_size < 1_500_000
    _, groups, texts = svg_tree(write_plot(exercise, tmp_path / "wide.svg"))
    drawn = [min(size, 15) for size in sizes]  # more than 16: the first 12, a marker, the last 3
    for k, size in enumerate(sizes):
        neurons = {int(g.split("-")[2]) for g in groups if g.startswith(f"neuron-{k}-")}
        if size > 16:
            assert neurons == set(range(12)) | set(range(size - 3, size))
            assert group_text(groups[f"more-{k}"]) == f"⋮ {size - 15} more"
        else:
            assert neurons == set(range(size)) and f"more-{k}" not in groups
    assert sum(g.startswith("edge-W") for g in groups) == drawn[0] * drawn[1] + drawn[1] * drawn[2]
    for k in (1, 2):  # more than 16 edges: at most 8 labels, on drawn edges
        labels = [g for g in groups if g.startswith(f"label-W{k}-")]
        assert 0 < len(labels) <= 8 and all(g.replace("label-", "edge-") in groups for g in labels)
    joined = "\n".join(texts)
    assert "input x: 15 of 20 neurons shown" in joined if sizes[0] == 20 else \
        "input x: 15 of 50 neurons shown; hidden h: 15 of 60 neurons shown" in joined
    assert "edge labels: the 8 largest |∂L/∂W| per layer (of the edges drawn)" in joined


def leaky_or_relu(tmp_path, activation):
    # z1 = x @ W1 + b1 = [0, -1]: neuron 0 exactly on the kink, neuron 1 below it
    path = tmp_path / f"{activation}.toml"
    path.write_text(f"""title = "kink"
[network]
sizes = [2, 2, 1]
activations = ["{activation}", "identity"]
[parameters]
W1 = [[1, -1], [0.5, 0.5]]
b1 = [-1, 0]
W2 = [[0.5], [0.5]]
b2 = [0]
[[examples]]
x = [1, 0]
y = [1]
""")
    return load_exercise(path)


def test_a_leaky_relu_neuron_is_never_dead_but_can_sit_on_the_kink(tmp_path):
    _, groups, texts = svg_tree(write_plot(leaky_or_relu(tmp_path, "leaky_relu"), tmp_path / "l.svg"))
    assert "neuron-1-0" in groups and "neuron-1-1" in groups
    assert not any(g.endswith("-dead") for g in groups)
    assert group_text(groups["status-1-0"]) == "on the kink (z = 0)" and "kink-1-0" in groups
    assert "status-1-1" not in groups and "kink-1-1" not in groups
    assert "hidden h (leaky ReLU)" in texts
    assert "on the kink (z = 0 exactly)" in texts and not any("dead" in t for t in texts)
    # the same network with plain ReLU: both neurons dead
    _, groups, texts = svg_tree(write_plot(leaky_or_relu(tmp_path, "relu"), tmp_path / "r.svg"))
    assert "neuron-1-0-dead" in groups and "neuron-1-1-dead" in groups
    assert group_text(groups["status-1-0"]) == "dead, on the kink (z = 0)"
    assert group_text(groups["status-1-1"]) == "dead"
    assert "dead ReLU neuron (z ≤ 0, ReLU′ = 0)" in texts and "from a zero input or dead neuron" in texts


def test_sigmoid_network_legend_headers_and_50_digit_loss(tmp_path):
    exercise = load_exercise(Path(__file__).resolve().parents[1] / "reference" / "data" / "xor_2_2_1_sigmoid.toml")
    _, groups, texts = svg_tree(write_plot(exercise, tmp_path / "xor.svg"))
    joined = "\n".join(texts)
    assert "L ≈ 0.698480610782 (50-digit ground truth)" in joined and "exactly" not in joined
    assert "hidden h (sigmoid)" in texts and "output ŷ (sigmoid)" in texts
    assert not any(g.endswith("-dead") or g.startswith(("kink-", "status-")) for g in groups)
    # no ReLU, no kink, no zero input in every example, no zero gradient: none of those in the legend
    for absent in ("dead", "kink", "zero input", "no gradient"):
        assert absent not in joined, absent
    assert "∂L/∂W < 0: the weight will increase" in texts and "∂L/∂W > 0: the weight will decrease" in texts


def test_chapter7_headers_and_full_legend(chapter7, tmp_path):
    _, _, texts = svg_tree(write_plot(chapter7, tmp_path / "c.svg"))
    assert "hidden h (ReLU)" in texts and "output ŷ (identity)" in texts and "input x" in texts
    for entry in ("∂L/∂W = 0: no gradient", "from a zero input or dead neuron",
                  "dead ReLU neuron (z ≤ 0, ReLU′ = 0)", "on the kink (z = 0 exactly)"):
        assert entry in texts, entry
    assert not any("edge labels" in t or "neurons shown" in t for t in texts)


def test_headers_of_a_deep_network_do_not_overlap(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    path = tmp_path / "six.toml"
    path.write_text(network_toml([4, 8, 8, 8, 8, 2], ["relu", "tanh", "leaky_relu", "sigmoid", "identity"], 1))
    fig = draw_network(load_exercise(path))
    renderer = FigureCanvasAgg(fig).get_renderer()
    headers = sorted((t for t in fig.axes[0].texts if (t.get_gid() or "").startswith("header-")),
                     key=lambda t: t.get_gid())
    assert [t.get_text() for t in headers][2:4] == ["hidden h2\n(tanh)", "hidden h3\n(leaky ReLU)"]
    boxes = [t.get_window_extent(renderer) for t in headers]
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:]))
    width, height = fig.get_size_inches()
    assert width <= 12.7 and height <= 12.7


# ---- edge labels on their own edge, bias boxes, the batch's tables ----

def _figure_parts(exercise):
    """The drawn figure, its renderer, and its texts and edges by gid."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    fig = draw_network(exercise)
    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.axes[0]
    texts = {t.get_gid(): t for t in ax.texts if t.get_gid()}
    edges = {line.get_gid(): line for line in ax.lines if (line.get_gid() or "").startswith("edge-")}
    return ax, renderer, texts, edges


def _screen_segment(ax, line):
    xs, ys = line.get_data()
    return [tuple(p) for p in ax.transData.transform(list(zip(xs, ys)))]


def _label_cases(tmp_path):
    from compare.cli import BATCH_PATH
    data = Path(__file__).resolve().parents[1] / "reference" / "data"
    cases = {p.stem: load_exercise(p) for p in [BATCH_PATH, *sorted(data.glob("*.toml"))]}
    for sizes, activations, examples in (([3, 6, 5, 2], ["tanh", "relu", "identity"], 1),
                                         ([3, 6, 5, 2], ["tanh", "relu", "identity"], 3),
                                         ([20, 8, 3], ["relu", "identity"], 2)):
        path = tmp_path / f"{'-'.join(map(str, sizes))}-{examples}.toml"
        path.write_text(network_toml(sizes, activations, examples))
        cases[path.stem] = load_exercise(path)
    return cases


def test_edge_labels_sit_on_their_own_edge_and_overlap_nothing(tmp_path):
    from compare.plot_labels import upright_angle
    for name, exercise in _label_cases(tmp_path).items():
        ax, renderer, texts, edges = _figure_parts(exercise)
        labels = {gid: t for gid, t in texts.items() if gid.startswith("label-")}
        assert labels, name
        boxes = {gid: t.get_window_extent(renderer) for gid, t in labels.items()}
        others = [t.get_window_extent(renderer) for gid, t in texts.items() if not gid.startswith("label-")]
        others += [p.get_window_extent(renderer) for p in ax.patches]
        names = sorted(boxes)
        for i, a in enumerate(names):
            assert not any(boxes[a].overlaps(boxes[b]) for b in names[i + 1:]), (name, a)
            assert not any(boxes[a].overlaps(o) for o in others), (name, a)
            # on its own edge, turned along it
            (x0, y0), (x1, y1) = _screen_segment(ax, edges[a.replace("label-", "edge-")])
            cx, cy = ax.transData.transform(labels[a].get_position())
            distance = abs((x1 - x0) * (y0 - cy) - (x0 - cx) * (y1 - y0)) / np.hypot(x1 - x0, y1 - y0)
            assert distance < 0.5 and min(x0, x1) <= cx <= max(x0, x1), (name, a)
            edge = edges[a.replace("label-", "edge-")].get_data()
            angle = upright_angle(ax, (edge[0][0], edge[1][0]), (edge[0][1], edge[1][1]))
            assert abs(labels[a].get_rotation() % 360 - angle % 360) < 0.5, (name, a)


def test_no_other_edge_crosses_a_label_of_a_bundled_network(tmp_path):
    from compare.plot_labels import crossings
    for name, exercise in _label_cases(tmp_path).items():
        if "-" in name:  # the generated dense networks: crossings are unavoidable there
            continue
        ax, renderer, texts, edges = _figure_parts(exercise)
        for gid, text in texts.items():
            if not gid.startswith("label-"):
                continue
            layer = gid.split("-")[1]
            others = [_screen_segment(ax, e) for g, e in edges.items()
                      if g.split("-")[1] == layer and g != gid.replace("label-", "edge-")]
            rotation = text.get_rotation()
            text.set_rotation(0)
            size = text.get_window_extent(renderer)
            text.set_rotation(rotation)
            center = ax.transData.transform(text.get_position())
            assert crossings(center, rotation, (size.width, size.height), others) == 0, (name, gid)


def test_a_label_where_two_edges_cross_is_seen_crossed():
    """The check above can fail: a label put where edges W2-0-2 and W2-2-0 of the batch cross."""
    from compare.cli import BATCH_PATH
    from compare.plot_labels import crossings
    ax, renderer, texts, edges = _figure_parts(load_exercise(BATCH_PATH))
    (a0, a1), (b0, b1) = _screen_segment(ax, edges["edge-W2-0-2"]), _screen_segment(ax, edges["edge-W2-2-0"])
    da, db = np.subtract(a1, a0), np.subtract(b1, b0)
    def cross(u, v):
        return u[0] * v[1] - u[1] * v[0]
    t = cross(np.subtract(b0, a0), db) / cross(da, db)
    meeting = np.add(a0, t * da)
    angle = np.degrees(np.arctan2(da[1], da[0]))
    assert crossings(meeting, angle, (40, 12), [(b0, b1)]) == 1
    assert crossings(meeting + [0, 200], angle, (40, 12), [(b0, b1)]) == 0


def test_bias_gradients_are_drawn_in_boxes_above_the_neurons(chapter7, tmp_path):
    _, groups, texts = svg_tree(write_plot(chapter7, tmp_path / "c.svg"))
    assert [group_text(groups[f"bias-1-{j}"]) for j in range(3)] == ["0", "0", "0.44"]
    assert [group_text(groups[f"bias-2-{j}"]) for j in range(4)] == ["-0.45", "-0.55", "-0.025", "-0.625"]
    stub = {g: ET.tostring(groups[f"bias-edge-{g}"], encoding="unicode") for g in ("2-0", "1-2", "1-0")}
    assert "#1f62b4" in stub["2-0"] and "#c8312b" in stub["1-2"] and "#c9c9c9" in stub["1-0"]
    assert "box above a neuron: ∂L/∂b of its bias" in texts
    assert not any(g.startswith("bias-0-") for g in groups)  # inputs have no bias


def test_the_batch_picture_shows_the_values_it_sums():
    from fractions import Fraction
    from compare.cli import BATCH_PATH
    exercise = load_exercise(BATCH_PATH)
    _, _, texts, _ = _figure_parts(exercise)
    for k, column, size in ((1, 3, 3), (2, 3, 4)):  # ∂L/∂z of a hidden neuron, ∂L/∂ŷ of an output
        for j in range(size):
            lines = texts[f"values-{k}-{j}"].get_text().splitlines()
            assert lines[0].split()[0] == "ex" and len(lines) == 2 + 4
            rows = [line.split() for line in lines[2:]]
            assert [r[0] for r in rows] == ["0", "1", "2", "3"]
            total = sum(Fraction(r[column]) for r in rows)
            assert total == Fraction(texts[f"bias-{k}-{j}"].get_text()), (k, j)
    x = [[Fraction(line.split()[1]) for line in texts[f"values-0-{i}"].get_text().splitlines()[2:]] for i in range(4)]
    assert x == [[Fraction(v) for v in exercise.x[:, i]] for i in range(4)]
    z = [line.split()[1] for line in texts["values-1-0"].get_text().splitlines()[2:]]
    assert z == ["-0.1", "0.4", "0.6", "0"]  # neuron 0: alive in examples 1 and 2, on the kink in 3


def test_a_large_batch_shows_a_count_or_leaves_the_tables_out(tmp_path):
    path = tmp_path / "ten.toml"
    path.write_text(network_toml([2, 2, 1], ["relu", "identity"], 10))
    _, _, texts, _ = _figure_parts(load_exercise(path))
    lines = texts["values-1-0"].get_text().splitlines()
    assert len(lines) == 2 + 7 + 1 and lines[-1].split()[:3] == ["…", "3", "more"]
    path.write_text(network_toml([3, 12, 2], ["relu", "identity"], 30))
    _, _, texts, _ = _figure_parts(load_exercise(path))
    assert not any(g.startswith("values-") for g in texts)
    suptitle = draw_network(load_exercise(path))._suptitle.get_text()
    assert "too many examples or neurons for a table per neuron (draw one with --example N)" in suptitle


def test_a_shared_bias_is_one_box_above_its_layer_holding_the_sum(tmp_path):
    from reference import run_pass
    mazur = load_exercise(Path(__file__).resolve().parent.parent / "reference" / "data" / "mazur_as_written.toml")
    _, groups, texts = svg_tree(write_plot(mazur, tmp_path / "m.svg"))
    exact = run_pass(mazur, mazur.architecture.ground_truth).values
    for k in (1, 2):
        assert not any(g.startswith(f"bias-{k}-") and not g.endswith("shared") for g in groups)  # no box per neuron
        text = group_text(groups[f"bias-{k}-shared"])
        assert text.startswith("shared ")
        # the box's value is the layer's ∂L/∂b, the sum of its neurons' ∂L/∂z (δo1 + δo2 in Mazur's output layer)
        assert float(text.split()[1]) == pytest.approx(float(exact[f"dL/db{k}"]), rel=5e-3)
        assert float(exact[f"dL/db{k}"]) == pytest.approx(float(sum(exact[f"dL/dz{k}"])), rel=1e-12)
        assert f"bias-column-{k}" in groups
    assert any("of the one bias its layer shares" in t for t in texts)
    chapter = svg_tree(write_plot(load_exercise(Path(__file__).resolve().parent.parent / "reference" / "data"
                                                / "chapter7.toml"), tmp_path / "c.svg"))
    assert not any(g.endswith("shared") for g in chapter[1]) and not any("shares" in t for t in chapter[2])
