"""Printed quantities as upstream values of the later steps: a softmax's p from the
exps the text wrote, ∂L/∂ŷ from the error e or the probabilities p it wrote. A value
computed right from a wrong printed quantity follows from it; one computed from the
text's own rounded exps is right by carried rounding; one that follows from no written
upstream value is still a slip."""
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from compare.diagnosis import CARRIED_RULE, FOLLOWS, SLIP, check_answers
from reference import load_exercise, run_pass
from reference.exercise import CHAPTER7_PATH
from reference.numbers import as_fraction

CASES = Path(__file__).resolve().parent / "cases" / "printed_upstream"
DATA = CHAPTER7_PATH.parent


def by_key(path):
    return {c.key: c for c in check_answers(load_exercise(path))}


def with_answers(tmp_path, source: Path, lines: list[str]) -> Path:
    """``source`` with its ``[answers]`` tables replaced by ``lines``."""
    blocks = re.split(r"(?m)^(?=\[)", source.read_text())
    kept = [block for block in blocks if not block.startswith("[answers")]
    path = tmp_path / source.name
    path.write_text("".join(kept) + "\n[answers]\n" + "\n".join(lines) + "\n")
    return path


def test_a_slip_in_p_is_carried_into_the_gradient_of_the_logits():
    # p[0] = 0.4325 for 0.4235 (two digits swapped); ∂L/∂ŷ[0] = p[0] − 1 on the written p
    checks = by_key(CASES / "softmax_p_slip.toml")
    slip, carried = checks["p[0]"], checks["dL/dy_hat[0]"]
    assert slip.kind == SLIP and "entered here" in slip.diagnosis
    assert round(float(slip.expected), 6) == 0.423491
    assert carried.kind == FOLLOWS and carried.follows_from == ["p[0]"]
    assert carried.diagnosis == ("follows from the earlier error in p[0]: "
                                 "this step is right on your own values (-0.5675)")
    assert round(float(carried.expected), 6) == -0.576509
    assert [c.key for c in checks.values() if not c.agree] == ["p[0]", "dL/dy_hat[0]"]


def test_a_slip_in_e_is_carried_into_the_gradient_of_the_loss():
    # e[3] = −1.52 for ŷ − y = −0.25 − 1 = −1.25; ∂L/∂ŷ[3] = 2/4 · −1.52 = −0.76
    checks = by_key(CASES / "mse_e_slip.toml")
    assert checks["e[3]"].kind == SLIP and checks["e[3]"].expected == Fraction(-5, 4)
    carried = checks["dL/dy_hat[3]"]
    assert carried.kind == FOLLOWS and carried.follows_from == ["e[3]"]
    assert carried.expected == Fraction(-5, 8) and carried.own_value == pytest.approx(-0.76, abs=1e-12)
    assert [c.key for c in checks.values() if not c.agree] == ["dL/dy_hat[3]", "e[3]"]  # the text's order


def test_p_from_the_texts_own_rounded_exps_is_carried_rounding():
    # exps = [1.40, 0.98, 0.93] round exp(ŷ); 1.40 / 3.31 = 0.42296 -> 0.4230, 0.98 / 3.31 = 0.29607 -> 0.2961
    checks = by_key(CASES / "softmax_rounded_exps.toml")
    assert all(c.agree for c in checks.values()), {c.key: c.diagnosis for c in checks.values() if not c.agree}
    carried = {key for key, c in checks.items() if c.rule == CARRIED_RULE}
    assert carried == {"p[0]", "p[1]", "dL/dy_hat[0]", "dL/dy_hat[1]"}
    # the middle of what the written exps give, carried as written or with more digits (1.40 to 1.40495, ...)
    assert 1.40 / 3.31 < checks["p[0]"].own_value < 0.42349
    assert checks["dL/dy_hat[0]"].own_value == pytest.approx(0.4230 - 1, abs=1e-12)
    # against the exact values alone they are wrong: 0.423491 and 0.295459
    assert round(float(checks["p[0]"].expected), 4) == 0.4235 and round(float(checks["p[1]"].expected), 4) == 0.2955


