"""The report of ``compare.training``: the step table, the parameters after step 1, the
values the text prints after its steps (``[after.K]``), the lines on kinks, dying neurons,
frozen parameters and parameters that never moved, and the JSON object."""
import json
from fractions import Fraction

import numpy as np
from compare.tables import tabulate  # tabulate, wrapping long text columns to the terminal

from compare.formatting import approximate_text, diff_text, exact_text, float_text, significant_decimal
from compare.kinks import Neuron
from compare.training import (EXACT, MAX_PARAMETER_ROWS, TOO_LARGE, KinkStep, StepCheck, StepRecord, Training,
                              as_float, close, entries)
from compare.tolerance import Tolerance
from reference.numbers import GROUND_TRUTH_NAMES, MP, as_fraction


HEADERS = ["step", "loss (exact)", "loss (NumPy)", "loss (torch)", "drop", "max |NumPy − torch|", "verdict"]


def loss_text(value: Fraction) -> str:
    """An exact loss as a decimal: in full when short (``0.89625``), else 15 significant
    digits and ``…``."""
    if value.denominator.bit_length() <= 60:
        text = exact_text(value)
        if "/" not in text and len(text) <= 18:
            return text
    return f"{significant_decimal(value, 15)}…"


def _reference_loss(record: StepRecord) -> float:
    return as_float(record.loss.get(EXACT, record.loss["numpy"]))


def _verdict(record: StepRecord) -> str:
    if record.ok:
        return "agree" + (" (kink: see below)" if record.kinks else "")
    shown = ", ".join(record.problems[:3])
    more = f" and {len(record.problems) - 3} more" if len(record.problems) > 3 else ""
    return f"DISAGREE: {shown}{more}"


def step_table(training: Training, fmt: str = "github") -> str:
    """One row per state: step 0 is the file's parameters, step t the state after t
    updates. ``drop`` is the previous loss minus this one (exact while the exact track
    runs, else NumPy)."""
    rows, previous = [], None
    for record in training.records:
        loss = _reference_loss(record)
        rows.append([str(record.step),
                     loss_text(record.loss[EXACT]) if EXACT in record.loss else "—",
                     float_text(record.loss["numpy"]), float_text(record.loss["torch"]),
                     "" if previous is None else f"{previous - loss:.6g}",
                     diff_text(record.max_diff), _verdict(record)])
        previous = loss
    headers = HEADERS.copy()
    headers[1] = f"loss ({training.exact_name})"
    return tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True)


def _kink_text(kink: KinkStep) -> str:
    exact = ("" if kink.exact_z is None else
             "exactly 0" if kink.exact_z == 0 else f"{as_float(kink.exact_z):.3g} exactly")
    leaky = kink.activation == "leaky_relu"  # its derivative text has its own "(left)"
    if kink.alive is None:
        floats = ("; ".join(f"{run} {z:.2g}: {kink.derivative_text(z > 0)}" for run, z in kink.float_z.items())
                  if leaky else
                  ", ".join(f"{run} {z:.2g} ({kink.derivative_text(z > 0)})" for run, z in kink.float_z.items()))
        side = "; each track took its own side (--kink-side text)"
    else:
        floats = ", ".join(f"{run} {z:.2g}" for run, z in kink.float_z.items())
        valid = ", a valid subgradient" if leaky else " (a valid subgradient)"
        side = f"; every track took torch's side, {kink.derivative_text(kink.alive)}{valid}"
    return f"{kink.label} at the {kink.name} kink, {kink.z} = {exact + '; ' if exact else ''}{floats}{side}"


