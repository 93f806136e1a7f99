"""Variants of an exercise: the same network with fresh numbers, one per student.

A variant keeps the network, the loss and the exercise's ``[grading]``, and draws new
parameters, inputs and targets: each array's entries are decimals with as many places as
the original array uses, in the original array's range (0/1 pixels stay 0/1 pixels;
class indices stay class indices). A draw is kept only when it satisfies the exercise's
``[variants]`` rules (``reference.exercise.VariantRules``): no ReLU pre-activation
within ``kink_margin`` of 0, or exactly one exactly at 0 (``kinks = 1``); dead neurons
allowed, required or excluded; answers that are short decimals where the math allows
(``short_answers``). The same seed always gives the same variant; a student's seed comes
from the student's id, so a roster gives every student their own numbers.
"""
import csv
import hashlib
import re
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np

from compare.formatting import terminating_places
from reference import activations, quantities
from reference.backprop import run_pass
from compare.usage import file_stem, name_clash
from reference.exercise import Exercise, ExerciseError
from reference.numbers import EXACT, decimals_written

ATTEMPTS = 2000
SHORT_PLACES = 6  # "short": exact answers with at most this many decimals (or the original's, if more)


class VariantError(ExerciseError):
    """A bad roster, or ``[variants]`` rules no variant satisfies: ``str()`` is one line,
    ``FILE: KEY: expected ...``, printed as ``ExerciseError`` is."""


def seed_for(student: str, seed: int = 0) -> int:
    """The seed of ``student``'s variant: a hash of the id and the base ``seed``, the same
    on every machine and run."""
    return int(hashlib.sha256(f"{seed}:{student}".encode()).hexdigest()[:15], 16)


def _places(values: np.ndarray) -> int:
    return max((decimals_written(v) or 0 for v in values.reshape(-1)), default=0)


def _draw(rng: np.random.Generator, values: np.ndarray, low=None, high=None) -> np.ndarray:
    """Random decimals shaped and written like ``values``: as many places, in its range
    (clipped to [low, high]); a constant array spreads ten units either side."""
    places = _places(values)
    unit = Decimal(1).scaleb(-places)
    lo, hi = min(values.reshape(-1)), max(values.reshape(-1))
    if lo == hi:
        lo, hi = lo - 10 * unit, hi + 10 * unit
    if low is not None:
        lo, hi = max(lo, Decimal(low)), min(hi, Decimal(high))
    steps = rng.integers(int(lo / unit), int(hi / unit) + 1, size=values.shape)
    if all(v != 0 for v in values.reshape(-1)) and (lo < 0 < hi):  # no zeros where the original has none
        while np.any(steps == 0):
            steps = np.where(steps == 0, rng.integers(int(lo / unit), int(hi / unit) + 1, size=values.shape), steps)
    out = np.empty(values.shape, dtype=object)
    out.reshape(-1)[:] = [(Decimal(int(k)) * unit).quantize(unit) if places else Decimal(int(k))
                          for k in steps.reshape(-1)]
    return out


def _targets(rng: np.random.Generator, exercise: Exercise) -> np.ndarray:
    arch = exercise.architecture
    if arch.loss == "cross_entropy":
        n = arch.sizes[-1]
        labels = rng.integers(0, n, size=exercise.batch_size)
        y = np.empty(exercise.y.shape, dtype=object)
        y.reshape(-1)[:] = [Decimal(int(c == label)) for label in labels for c in range(n)]
        return y
    if arch.loss in ("bce", "bce_with_logits"):
        return _draw(rng, exercise.y, 0, 1)
    return _draw(rng, exercise.y)


def _draft(exercise: Exercise, rng: np.random.Generator) -> Exercise:
    parameters = {name: _draw(rng, value) for name, value in exercise.parameters.items()}
    return replace(exercise, parameters=parameters, x=_draw(rng, exercise.x), y=_targets(rng, exercise),
                   answers=(), claims={}, errata=frozenset(), answers_left_out=0)


def _kinked_zs(exercise: Exercise, exact) -> list[np.ndarray]:
    """The pre-activations of the kinked layers in the pass ``exact``."""
    return [exact.pre_activations[k] for k, a in enumerate(exercise.architecture.activations)
            if a in activations.KINKED]


def _answer_places_of(values: dict) -> list[int | None]:
    """The decimal places each exact answer (every gradient and L) of a pass's ``values``
    needs; None for one that does not terminate."""
    return [terminating_places(v) for name, value in values.items() if name.startswith("dL/d") or name == "L"
            for v in np.asarray(value, dtype=object).reshape(-1)]


