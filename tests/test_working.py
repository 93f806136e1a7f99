"""The answer key's working (compare.working, compare.expression): the formulas as the text
writes them, the numbers they substitute, and that the substituted expression evaluates to
the entry's exact value on many networks."""
import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from compare.answer_key import build_answer_key, main, render
from compare.cli import main as cli_main
from compare.expression import LATEX, TEXT, Numbers, Renderer
from compare.working import Working
from reference.backprop import run_pass
from reference.exercise import CHAPTER7_PATH, load_exercise
from reference.numbers import as_fraction
from tests.networks import network_toml

DATA = CHAPTER7_PATH.parent
BUNDLED = sorted(DATA.glob("*.toml"))
# deeper networks: every activation, every loss, both reductions
GENERATED = {
    "tanh-identity-sigmoid-bce": ([3, 4, 3, 2], ["tanh", "identity", "sigmoid"], "bce", "mean"),
    "leaky-relu-identity-mse-sum": ([2, 3, 3, 2], ["leaky_relu", "relu", "identity"], "mse", "sum"),
    "sigmoid-logits": ([3, 3, 2], ["sigmoid", "identity"], "bce_with_logits", "mean"),
    "relu-tanh-cross-entropy": ([3, 4, 3, 3], ["relu", "tanh", "identity"], "cross_entropy", "mean"),
    "identity-sse-one-example": ([2, 2, 2], ["identity", "identity"], "sse", "sum"),
}


def generated(tmp_path, name, examples=3):
    sizes, activations, loss, reduction = GENERATED[name]
    path = tmp_path / f"{name}.toml"
    path.write_text(network_toml(sizes, activations, 1 if "one-example" in name else examples, loss, reduction))
    return load_exercise(path)


def formulas(exercise):
    """(label, formula, exact value) of every entry of the key."""
    key = build_answer_key(exercise)
    return [(e.label, e.formula, e.exact) for s in key.steps for e in s.entries]


@pytest.mark.parametrize("label, working", [
    ("dL/dW2[2][0]", "∂L/∂W2[2][0] = h[2] · ∂L/∂ŷ[0] = 0.5 × (−0.45) = −0.225"),
    ("z1[2]", "z1[2] = x·W1[:,2] + b1[2] = 1×0.3 + 0×0.1 + 1×(−0.1) + 1×0.3 + 0 = 0.5"),
    ("dL/dy_hat[0]", "∂L/∂ŷ[0] = 2/4 · (ŷ[0] − y[0]) = 0.5 × (0.1 − 1) = −0.45"),
    ("h[1]", "h[1] = ReLU(z1[1]) = max(0, −0.1) = 0"),
    ("relu_mask[0]", "ReLU′(z1[0]) = (1 if z1[0] > 0 else 0) = (1 if 0 > 0 else 0) = 0"),
    ("dL/dz1[2]", "∂L/∂z1[2] = ∂L/∂h[2] · ReLU′(z1[2]) = 0.44 × 1 = 0.44"),
    ("dL/dh[0]", "∂L/∂h[0] = W2[0,:]·∂L/∂ŷ = 0.3×(−0.45) + (−0.2)×(−0.55) + 0.4×(−0.025) + 0.1×(−0.625) = −0.0975"),
    ("dL/db2[1]", "∂L/∂b2[1] = ∂L/∂ŷ[1] = −0.55"),
    ("dL/dW1[3][2]", "∂L/∂W1[3][2] = x[3] · ∂L/∂z1[2] = 1 × 0.44 = 0.44"),
    ("L", "L = 1/4 · Σ_j (ŷ[j] − y[j])² = 0.25 × ((0.1 − 1)² + (−0.1 − 1)² + (−0.05 − 0)² + (−0.25 − 1)²) "
          "= 0.89625"),
])
def test_chapter7_working_as_the_text_writes_it(chapter7, label, working):
    assert build_answer_key(chapter7).entry(label).working() == working


