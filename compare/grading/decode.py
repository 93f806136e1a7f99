"""Reading the child's result strictly (parent side).

The result file holds the supervisor's header line and the worker's payload for one
batch (formats in ``compare.grading.child``). The student's code runs in the worker's process and can
write anything to the channel, so everything is checked: valid ASCII JSON without NaN
constants or repeated keys, exactly the documented keys and types, text within the caps,
arrays whose base64 data has exactly ``8 * size`` bytes, sizes within the caps, one call
result per call. Any violation raises ``BadResult`` (a ``ValueError``) naming it, which
the runner reports as ``no_result``; nothing else is raised for any input. Texts the
student controls (messages, keys, source lines, reasons) come back escaped
(``escape_untrusted``).
"""
import base64
import binascii
import json
import math
from dataclasses import dataclass

import numpy as np

from compare.grading import child
from compare.grading.escape import escape_untrusted

MAX_HEADER_BYTES = 4096
# Longest texts the child writes: the cap plus the "…(N characters)" it appends.
_KEY_LIMIT = child.MAX_KEY_CHARS + 40
_MESSAGE_LIMIT = child.MAX_MESSAGE_CHARS + 200
_REASON_LIMIT = child.MAX_REASON_CHARS + 40


class BadResult(ValueError):
    """The child's result is garbled, partial or violates the schema."""


@dataclass(frozen=True)
class Header:
    """The supervisor's line: how the worker ended and what it sent."""
    worker_exit: int | None
    worker_signal: int | None
    payload_bytes: int
    payload_truncated: bool
    terminated: bool
    leftovers_killed: int

    @property
    def serving(self) -> bool:
        """Whether the worker still runs (it sent a batch's payload and waits for the next)."""
        return self.worker_exit is None and self.worker_signal is None and not self.terminated


def split_result(raw: bytes) -> tuple[Header, bytes]:
    """The header and the payload bytes of a result file. Raises ``BadResult``."""
    line, newline, payload = raw.partition(b"\n")
    if not newline or len(line) > MAX_HEADER_BYTES:
        raise BadResult("no header line")
    data = _loads(line, "header")
    _keys(data, {"worker_exit", "worker_signal", "payload_bytes", "payload_truncated", "terminated",
                 "leftovers_killed"}, "header")
    header = Header(_int_or_none(data["worker_exit"], "worker_exit", -255, 255),
                    _int_or_none(data["worker_signal"], "worker_signal", 1, 128),
                    _int(data["payload_bytes"], "payload_bytes", 0, child.MAX_PAYLOAD_BYTES),
                    _bool(data["payload_truncated"], "payload_truncated"), _bool(data["terminated"], "terminated"),
                    _int(data["leftovers_killed"], "leftovers_killed", 0, 1 << 31))
    if header.payload_bytes != len(payload):
        raise BadResult(f"the header announces {header.payload_bytes} payload bytes, {len(payload)} came")
    return header, payload


def decode_payload(payload: bytes, n_calls: int) -> dict:
    """The worker's payload, checked, with texts escaped and arrays decoded:
    ``{"status", "message", "line", "source", "calls": [{"status", "message", "line",
    "source", "values": {key: float64 array}, "bad_values": {key: reason}, "seconds"}]}``.
    ``calls`` has ``n_calls`` entries when ``status`` is ``"ok"``, none otherwise.
    Raises ``BadResult``."""
    data = _loads(payload, "payload")
    _keys(data, {"status", "message", "line", "source", "calls"}, "payload")
    out = {"status": _choice(data["status"], child.RUN_STATUSES, "status"), **_where(data, "payload")}
    calls = data["calls"]
    if type(calls) is not list:
        raise BadResult("payload.calls is not a list")
    expected = n_calls if out["status"] == "ok" else 0
    if len(calls) != expected:
        raise BadResult(f"payload.calls has {len(calls)} entries, expected {expected}")
    budget = [child.MAX_ELEMENTS_PER_RUN]
    out["calls"] = [_call(call, f"calls[{i}]", budget) for i, call in enumerate(calls)]
    return out


