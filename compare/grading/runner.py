"""Running a student's function in a child process: the parent side.

``run_submission`` copies the submission into a private temporary folder, starts
``child.py`` there (under bwrap when it can, see ``compare.grading.sandbox``), sends it
every call on stdin, waits for the *process* (not for its pipes: the child's output goes
to a file), kills what is left at the time limit, and reads the result strictly
(``compare.grading.decode``). One child process makes all calls of one submission.
Nothing the student's code does raises here; every failure is a status.

Imports the standard library, NumPy and this package; never torch. Safe to call from
several threads at once (``run_submissions`` does).
"""
import json
import math
import os
import select
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from compare.grading import child, sandbox
from compare.grading.decode import MAX_HEADER_BYTES, BadResult, decode_payload, split_result
from compare.grading.escape import escape_untrusted, split_escaped_lines
from compare.grading.sandbox import Limits

OUTPUT_CHARS = 4000        # characters of printed output kept (before escaping)
MAX_SUBMISSION_BYTES = 16 << 20  # the submission and its support files together
TERMINATE_GRACE = 2.0      # seconds the supervisor has to clean up after the time limit


@dataclass
class Call:
    """One call of the student's function, ``function(params, x, y)``.

    ``params``: ``{"W1": (n_in, n_out), "b1": (n_out,), ...}``, float64 or float32 arrays
    in the text's layout ``z = x @ W + b``; ``x``: float array, ``(n_in,)`` for one
    example or ``(B, n_in)``; ``y``: float array ``(n_out,)`` / ``(B, n_out)``, or an
    integer array of class labels, 0-d or ``(B,)``. The student's function receives fresh
    copies with the same dtypes and shapes."""
    params: dict[str, np.ndarray]
    x: np.ndarray
    y: np.ndarray


@dataclass
class CallResult:
    """What one call did. ``status``: ``"ok"``, ``"exception"`` (the function raised:
    ``message`` is ``"TypeName: message"``, ``line``/``source`` the innermost line of the
    student's file it came through) or ``"bad_return"`` (not a dict). ``values``: float64
    arrays by the (escaped) keys returned, NaN and inf kept; ``bad_values``: key -> why its
    value is not read (not an array of real numbers, too large, a key that is not a
    string, ...). ``seconds``: the call's wall time."""
    status: str
    message: str = ""
    line: int | None = None
    source: str | None = None
    values: dict[str, np.ndarray] = field(default_factory=dict)
    bad_values: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class SubmissionRun:
    """One submission's run. ``status``: ``"ok"`` (``calls`` has one ``CallResult`` per
    ``Call``, in order), or why there are no call results: ``"import_error"``,
    ``"missing_function"``, ``"timeout"`` (the time limit, or the CPU limit),
    ``"memory_limit"``, ``"crashed"`` (the process died or exited without a result),
    ``"no_result"`` (it exited normally but its result was missing, garbled or malformed).
    ``message``, ``line`` and ``source`` say more (one escaped line each). ``output``: what
    the code printed on stdout and stderr, escaped (newlines as ``\\n``), at most
    ``OUTPUT_CHARS`` characters of it; ``output_lines``: lines printed in all.
    ``seconds``: wall time of the whole child. ``sandbox``: ``"bwrap: ..."`` or
    ``"none: ..."``, what protected the run."""
    status: str
    message: str = ""
    line: int | None = None
    source: str | None = None
    calls: list[CallResult] = field(default_factory=list)
    output: str = ""
    output_lines: int = 0
    seconds: float = 0.0
    sandbox: str = ""

    @property
    def sandbox_mode(self) -> str:
        """``"bwrap"`` or ``"none"``."""
        return self.sandbox.partition(":")[0]

    @property
    def printed_lines(self) -> list[str]:
        """The kept part of ``output`` line by line, each still escaped."""
        return split_escaped_lines(self.output)


