"""``python -m compare [check] [EXERCISE]``: the cross-check, entry by entry or per tensor."""
from compare.cli.options import (add_exercise, add_numbers, add_output_format, non_negative_int, positive_int,
                                 report_width, table_format)
from compare.comparison import compare_exercise
from compare.finite_differences import estimate
from compare.progress import progress_bar, progress_while
from compare.report import bulk_json, render_bulk, render_json, render_text
from compare.usage import UsageError
from compare.witnesses import add_finite_differences, add_jvp

DEFAULT_LARGE_SAMPLE = 5  # finite differences per tensor of a large network without --sample
MAX_JVP = 1_000  # --jvp directions without --allow-large


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "check", help="cross-check an exercise (the default: plain `python -m compare` checks Chapter 7)",
        description="Cross-check hand-written NumPy backpropagation against PyTorch autograd, exact arithmetic "
                    "and the values the text prints, entry by entry (per tensor for a large network).")
    add_exercise(parser)
    add_numbers(parser)
    add_output_format(parser)
    parser.add_argument("--fd", action="store_true",
                        help="add central finite differences of the high-precision forward pass as a third witness")
    parser.add_argument("--jvp", type=positive_int, nargs="?", const=4, metavar="K",
                        help=f"check K random directional derivatives with torch.func.jvp (default K = 4, "
                             f"at most {MAX_JVP:,})")
    parser.add_argument("--sample", type=positive_int, metavar="K",
                        help="finite differences on K random entries per parameter tensor instead of all")
    parser.add_argument("--seed", type=non_negative_int, help="seed of --jvp directions and --sample (default 0)")
    parser.add_argument("--allow-large", action="store_true",
                        help=f"lift the cap on --jvp ({MAX_JVP:,}): a run that long is asked for explicitly")
    parser.set_defaults(handler=run)


def run(exercise, args, tolerance) -> int:
    """The comparison, with the finite-difference and JVP witnesses asked for; large
    networks get the per-tensor report. Exit status 0 or 1."""
    fmt = table_format(args)
    if args.sample is not None and not args.fd:
        raise UsageError("--sample: goes with --fd")
    if args.seed is not None and not args.jvp and args.sample is None:
        raise UsageError("--seed: goes with --jvp or --sample (the random directions and entries it seeds)")
    if args.jvp is not None and args.jvp > MAX_JVP and not args.allow_large:
        raise UsageError(f"--jvp: at most {MAX_JVP:,} without --allow-large (asked for {args.jvp:,})")
    seed = args.seed or 0
    cost = estimate(exercise, args.fd, args.sample, args.jvp)
    if cost.large:
        return _large(exercise, args, tolerance, cost, fmt, seed)
    with progress_while("exact check, entry by entry"):
        result = compare_exercise(exercise, args.dtype, tolerance)
    if args.fd:
        add_finite_differences(result, args.sample, seed, progress_bar("finite differences"))
    if args.jvp:
        add_jvp(result, args.jvp, seed, progress_bar("torch.func.jvp"))
    with progress_while("report"), report_width(args):
        text = render_json(result) if args.json else render_text(result, fmt)
    print(text)
    return 0 if result.ok else 1


def _large(exercise, args, tolerance, cost, fmt: str, seed: int) -> int:
    """A network too costly for per-entry rows (``cost``, the estimate): every entry
    checked per tensor."""
    from compare.bulk import add_bulk_jvp, add_sampled_finite_differences, check_exercise
    with progress_while("check per tensor"):
        check, model_inputs = check_exercise(exercise, args.dtype, tolerance)
    check.cost = cost
    if args.fd:
        add_sampled_finite_differences(check, exercise, args.sample or DEFAULT_LARGE_SAMPLE, seed,
                                       progress_bar("finite differences"))
    if args.jvp:
        with progress_while("torch.func.jvp"):
            add_bulk_jvp(check, model_inputs, args.jvp, seed)
    with report_width(args):
        print(bulk_json(check) if args.json else render_bulk(check, exercise.title, fmt))
    return 0 if check.ok else 1
