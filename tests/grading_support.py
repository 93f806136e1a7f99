"""Shared by the tests of compare.grading that start child processes."""
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from compare.grading import Call
from compare.grading.runner import sandbox_choice

TESTS = Path(__file__).resolve().parent
SUBMISSIONS = TESTS / "submissions" / "grading"
CASES = TESTS / "cases" / "grading"
STUDENTS = TESTS.parent / "examples" / "students"


def bwrap_problem() -> str | None:
    """None when a trial run under bwrap works here (cached by the runner), else why not."""
    mode, why = sandbox_choice("auto")
    return None if mode == "bwrap" else why


needs_bwrap = pytest.mark.skipif(
    bwrap_problem() is not None,
    reason=f"bubblewrap cannot run the child here ({bwrap_problem()}); .ci/run installs it with apt-get")
MODES = ["none", pytest.param("bwrap", marks=needs_bwrap)]


def call(x=(0.0, 0.0), y=(0.0, 0.0), **params) -> Call:
    """A Call with float64 arrays (params by keyword)."""
    return Call({name: np.asarray(value, dtype=np.float64) for name, value in params.items()},
                np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))


def processes_with(token: bytes, started_here: bool = False, grader: int | None = None) -> list[int]:
    """Pids of the processes whose command line contains ``token``; with
    ``started_here``, only those whose environment carries this test process's
    ``BACKPROP_GRADER_PID`` (processes started by the code of a run of ours: other
    sessions on the machine may run the same submissions), or ``grader``'s pid."""
    marker = f"\x00BACKPROP_GRADER_PID={grader or os.getpid()}\x00".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if token not in handle.read():
                        continue
                if started_here:
                    with open(f"/proc/{entry}/environ", "rb") as handle:
                        if marker not in b"\x00" + handle.read():
                            continue
                found.append(int(entry))
            except OSError:
                continue
    return found


def kill_all(pids: list[int]) -> None:
    """Clean up after a failed leftover check, so that no test leaves a process behind."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\x00", b" ").decode(errors="replace")[:300]
    except OSError:
        return "(gone)"


def assert_no_process_with(*tokens: bytes, started_here: bool = False) -> None:
    left = sorted({pid for token in tokens for pid in processes_with(token, started_here)})
    described = {pid: _command_line(pid) for pid in left}
    kill_all(left)
    assert left == [], f"processes left behind: {described}"


@pytest.fixture(autouse=False)
def no_child_left():
    """After the test: no grading child started by this test process (supervisor, worker,
    or bwrap; each carries ``--grader-pid`` of its grading process) still runs."""
    yield
    assert_no_process_with(f"child.py\x00--grader-pid\x00{os.getpid()}\x00".encode())
