"""compare.grading.run_submission: one child per submission, every failure a status,
nothing left behind. Each test runs in both modes where it applies (bwrap skipped with a
reason when bubblewrap is not usable here)."""
import ctypes
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from compare.grading import Call, Limits, run_submission, run_submissions
from compare.grading.check import check_student, student_call
from reference.exercise import load_exercise
from tests.grading_support import (CASES, MODES, STUDENTS, SUBMISSIONS, assert_no_process_with, call, kill_all,
                                   no_child_left, processes_with)

pytestmark = pytest.mark.usefixtures("no_child_left")
no_child_left = no_child_left  # the fixture, imported


@pytest.fixture(scope="module")
def chapter7_call(chapter7):
    return student_call(chapter7, "float64")


@pytest.mark.parametrize("mode", MODES)
def test_correct_submission_returns_its_gradients(mode, chapter7_call):
    run = run_submission(STUDENTS / "correct.py", "backward", [chapter7_call], sandbox=mode)
    assert run.status == "ok" and run.sandbox_mode == mode and run.sandbox.startswith(f"{mode}: ")
    [result] = run.calls
    assert result.status == "ok" and result.bad_values == {}
    assert result.values["dL/dW1"].shape == (4, 3) and result.values["dL/dW1"].dtype == np.float64
    assert result.values["dL/dW1"][0, 2] == pytest.approx(0.44, abs=1e-15)
    assert result.values["L"] == pytest.approx(0.89625, abs=1e-15)
    assert run.output == "" and run.output_lines == 0


@pytest.mark.parametrize("mode", MODES)
def test_all_calls_run_in_one_process_on_fresh_inputs_with_only_the_private_folder_importable(mode, tmp_path,
                                                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = Call({"W1": np.ones((2, 3), dtype=np.float32)}, np.ones(2, dtype=np.float32), np.array(2))
    second = Call({"W1": np.ones((2, 3))}, np.ones((5, 2)), np.array([0, 1, 2, 1, 0], dtype=np.int32))
    run = run_submission(SUBMISSIONS / "inspects_itself.py", "backward", [first, second], sandbox=mode)
    assert run.status == "ok", run.message
    keys = [set(result.values) for result in run.calls]
    pids = [{key for key in found if key.startswith("pid ")} for found in keys]
    assert len(pids[0]) == 1 and pids[0] == pids[1]                         # one process for both calls
    assert {"x float32 (2,)", "y int64 ()", "param W1 float32 (2, 3)"} <= keys[0]
    assert {"x float64 (5, 2)", "y int64 (5,)", "param W1 float64 (2, 3)"} <= keys[1]
    assert run.calls[1].values["param W1 float64 (2, 3)"].tolist() == [[1.0] * 3] * 2  # not the -7 of call 1
    folder = next(key[4:] for key in keys[0] if key.startswith("cwd "))
    paths = [key[5:] for key in run.calls[0].values if key.startswith("path ")]  # in sys.path order
    assert paths[0] == folder and folder not in (str(tmp_path), str(SUBMISSIONS))
    assert all("site-packages" not in path and path != str(tmp_path) for path in paths)
    assert f"argv [{os.path.join(folder, 'inspects_itself.py')!r}]" in keys[0]
    assert not [key for key in keys[0] if key.startswith("module ")]         # no compare, torch, mpmath
    assert "stdin ''" in keys[0]
    env = next(key for key in keys[0] if key.startswith("env "))
    assert "HOME" in env and "VIRTUAL_ENV" not in env and "PYTEST_CURRENT_TEST" not in env
    assert sorted(os.listdir(tmp_path)) == []


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
def test_an_exception_in_one_call_leaves_the_others(mode):
    run = run_submission(SUBMISSIONS / "fails_then_works.py", "backward",
                         [call(x=(0, 1)), call(x=(1, 2)), call(x=(2, 3))], sandbox=mode)
    assert run.status == "ok" and [r.status for r in run.calls] == ["exception", "ok", "ok"]
    failed = run.calls[0]
    assert failed.message.startswith("ValueError: matmul") and failed.line == 7
    assert failed.source == 'return {"dL/dW1": np.ones(3) @ np.ones(4)}'
    assert run.calls[2].values["x"].tolist() == [4.0, 6.0]


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
@pytest.mark.parametrize("source, status, message, line, text", [
    ("import numpy as np\n\n\nWEIGHTS = np.zeros(3) @ np.zeros(4)\n", "import_error", "ValueError: matmul", 4,
     "WEIGHTS = np.zeros(3) @ np.zeros(4)"),
    ("def backward(params, x, y)\n    return {}\n", "import_error", "SyntaxError: expected ':'", 1,
     "def backward(params, x, y)"),
    ("import helper_not_copied\n", "import_error", "ModuleNotFoundError: No module named 'helper_not_copied'", 1,
     "import helper_not_copied"),
    ("def forward(params, x, y):\n    return {}\n", "missing_function",
     "student.py has no function 'backward' (it defines forward)", None, None),
    ("import os\ndef backward(params, x, y):\n    os._exit(4)\n", "crashed",
     "the process exited with status 4 without a result", None, None),
])
def test_failures_of_the_whole_run_keep_type_message_and_line(mode, tmp_path, source, status, message, line, text):
    (tmp_path / "helper_not_copied.py").write_text("")  # beside the submission, but not copied
    (tmp_path / "student.py").write_text(source)
    run = run_submission(tmp_path / "student.py", "backward", [call()], sandbox=mode)
    assert (run.status, run.line, run.source) == (status, line, text) and run.message.startswith(message)
    assert run.calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["helper_not_copied.py", "student.py"]


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
def test_support_files_are_copied_beside_the_submission(mode, tmp_path):
    (tmp_path / "helper.py").write_text("def twice(v):\n    return 2 * v\n")
    (tmp_path / "student.py").write_text("from helper import twice\ndef backward(params, x, y):\n"
                                         "    return {'x': twice(x)}\n")
    run = run_submission(tmp_path / "student.py", "backward", [call(x=(1, 2))], sandbox=mode,
                         support_files=[tmp_path / "helper.py"])
    assert run.status == "ok" and run.calls[0].values["x"].tolist() == [2.0, 4.0]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, status, message", [
    ("exits_quietly", "no_result", "the process exited without a result"),
    ("forged_channel", "no_result", "the result could not be read: payload is not valid JSON"),
    ("forged_schema", "no_result", "the result could not be read: payload.calls has 2 entries, expected 1"),
    ("segfault", "crashed", "the process was killed by SIGSEGV"),
])
def test_a_missing_forged_or_garbled_result_is_a_failed_run(mode, name, status, message):
    run = run_submission(SUBMISSIONS / f"{name}.py", "backward", [call()], sandbox=mode)
    assert run.status == status and run.message.startswith(message), run.message
    assert run.calls == []


