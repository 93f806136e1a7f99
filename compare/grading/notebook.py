"""A Jupyter notebook as a Python module: what students hand in, made gradable.

The notebook is read with ``nbformat``; its code cells, in order, make the module.
IPython-only lines cannot run in plain Python and are left out, each named in the report:
line magics (``%matplotlib inline``), cell magics (a cell starting with ``%%``), shell
escapes (``!pip install ...``, ``files = !ls``) and help requests (``np.dot?``). A line
left out inside an indented block becomes ``pass`` so the block still parses.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path

IPYTHON_LINE = re.compile(r"^\s*(%|!|\w+\s*=\s*[!%]|[\w.]+\?{1,2}\s*$)")


class NotebookError(ValueError):
    """The file is not a notebook nbformat can read; ``str()`` is one line."""


@dataclass
class NotebookModule:
    """The module made from a notebook: its source, where each of its lines came from
    (``origin[i]`` = (cell number, line number in the cell), both 1-based, for line
    i + 1 of the source) and the IPython lines left out, as ``"cell 3, line 1: %time"``."""
    source: str
    origin: list[tuple[int, int]] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)

    def where(self, line: int | None) -> str | None:
        """``"cell 3, line 2"`` for a line of the module's source (1-based), or None."""
        if line is None or not 1 <= line <= len(self.origin):
            return None
        cell, cell_line = self.origin[line - 1]
        return f"cell {cell}, line {cell_line}"


def read_notebook(path: Path) -> NotebookModule:
    """The code cells of the notebook at ``path`` as one module. Raises
    ``NotebookError`` when the file is not a readable notebook (bad JSON, not nbformat 4)."""
    import nbformat
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as error:  # nbformat raises JSON, validation and OS errors of many types
        message = " ".join(str(error).split())[:200]
        raise NotebookError(f"{path.name}: not a readable Jupyter notebook ({type(error).__name__}: {message})") from None
    lines, origin, left_out = [], [], []
    number = 0
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        source = cell.get("source", "")
        cell_lines = source.splitlines()
        if cell_lines and cell_lines[0].lstrip().startswith("%%"):
            left_out.append(f"cell {number}: the cell magic {cell_lines[0].strip()[:60]} (whole cell)")
            continue
        for i, line in enumerate(cell_lines, start=1):
            if IPYTHON_LINE.match(line):
                left_out.append(f"cell {number}, line {i}: {line.strip()[:60]}")
                indent = line[:len(line) - len(line.lstrip())]
                line = f"{indent}pass  # left out: IPython only"
            lines.append(line)
            origin.append((number, i))
        lines.append("")
        origin.append((number, len(cell_lines) + 1))
    return NotebookModule("\n".join(lines) + "\n", origin, left_out)