def test_a_gradient_wrong_on_the_written_p_and_on_the_exact_one_is_still_a_slip(tmp_path):
    path = with_answers(tmp_path, CASES / "softmax_p_slip.toml",
                        ["y_hat = [0.34, -0.02, -0.07]", "p = [0.4325, 0.2955, 0.2810]",
                         '"dL/dy_hat" = [-0.5600, 0.2955, 0.2810]'])
    checks = by_key(path)
    slip = checks["dL/dy_hat[0]"]
    assert slip.kind == SLIP and slip.follows_from == []
    assert slip.diagnosis == ("slip: the mistake entered here, at Step 1: gradient of the loss; "
                              "from your own upstream values (carrying p[0]) it is -0.5675")
    assert checks["p[0]"].kind == SLIP


def test_p_that_does_not_follow_from_the_written_exps_is_still_wrong(tmp_path):
    path = with_answers(tmp_path, CASES / "softmax_rounded_exps.toml",
                        ["exps = [1.40, 0.98, 0.93]", "p = [0.4300, 0.2961, 0.2810]"])
    checks = by_key(path)
    wrong = checks["p[0]"]
    assert wrong.kind == SLIP and wrong.diagnosis == "slip: the mistake entered here, at Recall: the forward pass"
    assert 1.40 / 3.31 < wrong.own_value < 0.42349  # what the written exps give: 0.4230 to 0.4235
    assert checks["p[1]"].agree and checks["p[1]"].rule == CARRIED_RULE


def test_a_gradient_of_the_error_with_the_wrong_factor_is_not_carried(tmp_path):
    # e[3] wrong, and ∂L/∂ŷ[3] = e[3] without the 2/4: follows neither from e nor from ŷ
    path = with_answers(tmp_path, CASES / "mse_e_slip.toml",
                        ["e = [-0.9, -1.1, -0.05, -1.52]", '"dL/dy_hat[3]" = -1.52'])
    checks = by_key(path)
    assert checks["dL/dy_hat[3]"].kind != FOLLOWS and not checks["dL/dy_hat[3]"].agree
    assert checks["e[3]"].kind == SLIP


def _decimals(value, places: int) -> str:
    """``value`` (a Fraction or an mpf) rounded to ``places`` decimals, exactly."""
    scaled = as_fraction(value) * 10 ** places
    return str(Decimal(round(scaled)).scaleb(-places))


def _slope(exercise) -> object:
    """∂(∂L/∂ŷ[0][0]) / ∂(e[0][0]) (and / ∂p for a loss on logits), by the loss's formula."""
    arch = exercise.architecture
    n, batch = len(exercise.y[0]), exercise.batch_size
    y_hat = np.asarray(run_pass(exercise, arch.ground_truth).values["y_hat"]).reshape(batch, n)[0, 0]
    factor = {"mse": Fraction(2, n), "sse": 1, "sum_squares": 2, "cross_entropy": 1,
              "bce_with_logits": Fraction(1, n)}.get(arch.loss)
    if factor is None:  # bce: (ŷ − y) / (ŷ (1 − ŷ)) / n
        factor = 1 / (y_hat * (1 - y_hat)) / n
    return factor / batch if arch.reduction == "mean" else factor