def _kink_layer(exercise: Exercise) -> int | None:
    """The layer (1-based) whose bias ``kinks = 1`` sets: the first ReLU (or leaky ReLU)
    layer with a bias; None if there is none."""
    return next((k for k, a in enumerate(exercise.architecture.activations, start=1)
                 if a in activations.KINKED and f"b{k}" in exercise.parameters), None)


def _pin_one_kink(exercise: Exercise, rng: np.random.Generator) -> Exercise:
    """One pre-activation of the first ReLU layer with a bias (``_kink_layer``) set
    exactly to 0 by that bias (for one
    random example and neuron; a bias shared by the layer moves its other neurons too,
    and the rules then judge the draw); unchanged where that bias is no finite decimal."""
    arch = exercise.architecture
    k = _kink_layer(exercise)
    b, j = int(rng.integers(exercise.batch_size)), int(rng.integers(arch.sizes[k]))
    if k == 1:
        inputs = [Fraction(v) for v in exercise.x[b]]
    else:
        hidden = run_pass(exercise, arch.ground_truth).values[quantities.hidden_name(k - 1, arch.n_layers)]
        inputs = [Fraction(str(v)) if not isinstance(v, Fraction) else v for v in np.atleast_2d(hidden)[b]]
    bias = -sum((a * Fraction(w) for a, w in zip(inputs, exercise.parameters[f"W{k}"][:, j])), Fraction(0))
    places = terminating_places(bias)
    if places is None:
        return exercise
    params = dict(exercise.parameters)
    params[f"b{k}"] = params[f"b{k}"].copy()
    entry = (j,) if params[f"b{k}"].ndim else ()  # a bias shared by the layer moves every neuron of it
    params[f"b{k}"][entry] = Decimal(bias.numerator) / Decimal(bias.denominator) if places else Decimal(int(bias))
    return replace(exercise, parameters=params)


def _satisfies(exercise: Exercise, limit: int) -> bool:
    rules = exercise.variants
    exact = run_pass(exercise, exercise.architecture.ground_truth, printed=False)  # exact for a rational network
    zs = _kinked_zs(exercise, exact)
    values = [Fraction(str(v)) if not isinstance(v, Fraction) else v for z in zs for v in z.reshape(-1)]
    at_zero = sum(v == 0 for v in values)
    if at_zero != rules.kinks or any(v != 0 and abs(v) < rules.kink_margin for v in values):
        return False
    if rules.dead != "any" and zs:
        dead = [bool(np.all(z[:, j] <= 0)) for z in zs for j in range(z.shape[1])]
        if (rules.dead == "at_least_one") != any(dead):
            return False
    if rules.short_answers and exercise.architecture.rational:
        return all(p is not None and p <= limit for p in _answer_places_of(exact.values))
    return True


def _answer_places(exercise: Exercise) -> int:
    """The places the original's exact answers need (for what "short" means here)."""
    if not exercise.architecture.rational:
        return SHORT_PLACES
    places = _answer_places_of(run_pass(exercise, EXACT, printed=False).values)
    return max([SHORT_PLACES] + [p for p in places if p is not None])


def impossible(exercise: Exercise) -> str | None:
    """Why no draw can satisfy ``exercise``'s ``[variants]`` rules, in words, for the
    cases seen without drawing; None otherwise (the draws then decide)."""
    rules, arch = exercise.variants, exercise.architecture
    relu = any(a in activations.KINKED for a in arch.activations)
    if rules.kinks and not relu:
        return "kinks = 1 asks for a ReLU pre-activation exactly at 0, and the network has no ReLU layer"
    if rules.kinks and _kink_layer(exercise) is None:
        return "kinks = 1 sets a ReLU pre-activation to 0 through its layer's bias, and no ReLU layer has a bias"
    if rules.dead == "at_least_one" and not relu:
        return 'dead = "at_least_one" asks for a dead ReLU neuron, and the network has no ReLU layer'
    if rules.kinks and rules.dead == "none" and exercise.batch_size == 1:
        return ('kinks = 1 with dead = "none" on one example: the neuron at the kink has z = 0 in the only '
                'example, so it is dead')
    return None


