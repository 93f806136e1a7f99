"""Progress bars on stderr for checks that take a while (tqdm)."""
import sys

SHOW_AFTER_SECONDS = 1.0


def progress_bar(description: str, enabled: bool):
    """A wrapper ``wrap(iterable)`` that shows a tqdm bar on stderr once the loop has
    run longer than ``SHOW_AFTER_SECONDS``; the identity when ``enabled`` is false or
    stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty():
        return lambda iterable: iterable
    from tqdm import tqdm
    return lambda iterable: tqdm(iterable, desc=description, file=sys.stderr,
                                 delay=SHOW_AFTER_SECONDS, leave=False)
