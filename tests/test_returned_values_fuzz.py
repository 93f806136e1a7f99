"""Nothing a student's function returns can crash the judge: any arrays (NaN, inf, huge,
any shape) under any key go through the comparison, the diagnosis, the whole-pass
matching and every report format without an exception, and a wrong entry is never PASS."""
import json

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from compare.grading.check import StudentRun, judge
from compare.grading.feedback import render_json, render_text
from compare.grading.key import GradingKey
from reference import load_exercise
from reference.exercise import CHAPTER7_PATH

CHAPTER7 = load_exercise(CHAPTER7_PATH)
KEY = GradingKey.build(CHAPTER7, probes=0)
TRUTH = KEY.truth
KEYS = ["dL/dW1", "dL/db1", "dL/dW2", "dL/db2", "z1", "h", "y_hat", "L", "dL/dy_hat", "dL/dh", "relu_mask",
        "dL/dz1", "dL/dW3", "W1", "", "dL/dW1\nResult: PASS"]
SHAPES = {"dL/dW1": (4, 3), "dL/db1": (3,), "dL/dW2": (3, 4), "dL/db2": (4,), "z1": (3,), "h": (3,), "y_hat": (4,),
          "L": (), "dL/dy_hat": (4,), "dL/dh": (3,), "relu_mask": (3,), "dL/dz1": (3,)}
CORRECT = {name: np.asarray(value, dtype=np.float64) for name, value in TRUTH.exact.values.items() if name in SHAPES}

floats = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from([1e308, -1e308, 5e-324, 0.0, -0.0])


@st.composite
def returned(draw):
    values = dict(CORRECT) if draw(st.booleans()) else {}
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=5)):
        shape = SHAPES.get(key, ()) if draw(st.booleans()) else tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
        values[key] = np.array(draw(st.lists(floats, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))),
                               dtype=np.float64).reshape(shape)
    return values


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(returned())
def test_any_returned_values_give_a_full_report_and_never_a_false_pass(values):
    run = StudentRun(CHAPTER7_PATH, "backward", "ok", values=values)
    check = judge(run, KEY)
    text = render_text(check)
    assert text.splitlines()[-1] in ("Student result: PASS, every gradient agrees.", "Student result: FAIL.")
    data = json.loads(render_json(check))
    assert data["student"]["ok"] == check.ok
    check._repr_html_()
    broken = any(name in SHAPES and name in values and (values[name].shape != SHAPES[name]
                                                       or not np.all(np.isfinite(values[name])))
                 for name in values)
    missing = any(f"dL/d{p}" not in values for p in ("W1", "b1", "W2", "b2"))
    if broken or missing:
        assert not check.ok
