"""``python -m compare``: the command line (``compare.cli``).

``python -m`` puts the current folder first on ``sys.path``. A file there named like a
module the grader imports later (a ``gmpy2.py`` that a student's code dropped, which
mpmath would import) would then run inside the grader; so the current folder is taken
off ``sys.path``, unless the ``compare`` package itself lives there (a clone run without
installing it).
"""
import os
import sys
from pathlib import Path


def _without_current_folder(path: list[str]) -> list[str]:
    """``path`` without ``""`` and the entries naming the current folder, unless the
    ``compare`` package lives in it."""
    try:
        here = Path(os.getcwd()).resolve()
    except OSError:  # the current folder was deleted: nothing to import from it
        return [entry for entry in path if entry]
    if Path(__file__).resolve().parent.parent == here:
        return path
    return [entry for entry in path if entry and Path(entry).resolve() != here]


sys.path[:] = _without_current_folder(sys.path)

from compare.cli import run  # noqa: E402 - after the path is cleaned

run()
