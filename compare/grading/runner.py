"""Running a student's function in a child process: the parent side.

``Session`` copies the submission into a private temporary folder, starts ``child.py``
there (under bwrap when it can, see ``compare.grading.sandbox``) at its first batch of
calls, and serves every later batch from the same child: the student's file is imported
once. For each batch it writes the calls into the child's request file, sends one byte
on a pipe, and waits for a byte back (the result is written to a file), or for the
*process* to exit, at most ``timeout`` seconds; it never waits for the end of a pipe
the student's code could hold open. It reads each result strictly
(``compare.grading.decode``). ``run_submission`` is a session of one batch. Nothing the
student's code does raises here; every failure is a status.

Imports the standard library, NumPy and this package; never torch. Safe to use from
several threads at once, a session per thread (``run_submissions`` does).
"""
import json
import math
import os
import select
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from compare.grading import child, sandbox
from compare.grading.decode import MAX_HEADER_BYTES, BadResult, Header, decode_payload, split_result
from compare.grading.escape import escape_untrusted, split_escaped_lines
from compare.grading.sandbox import Limits

OUTPUT_CHARS = 4000        # characters of printed output kept (before escaping)
MAX_SUBMISSION_BYTES = 16 << 20  # the submission and its support files together
MAX_SUBMISSION_FILES = 256       # the submission and its support files, each a file descriptor under bwrap
TERMINATE_GRACE = 2.0      # seconds the supervisor has to clean up after the time limit


