"""The child side of grading: imports a student's file once and calls its function once
per call, batch after batch, in a process of its own. Standard library and NumPy only.

``compare.grading.runner`` starts this file as a script, ``python -I -S child.py
--grader-pid PID`` (the argument only shows in ``ps`` whose child it is; it is not read):
isolated mode, so neither this folder nor any site-packages is on
``sys.path`` and the ``compare`` package (and torch, and mpmath) cannot be imported.
The parent also imports this file as a module, for the caps and the array format below.

Input, on stdin: a file holding one JSON object, the *request*::

    {"submission": "/submission/student.py", "function": "backward",
     "numpy_path": "/grader/site",          # the folder holding the numpy package
     "result_fd": 5,                          # an inherited file: where each result goes
     "go_fd": 6,                              # an inherited pipe: a byte per batch, EOF to stop
     "notify_fd": 7,                          # an inherited pipe: a byte per result written
     "run_as": [uid, gid] | null,             # drop to this uid before the student's code
     "parent_pid": int | null,                # checked after PR_SET_PDEATHSIG (none mode)
     "limits": {"cpu_seconds": int, "memory_bytes": int, "file_size_bytes": int,
                "processes": int | null},
     "calls": [{"params": {"W1": ARRAY, ...}, "x": ARRAY, "y": ARRAY}, ...]}

where ``ARRAY`` is ``{"dtype": "float64", "shape": [4, 3], "data": BASE64}``, the
array's little-endian bytes (dtypes in ``INPUT_DTYPES``). The parent rewrites the file
with the next batch's ``calls`` before each byte it sends on ``go_fd``.

Two processes. The *supervisor* (the process the parent started) makes itself a child
subreaper, drops to ``run_as`` and forks the *worker*. The worker sets the resource
limits; for each byte read from ``go_fd`` it reads the request again, gives the batch a
CPU limit of its own, makes the calls (importing the student's file at the first) and
writes the batch's *payload*, one line of ASCII JSON, to a pipe. At EOF on ``go_fd`` it
leaves with ``os._exit`` (no atexit hooks of the student's, no waiting for threads it
started). For each line the supervisor writes to ``result_fd``, if the parent has emptied
it since the last time (see ``_report``), one line of JSON, the *header*::

    {"worker_exit": int | null, "worker_signal": int | null, "payload_bytes": int,
     "payload_truncated": bool, "terminated": bool, "leftovers_killed": int}

(both null: the worker still runs and serves the next batch) followed by the payload::

    {"status": "ok" | "import_error" | "missing_function" | "memory_limit" | "crashed",
     "message": str, "line": int | null, "source": str | null,
     "calls": [{"status": "ok" | "exception" | "bad_return", "message": str,
                "line": int | null, "source": str | null,
                "values": {key: {"shape": [...], "data": BASE64 of float64}},
                "bad_values": {key: "why it is not read"}, "seconds": float}, ...]}

and then one byte to ``notify_fd``. ``calls`` has one entry per requested call when
``status`` is ``"ok"`` and none otherwise. When the worker has exited, the supervisor
kills and reaps every process left behind (a background job, a double-forked ``setsid``
daemon: all are re-parented to it) and writes the last header, with the worker's exit
status and whatever it wrote after its last full line as the payload. A SIGTERM to the
supervisor (the parent's time limit or the end of the session, or the parent's death
through PR_SET_PDEATHSIG), or the end of ``go_fd`` while a batch runs (the parent closed
it, or died), kills the worker and every leftover, then writes the header with
``"terminated": true``.

Nothing here trusts the student: the returned dict is read with ``dict``'s own methods,
values are converted only from a whitelist of types (``__array__``, ``__float__``,
``__len__`` or ``__getitem__`` of the student's classes are never called), and every
text is capped. The parent still validates everything it reads (``compare.grading.decode``):
the student's code runs in the worker and could write anything to the pipe, read the
request file and the ``go_fd`` pipe, in this batch and later ones.
"""
import base64
import itertools
import json
import math
import os
import select
import signal
import sys
import time

