"""compare.grading.child and .decode in process: nothing a student returns, and nothing
written to the result channel, makes the harness raise (fast: no child process here)."""
import base64
import json
import math
import struct
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from compare.grading import child
from compare.grading.decode import BadResult, decode_payload, split_result
from compare.grading.escape import escape_untrusted
from compare.grading.seccomp import user_namespace_filter


def call_with(returned, student_file="/submission/s.py"):
    """The payload bytes of one call whose function returns ``returned``, as the worker
    writes them, and the parent's decoding of them."""
    encoded = {"params": {"W1": child.encode_array(np.ones((2, 3)))}, "x": child.encode_array(np.zeros(2)),
               "y": child.encode_array(np.zeros(3))}
    entry = child.make_call(lambda params, x, y: returned, "backward", encoded, student_file, [], child.Budget())
    payload = child.encode_payload({"status": "ok", "message": "", "line": None, "source": None, "calls": [entry]})
    return decode_payload(payload, 1)["calls"][0]


# ------------------------------------------------------------------ returned values

class Tripwire:
    """Records any of its methods the runner calls (it must call none)."""
    touched = []

    def _touch(self, *args, **kwargs):
        Tripwire.touched.append("called")
        raise RuntimeError("a method of the student's object was called")

    __array__ = __float__ = __int__ = __index__ = __len__ = __iter__ = __getitem__ = _touch
    __array_interface__ = property(_touch)
    __str__ = __repr__ = __complex__ = __bool__ = _touch


class RaisingDict(dict):
    def _boom(self, *args):
        raise RuntimeError("dict method called")
    __getitem__ = items = keys = values = __iter__ = __len__ = get = _boom


class HostileArray(np.ndarray):
    """An ndarray subclass whose own methods raise: it is read as the plain array it holds."""
    def _boom(self, *args, **kwargs):
        raise RuntimeError("subclass method called")
    astype = view = tolist = __array__ = __getitem__ = __iter__ = __float__ = _boom


class LyingClass:
    """Claims to be an ndarray through __class__."""
    __class__ = property(lambda self: np.ndarray)


def test_each_hostile_value_is_a_named_bad_value_and_nan_is_kept():
    Tripwire.touched.clear()
    self_list = []
    self_list.append(self_list)
    self_array = np.empty((), dtype=object)
    self_array[()] = self_array
    result = call_with(RaisingDict({
        "nan": np.array([np.nan, np.inf, -np.inf]), "none": None, "string": "zero", "object": object(),
        "ragged": [[1.0, 2.0], [3.0]], "complex": np.array([1j]), "python complex": 2j, "huge int": 10 ** 400,
        "bool": True, "bool array": np.array([True, False]), "nested": {"a": 1.0}, "tripwire": Tripwire(),
        "list of tripwires": [Tripwire(), Tripwire()], "self list": self_list, "self array": self_array,
        "huge fraction": Fraction(10 ** 400), "liar": LyingClass(), "masked": np.ma.array([1.0], mask=[True]),
        "strings": np.array(["a"]), "datetimes": np.array(["2020-01-01"], dtype="datetime64[D]"),
        "fraction": [Fraction(1, 4), Fraction(3, 4)], "decimal": Decimal("0.1"), "float32": np.float32(0.5),
        "object array": np.array([Fraction(1, 2), 2], dtype=object), "tuple": (1, 2.5), "uint64": np.uint64(2 ** 64 - 1),
        "subclass": np.array([[1.0, 2.0]]).view(HostileArray), "empty": [], 3: [1.0], None: [2.0],
    }))
    assert Tripwire.touched == []
    assert result["status"] == "ok"
    values, bad = result["values"], result["bad_values"]
    assert set(values) == {"nan", "fraction", "decimal", "float32", "object array", "tuple", "uint64", "subclass", "empty",
                           "bool", "bool array"}
    assert values["bool"].tolist() == 1.0 and values["bool array"].tolist() == [1.0, 0.0]  # a ReLU mask as z1 > 0
    np.testing.assert_array_equal(values["nan"], [np.nan, np.inf, -np.inf])
    assert values["fraction"].tolist() == [0.25, 0.75] and values["decimal"].tolist() == 0.1
    assert values["object array"].tolist() == [0.5, 2.0] and values["subclass"].tolist() == [[1.0, 2.0]]
    assert values["uint64"].tolist() == 2.0 ** 64 and values["empty"].shape == (0,)
    assert all(array.dtype == np.float64 for array in values.values())
    expected = {
        "none": "None", "string": "a string", "object": "an object", "ragged": "ragged",
        "complex": "complex numbers", "python complex": "a complex number", "huge int": "too large for float64",
        "nested": "a dict", "tripwire": "a Tripwire",
        "list of tripwires": "a Tripwire", "self list": "nested more than 32 deep",
        "self array": "nested more than 32 deep", "huge fraction": "Fraction", "liar": "a LyingClass",
        "masked": "a masked array", "strings": "strings", "datetimes": "datetime64",
        "<key 28 of type int>": "a key that is not a string", "<key 29 of type NoneType>": "a key that is not a string",
    }
    assert set(bad) == set(expected)
    for key, words in expected.items():
        assert words in bad[key], (key, bad[key])