def run_submission(path: Path, function: str, calls: Sequence[Call], *, timeout: float = 10.0,
                   sandbox: str = "auto", limits: Limits | None = None,
                   support_files: Sequence[Path] = ()) -> SubmissionRun:
    """Import ``path`` in a child process and call ``function(params, x, y)`` once per
    ``Call``. ``timeout``: seconds for the whole child (start, import and every call);
    ``sandbox``: ``"auto"``, ``"bwrap"`` or ``"none"`` (``compare.grading.sandbox``);
    ``limits``: resource limits (``Limits()`` by default); ``support_files``: more files
    copied beside the submission, for it to import (nothing else of its folder is).

    Never raises for anything the student's code does. Raises ``FileNotFoundError`` when
    ``path`` or a support file is not a file, ``ValueError`` for a bad function name,
    timeout, sandbox mode or support file name, ``TypeError`` for ``limits`` that are not
    a ``Limits``, ``TypeError``/``ValueError`` for a ``Call``
    whose arrays are not as documented, and ``sandbox.SandboxError`` (one line) when
    ``sandbox="bwrap"`` and bwrap cannot run here."""
    if not function.isidentifier():
        raise ValueError(f"function must be a Python identifier, got {function!r}")
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    limits = Limits() if limits is None else limits
    if not isinstance(limits, Limits):
        raise TypeError(f"limits must be a Limits, got {type(limits).__name__}")
    encoded = [_encode_call(call, i) for i, call in enumerate(calls)]
    paths = [Path(path), *map(Path, support_files)]
    for file in paths:
        if not file.is_file():
            raise FileNotFoundError(f"{file}: no such file")
    names = [file.name for file in paths]
    if len(set(names)) != len(names):
        raise ValueError(f"two files of the submission have the same name: {', '.join(names)}")
    mode, why_none = sandbox_choice(sandbox)
    return _run(mode, why_none, paths, function, encoded, timeout, limits)


def run_submissions(jobs: Iterable[tuple[Path, str, Sequence[Call]]], *, workers: int = 2,
                    **options) -> list[SubmissionRun]:
    """``run_submission(path, function, calls, **options)`` for each ``(path, function,
    calls)`` of ``jobs``, ``workers`` at a time in threads; the runs in the order given."""
    jobs = list(jobs)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda job: run_submission(*job, **options), jobs))


def sandbox_choice(mode: str) -> tuple[str, str | None]:
    """``("bwrap", None)`` or ``("none", why)`` for ``mode``; the first call with
    ``"auto"`` or ``"bwrap"`` makes a trial run under bwrap (see ``sandbox.choose``)."""
    return sandbox.choose(mode, _trial_run)


_PROBE = "def probe(params, x, y):\n    return {'sum': x + y}\n"


def _trial_run() -> str | None:
    """Run a two-line submission under bwrap: None when it came back right, else why not."""
    with tempfile.TemporaryDirectory(prefix="backprop-grading-trial-") as tmp:
        probe = Path(tmp) / "probe.py"
        probe.write_text(_PROBE)
        call = _encode_call(Call({}, np.array([1.0]), np.array([2.0])), 0)
        try:
            run = _run("bwrap", None, [probe], "probe", [call], 20.0, Limits())
        except OSError as error:
            return f"bwrap could not be started ({error})"
    if run.status == "ok" and run.calls[0].status == "ok" and run.calls[0].values["sum"].tolist() == [3.0]:
        return None
    last = (run.printed_lines or [run.message])[-1]
    return f"a trial run under bwrap failed ({run.status}: {last[:200]})"


def _encode_call(call: Call, index: int) -> dict:
    """A ``Call`` as the child's request holds it; raises for arrays not as documented."""
    if not isinstance(call.params, dict) or not all(isinstance(name, str) for name in call.params):
        raise TypeError(f"calls[{index}].params must be a dict of arrays keyed by name")
    params = {name: _input_array(value, f"calls[{index}].params[{name!r}]", "f")
              for name, value in call.params.items()}
    return {"params": params, "x": _input_array(call.x, f"calls[{index}].x", "f"),
            "y": _input_array(call.y, f"calls[{index}].y", "fiu")}


def _input_array(value, where: str, kinds: str) -> dict:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{where} must be a NumPy array, got {type(value).__name__}")
    if value.dtype.kind not in kinds:
        raise ValueError(f"{where} must be a {'float or integer' if 'i' in kinds else 'float'} array, "
                         f"got dtype {value.dtype}")
    if value.dtype.kind in "iu":
        value = value.astype(np.int64)
    elif value.dtype.name not in ("float32", "float64"):
        value = value.astype(np.float64)
    return child.encode_array(value)


# ------------------------------------------------------------------------- one run

def _read_files(paths: list[Path]) -> tuple[dict[str, bytes], str | None]:
    files, total = {}, 0
    for file in paths:
        size = file.stat().st_size
        total += size
        if total > MAX_SUBMISSION_BYTES:
            return {}, f"the submission is more than {MAX_SUBMISSION_BYTES:,} bytes; it is not graded"
        files[file.name] = file.read_bytes()
    return files, None