@pytest.mark.parametrize("path, label, working", [
    ("mazur_2_2_2_sigmoid.toml", "h[0]", "h[0] = σ(z1[0]) = 1/(1 + exp(−0.3775)) ≈ 0.5933"),
    ("mazur_2_2_2_sigmoid.toml", "sigmoid_grad[0]", "σ′(z1[0]) = h[0] · (1 − h[0]) = 0.5933 × (1 − 0.5933) ≈ 0.2413"),
    ("mazur_2_2_2_sigmoid.toml", "dL/dy_hat[0]", "∂L/∂ŷ[0] = ŷ[0] − y[0] = 0.7514 − 0.01 ≈ 0.7414"),
    ("tanh_3_4_2.toml", "tanh_grad[0][0]", "tanh′(z1[0][0]) = 1 − h[0][0]² = 1 − (−0.0997)² ≈ 0.9901"),
    ("softmax_classifier.toml", "dL/dy_hat[0][0]", "∂L/∂ŷ[0][0] = 1/3 · (p[0][0] − y[0][0]) = 0.3333 × (0.4235 − 1) "
                                                   "≈ −0.1922"),
    ("multilabel_bce_logits.toml", "dL/dy_hat[0][0]", "∂L/∂ŷ[0][0] = 1/2 · (σ(ŷ[0][0]) − y[0][0]) = 0.5 × (0.5608 − 1) "
                                                      "≈ −0.2196"),
    ("leaky_relu_sse.toml", "leaky_relu_grad[0][2]", "LeakyReLU′(z1[0][2]) = (1 if z1[0][2] > 0 else 0.1) "
                                                     "= (1 if −0.3 > 0 else 0.1) = 0.1"),
    ("diagonal_flip_batch.toml", "dL/db1[0]", "∂L/∂b1[0] = Σ_b ∂L/∂z1[b][0] = 0 + (−0.040875) + (−0.066) + 0 "
                                              "= −0.106875"),
    ("diagonal_flip_batch.toml", "dL/dW1[1][0]", "∂L/∂W1[1][0] = Σ_b x[b][1] · ∂L/∂z1[b][0] "
                                                 "= 0×0 + 1×(−0.040875) + 1×(−0.066) + 0×0 = −0.106875"),
])
def test_working_for_every_activation_loss_and_the_batch(path, label, working):
    key = build_answer_key(load_exercise(DATA / path))
    assert key.entry(label).working() == working


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_every_bundled_entry_has_working_that_evaluates_to_its_exact_value(path):
    _evaluates_exactly(load_exercise(path))


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_deeper_networks_evaluate_to_their_exact_values(tmp_path, name):
    exercise = generated(tmp_path, name)
    _evaluates_exactly(exercise)
    labels = [label for label, _, _ in formulas(exercise)]
    assert len(labels) > 20


def _evaluates_exactly(exercise):
    rational = exercise.architecture.rational
    for label, formula, exact in formulas(exercise):
        assert formula is not None, label
        value = as_fraction(formula.evaluate())
        if rational:
            assert value == exact, label
        else:  # 50 digits, summed in another order than the pass
            assert abs(value - exact) <= Fraction(1, 10 ** 40) * max(1, abs(exact)), label


def _evaluate_text(text: str) -> Fraction:
    """The substituted expression, as shown, evaluated exactly (decimals as Fractions)."""
    python = text.replace("×", "*").replace("−", "-").replace("²", "**2")
    python = re.sub(r"\d+(\.\d+)?", lambda m: f"Fraction('{m.group()}')", python)
    return eval(python, {"Fraction": Fraction, "max": max})


@pytest.mark.parametrize("exercise_path", [CHAPTER7_PATH, DATA / "leaky_relu_sse.toml",
                                           DATA / "diagonal_flip_batch.toml"], ids=lambda p: p.name)
def test_the_substituted_text_evaluates_to_the_entry(exercise_path):
    """What a student reads, evaluated: every entry whose numbers are all shown in full."""
    exercise = load_exercise(exercise_path)
    checked = 0
    for label, formula, exact in formulas(exercise):
        numbers = Numbers()
        text = Renderer("values", TEXT, numbers)(formula.expression)
        if numbers.rounded or "…" in text:
            continue
        assert _evaluate_text(text) == exact, (label, text)
        checked += 1
    assert checked > 50


def test_a_wrong_number_in_the_text_does_not_evaluate_to_the_entry(chapter7):
    formula = build_answer_key(chapter7).entry("z1[2]").formula
    text = Renderer("values", TEXT, Numbers())(formula.expression)
    assert _evaluate_text(text) == Fraction(1, 2)
    assert _evaluate_text(text.replace("1×0.3", "1×0.4", 1)) != Fraction(1, 2)


def test_a_sum_of_many_terms_is_shown_in_part(tmp_path):
    path = tmp_path / "wide.toml"
    path.write_text(network_toml([64, 2, 1], ["relu", "identity"], 1))
    exercise = load_exercise(path)
    exact = run_pass(exercise, "exact")
    formula = Working(exercise, exact).formula("z1", (0,))
    working = formula.render()
    # x = [0, 0.5, 1, 0, …], W1[:,0] = [0, −0.4, 0.3, …, 0.1]: three terms, the last, the count
    assert working == "z1[0] = x·W1[:,0] + b1[0] = 0×0 + 0.5×(−0.4) + 1×0.3 + … + 0×0.1 (64 terms) + (−0.1) = −0.35"
    x, w = exercise.x[0].astype(object), exercise.parameters["W1"][:, 0]
    assert formula.evaluate() == sum(Fraction(a) * Fraction(b) for a, b in zip(x, w)) + Fraction("-0.1")
    assert formula.evaluate() == as_fraction(exact.values["z1"][0])


