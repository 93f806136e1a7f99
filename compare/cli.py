"""``python -m compare``: argument parsing and exit codes; the work is elsewhere.

Exit status: 0 when everything agrees, 1 on any disagreement, 2 on bad usage or bad
input (one line on stderr, never a traceback).
"""
import argparse
import json
import os
from decimal import Decimal, InvalidOperation
import sys

from tabulate import tabulate_formats

from compare.comparison import compare_exercise
from compare.grading.key import DEFAULT_TIMEOUT
from compare.grading.probes import DEFAULT_PROBES
from compare.finite_differences import EXACT_BUDGET, estimate
from compare.progress import progress_bar, progress_while
from compare.witnesses import add_finite_differences, add_jvp
from compare.report import bulk_json, render_bulk, render_json, render_text
from compare.tolerance import Tolerance
from compare.usage import Parser, UsageError, load_selected
from compare.training import KINK_SIDES, TrainingSettings, run_training
from compare.training_report import render_training_json, render_training_text
from reference.backprop import check_finite
from reference.exercise import CHAPTER7_PATH, ExerciseError, load_exercise, printable

BATCH_PATH = CHAPTER7_PATH.parent / "diagonal_flip_batch.toml"
OK, DISAGREE, BAD_INPUT = 0, 1, 2
DEFAULT_LARGE_SAMPLE = 5  # finite differences per tensor of a large network without --sample
# Caps on what one command line may ask for; above them a run is refused in one line
# unless --allow-large is given (README, Options).
MAX_STEPS = 10_000  # --steps: each step runs three tracks and adds a row to the report
MAX_JVP = 1_000  # --jvp directions
MAX_TIMEOUT = 86_400.0  # --timeout, seconds: a day (1e300 s overflowed the OS timers: a traceback)


def _number(text: str, convert, accept, expected: str):
    """``convert(text)`` if it passes ``accept``; else argparse's one-line error."""
    try:
        value = convert(text)
    except (ValueError, InvalidOperation):
        value = None
    if value is None or not accept(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def tolerance_value(text: str) -> float:
    return _number(text, float, lambda v: 0 <= v < float("inf"), "a finite number >= 0")


def non_negative_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 0, "a whole number >= 0")


def positive_int(text: str) -> int:
    return _number(text, int, lambda v: v >= 1, "a whole number >= 1")


def timeout_value(text: str) -> float:
    return _number(text, float, lambda v: 0 < v <= MAX_TIMEOUT, f"a number of seconds > 0 and at most {MAX_TIMEOUT:g}")


