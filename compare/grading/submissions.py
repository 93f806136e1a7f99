"""Finding the submissions to grade, and who handed each in.

``grade`` takes paths: a ``.py`` or ``.ipynb`` file (one student, named after the file),
``FILE.py:FUNCTION`` (one student, another function name), or a folder. A folder is a
class: every ``.py``/``.ipynb`` file in it is one student's, and every subfolder is one
student's folder (an empty one, a zip or a symbolic link gets its row and says why). With
``one_student`` (``grade --one-student``; ``--gradescope`` implies it) a folder is one
student's work instead.

In one student's folder the file that defines the function at module level (a ``def`` or
an assignment at the top of a module or of a notebook's code cells, not a method, a
comment or a test fixture) is graded, searched up to three levels down; every module
beside and below it goes with it for it to import (``support_files``). Of several such
files, the one named after the function (then ``solution``, ``submission``, ``main``; the
shallowest first) is graded, saying which others define it; with none of those names the
student is refused, naming the candidates. Hidden files, ``__pycache__``, virtual
environments, installed libraries, tests (``test_*.py``, ``conftest.py``, ``tests/``) and
symbolic links inside a folder are left out: a link could reach files that are not the
student's.
"""
import ast
import codecs
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from compare.grading.runner import MAX_SUBMISSION_FILES

SUFFIXES = (".py", ".ipynb")
PREFERRED = ("solution", "submission", "main")  # file names graded first, after the function's own
NOT_THE_STUDENTS = {"site-packages", "node_modules"}  # installed libraries, not shipped with a student's code
SEARCH_DEPTH = 3  # how many folder levels below a student's folder the graded file is searched


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
    note: str | None = None   # said in the report: which of several files defining the function is graded


def _source(path: Path) -> str | None:
    """The Python source of a ``.py`` file, or of a notebook's code cells; None when it
    cannot be read."""
    if path.suffix == ".ipynb":
        from compare.grading.notebook import NotebookError, read_notebook
        try:
            return read_notebook(path).source
        except NotebookError:
            return None
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Notepad's "Unicode": Python will refuse it
        return raw.decode("utf-16", errors="replace")
    return raw.decode("utf-8-sig", errors="replace")  # a UTF-8 BOM (Notepad) is no character of the module


def _defines(text: str | None, function: str) -> bool:
    """Whether a module's source ``text`` (``_source``; None: unreadable) defines
    ``function`` at its top level, by a ``def`` or an assignment (not a method of a class,
    not in a comment or a string). A source that does not parse counts when a line starts
    with ``def function(`` or ``function =``: the student still gets their syntax error."""
    if text is None:
        return False
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return re.search(rf"(?m)^(def\s+{re.escape(function)}\s*\(|{re.escape(function)}\s*=)", text) is not None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            return True
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == function for t in targets):  # backward = make_backward()
            return True
    return False


def _skipped(path: Path) -> bool:
    """Left out of a student's folder: hidden, ``__pycache__``-like, a symbolic link, a
    virtual environment or installed libraries, tests (``tests/``, ``test_*.py``,
    ``*_test.py``, ``conftest.py``: a fixture may define the function too)."""
    name = path.name
    if name.startswith((".", "__")) or path.is_symlink():
        return True
    if path.is_dir():
        return (name in NOT_THE_STUDENTS or name.lower() in ("tests", "test") or (path / "pyvenv.cfg").exists()
                or (path / "conda-meta").exists())
    return name.lower().startswith("test_") or name.lower().endswith("_test.py") or name == "conftest.py"


def _candidates(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not _skipped(p) and p.is_file() and p.suffix.lower() in SUFFIXES)


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not _skipped(p) and p.is_dir())


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _below(folder: Path, depth: int = SEARCH_DEPTH) -> list[Path]:
    """The ``.py``/``.ipynb`` files of ``folder`` and of its subfolders, ``depth`` levels
    down (``hw3-main/src/backward.py`` of a repository's zip)."""
    files = _candidates(folder)
    if depth > 0:
        for sub in _subfolders(folder):
            files += _below(sub, depth - 1)
    return files


def _preferred(defining: list[Path], function: str, folder: Path, others: tuple[str, ...] = PREFERRED) -> Path | None:
    """The one file of ``defining`` to grade: named after ``function``, else one of
    ``others`` (in that order, the shallowest first); None when no file has such a name,
    or two share the best (``backward.py`` and ``backward.ipynb``)."""
    names = (function.lower(), *others)

    def rank(p: Path) -> tuple[int, int]:
        return names.index(p.stem.lower()), len(p.relative_to(folder).parts)
    ranked = sorted((rank(p), p) for p in defining if p.stem.lower() in names)
    if not ranked or (len(ranked) > 1 and ranked[0][0] == ranked[1][0]):
        return None
    return ranked[0][1]


