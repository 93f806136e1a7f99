"""``python -m compare grade SUBMISSION...``: one student's report, or a class's gradebook."""
import argparse
import os
from pathlib import Path

from compare.cli.options import (add_numbers, add_output_format, add_student_calls, positive_int, report_width,
                                 table_format)
from compare.tables import tabulate
from compare.usage import UsageError
from reference.exercise import CHAPTER7_PATH


class _Given(argparse.Action):
    """Stores the value and records that the option was given (``exercise_given``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        setattr(namespace, f"{self.dest}_given", True)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "grade", help="grade students' backward functions: one report, or a gradebook for a class",
        description="Grade each SUBMISSION (a .py or .ipynb file, FILE.py:FUNCTION, or a folder: a class, or "
                    "one student's with --one-student) against the exercise and random probes, each in a NumPy-only child "
                    "process under bubblewrap where it works. One submission prints its report; several print "
                    "a summary table. --out DIR writes gradebook.csv, gradebook.json and feedback files.")
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION")
    parser.add_argument("--exercise", default=str(CHAPTER7_PATH), metavar="EXERCISE.toml", action=_Given,
                        help="the exercise (default: the Chapter 7 network); not with --variants")
    parser.add_argument("--example", type=int, metavar="N", help="only example N (0-based) of a file with several")
    add_student_calls(parser)
    parser.add_argument("--one-student", action="store_true",
                        help="each folder given is one student's work (its backups and helper modules with it), "
                             "never a class; --gradescope implies it")
    parser.add_argument("--out", metavar="DIR", help="write the gradebook and one feedback file per student here")
    parser.add_argument("--jobs", type=positive_int, default=os.cpu_count() or 1, metavar="N",
                        help="students graded at once (default: the number of cores)")
    parser.add_argument("--sandbox", choices=["auto", "bwrap", "none"], default="auto",
                        help="run students' code under bubblewrap (auto: when it works, else resource limits "
                             "alone, said in the report)")
    parser.add_argument("--variants", metavar="DIR",
                        help="grade each student against their own variant, DIR/ID.exercise.toml "
                             "(python -m compare variant --students ... --out DIR)")
    parser.add_argument("--gradescope", metavar="RESULTS.json",
                        help="also write Gradescope's results.json for the one submission (refused when "
                             "the SUBMISSIONs hold several)")
    add_numbers(parser)
    add_output_format(parser)
    parser.set_defaults(handler=run, exact_comparisons="backward")


def run(exercise, args, tolerance) -> int:
    """Grade every submission; 0 when every student passes, 1 otherwise."""
    from compare.grading.grade import grade_all
    from compare.grading.gradebook import row, write_feedback, write_gradebook
    from compare.grading.key import GradingKey
    from compare.grading.sandbox import SandboxError
    from compare.grading.submissions import SubmissionError, discover
    fmt = table_format(args)
    try:
        submissions = discover(args.submissions, args.function, one_student=args.one_student or bool(args.gradescope))
    except SubmissionError as error:
        raise UsageError(str(error)) from None
    if not submissions:
        raise UsageError("no submissions found")
    _check_outputs(args, [s.student for s in submissions])
    if args.gradescope and len(submissions) > 1:  # one student's work: never grade one of several silently
        from compare.grading.gradescope import several_submissions
        raise UsageError(several_submissions(submissions))
    if args.variants and getattr(args, "exercise_given", False):
        raise UsageError("--exercise: does not go with --variants (each student is graded against their own "
                         "variant in the folder)")
    key = key_for = None  # with --variants every student has a key of their own, and the exercise none
    if args.variants:
        key_for = variant_keys(Path(args.variants), args, tolerance)
    else:
        key = GradingKey.build(exercise, args.dtype, tolerance, args.probes, args.seed, args.timeout, args.sandbox)
    try:
        graded = grade_all(submissions, key, args.jobs, key_for=key_for)
    except SandboxError as error:
        raise UsageError(f"--sandbox: {error}") from None
    rows = [row(g.submission.student, g.submission.path, g.check, g.score, g.problem) for g in graded]
    try:
        if args.out:
            out = Path(args.out)
            write_gradebook(out, rows)
            for g in graded:
                write_feedback(out, g.submission.student, g.check, g.score, g.problem)
        if args.gradescope:
            from compare.grading.gradescope import write_results
            write_results(Path(args.gradescope), graded)
    except OSError as error:  # checked up front; the disk may still fill up or change meanwhile
        raise UsageError(f"cannot write the results: {error}") from None
    with report_width(args):
        _print_report(args, graded, rows, fmt)
    return 0 if all(r.status == "pass" for r in rows) else 1


def _check_outputs(args, students: list[str]) -> None:
    """``--out`` and ``--gradescope`` refused in one line before any student is graded:
    a path that exists and is not a folder (a file), a folder that cannot be written, two
    students whose feedback would share a file."""
    from compare.grading.gradebook import output_files
    from compare.usage import check_output_file, check_output_folder
    if args.out:
        try:
            files = output_files(students)
        except ValueError as error:
            raise UsageError(f"--out: {error}; rename one of the submissions") from None
        check_output_folder(args.out, "--out", files)
    if args.gradescope:
        check_output_file(args.gradescope, "--gradescope")


def _print_report(args, graded, rows, fmt: str) -> None:
    """One student's report, or the class's summary table; JSON with ``--json``."""
    from compare.grading.feedback import render_json, render_text
    if len(graded) == 1 and graded[0].check is not None:
        check = graded[0].check
        print(render_json(check) if args.json else render_text(check, fmt))
    elif args.json:
        import json
        from compare.grading.gradebook import json_row
        print(json.dumps([json_row(r) for r in rows], indent=2, ensure_ascii=False))
    else:
        print(summary_table(rows, fmt))
        if args.out:
            print(f"wrote {Path(args.out) / 'gradebook.csv'}, gradebook.json and {len(rows)} feedback file(s)")


def variant_keys(folder: Path, args, tolerance):
    """``key_for(submission)``: the student's own variant's key, or why there is none."""
    from compare.grading.key import GradingKey
    from compare.usage import file_stem
    from reference.exercise import ExerciseError, load_exercise
    if not folder.is_dir():
        raise UsageError(f"--variants: {folder}: expected a folder of variants")

    def key_for(submission):
        path = folder / f"{file_stem(submission.student)}.exercise.toml"
        if not path.is_file():
            return f"no variant for {submission.student} in {folder}"
        try:
            own = load_exercise(path, args.dtype)
        except ExerciseError as error:
            return str(error)
        return GradingKey.build(own, args.dtype, tolerance, args.probes, args.seed, args.timeout, args.sandbox)
    return key_for


def summary_table(rows, fmt: str) -> str:
    """One line per student: status, points, the first own mistake, probes failed."""
    table = [[r.student, r.status.upper(), f"{r.points}/{r.max_points}" if r.max_points else "",
              (r.first_mistake + ": " if r.first_mistake else "") + r.cause[:90], r.probes_failed] for r in rows]
    passed = sum(r.status == "pass" for r in rows)
    return (tabulate(table, headers=["student", "status", "points", "first mistake", "probes failed"],
                     tablefmt=fmt, disable_numparse=True)
            + f"\n\n{passed} of {len(rows)} submissions pass.")
