"""``python -m compare self-test``: every catalogued mistake rejected and named."""
import json

from compare.cli.options import add_exercise, add_numbers
from compare.progress import progress_while
from reference.exercise import CHAPTER7_PATH, load_exercise

BATCH_PATH = CHAPTER7_PATH.parent / "diagonal_flip_batch.toml"


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "self-test", help="show that every catalogued mistake is rejected and named",
        description="Run the comparison on backward passes with one step broken each (the catalogue of "
                    "mistakes, compare/catalogue.py) on the exercise, the batch and every bundled network: "
                    "each must be rejected and named, the correct pass accepted.")
    add_exercise(parser, example=False)
    add_numbers(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    parser.set_defaults(handler=run, exact_comparisons="self_test")


def run(exercise, args, tolerance) -> int:
    """One line per check; 0 only if every mistake is caught and named and the correct
    backward pass accepted."""
    from compare.selftest import run_self_test
    with progress_while("self-test"):
        results = run_self_test(exercise, args.dtype, tolerance, batch=load_exercise(BATCH_PATH), bundled=True)
    failed = sum(not r.passed for r in results)
    if args.json:
        print(json.dumps({"checks": [r.as_json() for r in results],
                          "summary": {"checks": len(results), "passed": len(results) - failed, "ok": not failed}},
                         indent=2, ensure_ascii=False))
        return 0 if failed == 0 else 1
    for r in results:
        print(f"{'ok  ' if r.passed else 'FAIL'} {r.name}: {r.outcome} — {r.description} [{r.evidence}]")
    print(f"{len(results) - failed} of {len(results)} self-test checks passed.")
    return 0 if failed == 0 else 1