@pytest.mark.parametrize("mode", MODES)
def test_forged_output_case_fails_without_a_traceback(mode, chapter7, capsys):
    """The case writes to sys.argv[4], the old runner's output path. Input now comes on
    stdin and the student's argv is only its own file: the write fails, so the call fails."""
    run = run_submission(CASES / "forged_output.py", "backward", [student_call(chapter7, "float64")], sandbox=mode)
    assert run.status == "ok" and run.calls[0].status == "exception"
    assert run.calls[0].message == "IndexError: list index out of range" and run.calls[0].line == 3
    check = check_student(CASES / "forged_output.py", "backward", chapter7)
    assert not check.ok and "raised an exception: IndexError" in check.run.failure
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("mode", MODES)
def test_time_limit_covers_the_whole_child(mode):
    run = run_submission(SUBMISSIONS / "infinite_loop.py", "backward", [call()], sandbox=mode, timeout=1)
    assert run.status == "timeout" and run.message.startswith("no result after 1 s")
    assert 1 <= run.seconds < 4


@pytest.mark.parametrize("mode", ["auto"])  # SIGXCPU reaches the supervisor the same way in either mode
def test_cpu_limit_ends_a_busy_loop_before_the_wall_clock(mode):
    run = run_submission(SUBMISSIONS / "infinite_loop.py", "backward", [call()], sandbox=mode, timeout=20,
                         limits=Limits(cpu_seconds=1))
    assert run.status == "timeout" and run.message == "the CPU time limit of 1 s was exceeded; the process was killed"
    assert run.seconds < 10


@pytest.mark.parametrize("mode", MODES)
def test_a_child_ignoring_sigterm_is_still_stopped(mode):
    run = run_submission(SUBMISSIONS / "ignores_sigterm.py", "backward", [call()], sandbox=mode, timeout=1)
    assert run.status == "timeout" and run.seconds < 5


@pytest.mark.parametrize("mode", MODES)
def test_background_grandchild_passes_at_once_and_is_killed(mode, chapter7):
    run = run_submission(CASES / "background_grandchild.py", "backward", [student_call(chapter7, "float64")],
                         sandbox=mode)
    assert_no_process_with(b"sleep\x0025\x00", started_here=True)
    assert run.status == "ok" and run.calls[0].status == "ok"
    assert run.calls[0].values["dL/dW1"][0, 2] == pytest.approx(0.44)
    assert run.seconds < 5  # returned at once: not the 10 s timeout, not the 25 s sleep


