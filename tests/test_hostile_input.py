"""Hostile exercise files and command lines, generated: huge, tiny, non-finite and
wrong-typed values in every position of a file (parameters, inputs, targets, the slope,
hand answers, claims, sizes, names) and of a command line (every option's value, options
that do not go together, outputs).

Whatever comes in, ``python -m compare`` (and ``answer-key``) exits 0, 1 or 2; on 2 with
exactly one line on stderr; never a traceback or a NumPy warning; leaves no file behind
but the output it was asked for, written in full; and finishes within a generous time
limit that only a hang reaches (a long run asked for explicitly, --allow-large with a
huge --steps, is not generated)."""
import contextlib
import io
import signal
import time
import warnings
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from compare.cli import main
from reference.losses import NAMES as LOSSES

HANG_SECONDS = 60  # per example; a normal one takes well under a second

# Numbers as TOML text: ordinary ones, and every kind of extreme.
ORDINARY = ["0", "1", "-1", "0.5", "-0.25", "0.1", "2", "1e-3", "-0.0", "3"]
HOSTILE = ["1e300", "-1e308", "1.7976931348623157e308", "1.8e308", "1e309", "1e400", "-1e400", "1e-300",
           "2.2250738585072014e-308", "2.2e-308", "5e-324", "1e-400", "1e-99999999999999999999",
           "1e99999999999999999999", "nan", "inf", "-inf", "+nan", "3.5e38", "1e38", "1e-38", "1e-39",
           "99999999999999999999999999999", "9" * 400, "'x'", '"1.0"', "true", "[]", "{}", "[1, [2]]",
           "1979-05-27", "0x10", "1_000", "0.123456789012345678901234567890123456789"]


def numbers(hostility: int):
    """A number as TOML text: hostile one time in ``hostility`` (never for 0), else ordinary."""
    if not hostility:
        return st.sampled_from(ORDINARY)
    return st.integers(1, hostility).flatmap(lambda i: st.sampled_from(HOSTILE if i == hostility else ORDINARY))




def toml_list(values) -> str:
    return "[" + ", ".join(values) + "]"


def rarely(draw, good: list[str], bad: list[str], hostile: bool = True) -> str:
    """One of ``good``, or (if ``hostile``) one time in eight one of ``bad``."""
    return draw(st.sampled_from(bad if hostile and draw(st.integers(0, 7)) == 7 else good))