def _kink_lines(training: Training) -> list[str]:
    """One line per kink neuron and run of consecutive steps whose update passed it
    (the values shown are those of the run's first step)."""
    runs: dict[tuple, list] = {}  # (neuron, side) -> [[first step, last step, text], ...]
    for record in training.records[:training.settings.steps]:
        for kink in record.kinks:
            key = (kink.z, kink.alive, tuple(z > 0 for z in kink.float_z.values()))
            spans = runs.setdefault(key, [])
            if spans and spans[-1][1] == record.step:
                spans[-1][1] = record.step + 1
            else:
                spans.append([record.step + 1, record.step + 1, _kink_text(kink)])
    lines = []
    for first, last, text in sorted(span for spans in runs.values() for span in spans):
        when = f"Step {first}" if first == last else f"Steps {first}–{last} (values at step {first})"
        lines.append(f"{when}: {text}.")
    return lines


def _life_lines(training: Training) -> list[str]:
    """Dead neurons at the start, and every neuron that dies or comes alive later."""
    exercise = training.exercise
    first = training.records[0].dead
    names = {key: Neuron(key[0], 0, key[1]).label(exercise.architecture.n_layers, 1) for key in
             {k for r in training.records for k in r.dead}}
    lines = []
    if first:
        lines.append("Dead at the start: " + ", ".join(names[k] for k in sorted(first)) + ".")
    previous = first
    for record in training.records[1:]:
        for key in sorted(set(record.dead) - set(previous)):
            z = record.dead[key]
            value = "" if z is None else f" (z{key[0]}[{key[1]}] = {z:.3g})"
            lines.append(f"{names[key].capitalize()} dies at step {record.step}{value}: from then on its "
                         "incoming weights and bias get no gradient.")
        for key in sorted(set(previous) - set(record.dead)):
            lines.append(f"{Neuron(key[0], 0, key[1]).label(exercise.architecture.n_layers, 1).capitalize()}"
                         f" comes alive at step {record.step}.")
        previous = record.dead
    arch = exercise.architecture
    relu_neurons = sum(arch.sizes[k] for k, a in enumerate(arch.activations, start=1) if a == "relu")
    all_dead_from = None
    for record in reversed(training.records):
        if not relu_neurons or len(record.dead) < relu_neurons:
            break
        all_dead_from = record.step
    if all_dead_from is not None:
        learns = ("nothing learns any more" if arch.activations[-1] == "relu"
                  else "only the output layer's bias still learns")
        lines.append(f"From step {all_dead_from} on every ReLU neuron is dead: {learns}.")
    return lines


def _unmoved_lines(training: Training) -> list[str]:
    if training.settings.steps == 0:
        return []
    if training.settings.lr == 0:
        return ["The learning rate is 0, so no parameter moves."]
    if not training.unmoved:
        return [f"Every one of the {training.n_parameters} parameters moved."]
    groups: dict[str, list[str]] = {}
    for label, reason in training.unmoved:
        groups.setdefault(reason, []).append(label)
    lines = [f"Did not move in {training.settings.steps} step(s): {len(training.unmoved)} of "
             f"{training.n_parameters} parameters."]
    for reason, labels in groups.items():
        lines.append(f"  {', '.join(labels)}: {reason}")
    return lines


