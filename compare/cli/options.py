"""Option types and option groups that several subcommands share."""
import argparse
from decimal import Decimal, InvalidOperation

from tabulate import tabulate_formats

from compare.tables import table_width, width_for_output
from compare.usage import UsageError
from reference.exercise import CHAPTER7_PATH

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


MAX_DIGITS = 30  # --digits: decimals of the answer key's working


def digits_value(text: str) -> int:
    """``--digits``: a whole number from 1 to ``MAX_DIGITS``."""
    return _number(text, int, lambda v: 1 <= v <= MAX_DIGITS, f"a whole number from 1 to {MAX_DIGITS}")


def timeout_value(text: str) -> float:
    return _number(text, float, lambda v: 0 < v <= MAX_TIMEOUT, f"a number of seconds > 0 and at most {MAX_TIMEOUT:g}")


def decimal(text: str) -> Decimal:
    """A command-line number kept exactly as written (0.1 stays 1/10)."""
    return _number(text, Decimal, lambda v: v.is_finite(), "a finite decimal number")


def add_exercise(parser: argparse.ArgumentParser, example: bool = True) -> None:
    parser.add_argument("exercise", nargs="?", default=str(CHAPTER7_PATH),
                        help="exercise TOML file (default: the Chapter 7 network)")
    if example:
        parser.add_argument("--example", type=int, metavar="N",
                            help="only example N (0-based) of a file with several")


def add_student_calls(parser: argparse.ArgumentParser) -> None:
    """--function, --probes, --seed, --timeout: how a student's code is called (``grade``
    and the ``gradescope`` bundle)."""
    from compare.grading.key import DEFAULT_TIMEOUT
    from compare.grading.probes import DEFAULT_PROBES
    parser.add_argument("--function", default="backward", help="the function to call (default backward)")
    parser.add_argument("--probes", type=non_negative_int, default=DEFAULT_PROBES, metavar="N",
                        help=f"random probes beside the exercise (default {DEFAULT_PROBES}; 0: the exercise alone)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the probes (default 0)")
    parser.add_argument("--timeout", type=timeout_value, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"time limit per student (default {DEFAULT_TIMEOUT:g} s)")


def add_numbers(parser: argparse.ArgumentParser) -> None:
    """--dtype, --rtol, --atol."""
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                        help="float dtype of the NumPy and torch runs (default float64)")
    parser.add_argument("--rtol", type=tolerance_value, help="relative tolerance (default per dtype, "
                        "as torch.testing.assert_close: 1e-7 float64, 1.3e-6 float32)")
    parser.add_argument("--atol", type=tolerance_value, help="absolute tolerance (default per dtype: "
                        "1e-7 float64, 1e-5 float32)")


def add_output_format(parser: argparse.ArgumentParser) -> None:
    """--format, --json and --wide; --json goes with neither of the others."""
    parser.add_argument("--format", metavar="FORMAT",
                        help="table format, any of tabulate's (default github): " + ", ".join(tabulate_formats))
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--wide", action="store_true",
                        help="one line per table row on a terminal too (by default long text columns wrap to "
                             "$COLUMNS or the terminal's width; output to a pipe or a file wraps only when "
                             "$COLUMNS is set)")


def report_width(args):
    """The context in which a command prints its text report: tables wrapped to the
    terminal (``compare.tables``), unless ``--wide`` or ``--json``."""
    return table_width(width_for_output(getattr(args, "wide", False), getattr(args, "json", False)))


def table_format(args) -> str:
    """The checked ``--format`` (github by default); ``UsageError`` for an unknown one or
    one given with ``--json``."""
    if args.format is not None and args.format not in tabulate_formats:
        raise UsageError(f"--format: expected one of {', '.join(tabulate_formats)}; got {args.format!r}")
    if getattr(args, "json", False) and args.format is not None:
        raise UsageError("--format: does not go with --json (JSON has no table format)")
    if getattr(args, "json", False) and getattr(args, "wide", False):
        raise UsageError("--wide: does not go with --json (JSON has no tables)")
    return args.format or "github"
