"""compare.grading.Session: one child for several batches of calls, with every guarantee
of run_submission per batch; a batch that fails ends the session; nothing is left after
it. Each rule has a case that must hold and one that must not (the last column of the
docstring of each test says which is which)."""
import gc
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from compare.grading import Call, Limits, Session, run_submission, runner
from tests.grading_support import (MODES, STUDENTS, SUBMISSIONS, TESTS, assert_no_process_with, call, kill_all,
                                   no_child_left, processes_with)

pytestmark = pytest.mark.usefixtures("no_child_left")
no_child_left = no_child_left  # the fixture, imported

STATE = SUBMISSIONS / "session_state.py"
CHANNEL = SUBMISSIONS / "session_channel.py"
SLEEPERS = (b"sleep\x00617\x00", b"sleep\x00618\x00")


def calls(what: int, n: int = 1) -> list[Call]:
    """``n`` calls whose x[0], ``what``, tells the submission what to do; x[1] numbers them."""
    return [call(x=(what, i)) for i in range(n)]


@pytest.fixture
def started(monkeypatch):
    """The command lines of the grading children started during the test."""
    commands = []

    class Counted(subprocess.Popen):
        def __init__(self, command, *args, **kwargs):
            commands.append(command)
            super().__init__(command, *args, **kwargs)
    monkeypatch.setattr(runner.subprocess, "Popen", Counted)
    return commands


def values(run, key: str) -> list:
    return [result.values[key].tolist() for result in run.calls]


@pytest.mark.parametrize("mode", MODES)
def test_three_batches_give_what_three_runs_give_from_one_process(mode, started):
    """Must hold: the same statuses and values as run_submission, from one process and one
    import. Must not: three run_submission calls are three processes and three imports."""
    batches = [calls(0, 1), calls(0, 3), calls(0, 2)]
    with Session(STATE, "backward", sandbox=mode) as session:
        together = [session.run(batch) for batch in batches]
    assert len(started) == 1
    alone = [run_submission(STATE, "backward", batch, sandbox=mode) for batch in batches]
    assert len(started) == 4
    for run, separate in zip(together, alone):
        assert run.status == separate.status == "ok" and run.sandbox_mode == separate.sandbox_mode == mode
        assert [r.status for r in run.calls] == [r.status for r in separate.calls] == ["ok"] * len(run.calls)
        assert values(run, "twice") == values(separate, "twice")
    assert values(together[1], "twice") == [[0.0, 0.0], [0.0, 2.0], [0.0, 4.0]]
    processes = {tuple(pid) for run in together for pid in values(run, "pid")}
    tokens = {token for run in together for token in values(run, "token")}
    assert len(processes) == 1 and len(tokens) == 1
    assert len({tuple(values(run, "pid")[0]) for run in alone}) == 3
    assert len({values(run, "token")[0] for run in alone}) == 3


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
def test_module_state_and_printed_output_are_per_session_and_per_batch(mode):
    """Must hold: the module's counter goes on from batch to batch; each batch's output is
    what it printed. Must not: another session (or run) starts from a fresh import."""
    with Session(STATE, "backward", sandbox=mode) as session:
        runs = [session.run(calls(0, n)) for n in (2, 3)]
    with Session(STATE, "backward", sandbox=mode) as other:
        fresh = other.run(calls(0, 1))
    assert values(runs[0], "calls") == [1.0, 2.0] and values(runs[1], "calls") == [3.0, 4.0, 5.0]
    assert runs[1].output == "call 3\\ncall 4\\ncall 5\\n" and runs[1].output_lines == 3
    assert values(fresh, "calls") == [1.0] and fresh.output == "call 1\\n"
    assert values(run_submission(STATE, "backward", calls(0, 1), sandbox=mode), "calls") == [1.0]