def _run(mode: str, why_none: str | None, paths: list[Path], function: str, calls: list[dict],
         timeout: float, limits: Limits) -> SubmissionRun:
    start = time.perf_counter()
    files, problem = _read_files(paths)
    if problem is None and mode == "bwrap" and sum(map(len, files.values())) > limits.folder_bytes:
        problem = f"the submission does not fit in the private folder of {limits.folder_bytes:,} bytes"
    if problem:
        return SubmissionRun("import_error", problem, seconds=time.perf_counter() - start,
                             sandbox=f"{mode}: nothing was run")
    with ExitStack() as stack:
        private = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="backprop-grading-",
                                                                        ignore_cleanup_errors=True)))
        folder = private / "submission"
        folder.mkdir()
        for name, data in files.items():
            (folder / name).write_bytes(data)
        result_fd = _open(stack, private / "result", os.O_RDWR | os.O_CREAT | os.O_EXCL)
        output_fd = _open(stack, private / "output", os.O_RDWR | os.O_CREAT | os.O_EXCL)
        launch, extra_fds = _launch(stack, mode, why_none, private, paths[0].name, timeout, limits)
        request = {"submission": launch.submission, "function": function, "numpy_path": launch.numpy_path,
                   "result_fd": result_fd, "run_as": launch.run_as,
                   "parent_pid": os.getpid() if mode == "none" else None,
                   "limits": {"cpu_seconds": limits.cpu_for(timeout), "memory_bytes": limits.memory_bytes,
                              "file_size_bytes": limits.file_size_bytes, "processes": launch.processes},
                   "calls": calls}
        (private / "request.json").write_text(json.dumps(request))
        request_fd = _open(stack, private / "request.json", os.O_RDONLY)
        timed_out = _start_and_wait(launch, request_fd, output_fd, [result_fd, *extra_fds], timeout, mode)
        seconds = time.perf_counter() - start
        output, output_lines = _read_output(output_fd)
        run = _verdict(_read_all(result_fd), timed_out, timeout, limits, len(calls), output)
    run.output, run.output_lines, run.seconds, run.sandbox = output, output_lines, seconds, launch.note
    return run


def _launch(stack: ExitStack, mode: str, why_none: str | None, private: Path, name: str, timeout: float,
            limits: Limits) -> tuple[sandbox.Launch, list[int]]:
    """How to start the child in ``mode``, and the fds it needs beside the result fd
    (under bwrap: the submission's files, copied into the sandbox, and the seccomp filter).
    The uid of a bwrap run as root is held until ``stack`` closes."""
    interp, folder = sandbox.interpreter(), private / "submission"
    if mode == "none":
        return sandbox.none_launch(interp, folder, name, limits, timeout, why_none), []
    run_as = stack.enter_context(sandbox.RunAs(os.geteuid() == 0))
    file_fds = {file.name: _open(stack, file, os.O_RDONLY)
                for file in sorted(folder.iterdir(), key=lambda file: file.name != name)}  # the submission first
    seccomp_fd = None
    program = sandbox.seccomp_program()
    if program is not None:
        (private / "seccomp.bpf").write_bytes(program)
        seccomp_fd = _open(stack, private / "seccomp.bpf", os.O_RDONLY)
    launch = sandbox.bwrap_launch(interp, sandbox.bwrap_executable(), file_fds, seccomp_fd, limits, timeout, run_as)
    return launch, [*file_fds.values(), *([seccomp_fd] if seccomp_fd is not None else [])]


def _open(stack: ExitStack, path: Path, flags: int) -> int:
    fd = os.open(path, flags | os.O_CLOEXEC, 0o600)
    stack.callback(os.close, fd)
    return fd


def _start_and_wait(launch: sandbox.Launch, stdin_fd: int, output_fd: int, pass_fds: list[int],
                    timeout: float, mode: str) -> bool:
    """Start the child and wait for it to exit, at most ``timeout`` seconds; at the limit,
    stop it: SIGTERM to the supervisor, which kills what the worker left, then SIGKILL to
    its process group; under bwrap SIGKILL to the PID namespace's init, and wait for bwrap
    to reap it. Returns whether the time limit was hit. The child is reaped and nothing of
    it runs when this returns."""
    process = subprocess.Popen(launch.command, stdin=stdin_fd, stdout=output_fd, stderr=output_fd,
                               pass_fds=pass_fds, cwd=launch.cwd, env=child_environment(os.path.dirname(launch.submission)),
                               start_new_session=True)
    timed_out = True
    try:
        timed_out = not _wait(process, timeout)
        if timed_out and mode == "none":
            _signal(process, signal.SIGTERM)
            _wait(process, TERMINATE_GRACE)
        elif timed_out:
            _kill_sandbox(process)
    finally:
        # The leader is not reaped yet, so its process group id cannot have been reused:
        # kill whatever is left in the group (the leader too if it still runs), then reap.
        _signal(process, signal.SIGKILL, group=True)
        process.wait()
    return timed_out