def summary_lines(training: Training) -> list[str]:
    """Loss drop, exact-track extent, kinks, parameters that did not move, result."""
    s = training.settings
    first, last = training.records[0], training.records[-1]
    start, end = _reference_loss(first), _reference_loss(last)
    percent = f" ({(start - end) / start:.1%})" if start else ""
    lines = [f"SGD lr {s.lr}, momentum {s.momentum}, {s.steps} step(s), {s.dtype}, "
             f"rtol {training.tolerance.rtol:g}, atol {training.tolerance.atol:g}."]
    if training.frozen:
        keep = "it keeps its" if len(training.frozen) == 1 else "they keep their"
        lines.append(f"Frozen: {', '.join(training.frozen)}: {keep} values in every track (the hand "
                     "update leaves them out; torch: requires_grad_(False), not in the optimiser).")
    lines += [
             f"Loss {float_text(start)} → {float_text(end)} after {s.steps} step(s): drop "
             f"{start - end:.6g}{percent}."]
    if training.large:
        lines.append(f"Exact track: {TOO_LARGE}.")
    elif training.exact_stop:
        lines.append(f"Exact track: steps 0–{training.exact_steps}: {training.exact_stop}.")
    elif training.ground_truth == MP:
        lines.append(f"{training.exact_name} track (mpmath): all {s.steps} step(s) in "
                     f"{GROUND_TRUTH_NAMES[MP]}.")
    else:
        lines.append(f"Exact track: all {s.steps} step(s) in exact fractions.")
    lines += _kink_lines(training)
    split = next((r.step + 1 for r in training.records[:s.steps] for k in r.kinks
                  if k.alive is None and k.exact_z is not None and (k.float_z["torch"] > 0) != (k.exact_z > 0)), None)
    if split is not None:
        lines.append(f"At step {split} torch took the other side of a kink than the exact track, so its parameters "
                     "leave the exact and NumPy ones from there on: a different valid subgradient, reported as a "
                     "disagreement here; the default --kink-side torch makes every track take torch's side.")
    lines += _life_lines(training)
    lines += _unmoved_lines(training)
    lines += step_check_lines(training)
    bad = [r.step for r in training.records if not r.ok]
    tracks = "NumPy vs torch" if training.large else f"{training.exact_name} vs NumPy vs torch"
    wrong = [c.name for c in training.step_checks if not c.ok]
    if bad:
        result = f"DISAGREEMENT at step(s) {', '.join(map(str, bad))}"
        result += f"; printed values after the steps wrong: {_listed(wrong)}." if wrong else "."
    elif wrong:
        result = f"every step agrees ({tracks}), but printed values after the steps are wrong: {_listed(wrong)}."
    else:
        result = f"every step agrees ({tracks})."
    lines.append("Result: " + result)
    return lines


def _listed(names: list[str], limit: int = 6) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def step_check_lines(training: Training) -> list[str]:
    """One line on the values printed after the steps (``[after.K]``): how many agree,
    the known errata, those not reached; the wrong ones are named in ``Result``."""
    checks = training.step_checks
    if not checks:
        return []
    agree = sum(c.agree is True and not c.erratum for c in checks)
    judged = sum(c.agree is not None for c in checks)
    line = f"Printed after the steps ([after.K]): {agree} of {judged} entries agree"
    errata = [c.name for c in checks if c.erratum and c.agree is False]
    if errata:
        line += f"; {len(errata)} known erratum{'s' if len(errata) > 1 else ''} ({_listed(errata)})"
    unreached = sum(c.agree is None for c in checks)
    if unreached:
        beyond = sorted({c.step for c in checks if c.agree is None})
        line += (f"; {unreached} not checked ({_listed([f'after step {k}' for k in beyond])}: the run stopped "
                 f"after step {training.settings.steps})")
    return [line + "."]


STEP_CHECK_HEADERS = ["after step", "entry", "printed", "expected", "verdict"]


def step_check_table_lines(training: Training, fmt: str = "github") -> list[str]:
    """The table of values the text prints after its steps (``[after.K]``): one row per
    entry, the expected value of the track that judged it."""
    if not training.step_checks:
        return []
    rows = [[str(c.step), c.label, str(c.given),
             "—" if c.expected is None else value_text(c.expected, 40), c.verdict] for c in training.step_checks]
    rule = training.step_checks[0].rule
    return [f"Values the text prints after its steps, judged by {rule}", "",
            tabulate(rows, headers=STEP_CHECK_HEADERS, tablefmt=fmt, disable_numparse=True), ""]


def step_checks_json(checks: list[StepCheck]) -> list[dict]:
    """The ``[after.K]`` checks for JSON: step, key, entry, printed, expected (a float and
    the exact text), against, agree (null: not reached), erratum, ok."""
    return [{"step": c.step, "key": c.key, "entry": c.label, "printed": str(c.given),
             "expected": None if c.expected is None else as_float(c.expected),
             "expected_exact": None if c.expected is None else value_text(c.expected, 0, 17),
             "against": c.against, "agree": c.agree, "erratum": c.erratum, "ok": c.ok, "verdict": c.verdict,
             "other_side": c.other_side or None,
             "rule": c.rule} for c in checks]


