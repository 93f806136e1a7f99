"""Grading a class: many submissions against one exercise, ``--jobs`` at a time.

The ``GradingKey`` (ground truth, autograd, diagnoser, probes) is built once, in the
parent; each student costs one NumPy-only child process that runs the exercise and every
probe, and the judging of what came back. Students whose failing probes fail in exactly
the same way (the same wrong entries with the same values, to 9 significant digits)
share one shrunk probe, shrunk from the first of them by id: the output does not depend
on which job finished first.
"""
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from compare.grading.check import SessionRunner, StudentCheck, grade_file
from compare.grading.key import GradingKey
from compare.grading.notebook import NotebookError, read_notebook
from compare.grading.probes import shrink
from compare.grading.rubric import Score, score
from compare.grading.submissions import Submission, support_files


@dataclass
class Graded:
    """One student's outcome: the check (None when nothing could be run), the points
    (None without a rubric) and, when nothing could be graded, why. ``ran``: the file
    that ran (a notebook's generated module)."""
    submission: Submission
    check: StudentCheck | None
    score: Score | None
    problem: str | None = None
    ran: Path | None = None
    key: GradingKey | None = None  # the key it was graded against (its own variant's, with --variants)


def grade_submission(submission: Submission, key: GradingKey, workdir: Path, shrink_probes: bool = True) -> Graded:
    """Grade one submission: a ``.py`` file, or a notebook made into a module in
    ``workdir`` (its IPython lines left out and named)."""
    if submission.problem or submission.path is None:
        return Graded(submission, None, None, submission.problem or "nothing to grade")
    path = submission.path
    support = support_files(path) if submission.own_folder else []
    shown_as, where, notes = None, None, [submission.note] if submission.note else []
    if path.suffix == ".ipynb":
        try:
            module = read_notebook(path)
        except NotebookError as error:
            return Graded(submission, None, None, str(error))
        folder = Path(tempfile.mkdtemp(prefix="notebook-", dir=workdir))
        shown_as, where = path, module.where
        path = folder / f"{''.join(c if c.isalnum() else '_' for c in submission.path.stem) or 'notebook'}.py"
        path.write_text(module.source, encoding="utf-8")
        if module.left_out:
            notes += [f"Notebook: {len(module.left_out)} IPython line(s) left out of the module: "
                      + "; ".join(module.left_out[:5]) + (" ..." if len(module.left_out) > 5 else "")]
    check = grade_file(path, submission.function, key, support, shown_as, where, notes,
                       shrink_probes=shrink_probes)
    return Graded(submission, check, score(check, key.grading), ran=path)


def _signature(check: StudentCheck) -> tuple | None:
    """How a check's probes fail, exactly enough that two equal signatures are the same
    bug in practice; None when every probe agrees."""
    failing = [p for p in check.probes if not p.ok]
    if not failing:
        return None
    return tuple((p.probe.label, p.outcome.error,
                  tuple((label, None if given is None else float(f"{given:.9g}")) for label, given, _ in p.wrong))
                 for p in failing)


def grade_all(submissions: list[Submission], key: GradingKey | None, jobs: int = 2, progress: bool = True,
              key_for=None) -> list[Graded]:
    """Grade every submission, ``jobs`` child processes at a time, with a progress bar
    on stderr when it is a terminal; then shrink one failing probe per kind of failure.
    ``key`` is the exercise's; ``key_for(submission)``, when given instead, is each
    student's own key (their variant of the exercise), or a string saying why there is none. The results are in the order of
    ``submissions``."""
    bar = None
    if progress and sys.stderr.isatty() and len(submissions) > 1:
        from tqdm import tqdm
        bar = tqdm(total=len(submissions), desc="grading", unit="student", file=sys.stderr, leave=False)
    with tempfile.TemporaryDirectory(prefix="backprop-grading-") as tmp:
        def work(sub: Submission) -> Graded:
            own = key if key_for is None else key_for(sub)
            if isinstance(own, str):
                graded = Graded(sub, None, None, own)
            else:
                graded = grade_submission(sub, own, Path(tmp), shrink_probes=len(submissions) == 1)
                graded.key = own
            if bar is not None:
                bar.update(1)
            return graded
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            results = list(pool.map(work, submissions))
        if bar is not None:
            bar.close()
        if len(submissions) > 1:
            _shrink_once_per_kind(results)
    return results


def _shrink_once_per_kind(results: list[Graded]) -> None:
    """One shrunk probe per kind of failure, by the first student (by id) who fails that
    way, with that student's own key; shared by every student of the kind."""
    groups: dict[tuple, list[Graded]] = {}
    for graded in sorted(results, key=lambda g: g.submission.student):
        if graded.check is not None and (signature := _signature(graded.check)) is not None:
            groups.setdefault(signature, []).append(graded)
    for members in groups.values():
        leader = members[0]
        failing = next(p for p in leader.check.probes if not p.ok)
        support = support_files(leader.submission.path) if leader.submission.own_folder else []
        with SessionRunner(leader.ran, leader.submission.function, leader.key, support) as runner:
            shrunk = shrink(failing, runner, leader.key.tolerance)
        for graded in members:
            graded.check.shrunk = shrunk