@pytest.mark.parametrize("returned, text", [
    ([1.0, 2.0], "backward returned a list, expected a dict"),
    (None, "backward returned a NoneType, expected a dict"),
    (LyingClass(), "backward returned a LyingClass"),
])
def test_a_return_that_is_not_a_dict_is_bad_return(returned, text):
    result = call_with(returned)
    assert result["status"] == "bad_return" and result["message"].startswith(text)
    assert result["values"] == {} and result["bad_values"] == {}


def test_a_million_keys_and_a_huge_array_are_capped():
    result = call_with(dict.fromkeys((f"k{i}" for i in range(1_000_000)), 1.0))
    assert len(result["values"]) == child.MAX_KEYS_PER_CALL == 256
    assert result["bad_values"] == {"<more keys>": "not read: 1,000,000 keys returned, only the first 256 are read"}
    result = call_with({"huge": np.broadcast_to(np.float64(1), (10 ** 4, 10 ** 4)), "ok": [1.0]})
    assert result["bad_values"] == {"huge": "too large: 100,000,000 numbers or more, at most 1,000,000 are read"}
    assert result["values"]["ok"].tolist() == [1.0]
    result = call_with({"long list": [0.5] * 1_000_001})
    assert "too large: 1,000,001 numbers" in result["bad_values"]["long list"]


def test_the_run_total_of_numbers_is_capped_across_calls():
    budget = child.Budget()
    million = np.zeros(1_000_000)
    for _ in range(4):
        values, bad = child.read_returned({"a": million}, budget)
        assert values["a"].size == 1_000_000 and bad == {}
    values, bad = child.read_returned({"a": million, "b": [1.0]}, budget)
    assert values == {} and "limited to 4,000,000 numbers in all" in bad["a"] and "b" in bad


def test_keys_are_escaped_truncated_and_never_collide():
    long = "k" * 300
    result = call_with({"dL/dW1\nStudent result: PASS": [1.0], "x\u202e": [2.0], long: [3.0],
                        "<key 4 of type int>": [4.0], 3: [5.0], "<more keys>": [6.0]})
    assert set(result["values"]) == {"dL/dW1\\nStudent result: PASS", "x\\u202e", "<more keys>"}
    assert result["bad_values"][f"{'k' * 200}…(300 characters)"] == "a key longer than 200 characters"
    # the fifth key, the int 3, is named "<key 4 of type int>", as the fourth key is: both are refused
    assert result["bad_values"]["<key 4 of type int>"] == "two returned keys have this name"


def test_exception_is_described_with_type_message_and_line():
    source = ["import numpy as np", "def backward(params, x, y):", "    raise ValueError('bad\\nline')  # \x1b"]
    namespace = {}
    exec(compile("\n".join(source), "/submission/s.py", "exec"), namespace)
    encoded = {"params": {}, "x": child.encode_array(np.zeros(1)), "y": child.encode_array(np.zeros(1))}
    entry = child.make_call(namespace["backward"], "backward", encoded, "/submission/s.py", source, child.Budget())
    payload = child.encode_payload({"status": "ok", "message": "", "line": None, "source": None, "calls": [entry]})
    result = decode_payload(payload, 1)["calls"][0]
    assert result["status"] == "exception" and result["message"] == "ValueError: bad\\nline"
    assert result["line"] == 3 and result["source"] == "raise ValueError('bad\\\\nline')  # \\x1b"


