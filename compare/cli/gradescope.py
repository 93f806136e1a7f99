"""``python -m compare gradescope EXERCISE.toml -o autograder.zip``: Gradescope's bundle."""
from compare.cli.options import add_student_calls
from compare.usage import UsageError, atomic_output


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "gradescope", help="write the autograder zip for Gradescope",
        description="Write Gradescope's autograder bundle: setup.sh (bubblewrap, torch CPU, this package from "
                    "the wheel inside), run_autograder (grades /autograder/submission into "
                    "/autograder/results/results.json) and the exercise.")
    parser.add_argument("exercise", metavar="EXERCISE.toml")
    parser.add_argument("--output", "-o", required=True, metavar="FILE.zip")
    add_student_calls(parser)
    parser.set_defaults(handler=run, plain_numbers=True)


def run(exercise, args, tolerance) -> int:
    """Build the wheel and write the zip (atomically); 2 when it cannot be built."""
    from pathlib import Path
    from compare.grading.gradescope import write_bundle
    try:
        with atomic_output(args.output, binary=True) as stream:
            names = write_bundle(Path(args.exercise), stream, args.function, args.probes, args.seed, args.timeout)
    except (RuntimeError, OSError) as error:
        raise UsageError(f"--output: {error}") from None
    print(f"wrote {args.output}: {', '.join(names)}")
    return 0