def make_variant(exercise: Exercise, seed: int, label: str | None = None) -> Exercise:
    """A variant of ``exercise`` drawn with ``seed`` (see the module's docstring). Raises
    ``VariantError`` for rules that cannot hold (``impossible``, before drawing) and when
    no draw of ``ATTEMPTS`` satisfies the ``[variants]`` rules."""
    why = impossible(exercise)
    if why:
        raise VariantError(exercise.path, "variants", f"rules a variant can satisfy; {why}")
    rng = np.random.default_rng(seed)
    limit = _answer_places(exercise)
    for _ in range(ATTEMPTS):
        draft = _draft(exercise, rng)
        if exercise.variants.kinks:
            draft = _pin_one_kink(draft, rng)
        if _satisfies(draft, limit):
            name = label or f"seed {seed}"
            return replace(draft, title=f"{exercise.title} (variant, {name})", path=f"<variant {name}>")
    rules = exercise.variants
    raise VariantError(exercise.path, "variants", f"rules a variant can satisfy; no draw of {ATTEMPTS} satisfies the "
                       f"[variants] rules (kink_margin {rules.kink_margin}, kinks {rules.kinks}, dead {rules.dead}, "
                       f"short_answers {str(rules.short_answers).lower()}); loosen them")


# Roster headings, compared by ``heading``: the id columns in the order one is chosen,
# then other columns a roster has (a header row holding any of these is not a student).
ID_HEADINGS = ("id", "studentid", "student", "sid", "sisuserid", "sisid", "userid", "idnumber", "studentnumber",
               "loginid", "sisloginid", "login", "username", "user", "netid", "email", "emailaddress")
OTHER_HEADINGS = ("name", "firstname", "lastname", "surname", "fullname", "givenname", "familyname",
                  "preferredname", "displayname", "sortablename", "section", "sections", "role", "group", "team",
                  "status", "notes")


def heading(cell: str) -> str:
    """A roster column's heading compared case-insensitively, spaces, underscores and
    hyphens ignored: ``"Student ID"``, ``"student_id"`` and ``"STUDENT-ID"`` are ``"studentid"``."""
    return re.sub(r"[\s_-]+", "", cell).casefold()


def _id_column(path: Path, first_row: list[str]) -> int | None:
    """The index of the id column when ``first_row`` is a header row (one cell a known
    heading), else None. Raises ``VariantError`` for a header row without an id column."""
    headings = [heading(cell) for cell in first_row]
    if not any(h in ID_HEADINGS or h in OTHER_HEADINGS for h in headings):
        return None
    found = next((headings.index(h) for h in ID_HEADINGS if h in headings), None)
    if found is None:
        raise VariantError(path, "header", "a column of student ids (ID, Student ID, SID, SIS User ID, Login ID, "
                           "Username, Email, ...); found " + ", ".join(repr(c.strip()) for c in first_row))
    return found


def _check_file_names(path: Path, column: str, ids: list[str]) -> None:
    """Raise ``VariantError`` when two ids get the same file name (``file_stem``), also
    where they differ only in case (one file on macOS and Windows)."""
    clash = name_clash(ids)
    if clash:
        other, student = clash
        stem = file_stem(student)
        names = f"both get {stem}.exercise.toml" if file_stem(other) == stem else (
            f"get {file_stem(other)}.exercise.toml and {stem}.exercise.toml, one file on macOS and Windows")
        raise VariantError(path, column, f"ids with distinct file names; {other!r} and {student!r} {names}")


def read_roster(path: Path) -> list[str]:
    """Student ids from a roster CSV: the id column of a header row (``ID_HEADINGS``, the
    first found; the row is a header when a cell is one of ``ID_HEADINGS`` or
    ``OTHER_HEADINGS``, compared by ``heading``), else the first column of every row.
    Raises ``VariantError`` (one line) for an unreadable or empty roster, a header row
    without an id column, a repeated id, or two ids that get the same file name."""
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise VariantError(path, "", f"a readable CSV roster ({error})") from None
    rows = [r for r in rows if r and any(cell.strip() for cell in r)]
    if not rows:
        raise VariantError(path, "", "a roster with one student per row; it is empty")
    column = _id_column(path, rows[0])
    name = "column 1" if column is None else rows[0][column].strip()
    body = rows if column is None else rows[1:]
    column = column or 0
    ids = [r[column].strip() for r in body if len(r) > column and r[column].strip()]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise VariantError(path, name, f"each student once; {repeated[0]!r} is there twice")
    if not ids:
        raise VariantError(path, name, "student ids; none found")
    _check_file_names(path, name, ids)
    return ids
