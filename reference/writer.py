"""Exercise files written back: the TOML text that ``load_exercise`` reads to the same
network, parameters and examples (decimals exactly as held, so 0.1 stays 0.1).

Used for what the tool makes itself: a shrunk probe printed as a ready-to-run exercise,
a variant of an exercise. ``[training]``, ``[grading]`` and ``[variants]`` are written
where they differ from the defaults; hand answers, claims and errata are not written.
"""
from decimal import Decimal

import numpy as np

from reference.exercise import Exercise, Grading, TrainingDefaults, VariantRules


def _number(value) -> str:
    if isinstance(value, Decimal):
        text = str(value)
        return text if text not in ("-0", "-0.0") else text[1:]
    return str(int(value))


def _array(values: np.ndarray) -> str:
    if values.ndim == 0:
        return _number(values[()])
    if values.ndim == 1:
        return "[" + ", ".join(_number(v) for v in values) + "]"
    return "[" + ",\n      ".join(_array(row) for row in values) + "]"


def _string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'


def dump_exercise(exercise: Exercise, comment: str = "") -> str:
    """The exercise as TOML: title, source, [network], [parameters] (in the text's
    layout, a shared bias as one number), one [[examples]] table per example (class
    indices written as integers where the file had them), and [training], [grading] and
    [variants] where the file states them. ``comment`` lines go first, each prefixed
    with ``#``."""
    arch = exercise.architecture
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    lines += [f"title = {_string(exercise.title)}"]
    if exercise.source:
        lines.append(f"source = {_string(exercise.source)}")
    lines += ["", "[network]", f"sizes = [{', '.join(str(s) for s in arch.sizes)}]",
              "activations = [" + ", ".join(f'"{a}"' for a in arch.activations) + "]",
              f'loss = "{arch.loss}"', f'reduction = "{arch.reduction}"']
    if "leaky_relu" in arch.activations:
        lines.append(f"negative_slope = {_number(arch.negative_slope)}")
    if arch.bias:
        lines.append("bias = [" + ", ".join("true" if b else "false" for b in arch.layer_biases) + "]")
    if arch.shared_bias:
        lines.append("shared_bias = [" + ", ".join("true" if arch.shares_bias(k) else "false"
                                                   for k in range(1, arch.n_layers + 1)) + "]")
    if arch.layout != "in_out":
        lines.append(f'layout = "{arch.layout}"')
    lines += ["", "[parameters]"]
    for name, value in exercise.parameters.items():
        lines.append(f"{name} = {_array(arch.layout_array(name, value))}")
    for x, y in zip(exercise.x, exercise.y):
        target = str(int(np.argmax([float(v) for v in y]))) if exercise.class_indices else _array(y)
        lines += ["", "[[examples]]", f"x = {_array(x)}", f"y = {target}"]
    return "\n".join(lines + _training(exercise.training) + _grading(exercise.grading)
                     + _variants(exercise.variants)) + "\n"


def _training(training: TrainingDefaults) -> list[str]:
    """``[training]`` where the file states it: the lr of the printed update steps
    (delta_W1 = −lr·∂L/∂W1) and the defaults of ``train`` carry over to a variant."""
    if training == TrainingDefaults():
        return []
    lines = ["", "[training]"]
    for key in ("lr", "momentum"):
        if getattr(training, key) is not None:
            lines.append(f"{key} = {_number(getattr(training, key))}")
    if training.steps is not None:
        lines.append(f"steps = {training.steps}")
    if training.freeze:
        lines.append("freeze = [" + ", ".join(_string(p) for p in training.freeze) + "]")
    return lines


def _grading(grading: Grading) -> list[str]:
    """``[grading]`` and ``[grading.points]`` where they differ from the defaults."""
    if grading == Grading():
        return []
    lines = ["", "[grading]"]
    if grading.rtol is not None:
        lines.append(f"rtol = {_number(grading.rtol)}")
    if grading.sig_figs is not None:
        lines.append(f"sig_figs = {grading.sig_figs}")
    if grading.carried_errors_lose_points:
        lines.append("carried_errors_lose_points = true")
    if grading.points:
        lines += ["", "[grading.points]"] + [f"{_string(item)} = {_number(points)}" for item, points in grading.points]
    return lines


def _variants(rules: VariantRules) -> list[str]:
    """``[variants]`` where it differs from the defaults."""
    if rules == VariantRules():
        return []
    return ["", "[variants]", f"kink_margin = {_number(rules.kink_margin)}", f"kinks = {rules.kinks}",
            f'dead = "{rules.dead}"', f"short_answers = {str(rules.short_answers).lower()}"]