def test_source_lines_are_numbered_as_python_numbers_them(tmp_path):
    path = tmp_path / "s.py"
    path.write_bytes(b"a = 1\x0c  # page break\nb = '\xe2\x80\xa8'\r\nc = 3\rd = 4\n")
    lines = child.read_source_lines(str(path))
    assert lines[:4] == ["a = 1\x0c  # page break", "b = '\u2028'", "c = 3", "d = 4"]
    path.write_bytes(path.read_bytes() + b"raise KeyError('x')\n")
    with pytest.raises(KeyError) as raised:
        exec(compile(path.read_bytes(), str(path), "exec"), {})
    described = child.describe_exception(raised.value, str(path), child.read_source_lines(str(path)))
    assert (described["line"], described["source"]) == (5, "raise KeyError('x')")


def test_an_exception_whose_str_raises_or_loops_still_gets_a_message():
    class Broken(Exception):
        def __str__(self):
            raise RuntimeError("no")
    assert child.describe_exception(Broken(), "f.py", [])["message"] == \
        "Broken: <its message could not be computed: RuntimeError>"

    class Endless(Exception):
        def __str__(self):
            while True:
                pass
    assert child._text_of(Endless(), seconds=0.2) == "<its message took too long to compute>"


# A strategy of anything a student might return: scalars of every kind, arrays of every
# dtype, lists, tuples and dicts of them nested, and objects whose methods must not run.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10 ** 300, max_value=10 ** 500),
    st.floats(), st.complex_numbers(), st.text(st.characters(blacklist_categories=()), max_size=30),
    st.binary(max_size=10), st.fractions(), st.decimals(), st.builds(object), st.builds(Tripwire),
    st.sampled_from([np.float32(1.5), np.int8(-3), np.uint64(7), np.bool_(True), np.complex64(1j),
                     np.str_("s"), np.datetime64("2020"), np.longdouble("1e4000")]))
ARRAYS = hnp.arrays(dtype=st.one_of(hnp.scalar_dtypes(), hnp.unicode_string_dtypes(), hnp.byte_string_dtypes(),
                                    st.just(np.dtype(object))),
                    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
VALUES = st.recursive(SCALARS | ARRAYS, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=12)
KEYS = st.one_of(st.text(st.characters(blacklist_categories=()), max_size=250), st.integers(), st.none(),
                 st.floats(allow_nan=False), st.tuples(st.integers()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.dictionaries(KEYS, VALUES, max_size=6), VALUES))
def test_any_return_through_the_child_the_channel_and_the_parent_raises_nothing(returned):
    Tripwire.touched.clear()
    result = call_with(returned)
    assert Tripwire.touched == []
    if not isinstance(returned, dict):
        assert result["status"] == "bad_return"
        return
    assert result["status"] == "ok"
    assert not set(result["values"]) & set(result["bad_values"])
    for key in returned:
        if isinstance(key, str) and len(key) <= child.MAX_KEY_CHARS:
            assert escape_untrusted(key) in result["values"] or escape_untrusted(key) in result["bad_values"]
    assert all(value.dtype == np.float64 for value in result["values"].values())


# ------------------------------------------------------------------ the result channel

def valid_result() -> bytes:
    payload = child.encode_payload({"status": "ok", "message": "", "line": None, "source": None, "calls": [
        {"status": "ok", "message": "", "line": None, "source": None,
         "values": {"dL/dW1": {"shape": [2], "data": base64.b64encode(struct.pack("<2d", 0.5, math.nan)).decode()}},
         "bad_values": {"s": "not an array of numbers: a string"}, "seconds": 0.01}]})
    header = {"worker_exit": 0, "worker_signal": None, "payload_bytes": len(payload), "payload_truncated": False,
              "terminated": False, "leftovers_killed": 0}
    return json.dumps(header).encode() + b"\n" + payload


def test_a_valid_result_is_read():
    header, payload = split_result(valid_result())
    assert header.worker_exit == 0 and header.payload_bytes == len(payload)
    call = decode_payload(payload, 1)["calls"][0]
    assert call["values"]["dL/dW1"][0] == 0.5 and math.isnan(call["values"]["dL/dW1"][1])
    assert call["bad_values"] == {"s": "not an array of numbers: a string"}


@pytest.mark.parametrize("mutate, reason", [
    (lambda raw: b"this is not json", "no header line"),
    (lambda raw: b"", "no header line"),
    (lambda raw: raw[:-5], "payload bytes"),
    (lambda raw: raw.replace(b'"worker_exit": 0', b'"worker_exit": "0"'), "worker_exit"),
    (lambda raw: raw + b"x", "payload bytes"),
])
def test_a_garbled_or_partial_header_is_refused(mutate, reason):
    with pytest.raises(BadResult, match=reason):
        split_result(mutate(valid_result()))


@pytest.mark.parametrize("payload, n_calls, reason", [
    (b"this is not json", 1, "not valid JSON"),
    (b"[" * 100_000, 1, "not valid JSON"),
    (b'{"status": "ok"}', 1, "exactly the keys"),
    (b'{"status": "ok", "status": "ok", "message": "", "line": null, "source": null, "calls": []}', 0, "twice"),
    (b'{"status": "win", "message": "", "line": null, "source": null, "calls": []}', 0, "status is not one of"),
    (b'{"status": "ok", "message": "", "line": null, "source": null, "calls": []}', 1, "0 entries, expected 1"),
    (b'{"status": "ok", "message": "", "line": 0, "source": null, "calls": []}', 0, "line is not an integer"),
    (b'{"status": "ok", "message": NaN, "line": null, "source": null, "calls": []}', 0, "NaN is not JSON"),
    ('{"status": "ok", "message": "\u00e9", "line": null, "source": null, "calls": []}'.encode(), 0, "not valid JSON"),
])
def test_a_malformed_payload_is_refused(payload, n_calls, reason):
    with pytest.raises(BadResult, match=reason):
        decode_payload(payload, n_calls)


@pytest.mark.parametrize("old, new, reason", [
    (b'"shape": [2]', b'"shape": [3]', "is not 3 float64 numbers"),
    (b'"shape": [2]', b'"shape": [1000, 1000, 1000]', "more than the caps"),
    (b'"shape": [2]', b'"shape": [-2]', "shape is not an integer"),
    (b'"seconds": 0.01', b'"seconds": -1', "seconds is not a time"),
    (b'"bad_values": {"s"', b'"bad_values": {"dL/dW1"', "both a value and a bad value"),
    (b'"message": ""', b'"message": "' + b"m" * 5000 + b'"', "at most"),
])
def test_a_schema_violation_in_a_call_is_refused(old, new, reason):
    header, payload = split_result(valid_result())
    assert old in payload
    with pytest.raises(BadResult, match=reason):
        decode_payload(payload.replace(old, new, 1), 1)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_damage_to_the_result_is_bad_result_never_another_error(data):
    raw = bytearray(valid_result())
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["cut", "insert", "flip"]))
        if action == "cut":
            del raw[where:where + data.draw(st.integers(1, 20))]
        elif action == "insert":
            raw[where:where] = data.draw(st.binary(min_size=1, max_size=8))
        elif where < len(raw):
            raw[where] ^= data.draw(st.integers(1, 255))
    try:
        header, payload = split_result(bytes(raw))
        decode_payload(payload, 1)
    except BadResult:
        pass