@st.composite
def exercise_text(draw) -> str:
    """An exercise file whose every value may be ordinary or hostile: hostile values are
    rare in some files (so that extreme but valid ones reach the arithmetic) and frequent
    in others."""
    number = numbers(draw(st.sampled_from([0, 40, 10, 3])))
    structure = draw(st.booleans())  # hostile names, sizes, targets, claims too, or only numbers
    n_layers = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 3)) for _ in range(n_layers + 1)]
    loss = draw(st.sampled_from(LOSSES))
    if loss == "cross_entropy":
        sizes[-1] = max(sizes[-1], 2)
    activations = [draw(st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid", "identity"]))
                   for _ in range(n_layers - 1)]
    activations.append({"bce": "sigmoid", "bce_with_logits": "identity", "cross_entropy": "identity"}.get(
        loss, draw(st.sampled_from(["identity", "tanh", "relu", "leaky_relu"]))))
    shown_sizes = [str(s) for s in sizes]
    shown_sizes[-1] = rarely(draw, [shown_sizes[-1]], ["0", "-1", "99999999999", '"3"', "1.5", "true"], structure)
    shown_activations = [f'"{a}"' for a in activations]
    shown_activations[0] = rarely(draw, [shown_activations[0]], ['"softplus"', "3", '""'], structure)
    lines = ["[network]", f"sizes = {toml_list(shown_sizes)}", f"activations = {toml_list(shown_activations)}",
             "loss = " + rarely(draw, [f'"{loss}"'], ['"hinge"', "1"], structure),
             "reduction = " + rarely(draw, ['"mean"', '"sum"'], ['"max"', "1"], structure)]
    if "leaky_relu" in activations or (structure and draw(st.integers(0, 7)) == 7):
        lines.append(f"negative_slope = {draw(number)}")
    bias = [True] * n_layers
    if draw(st.integers(0, 3)) == 0:  # layers without bias: all, or one per layer
        bias = draw(st.lists(st.booleans(), min_size=n_layers, max_size=n_layers))
        shown = toml_list(["true" if b else "false" for b in bias]) if draw(st.booleans()) or all(bias) == any(bias) \
            else ("true" if bias[0] else "false")
        if shown in ("true", "false"):
            bias = [bias[0]] * n_layers
        lines.append("bias = " + rarely(draw, [shown], ['"no"', "1", "[]", "[true, 0]"], structure))
    lines.append("[parameters]")
    for k in range(1, n_layers + 1):
        rows = [toml_list([draw(number) for _ in range(sizes[k])]) for _ in range(sizes[k - 1])]
        lines.append(f"W{k} = {toml_list(rows)}")
        if bias[k - 1] or (structure and draw(st.integers(0, 7)) == 7):  # now and then a b{k} that must be refused
            lines.append(f"b{k} = {toml_list([draw(number) for _ in range(sizes[k])])}")
    for _ in range(draw(st.integers(1, 3))):
        lines.append("[[examples]]")
        lines.append(f"x = {toml_list([draw(number) for _ in range(sizes[0])])}")
        if loss == "cross_entropy":
            lines.append("y = " + rarely(draw, ["0", "1"], ["-1", "99", "1.0", "99999999999999999999", "[0.5, 0.6]"],
                                          structure))
        elif loss in ("bce", "bce_with_logits"):
            lines.append(f"y = {toml_list([rarely(draw, ['0', '1', '0.5'], HOSTILE, structure) for _ in range(sizes[-1])])}")
        else:
            lines.append(f"y = {toml_list([draw(number) for _ in range(sizes[-1])])}")
    if draw(st.booleans()):
        lines.append("[answers]")
        lines.append(f"L = {draw(number)}")
        lines.append(f'"dL/db{n_layers}" = {toml_list([draw(number) for _ in range(sizes[-1])])}')
        if draw(st.booleans()):
            lines.append(f'"dL/dW1[0][0]" = {draw(number)}')
    if draw(st.integers(0, 3)) == 0:
        lines.append("[training]")
        lines.append(f"lr = {draw(number)}")
        lines.append("steps = " + rarely(draw, ["0", "1", "2"], ["-1", "1.5", "true", '"2"'], structure))
        lines.append("freeze = " + rarely(draw, ['["W1"]', "[]", '["b1"]'], ['["b9"]', '["W1", "W1"]', '"W1"', "[1]"],
                                          structure))
    if draw(st.integers(0, 3)) == 0:
        lines.append(f"[after.{rarely(draw, ['1', '2'], ['0', '-1', 'x', '9999999'], structure)}]")
        lines.append(f"L = {draw(number)}")
        lines.append(rarely(draw, [f'"W1[0][0]" = {draw(number)}'], ['"W1[9][9]" = 1', "W9 = 1", '"dL/dW1" = 1'],
                            structure))
    if draw(st.booleans()):
        lines.append("[claims]")
        lines.append(f"nonzero_gradients = {rarely(draw, ['0', '3', '12'], HOSTILE + ['-1', '1' + '0' * 400], structure)}")
    return "\n".join(lines) + "\n"


GOOD = {"dtype": ["float64", "float32"], "format": ["github", "grid", "latex", "html"],
        "kink-side": ["torch", "text"], "rtol": ["1e-7", "0.001"], "atol": ["1e-7", "0.001"],
        "lr": ["0.1", "0", "0.5"], "momentum": ["0", "0.9"], "steps": ["0", "1", "3"], "sample": ["1", "2"],
        "jvp": ["1", "2"], "seed": ["0", "7"], "example": ["0"], "timeout": ["5"], "freeze": ["W1", "b1,W2", ""]}
BAD = {"dtype": ["float16", ""], "format": ["nope", ""], "kink-side": ["left"], "steps": ["-1", "x", "10001"],
       "jvp": ["0", "-1", "1001", "99999999999"], "sample": ["0", "x"], "seed": ["-1", "1.5"],
       "example": ["-1", "99", "99999999999999999999", "x"], "freeze": ["b9", "W1,W1", "w1", "W1;b1"]}
FLOATS = ["1e-400", "1e400", "1e308", "1e-300", "nan", "inf", "-1", "x", "", "1e39", "1e-39", "0"]
JOBS = {"compare": ["dtype", "fd", "sample", "jvp", "seed", "json", "format", "example", "rtol", "atol",
                    "allow-large"],
        "train": ["lr", "steps", "momentum", "kink-side", "dtype", "json", "format", "example", "rtol", "atol",
                  "freeze"],
        "plot": ["example"]}
FLAGS = ("fd", "json", "allow-large")


@st.composite
def command_line(draw, exercise: str) -> tuple[list[str], str | None]:
    """Arguments for ``main``, and the output file they ask for (None for stdout): a job
    with options that mostly belong to it, with ordinary or hostile values, now and then
    one that belongs to another job."""
    job = draw(st.sampled_from(["compare", "compare", "train", "plot", "answer-key"]))
    if job == "answer-key":
        args, output = ["answer-key", exercise], None
        if draw(st.booleans()):
            args += ["--format", rarely(draw, ["markdown", "latex", "html"], ["json", ""])]
        if draw(st.booleans()):
            output = draw(st.sampled_from(["key.md", "key.md", "missing-dir/key.md", ".", "key\nname.md"]))
            args += ["-o", output]
        if draw(st.booleans()):
            args += ["--example", rarely(draw, GOOD["example"], BAD["example"])]
        if draw(st.booleans()):
            args.append("--allow-large")
        return args, output
    args, output = [exercise], None
    if job == "plot":
        output = draw(st.sampled_from(["net.png", "net.svg", "net.pdf", "missing-dir/net.png"]))
        args = ["plot", exercise, "-o", output]
    elif job == "train":
        args = ["train", exercise, "--steps", rarely(draw, GOOD["steps"], BAD["steps"])]
        if draw(st.integers(0, 3)) == 0:
            output = draw(st.sampled_from(["loss.png", "loss.svg", "loss.pdf", "missing-dir/loss.png"]))
            args += ["--plot", output]
    pool = JOBS[job] + (draw(st.lists(st.sampled_from(sorted({o for j in JOBS.values() for o in j} | {"timeout"})),
                                      max_size=1)) if draw(st.integers(0, 4)) == 0 else [])
    options = draw(st.lists(st.sampled_from(pool), max_size=3, unique=True))
    for option in options:
        flag = f"--{option}"
        if option in FLAGS:
            args.append(flag)
            continue
        hostile = draw(st.integers(0, 5)) == 5
        if option in ("rtol", "atol", "lr", "momentum", "timeout") and hostile:
            value = draw(st.sampled_from(FLOATS))
        else:
            value = draw(st.sampled_from(BAD.get(option, GOOD[option]) if hostile else GOOD[option]))
        args += [flag, value]
    if "--allow-large" in args and ({"--steps", "--jvp"} & set(args)):
        args.remove("--allow-large")  # a long run asked for explicitly is not hostile
    return args, output


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"no answer within {HANG_SECONDS} s")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_files_and_command_lines(data, tmp_path, monkeypatch):
    work = tmp_path / f"run{time.monotonic_ns()}"
    work.mkdir()
    monkeypatch.chdir(work)
    (work / "exercise.toml").write_text(data.draw(exercise_text(), label="file"), encoding="utf-8")
    args, output = data.draw(command_line("exercise.toml"), label="args")
    before = sorted(p.name for p in work.iterdir())
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            warnings.simplefilter("always")
            status = main(args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    stderr = err.getvalue()
    event(f"exit {status}")
    assert status in (0, 1, 2), (status, args)
    assert "Traceback" not in stderr
    assert not [w for w in caught if not issubclass(w.category, DeprecationWarning)], \
        [str(w.message) for w in caught]
    if status == 2:
        assert len(stderr.splitlines()) == 1 and stderr.endswith("\n"), (args, stderr)
        assert out.getvalue() == ""
    after = sorted(p.name for p in work.iterdir())
    written = [name for name in after if name not in before]
    picture = "--plot" in args and status == 1  # train draws its picture of a run that disagrees too
    if (status == 0 or picture) and output and "/" not in output and output != "." \
            and not output.endswith(".pdf"):
        assert written == [Path(output).name] and (work / output).stat().st_size > 0
    else:
        assert written == [], (args, written)