def child_environment(folder: str) -> dict[str, str]:
    """The whole environment of the child (nothing of the grader's is passed on): the
    private ``folder`` as home and temporary folder, UTF-8, no bytecode files, one BLAS
    thread (two cores, and several runs at once; a thread counts as a process), and
    ``BACKPROP_GRADER_PID``, the grading process's pid, which the processes the student's
    code starts inherit: it tells whose leftovers they are (the tests look for it)."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": folder, "TMPDIR": folder, "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "BACKPROP_GRADER_PID": str(os.getpid())}


def _kill_sandbox(process: subprocess.Popen, seconds: float = 5.0) -> None:
    """SIGKILL the sandbox's init (bwrap's child, the supervisor run ``--as-pid-1``): the
    kernel then kills every process of its PID namespace, and bwrap, still alive, reaps
    the init only when all are gone, then exits. If bwrap has not exited after
    ``seconds``, its process group is killed (by the caller)."""
    for pid in _children(process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _wait(process, seconds)


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid``."""
    return [child_pid for child_pid, parent in child.process_parents().items() if parent == pid]


def _wait(process: subprocess.Popen, seconds: float) -> bool:
    """Whether ``process`` exited within ``seconds`` (it is not reaped)."""
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux 5.3+: poll
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
            time.sleep(0.005)
        return False
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(max(0.0, seconds) * 1000))
    finally:
        os.close(pidfd)


def _signal(process: subprocess.Popen, signum: int, group: bool = False) -> None:
    try:
        if group:
            os.killpg(process.pid, signum)
        else:
            os.kill(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    limit = child.MAX_PAYLOAD_BYTES + MAX_HEADER_BYTES + 1
    return os.pread(fd, min(size, limit), 0) if size <= limit else b""


def _read_output(fd: int) -> tuple[str, int]:
    """The first ``OUTPUT_CHARS`` characters printed, escaped, and the number of lines
    printed in all (a last line without a newline counts)."""
    head = os.pread(fd, 4 * OUTPUT_CHARS, 0)
    lines, offset, last = 0, 0, b""
    while chunk := os.pread(fd, 1 << 20, offset):
        lines += chunk.count(b"\n")
        offset += len(chunk)
        last = chunk[-1:]
    if last and last != b"\n":
        lines += 1
    return escape_untrusted(head.decode("utf-8", "replace")[:OUTPUT_CHARS]), lines


def _verdict(raw: bytes, timed_out: bool, timeout: float, limits: Limits, n_calls: int,
             output: str) -> SubmissionRun:
    """The run's status from the result file (``raw``) and how the child ended."""
    if timed_out:
        return SubmissionRun("timeout", f"no result after {timeout:g} s (an infinite loop?); the process was killed")
    try:
        header, payload = split_result(raw)
    except BadResult as error:
        last = (split_escaped_lines(output) or [""])[-1][:300]
        return SubmissionRun("no_result", f"no result came back ({error})" + (f"; it printed: {last}" if last else ""))
    if header.terminated:
        return SubmissionRun("no_result", "the child was stopped before it finished")
    if header.worker_signal is not None:
        return _killed(header.worker_signal, limits.cpu_for(timeout))
    if header.payload_truncated:
        return SubmissionRun("no_result", f"the result was larger than {child.MAX_PAYLOAD_BYTES:,} bytes")
    if header.worker_exit != 0:
        return SubmissionRun("crashed", f"the process exited with status {header.worker_exit} without a result")
    if not payload:
        return SubmissionRun("no_result", "the process exited without a result (os._exit in the student's code?)")
    try:
        data = decode_payload(payload, n_calls)
    except BadResult as error:
        return SubmissionRun("no_result", f"the result could not be read: {error}")
    calls = [CallResult(**call) for call in data.pop("calls")]
    return SubmissionRun(**data, calls=calls)


def _killed(signum: int, cpu_seconds: int) -> SubmissionRun:
    if signum == signal.SIGXCPU:
        return SubmissionRun("timeout", f"the CPU time limit of {cpu_seconds} s was exceeded; the process was killed")
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    hint = {"SIGSEGV": " (a crash in C code, or a stack overflow)", "SIGXFSZ": " (the file size limit)"}.get(name, "")
    return SubmissionRun("crashed", f"the process was killed by {name}{hint}")