# Caps on what one run sends back (the parent enforces the same numbers).
MAX_KEYS_PER_CALL = 256            # keys read from one returned dict; the rest are one MORE_KEYS entry
MAX_ELEMENTS_PER_VALUE = 1_000_000  # numbers in one returned array
MAX_ELEMENTS_PER_RUN = 4_000_000    # numbers in all returned arrays of all calls
MAX_TEXT_PER_RUN = 1_000_000        # characters of keys, messages and reasons in all
MAX_KEY_CHARS = 200
MAX_MESSAGE_CHARS = 2000           # an exception message or a source line
MAX_REASON_CHARS = 300
MAX_DEPTH = 32                     # nesting of returned lists
MAX_PAYLOAD_BYTES = 64 << 20       # the payload; more is cut and the run has no result
MORE_KEYS = "<more keys>"          # the bad_values key that stands for the keys not read
INPUT_DTYPES = ("float64", "float32", "int64", "int32")
RUN_STATUSES = ("ok", "import_error", "missing_function", "memory_limit", "crashed")
CALL_STATUSES = ("ok", "exception", "bad_return")

_PR_SET_PDEATHSIG, _PR_SET_CHILD_SUBREAPER, _PR_SET_NO_NEW_PRIVS = 1, 36, 38
_EXIT_INTERNAL = 70                # the worker failed in the grader's own code
_CUSHION_BYTES = 4 << 20           # freed on MemoryError so the worker can still report

# Bound before any student code runs: the student can rebind os._exit or json.dumps in
# the modules, not these names.
_exit, _read, _write, _pread, _dumps, _loads, _monotonic = (os._exit, os.read, os.write, os.pread, json.dumps,
                                                          json.loads, time.perf_counter)


# ---------------------------------------------------------------- arrays on the wire

def encode_array(array) -> dict:
    """A NumPy array as ``{"dtype", "shape", "data"}``: the little-endian bytes in
    base64, so every float (NaN payloads, -0.0, float32) round-trips exactly."""
    import numpy as np
    array = np.asarray(array)
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return {"dtype": array.dtype.name, "shape": list(array.shape),
            "data": base64.b64encode(np.ascontiguousarray(little).tobytes()).decode("ascii")}


def decode_array(obj: dict):
    """Inverse of ``encode_array`` for the parent's input (trusted): a fresh, writable
    array. Raises ``ValueError`` for a dtype outside ``INPUT_DTYPES`` or a size mismatch."""
    import numpy as np
    if obj["dtype"] not in INPUT_DTYPES:
        raise ValueError(f"dtype {obj['dtype']!r} is not one of {INPUT_DTYPES}")
    dtype = np.dtype(obj["dtype"]).newbyteorder("<")
    flat = np.frombuffer(base64.b64decode(obj["data"], validate=True), dtype=dtype)
    return flat.reshape(obj["shape"]).astype(dtype.newbyteorder("="))


# ------------------------------------------------------- reading what the student returned

class _Bad(Exception):
    """A returned value that is not read, and why (the message)."""


class Budget:
    """What is left of the run's caps on numbers and text (``MAX_ELEMENTS_PER_RUN``,
    ``MAX_TEXT_PER_RUN``)."""

    def __init__(self, elements: int = MAX_ELEMENTS_PER_RUN, text: int = MAX_TEXT_PER_RUN):
        self.elements, self.text = elements, text


def type_name(obj) -> str:
    """The name of ``obj``'s type, read from the type itself (a metaclass property
    named ``__name__`` is not run); ``"object"`` if even that fails."""
    try:
        return str.__str__(type.__dict__["__name__"].__get__(type(obj)))[:100]
    except BaseException:
        return "object"


def _real_scalar_types():
    import numpy as np
    return tuple(np.dtype(code).type for code in "efdgbBhHiIlLqQ")


def to_float_array(value, budget: Budget):
    """``value`` as a float64 array, or ``_Bad(why)``. Read: NumPy arrays (and
    subclasses, as plain arrays) of real dtypes, Python and NumPy real scalars,
    ``Fraction``, ``Decimal``, and lists and tuples of these of one shape. Not read:
    None, complex numbers, strings, dicts, masked arrays, object arrays holding
    anything else, ragged lists, integers beyond float64, more than
    ``MAX_ELEMENTS_PER_VALUE`` numbers, and any other type: its ``__array__``,
    ``__float__`` or ``__iter__`` is never called. NaN and inf are read as they are."""
    import numpy as np
    limit = min(MAX_ELEMENTS_PER_VALUE, budget.elements)
    counter = [0]
    with np.errstate(all="ignore"):
        array = _convert(value, 0, counter, limit, np)
    array = np.ndarray.astype(array, np.float64)
    budget.elements -= int(array.size)
    return array