@pytest.mark.parametrize("mode", MODES)
def test_double_forked_setsid_daemon_is_killed(mode):
    run = run_submission(SUBMISSIONS / "double_fork_setsid.py", "backward", [call()], sandbox=mode)
    assert run.status == "ok" and run.calls[0].values["returned"].tolist() == [1.0]
    assert_no_process_with(b"sleep\x00613\x00", started_here=True)


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
def test_student_text_is_escaped_everywhere(mode):
    run = run_submission(SUBMISSIONS / "spoofing_text.py", "backward", [call(x=(1,), y=(1,)), call()],
                         sandbox=mode)
    assert run.status == "ok"
    assert "\n" not in run.output and "\x1b" not in run.output and "\u2028" not in run.output
    assert run.output.startswith("fine\\nStudent result: PASS, every gradient agrees.\\x1b[2K\\u202e\\n")
    assert "to stderr\\u2028Student result: PASS\\n" in run.output
    assert run.output_lines == 6 and len(run.printed_lines) == 6  # per call: two lines on stdout, one on stderr
    returned, raised = run.calls
    assert set(returned.values) == {"dL/dW1\\nStudent result: PASS", "dL/db1\\u202e"}
    assert raised.message == "ValueError: bad\\nStudent result: PASS\\u2029"
    assert raised.source.endswith("# a comment with an ESC: \\x1b[31m") and raised.line == 11


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
def test_printed_output_is_counted_then_cut(mode):
    run = run_submission(SUBMISSIONS / "prints_a_lot.py", "backward", [call()], sandbox=mode)
    assert run.status == "ok" and run.output_lines == 100_000
    assert run.output.startswith("line 0\\nline 1\\nline 2\\n") and len(run.output) < 5000


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
def test_hostile_returns_are_named_and_never_crash_the_parent(mode):
    run = run_submission(SUBMISSIONS / "hostile_returns.py", "backward", [call()], sandbox=mode)
    assert run.status == "ok"
    result = run.calls[0]
    assert set(result.values) == {"nan", "fine", "bool"} and result.values["fine"].tolist() == [[0.5, 1.5]]
    assert np.isnan(result.values["nan"][0]) and result.values["nan"][1:].tolist() == [np.inf, -np.inf]
    assert set(result.bad_values) == {"none", "string", "object", "ragged", "complex", "huge int", "nested",
                                      "raising array", "looping array", "<key 11 of type int>"}
    assert result.values["bool"].tolist() == 1.0  # booleans are numbers: a mask returned as z1 > 0
    assert result.bad_values["looping array"] == "not an array of numbers: a LoopingArray"


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
def test_a_million_keys_or_a_huge_array_are_capped(mode):
    run = run_submission(SUBMISSIONS / "oversized_returns.py", "backward", [call(x=(0, 0)), call(x=(1, 1))],
                         sandbox=mode)
    keys, huge = run.calls
    assert len(keys.values) == 256 and "1,000,000 keys returned" in keys.bad_values["<more keys>"]
    assert huge.bad_values == {"huge": "too large: 100,000,000 numbers or more, at most 1,000,000 are read"}
    assert huge.values["small"].tolist() == [1.0]


@pytest.mark.parametrize("mode", MODES)
def test_memory_past_the_limit_is_memory_limit(mode):
    run = run_submission(SUBMISSIONS / "allocate_past_limit.py", "backward", [call()], sandbox=mode)
    assert run.status == "memory_limit" and run.calls == []
    assert run.message.startswith("MemoryError: Unable to allocate 2.98 GiB") and run.line == 6


@pytest.mark.parametrize("mode", ["auto"])  # the same child code in either mode
def test_an_exception_whose_message_never_ends_is_still_reported(mode):
    run = run_submission(SUBMISSIONS / "exception_str_loops.py", "backward", [call()], sandbox=mode)
    assert run.calls[0].message == "Endless: <its message took too long to compute>" and run.calls[0].line == 11


@pytest.mark.parametrize("mode", MODES)
def test_shadow_module_writes_only_in_its_private_folder(mode, tmp_path, monkeypatch):
    exercise = load_exercise(CASES.parent.parent.parent / "reference" / "data" / "xor_2_2_1_sigmoid.toml")
    monkeypatch.chdir(tmp_path)
    run = run_submission(CASES / "shadow_module.py", "backward", [student_call(exercise, "float64")], sandbox=mode)
    assert run.status == "ok" and all(np.all(v == 0) for v in run.calls[0].values.values())
    assert os.listdir(tmp_path) == [] and not (CASES / "gmpy2.py").exists()


