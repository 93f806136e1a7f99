"""Progress on stderr for checks that take a while: ``progress_bar`` for a loop,
``progress_while`` for a step that has none.

On a terminal a tqdm bar, shown once the loop has run longer than ``SHOW_AFTER_SECONDS``.
Anywhere else (a pipe, a CI log, a file) the same information as a line of its own: the
first after ``SHOW_AFTER_SECONDS``, then one every ``LINE_EVERY_SECONDS``, and a last one
when a loop that printed any ends, so a log shows that a long run is alive and how far it
got, without the carriage returns of a bar.
"""
import sys
import threading
import time
from contextlib import contextmanager

SHOW_AFTER_SECONDS = 1.0
LINE_EVERY_SECONDS = 10.0


def progress_bar(description: str, enabled: bool = True):
    """A wrapper ``wrap(iterable)`` that reports the loop's progress on stderr once it has
    run longer than ``SHOW_AFTER_SECONDS``: a tqdm bar on a terminal, periodic lines
    (``progress_lines``) otherwise; the identity when ``enabled`` is false."""
    if not enabled:
        return lambda iterable: iterable
    if not sys.stderr.isatty():
        return lambda iterable: progress_lines(iterable, description)
    from tqdm import tqdm
    return lambda iterable: tqdm(iterable, desc=description, file=sys.stderr,
                                 delay=SHOW_AFTER_SECONDS, leave=False)


def progress_lines(iterable, description: str, stream=None, clock=time.monotonic):
    """Yield the items of ``iterable``; once more than ``SHOW_AFTER_SECONDS`` have passed
    write ``"DESCRIPTION: 120/8970 (1%), 0:12 elapsed, about 14:50 left"`` to ``stream``
    (stderr), then again every ``LINE_EVERY_SECONDS`` and when the loop ends."""
    from tqdm import tqdm  # its time formatting
    total = len(iterable) if hasattr(iterable, "__len__") else None
    start = clock()
    next_line = start + SHOW_AFTER_SECONDS
    done = 0
    shown = None  # the count the last line showed

    def line(now):
        elapsed = now - start
        where = f"{done}/{total} ({done / total:.0%})" if total else f"{done}"
        left = (f", about {tqdm.format_interval(elapsed / done * (total - done))} left"
                if total and done and done < total else "")
        print(f"{description}: {where}, {tqdm.format_interval(elapsed)} elapsed{left}",
              file=stream or sys.stderr, flush=True)

    for item in iterable:
        yield item
        done += 1
        now = clock()
        if now >= next_line:
            line(now)
            shown = done
            next_line = now + LINE_EVERY_SECONDS
    if shown is not None and shown != done:
        line(clock())


@contextmanager
def progress_while(description: str, enabled: bool = True, stream=None):
    """For a step without a loop to count (an exact comparison entry by entry, a report
    of thousands of rows): once the block has run longer than ``SHOW_AFTER_SECONDS``,
    its elapsed time on stderr, kept up to date by a background thread: a tqdm bar on a
    terminal, otherwise a line every ``LINE_EVERY_SECONDS`` and one when it ends."""
    if not enabled:
        yield
        return
    stream = stream or sys.stderr
    done = threading.Event()
    start = time.monotonic()

    def show():
        if done.wait(SHOW_AFTER_SECONDS):
            return
        if stream.isatty():
            from tqdm import tqdm
            bar = tqdm(desc=description, file=stream, leave=False, bar_format="{desc}: {elapsed} elapsed")
            while not done.wait(0.5):
                bar.refresh()
            bar.close()
            return
        from tqdm import tqdm
        while True:
            print(f"{description}: {tqdm.format_interval(time.monotonic() - start)} elapsed", file=stream, flush=True)
            if done.wait(LINE_EVERY_SECONDS):
                break
        print(f"{description}: done in {tqdm.format_interval(time.monotonic() - start)}", file=stream, flush=True)

    thread = threading.Thread(target=show, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
