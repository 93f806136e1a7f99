"""``python -m compare``: a thin layer of subcommands over the packages that do the work.

    python -m compare [check] [EXERCISE]      the cross-check (plain `python -m compare`: Chapter 7)
    python -m compare grade SUBMISSION...     students' backward functions, one report or a gradebook
    python -m compare train [EXERCISE]        gradient-descent steps in three tracks
    python -m compare plot [EXERCISE] -o F    the network as a picture
    python -m compare answer-key [EXERCISE]   the worked answer key
    python -m compare self-test               every catalogued mistake rejected and named
    python -m compare gradescope EXERCISE -o autograder.zip
    python -m compare variant EXERCISE [--students ROSTER.csv --out DIR]

Each subcommand owns its options. Exit status: 0 when everything agrees (every student
passes), 1 on any disagreement, 2 on bad usage or bad input (one line on stderr, never
a traceback).
"""
import os
import sys

from compare.cli import check, grade, gradescope, plot, selftest, train, variant
from compare.cli.selftest import BATCH_PATH  # noqa: F401 (tests and benchmarks use it)
from compare.finite_differences import EXACT_BUDGET, estimate
from compare.tolerance import Tolerance
from compare.usage import UNRECOGNIZED, Parser, UsageError, load_selected, option_hint
from reference.backprop import check_finite
from reference.exercise import ExerciseError, did_you_mean, printable

BAD_INPUT = 2  # the handlers return 0 (agree) or 1 (disagree) themselves
SUBCOMMANDS = ("check", "grade", "train", "plot", "answer-key", "self-test", "gradescope", "variant")
# The flags of the former single command, and what replaced them.
FORMER_FLAGS = {"--backward": "grade FILE.py:FUNCTION", "--self-test": "self-test", "--lr": "train --lr LR",
                "--steps": "train --steps N", "--momentum": "train --momentum M", "--kink-side": "train --kink-side",
                "--plot": "plot -o FILE", "--timeout": "grade --timeout S", "--probes": "grade --probes N",
                "--sandbox": "grade --sandbox MODE"}


def build_parser(prog: str) -> Parser:
    parser = Parser(prog=prog, description="Prove hand-written backpropagation right or wrong: NumPy by hand vs "
                                           "PyTorch autograd vs exact arithmetic vs the values a text prints.",
                    epilog="Without a subcommand, the arguments are check's: plain `%(prog)s` cross-checks the "
                           "Chapter 7 network. Exit status: 0 when everything agrees, 1 on any disagreement, "
                           "2 on bad usage or bad input.")
    subparsers = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=Parser)
    for module in (check, grade, train, plot):
        module.add_parser(subparsers)
    subparsers.add_parser("answer-key", help="the worked answer key, step by step (see answer-key --help)",
                          add_help=False)
    selftest.add_parser(subparsers)
    gradescope.add_parser(subparsers)
    variant.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None, prog: str = "python -m compare") -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["answer-key"]:  # a subcommand with its own parser, kept in compare.answer_key
        from compare.answer_key import main as answer_key_main
        return answer_key_main(argv[1:], prog=f"{prog} answer-key")
    try:
        if argv and argv[0] not in SUBCOMMANDS and not argv[0].startswith("-") and not os.path.lexists(argv[0]):
            hint = did_you_mean(argv[0], SUBCOMMANDS)
            if hint:  # a misspelt subcommand, not a missing exercise file
                raise UsageError(f"{argv[0]!r}: neither a subcommand ({', '.join(SUBCOMMANDS)}) nor an exercise "
                                 f"file{hint}")
        if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help")):
            argv = ["check"] + argv
        former = next((flag for flag in argv if flag.split("=")[0] in FORMER_FLAGS), None) if argv[0] == "check" else None
        if former is not None:
            flag = former.split("=")[0]
            raise UsageError(f"{flag}: is now the subcommand `{prog} {FORMER_FLAGS[flag]}`")
        parser = build_parser(prog)
        try:
            args = parser.parse_args(argv)
        except UsageError as error:
            raise UsageError(str(error) + _option_hint(parser, argv[0], str(error))) from None
        return _run(args)
    except UsageError as error:
        print(f"{prog}: error: {printable(str(error))}", file=sys.stderr)
    except ExerciseError as error:
        print(f"{prog}: {error}", file=sys.stderr)
    return BAD_INPUT


def _option_hint(parser: Parser, command: str, message: str) -> str:
    """A did-you-mean for an unknown option of subcommand ``command`` (argparse reports it
    on the top parser, which does not know the subcommand's options)."""
    if not message.startswith(UNRECOGNIZED):
        return ""
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    sub = subcommands.get(command)
    return option_hint(message, sub._option_string_actions) if sub is not None else ""


def _run(args) -> int:
    if getattr(args, "plain_numbers", False):
        exercise = load_selected(args.exercise, getattr(args, "example", None))
        return args.handler(exercise, args, None)
    exercise = load_selected(args.exercise, getattr(args, "example", None), args.dtype)
    check_finite(exercise, args.dtype)
    tolerance = Tolerance.for_dtype(args.dtype, args.rtol, args.atol)
    if getattr(args, "exact_comparisons", None):
        refuse_if_large(exercise, args.exact_comparisons, args.command)
    return args.handler(exercise, args, tolerance)


def comparisons(exercise, mode: str) -> int:
    """Exact passes entry by entry that the self-test (one per catalogued mistake, and the
    correct pass twice) and grading (the student's values, their diagnosis, the
    catalogue's whole passes that name a mistake, the probes) run."""
    from compare.catalogue import catalogue
    from compare.grading.probes import DEFAULT_PROBES
    return len(catalogue(exercise.architecture, exercise.batch_size)) + 2 + (DEFAULT_PROBES + 1) * (mode == "backward")


def refuse_if_large(exercise, mode: str, command: str) -> None:
    """``UsageError`` when ``mode``'s exact comparisons together would cost more than the
    budget of ``compare.finite_differences.estimate``: it has no per-tensor fallback."""
    count = comparisons(exercise, mode)
    total = count * estimate(exercise).total
    if total > EXACT_BUDGET:
        raise UsageError(f"{command}: compares entry by entry with exact values, too slow for a network "
                         f"this large (an estimated {total:.2g} operations for its {count} comparisons, "
                         f"above the budget of {EXACT_BUDGET:.2g}); use a smaller one")


def run() -> None:
    """Console-script entry point: ``backprop-crosscheck`` = ``python -m compare``, with
    its own name in usage lines. A reader that closes the pipe early (``| head``) ends
    the output quietly."""
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python -m compare"
    if prog in ("__main__.py", "-m", "-c") or prog.endswith(".py"):
        prog = "python -m compare"
    try:
        status = main(prog=prog)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        status = 1
    sys.exit(status)
