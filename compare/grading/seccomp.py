"""A seccomp filter that stops sandboxed code from creating user namespaces.

Under bwrap started by root, the student's code runs as an unprivileged uid with no
capabilities, but Linux lets any uid create a user namespace and become root inside it:
there it could mount a tmpfs and fill the machine's memory past every resource limit.
The filter (classic BPF, for bwrap's ``--seccomp FD``) makes ``unshare`` fail with EPERM,
``clone`` with CLONE_NEWUSER fail with EPERM, and ``clone3`` (whose flags a filter cannot
read) fail with ENOSYS, so that the C library falls back to ``clone``. System calls of
another ABI (32-bit or x32 code the student might build and run) kill the process.
Everything else is allowed. Built for x86_64 and aarch64; ``user_namespace_filter``
returns None elsewhere.
"""
import errno
import platform
import struct

_LD_ABS_W, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO, _KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
_CLONE_NEWUSER = 0x10000000
_X32_BIT = 0x40000000
# audit arch, and the numbers of unshare, clone, clone3
_ARCHES = {"x86_64": (0xC000003E, 272, 56, 435), "aarch64": (0xC00000B7, 97, 220, 435)}
_OFFSET_NR, _OFFSET_ARCH, _OFFSET_ARG0 = 0, 4, 16  # struct seccomp_data, little-endian


def user_namespace_filter(machine: str | None = None) -> bytes | None:
    """The filter as bwrap reads it: ``struct sock_filter`` entries in native byte order.
    ``machine`` defaults to ``platform.machine()``; None for an unsupported one."""
    machine = machine or platform.machine()
    if machine not in _ARCHES:
        return None
    arch, unshare, clone, clone3 = _ARCHES[machine]
    program = [
        ("ld", _OFFSET_ARCH),
        ("jeq", arch, None, "kill"),
        ("ld", _OFFSET_NR),
        *([("jge", _X32_BIT, "enosys", None)] if machine == "x86_64" else []),
        ("jeq", unshare, "eperm", None),
        ("jeq", clone3, "enosys", None),
        ("jeq", clone, None, "allow"),
        ("ld", _OFFSET_ARG0),
        ("jset", _CLONE_NEWUSER, "eperm", "allow"),
        ("label", "allow"), ("ret", _ALLOW),
        ("label", "eperm"), ("ret", _ERRNO | errno.EPERM),
        ("label", "enosys"), ("ret", _ERRNO | errno.ENOSYS),
        ("label", "kill"), ("ret", _KILL_PROCESS),
    ]
    return _assemble(program)


def _assemble(program: list[tuple]) -> bytes:
    """Resolve labels into the relative jumps of classic BPF (None: the next instruction)."""
    labels, code = {}, []
    for item in program:
        if item[0] == "label":
            labels[item[1]] = len(code)
        else:
            code.append(item)
    out = []
    for index, item in enumerate(code):
        if item[0] == "ld":
            out.append(struct.pack("=HBBI", _LD_ABS_W, 0, 0, item[1]))
        elif item[0] == "ret":
            out.append(struct.pack("=HBBI", _RET, 0, 0, item[1]))
        else:
            op, value, on_true, on_false = item
            jumps = [0 if target is None else labels[target] - index - 1 for target in (on_true, on_false)]
            out.append(struct.pack("=HBBI", {"jeq": _JEQ, "jge": _JGE, "jset": _JSET}[op], *jumps, value))
    return b"".join(out)
