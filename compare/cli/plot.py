"""``python -m compare plot``: the network and its gradients as a picture."""
from compare.cli.options import add_exercise
from compare.progress import progress_while
from compare.usage import UsageError
from reference.backprop import check_finite


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("plot", help="draw the network and its gradients (.png or .svg)",
                                   description="Draw the network, its activations and gradients, dead neurons "
                                               "and kinks, to a PNG or SVG file.")
    add_exercise(parser)
    parser.add_argument("--output", "-o", required=True, metavar="FILE", help="the picture to write (.svg or .png)")
    parser.set_defaults(handler=run, plain_numbers=True)


def run(exercise, args, tolerance) -> int:
    """Draw ``compare.plot``'s picture to ``args.output``; 2 for a bad file name, or for
    numbers whose float64 pass overflows (the exact pass would then divide by 0 or take
    log(0), as the answer key checks too)."""
    from compare.plot import write_plot  # matplotlib loads only when drawing
    check_finite(exercise, "float64")
    draw("--output", write_plot, exercise, args.output)
    print(f"wrote {args.output}")
    return 0


def draw(option: str, write, subject, path) -> None:
    """``write(subject, path)`` (a picture of ``compare.plot`` or ``compare.training_plot``)
    under a progress line; a ``PlotError`` becomes the one-line ``UsageError`` of ``option``.
    With ``write`` None, only ``path`` is checked (``compare.plot.check_path``), before a
    long run."""
    from compare.plot import PlotError, check_path
    try:
        if write is None:
            check_path(path)
            return
        with progress_while("picture"):
            write(subject, path)
    except PlotError as error:
        raise UsageError(f"{option}: {error}") from None