def decimal(text: str) -> Decimal:
    """A command-line number kept exactly as written (0.1 stays 1/10)."""
    return _number(text, Decimal, lambda v: v.is_finite(), "a finite decimal number")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m compare",
        description="Cross-check hand-written NumPy backpropagation against PyTorch autograd, "
                    "exact rational arithmetic and the values a text prints.",
        epilog="Answer keys: python -m compare answer-key [EXERCISE.toml] [--format markdown|latex|html] "
               "(see python -m compare answer-key --help). Exit status: 0 when everything agrees, 1 on any "
               "disagreement, 2 on bad usage or a bad exercise file.")
    parser.add_argument("exercise", nargs="?", default=str(CHAPTER7_PATH),
                        help="exercise TOML file (default: the Chapter 7 network)")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                        help="float dtype of the NumPy and torch runs (default float64)")
    parser.add_argument("--rtol", type=tolerance_value, help="relative tolerance (default per dtype, "
                        "as torch.testing.assert_close: 1e-7 float64, 1.3e-6 float32)")
    parser.add_argument("--atol", type=tolerance_value, help="absolute tolerance (default per dtype: "
                        "1e-7 float64, 1e-5 float32)")
    parser.add_argument("--format", metavar="FORMAT",
                        help="table format, any of tabulate's (default github): " + ", ".join(tabulate_formats))
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--example", type=int, metavar="N",
                        help="run only example N (0-based) of a file with several")
    parser.add_argument("--fd", action="store_true",
                        help="add central finite differences of the high-precision forward pass as a third witness")
    parser.add_argument("--jvp", type=positive_int, nargs="?", const=4, metavar="K",
                        help=f"check K random directional derivatives with torch.func.jvp (default K = 4, "
                             f"at most {MAX_JVP:,})")
    parser.add_argument("--sample", type=positive_int, metavar="K",
                        help="finite differences on K random entries per parameter tensor instead of all")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of --jvp directions and --sample (default 0)")
    parser.add_argument("--self-test", action="store_true",
                        help="check that deliberately broken backward passes are all rejected")
    parser.add_argument("--backward", metavar="FILE.py:FUNCTION",
                        help="grade a student's backward function FUNCTION(params, x, y) -> dict of "
                             "gradients; runs the student's code in a child process (not a sandbox)")
    parser.add_argument("--timeout", type=timeout_value, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"time limit for --backward (default {DEFAULT_TIMEOUT:g} s)")
    parser.add_argument("--probes", type=non_negative_int, default=DEFAULT_PROBES, metavar="N",
                        help=f"with --backward: random probes beside the exercise (default {DEFAULT_PROBES}; "
                             "0: the exercise alone)")
    parser.add_argument("--sandbox", choices=["auto", "bwrap", "none"], default="auto",
                        help="with --backward: run the student's code under bubblewrap (auto: when it works)")
    parser.add_argument("--lr", type=decimal, metavar="LR",
                        help="take gradient-descent steps with this learning rate (exact, as written; "
                             "default 0.1 when --steps is given)")
    parser.add_argument("--steps", type=non_negative_int, metavar="N",
                        help=f"number of SGD steps, exact vs NumPy vs torch.optim.SGD (default 1 with --lr, "
                             f"at most {MAX_STEPS:,})")
    parser.add_argument("--momentum", type=decimal, default=Decimal(0), metavar="M",
                        help="SGD momentum, PyTorch's convention v = M*v + g, p -= lr*v (default 0)")
    parser.add_argument("--kink-side", choices=KINK_SIDES, default="torch",
                        help="at a ReLU kink the exact and NumPy steps take torch's side (default) or "
                             "each its own (text: ReLU'(0) = 0)")
    parser.add_argument("--plot", metavar="FILE",
                        help="draw the network and its gradients to FILE (.svg or .png)")
    parser.add_argument("--allow-large", action="store_true",
                        help=f"lift the caps on --steps ({MAX_STEPS:,}) and --jvp ({MAX_JVP:,}): "
                             "a run that long is asked for explicitly")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["answer-key"]:  # subcommand with its own parser
        from compare.answer_key import main as answer_key_main
        return answer_key_main(argv[1:])
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        mode = chosen_mode(args, parser)
        exercise = load_selected(args.exercise, args.example, args.dtype)
        check_finite(exercise, args.dtype)
        tolerance = Tolerance.for_dtype(args.dtype, args.rtol, args.atol)
        if mode in ("self_test", "backward"):
            refuse_if_large(exercise, mode)
        return MODES[mode](exercise, args, tolerance)
    except UsageError as error:
        print(f"python -m compare: error: {printable(str(error))}", file=sys.stderr)
    except ExerciseError as error:
        print(f"python -m compare: {error}", file=sys.stderr)
    return BAD_INPUT


def comparisons(exercise, mode: str) -> int:
    """Exact passes entry by entry that --self-test (one per catalogued mistake, and the
    correct pass twice) and --backward (the student's values, their diagnosis, the
    catalogue's whole passes that name a mistake, the probes) run."""
    from compare.catalogue import catalogue
    return len(catalogue(exercise.architecture, exercise.batch_size)) + 2 + (DEFAULT_PROBES + 1) * (mode == "backward")


