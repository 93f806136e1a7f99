"""``python -m compare variant EXERCISE.toml``: the same network with fresh numbers."""
import csv
import io
from pathlib import Path

from compare.cli.options import non_negative_int
from compare.usage import UsageError, atomic_output


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "variant", help="write a variant of an exercise (fresh numbers), or one per student of a roster",
        description="Write a new exercise with the same network and fresh parameters, inputs and targets "
                    "(as many decimal places as the original, in its range, within its [variants] rules). "
                    "With --students ROSTER.csv --out DIR: one per student, seeded from the student id, with "
                    "its answer key.")
    parser.add_argument("exercise", metavar="EXERCISE.toml")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="the variant's seed (default 0); with --students, mixed into each student's seed")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the variant here instead of stdout")
    parser.add_argument("--students", metavar="ROSTER.csv", help="one variant per student id of the roster")
    parser.add_argument("--out", metavar="DIR", help="with --students: the folder to write them to")
    parser.set_defaults(handler=run, needs_exercise=True, plain_numbers=True)


def run(exercise, args, tolerance) -> int:
    """Write the variant(s); 2 when none satisfies the rules or a file cannot be written."""
    from compare.answer_key import build_answer_key, render
    from compare.variants import VariantError, file_stem, make_variant, read_roster, seed_for
    from reference.writer import dump_exercise
    if (args.students is None) != (args.out is None):
        raise UsageError("--students and --out go together")
    if args.students and args.output:
        raise UsageError("--output: does not go with --students (the variants go to --out)")
    try:
        if not args.students:
            text = dump_exercise(make_variant(exercise, args.seed))
            if args.output:
                with atomic_output(args.output) as stream:
                    stream.write(text)
                print(f"wrote {args.output}")
            else:
                print(text, end="")
            return 0
        students = read_roster(Path(args.students))
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        index = io.StringIO()
        rows = csv.writer(index, lineterminator="\n")
        rows.writerow(["student", "seed", "exercise", "answer_key"])
        for student in students:
            seed = seed_for(student, args.seed)
            variant = make_variant(exercise, seed, student)
            stem = file_stem(student)
            with atomic_output(out / f"{stem}.exercise.toml") as stream:
                stream.write(dump_exercise(variant, f"Variant for {student} (seed {seed})"))
            with atomic_output(out / f"{stem}.key.md") as stream:
                stream.write(render(build_answer_key(variant), "markdown"))
            rows.writerow([student, seed, f"{stem}.exercise.toml", f"{stem}.key.md"])
        with atomic_output(out / "variants.csv") as stream:
            stream.write(index.getvalue())
    except VariantError as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        raise UsageError(f"cannot write the variants ({error.strerror or error})") from None
    print(f"wrote {len(students)} variants, their answer keys and {out / 'variants.csv'}")
    return 0
