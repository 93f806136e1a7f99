"""``python -m compare gradescope EXERCISE.toml -o autograder.zip``: Gradescope's bundle."""
from compare.cli.options import non_negative_int, timeout_value
from compare.grading.key import DEFAULT_TIMEOUT
from compare.grading.probes import DEFAULT_PROBES
from compare.usage import UsageError, atomic_output


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "gradescope", help="write the autograder zip for Gradescope",
        description="Write Gradescope's autograder bundle: setup.sh (bubblewrap, torch CPU, this package from "
                    "the wheel inside), run_autograder (grades /autograder/submission into "
                    "/autograder/results/results.json) and the exercise.")
    parser.add_argument("exercise", metavar="EXERCISE.toml")
    parser.add_argument("--output", "-o", required=True, metavar="FILE.zip")
    parser.add_argument("--function", default="backward", help="the function to call (default backward)")
    parser.add_argument("--probes", type=non_negative_int, default=DEFAULT_PROBES, metavar="N")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--timeout", type=timeout_value, default=DEFAULT_TIMEOUT, metavar="SECONDS")
    parser.set_defaults(handler=run, needs_exercise=True, plain_numbers=True)


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