def refuse_if_large(exercise, mode: str) -> None:
    """``UsageError`` when ``mode``'s exact comparisons together would cost more than the
    budget of ``compare.finite_differences.estimate``: it has no per-tensor fallback."""
    cost = estimate(exercise)
    count = comparisons(exercise, mode)
    total = count * cost.total
    if total > EXACT_BUDGET:
        raise UsageError(f"{MODE_NAMES[mode]}: compares entry by entry with exact values, too slow for a network "
                         f"this large (an estimated {total:.2g} operations for its {count} comparisons, "
                         f"above the budget of {EXACT_BUDGET:.2g}); use a smaller one")


MODE_NAMES = {"compare": "the gradient comparison", "self_test": "--self-test", "plot": "--plot",
              "train": "--lr/--steps", "backward": "--backward"}
# Options only some jobs use: given with another job they are a usage error, never ignored.
ONLY_FOR = {"fd": ("compare",), "jvp": ("compare",), "sample": ("compare",), "seed": ("compare", "backward"),
            "momentum": ("train",), "kink_side": ("train",), "timeout": ("backward",),
            "probes": ("backward",), "sandbox": ("backward",),
            "json": ("compare", "self_test", "train", "backward"),
            "dtype": ("compare", "self_test", "train", "backward"),
            "rtol": ("compare", "self_test", "train", "backward"),
            "atol": ("compare", "self_test", "train", "backward"),
            "format": ("compare", "train", "backward"), "allow_large": ("compare", "train")}


def chosen_mode(args, parser: argparse.ArgumentParser) -> str:
    """Which job the arguments ask for; raises ``UsageError`` for options that do not go
    together or that the job would not use."""
    if args.format is not None and args.format not in tabulate_formats:
        raise UsageError(f"--format: expected one of {', '.join(tabulate_formats)}; got {args.format!r}")
    modes = {"self_test": args.self_test, "plot": args.plot is not None,
             "train": args.lr is not None or args.steps is not None, "backward": args.backward is not None}
    chosen = [mode for mode, wanted in modes.items() if wanted]
    if len(chosen) > 1:
        raise UsageError("use only one of --self-test, --plot, --lr/--steps, --backward")
    mode = chosen[0] if chosen else "compare"
    for option, modes_using in ONLY_FOR.items():
        if getattr(args, option) != parser.get_default(option) and mode not in modes_using:
            flag = "--" + option.replace("_", "-")
            raise UsageError(f"{flag}: does not go with {MODE_NAMES[mode]}; it goes with "
                             + " or ".join(MODE_NAMES[m] for m in modes_using))
    if args.sample is not None and not args.fd:
        raise UsageError("--sample: goes with --fd")
    if args.json and args.format is not None:
        raise UsageError("--format: does not go with --json (JSON has no table format)")
    if args.seed != parser.get_default("seed") and not args.jvp and args.sample is None:
        raise UsageError("--seed: goes with --jvp or --sample (the random directions and entries it seeds)")
    for option, value, cap in (("--steps", args.steps, MAX_STEPS), ("--jvp", args.jvp, MAX_JVP)):
        if value is not None and value > cap and not args.allow_large:
            raise UsageError(f"{option}: at most {cap:,} without --allow-large (asked for {value:,})")
    args.format = args.format or "github"
    return mode


def comparison(exercise, args, tolerance: Tolerance) -> int:
    """The gradient comparison, with the finite-difference and JVP witnesses asked for;
    large networks get the per-tensor report."""
    cost = estimate(exercise, args.fd, args.sample, args.jvp)
    if cost.large:
        return large(exercise, args, tolerance, cost)
    with progress_while("exact check, entry by entry"):
        result = compare_exercise(exercise, args.dtype, tolerance)
    if args.fd:
        add_finite_differences(result, args.sample, args.seed, progress_bar("finite differences"))
    if args.jvp:
        add_jvp(result, args.jvp, args.seed, progress_bar("torch.func.jvp"))
    with progress_while("report"):
        text = render_json(result) if args.json else render_text(result, args.format)
    print(text)
    return OK if result.ok else DISAGREE


