"""Bad exercise files: the loader only ever returns a valid ``Exercise`` or raises
``ExerciseError`` (one line naming the file); the CLI exits 2 with one line on stderr
and writes nothing.

Inputs are the Chapter 7 file mutated (lines deleted, duplicated, swapped; numbers
replaced by strings, NaN, inf, huge or tiny values; sections dropped; random bytes;
unknown keys; wrong shapes; answers for quantities that do not exist), random bytes and
the empty file."""
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compare.cli import main
from reference import quantities
from reference.backprop import run_pass
from reference.exercise import CHAPTER7_PATH, Exercise, ExerciseError, answer_shape, load_exercise
from reference.numbers import convert

LINES = CHAPTER7_PATH.read_text().splitlines(keepends=True)
NUMBER = re.compile(r"-?\d+(\.\d+)?")
REPLACEMENTS = ['"0.1"', "nan", "inf", "-inf", "+nan", "1e999", "1e400", "-1e400", "1e-400",
                "1e999999999", "1e-999999999", "99999999999999999999999999", "true", "[]", "[[]]",
                "[1, 2]", "{}", "{a = 1}", "0", "-0.0", "0x10", "1_000", '""', "[[1]]", "[0.1, [0.2]]",
                "1979-05-27", "[" * 600 + "1" + "]" * 600, "{a=" * 600 + "1" + "}" * 600]
EXTRA_LINES = ["unknown = 1\n", "[unknown_section]\n", "[network]\nsizes = [4, 3, 4]\n", "dL_dq = 1\n",
               '"dL/dW3" = 0.1\n', '"dL/dW1[9][9]" = 0.1\n', '"z1[0][0]" = 1\n', "relu_mask = [1, 0]\n",
               "[[examples]]\nx = [1, 0, 1, 1]\ny = [1, 1, 0, 1]\n", "sizes = [4, 0, 4]\n", "sizes = [4]\n",
               "sizes = [4, 3, 3, 4]\n", "sizes = [4, 99999999999, 4]\n", "activations = ['tanh', 'identity']\n",
               "activations = ['relu', 'relu']\n", "x = [[1, 0], [1, 1]]\n", "y = 1\n",
               "[claims]\nnonzero_gradients = -1\n", "[claims]\nparameters_changed = 3\n", "title = 3\n",
               "[answers]\n", "[parameters]\n", '"L[0]" = 1\n', '"dL/dh" = [[1, 2, 3]]\n', "h = 0.5\n",
               '"dL/dW1[0][2]" = [0.44]\n', '"y_hat[3]" = -0.25\n', "z = 1\n", '"" = 1\n', "reduction = 'max'\n",
               "examples = 3\n", "answers = []\n", "network = 'big'\n", "[[answers]]\n", "[[parameters]]\n",
               "b1 = [0.1, -0.1, 0.0, 0.0]\n", "W2 = [[0.3], [0.1]]\n", "x = [1, 0, 1, 1, 1]\n"]
HEADER = re.compile(r"^\s*\[")


@st.composite
def mutated_chapter7(draw) -> bytes:
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "number", "insert", "drop_section", "bytes"]))
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "number":
            numbered = [k for k, line in enumerate(lines) if NUMBER.search(line.split("#")[0])]
            k = draw(st.sampled_from(numbered)) if numbered else i
            matches = list(NUMBER.finditer(lines[k]))
            if matches:
                m = draw(st.sampled_from(matches))
                lines[k] = lines[k][:m.start()] + draw(st.sampled_from(REPLACEMENTS)) + lines[k][m.end():]
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(EXTRA_LINES)))
        elif op == "drop_section":
            headers = [k for k, line in enumerate(lines) if HEADER.match(line)]
            if headers:
                start = draw(st.sampled_from(headers))
                end = next((k for k in headers if k > start), len(lines))
                del lines[start:end]
        else:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.binary(max_size=6)).decode("latin-1") + lines[i][at:]
    text = "".join(lines)
    return text.encode("latin-1" if draw(st.booleans()) else "utf-8", errors="replace")


exercise_bytes = st.one_of(mutated_chapter7(), st.binary(max_size=200), st.just(b""), st.just(b"  \n\t\n"),
                           st.text(max_size=200).map(lambda t: t.encode("utf-8")))


def assert_valid(exercise: Exercise) -> None:
    """Every promise of a loaded exercise, and the passes run on it."""
    arch = exercise.architecture
    assert len(arch.activations) == len(arch.sizes) - 1 and all(s > 0 for s in arch.sizes)
    assert set(exercise.parameters) == set(arch.parameter_shapes())
    for name, shape in arch.parameter_shapes().items():
        assert exercise.parameters[name].shape == shape
    assert exercise.x.shape == (exercise.batch_size, arch.sizes[0]) and exercise.batch_size >= 1
    assert exercise.y.shape == (exercise.batch_size, arch.sizes[-1])
    known = quantities.all_names(arch.n_layers, list(arch.activations))
    for answer in exercise.answers:
        assert answer.name in known
        shape = answer_shape(answer.name, arch, exercise.batch_size)
        assert answer.value.shape == (() if answer.index else shape)
    for values in [*exercise.parameters.values(), exercise.x, exercise.y, *(a.value for a in exercise.answers)]:
        assert np.all(np.isfinite(convert(values, "float64")))
    run_pass(exercise, "float64")
    run_pass(exercise, "exact")


def load_bytes(data: bytes, directory: Path):
    path = directory / "fuzzed.toml"
    path.write_bytes(data)
    return path, load_exercise(path)


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=exercise_bytes)
def test_loader_returns_a_valid_exercise_or_raises_exercise_error(workdir, data):
    try:
        path, exercise = load_bytes(data, workdir)
    except ExerciseError as error:
        message = str(error)
        assert "\n" not in message and message.startswith(str(workdir / "fuzzed.toml"))
        assert "expected" in message
    else:
        assert_valid(exercise)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_chapter7())
def test_cli_on_a_bad_file_exits_2_with_one_line_and_writes_nothing(workdir, data):
    path = workdir / "fuzzed.toml"
    path.write_bytes(data)
    try:
        load_exercise(path)
    except ExerciseError as error:
        expected = str(error)
    else:
        return  # a mutation that is still a valid exercise; the loader test covers it
    import contextlib
    import io
    out, err = io.StringIO(), io.StringIO()
    before = sorted(p.name for p in workdir.iterdir())
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(path)])
    assert status == 2 and out.getvalue() == ""
    assert err.getvalue() == f"python -m compare: {expected}\n"
    assert sorted(p.name for p in workdir.iterdir()) == before


@pytest.mark.parametrize("replacement, expected", [
    ("[" * 600 + "1" + "]" * 600, "valid TOML"),
    ("1e999", "within float64 range"),
    ("1e999999999", "within float64 range"),
    ("1e-999999999", "within float64 range"),
    ("99999999999999999999999999999999999999999999999999" * 8, "within float64 range"),
])
def test_values_that_would_crash_or_hang_later_are_rejected(chapter7_variant, replacement, expected):
    path = chapter7_variant("b1 = [ 0.1, -0.1,  0.0]", f"b1 = [ 0.1, -0.1, {replacement}]")
    with pytest.raises(ExerciseError) as info:
        load_exercise(path)
    assert expected in str(info.value) and "\n" not in str(info.value)