@pytest.mark.parametrize("mode", MODES)
def test_a_batch_that_times_out_ends_the_session_and_later_batches_return_at_once(mode, started):
    """Must not: a batch that loops is a timeout, its child is killed, and the batches after
    it return that status without starting a child."""
    session = Session(STATE, "backward", sandbox=mode, timeout=1)
    with session:
        first, looping = session.run(calls(0)), session.run(calls(1))
        assert processes_with(f"child.py\x00--grader-pid\x00{os.getpid()}\x00".encode()) == []  # killed at once
        later = [session.run(calls(0)), session.run([])]
    assert first.status == "ok" and looping.status == "timeout" and looping.message.startswith("no result after 1 s")
    for run in later:
        assert run.status == "timeout" and run.calls == [] and run.seconds == 0.0 and run.sandbox == looping.sandbox
        assert run.message == f"batch 2 failed, which ended the session: {looping.message}"
    assert len(started) == 1


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
def test_the_time_and_cpu_limits_hold_for_each_batch_not_for_the_session(mode):
    """Must hold: three batches of 0.8 s under a 2 s limit, and three of 0.7 s of CPU
    under a 1 s CPU limit (2.1 s in all). Must not: a busy loop past the CPU limit in
    batch 2."""
    with Session(STATE, "backward", sandbox=mode, timeout=2) as session:
        assert [session.run(calls(8)).status for _ in range(3)] == ["ok"] * 3
    with Session(STATE, "backward", sandbox=mode, limits=Limits(cpu_seconds=1)) as session:
        assert [session.run(calls(5)).status for _ in range(3)] == ["ok"] * 3
    with Session(STATE, "backward", sandbox=mode, timeout=20, limits=Limits(cpu_seconds=1)) as session:
        runs = [session.run(calls(what)) for what in (0, 1, 0)]
    assert [run.status for run in runs] == ["ok", "timeout", "timeout"]
    assert runs[1].message == "the CPU time limit of 1 s was exceeded; the process was killed"


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
@pytest.mark.parametrize("what, status, message", [
    (2, "crashed", "the process was killed by SIGSEGV"),
    (3, "memory_limit", "MemoryError: Unable to allocate"),
    (4, "no_result", "the process exited without a result"),
])
def test_every_failure_of_a_batch_ends_the_session(mode, what, status, message, started):
    """Must not: a crash, the memory limit, a missing result in batch 2; batch 1 held."""
    with Session(STATE, "backward", sandbox=mode) as session:
        runs = [session.run(calls(kind)) for kind in (0, what, 0)]
    assert [run.status for run in runs] == ["ok", status, status] and runs[1].message.startswith(message)
    assert runs[2].message == f"batch 2 failed, which ended the session: {runs[1].message}"
    assert len(started) == 1


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
@pytest.mark.parametrize("source, status, message", [
    ("def backward(params, x, y)\n    return {}\n", "import_error", "SyntaxError: expected ':'"),
    ("def forward(params, x, y):\n    return {}\n", "missing_function", "student.py has no function 'backward'"),
])
def test_an_import_that_fails_fails_every_batch_from_one_child(mode, tmp_path, source, status, message, started):
    (tmp_path / "student.py").write_text(source)
    with Session(tmp_path / "student.py", "backward", sandbox=mode) as session:
        runs = [session.run(calls(0)), session.run(calls(0))]
    assert [run.status for run in runs] == [status, status] and runs[0].message.startswith(message)
    assert runs[1].line == runs[0].line and runs[1].message.endswith(runs[0].message)
    assert len(started) == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("what, status, message", [
    (0, "ok", ""),
    (1, "no_result", "the result could not be read: payload is not valid JSON"),
    (2, "no_result", "the result could not be read: payload does not have exactly the keys"),
    (3, "no_result", "the result could not be read: payload is not valid JSON"),
    (4, "no_result", "an empty result came back"),
])
def test_a_batch_that_damages_the_channel_is_no_result_and_ends_the_session(mode, what, status, message):
    """Must hold: the same submission leaving the channel alone (0). Must not: garbage, a
    line off the schema, half a result, an empty one, in batch 2."""
    with Session(CHANNEL, "backward", sandbox=mode) as session:
        runs = [session.run([call(x=(kind, 3))]) for kind in (0, what, 0)]
    assert runs[0].status == "ok" and values(runs[0], "x") == [[0.0, 3.0]]
    assert [run.status for run in runs[1:]] == [status, status] and runs[1].message.startswith(message)
    if status == "ok":
        assert values(runs[2], "x") == [[0.0, 3.0]]
    else:
        assert runs[1].calls == [] and runs[2].message.startswith("batch 2 failed, which ended the session: ")


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
def test_closing_the_pipe_of_the_next_batches_ends_the_session_without_a_hang(mode):
    """Must not: code that closes the pipe its next batch's signal comes in on; its own batch
    still came back."""
    with Session(CHANNEL, "backward", sandbox=mode, timeout=5) as session:
        runs = [session.run([call(x=(kind, 1))]) for kind in (0, 5, 0, 0)]
    assert [run.status for run in runs] == ["ok", "ok", "no_result", "no_result"]
    assert values(runs[1], "x") == [[5.0, 1.0]] and runs[2].seconds < 5


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("how", ["close", "with", "garbage collection"])
def test_processes_the_code_left_run_until_the_session_ends_and_not_after(mode, how):
    """Must hold: a background job and a setsid daemon started in batch 1 still run in
    batch 2 (the job's Popen is module state). Must not: either of them after the end."""
    session = Session(STATE, "backward", sandbox=mode)
    first, second = session.run(calls(6)), session.run(calls(7))
    assert first.status == second.status == "ok" and values(second, "sleeping") == [[1.0]]
    assert [len(processes_with(token, started_here=True)) for token in SLEEPERS] == [1, 1]
    if how == "close":
        session.close()
        session.close()  # idempotent
    elif how == "with":
        with session:
            pass
    else:
        del session
        gc.collect()
    assert_no_process_with(*SLEEPERS, started_here=True)