def _too_many(count: int, limit: int):
    if limit < MAX_ELEMENTS_PER_VALUE:
        return _Bad(f"not read: the run's result is limited to {MAX_ELEMENTS_PER_RUN:,} numbers in all")
    return _Bad(f"too large: {count:,} numbers or more, at most {MAX_ELEMENTS_PER_VALUE:,} are read")


def _convert(obj, depth: int, counter: list, limit: int, np):
    kind = type(obj)
    if kind is bool or kind is np.bool_:  # a mask's entry: True is 1, False is 0, as NumPy computes with it
        counter[0] += 1
        if counter[0] > limit:
            raise _too_many(counter[0], limit)
        return np.array(float(obj))
    if kind is float or kind is int or any(kind is t for t in _real_scalar_types()):
        counter[0] += 1
        if counter[0] > limit:
            raise _too_many(counter[0], limit)
        if kind is int:
            try:
                return np.array(float(obj))
            except OverflowError:
                raise _Bad("not an array of numbers: an integer too large for float64") from None
        return np.array(obj, dtype=np.float64)
    if issubclass(kind, np.ndarray):
        return _convert_ndarray(obj, depth, counter, limit, np)
    if issubclass(kind, (list, tuple)):
        return _convert_sequence(obj, depth, counter, limit, np)
    return _convert_other(obj, kind, counter, limit, np)


def _convert_ndarray(obj, depth, counter, limit, np):
    if issubclass(type(obj), np.ma.MaskedArray):
        raise _Bad("not an array of numbers: a masked array (return a plain NumPy array)")
    view = np.ndarray.view(obj, np.ndarray)  # the subclass's own methods are not used
    if counter[0] + view.size > limit:
        raise _too_many(counter[0] + view.size, limit)
    kind = view.dtype.kind
    if kind in "fiub":  # booleans: a ReLU mask returned as z1 > 0 is the mask of 1s and 0s
        counter[0] += view.size
        return np.ndarray.astype(view, np.float64)
    if kind == "O":
        if depth >= MAX_DEPTH:
            raise _Bad(f"not an array of numbers: arrays nested more than {MAX_DEPTH} deep")
        items = np.ndarray.tolist(view)  # the element objects, not their methods
        return _convert(items, depth + 1, counter, limit, np)
    what = {"c": "complex numbers", "U": "strings", "S": "bytes"}.get(kind, f"dtype {view.dtype.name}")
    raise _Bad(f"not an array of numbers: an array of {what}")


def _convert_sequence(obj, depth, counter, limit, np):
    if depth >= MAX_DEPTH:
        raise _Bad(f"not an array of numbers: lists nested more than {MAX_DEPTH} deep")
    base = list if issubclass(type(obj), list) else tuple
    items = list(base.__getitem__(obj, slice(None)))  # a plain copy: no __iter__ of a subclass
    if all(type(item) is float or type(item) is int or type(item) is bool for item in items):
        if counter[0] + len(items) > limit:
            raise _too_many(counter[0] + len(items), limit)
        try:
            array = np.array(items, dtype=np.float64)
        except OverflowError:
            raise _Bad("not an array of numbers: an integer too large for float64") from None
        counter[0] += len(items)
        return array
    parts = [_convert(item, depth + 1, counter, limit, np) for item in items]
    shapes = {part.shape for part in parts}
    if len(shapes) > 1:
        first, second = sorted(shapes, key=len)[:2]
        raise _Bad(f"not an array of numbers: ragged, elements of shapes {first} and {second}")
    return np.array(parts, dtype=np.float64) if parts else np.zeros(0)


