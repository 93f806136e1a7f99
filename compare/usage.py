"""What the command-line entry points share: one-line usage errors, loading the
exercise (and one example of it), and writing an output file atomically."""
import argparse
import errno
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

from reference.exercise import Exercise, did_you_mean, load_exercise

UNRECOGNIZED = "unrecognized arguments: "


class UsageError(Exception):
    """Bad command-line usage; the message is one line."""


def option_hint(message: str, options) -> str:
    """For argparse's ``"unrecognized arguments: --lrr 0.5"``, ``"; did you mean
    '--lr'?"`` naming the option of ``options`` closest to the first unknown one
    (``reference.exercise.did_you_mean``); ``""`` for any other message or no close option."""
    if not message.startswith(UNRECOGNIZED):
        return ""
    unknown = next((word.split("=")[0] for word in message[len(UNRECOGNIZED):].split() if word.startswith("--")), None)
    return did_you_mean(unknown, sorted(o for o in options if o.startswith("--"))) if unknown else ""


class Parser(argparse.ArgumentParser):
    """``argparse`` that raises ``UsageError`` instead of printing usage and exiting; an
    unknown option of a parser without subcommands gets a did-you-mean (``option_hint``)."""

    def error(self, message):
        hint = "" if self._subparsers is not None else option_hint(message, self._option_string_actions)
        raise UsageError(message + hint)


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


def check_output_file(path, option: str) -> None:
    """Refuse, before any work, an output file ``atomic_output`` could not write: one that
    exists and is not a regular file (through symlinks), or whose folder is missing or
    not writable. Raises ``UsageError`` naming ``option`` and the path."""
    real = Path(os.path.realpath(path))
    if real.exists() and not real.is_file():
        raise UsageError(f"{option}: {path}: expected a file to write (it exists and is not a regular file)")
    if not real.parent.is_dir():
        raise UsageError(f"{option}: {path}: expected a file in an existing folder ({real.parent} is not one)")
    if not os.access(real.parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option}: {path}: expected a file in a folder you can write ({real.parent} is not)")


def check_output_folder(path, option: str, files=()) -> None:
    """Refuse, before any work, an output folder that cannot be made or written: ``path``
    exists and is not a folder, or the nearest existing folder above it is not writable;
    each of ``files`` (relative paths inside it) is checked as ``check_output_file`` where
    its folder exists. Raises ``UsageError`` naming ``option`` and the path."""
    for link in (Path(path), *(Path(path) / name for name in {Path(f).parent for f in files} - {Path(".")})):
        if link.is_symlink() and not link.exists():  # mkdir would fail on it after the work
            raise UsageError(f"{option}: {link}: expected a folder (it is a symbolic link to a missing "
                             f"{os.readlink(link)})")
    folder = Path(os.path.realpath(path))
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option}: {path}: expected a folder (it exists and is not one)")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{option}: {path}: expected a folder ({existing} is a file, not a folder)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option}: {path}: expected a folder you can write ({existing} is not writable)")
    for name in files:
        target = folder / name
        for above in reversed(target.relative_to(folder).parents[:-1]):  # the subfolders on the way
            if (folder / above).exists() and not (folder / above).is_dir():
                raise UsageError(f"{option}: {folder / above}: expected a folder (it exists and is not one)")
        if target.parent.is_dir():
            check_output_file(target, option)


def _target(path) -> tuple[Path, int]:
    """The file to write for ``path`` (through symbolic links; a dangling link: the file
    it names) and the permissions it gets: an existing file's own, else the usual ones.
    Raises ``OSError`` if ``path`` exists and is not a regular file."""
    path = Path(os.path.realpath(path))
    try:
        existing = os.stat(path)
    except FileNotFoundError:
        return path, 0o666 & ~_umask()
    if not stat.S_ISREG(existing.st_mode):
        raise OSError(errno.EEXIST, "it exists and is not a regular file")
    return path, stat.S_IMODE(existing.st_mode)


def file_stem(student: str) -> str:
    """A file name for a student id (letters, digits, ``-_.`` kept; the rest ``_``): a
    student's variant, answer key and feedback files."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in student) or "student"


def name_clash(students: list[str]) -> tuple[str, str] | None:
    """The first two ids whose files (``file_stem``) would be one, also where the names
    differ only in case (one file on macOS and Windows); None when there is none."""
    seen: dict[str, str] = {}
    for student in students:
        other = seen.setdefault(file_stem(student).casefold(), student)
        if other != student:
            return other, student
    return None


@contextmanager
def atomic_output(path, binary: bool = False):
    """A file object to write ``path`` through: a temporary file in the same directory,
    renamed over ``path`` only when the block succeeds, so a failure never leaves a
    half-written file. A symbolic link is written through (its target gets the text, the
    link stays a link); an existing file keeps its permissions, a new one gets the usual
    ones. Raises ``OSError`` if the directory cannot be written or ``path`` exists and is
    not a regular file (a directory, a device such as /dev/null, a FIFO): refused, never
    replaced."""
    path, mode = _target(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as stream:
            yield stream
        os.chmod(temporary, mode)  # mkstemp makes 0600
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_targets(paths) -> list[tuple[Path, int]]:
    """The file to write and its permissions (``_target``) for each of ``paths``; raises
    ``OSError`` naming (``filename``) the first that exists and is not a regular file:
    what ``atomic_output`` refuses, checked before anything is written."""
    found = []
    for path in paths:
        try:
            found.append(_target(path))
        except OSError as error:
            raise OSError(error.errno, error.strerror, str(path)) from None
    return found


def _temporary_copy(path: Path, mode: int, text: str) -> str:
    """``text`` written to a new temporary file beside ``path`` with permissions ``mode``;
    its name. Nothing is left behind when writing fails."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary


def atomic_outputs(files: dict) -> None:
    """Write every file of ``files`` (path: text) or none: each path checked first
    (``check_targets``), each text written to a temporary file beside its path, and all
    renamed into place, in the order given, only once every one is written. A failure
    removes the temporary files, so it never leaves a half-written file or a part of the
    set (short of a rename itself failing, after every file is written). Paths as in
    ``atomic_output``."""
    targets = [(*target, text) for target, text in zip(check_targets(files), files.values())]
    written: list[tuple[str, Path]] = []
    try:
        for path, mode, text in targets:
            written.append((_temporary_copy(path, mode, text), path))
        for temporary, path in written:
            os.replace(temporary, path)
    except BaseException:
        for temporary, _ in written:
            Path(temporary).unlink(missing_ok=True)
        raise
