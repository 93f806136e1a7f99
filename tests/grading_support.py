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


def bwrap_usable() -> bool:
    """Whether a trial run under bwrap works here (cached by the runner)."""
    return sandbox_choice("auto")[0] == "bwrap"


needs_bwrap = pytest.mark.skipif(
    not bwrap_usable(), reason="bubblewrap is not installed or cannot run here "
                               "(apt-get install bubblewrap; .ci/run installs it)")
MODES = ["none", pytest.param("bwrap", marks=needs_bwrap)]


def call(x=(0.0, 0.0), y=(0.0, 0.0), **params) -> Call:
    """A Call with float64 arrays (params by keyword)."""
    return Call({name: np.asarray(value, dtype=np.float64) for name, value in params.items()},
                np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))


def processes_with(token: bytes) -> list[int]:
    """Pids of the processes whose command line contains ``token``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if token in handle.read():
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


def assert_no_process_with(token: bytes) -> None:
    left = processes_with(token)
    kill_all(left)
    assert left == [], f"processes left behind: {left}"


@pytest.fixture(autouse=False)
def no_child_left():
    """After the test: no grading child (supervisor, worker or bwrap) still runs."""
    yield
    assert_no_process_with(b"child.py\x00")