def test_digits_set_the_decimals_of_values_that_are_not_short(capsys):
    mazur = str(DATA / "mazur_2_2_2_sigmoid.toml")
    assert main([mazur, "--digits", "7"]) == 0
    out = capsys.readouterr().out
    assert "h[0] = σ(z1[0]) = 1/(1 + exp(−0.3775)) ≈ 0.5932700" in out
    assert "z1[0] = x·W1[:,0] + b1[0] = 0.05×0.15 + 0.1×0.2 + 0.35 = 0.3775" in out  # short: in full
    assert main([mazur]) == 0
    assert "≈ 0.5933 " in capsys.readouterr().out


@pytest.mark.parametrize("digits", ["0", "31", "x", "-2"])
def test_bad_digits_exit_2_with_one_line(digits, capsys):
    assert cli_main(["answer-key", "--digits", digits]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert "--digits" in captured.err and "a whole number from 1 to 30" in captured.err


def test_numbers_tiny_and_huge_values_in_scientific_notation():
    numbers = Numbers(4)
    assert numbers.text(Fraction(1, 3), TEXT) == "0.3333" and numbers.rounded
    assert Numbers(4).text(Fraction(-1, 3 * 10 ** 7), TEXT) == "−3.333e−8"
    assert Numbers(4).text(Fraction(-1, 3 * 10 ** 7), LATEX) == r"-3.333 \times 10^{-8}"
    assert Numbers(4).text(Fraction(10 ** 20, 3), TEXT) == "3.333e19"
    exact = Numbers(4)
    assert exact.text(Fraction(-39, 400), TEXT) == "−0.0975" and not exact.rounded


def test_latex_working_is_ascii_math_and_html_escapes_it(chapter7):
    key = build_answer_key(chapter7)
    tex = render(key, "latex")
    maths = re.findall(r"\$([^$]*)\$", tex)
    working = [m for m in maths if "=" in m]
    assert len(working) == 55 and all(m.isascii() for m in working)
    assert r"\partial L/\partial W_{2}[2][0] = h[2] \cdot \partial L/\partial \hat{y}[0] = 0.5 \times (-0.45) = -0.225" \
        in working
    page = render(key, "html")
    assert "<td class=\"working\">∂L/∂W2[2][0] = h[2] · ∂L/∂ŷ[0] = 0.5 × (−0.45) = −0.225</td>" in page
    assert "(1 if z1[0] &gt; 0 else 0)" in page


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
@pytest.mark.parametrize("name", sorted(GENERATED))
def test_latex_of_deeper_networks_compiles(tmp_path, name):
    exercise = generated(tmp_path, name, examples=9)  # the loss: a sum shown in part
    tex = tmp_path / "key.tex"
    tex.write_text(render(build_answer_key(exercise), "latex"))
    assert (r"\dots" in tex.read_text()) == (exercise.batch_size > 1)
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "key.tex"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]
    assert Path(tmp_path / "key.pdf").stat().st_size > 1000


def test_the_key_of_a_batch_names_the_example_of_each_intermediate():
    key = build_answer_key(load_exercise(DATA / "diagonal_flip_batch.toml"))
    assert key.entry("z1[3][0]").working() == ("z1[3][0] = x[3]·W1[:,0] + b1[0] = 1×0.2 + 0×0.3 + 1×0.1 "
                                              "+ 1×(−0.4) + 0.1 = 0")
    assert key.entry("L").working().startswith("L = 1/(4·4) · Σ_b Σ_j (ŷ[b][j] − y[b][j])² = 0.0625 × (")
    assert "(16 terms)" in key.entry("L").working()
    assert np.all([e.formula is not None for s in key.steps for e in s.entries])


def test_a_loss_or_activation_without_a_formula_leaves_only_its_entries_without_working(chapter7):
    """A loss or activation added to the reference later: its entries get no working, the rest do."""
    from dataclasses import replace
    exact = run_pass(chapter7, "exact")
    other_loss = replace(chapter7, architecture=replace(chapter7.architecture, loss="a new loss"))
    working = Working(other_loss, exact)
    assert working.formula("L", ()) is None and working.formula("dL/dy_hat", (0,)) is None
    assert working.formula("dL/dW2", (2, 0)).render() == "∂L/∂W2[2][0] = h[2] · ∂L/∂ŷ[0] = 0.5 × (−0.45) = −0.225"
    other_activation = replace(chapter7, architecture=replace(chapter7.architecture,
                                                              activations=("a new one", "identity")))
    working = Working(other_activation, exact)
    assert working.formula("h", (2,)) is None and working.formula("relu_mask", (2,)) is None
    assert working.formula("dL/dz1", (2,)) is None
    assert working.formula("z1", (2,)).render() == build_answer_key(chapter7).entry("z1[2]").working()
    assert Working(chapter7, exact).formula("p", (0,)) is None  # a quantity without a step here