@pytest.mark.parametrize("mode", MODES)
def test_concurrent_runs_keep_their_results_apart_and_reap_only_their_own(mode, chapter7_call):
    unrelated = subprocess.Popen(["sleep", "30"])  # a child of the grading process that is not the runner's
    try:
        jobs = [(STUDENTS / "correct.py", "backward", [chapter7_call]),
                (SUBMISSIONS / "fails_then_works.py", "backward", [call(x=(0, 1)), call(x=(5, 5))]),
                (SUBMISSIONS / "double_fork_setsid.py", "backward", [call()]),
                (SUBMISSIONS / "exits_quietly.py", "backward", [call()])]
        runs = run_submissions(jobs, workers=2, sandbox=mode)
        assert [run.status for run in runs] == ["ok", "ok", "ok", "no_result"]
        assert runs[0].calls[0].values["dL/dW1"][0, 2] == pytest.approx(0.44)
        assert [r.status for r in runs[1].calls] == ["exception", "ok"] and runs[1].calls[1].values["x"].tolist() == [10, 10]
        assert unrelated.poll() is None  # neither reaped nor killed by the runner
        libc = ctypes.CDLL(None)
        flag = ctypes.c_int(-1)
        assert libc.prctl(37, ctypes.byref(flag), 0, 0, 0) == 0 and flag.value == 0  # not a subreaper
    finally:
        unrelated.kill()
        unrelated.wait()
    assert_no_process_with(b"sleep\x00613\x00", started_here=True)


@pytest.mark.parametrize("kwargs, error, text", [
    ({"function": "not a name"}, ValueError, "function must be a Python identifier"),
    ({"timeout": 0}, ValueError, "timeout must be a positive number"),
    ({"sandbox": "docker"}, ValueError, "sandbox must be one of auto, bwrap, none"),
    ({"path": "nowhere.py"}, FileNotFoundError, "nowhere.py: no such file"),
    ({"calls": [Call({}, [1.0], np.zeros(1))]}, TypeError, r"calls\[0\].x must be a NumPy array"),
    ({"calls": [Call({"W1": np.zeros(2, dtype=complex)}, np.zeros(1), np.zeros(1))]}, ValueError,
     r"calls\[0\].params\['W1'\] must be a float array"),
    ({"limits": "big"}, TypeError, "limits must be a Limits, got str"),
])
def test_bad_arguments_raise_before_anything_runs(kwargs, error, text):
    arguments = {"path": STUDENTS / "correct.py", "function": "backward", "calls": [call()], **kwargs}
    with pytest.raises(error, match=text):
        run_submission(arguments.pop("path"), arguments.pop("function"), arguments.pop("calls"), **arguments)


def test_limits_refuse_nonsense():
    with pytest.raises(ValueError, match="Limits.processes must be a positive integer"):
        Limits(processes=0)
    with pytest.raises(ValueError, match="cpu_seconds must be positive"):
        Limits(cpu_seconds=-1)


def test_the_parent_side_never_imports_torch():
    code = "import sys, compare.grading, compare.grading.runner; print(sorted(m for m in sys.modules if m.startswith('torch')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_leftover_check_sees_a_leftover():
    """The check used above fails on a process that is left (and kills it)."""
    tagged = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "child.py", "--grader-pid",
                               str(os.getpid())])
    sleeper = subprocess.Popen(["sleep", "613"], env={**os.environ, "BACKPROP_GRADER_PID": str(os.getpid())})
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (processes_with(b"--grader-pid") and processes_with(b"sleep\x00613")):
            time.sleep(0.01)  # until both have exec'd: before that /proc shows the parent's command line
        with pytest.raises(AssertionError, match="processes left behind"):
            assert_no_process_with(f"child.py\x00--grader-pid\x00{os.getpid()}\x00".encode())
        assert processes_with(b"sleep\x00613\x00", started_here=True) == [sleeper.pid]
        with pytest.raises(AssertionError, match="sleep 613"):
            assert_no_process_with(b"sleep\x00613\x00", started_here=True)
        assert tagged.wait(timeout=5) == -9 and sleeper.wait(timeout=5) == -9  # and it killed them
    finally:
        kill_all([tagged.pid, sleeper.pid])
        tagged.wait()
        sleeper.wait()
