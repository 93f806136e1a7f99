"""``python -m compare variant EXERCISE.toml``: the same network with fresh numbers."""
import csv
import io
import os
from pathlib import Path

from compare.cli.options import non_negative_int
from compare.usage import UsageError, atomic_output, atomic_outputs, check_targets


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
    parser.set_defaults(handler=run, plain_numbers=True)


def run(exercise, args, tolerance) -> int:
    """Write the variant(s); 2 when the rules cannot hold, the roster is bad or a file
    cannot be written (nothing is written then)."""
    if (args.students is None) != (args.out is None):
        raise UsageError("--students and --out go together")
    if args.students and args.output:
        raise UsageError("--output: does not go with --students (the variants go to --out)")
    return _write_class(exercise, args) if args.students else _write_one(exercise, args)


def _write_one(exercise, args) -> int:
    """One variant, seeded by ``--seed``, to ``--output`` or stdout."""
    from compare.variants import make_variant
    from reference.writer import dump_exercise
    text = dump_exercise(make_variant(exercise, args.seed))
    if not args.output:
        print(text, end="")
        return 0
    try:
        with atomic_output(args.output) as stream:
            stream.write(text)
    except OSError as error:
        raise UsageError(f"--output: cannot write {args.output} ({error.strerror or error})") from None
    print(f"wrote {args.output}")
    return 0


def _write_class(exercise, args) -> int:
    """One variant and answer key per student of the roster, and ``variants.csv``, all
    drawn before any is written and then written all or none (``atomic_outputs``)."""
    from compare.variants import read_roster
    students = read_roster(Path(args.students))
    out = Path(args.out)
    _check_folder(out, students)
    files = _class_files(exercise, students, args.seed, out)
    created = _make_folder(out)
    try:
        atomic_outputs(files)
    except OSError as error:
        _remove_folders(created)
        where = f": {error.filename}" if error.filename else ""
        raise UsageError(f"--out: {out}: cannot write the variants ({error.strerror or error}{where}); "
                         "nothing written") from None
    print(f"wrote {len(students)} variants, their answer keys and {out / 'variants.csv'}")
    return 0


def _class_files(exercise, students: list[str], seed: int, out: Path) -> dict[Path, str]:
    """Every file of the class (path: text): ``ID.exercise.toml`` and ``ID.key.md`` per
    student, ``variants.csv`` last."""
    from compare.answer_key import build_answer_key, render
    from compare.usage import file_stem
    from compare.variants import make_variant, seed_for
    from reference.writer import dump_exercise
    files = {}
    index = io.StringIO()
    rows = csv.writer(index, lineterminator="\n")
    rows.writerow(["student", "seed", "exercise", "answer_key"])
    for student in students:
        own_seed = seed_for(student, seed)
        variant = make_variant(exercise, own_seed, student)
        stem = file_stem(student)
        files[out / f"{stem}.exercise.toml"] = dump_exercise(variant, f"Variant for {student} (seed {own_seed})")
        files[out / f"{stem}.key.md"] = render(build_answer_key(variant), "markdown")
        rows.writerow([student, own_seed, f"{stem}.exercise.toml", f"{stem}.key.md"])
    files[out / "variants.csv"] = index.getvalue()
    return files


def _check_folder(out: Path, students: list[str]) -> None:
    """``UsageError`` naming the path, before any variant is drawn, unless ``out`` is a
    folder or can be made one (its nearest existing ancestor a folder) and each
    student's files can be written there (``check_targets``)."""
    from compare.usage import file_stem
    existing = next((p for p in (out, *out.parents) if os.path.lexists(p)), Path("."))
    if not existing.is_dir():
        raise UsageError(f"--out: {existing}: expected a folder; it exists and is not one")
    names = [f"{file_stem(s)}{suffix}" for s in students for suffix in (".exercise.toml", ".key.md")]
    try:
        check_targets(out / name for name in names + ["variants.csv"])
    except OSError as error:
        raise UsageError(f"--out: {error.filename}: expected a file to write; {error.strerror}; "
                         "nothing written") from None


def _make_folder(out: Path) -> list[Path]:
    """Make ``out`` and its missing parents; the folders made, deepest first."""
    missing = [p for p in (out, *out.parents) if not os.path.lexists(p)]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        _remove_folders(missing)
        raise UsageError(f"--out: {out}: cannot make the folder ({error.strerror or error}); nothing written") from None
    return missing


def _remove_folders(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) that exist and are empty, as they were made."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            pass