def _convert_other(obj, kind, counter, limit, np):
    from decimal import Decimal
    from fractions import Fraction
    if kind is Fraction or kind is Decimal:
        counter[0] += 1
        if counter[0] > limit:
            raise _too_many(counter[0], limit)
        try:
            number = float(obj)
        except (OverflowError, ValueError) as error:
            raise _Bad(f"not an array of numbers: a {kind.__name__} that is not a float64 ({error})") from None
        if number in (float("inf"), float("-inf")) and not (kind is Decimal and obj.is_infinite()):
            raise _Bad(f"not an array of numbers: a {kind.__name__} too large for float64")
        return np.array(number)
    if obj is None:
        raise _Bad("not an array of numbers: None")
    if kind is complex or issubclass(kind, np.complexfloating):
        raise _Bad("not an array of numbers: a complex number")
    if issubclass(kind, (str, bytes, bytearray, np.str_, np.bytes_)):
        raise _Bad("not an array of numbers: a string")
    if issubclass(kind, dict):
        raise _Bad("not an array of numbers: a dict (return one array per key, not nested dicts)")
    name = type_name(obj)
    raise _Bad(f"not an array of numbers: {'an' if name[:1].lower() in 'aeiou' else 'a'} {name}")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"…({len(text):,} characters)"


def read_returned(returned, budget: Budget) -> tuple[dict, dict]:
    """The student's returned dict as ``(values, bad_values)``: ``values`` maps each key
    to a float64 array, ``bad_values`` maps each key not read to why. Keys are read with
    ``dict``'s own methods (a subclass's ``items``, ``__getitem__`` or ``__iter__`` is not
    called), at most ``MAX_KEYS_PER_CALL`` of them; the rest are one ``MORE_KEYS`` entry.
    A key that is not a string, longer than ``MAX_KEY_CHARS``, or the same as another
    after that, is a bad value. Raises ``TypeError`` when ``returned`` is not a dict."""
    if not isinstance(returned, dict) or not issubclass(type(returned), dict):
        raise TypeError(type_name(returned))
    values, bad = {}, {}
    count = dict.__len__(returned)
    for number, (key, value) in enumerate(itertools.islice(dict.items(returned), MAX_KEYS_PER_CALL)):
        if budget.text <= 0:
            values.pop(MORE_KEYS, None)
            bad[MORE_KEYS] = f"not read: the run's result is limited to {MAX_TEXT_PER_RUN:,} characters of text"
            break
        reason = None
        if issubclass(type(key), str):
            name = str.__str__(key)
            if len(name) > MAX_KEY_CHARS:
                name, reason = _short(name, MAX_KEY_CHARS), f"a key longer than {MAX_KEY_CHARS} characters"
        else:
            name, reason = f"<key {number} of type {type_name(key)}>", "not read: a key that is not a string"
        if name in values or name in bad:
            values.pop(name, None)
            reason = "two returned keys have this name"
        if reason is None:
            try:
                values[name] = to_float_array(value, budget)
            except _Bad as error:
                reason = str(error)
            except (MemoryError, RecursionError):
                raise
            except Exception as error:  # noqa: BLE001 - whatever NumPy makes of it, it is the value's fault
                reason = f"not an array of numbers: could not be read ({type_name(error)})"
        if reason is not None:
            bad[name] = _short(reason, MAX_REASON_CHARS)
        budget.text -= len(name) + len(bad.get(name, ""))
    if count > MAX_KEYS_PER_CALL and MORE_KEYS not in bad:
        values.pop(MORE_KEYS, None)
        bad[MORE_KEYS] = f"not read: {count:,} keys returned, only the first {MAX_KEYS_PER_CALL} are read"
    return values, bad


# ------------------------------------------------------------- describing exceptions

class _Deadline(BaseException):
    pass


def _text_of(error, seconds: float = 1.0) -> str:
    """``str(error)``, capped, with at most ``seconds`` to compute it (the student's
    ``__str__`` may loop); a placeholder when it fails."""
    def expire(signum, frame):
        raise _Deadline
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        text = str.__str__(str(error))
    except _Deadline:
        text = "<its message took too long to compute>"
    except BaseException as inner:  # noqa: BLE001 - a broken __str__ is the student's
        text = f"<its message could not be computed: {type_name(inner)}>"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return _short(text, MAX_MESSAGE_CHARS)