# ------------------------------------------------------------------ the seccomp filter

def run_filter(program: bytes, arch: int, nr: int, arg0: int = 0) -> int:
    """A classic-BPF interpreter for the instructions the filter uses."""
    data = struct.pack("=iIQ6Q", nr, arch, 0, arg0, 0, 0, 0, 0, 0)
    code = [struct.unpack("=HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    pc, acc = 0, 0
    while True:
        op, jt, jf, k = code[pc]
        if op == 0x20:
            acc = struct.unpack_from("=I", data, k)[0]
        elif op == 0x06:
            return k
        else:
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[op]
            pc += jt if taken else jf
        pc += 1


@pytest.mark.parametrize("machine, arch, unshare, clone, clone3", [
    ("x86_64", 0xC000003E, 272, 56, 435), ("aarch64", 0xC00000B7, 97, 220, 435)])
def test_seccomp_filter_stops_new_user_namespaces_only(machine, arch, unshare, clone, clone3):
    program = user_namespace_filter(machine)
    allow, eperm, enosys, kill = 0x7FFF0000, 0x50001, 0x50026, 0x80000000
    assert run_filter(program, arch, unshare) == eperm
    assert run_filter(program, arch, clone, 0x10000000 | 17) == eperm        # CLONE_NEWUSER | SIGCHLD
    assert run_filter(program, arch, clone, 0x01200011) == allow              # what fork() passes
    assert run_filter(program, arch, clone3) == enosys
    assert run_filter(program, arch, 0) == allow and run_filter(program, arch, 59) == allow
    assert run_filter(program, 0x40000003, 310) == kill                      # i386 code
    if machine == "x86_64":
        assert run_filter(program, arch, 0x40000000 | 272) == enosys         # x32
    assert user_namespace_filter("riscv64") is None
