"""Text tables that fit the terminal.

``tabulate`` here is tabulate's, with one addition: while a width is in effect
(``table_width``), the long text columns (``WRAPPED``: verdict, why, why zero, diagnosis,
working, evidence, first mistake) of a table wider than that width wrap onto more lines
(tabulate's ``maxcolwidths``) so that the table fits; the other columns keep their width.
Only formats that can hold a cell of several lines wrap (tabulate's
``multiline_formats``); HTML, LaTeX, TSV and the like are never touched.

Which width: the command line sets it (``width_for_output``): ``$COLUMNS`` when it is set
to a whole number, else the terminal's width when standard output is a terminal, else
none: output to a pipe or a file, ``--json``, ``--wide`` and library calls keep one line
per row, as before.
"""
import contextlib
import contextvars
import os
import shutil
import sys

from tabulate import multiline_formats, tabulate as _tabulate

WRAPPED = frozenset({"verdict", "why", "why zero", "diagnosis", "working", "evidence", "first mistake"})
MIN_WIDTH = 12  # a wrapped column is never narrower than this (nor than its header)
_WIDTH = contextvars.ContextVar("table_width", default=None)


def terminal_width(stream=None) -> int | None:
    """The width tables are wrapped to for output on ``stream`` (standard output by
    default): ``$COLUMNS`` if it is a whole number >= 1, else the terminal's width if
    ``stream`` is a terminal, else None (a pipe or a file: no wrapping)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    stream = sys.stdout if stream is None else stream
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        interactive = False
    return shutil.get_terminal_size().columns if interactive else None


def width_for_output(wide: bool = False, machine_readable: bool = False) -> int | None:
    """The width for a command's text report: None with ``--wide`` or ``--json``, else
    ``terminal_width()``."""
    return None if wide or machine_readable else terminal_width()


@contextlib.contextmanager
def table_width(width: int | None):
    """Within the block, ``tabulate`` wraps long text columns to fit ``width``
    characters (None: never)."""
    token = _WIDTH.set(width)
    try:
        yield
    finally:
        _WIDTH.reset(token)


def _cell_width(cell) -> int:
    return max((len(line) for line in str("" if cell is None else cell).splitlines()), default=0)


def fitted_widths(natural: list[int], budget: int) -> list[int]:
    """Widths for columns of ``natural`` widths that together take at most ``budget``
    (each at least ``MIN_WIDTH`` or its natural width): narrow columns keep their width,
    the widest share what is left equally."""
    widths = list(natural)
    order = sorted(range(len(natural)), key=lambda i: natural[i])
    left, remaining = budget, len(order)
    for position, i in enumerate(order):
        share = max(MIN_WIDTH, left // remaining) if remaining else MIN_WIDTH
        if natural[i] <= share:
            left -= natural[i]
            remaining -= 1
            continue
        for j in order[position:]:
            widths[j] = min(natural[j], share)
        break
    return widths


def tabulate(rows, headers=(), tablefmt="simple", **options) -> str:
    """``tabulate.tabulate``, with its long text columns wrapped to the width in effect
    (``table_width``) when the table would be wider."""
    table = _tabulate(rows, headers=headers, tablefmt=tablefmt, **options)
    width = _WIDTH.get()
    if (width is None or tablefmt not in multiline_formats or "maxcolwidths" in options
            or not isinstance(headers, (list, tuple))):
        return table
    total = max((len(line) for line in table.splitlines()), default=0)
    wrapped = [i for i, header in enumerate(headers) if str(header) in WRAPPED]
    if total <= width or not wrapped:
        return table
    rows, headers = [list(row) for row in rows], list(headers)
    natural = [max([_cell_width(headers[i])] + [_cell_width(row[i]) for row in rows if i < len(row)]) for i in wrapped]
    budget = width - (total - sum(natural))
    floors = [max(MIN_WIDTH, _cell_width(headers[i])) for i in wrapped]
    widths = [max(w, floor) if w < n else w for w, n, floor in
              zip(fitted_widths(natural, budget), natural, floors)]
    limits = [None] * len(headers)
    for i, w, n in zip(wrapped, widths, natural):
        limits[i] = w if w < n else None
    if not any(limits):
        return table
    return _tabulate(rows, headers=headers, tablefmt=tablefmt, maxcolwidths=limits, **options)