def value_text(value, limit: int = 0, digits: int = 12) -> str:
    """A ground-truth value (``Fraction`` or ``mpmath.mpf``) as text: exact decimals where
    finite (``0.20975``), ``n/d`` otherwise, ``≈`` and ``digits`` significant digits for a
    50-digit value (``compare.formatting.exact_text``). With ``limit``, a longer exact
    text is replaced by ``≈`` and 17 significant digits."""
    fraction = as_fraction(value)
    text = exact_text(fraction)
    if text.startswith("≈"):
        text = approximate_text(fraction, digits)
    if limit and len(text) > limit:
        text = approximate_text(fraction, 17)
        if len(text) > limit:  # a huge value, after a huge learning rate
            text = f"≈{significant_decimal(fraction, 17).normalize()}"
    return text


def _step1_verdict(tolerance: Tolerance, exact, numpy_value, torch_value, exact_name: str) -> str:
    if exact is None:
        return "agree" if close(tolerance, torch_value, numpy_value) else "DISAGREE: torch ≠ NumPy"
    wrong = [name for name, v in (("NumPy", numpy_value), ("torch", torch_value)) if not close(tolerance, v, exact)]
    return "agree" if not wrong else f"DISAGREE: {' and '.join(wrong)} ≠ {exact_name}"


def step1_rows(training: Training, digits: int = 12) -> list[dict] | None:
    """Every parameter before and after the first update: ``parameter``, ``before`` (as
    written in the file), ``gradient`` (∂L/∂θ of the ground truth, with the side taken at
    any kink), ``after_exact`` (θ − lr·∂L/∂θ in the ground truth; text, ``value_text``
    with ``digits`` for a 50-digit value), ``after_numpy``,
    ``after_torch`` (floats) and ``verdict``. None when no step was taken; the exact
    entries are None where the exact track did not run."""
    if training.step1 is None:
        return None
    gradients = training.records[0].gradients
    after = training.exact_parameters[1] if len(training.exact_parameters) > 1 else None
    rows = []
    for name, index, label in entries(training.step1["numpy"], training.exercise.architecture):
        exact = None if after is None else after[name][index]
        numpy_value = float(training.step1["numpy"][name][index])
        torch_value = float(training.step1["torch"][name][index])
        verdict = _step1_verdict(training.tolerance, exact, numpy_value, torch_value, training.exact_name)
        rows.append({"parameter": label, "before": str(training.exercise.parameters[name][index]),
                     "gradient": None if gradients is None else value_text(gradients[name][index], 40, digits),
                     "after_exact": None if exact is None else value_text(exact, 40, digits),
                     "after_numpy": numpy_value, "after_torch": torch_value,
                     "verdict": verdict + (" (frozen)" if name in training.frozen else "")})
    return rows


def parameter_table_lines(training: Training, fmt: str = "github") -> list[str]:
    """The table of every parameter after step 1 (the text's "update all 31 parameters"),
    or one line saying why it is left out (no step, more than ``MAX_PARAMETER_ROWS``)."""
    if training.settings.steps == 0:
        return []
    if training.n_parameters > MAX_PARAMETER_ROWS:
        return [f"Parameter table left out: {training.n_parameters} parameters "
                f"(shown for at most {MAX_PARAMETER_ROWS}).", ""]
    name = training.exact_name
    headers = ["parameter", "before", f"∂L/∂θ ({name})", f"after ({name}, θ − lr·∂L/∂θ)",
               "after (NumPy)", "after (torch)", "verdict"]
    rows = [[r["parameter"], r["before"], r["gradient"] or "—", r["after_exact"] or "—",
             float_text(r["after_numpy"]), float_text(r["after_torch"]), r["verdict"]]
            for r in step1_rows(training)]
    return [f"Every parameter after step 1 (lr {training.settings.lr})", "",
            tabulate(rows, headers=headers, tablefmt=fmt, disable_numparse=True), ""]