def describe_exception(error: BaseException, student_file: str, source_lines: list[str]) -> dict:
    """``{"message", "line", "source"}`` for an exception raised by the student's code:
    ``"TypeName: message"``, and the innermost line of ``student_file`` it came through
    (for a SyntaxError in that file, the line of the error) with its text from
    ``source_lines`` (the file as it was copied, not as the code may have rewritten it)."""
    name, text = type_name(error), _text_of(error)
    line = None
    if issubclass(type(error), SyntaxError):
        try:
            if SyntaxError.filename.__get__(error) == student_file:
                line = SyntaxError.lineno.__get__(error)
        except BaseException:  # noqa: BLE001
            line = None
    if line is None:
        traceback = BaseException.__traceback__.__get__(error)
        while traceback is not None:
            if traceback.tb_frame.f_code.co_filename == student_file:
                line = traceback.tb_lineno
            traceback = traceback.tb_next
    if type(line) is not int or not 1 <= line <= len(source_lines):
        line = None
    source = _short(source_lines[line - 1].strip(), MAX_MESSAGE_CHARS) if line else None
    return {"message": f"{name}: {text}" if text else name, "line": line, "source": source or None}


# ------------------------------------------------------------------------- the worker

def _is_memory_error(error: BaseException) -> bool:
    return issubclass(type(error), MemoryError)


def _set_limits(limits: dict) -> None:
    """The limits of the worker's whole life (CPU time is limited per batch: ``_limit_cpu``)."""
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file in the student's folder
    if limits.get("processes") is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)