def _one_student(folder: Path, student: str, function: str) -> Submission:
    """The file of ``folder`` that defines ``function``, searched ``SEARCH_DEPTH`` levels
    down; of several, the preferred one (``_preferred``, said in ``note``); a lone
    unreadable notebook (grading says why); else a problem."""
    files = _below(folder)
    sources = {p: _source(p) for p in files}  # each file read once
    defining = [p for p in files if _defines(sources[p], function)]
    if len(defining) == 1:
        return Submission(student, defining[0], function, own_folder=True)
    broken = [p for p in files if p.suffix.lower() == ".ipynb" and sources[p] is None]
    if not defining and len(broken) == 1:  # grading the notebook says what is wrong with it
        return Submission(student, broken[0], function, own_folder=True)
    if not files:
        zips = sorted(p.name for p in folder.rglob("*.zip"))[:3]
        return Submission(student, None, function, f"no .py or .ipynb file in {folder.name}/" + (
            f" ({', '.join(zips)}: unzip the submissions first)" if zips else ""))
    if not defining:
        return Submission(student, None, function,
                          f"no file in {folder.name}/ defines {function}() (found {', '.join(p.name for p in files[:5])})")
    names = ", ".join(_relative(p, folder) for p in defining[:5]) + (", ..." if len(defining) > 5 else "")
    chosen = _preferred(defining, function, folder)
    if chosen is None:
        return Submission(student, None, function,
                          f"several files in {folder.name}/ define {function}(): {names}; keep one, "
                          f"or name the one to grade {function}.py")
    others = [_relative(p, folder) for p in defining if p != chosen]
    return Submission(student, chosen, function, own_folder=True,
                      note=f"Graded {_relative(chosen, folder)}, by its name; {', '.join(others)} "
                           f"also define{'s' if len(others) == 1 else ''} {function}().")


def support_files(path: Path) -> list[tuple[Path, str]]:
    """The other modules of a one-student folder, for its file ``path`` to import: every
    ``.py`` file beside it and in the folders below it (packages and folders of modules),
    each with its name relative to ``path``'s folder (``utils/helpers.py``). Hidden files
    and folders, ``__pycache__``, virtual environments (a ``pyvenv.cfg`` or ``conda-meta``),
    installed libraries (``site-packages``) and symbolic links are left out; the walk
    stops past ``MAX_SUBMISSION_FILES``, which the runner refuses."""
    root, found = path.parent, []
    for where, folders, names in os.walk(root):
        here = Path(where)
        folders[:] = sorted(n for n in folders if not _skipped(here / n))
        for name in sorted(names):
            file = here / name
            clash = here == root and name == f"{path.stem}.py"  # a notebook's own module name: it wins
            if name.endswith(".py") and not name.startswith(".") and file != path and not file.is_symlink() \
                    and not clash:
                found.append((file, _relative(file, root)))
                if len(found) > MAX_SUBMISSION_FILES:  # the runner refuses the submission; no need to walk on
                    return found
    return found


def discover(targets: list[str], function: str = "backward", one_student: bool = False) -> list[Submission]:
    """The submissions the command line names, in order, each student once (a second
    student of the same name gets ``-2``); with ``one_student`` a folder is always one
    student's work (see the module's docstring). Raises ``SubmissionError`` for a path
    that does not exist or is neither a ``.py``/``.ipynb`` file nor a folder."""
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
        if one_student:
            found.append(_one_student(path, path.resolve().name, fn))
        else:
            found += _class(path, fn)
    return _unique(found)


def _class(folder: Path, function: str) -> list[Submission]:
    """Every student of a class folder, sorted by id: each ``.py``/``.ipynb`` file, each
    subfolder (``_one_student``); a zip or a symbolic link gets a row saying why it is not
    graded."""
    found = [Submission(p.stem, p, function) for p in folder.iterdir()
             if p.is_file() and not p.is_symlink() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")]
    found += [_one_student(p, p.name, function) for p in folder.iterdir()
              if p.is_dir() and not p.is_symlink() and not p.name.startswith((".", "__"))]
    found += [Submission(p.stem, None, function, f"{p.name} is a zip file: unzip the submissions first")
              for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".zip"]
    found += [Submission(p.stem if p.suffix else p.name, None, function,
                         f"{p.name} is a symbolic link, not followed (it could reach files that are not the student's)")
              for p in folder.iterdir() if p.is_symlink() and (p.is_dir() or p.suffix.lower() in SUFFIXES)]
    return sorted(found, key=lambda s: s.student.lower())


def _unique(submissions: list[Submission]) -> list[Submission]:
    seen: dict[str, int] = {}
    out = []
    for s in submissions:
        seen[s.student] = seen.get(s.student, 0) + 1
        out.append(s if seen[s.student] == 1 else replace(s, student=f"{s.student}-{seen[s.student]}"))
    return out