@pytest.mark.parametrize("path", sorted(DATA.glob("*.toml")), ids=lambda p: p.stem)
def test_a_wrong_printed_upstream_value_is_carried_on_every_loss(tmp_path, path):
    exercise = load_exercise(path)
    arch = exercise.architecture
    exact = run_pass(exercise, arch.ground_truth).values
    batch = exercise.batch_size > 1
    upstreams = ["e"] + (["p"] if "p" in exact else [])
    for upstream in upstreams:
        values = np.array(exact[upstream], dtype=object).reshape(exercise.batch_size, -1)
        slope = _slope(exercise)
        wrong = values.copy()
        wrong[0, 0] = values[0, 0] + Fraction(1, 10)  # the slip
        gradient = np.asarray(exact["dL/dy_hat"]).reshape(exercise.batch_size, -1)[0, 0] + slope * Fraction(1, 10)
        rows = [", ".join(_decimals(v, 16) for v in row) for row in wrong]
        written = f"[{', '.join(f'[{r}]' for r in rows)}]" if batch else f"[{rows[0]}]"
        entry = "[0][0]" if batch else "[0]"
        checks = by_key(with_answers(tmp_path, path, [f"{upstream} = {written}",
                                                      f'"dL/dy_hat{entry}" = {_decimals(gradient, 10)}']))
        assert checks[f"{upstream}{entry}"].kind == SLIP, checks[f"{upstream}{entry}"].diagnosis
        carried = checks[f"dL/dy_hat{entry}"]
        assert carried.kind == FOLLOWS and carried.follows_from == [f"{upstream}{entry}"], (upstream, carried.diagnosis)
        assert carried.own_value == pytest.approx(float(gradient), abs=1e-9)
        assert sorted(c.key for c in checks.values() if not c.agree) == [f"dL/dy_hat{entry}", f"{upstream}{entry}"]


def test_exps_that_bound_nothing_explain_nothing(tmp_path):
    # exps written as 0.0: p = 0/0 from them is unbounded, and no p is right by it
    path = with_answers(tmp_path, CASES / "softmax_rounded_exps.toml",
                        ["exps = [0.0, 0.0, 0.0]", "p = [0.4230, 0.2961, 0.2810]"])
    checks = by_key(path)
    assert [c.key for c in checks.values() if not c.agree] == ["p[0]", "p[1]", "exps[0]", "exps[1]", "exps[2]"]
    assert checks["p[0]"].kind == SLIP and "y_hat, which it reads, is not written out" in checks["p[0]"].diagnosis
    assert checks["p[2]"].agree and checks["p[2]"].rule != CARRIED_RULE  # 0.2810 rounds the exact 0.281050


def test_a_tight_softmax_of_rounded_exps():
    from compare.diagnosis import _normalized
    from reference import intervals
    point = intervals.point
    exps = np.array([[intervals.hull(point(Fraction(14, 10)), point(Fraction(15, 10))), point(1),
                      intervals.hull(point(0), point(Fraction(1, 10)))]], dtype=object)
    p = _normalized(exps)
    # p[0] from 1.4 / (1.4 + 1 + 0.1) to 1.5 / (1.5 + 1 + 0): each exps_i counted once
    assert float(p[0, 0].a) == pytest.approx(1.4 / 2.5, abs=1e-15) and float(p[0, 0].b) == pytest.approx(0.6, abs=1e-15)
    assert float(p[0, 2].a) == 0 and float(p[0, 2].b) == pytest.approx(0.1 / 2.5, abs=1e-15)
    assert all(intervals.contains(p[0, i], Fraction(v)) for i, v in enumerate([Fraction(14, 25), Fraction(10, 25), Fraction(1, 25)]))


