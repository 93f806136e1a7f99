"""Finding the submissions to grade, and who handed each in.

``grade`` takes paths: a ``.py`` or ``.ipynb`` file (one student, named after the file),
``FILE.py:FUNCTION`` (one student, another function name), a folder holding one
student's work (named after the folder), or a folder of such (a class).

A folder is a class (``_is_class``) when one of its subfolders that is not a Python
package holds a file defining the function (each subfolder is then a student, and each
file); or, with no such subfolder, when several of its files define the function, none
of them is named after the function, none imports a module of the folder, and no
subfolder holds Python code. Otherwise it is one student's folder: a package or a
folder without the function below it is the student's helper code, shipped with the
file that defines the function (``support_files``). Where one student's folder has
several files defining the function, the one named after the function (then
``solution``, ``submission``, ``main``) is graded, saying so; with none of those names
the student is refused, naming the candidates. Hidden files and ``__pycache__`` are
ignored.
"""
import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".py", ".ipynb")
PREFERRED = ("solution", "submission", "main")  # file names graded first, after the function's own


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


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _below(folder: Path) -> list[Path]:
    """The ``.py``/``.ipynb`` files of ``folder`` and of its subfolders (one level down)."""
    files = _candidates(folder)
    for sub in _subfolders(folder):
        files += _candidates(sub)
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
    """The file of ``folder`` that defines ``function``, searched one level down too;
    of several, the preferred one (``_preferred``, said in ``note``), else a problem."""
    files = _below(folder)
    defining = [p for p in files if _defines(p, function)]
    if len(defining) == 1:
        return Submission(student, defining[0], function, own_folder=True)
    if not files:
        return Submission(student, None, function, f"no .py or .ipynb file in {folder.name}/")
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


def _is_package(folder: Path) -> bool:
    return (folder / "__init__.py").is_file()


def _imported_modules(path: Path) -> set[str]:
    """The top-level names a ``.py`` file imports absolutely (``utils`` for ``from
    utils.helpers import sig``); empty when it cannot be parsed."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _imports_a_neighbour(files: list[Path], folder: Path) -> bool:
    """Some ``.py`` file of ``files`` imports a module of ``folder`` (a file or a folder
    beside it): the folder's files are one student's modules, not students."""
    return any((folder / f"{name}.py").is_file() or (folder / name).is_dir()
               for p in files if p.suffix == ".py" for name in _imported_modules(p) - {p.stem})


def _is_class(folder: Path, function: str) -> bool:
    """Whether ``folder`` holds students (files and subfolders, each one student's) rather
    than one student's work. See the module's docstring."""
    subfolders = _subfolders(folder)
    if any(not _is_package(sub) and any(_defines(p, function) for p in _below(sub)) for sub in subfolders):
        return True
    files = _candidates(folder)
    defining = [p for p in files if _defines(p, function)]
    if len(defining) <= 1 or _preferred(defining, function, folder, others=()) is not None:
        return False  # only the function's own name marks one student's file: a class may hold a solution.py
    if _imports_a_neighbour(defining, folder):
        return False
    return not any(p.suffix == ".py" for sub in subfolders for p in _below(sub))


def support_files(path: Path) -> list[tuple[Path, str]]:
    """The other modules of a one-student folder, for its file ``path`` to import: every
    ``.py`` file beside it and in the folders below it (packages and folders of modules),
    each with its name relative to ``path``'s folder (``utils/helpers.py``). Hidden files
    and folders, ``__pycache__``, virtual environments (a ``pyvenv.cfg``) and symbolic
    links are left out."""
    root, found = path.parent, []
    for where, folders, names in os.walk(root):
        here = Path(where)
        folders[:] = sorted(n for n in folders if not n.startswith(".") and n != "__pycache__"
                            and not (here / n).is_symlink() and not (here / n / "pyvenv.cfg").exists())
        for name in sorted(names):
            file = here / name
            if name.endswith(".py") and not name.startswith(".") and file != path and not file.is_symlink():
                found.append((file, _relative(file, root)))
    return found


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
        if _is_class(path, fn):  # every file and every subfolder is a student's
            found += [Submission(p.stem, p, fn) for p in _candidates(path)]
            found += [_one_student(sub, sub.name, fn) for sub in _subfolders(path)]
        else:
            found.append(_one_student(path, path.name, fn))
    return _unique(found)


def _unique(submissions: list[Submission]) -> list[Submission]:
    seen: dict[str, int] = {}
    out = []
    for s in submissions:
        seen[s.student] = seen.get(s.student, 0) + 1
        out.append(s if seen[s.student] == 1 else Submission(f"{s.student}-{seen[s.student]}", s.path,
                                                             s.function, s.problem, s.own_folder, s.note))
    return out
