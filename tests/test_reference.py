"""The hand-written reference: exact arithmetic reproduces every number the text prints."""
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from compare.tolerance import written_value_agrees
from reference import run_pass
from reference.numbers import convert, decimals_written


def test_parameters_are_exact_decimals(chapter7):
    w1 = convert(chapter7.parameters["W1"], "exact")
    assert w1[0, 1] == Fraction(1, 10)  # 0.1 as written, not the nearest binary float
    assert convert(chapter7.parameters["W1"], "float64")[0, 1] == 0.1
    assert convert(chapter7.parameters["W1"], "float32").dtype == np.float32


def test_exact_run_reproduces_every_printed_number(chapter7):
    exact = run_pass(chapter7, "exact")
    assert len(chapter7.answers) == 12
    for answer in chapter7.answers:
        value = exact.values[answer.name]
        for index in np.ndindex(answer.value.shape):
            assert written_value_agrees(answer.value[index], value[index]), (answer.key, index)


def test_exact_values_of_the_chapter(chapter7):
    exact = run_pass(chapter7, "exact").values
    assert exact["L"][()] == Fraction(717, 800)
    assert exact["z1"][0] == 0  # hidden neuron 0 sits exactly on the kink
    assert list(exact["dL/dy_hat"]) == [Fraction(-9, 20), Fraction(-11, 20), Fraction(-1, 40), Fraction(-5, 8)]
    assert list(exact["dL/dh"]) == [Fraction(-39, 400), Fraction(-139, 400), Fraction(11, 25)]
    assert list(exact["relu_mask"]) == [0, 0, 1]
    assert exact["dL/dW1"][:, 2].tolist() == [Fraction(11, 25), 0, Fraction(11, 25), Fraction(11, 25)]
    assert exact["dL/dW1"][:, :2].tolist() == [[0, 0]] * 4
    assert exact["dL/dW2"][2].tolist() == [Fraction(-9, 40), Fraction(-11, 40), Fraction(-1, 80), Fraction(-5, 16)]
    assert sum(int(g != 0) for name in ("dL/dW1", "dL/db1", "dL/dW2", "dL/db2")
               for g in exact[name].reshape(-1)) == 12


@pytest.mark.parametrize("number_type", ["float64", "float32"])
def test_float_runs_follow_the_exact_run(chapter7, number_type):
    exact = run_pass(chapter7, "exact").values
    run = run_pass(chapter7, number_type).values
    tol = 1e-12 if number_type == "float64" else 1e-6
    for name, value in exact.items():
        assert run[name].dtype == np.dtype(number_type)
        np.testing.assert_allclose(run[name].astype(float), value.astype(float), rtol=tol, atol=tol, err_msg=name)


def test_batch_gradient_is_mean_of_per_example_gradients():
    from reference.exercise import CHAPTER7_PATH, load_exercise
    batch = load_exercise(CHAPTER7_PATH.parent / "diagonal_flip_batch.toml")
    whole = run_pass(batch, "exact").values
    singles = [run_pass(batch.example(i), "exact").values for i in range(batch.batch_size)]
    for name in ("dL/dW1", "dL/db1", "dL/dW2", "dL/db2"):
        mean = sum(s[name] for s in singles) / batch.batch_size
        assert (whole[name] == mean).all(), name
    assert whole["L"][()] == sum(s["L"][()] for s in singles) / 4


@pytest.mark.parametrize("written, decimals", [("0.896", 3), ("0.0", 1), ("-0.0125", 4), ("1", None), ("1e-3", 3)])
def test_decimals_written(written, decimals):
    assert decimals_written(Decimal(written)) == decimals


def test_printed_value_rounding_rule():
    exact_loss = Fraction(717, 800)  # 0.89625
    assert written_value_agrees(Decimal("0.896"), exact_loss)
    assert written_value_agrees(Decimal("0.8963"), exact_loss)
    assert not written_value_agrees(Decimal("0.895"), exact_loss)
    assert not written_value_agrees(Decimal("0.89"), exact_loss)  # 0.00625 > 0.005
    assert written_value_agrees(Decimal("0"), Fraction(0))
    assert not written_value_agrees(Decimal("0"), Fraction(1, 100))  # integers are exact
    assert not written_value_agrees(Decimal("-0.46"), Fraction(-9, 20))


def test_reference_never_imports_torch():
    import pathlib
    import re
    import reference
    for path in pathlib.Path(reference.__file__).parent.rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+torch", path.read_text(), re.M), path