def test_under_a_texts_constant_factor_the_written_e_still_feeds_the_gradient(tmp_path):
    # softmax, batch of 3, mean: the text's rule 3·(p − y)/3 makes ∂L/∂ŷ = e, carried from its rounded exps
    path = with_answers(tmp_path, DATA / "softmax_classifier.toml", [
        "exps = [[1.40, 0.98, 0.93], [1.05, 1.23, 0.79], [1.25, 1.11, 1.08]]",
        "p = [[0.4230, 0.2961, 0.2810], [0.3420, 0.4007, 0.2573], [0.3634, 0.3227, 0.3140]]",
        "e = [[-0.5770, 0.2961, 0.2810], [0.3420, -0.5993, 0.2573], [0.3634, 0.3227, -0.6860]]",
        '"dL/dy_hat" = [[-0.5770, 0.2961, 0.2810], [0.3420, -0.5993, 0.2573], [0.3634, 0.3227, -0.6860]]'])
    path.write_text(path.read_text() + '[errata]\nbackward = "ConstantFactor(3)"\n')
    checks = by_key(path)
    assert all(c.agree for c in checks.values()), [c.key for c in checks.values() if not c.agree]
    assert checks["dL/dy_hat[0][0]"].rule == CARRIED_RULE  # −0.5770 is e[0][0] as written; exact −0.576509...
    # and a slip in e under that rule is named once, what reads it follows
    chapter = with_answers(tmp_path, CHAPTER7_PATH, ["e = [-0.7, -1.1, -0.05, -1.25]",
                                                     '"dL/dy_hat" = [-0.7, -1.1, -0.05, -1.25]'])
    # the text's rule 2 · (2/4) · e makes ∂L/∂ŷ = e
    chapter.write_text(chapter.read_text().replace("[errata]\n", '[errata]\nbackward = "ConstantFactor(2)"\n'))
    checks = by_key(chapter)
    assert checks["e[0]"].kind == SLIP and checks["dL/dy_hat[0]"].kind == FOLLOWS
    assert checks["dL/dy_hat[0]"].follows_from == ["e[0]"]


def test_a_rule_that_is_no_constant_factor_keeps_the_routes_off(tmp_path):
    # the text forgets the softmax (∂L/∂ŷ = (logits − y)/B): a p − y written for it is not the text's rule
    path = with_answers(tmp_path, DATA / "softmax_classifier.toml", ['"dL/dy_hat[0][1]" = 0.0987',
                                                                     "p = [[0.4235, 0.2961, 0.2805], "
                                                                     "[0.3419, 0.4003, 0.2578], "
                                                                     "[0.3631, 0.3229, 0.3140]]"])
    path.write_text(path.read_text() + '[errata]\nbackward = "CrossEntropyWithoutSoftmax"\n')
    assert not by_key(path)["dL/dy_hat[0][1]"].agree


def test_the_loss_is_the_mean_of_the_written_losses_of_the_examples(tmp_path):
    # right per-example losses rounded to 2 decimals: their mean 0.515 is the text's L (exact 0.514225)
    path = with_answers(tmp_path, DATA / "diagonal_flip_batch.toml", ["L_per_example = [0.62, 0.22, 0.32, 0.90]",
                                                                      "L = 0.515"])
    checks = by_key(path)
    exact = run_pass(load_exercise(path), "exact").values
    assert exact["L"] == Fraction("0.514225") and sum(Fraction(v) for v in ("0.62", "0.22", "0.32", "0.90")) / 4 == \
        Fraction("0.515")
    assert checks["L"].agree and checks["L"].rule == CARRIED_RULE
    wrong = by_key(with_answers(tmp_path, DATA / "diagonal_flip_batch.toml",
                                ["L_per_example = [0.62, 0.22, 0.32, 0.90]", "L = 0.530"]))
    assert wrong["L"].kind == SLIP  # neither the exact 0.514225 nor the written ones' mean 0.515
    one = by_key(with_answers(tmp_path, CHAPTER7_PATH, ["L_per_example = 0.8", "L = 0.8"]))  # exact 0.89625
    assert one["L_per_example[0]"].kind == SLIP and one["L"].kind == FOLLOWS


def test_a_frozen_parameters_step_taken_anyway_is_named(tmp_path):
    mazur = DATA / "mazur_as_written.toml"  # [training] lr 0.5, freeze b1 and b2
    path = with_answers(tmp_path, mazur, ['"dL/db1" = 0.018725609', "delta_b1 = -0.009362805"])
    check = by_key(path)["delta_b1"]
    assert not check.agree and check.diagnosis == ("convention: b1 is frozen ([training] freeze): its update step "
                                                    "is 0, not −lr · ∂L/∂b1")
    assert by_key(with_answers(tmp_path, mazur, ["delta_b1 = 0.0093"]))["delta_b1"].diagnosis.startswith("slip")
