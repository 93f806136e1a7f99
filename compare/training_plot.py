"""The training picture: ``python -m compare train --plot FILE.png|svg``.

Left, the loss after every step in the three tracks of ``compare.training``: the exact
(or 50-digit) track as a wide pale line while it runs, NumPy dashed and torch dotted on
top of it, so that agreeing tracks lie on one another and a track that leaves the others
shows; a logarithmic axis when every loss is positive. The losses a text prints after
its steps (``[after.K] L``) are marked, a cross where the value is wrong.

Right, the trajectories of the ``TOP_PARAMETERS`` parameter entries that move most (the
largest distance from their starting value at any step, NumPy track), each labelled;
printed values of those entries after a step are marked too. Frozen parameters never
move and are named in the subtitle instead.

Drawn with matplotlib's object API and written as ``compare.plot`` writes the network
picture (``compare.plot.save_figure``: atomically, through ``compare.usage.atomic_output``).
"""
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from compare.plot import PlotError, save_figure
from compare.training import EXACT, Training, as_float, entries

TOP_PARAMETERS = 6
EXACT_COLOUR, NUMPY_COLOUR, TORCH_COLOUR = "#9ecae1", "#1f62b4", "#c8312b"
PRINTED_COLOUR, WRONG_COLOUR = "#2b8a3e", "#e8590c"


def loss_series(training: Training) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"exact": (steps, losses), "numpy": ..., "torch": ...}`` as float64 arrays; the
    exact track only for the states it reached (empty when it was left out)."""
    series = {}
    for track in (EXACT, "numpy", "torch"):
        points = [(r.step, as_float(r.loss[track])) for r in training.records if track in r.loss]
        steps = np.array([p[0] for p in points], dtype=np.int64)
        series[track] = (steps, np.array([p[1] for p in points], dtype=np.float64))
    return series


def moving_parameters(training: Training, count: int = TOP_PARAMETERS) -> list[tuple[str, np.ndarray]]:
    """``(label, values per step)`` of the ``count`` parameter entries whose NumPy value
    moves farthest from its start at any step, farthest first; entries that never move
    are left out. Empty when the run kept no trajectory (``compare.training.MAX_TRAJECTORY``)."""
    if training.trajectory is None or len(training.trajectory) < 2:
        return []
    labels = [label for _, _, label in entries(training.initial, training.exercise.architecture)]
    distance = np.nanmax(np.abs(training.trajectory - training.trajectory[0]), axis=0)
    order = [int(i) for i in np.argsort(-distance, kind="stable") if distance[i] > 0][:count]
    return [(labels[i], training.trajectory[:, i]) for i in order]


def _printed(training: Training, label: str) -> list:
    """The checks of values printed after steps for entry ``label`` that the run reached."""
    return [c for c in training.step_checks if c.label == label and c.agree is not None]


PRINTED_STYLES = {"agree": ("o", "none", PRINTED_COLOUR, "printed after the step"),
                  "erratum": ("X", WRONG_COLOUR, WRONG_COLOUR, "printed after the step: a known erratum"),
                  "wrong": ("X", WRONG_COLOUR, WRONG_COLOUR, "printed after the step: wrong")}


def _mark_printed(ax, training: Training, labels: list[str]) -> None:
    """A marker at (K, printed value) for every ``[after.K]`` value of ``labels``: a
    circle where it agrees, a cross where it is wrong (or a known erratum); each kind in
    the legend once."""
    named = set()
    for label in labels:
        for check in _printed(training, label):
            kind = "agree" if check.agree else "erratum" if check.erratum else "wrong"
            marker, face, edge, text = PRINTED_STYLES[kind]
            ax.plot([check.step], [float(check.given)], linestyle="none", marker=marker, markersize=9, zorder=5,
                    color=edge, markerfacecolor=face, markeredgecolor=edge, markeredgewidth=2,
                    label=None if kind in named else text)
            named.add(kind)


def draw_training(training: Training) -> Figure:
    """The picture as a matplotlib ``Figure`` (not yet saved): the loss per step, and
    the parameters that move most where the run kept their trajectories."""
    moving = moving_parameters(training)
    fig = Figure(figsize=(12.5 if moving else 7.5, 5.2))
    axes = fig.subplots(1, 2 if moving else 1, squeeze=False)[0]
    ax = axes[0]
    series = loss_series(training)
    styles = {EXACT: dict(color=EXACT_COLOUR, lw=6, solid_capstyle="round", label=f"{training.exact_name} track"),
              "numpy": dict(color=NUMPY_COLOUR, lw=1.8, linestyle=(0, (5, 3)), label=f"NumPy {training.settings.dtype}"),
              "torch": dict(color=TORCH_COLOUR, lw=1.8, linestyle=(0, (1, 2)), label="torch.optim.SGD")}
    few = len(training.records) <= 30
    for track, (steps, losses) in series.items():
        if len(steps):
            ax.plot(steps, losses, marker="o" if few and track != EXACT else None, markersize=3.5, **styles[track])
    _mark_printed(ax, training, ["L"])
    every = np.concatenate([losses for _, losses in series.values()])
    finite = every[np.isfinite(every)]
    if len(finite) and np.all(finite > 0) and finite.max() / finite.min() > 10:
        ax.set_yscale("log")
    ax.set_xlabel("step (0: the file's parameters)")
    ax.set_ylabel("loss L")
    ax.set_title("Loss after each step")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8.5, frameon=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if moving:
        ax = axes[1]
        for label, values in moving:
            ax.plot(np.arange(len(values)), values, lw=1.8, label=label, marker="o" if few else None, markersize=3)
        _mark_printed(ax, training, [label for label, _ in moving])
        ax.set_xlabel("step")
        ax.set_ylabel("value (NumPy track)")
        ax.set_title(f"The {len(moving)} parameter entr{'y' if len(moving) == 1 else 'ies'} that move most")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8.5, frameon=False, ncol=2)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    s = training.settings
    subtitle = f"SGD lr {s.lr}, momentum {s.momentum}, {s.steps} step{'s' if s.steps != 1 else ''}, {s.dtype}"
    if training.frozen:
        subtitle += f"; frozen: {', '.join(training.frozen)}"
    if training.exact_stop:
        subtitle += f"; the {training.exact_name} track stops at step {max(training.exact_steps, 0)}"
    fig.suptitle(f"{training.exercise.title}\n{subtitle}", fontsize=10.5)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


PLOTTABLE = 1e300  # beyond this matplotlib's tick layout overflows (its arange of ticks)


def write_training_plot(training: Training, path):
    """Draw ``draw_training`` to ``path`` (``.png`` or ``.svg``), atomically
    (``compare.plot.save_figure``). Raises ``compare.plot.PlotError`` for another
    extension or a directory that does not exist or cannot be written, and for values
    matplotlib's axes cannot lay out (a loss of 1e308 or inf: its ticks overflow)."""
    with np.errstate(all="ignore"):
        series = [values for _, values in loss_series(training).values() if len(values)]
        series += [values for _, values in moving_parameters(training)]
        largest = max((float(np.max(np.abs(values))) for values in series), default=0.0)
    if not largest <= PLOTTABLE:  # inf and nan too
        raise PlotError(f"{str(path)!r}: cannot draw values this large (a loss or parameter of {largest:.3g}; "
                        f"matplotlib's axes reach {PLOTTABLE:.0e})")
    try:
        return save_figure(draw_training(training), path)
    except (ValueError, OverflowError) as error:
        raise PlotError(f"{str(path)!r}: cannot draw values this large (a loss of {largest:.3g}; matplotlib: "
                        f"{error})") from None