@dataclass
class Call:
    """One call of the student's function, ``function(params, x, y)``.

    ``params``: ``{"W1": (n_in, n_out), "b1": (n_out,), ...}``, float64 or float32 arrays
    in the text's layout (``z = x @ W + b``; W (n_out, n_in) for an ``out_in`` text, a 0-d
    b for a shared bias: ``compare.grading.check.function_inputs``); ``x``: float array, ``(n_in,)`` for one
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


class Session:
    """One child process for several batches of calls of one submission (the rounds of a
    shrink, say): the student's file is imported once, at the first ``run``.

    ``path``: the submission; ``function``: the name of its function, called as
    ``function(params, x, y)``; ``timeout``: seconds for each batch (the first one's
    include starting the child and importing the file), and the CPU limit of each batch
    (``Limits.cpu_for``); ``sandbox``: ``"auto"``, ``"bwrap"`` or ``"none"``
    (``compare.grading.sandbox``); ``limits``: resource limits (``Limits()`` by default);
    ``support_files``: more files copied beside the submission, for it to import (nothing
    else of its folder is): a path (copied under its file name) or a ``(path, name)`` pair
    whose name is a relative path in the private folder (``"utils/helpers.py"``, for a
    package of the student's).

    The module's state (globals, caches, threads and processes it started) carries over
    from batch to batch; each call still gets fresh copies of its inputs. A batch that
    fails as a whole (any status but ``"ok"``) ends the session: its child is killed, and
    every later ``run`` returns that status at once, saying so, without starting another
    child. ``close`` (or the end of a ``with`` block, or the session's garbage collection,
    or the interpreter's exit) kills and reaps everything the child left. One ``run`` at a
    time per session (a lock), from any thread; different sessions are independent. If the
    grading process dies, the child dies with it.

    Raises ``FileNotFoundError`` when ``path`` or a support file is not a file,
    ``ValueError`` for a bad function name, timeout, sandbox mode or support file name,
    ``TypeError`` for ``limits`` that are not a ``Limits``, and ``sandbox.SandboxError``
    (one line) when ``sandbox="bwrap"`` and bwrap cannot run here."""

    def __init__(self, path: Path, function: str, *, timeout: float = 10.0, sandbox: str = "auto",
                 limits: Limits | None = None, support_files: Sequence[Path | tuple[Path, str]] = ()):
        if not function.isidentifier():
            raise ValueError(f"function must be a Python identifier, got {function!r}")
        if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        limits = Limits() if limits is None else limits
        if not isinstance(limits, Limits):
            raise TypeError(f"limits must be a Limits, got {type(limits).__name__}")
        paths = [(Path(path), Path(path).name), *map(_named, support_files)]
        for file, _ in paths:
            if not file.is_file():
                raise FileNotFoundError(f"{file}: no such file")
        names = [name for _, name in paths]
        if len(set(names)) != len(names):
            raise ValueError(f"two files of the submission have the same name: {', '.join(names)}")
        self._mode, self._why_none = sandbox_choice(sandbox)
        self._paths, self._function, self._timeout, self._limits = paths, function, timeout, limits
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._close_child = None        # the finalizer that closes the child, once
        self._ended: SubmissionRun | None = None  # what every later run returns
        self._batches, self._closed = 0, False

    def run(self, calls: Sequence[Call]) -> SubmissionRun:
        """One batch: ``function(params, x, y)`` once per ``Call``, in the session's child
        (started now if this is the first batch). Returns the batch's ``SubmissionRun``:
        its status, call results, the output printed during the batch, its seconds.

        Never raises for anything the student's code does. Raises ``TypeError`` or
        ``ValueError`` for a ``Call`` whose arrays are not as documented (nothing is run,
        the session goes on), and ``ValueError`` once the session is closed."""
        encoded = [_encode_call(call, i) for i, call in enumerate(calls)]
        with self._lock:
            if self._closed:
                raise ValueError("this Session is closed")
            self._batches += 1
            if self._ended is not None:
                return replace(self._ended, calls=[])
            if self._child is None:
                files, problem = _read_files(self._paths, self._mode, self._limits)
                if problem:
                    return self._end(SubmissionRun("import_error", problem, sandbox=f"{self._mode}: nothing was run"))
                self._child = _Child(self._mode, self._why_none, files, self._function, self._timeout, self._limits)
                self._close_child = weakref.finalize(self, self._child.close)
            run, serving = self._child.batch(encoded)
            if not serving:
                self._end(run)
            return run

    def _end(self, run: SubmissionRun) -> SubmissionRun:
        """End the session after ``run``, the batch that failed (or after which the child
        ended): kill the child, and keep what later batches return."""
        if self._close_child is not None:
            self._close_child()
        batch = f"batch {self._batches}"
        if run.status == "ok":
            self._ended = SubmissionRun("no_result", f"the child ended after {batch}, which came back; "
                                        "nothing more is run", sandbox=run.sandbox)
        else:
            self._ended = replace(run, message=f"{batch} failed, which ended the session: {run.message}", calls=[],
                                  output="", output_lines=0, seconds=0.0)
        return run

    def close(self) -> None:
        """Kill and reap the child and every process it left, and delete its private
        folder; idempotent. Waits for a ``run`` in progress in another thread."""
        with self._lock:
            self._closed = True
            if self._close_child is not None:
                self._close_child()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _named(support: Path | tuple[Path, str]) -> tuple[Path, str]:
    """``(path, name in the private folder)`` of a support file; raises ``ValueError``
    for a name that is not a relative path inside the folder."""
    if isinstance(support, tuple):
        file, name = Path(support[0]), support[1]
    else:
        file = Path(support)
        name = file.name
    if not isinstance(name, str) or "\0" in name or any(part in ("", ".", "..") for part in name.split("/")):
        raise ValueError(f"support file name must be a relative path inside the submission's folder, got {name!r}")
    return file, name


def run_submission(path: Path, function: str, calls: Sequence[Call], *, timeout: float = 10.0,
                   sandbox: str = "auto", limits: Limits | None = None,
                   support_files: Sequence[Path | tuple[Path, str]] = ()) -> SubmissionRun:
    """Import ``path`` in a child process and call ``function(params, x, y)`` once per
    ``Call``: a ``Session`` of one batch, closed when it returns (``timeout`` covers the
    whole child: start, import and every call). The arguments are ``Session``'s.

    Never raises for anything the student's code does. Raises what ``Session`` and
    ``Session.run`` raise for bad arguments."""
    with Session(path, function, timeout=timeout, sandbox=sandbox, limits=limits,
                 support_files=support_files) as session:
        return session.run(calls)


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
    call = _encode_call(Call({}, np.array([1.0]), np.array([2.0])), 0)
    try:
        trial = _Child("bwrap", None, {"probe.py": _PROBE.encode()}, "probe", 20.0, Limits())
    except OSError as error:
        return f"bwrap could not be started ({error})"
    try:
        run, _ = trial.batch([call])
    except OSError as error:
        return f"bwrap could not be started ({error})"
    finally:
        trial.close()
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


# ------------------------------------------------------------------- one child

def _read_files(paths: list[tuple[Path, str]], mode: str, limits: Limits) -> tuple[dict[str, bytes], str | None]:
    """``{name: content}`` of the submission's files (the submission first), or why they
    are not run."""
    if len(paths) > MAX_SUBMISSION_FILES:
        return {}, (f"the submission's folder holds more than {MAX_SUBMISSION_FILES} .py files ({paths[0][0].parent}, "
                    "its subfolders counted; installed libraries and virtual environments are left out); it is not "
                    "graded")
    files, total = {}, 0
    for file, name in paths:
        size = file.stat().st_size
        total += size
        if total > MAX_SUBMISSION_BYTES:
            return {}, f"the submission is more than {MAX_SUBMISSION_BYTES:,} bytes; it is not graded"
        files[name] = file.read_bytes()
    if mode == "bwrap" and sum(map(len, files.values())) > limits.folder_bytes:
        return {}, f"the submission does not fit in the private folder of {limits.folder_bytes:,} bytes"
    return files, None


class _Child:
    """The child process of a session, its private folder, channel and uid. ``batch`` runs
    one batch (starting the process at the first); ``close`` ends everything."""

    def __init__(self, mode: str, why_none: str | None, files: dict[str, bytes], function: str, timeout: float,
                 limits: Limits):
        self.mode, self.timeout, self.limits = mode, timeout, limits
        self.process: subprocess.Popen | None = None
        self.stack = ExitStack()
        try:
            self._prepare(why_none, files, function)
        except BaseException:
            self.stack.close()
            raise

    def _prepare(self, why_none: str | None, files: dict[str, bytes], function: str) -> None:
        """The private folder with the files, the result and output files, the pipes, the
        launch and the request (all but the calls)."""
        stack = self.stack
        self.private = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="backprop-grading-",
                                                                             ignore_cleanup_errors=True)))
        folder = self.private / "submission"
        folder.mkdir()
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        self.result_fd = _open(stack, self.private / "result", os.O_RDWR | os.O_CREAT | os.O_EXCL)
        self.output_fd = _open(stack, self.private / "output", os.O_RDWR | os.O_CREAT | os.O_EXCL)
        go_fd, self.go_fd = _pipe(stack)            # the parent writes a byte per batch
        self.notify_fd, notify_fd = _pipe(stack)    # the supervisor writes a byte per result
        os.set_blocking(self.go_fd, False)
        os.set_blocking(self.notify_fd, False)
        self.launch, extra_fds = _launch(stack, self.mode, why_none, self.private, next(iter(files)), self.timeout,
                                         self.limits)
        self.pass_fds = [self.result_fd, go_fd, notify_fd, *extra_fds]
        self.request = {"submission": self.launch.submission, "function": function,
                        "numpy_path": self.launch.numpy_path, "result_fd": self.result_fd, "go_fd": go_fd,
                        "notify_fd": notify_fd, "run_as": self.launch.run_as,
                        "parent_pid": os.getpid() if self.mode == "none" else None,
                        "limits": {"cpu_seconds": self.limits.cpu_for(self.timeout),
                                   "memory_bytes": self.limits.memory_bytes,
                                   "file_size_bytes": self.limits.file_size_bytes,
                                   "processes": self.launch.processes}}

    def batch(self, calls: list[dict]) -> tuple[SubmissionRun, bool]:
        """Run one batch of encoded calls; the batch's run, and whether the child still
        serves (when not, the caller must ``close``)."""
        if self.process is not None and _exited(self.process):
            return SubmissionRun("no_result", "the child had ended before this batch began (a thread of the "
                                 "student's code ended it, or the grader's thread that started it ended)",
                                 sandbox=self.launch.note), False
        start = time.perf_counter()
        (self.private / "request.json").write_text(json.dumps({**self.request, "calls": calls}))
        os.ftruncate(self.result_fd, 0)  # nothing of the last batch can pass for this one's
        printed = os.fstat(self.output_fd).st_size
        try:
            os.write(self.go_fd, b"g")
        except (BlockingIOError, BrokenPipeError):  # the child stopped reading: the wait tells how
            pass
        if self.process is None:
            self.process = self._start()
        came = _wait(self.process, self.timeout, [self.notify_fd])
        serving = came and not _exited(self.process)
        if not came:
            self.end_process()
        _drain(self.notify_fd)
        seconds = time.perf_counter() - start
        output, output_lines = _read_output(self.output_fd, printed)
        run, header_serving = _verdict(_read_all(self.result_fd), not came, self.timeout, self.limits, len(calls),
                                       output)
        run.output, run.output_lines, run.seconds, run.sandbox = output, output_lines, seconds, self.launch.note
        return run, serving and header_serving

    def _start(self) -> subprocess.Popen:
        request_fd = _open(self.stack, self.private / "request.json", os.O_RDONLY)
        return _popen(self.launch.command, stdin=request_fd, stdout=self.output_fd, stderr=self.output_fd,
                                pass_fds=self.pass_fds, cwd=self.launch.cwd,
                                env=child_environment(os.path.dirname(self.launch.submission)),
                                start_new_session=True)

    def end_process(self) -> None:
        """Stop the process if it has not exited, and reap it (see ``_stop``)."""
        if self.process is not None and self.process.returncode is None:
            _stop(self.process, self.mode)

    def close(self) -> None:
        """End the process, then close the fds, delete the private folder, free the uid."""
        try:
            self.end_process()
        finally:
            self.stack.close()


def _launch(stack: ExitStack, mode: str, why_none: str | None, private: Path, name: str, timeout: float,
            limits: Limits) -> tuple[sandbox.Launch, list[int]]:
    """How to start the child in ``mode``, and the fds it needs beside the result fd
    (under bwrap: the submission's files, copied into the sandbox, and the seccomp filter).
    The uid of a bwrap run as root is held until ``stack`` closes."""
    interp, folder = sandbox.interpreter(), private / "submission"
    if mode == "none":
        return sandbox.none_launch(interp, folder, name, limits, timeout, why_none), []
    run_as = stack.enter_context(sandbox.RunAs(os.geteuid() == 0))
    files = sorted((file for file in folder.rglob("*") if file.is_file()), key=lambda file: file.name != name
                   or file.parent != folder)  # the submission first
    file_fds = {file.relative_to(folder).as_posix(): _open(stack, file, os.O_RDONLY) for file in files}
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


_spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backprop-grading-spawner")


def _popen(*args, **kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` in one thread that lives as long as this process: the parent
    whose death stops a child (PR_SET_PDEATHSIG under ``none``, bwrap's --die-with-parent)
    is the *thread* that started it, and a session outlives the thread of its first batch."""
    return _spawner.submit(subprocess.Popen, *args, **kwargs).result()


def _pipe(stack: ExitStack) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    stack.callback(os.close, read_fd)
    stack.callback(os.close, write_fd)
    return read_fd, write_fd


def _drain(fd: int) -> None:
    """Read what is in the non-blocking pipe ``fd``."""
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _stop(process: subprocess.Popen, mode: str) -> None:
    """Stop the child unless it has exited: SIGTERM to the supervisor, which kills what the
    worker left, then SIGKILL to its process group; under bwrap SIGKILL to the PID
    namespace's init, and wait for bwrap to reap it. The child is reaped and nothing of it
    runs when this returns."""
    try:
        if not _exited(process) and mode == "none":
            _signal(process, signal.SIGTERM)
            _wait(process, TERMINATE_GRACE)
        elif not _exited(process):
            _kill_sandbox(process)
    finally:
        # The leader is not reaped yet, so its process group id cannot have been reused:
        # kill whatever is left in the group (the leader too if it still runs), then reap.
        _signal(process, signal.SIGKILL, group=True)
        process.wait()


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


def _wait(process: subprocess.Popen, seconds: float, fds: Sequence[int] = ()) -> bool:
    """Whether ``process`` exited, or one of the pipes ``fds`` became readable, within
    ``seconds`` (the process is not reaped)."""
    deadline = time.monotonic() + seconds
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # not Linux 5.3+: poll
        pidfd = None
    try:
        poller = select.poll()
        for fd in [*fds, *([pidfd] if pidfd is not None else [])]:
            poller.register(fd, select.POLLIN)
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            if pidfd is None and _exited(process):
                return True
            if poller.poll(1000 * (remaining if pidfd is not None else min(remaining, 0.005))):
                return True
            if remaining == 0:
                return False
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _exited(process: subprocess.Popen) -> bool:
    """Whether ``process`` has exited (it is not reaped)."""
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


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


def _read_output(fd: int, start: int = 0) -> tuple[str, int]:
    """The first ``OUTPUT_CHARS`` characters printed from byte ``start`` on, escaped, and the
    number of lines printed from there (a last line without a newline counts)."""
    head = os.pread(fd, 4 * OUTPUT_CHARS, start)
    lines, offset, last = 0, start, b""
    while chunk := os.pread(fd, 1 << 20, offset):
        lines += chunk.count(b"\n")
        offset += len(chunk)
        last = chunk[-1:]
    if last and last != b"\n":
        lines += 1
    return escape_untrusted(head.decode("utf-8", "replace")[:OUTPUT_CHARS]), lines


def _verdict(raw: bytes, timed_out: bool, timeout: float, limits: Limits, n_calls: int,
             output: str) -> tuple[SubmissionRun, bool]:
    """The batch's run from the result file (``raw``) and how the child ended, and whether
    the worker still serves (the header says it runs, and the batch is ``ok``)."""
    if timed_out:
        return SubmissionRun("timeout", f"no result after {timeout:g} s (an infinite loop?); "
                                        "the process was killed"), False
    try:
        header, payload = split_result(raw)
    except BadResult as error:
        last = (split_escaped_lines(output) or [""])[-1][:300]
        printed = f"; it printed: {last}" if last else ""
        return SubmissionRun("no_result", f"no result came back ({error}){printed}"), False
    run = _read_payload(header, payload, timeout, limits, n_calls)
    return run, run.status == "ok" and header.serving


def _read_payload(header: Header, payload: bytes, timeout: float, limits: Limits, n_calls: int) -> SubmissionRun:
    if header.terminated:
        return SubmissionRun("no_result", "the child was stopped before it finished")
    if header.worker_signal is not None:
        return _killed(header.worker_signal, limits.cpu_for(timeout))
    if header.payload_truncated:
        return SubmissionRun("no_result", f"the result was larger than {child.MAX_PAYLOAD_BYTES:,} bytes")
    if header.worker_exit not in (0, None):
        return SubmissionRun("crashed", f"the process exited with status {header.worker_exit} without a result")
    if not payload and header.serving:
        return SubmissionRun("no_result", "an empty result came back (a newline written to the channel?)")
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
