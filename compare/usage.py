"""What the command-line entry points share: one-line usage errors, loading the
exercise (and one example of it), and writing an output file atomically."""
import argparse
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from reference.exercise import Exercise, load_exercise


class UsageError(Exception):
    """Bad command-line usage; the message is one line."""


class Parser(argparse.ArgumentParser):
    """``argparse`` that raises ``UsageError`` instead of printing usage and exiting."""

    def error(self, message):
        raise UsageError(message)


def load_selected(path: str, example: int | None, dtype: str = "float64") -> Exercise:
    """The exercise at ``path`` checked for runs in ``dtype``, or only its example
    ``example`` (0-based). Raises ``ExerciseError`` for a bad file and ``UsageError`` for
    an example out of range."""
    exercise = load_exercise(path, dtype)
    if example is None:
        return exercise
    try:
        return exercise.example(example)
    except IndexError as error:
        raise UsageError(f"--example: {error}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path, binary: bool = False):
    """A file object to write ``path`` through: a temporary file in the same directory,
    renamed over ``path`` (with the usual permissions) only when the block succeeds, so a
    failure never leaves a half-written file. Raises ``OSError`` if the directory cannot
    be written."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".",
                                         prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as stream:
            yield stream
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
