"""``python -m compare train``: gradient-descent steps, exact vs NumPy vs torch.optim.SGD."""
from compare.cli.options import (add_exercise, add_numbers, add_output_format, decimal, non_negative_int, report_width,
                                 table_format)
from compare.cli.plot import draw
from compare.progress import progress_while
from compare.training import KINK_SIDES, TrainingSettings, run_training
from compare.training_report import render_training_json, render_training_text
from compare.usage import UsageError
from reference.exercise import ExerciseError

MAX_STEPS = 10_000  # --steps without --allow-large: each step runs three tracks and adds a row to the report


def parameter_list(text: str) -> tuple[str, ...]:
    """``"b1,b2"`` -> ``("b1", "b2")``; ``""`` freezes nothing (overriding the file's
    ``[training] freeze``). The names are checked against the network later."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="take gradient-descent steps: exact vs NumPy vs torch.optim.SGD",
        description="Take SGD steps on the exercise in three tracks (exact arithmetic, the hand-written NumPy "
                    "pass, torch.optim.SGD) and compare them step by step. The file's [training] table gives "
                    "defaults for --lr, --steps, --momentum and --freeze; values it prints after its steps "
                    "([after.K]) are checked.")
    add_exercise(parser)
    add_numbers(parser)
    add_output_format(parser)
    parser.add_argument("--lr", type=decimal, metavar="LR",
                        help="learning rate, exact as written (default: the file's [training] lr, else 0.1)")
    parser.add_argument("--steps", type=non_negative_int, metavar="N",
                        help=f"number of SGD steps (default: the file's [training] steps, else the last [after.K], "
                             f"else 1; at most {MAX_STEPS:,})")
    parser.add_argument("--momentum", type=decimal, metavar="M",
                        help="SGD momentum, PyTorch's convention v = M*v + g, p -= lr*v (default: the file's "
                             "[training] momentum, else 0)")
    parser.add_argument("--freeze", type=parameter_list, metavar="P1,P2",
                        help="parameters that keep their values in every track, e.g. b1,b2 (default: the file's "
                             "[training] freeze; '' freezes none)")
    parser.add_argument("--kink-side", choices=KINK_SIDES, default="torch",
                        help="at a ReLU kink the exact and NumPy steps take torch's side (default) or "
                             "each its own (text: ReLU'(0) = 0)")
    parser.add_argument("--plot", metavar="FILE",
                        help="also draw the loss per step of the three tracks and the parameters that move most "
                             "(.png or .svg)")
    parser.add_argument("--allow-large", action="store_true",
                        help=f"lift the cap on --steps ({MAX_STEPS:,}): a run that long is asked for explicitly")
    parser.set_defaults(handler=run)


def refuse_steps(exercise, steps: int, asked: bool) -> None:
    """Refuse ``steps`` above ``MAX_STEPS`` without --allow-large, naming where the number
    comes from: ``--steps`` (a ``UsageError``), else the file's ``[training] steps`` or
    its last ``[after.K]`` (an ``ExerciseError``)."""
    if asked:
        raise UsageError(f"--steps: at most {MAX_STEPS:,} without --allow-large (asked for {steps:,})")
    key = "training.steps" if exercise.training.steps is not None else f"after.{steps}"
    raise ExerciseError(exercise.path, key, f"at most {MAX_STEPS:,} steps without --allow-large; got {steps:,}")


def run(exercise, args, tolerance) -> int:
    """Run ``compare.training`` and print its table (or JSON), drawing ``--plot`` if
    asked; 1 if any step disagrees or a value printed after a step is wrong."""
    fmt = table_format(args)
    settings = TrainingSettings.for_exercise(exercise, args.lr, args.steps, args.momentum, args.freeze,
                                             dtype=args.dtype, tolerance=tolerance, kink_side=args.kink_side)
    if settings.steps > MAX_STEPS and not args.allow_large:
        refuse_steps(exercise, settings.steps, args.steps is not None)
    if args.plot:
        draw("--plot", None, None, args.plot)  # the name checked before the steps are taken
    try:
        training = run_training(exercise, settings, show_progress=True)
    except ExerciseError:
        raise  # the file's fault, printed FILE: KEY: expected ... (an ExerciseError is a ValueError)
    except ValueError as error:
        raise UsageError(str(error)) from None
    with progress_while("report"), report_width(args):
        text = render_training_json(training) if args.json else render_training_text(training, fmt)
    if args.plot:  # drawn before the report: a picture that cannot be drawn is the one line of output
        from compare.training_plot import write_training_plot  # matplotlib loads only when drawing
        draw("--plot", write_training_plot, training, args.plot)
    print(text)
    if args.plot and not args.json:
        print(f"wrote {args.plot}")
    return 0 if training.ok else 1