def test_bad_calls_raise_and_the_session_goes_on_until_closed():
    session = Session(STUDENTS / "correct.py", "backward", sandbox="none")
    with pytest.raises(TypeError, match=r"calls\[1\].x must be a NumPy array"):
        session.run([call(), Call({}, [1.0], np.zeros(1))])
    run = session.run([call(x=(1, 2, 3, 4), y=(0.5, 0.5), W1=np.ones((4, 3)), b1=np.zeros(3), W2=np.ones((3, 2)),
                            b2=np.zeros(2))])
    assert run.status == "ok" and run.calls[0].values["dL/db2"].tolist() == [29.5, 29.5]
    session.close()
    with pytest.raises(ValueError, match="this Session is closed"):
        session.run([call()])


@pytest.mark.parametrize("kwargs, error, text", [
    ({"function": "not a name"}, ValueError, "function must be a Python identifier"),
    ({"timeout": -1}, ValueError, "timeout must be a positive number"),
    ({"sandbox": "docker"}, ValueError, "sandbox must be one of auto, bwrap, none"),
    ({"support_files": [SUBMISSIONS / "nowhere.py"]}, FileNotFoundError, "nowhere.py: no such file"),
])
def test_a_session_with_bad_arguments_raises_before_anything_runs(kwargs, error, text, started):
    arguments = {"function": "backward", **kwargs}
    with pytest.raises(error, match=text):
        Session(STATE, arguments.pop("function"), **arguments)
    assert started == []


@pytest.mark.parametrize("mode", MODES)
def test_sessions_in_threads_keep_their_processes_and_state_apart(mode):
    sessions = [Session(STATE, "backward", sandbox=mode) for _ in range(2)]
    found = {}

    def serve(index: int) -> None:
        found[index] = [sessions[index].run(calls(0, index + 1)) for _ in range(3)]
    threads = [threading.Thread(target=serve, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for session in sessions:
        session.close()
    assert [values(run, "calls") for run in found[0]] == [[1.0], [2.0], [3.0]]
    assert [values(run, "calls") for run in found[1]] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    tokens = [{token for run in found[index] for token in values(run, "token")} for index in range(2)]
    assert len(tokens[0]) == len(tokens[1]) == 1 and tokens[0] != tokens[1]


@pytest.mark.parametrize("mode", MODES)
def test_a_session_outlives_the_thread_of_its_first_batch(mode):
    """Must hold: batches from the main thread after the thread that started the child has
    ended, in the same process (the child is not tied to that thread's life)."""
    session, first = Session(STATE, "backward", sandbox=mode), []
    thread = threading.Thread(target=lambda: first.append(session.run(calls(0))))
    thread.start()
    thread.join()
    time.sleep(0.2)  # the thread is gone for the kernel too, not only for Python
    with session:
        later = session.run(calls(0))
    assert first[0].status == later.status == "ok"
    assert values(later, "pid") == values(first[0], "pid") and values(later, "calls") == [2.0]


GRADER = """
import sys, time
import numpy as np
from compare.grading import Call, Session
session = Session(sys.argv[1], "backward", sandbox=sys.argv[2], timeout=60)
print(session.run([Call({}, np.array([6.0, 0.0]), np.zeros(2))]).status, flush=True)
session.run([Call({}, np.array([1.0, 0.0]), np.zeros(2))])  # loops: killed in the middle of this batch
"""


@pytest.mark.parametrize("mode", MODES)
def test_the_child_and_what_it_left_die_with_the_grading_process(mode):
    """Must hold: while the grading process lives, its session's child and the processes
    the code left run. Must not: any of them once the grading process is killed (SIGKILL:
    no close, no finalizer) in the middle of a batch that loops (so the worker does not
    see the end of its pipe), even under bwrap, whose init changed its uid."""
    grader = subprocess.Popen([sys.executable, "-c", GRADER, str(STATE), mode], stdout=subprocess.PIPE, text=True,
                              cwd=TESTS.parent)
    tokens = [f"child.py\x00--grader-pid\x00{grader.pid}\x00".encode(), *SLEEPERS]

    def left() -> list[int]:
        return sorted({pid for token in tokens for pid in processes_with(token, True, grader.pid)})
    try:
        assert grader.stdout.readline() == "ok\n"
        assert len(left()) >= 4  # the supervisor, the worker and both sleepers (and bwrap's processes)
        time.sleep(0.5)  # the looping batch has started
        grader.send_signal(signal.SIGKILL)
        grader.wait()
        deadline = time.monotonic() + 10
        while left() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert left() == []
    finally:
        grader.kill()
        grader.wait()
        grader.stdout.close()
        kill_all(left())
