"""How the child is started: under bubblewrap (``bwrap``) or with resource limits alone.

``sandbox="bwrap"``: the child runs in ``bwrap`` with no network (new network
namespace: not even the host's 127.0.0.1), a new PID namespace (it sees only its own
processes, all killed when it ends), new IPC and UTS namespaces, a new session (no
controlling terminal to inject keystrokes into), an empty root file system remounted
read-only, and read-only binds of only what it needs: ``/usr`` (and the ``/bin``,
``/lib`` links), the Python installation, NumPy, and ``child.py``. The private folder
``/submission`` (a tmpfs of ``Limits.folder_bytes``) is the only writable place and the
working directory; the grader's folders, home, environment and ``/etc`` are not there.
Started by root, ``bwrap`` keeps no capability but CAP_SETUID/CAP_SETGID, which the
child uses to drop to a uid of its own for the run (``RunAs``): the process limit binds
only a non-root uid. Started by another user, ``bwrap`` makes a user namespace and
forbids nested ones (``--disable-userns``). Both use a seccomp filter against new user
namespaces (``compare.grading.seccomp``).

``sandbox="none"``: the child runs as the grader's user, with the resource limits
alone: it can read and write what that user can and open network connections.

``sandbox="auto"``: ``bwrap`` if a trial run of the child under it works (tried once per
process), otherwise ``none``; ``SubmissionRun.sandbox`` says which and why.
"""
import math
import os
import random
import shutil
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy

from compare.grading import child
from compare.grading.seccomp import user_namespace_filter

MODES = ("auto", "bwrap", "none")
SUBMISSION_DIR = "/submission"      # the private folder, inside the sandbox
GRADER_DIR = "/grader"              # child.py and NumPy, inside the sandbox
UID_RANGE = (2_000_000_000, 2_100_000_000)  # uids given to runs under bwrap started by root