def _call(data, where: str, budget: list) -> dict:
    _keys(data, {"status", "message", "line", "source", "values", "bad_values", "seconds"}, where)
    out = {"status": _choice(data["status"], child.CALL_STATUSES, f"{where}.status"), **_where(data, where)}
    seconds = data["seconds"]
    if type(seconds) not in (int, float) or not math.isfinite(seconds) or seconds < 0:
        raise BadResult(f"{where}.seconds is not a time")
    out["seconds"] = float(seconds)
    values, bad = data["values"], data["bad_values"]
    if type(values) is not dict or type(bad) is not dict:
        raise BadResult(f"{where}.values or .bad_values is not an object")
    if len(values) + len(bad) > child.MAX_KEYS_PER_CALL + 1:
        raise BadResult(f"{where} has more than {child.MAX_KEYS_PER_CALL + 1} keys")
    if set(values) & set(bad):
        raise BadResult(f"{where}: a key is both a value and a bad value")
    out["values"] = {_text(key, _KEY_LIMIT, f"{where} key"): _array(value, f"{where}.values", budget)
                     for key, value in values.items()}
    out["bad_values"] = {_text(key, _KEY_LIMIT, f"{where} key"): _text(reason, _REASON_LIMIT, f"{where} reason")
                         for key, reason in bad.items()}
    return out


def _array(data, where: str, budget: list) -> np.ndarray:
    _keys(data, {"shape", "data"}, where)
    shape = data["shape"]
    if type(shape) is not list or len(shape) > child.MAX_DEPTH + 1:
        raise BadResult(f"{where}: shape is not a list of at most {child.MAX_DEPTH + 1} sizes")
    dims = [_int(n, f"{where} shape", 0, child.MAX_ELEMENTS_PER_VALUE) for n in shape]
    size = math.prod(dims)
    if size > child.MAX_ELEMENTS_PER_VALUE or size > budget[0]:
        raise BadResult(f"{where}: {size} numbers, more than the caps allow")
    budget[0] -= size
    text = data["data"]
    if type(text) is not str or len(text) != 4 * math.ceil(8 * size / 3):
        raise BadResult(f"{where}: data is not {size} float64 numbers in base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadResult(f"{where}: data is not base64") from None
    if len(raw) != 8 * size:
        raise BadResult(f"{where}: data has {len(raw)} bytes, expected {8 * size}")
    return np.frombuffer(raw, dtype="<f8").astype(np.float64).reshape(dims)


def _where(data: dict, where: str) -> dict:
    line = _int_or_none(data["line"], f"{where}.line", 1, 1 << 31)
    source = data["source"]
    return {"message": _text(data["message"], _MESSAGE_LIMIT, f"{where}.message"), "line": line,
            "source": None if source is None else _text(source, _MESSAGE_LIMIT, f"{where}.source")}


def _loads(raw: bytes, where: str):
    def unique(pairs):
        keys = [key for key, _ in pairs]
        if len(set(keys)) != len(keys):
            raise BadResult(f"{where}: a key appears twice")
        return dict(pairs)

    def no_constant(name):
        raise BadResult(f"{where}: {name} is not JSON")
    try:
        return json.loads(raw.decode("ascii"), object_pairs_hook=unique, parse_constant=no_constant)
    except BadResult:
        raise
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadResult(f"{where} is not valid JSON ({type(error).__name__})") from None


def _keys(data, keys: set, where: str) -> None:
    if type(data) is not dict or set(data) != keys:
        found = sorted(data)[:8] if type(data) is dict else type(data).__name__
        raise BadResult(f"{where} does not have exactly the keys {sorted(keys)} (found {found})")


def _choice(value, choices: tuple, where: str) -> str:
    if type(value) is not str or value not in choices:
        raise BadResult(f"{where} is not one of {', '.join(choices)}")
    return value


def _text(value, limit: int, where: str) -> str:
    if type(value) is not str or len(value) > limit:
        raise BadResult(f"{where} is not a text of at most {limit} characters")
    return escape_untrusted(value)


def _int(value, where: str, low: int, high: int) -> int:
    if type(value) is not int or not low <= value <= high:
        raise BadResult(f"{where} is not an integer from {low} to {high}")
    return value


def _int_or_none(value, where: str, low: int, high: int) -> int | None:
    return None if value is None else _int(value, where, low, high)


def _bool(value, where: str) -> bool:
    if type(value) is not bool:
        raise BadResult(f"{where} is not true or false")
    return value
