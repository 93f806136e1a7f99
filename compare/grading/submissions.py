"""Finding the submissions to grade, and who handed each in.

``grade`` takes paths: a ``.py`` or ``.ipynb`` file (one student, named after the file),
``FILE.py:FUNCTION`` (one student, another function name), a folder holding one
student's work (named after the folder), or a folder of such (a class). A folder is one
student's when exactly one of its ``.py``/``.ipynb`` files defines the function (other
files are that student's helpers); otherwise every such file and every subfolder in it
is a student. Hidden files and ``__pycache__`` are ignored.
"""
import re
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".py", ".ipynb")


class SubmissionError(ValueError):
    """A path that names no submission; ``str()`` is one line."""


@dataclass(frozen=True)
class Submission:
    """One student's work: ``student`` (the id: file or folder name), the ``path`` of the
    file that defines ``function``, or ``problem``: why there is nothing to grade."""
    student: str
    path: Path | None
    function: str
    problem: str | None = None
    own_folder: bool = False  # the work is a folder of the student's own: its other modules go with it


def _defines(path: Path, function: str) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(rf"\bdef\s+{re.escape(function)}\s*\(", text) is not None


def _candidates(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix in SUFFIXES and not p.name.startswith((".", "__")))


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))


def _one_student(folder: Path, student: str, function: str) -> Submission:
    """The file of ``folder`` that defines ``function``, searched one level down too."""
    files = _candidates(folder)
    for sub in _subfolders(folder):
        files += _candidates(sub)
    defining = [p for p in files if _defines(p, function)]
    if len(defining) == 1:
        return Submission(student, defining[0], function, own_folder=True)
    if not files:
        return Submission(student, None, function, f"no .py or .ipynb file in {folder.name}/")
    if not defining:
        return Submission(student, None, function,
                          f"no file in {folder.name}/ defines {function}() (found {', '.join(p.name for p in files[:5])})")
    return Submission(student, None, function,
                      f"{len(defining)} files in {folder.name}/ define {function}(): "
                      + ", ".join(p.name for p in defining[:5]))


def discover(targets: list[str], function: str = "backward") -> list[Submission]:
    """The submissions the command line names, in order, each student once (a second
    student of the same name gets ``-2``). Raises ``SubmissionError`` for a path that
    does not exist or is neither a ``.py``/``.ipynb`` file nor a folder."""
    found: list[Submission] = []
    for target in targets:
        text, _, named = target.rpartition(":")
        if text and named.isidentifier() and text.endswith(".py"):
            path, fn = Path(text), named
        else:
            path, fn = Path(target), function
        if not path.exists():
            raise SubmissionError(f"{target}: no such file or folder")
        if path.is_file():
            if path.suffix not in SUFFIXES:
                raise SubmissionError(f"{target}: expected a .py or .ipynb file, or a folder")
            found.append(Submission(path.stem, path, fn))
            continue
        if not path.is_dir():
            raise SubmissionError(f"{target}: expected a regular file or a folder")
        files, subfolders = _candidates(path), _subfolders(path)
        defining = [p for p in files if _defines(p, fn)]
        if not subfolders and len(defining) <= 1:
            found.append(_one_student(path, path.name, fn))
            continue
        found += [Submission(p.stem, p, fn) for p in files]  # a class: every file is a student's
        found += [_one_student(sub, sub.name, fn) for sub in subfolders]
    return _unique(found)


def _unique(submissions: list[Submission]) -> list[Submission]:
    seen: dict[str, int] = {}
    out = []
    for s in submissions:
        seen[s.student] = seen.get(s.student, 0) + 1
        out.append(s if seen[s.student] == 1 else Submission(f"{s.student}-{seen[s.student]}", s.path,
                                                             s.function, s.problem, s.own_folder))
    return out
