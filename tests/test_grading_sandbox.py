"""compare.grading.sandbox: what bwrap keeps the student's code from, what ``none``
does not, and how ``auto`` and ``bwrap`` behave where bwrap cannot run."""
import os
import socket
import stat
from pathlib import Path

import pytest

from compare.grading import Limits, SandboxError, run_submission, run_submissions, sandbox
from tests.grading_support import SUBMISSIONS, STUDENTS, call, needs_bwrap, no_child_left

pytestmark = pytest.mark.usefixtures("no_child_left")
no_child_left = no_child_left  # the fixture, imported


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """The probe submission aimed at a port listening on 127.0.0.1, a secret file in the
    grader's working folder, and a path outside the private folder."""
    grader = tmp_path / "grader"
    grader.mkdir()
    (grader / "secret.txt").write_text("the answer key")
    monkeypatch.chdir(grader)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    source = (SUBMISSIONS / "sandbox_probe.py").read_text()
    source = (source.replace("PROBE_PORT", str(listener.getsockname()[1]))
              .replace("PROBE_SECRET", repr(str(grader / "secret.txt")))
              .replace("PROBE_OUTSIDE", repr(str(tmp_path / "written_outside.txt"))))
    (tmp_path / "sandbox_probe.py").write_text(source)
    yield tmp_path / "sandbox_probe.py"
    listener.close()


@needs_bwrap
def test_bwrap_forbids_network_grader_files_writes_outside_and_user_namespaces(probe, tmp_path):
    run = run_submission(probe, "backward", [call()], sandbox="bwrap")
    assert run.status == "ok" and run.sandbox.startswith("bwrap: no network"), run.message
    done = {key: value.item() for key, value in run.calls[0].values.items()}
    assert done["connect to 127.0.0.1"] == 0 and done["read the grader's file"] == 0
    assert done["write outside"] == 0 and not (tmp_path / "written_outside.txt").exists()
    assert done["new user namespace"] == 0
    assert done["write in its folder"] == 1          # the probe works: its own folder is writable
    if os.geteuid() == 0:
        assert done["uid"] >= sandbox.UID_RANGE[0]   # not root inside


def test_none_mode_protects_none_of_it(probe, tmp_path):
    """The same probe without bwrap: every attempt succeeds (so the probe is sound, and the
    documentation's warning about ``none`` is true)."""
    run = run_submission(probe, "backward", [call()], sandbox="none")
    done = {key: value.item() for key, value in run.calls[0].values.items()}
    assert done["connect to 127.0.0.1"] == 1 and done["read the grader's file"] == 1
    assert done["write outside"] == 1 and (tmp_path / "written_outside.txt").read_text() == "x"
    assert run.sandbox.startswith("none: sandbox='none' was asked for; no sandbox")


@needs_bwrap
@pytest.mark.parametrize("processes", [8, 4])
def test_bwrap_stops_a_loop_of_200_processes_at_the_limit(processes):
    run = run_submission(SUBMISSIONS / "many_processes.py", "backward", [call()], sandbox="bwrap",
                         limits=Limits(processes=processes))
    result = run.calls[0]
    assert result.values["started"].item() == processes - 1  # the code's own process counts
    assert "error BlockingIOError" in result.values
    assert f"processes {processes}" in run.sandbox


@needs_bwrap
def test_process_limits_of_concurrent_runs_do_not_add_up():
    """Each run under bwrap has a uid (or user namespace) of its own, so two at once both get the whole limit."""
    runs = run_submissions([(SUBMISSIONS / "many_processes.py", "backward", [call()])] * 2, workers=2,
                           sandbox="bwrap", limits=Limits(processes=6))
    assert [run.calls[0].values["started"].item() for run in runs] == [5, 5]


@pytest.mark.skipif(os.geteuid() != 0, reason="RLIMIT_NPROC is set only under bwrap; as root it would not bind anyway")
def test_none_mode_as_root_does_not_limit_processes():
    run = run_submission(SUBMISSIONS / "many_processes.py", "backward", [call()], sandbox="none")
    assert run.calls[0].values["started"].item() == 200 and "processes not limited" in run.sandbox


def fake_bwrap(folder: Path, message: str) -> str:
    """A ``bwrap`` that fails as a real one does where namespaces are not allowed."""
    path = folder / "bwrap"
    path.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_bwrap_that_cannot_run_fails_in_one_line_and_auto_falls_back(tmp_path, monkeypatch):
    broken = fake_bwrap(tmp_path, "bwrap: No permissions to create new namespace")
    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: broken)
    with pytest.raises(SandboxError) as error:
        run_submission(STUDENTS / "correct.py", "backward", [call()], sandbox="bwrap")
    message = str(error.value)
    assert "\n" not in message and message.startswith("sandbox='bwrap' is not usable here: a trial run under bwrap")
    assert "bwrap: No permissions to create new namespace" in message
    run = run_submission(SUBMISSIONS / "fails_then_works.py", "backward", [call(x=(1, 1))], sandbox="auto")
    assert run.status == "ok" and run.calls[0].values["x"].tolist() == [2.0, 2.0]
    assert run.sandbox.startswith("none: a trial run under bwrap failed") and "No permissions" in run.sandbox


def test_missing_bwrap_is_said(monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: None)
    with pytest.raises(SandboxError, match=r"^sandbox='bwrap' is not usable here: bwrap is not installed"):
        run_submission(STUDENTS / "correct.py", "backward", [call()], sandbox="bwrap")
    run = run_submission(SUBMISSIONS / "fails_then_works.py", "backward", [call(x=(1, 1))])
    assert run.status == "ok" and run.sandbox.startswith("none: bwrap is not installed (apt-get install bubblewrap)")


@needs_bwrap
def test_submission_larger_than_the_private_folder_is_not_run(tmp_path):
    path = tmp_path / "big.py"
    path.write_text("def backward(params, x, y):\n    return {}\n" + "#" * 5000 + "\n")
    run = run_submission(path, "backward", [call()], sandbox="bwrap", limits=Limits(folder_bytes=4096))
    assert run.status == "import_error" and "does not fit in the private folder of 4,096 bytes" in run.message


@needs_bwrap
def test_writes_past_the_folder_size_fail_inside_the_sandbox(tmp_path):
    path = tmp_path / "fills.py"
    path.write_text("def backward(params, x, y):\n    try:\n        open('big', 'wb').write(bytes(8 << 20))\n"
                    "    except OSError as error:\n        return {type(error).__name__: [0.0]}\n    return {'wrote': [1.0]}\n")
    run = run_submission(path, "backward", [call()], sandbox="bwrap", limits=Limits(folder_bytes=1 << 20))
    assert list(run.calls[0].values) == ["OSError"]  # ENOSPC: the tmpfs is full, the host disk untouched