def backward(exercise, args, tolerance: Tolerance) -> int:
    """Grade a student's backward function (``--backward FILE.py:FUNCTION``)."""
    from compare.grading.check import check_student, parse_target
    from compare.grading.feedback import render_json as student_json, render_text as student_text
    try:
        student_path, function = parse_target(args.backward)
    except ValueError as error:
        raise UsageError(f"--backward: {error}") from None
    with progress_while("student's backward function and its check"):
        check = check_student(student_path, function, exercise, args.dtype, tolerance, args.timeout,
                              args.probes, args.seed, args.sandbox)
        text = student_json(check) if args.json else student_text(check, args.format)
    print(text)
    return OK if check.ok else DISAGREE


def large(exercise, args, tolerance: Tolerance, cost) -> int:
    """A network too costly for per-entry rows (``cost``, the estimate): every entry
    checked per tensor."""
    from compare.bulk import add_bulk_jvp, add_sampled_finite_differences, check_exercise
    with progress_while("check per tensor"):
        check, model_inputs = check_exercise(exercise, args.dtype, tolerance)
    check.cost = cost
    if args.fd:
        add_sampled_finite_differences(check, exercise, args.sample or DEFAULT_LARGE_SAMPLE, args.seed,
                                       progress_bar("finite differences"))
    if args.jvp:
        with progress_while("torch.func.jvp"):
            add_bulk_jvp(check, model_inputs, args.jvp, args.seed)
    print(bulk_json(check) if args.json else render_bulk(check, exercise.title, args.format))
    return OK if check.ok else DISAGREE


def self_test(exercise, args, tolerance: Tolerance) -> int:
    """Print one line per variant; 0 only if every variant is caught and the correct
    backward pass accepted."""
    from compare.selftest import run_self_test
    batch = load_exercise(BATCH_PATH)
    with progress_while("self-test"):
        results = run_self_test(exercise, args.dtype, tolerance, batch=batch, bundled=True)
    failed = sum(not r.passed for r in results)
    if args.json:
        print(json.dumps({"checks": [r.as_json() for r in results],
                          "summary": {"checks": len(results), "passed": len(results) - failed, "ok": not failed}},
                         indent=2, ensure_ascii=False))
        return OK if failed == 0 else DISAGREE
    for r in results:
        status = "ok  " if r.passed else "FAIL"
        print(f"{status} {r.name}: {r.outcome} — {r.description} [{r.evidence}]")
    print(f"{len(results) - failed} of {len(results)} self-test checks passed.")
    return OK if failed == 0 else DISAGREE


def train(exercise, args, tolerance: Tolerance) -> int:
    """Run ``compare.training`` and print its table (or JSON); 1 if any step disagrees."""
    settings = TrainingSettings(lr=Decimal("0.1") if args.lr is None else args.lr,
                                steps=1 if args.steps is None else args.steps, momentum=args.momentum,
                                dtype=args.dtype, tolerance=tolerance, kink_side=args.kink_side)
    try:
        training = run_training(exercise, settings, show_progress=True)
    except ValueError as error:
        raise UsageError(str(error)) from None
    with progress_while("report"):
        text = render_training_json(training) if args.json else render_training_text(training, args.format)
    print(text)
    return OK if training.ok else DISAGREE


def plot(exercise, args, tolerance: Tolerance) -> int:
    """Draw ``compare.plot``'s picture to ``args.plot``; 2 for a bad file name."""
    from compare.plot import PlotError, write_plot  # matplotlib loads only when drawing
    try:
        with progress_while("picture"):
            write_plot(exercise, args.plot)
    except PlotError as error:
        raise UsageError(f"--plot: {error}") from None
    print(f"wrote {args.plot}")
    return OK


MODES = {"compare": comparison, "self_test": self_test, "plot": plot, "train": train, "backward": backward}


def run() -> None:
    """Console-script entry point: ``backprop-crosscheck`` = ``python -m compare``.
    A reader that closes the pipe early (``| head``) ends the output quietly."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        status = 1
    sys.exit(status)
