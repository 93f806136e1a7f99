"""``python -m compare train``: gradient-descent steps, exact vs NumPy vs torch.optim.SGD."""
from decimal import Decimal

from compare.cli.options import (add_exercise, add_numbers, add_output_format, decimal, non_negative_int, report_width,
                                 table_format)
from compare.progress import progress_while
from compare.training import KINK_SIDES, TrainingSettings, run_training
from compare.training_report import render_training_json, render_training_text
from compare.usage import UsageError

MAX_STEPS = 10_000  # --steps without --allow-large: each step runs three tracks and adds a row to the report


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="take gradient-descent steps: exact vs NumPy vs torch.optim.SGD",
        description="Take SGD steps on the exercise in three tracks (exact arithmetic, the hand-written NumPy "
                    "pass, torch.optim.SGD) and compare them step by step.")
    add_exercise(parser)
    add_numbers(parser)
    add_output_format(parser)
    parser.add_argument("--lr", type=decimal, default=Decimal("0.1"), metavar="LR",
                        help="learning rate, exact as written (default 0.1)")
    parser.add_argument("--steps", type=non_negative_int, default=1, metavar="N",
                        help=f"number of SGD steps (default 1, at most {MAX_STEPS:,})")
    parser.add_argument("--momentum", type=decimal, default=Decimal(0), metavar="M",
                        help="SGD momentum, PyTorch's convention v = M*v + g, p -= lr*v (default 0)")
    parser.add_argument("--kink-side", choices=KINK_SIDES, default="torch",
                        help="at a ReLU kink the exact and NumPy steps take torch's side (default) or "
                             "each its own (text: ReLU'(0) = 0)")
    parser.add_argument("--allow-large", action="store_true",
                        help=f"lift the cap on --steps ({MAX_STEPS:,}): a run that long is asked for explicitly")
    parser.set_defaults(handler=run, needs_exercise=True)


def run(exercise, args, tolerance) -> int:
    """Run ``compare.training`` and print its table (or JSON); 1 if any step disagrees."""
    fmt = table_format(args)
    if args.steps > MAX_STEPS and not args.allow_large:
        raise UsageError(f"--steps: at most {MAX_STEPS:,} without --allow-large (asked for {args.steps:,})")
    settings = TrainingSettings(lr=args.lr, steps=args.steps, momentum=args.momentum, dtype=args.dtype,
                                tolerance=tolerance, kink_side=args.kink_side)
    try:
        training = run_training(exercise, settings, show_progress=True)
    except ValueError as error:
        raise UsageError(str(error)) from None
    with progress_while("report"), report_width(args):
        text = render_training_json(training) if args.json else render_training_text(training, fmt)
    print(text)
    return 0 if training.ok else 1