def render_training_text(training: Training, fmt: str = "github") -> str:
    """Title, the per-step table, every parameter after step 1 and the summary."""
    return "\n".join([training.exercise.title, "", "Gradient descent, step by step", "",
                      step_table(training, fmt), "", *parameter_table_lines(training, fmt),
                      *step_check_table_lines(training, fmt), *summary_lines(training)])


def final_parameters(training: Training) -> dict[str, dict[str, list | None]]:
    """``{"W1": {"exact": nested strings or None, "numpy": nested floats, "torch": ...}}``
    after the last step, in the text's layout; ``exact`` (``value_text``, 17 digits for a 50-digit value) is
    None where the exact track did not reach the last step."""
    exact = (training.exact_parameters[-1]
             if training.exact_parameters and training.exact_steps == training.settings.steps else None)
    result = {}
    arch = training.exercise.architecture
    for name, array in training.final["numpy"].items():
        tracks = {"exact": None if exact is None else exact[name], "numpy": array, "torch": training.final["torch"][name]}
        tracks = {track: None if v is None else arch.layout_array(name, np.asarray(v)) for track, v in tracks.items()}
        result[name] = {
            "exact": None if exact is None else
            np.vectorize(lambda v: value_text(v, 40, 17), otypes=[object])(tracks["exact"]).tolist(),
            "numpy": tracks["numpy"].astype(np.float64).tolist(),
            "torch": tracks["torch"].astype(np.float64).tolist()}
    return result


def render_training_json(training: Training) -> str:
    """One JSON object: ``settings``, ``steps`` (per state: losses, the exact one as a
    float or null once the exact track stopped, ``max_abs_diff``, ``agree``, ``problems``,
    ``dead_neurons``, ``kinks``), ``ground_truth``, ``exact_steps``, ``exact_stop``,
    ``unmoved``, ``step1_parameters`` (``step1_rows``, null for no step or more than
    ``MAX_PARAMETER_ROWS`` parameters), ``parameters`` (``final_parameters``), ``after``
    (``step_checks_json``: the values the text prints after its steps) and ``ok``;
    ``settings.freeze`` lists the frozen parameters."""
    steps = [{"step": r.step,
              "loss_exact": as_float(r.loss[EXACT]) if EXACT in r.loss else None,
              "loss_numpy": r.loss["numpy"], "loss_torch": r.loss["torch"],
              "max_abs_diff": r.max_diff, "agree": r.ok, "problems": r.problems,
              "dead_neurons": [Neuron(k, 0, j).label(training.exercise.architecture.n_layers, 1)
                               for k, j in sorted(r.dead)],
              "kinks": [{"neuron": k.label, "z": k.z, "exact_z": None if k.exact_z is None else str(k.exact_z),
                         "float_z": k.float_z, "alive": k.alive}
                        for k in r.kinks]}
             for r in training.records]
    s = training.settings
    return json.dumps({"exercise": training.exercise.title,
                       "settings": {"lr": str(s.lr), "momentum": str(s.momentum), "steps": s.steps,
                                    "dtype": s.dtype, "kink_side": s.kink_side, "freeze": list(s.freeze),
                                    "rtol": training.tolerance.rtol, "atol": training.tolerance.atol},
                       "steps": steps,
                       "ground_truth": GROUND_TRUTH_NAMES[training.ground_truth],
                       "exact_steps": None if training.large else training.exact_steps, "exact_stop": training.exact_stop,
                       "unmoved": [{"parameter": p, "reason": r} for p, r in training.unmoved],
                       "step1_parameters": (step1_rows(training, 17) if training.n_parameters <= MAX_PARAMETER_ROWS
                                            else None),
                       "parameters": final_parameters(training),
                       "after": step_checks_json(training.step_checks),
                       "ok": training.ok}, indent=2, ensure_ascii=False)