class SandboxError(RuntimeError):
    """``sandbox="bwrap"`` was asked for and bwrap cannot run the child here (one line)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of the child's worker process, set with ``resource.setrlimit``
    before the student's code runs.

    - ``cpu_seconds``: CPU time (RLIMIT_CPU); None: the timeout rounded up, plus 1.
    - ``memory_bytes``: address space of each process (RLIMIT_AS), 1 GiB.
    - ``file_size_bytes``: the largest file the code may write (RLIMIT_FSIZE), its printed
      output included, 64 MiB.
    - ``processes``: processes and threads the code may run at once, its own process
      included (RLIMIT_NPROC of a uid of the run's own), 16: room for a helper process per
      call of the exercise and its probes, not for a fork bomb (16 × 1 GiB at most). Binds
      under bwrap only: in ``none`` mode it is not set (RLIMIT_NPROC counts every process
      of the grader's uid, and does not bind root at all).
    - ``folder_bytes``: size of the private folder under bwrap (a tmpfs), 64 MiB.

    Raises ``ValueError`` for a limit that is not a positive number."""
    cpu_seconds: float | None = None
    memory_bytes: int = 1 << 30
    file_size_bytes: int = 64 << 20
    processes: int = 16
    folder_bytes: int = 64 << 20

    def __post_init__(self):
        for name in ("memory_bytes", "file_size_bytes", "processes", "folder_bytes"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.cpu_seconds is not None and not self.cpu_seconds > 0:
            raise ValueError(f"Limits.cpu_seconds must be positive, got {self.cpu_seconds!r}")

    def cpu_for(self, timeout: float) -> int:
        """The CPU limit in whole seconds for a run with this wall-clock ``timeout``."""
        return math.ceil(self.cpu_seconds) if self.cpu_seconds is not None else math.ceil(timeout) + 1

    def describe(self, timeout: float, processes_bind: bool) -> str:
        """``cpu 11 s, memory 1 GiB, file 64 MiB, processes 16`` (processes as bound)."""
        processes = f"processes {self.processes}" if processes_bind else "processes not limited"
        return (f"cpu {self.cpu_for(timeout)} s, memory {_size(self.memory_bytes)}, "
                f"file {_size(self.file_size_bytes)}, {processes}")


def _size(n: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} B"


@dataclass(frozen=True)
class Interpreter:
    """The Python and NumPy the child runs with, as real host paths."""
    executable: str
    prefix: str
    numpy_dir: str
    numpy_libs: str | None
    child_script: str


def interpreter() -> Interpreter:
    """The running interpreter (the real file behind a venv's link), its installation
    prefix, the imported NumPy package and its bundled libraries (``numpy.libs``), and
    ``child.py``."""
    numpy_dir = str(Path(numpy.__file__).resolve().parent)
    libs = Path(numpy_dir).parent / "numpy.libs"
    return Interpreter(str(Path(sys.executable).resolve()), str(Path(sys.base_prefix).resolve()),
                       numpy_dir, str(libs) if libs.is_dir() else None, str(Path(child.__file__).resolve()))


@dataclass(frozen=True)
class Launch:
    """How to start one child: the command, its working folder on the host (None under
    bwrap), and what goes into the request about paths and the uid."""
    command: list[str]
    cwd: str | None
    submission: str           # the submission's path as the child sees it
    numpy_path: str           # the folder holding numpy, as the child sees it
    run_as: tuple[int, int] | None
    processes: int | None     # RLIMIT_NPROC for the worker, None: not set
    note: str                 # what protects the run, one line


def none_launch(interp: Interpreter, folder: Path, name: str, limits: Limits, timeout: float,
                why: str | None = None) -> Launch:
    """The child started directly, as the grader's user, in ``folder``; ``why``: why not
    under bwrap, for the note."""
    who = "root" if os.geteuid() == 0 else "the grader's user"
    note = (f"none: {why + '; ' if why else ''}no sandbox, the code ran as {who} with the grader's file and "
            f"network access; resource limits only ({limits.describe(timeout, False)})")
    return Launch([interp.executable, "-I", "-S", interp.child_script, *grader_tag()], str(folder), str(folder / name),
                  str(Path(interp.numpy_dir).parent), None, None, note)


def bwrap_launch(interp: Interpreter, bwrap: str, files: dict[str, int], seccomp_fd: int | None,
                 limits: Limits, timeout: float, run_as: tuple[int, int] | None) -> Launch:
    """The child under bwrap. ``files``: ``{name: fd}`` of the submission's files, copied
    into the sandbox's private folder (the first is the submission; a name may be a
    relative path, ``utils/helpers.py``, its folders made first); ``seccomp_fd``: the
    filter; ``run_as``: the uid/gid to drop to when bwrap runs as root (None otherwise)."""
    # --as-pid-1: the child's supervisor is the PID namespace's init (it reaps like one), and
    # bwrap waits for it; the kernel lets an init be reaped only when every process of its
    # namespace is gone, so bwrap's exit means the sandbox is empty. (With bwrap's own init,
    # bwrap exits as soon as that init reports the child's status, before the init is gone.)
    command = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
               "--unshare-cgroup-try", "--as-pid-1", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    if run_as is not None:
        command += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        command += ["--unshare-user", "--disable-userns"]
    command += _system_binds()
    command += _ancestors(interp.prefix) + ["--ro-bind", interp.prefix, interp.prefix]
    if not interp.executable.startswith(interp.prefix + os.sep):
        command += _ancestors(interp.executable) + ["--ro-bind", interp.executable, interp.executable]
    site = f"{GRADER_DIR}/site"
    command += ["--perms", "0755", "--dir", GRADER_DIR, "--perms", "0755", "--dir", site,
                "--ro-bind", interp.child_script, f"{GRADER_DIR}/child.py",
                "--ro-bind", interp.numpy_dir, f"{site}/numpy"]
    if interp.numpy_libs:
        command += ["--ro-bind", interp.numpy_libs, f"{site}/numpy.libs"]
    command += ["--proc", "/proc", "--dev", "/dev",
                "--perms", "1777" if run_as else "0700", "--size", str(limits.folder_bytes),
                "--tmpfs", SUBMISSION_DIR]
    for folder in _folders(files):
        command += ["--perms", "0755", "--dir", f"{SUBMISSION_DIR}/{folder}"]
    for name, fd in files.items():
        command += ["--perms", "0644", "--file", str(fd), f"{SUBMISSION_DIR}/{name}"]
    if seccomp_fd is not None:
        command += ["--seccomp", str(seccomp_fd)]
    command += ["--chdir", SUBMISSION_DIR, "--remount-ro", "/",
                interp.executable, "-I", "-S", f"{GRADER_DIR}/child.py", *grader_tag()]
    overhead = 1  # the supervisor shares the count
    who = f"uid {run_as[0]}" if run_as else "the grader's uid in a user namespace"
    note = (f"bwrap: no network, read-only system, only the private folder writable, PID namespace, "
            f"ran as {who}; {limits.describe(timeout, True)}")
    return Launch(command, None, f"{SUBMISSION_DIR}/{next(iter(files))}", site, run_as,
                  limits.processes + overhead, note)


def _folders(files: dict[str, int]) -> list[str]:
    """The folders the relative file names need, each before its subfolders."""
    folders = {"/".join(name.split("/")[:depth]) for name in files for depth in range(1, name.count("/") + 1)}
    return sorted(folders, key=lambda folder: (folder.count("/"), folder))


def grader_tag() -> list[str]:
    """``["--grader-pid", PID]``: appended to the child's command line, which ignores it,
    so that ``ps`` shows which grading process a child belongs to."""
    return ["--grader-pid", str(os.getpid())]


def _ancestors(path: str) -> list[str]:
    """``--dir`` for each folder above ``path``, world-readable: bwrap would create them
    0700, and the run's uid could not reach ``/root/.pyenv/...`` through them."""
    parts = Path(path).parts[1:-1]
    out = []
    for i in range(1, len(parts) + 1):
        out += ["--perms", "0755", "--dir", "/" + "/".join(parts[:i])]
    return out


def _system_binds() -> list[str]:
    """``/usr`` read-only, and ``/bin``, ``/lib``, ... as the host has them (links into
    ``/usr`` on a merged-usr system, read-only binds otherwise)."""
    out = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            out += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            out += ["--ro-bind", str(path), str(path)]
    return out


def seccomp_program() -> bytes | None:
    """The filter against user namespaces, or None on an unsupported architecture."""
    return user_namespace_filter()


# ------------------------------------------------------------------ choosing the mode

_lock = threading.Lock()
_trials: dict[tuple, str | None] = {}   # (bwrap, euid) -> None if usable, else why not
_uids_in_use: set[int] = set()


def bwrap_executable() -> str | None:
    """``bwrap`` on PATH (or in /usr/bin), or None."""
    return shutil.which("bwrap") or (shutil.which("bwrap", path="/usr/bin:/bin"))


def choose(mode: str, trial) -> tuple[str, str | None]:
    """``("bwrap", None)`` or ``("none", why bwrap is not used)`` for ``mode``;
    ``trial()`` runs the child once under bwrap and returns None when that worked, or
    why not (called once per process and bwrap path; thread-safe). Raises ``ValueError``
    for an unknown mode, ``SandboxError`` when ``mode == "bwrap"`` and bwrap is unusable."""
    if mode not in MODES:
        raise ValueError(f"sandbox must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "none":
        return "none", "sandbox='none' was asked for"
    bwrap = bwrap_executable()
    why = "bwrap is not installed (apt-get install bubblewrap)" if bwrap is None else _trial(bwrap, trial)
    if why is None:
        return "bwrap", None
    if mode == "bwrap":
        raise SandboxError(f"sandbox='bwrap' is not usable here: {why}")
    return "none", why


def _trial(bwrap: str, trial) -> str | None:
    key = (bwrap, os.geteuid())
    with _lock:
        if key in _trials:
            return _trials[key]
    why = trial()  # outside the lock: two first runs may both try, which is harmless
    with _lock:
        return _trials.setdefault(key, why)


class RunAs:
    """A uid (and the same gid) of the run's own, for bwrap started by root: taken from
    ``UID_RANGE`` at random, never two at once in this process (so the process limit of
    one run does not count another's processes). A context manager; None when bwrap
    runs as another user (a user namespace counts the processes then)."""

    def __init__(self, needed: bool):
        self.uid = None
        if needed:
            with _lock:
                while self.uid is None or self.uid in _uids_in_use:
                    self.uid = random.randrange(*UID_RANGE)
                _uids_in_use.add(self.uid)

    def __enter__(self) -> tuple[int, int] | None:
        return (self.uid, self.uid) if self.uid is not None else None

    def __exit__(self, *exc) -> None:
        if self.uid is not None:
            with _lock:
                _uids_in_use.discard(self.uid)