def _limit_cpu(seconds: int) -> None:
    """RLIMIT_CPU for the next batch: ``seconds`` more than this process has used so far
    (SIGXCPU when reached). Only the soft limit moves: the hard one could not be raised
    again for the next batch, so it stays as inherited (the wall-clock limit still holds)."""
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime) + int(seconds)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _load_module(path: str):
    import importlib.util
    stem = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(f"student_{stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {os.path.basename(path)} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would: dataclasses and pickle look it up
    spec.loader.exec_module(module)
    return module


def _find_function(module, function: str, file_name: str):
    """The callable, or the ``missing_function`` message."""
    try:
        target = getattr(module, function, None)
    except BaseException as error:  # noqa: BLE001 - a module __getattr__ of the student's
        return None, f"{file_name}: looking up {function!r} raised {type_name(error)}"
    if callable(target):
        return target, None
    found = []
    for name, value in itertools.islice(dict.items(vars(module)), 10_000):
        try:
            if (issubclass(type(name), str) and callable(value) and not name.startswith("_")
                    and getattr(value, "__module__", None) == module.__name__):
                found.append(str.__str__(name))
        except BaseException:  # noqa: BLE001
            continue
    listed = ", ".join(sorted(found)[:20])
    message = f"{file_name} has no function {function!r}" + (f" (it defines {listed})" if listed else "")
    return None, _short(message, MAX_MESSAGE_CHARS)


def make_call(target, function: str, call: dict, student_file: str, source_lines: list[str],
              budget: Budget) -> dict:
    """One call of ``target`` on fresh copies of the encoded ``call``: the call's entry
    of the payload. Raises only MemoryError (the run's ``memory_limit``)."""
    result = {"status": "ok", "message": "", "line": None, "source": None, "values": {},
              "bad_values": {}, "seconds": 0.0}
    params = {name: decode_array(value) for name, value in call["params"].items()}
    x, y = decode_array(call["x"]), decode_array(call["y"])
    start = _monotonic()
    try:
        returned = target(params, x, y)
    except BaseException as error:  # the student's exception is the call's verdict
        if _is_memory_error(error):
            raise
        result["seconds"] = _monotonic() - start
        return {**result, "status": "exception", **describe_exception(error, student_file, source_lines)}
    result["seconds"] = _monotonic() - start
    try:
        result["values"], result["bad_values"] = read_returned(returned, budget)
    except TypeError as error:
        return {**result, "status": "bad_return",
                "message": f"{function} returned a {error}, expected a dict of gradients keyed by name "
                           "('dL/dW1', 'dL/db1', ...)"}
    except RuntimeError as error:  # a thread of the student's changed the dict while it was read
        return {**result, "status": "bad_return", "message": f"the returned dict could not be read ({error})"}
    result["values"] = {key: _encode_float64(array) for key, array in result["values"].items()}
    return result


def _encode_float64(array) -> dict:
    encoded = encode_array(array)
    return {"shape": encoded["shape"], "data": encoded["data"]}


def encode_payload(payload: dict) -> bytes:
    """The payload as the worker sends it: ASCII JSON (lone surrogates of the student's
    texts escaped), no NaN constants."""
    return _dumps(payload, ensure_ascii=True, allow_nan=False).encode("ascii")


def read_source_lines(path: str) -> list[str]:
    """The file's lines as Python numbers them: split at ``\n``, ``\r\n`` and ``\r`` only
    (``str.splitlines`` would also split at a form feed or U+2028 and shift the numbers)."""
    with open(path, "rb") as handle:
        text = handle.read().decode("utf-8", "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def payload_of(status: str, message: str = "", line: int | None = None, source: str | None = None,
               calls: list | None = None) -> dict:
    """A payload as documented above."""
    return {"status": status, "message": message, "line": line, "source": source, "calls": calls or []}


class Submission:
    """The student's file, imported once in the worker, and its function, called batch
    after batch: the module's state carries over from one batch to the next."""

    def __init__(self, request: dict):
        """Import ``request["submission"]`` and look up ``request["function"]``; when that
        fails, ``failure`` is the payload every batch gets. Raises only for the grader's
        own failures."""
        self.file, self.function = request["submission"], request["function"]
        self.source_lines = read_source_lines(self.file)
        self.cushion = bytearray(_CUSHION_BYTES)  # freed on MemoryError, to report it
        self.target, self.failure = None, None
        try:
            module = _load_module(self.file)
        except BaseException as error:  # SyntaxError, ImportError, SystemExit at import, ...
            self.cushion = None
            status = "memory_limit" if _is_memory_error(error) else "import_error"
            self.failure = payload_of(status, **describe_exception(error, self.file, self.source_lines))
            return
        self.target, missing = _find_function(module, self.function, os.path.basename(self.file))
        if self.target is None:
            self.failure = payload_of("missing_function", missing)

    def run_batch(self, calls: list) -> dict:
        """Every call of one batch, each on fresh inputs: the batch's payload (a batch has
        the caps of ``Budget`` of its own). Raises only for the grader's own failures."""
        if self.failure is not None:
            return self.failure
        budget, results = Budget(), []
        try:
            for call in calls:
                results.append(make_call(self.target, self.function, call, self.file, self.source_lines, budget))
        except BaseException as error:
            if not _is_memory_error(error):
                raise
            self.cushion = results = None
            return payload_of("memory_limit", **describe_exception(error, self.file, self.source_lines))
        return payload_of("ok", calls=results)


def read_request(fd: int) -> dict:
    """The request in the file ``fd``, read from its start."""
    chunks, offset = [], 0
    while chunk := _pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return _loads(b"".join(chunks))


def _prepare_worker(request: dict) -> int:
    """Everything before the student's code: stdin on /dev/null (the request file kept on
    the fd returned), NumPy imported, the import path reduced to the private folder and
    the standard library, the limits."""
    requests = os.dup(0)  # not inherited by what the student's code executes
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.set_inheritable(request["go_fd"], False)
    sys.path.insert(0, request["numpy_path"])
    import numpy  # noqa: F401 - imported once, by the grader, before any student code
    sys.path.remove(request["numpy_path"])
    folder = os.path.dirname(request["submission"])
    sys.path.insert(0, folder)
    os.chdir(folder)
    sys.argv = [request["submission"]]
    sys.stdout.reconfigure(line_buffering=True)  # printed lines keep their order with stderr's
    sys.dont_write_bytecode = True
    import site
    site.setquit()  # exit() and quit(), which -S leaves out
    _set_limits(request["limits"])
    return requests


def _send(write_fd: int, payload: dict) -> None:
    """The batch's printed output flushed, then its payload and a newline on ``write_fd``."""
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001
            pass
    view = memoryview(encode_payload(payload) + b"\n")
    while view:
        view = view[_write(write_fd, view):]


def _next_batch(go_fd: int) -> bool:
    """Wait for the parent's byte on ``go_fd``: False at EOF, or when the student's code
    closed or broke the pipe (the worker then leaves as at the end of the session)."""
    try:
        return bool(_read(go_fd, 1))
    except OSError:
        return False


def worker(request: dict, write_fd: int) -> None:
    """The worker process: answers each byte on ``go_fd`` with a batch's payload on
    ``write_fd``, until EOF on ``go_fd``; never returns."""
    submission, failure = None, None
    try:
        requests = _prepare_worker(request)
    except BaseException as error:  # noqa: BLE001 - the grader's own setup failed
        failure = payload_of("crashed", f"the grading child could not start: {type_name(error)}: "
                             f"{_short(str(error), 500)}")
    while _next_batch(request["go_fd"]):
        try:
            if failure is None:
                _limit_cpu(request["limits"]["cpu_seconds"])
                if submission is None:  # the import counts in the first batch's time
                    submission = Submission(request)
                calls = read_request(requests)["calls"]
            _send(write_fd, failure or submission.run_batch(calls))
        except BaseException:  # noqa: BLE001
            _exit(_EXIT_INTERNAL)
    _exit(0)


# --------------------------------------------------------------------- the supervisor

class _Terminate(BaseException):
    pass


def _prctl(option: int, value: int) -> bool:
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux
        return False


def process_parents() -> dict[int, int]:
    """``{pid: parent pid}`` of every process this one can see in /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    stat = handle.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2:].split()
            parents[int(entry)] = int(fields[1])
    return parents


def kill_descendants(seconds: float = 5.0) -> dict[int, int]:
    """SIGKILL every descendant of this process, round after round (a process killed
    leaves its children to this subreaper), reaping those that are its own children, until
    none is left or ``seconds`` have passed. Returns ``{pid: wait status}`` of the reaped."""
    me, reaped, deadline = os.getpid(), {}, _monotonic() + seconds
    while _monotonic() < deadline:
        parents = process_parents()
        children: dict[int, list[int]] = {}
        for pid, parent in parents.items():
            children.setdefault(parent, []).append(pid)
        descendants, frontier = [], list(children.get(me, []))
        while frontier:
            pid = frontier.pop()
            descendants.append(pid)
            frontier.extend(children.get(pid, []))
        if not descendants:
            break
        for pid in descendants:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in children.get(me, []):
            try:
                reaped[pid] = os.waitpid(pid, 0)[1]
            except ChildProcessError:
                pass
    return reaped


class _Lines:
    """The worker's payloads from the pipe ``read_fd``, one a batch, each ended by a newline
    (a payload is ASCII JSON: it holds none). Reads until a newline or the worker's exit,
    never until EOF: a process the student left behind may hold the pipe open. Raises
    ``_Terminate`` when ``go_fd`` hangs up: the parent, which holds its only write end,
    closed the session or died (a signal could not say so: the parent-death signal is
    cleared by the change of uid, and bwrap, without capabilities, could not send it)."""

    def __init__(self, read_fd: int, worker_pid: int, go_fd: int):
        os.set_blocking(read_fd, False)
        self.read_fd, self.worker_pid, self.go_fd = read_fd, worker_pid, go_fd
        self.pending, self.status, self.eof, self.drained = bytearray(), None, False, False
        try:
            self.exit_fd = os.pidfd_open(worker_pid)
        except (AttributeError, OSError):
            self.exit_fd = None
        self.poller = select.poll()
        self.poller.register(read_fd, select.POLLIN)
        if self.exit_fd is not None:
            self.poller.register(self.exit_fd, select.POLLIN)
        self.poller.register(go_fd, 0)  # POLLHUP only: the worker reads it, not this process

    def next(self) -> tuple[bytes, bool, int | None]:
        """``(payload, cut, None)`` for the next line (at most ``MAX_PAYLOAD_BYTES`` of it
        kept, ``cut`` when more came), or, once the worker has exited and no newline is
        left, ``(what came after the last newline, cut, the worker's wait status)``."""
        data, cut = bytearray(), False
        while True:
            end = self.pending.find(b"\n")
            piece = self.pending[:end] if end >= 0 else bytes(self.pending)
            del self.pending[:len(piece) + (end >= 0)]
            if len(data) + len(piece) > MAX_PAYLOAD_BYTES:
                cut = True
            else:
                data += piece
            if end >= 0:
                return bytes(data), cut, None
            if self.drained:
                return bytes(data), cut, self.status
            self._read()

    def _read(self) -> None:
        """Wait for more of the pipe or for the worker's exit; after the exit, read what is
        left in the pipe, a piece per call."""
        if self.status is None:
            if dict(self.poller.poll(None if self.exit_fd is not None else 10)).get(self.go_fd):
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                raise _Terminate
            pid, status = os.waitpid(self.worker_pid, os.WNOHANG)
            if pid:
                self.status = status
        chunk = b""
        if not self.eof:
            try:
                chunk = os.read(self.read_fd, 1 << 20)
            except BlockingIOError:
                chunk = None
            if chunk == b"":  # every writer closed it: poll would report that again and again
                self.eof = True
                self.poller.unregister(self.read_fd)
        self.pending += chunk or b""
        self.drained = self.status is not None and not chunk


def _report(result_fd: int, notify_fd: int, header: dict, payload: bytes) -> None:
    """Write the header line and ``payload`` into the result file, then a byte to
    ``notify_fd``, on which the parent waits; but only into an empty file. The parent
    empties it as it starts a batch, so the batch's result is the first line the worker
    wrote after that: a line the student's code wrote before the worker's own cannot be
    replaced by it, and what comes after a batch's result is dropped."""
    data = _dumps(header).encode("ascii") + b"\n" + payload
    try:
        if os.fstat(result_fd).st_size:
            return
        written = 0
        while written < len(data):
            written += os.pwrite(result_fd, data[written:], written)
        _write(notify_fd, b".")
    except OSError:  # the parent is gone
        pass


def _header(status: int | None, payload: bytes, cut: bool, terminated: bool = False, leftovers: int = 0) -> dict:
    """The header line for ``payload``; ``status``: the worker's wait status, None while it runs."""
    exited, signalled = status is not None and os.WIFEXITED(status), status is not None and os.WIFSIGNALED(status)
    return {"worker_exit": os.waitstatus_to_exitcode(status) if exited else None,
            "worker_signal": os.WTERMSIG(status) if signalled else None,
            "payload_bytes": len(payload), "payload_truncated": cut, "terminated": terminated,
            "leftovers_killed": leftovers}


def _drop_privileges(run_as) -> None:
    if run_as:
        uid, gid = run_as
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)


def supervise(request: dict) -> None:
    """The supervisor process (see the module docstring): never returns."""
    result_fd, notify_fd = request["result_fd"], request["notify_fd"]
    _drop_privileges(request.get("run_as"))  # first: a change of uid clears PR_SET_PDEATHSIG
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    if request.get("parent_pid") is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != request["parent_pid"]:  # the parent died before the line above
            _exit(0)

    def terminate(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # at most once
        raise _Terminate
    rest, cut, status, terminated, worker_pid = b"", False, None, False, None
    try:
        signal.signal(signal.SIGTERM, terminate)
        read_fd, write_fd = os.pipe()
        worker_pid = os.fork()
        if worker_pid == 0:
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                for fd in (read_fd, result_fd, notify_fd):
                    os.close(fd)
                worker(request, write_fd)
            finally:
                _exit(_EXIT_INTERNAL)
        os.close(write_fd)
        lines = _Lines(read_fd, worker_pid, request["go_fd"])
        while status is None:
            rest, cut, status = lines.next()
            if status is None:  # a batch's payload; the worker runs on
                _report(result_fd, notify_fd, _header(None, rest, cut), rest)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except _Terminate:
        rest, cut, terminated = b"", False, True
    reaped = kill_descendants()
    if status is None:
        status = reaped.get(worker_pid)
    leftovers = len([pid for pid in reaped if pid != worker_pid])
    _report(result_fd, notify_fd, _header(status, rest, cut, terminated, leftovers), rest)
    _exit(0)


def main() -> None:
    """Read the request from stdin and supervise the worker."""
    supervise(read_request(0))


if __name__ == "__main__":
    main()
