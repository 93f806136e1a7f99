"""Gradient-descent steps: exact vs hand NumPy vs torch.optim.SGD (compare.training)."""
import json
from decimal import Decimal
from fractions import Fraction

import pytest

from compare.cli import BATCH_PATH, main
from compare.training import EXACT, GradientAscent, MomentumAveraged, TrainingSettings, run_training
from compare.training_report import loss_text, render_training_text
from reference.backprop import run_pass
from reference.exercise import CHAPTER7_PATH, load_exercise
from reference.numbers import convert

LR = Decimal("0.1")


@pytest.fixture(scope="module")
def batch():
    return load_exercise(BATCH_PATH)


def test_one_step_is_exactly_w_minus_lr_times_the_texts_gradient(chapter7):
    """With the text's convention (ReLU'(0) = 0 everywhere) the exact step is the
    chapter's: W - 1/10 dL/dW, with the gradients of Steps 1-7."""
    training = run_training(chapter7, TrainingSettings(LR, 1, kink_side="text"))
    before, after = training.exact_parameters
    gradients = run_pass(chapter7, "exact")
    for name in before:
        start = convert(chapter7.parameters[name], "exact")
        expected = start - Fraction(1, 10) * gradients.gradient(name)
        assert all(isinstance(v, Fraction) for v in after[name].reshape(-1))
        assert (after[name] == expected).all(), name
    # the chapter's own numbers: W1[0][2] = 0.3 - 0.1 * 0.44, b2[3] = 0 + 0.1 * 0.625
    assert after["W1"][0, 2] == Fraction("0.256") and after["b2"][3] == Fraction("0.0625")
    moved = sum(int((after[n] != before[n]).sum()) for n in before)
    assert moved == 12  # the 12 nonzero gradients (the text says 11)
    first, second = training.records[0].loss[EXACT], training.records[1].loss[EXACT]
    assert first == Fraction(717, 800) and second < first


def test_default_kink_side_follows_torch_and_stays_exact(chapter7):
    """float64 torch puts z1[0] at +2.8e-17 (ReLU' = 1); the exact step then uses the
    gradient for that side of the kink, W1[0][0] - 0.1 * (-0.0975)."""
    training = run_training(chapter7, TrainingSettings(LR, 1))
    assert training.ok
    before, after = training.exact_parameters
    used = training.records[0].gradients
    for name in before:
        assert (after[name] == before[name] - Fraction(1, 10) * used[name]).all()
    assert used["W1"][0, 0] == Fraction("-0.0975") and after["W1"][0, 0] == Fraction("0.20975")
    kink = training.records[0].kinks[0]
    assert kink.z == "z1[0]" and kink.exact_z == 0 and kink.alive is True
    assert training.records[1].loss[EXACT] < Fraction(717, 800)


def test_text_kink_side_reports_torch_leaving_the_exact_track(chapter7):
    training = run_training(chapter7, TrainingSettings(LR, 2, kink_side="text"))
    assert not training.ok
    assert training.records[0].ok
    assert "W1[0][0]: torch ≠ exact" in training.records[1].problems
    assert "W1[0][0]: NumPy ≠ exact" not in training.records[1].problems
    text = render_training_text(training)
    assert "Steps 1–2 (values at step 1): hidden neuron 0 at the ReLU kink, z1[0] = exactly 0" in text
    assert "each track took its own side" in text
    assert "At step 1 torch took the other side of a kink than the exact track" in text


def test_torch_and_numpy_agree_for_20_steps_on_the_batch(batch):
    training = run_training(batch, TrainingSettings(LR, 20))
    assert training.ok, [r.problems for r in training.records]
    assert len(training.records) == 21
    losses = [r.loss["numpy"] for r in training.records]
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    assert all(r.max_diff < 1e-12 for r in training.records)
    # the exact track runs as long as it is cheap, then stops and says why
    assert 3 <= training.exact_steps < 20 and "digits" in training.exact_stop
    assert all((EXACT in r.loss) == (r.step <= training.exact_steps) for r in training.records)


def test_momentum_agrees_and_changes_the_trajectory(batch):
    plain = run_training(batch, TrainingSettings(LR, 6))
    heavy = run_training(batch, TrainingSettings(LR, 6, momentum=Decimal("0.9")))
    assert heavy.ok, [r.problems for r in heavy.records]
    assert heavy.records[1].loss[EXACT] == plain.records[1].loss[EXACT]  # v = g on the first step
    assert heavy.records[3].loss[EXACT] != plain.records[3].loss[EXACT]


def test_exact_momentum_is_pytorchs_convention(chapter7):
    """v1 = g0, v2 = 0.5 v1 + g1, p2 = p1 - 0.1 v2, all exact."""
    m = Decimal("0.5")
    training = run_training(chapter7, TrainingSettings(LR, 2, momentum=m))
    p0, p1, p2 = training.exact_parameters
    g0, g1 = training.records[0].gradients, training.records[1].gradients
    for name in p0:
        assert (p1[name] == p0[name] - Fraction(1, 10) * g0[name]).all()
        assert (p2[name] == p1[name] - Fraction(1, 10) * (Fraction(1, 2) * g0[name] + g1[name])).all()


def test_gradient_ascent_is_caught(batch):
    training = run_training(batch, TrainingSettings(LR, 3), update=GradientAscent())
    assert not training.ok
    assert not training.records[1].ok and training.records[0].ok
    assert any("torch ≠ exact" in p for p in training.records[1].problems)
    assert training.records[1].loss[EXACT] > training.records[0].loss[EXACT]


def test_averaged_momentum_is_caught_only_with_momentum(batch):
    assert run_training(batch, TrainingSettings(LR, 3), update=MomentumAveraged()).ok
    training = run_training(batch, TrainingSettings(LR, 3, momentum=Decimal("0.9")), update=MomentumAveraged())
    assert not training.records[1].ok


def test_unmoved_parameters_and_why(chapter7):
    training = run_training(chapter7, TrainingSettings(LR, 3))
    unmoved = dict(training.unmoved)
    assert unmoved["W2[1][0]"] == "dead neuron 1"
    assert unmoved["W1[1][2]"] == "input x[1] = 0"
    assert "W1[0][2]" not in unmoved and "W1[0][0]" not in unmoved  # neuron 0 took torch's side
    assert len(unmoved) == 11


def test_float32_track_agrees_with_its_tolerance(batch):
    training = run_training(batch, TrainingSettings(LR, 10, dtype="float32"))
    assert training.ok, [r.problems for r in training.records]


def test_loss_text():
    assert loss_text(Fraction(717, 800)) == "0.89625"
    assert loss_text(Fraction(1, 3)) == "0.333333333333333…"


def test_cli_table_and_exit_status(capsys):
    assert main(["train", "--lr", "0.1", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split("|")[1].strip() for row in rows] == ["0", "1", "2", "3"]
    assert "0.89625" in rows[0]
    assert "Result: every step agrees" in out
    assert "W2[1][0]" in out and "dead neuron 1" in out


def test_cli_json_and_formats(capsys):
    assert main(["train", "--steps", "2", "--json", str(BATCH_PATH)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["lr"] == "0.1" and len(data["steps"]) == 3 and data["ok"] is True
    assert data["steps"][0]["loss_exact"] == pytest.approx(data["steps"][0]["loss_torch"])
    assert data["steps"][0]["dead_neurons"] == ["hidden neuron 1"]
    assert {u["parameter"] for u in data["unmoved"]} >= {"b1[1]", "W2[1][3]"}
    assert main(["train", "--steps", "1", "--format", "latex"]) == 0
    assert "\\begin{tabular}" in capsys.readouterr().out


def test_cli_disagreement_exits_1(capsys):
    assert main(["train", "--steps", "2", "--kink-side", "text"]) == 1
    assert "DISAGREEMENT at step(s) 1, 2" in capsys.readouterr().out


@pytest.mark.parametrize("args, expected", [
    (["train", "--lr", "abc"], "argument --lr: expected a finite decimal number, got 'abc'"),
    (["train", "--lr", "-0.1"], "--lr: expected a number >= 0 within float64 range"),
    (["train", "--lr", "nan"], "argument --lr: expected a finite decimal number, got 'nan'"),
    (["train", "--steps", "-2"], "argument --steps: expected a whole number >= 0, got '-2'"),
    (["train", "--steps", "1", "--momentum", "-1"], "--momentum: expected a number >= 0 within float64 range"),
    (["train", "--steps", "1", "--self-test"], "unrecognized arguments: --self-test"),
])
def test_cli_bad_training_options_exit_2(args, expected, capsys):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and expected in captured.err and len(captured.err.strip().splitlines()) == 1


def test_unmoved_on_the_batch_names_the_common_cause(batch):
    training = run_training(batch, TrainingSettings(LR, 2))
    unmoved = dict(training.unmoved)
    assert set(unmoved) == {"W1[0][1]", "W1[1][1]", "W1[2][1]", "W1[3][1]", "b1[1]",
                            "W2[1][0]", "W2[1][1]", "W2[1][2]", "W2[1][3]"}
    assert set(unmoved.values()) == {"dead neuron 1 in every example"}


def test_common_cause():
    from compare.training import common_cause
    assert common_cause("example 0: dead neuron 1; input x[0] = 0; example 1: dead neuron 1") == \
        "dead neuron 1 in every example"
    assert common_cause("example 0: input x[0] = 0; example 1: dead neuron 1") == \
        "example 0: input x[0] = 0; example 1: dead neuron 1"
    assert common_cause("input x[1] = 0") == "input x[1] = 0"


def test_exact_track_stop_is_reported(chapter7):
    training = run_training(chapter7, TrainingSettings(LR, 4, exact_digit_limit=50))
    assert training.ok and training.exact_steps < 4
    text = render_training_text(training)
    assert f"so the exact track stops at step {training.exact_steps}" in text
    assert "limit 50" in text


def test_the_texts_trajectory_kills_the_last_live_neuron_at_step_4(chapter7):
    """With ReLU'(0) = 0 at z1[0] = 0 (the text's convention) only hidden neuron 2 learns,
    and gradient descent pushes its z below 0 at step 4: every hidden neuron is dead."""
    training = run_training(chapter7, TrainingSettings(LR, 6, kink_side="text"))
    assert set(training.records[0].dead) == {(1, 0), (1, 1)}
    assert set(training.records[3].dead) == {(1, 0), (1, 1)}
    assert set(training.records[4].dead) == {(1, 0), (1, 1), (1, 2)}
    assert -0.005 < training.records[4].dead[(1, 2)] < 0
    text = render_training_text(training)
    assert "Hidden neuron 2 dies at step 4 (z1[2] = -0.00449)" in text
    assert "From step 4 on every ReLU neuron is dead: only the output layer's bias still learns." in text
    # torch's side of the kink keeps hidden neuron 0 alive
    followed = run_training(chapter7, TrainingSettings(LR, 6))
    assert all((1, 0) not in r.dead for r in followed.records)


# ---------------------------------------------------------------- review fixes

MAZUR = BATCH_PATH.parent / "mazur_2_2_2_sigmoid.toml"


def test_mazur_step_reproduces_his_published_updated_weights(capsys):
    """Mazur's worked example: lr 0.5, one step; he prints w5+ = 0.35891648 (W2[0][0])
    and w1+ = 0.149780716 (W1[0][0]). The ground truth is mpmath at 50 digits."""
    from mpmath import mpf
    exercise = load_exercise(MAZUR)
    training = run_training(exercise, TrainingSettings(Decimal("0.5"), 1))
    assert training.ok and training.exact_name == "50-digit"
    after = training.exact_parameters[1]
    assert isinstance(after["W2"][0, 0], mpf)
    assert round(float(after["W2"][0, 0]), 8) == 0.35891648
    assert round(float(after["W1"][0, 0]), 9) == 0.149780716
    assert main(["train", "--lr", "0.5", "--steps", "1", str(MAZUR)]) == 0
    out = capsys.readouterr().out
    assert "loss (50-digit)" in out and "loss (exact)" not in out
    assert "50-digit track (mpmath): all 1 step(s)" in out and "exact fractions" not in out
    row = next(line for line in out.splitlines() if line.startswith("| W2[0][0]"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[0] == "W2[0][0]" and cells[1] == "0.40" and cells[-1] == "agree"
    assert cells[3].startswith("≈") and round(float(cells[3][1:]), 8) == 0.35891648
    assert round(float(cells[4]), 8) == round(float(cells[5]), 8) == 0.35891648
    w1 = [c.strip() for c in next(line for line in out.splitlines() if line.startswith("| W1[0][0]")).split("|")]
    assert round(float(w1[4][1:]), 9) == round(float(w1[5]), 9) == 0.149780716
    assert "Result: every step agrees (50-digit vs NumPy vs torch)." in out


def test_parameter_table_after_step_1(chapter7, capsys):
    """All 31 parameters, before, the gradient, W - lr g exact and both float tracks."""
    assert main(["train", "--lr", "0.1", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in out.splitlines() if line.startswith("| W") or line.startswith("| b")}
    assert len(rows) == 31
    # W1[0][0]: 0.2 - 0.1 * (-0.0975) on torch's side of the kink; W1[0][2]: 0.3 - 0.1 * 0.44
    assert rows["W1[0][0]"] == ["0.2", "-0.0975", "0.20975", "0.20975", "0.20975", "agree"]
    assert rows["W1[0][2]"][:4] == ["0.3", "0.44", "0.256", "0.256"]
    assert rows["b2[3]"][:3] == ["0.0", "-0.625", "0.0625"]
    assert "after (exact, θ − lr·∂L/∂θ)" in out


def test_parameter_table_catches_a_wrong_update(chapter7):
    from compare.training_report import step1_rows
    training = run_training(chapter7, TrainingSettings(LR, 1), update=GradientAscent())
    rows = {r["parameter"]: r for r in step1_rows(training)}
    assert rows["W1[0][2]"]["after_exact"] == "0.344"  # 0.3 + 0.1 * 0.44: the broken update, exact
    assert rows["W1[0][2]"]["verdict"] == "DISAGREE: torch ≠ exact"
    assert rows["W1[0][1]"]["verdict"] == "agree"  # zero gradient: both updates leave it


def test_json_has_step1_rows_and_final_parameters(capsys):
    assert main(["train", "--steps", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["parameter"]: r for r in data["step1_parameters"]}
    assert len(rows) == 31 and rows["W1[0][0]"]["after_exact"] == "0.20975"
    assert rows["W1[0][0]"]["after_torch"] == pytest.approx(0.20975, abs=1e-15)
    final = data["parameters"]
    assert set(final) == {"W1", "b1", "W2", "b2"}
    assert len(final["W1"]["numpy"]) == 4 and len(final["W1"]["numpy"][0]) == 3
    for kind in ("numpy", "torch"):
        assert float(final["b2"]["exact"][3]) == pytest.approx(final["b2"][kind][3], abs=1e-12)
    assert data["ground_truth"] == "exact rational arithmetic (fractions.Fraction)"


def test_json_final_parameters_of_a_50_digit_network(capsys):
    assert main(["train", "--lr", "0.5", "--steps", "1", "--json", str(MAZUR)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ground_truth"] == "mpmath at 50 significant digits"
    w5 = data["parameters"]["W2"]
    assert w5["exact"][0][0].startswith("≈") and len(w5["exact"][0][0]) >= 17  # more digits than the text table
    assert round(float(w5["exact"][0][0][1:]), 8) == round(w5["torch"][0][0], 8) == 0.35891648


def test_large_network_leaves_the_exact_track_out(large_file, monkeypatch, capsys):
    from compare import training as training_module
    from compare.finite_differences import EXACT_BUDGET, step_cost
    exercise = load_exercise(large_file)
    assert step_cost(exercise) > EXACT_BUDGET

    def no_exact_track(*args, **kwargs):
        raise AssertionError("the exact track must not run on a large network")
    monkeypatch.setattr(training_module.HandTrack, "denominator_digits", no_exact_track)
    training = run_training(exercise, TrainingSettings(LR, 3))
    assert training.ok and training.large and training.exact_parameters == []
    assert all(EXACT not in r.loss for r in training.records)
    assert training.records[3].loss["numpy"] < training.records[0].loss["numpy"]
    text = render_training_text(training)
    assert ("Exact track: left out, the network is too large for exact arithmetic; NumPy vs torch only."
            in text)
    assert "Parameter table left out: 13004 parameters" in text
    assert "Result: every step agrees (NumPy vs torch)." in text
    assert main(["train", "--steps", "1", "--json", str(large_file)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["exact_steps"] is None and data["step1_parameters"] is None
    assert data["parameters"]["b2"]["exact"] is None and len(data["parameters"]["b2"]["torch"]) == 4


def test_large_network_catches_a_broken_update(large_file):
    training = run_training(load_exercise(large_file), TrainingSettings(LR, 1), update=GradientAscent())
    assert not training.ok and any("torch ≠ NumPy" in p for p in training.records[1].problems)


def test_progress_bar_wraps_the_step_loop(chapter7, monkeypatch):
    from compare import training as training_module
    calls = []

    def fake_bar(description, enabled):
        calls.append((description, enabled))
        return lambda iterable: (calls.append("iterated") or list(iterable))
    monkeypatch.setattr(training_module, "progress_bar", fake_bar)
    run_training(chapter7, TrainingSettings(LR, 2), show_progress=True)
    assert calls == [("gradient-descent steps", True), "iterated"]
    calls.clear()
    assert main(["train", "--steps", "1", "--json"]) == 0  # on stderr: the JSON on stdout stays as it is
    assert calls == [("gradient-descent steps", True), "iterated"]
    calls.clear()
    assert main(["train", "--steps", "1"]) == 0
    assert calls[0] == ("gradient-descent steps", True)


def test_zero_learning_rate_says_so_once(chapter7, capsys):
    assert main(["train", "--lr", "0", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "The learning rate is 0, so no parameter moves." in out
    assert "Did not move" not in out and "will increase" not in out and "dead neuron 1" not in out
    training = run_training(chapter7, TrainingSettings(Decimal(0), 2))
    assert training.records[2].loss[EXACT] == Fraction(717, 800)
    assert {reason for _, reason in training.unmoved} == {"the learning rate is 0"}


@pytest.mark.parametrize("args, expected", [
    (["train", "--lr", "1e400", "--steps", "1"],
     "--lr: expected a number >= 0 within float64 range (0 or 2.23e-308 to 1.80e+308 in magnitude); got 1E+400"),
    (["train", "--steps", "1", "--momentum", "1e400"],
     "--momentum: expected a number >= 0 within float64 range (0 or 2.23e-308 to 1.80e+308 in magnitude); got 1E+400"),
    (["train", "--lr", "1e-400", "--steps", "1"],
     "--lr: expected a number >= 0 within float64 range (0 or 2.23e-308 to 1.80e+308 in magnitude); got 1E-400"),
    (["train", "--lr", "1e39", "--steps", "1", "--dtype", "float32"],
     "--lr: expected a number >= 0 within float32 range (0 or 1.18e-38 to 3.40e+38 in magnitude); got 1E+39"),
])
def test_learning_rate_beyond_the_dtype_range_exits_2(args, expected, capsys):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip().endswith(expected)
    assert len(captured.err.strip().splitlines()) == 1


def test_huge_finite_learning_rate_reports_overflow_without_crashing(chapter7):
    training = run_training(chapter7, TrainingSettings(Decimal("1e300"), 3))
    assert not training.ok
    assert "L: NumPy ≠ exact (beyond float64's range)" in training.records[1].problems
    text = render_training_text(training)
    assert "≈9.75e+298" in text  # W1[0][0] after step 1: 0.2 + 1e300 * 0.0975, shown briefly


@pytest.fixture
def leaky_file(tmp_path):
    """Chapter 7 with leaky ReLU (slope 0.25): z1[0] is still exactly 0."""
    text = CHAPTER7_PATH.read_text()
    text = text[:text.index("[answers]")]
    old = 'activations = ["relu", "identity"]'
    assert old in text
    path = tmp_path / "leaky.toml"
    path.write_text(text.replace(old, 'activations = ["leaky_relu", "identity"]\nnegative_slope = 0.25'))
    return path


def test_leaky_relu_kink_wording_and_never_dead(leaky_file):
    exercise = load_exercise(leaky_file)
    followed = run_training(exercise, TrainingSettings(LR, 3))
    assert followed.ok
    assert all(not r.dead for r in followed.records)
    kink = followed.records[0].kinks[0]
    assert kink.z == "z1[0]" and kink.exact_z == 0 and kink.activation == "leaky_relu"
    text = render_training_text(followed)
    assert ("hidden neuron 0 at the leaky ReLU kink, z1[0] = exactly 0; numpy -2.8e-17, torch 2.8e-17; "
            "every track took torch's side, leaky ReLU′ = 1 (right), a valid subgradient") in text
    assert "dead" not in text.lower() and "dies" not in text and "ReLU′ = 0" not in text
    # hidden neuron 1 (z = -0.1) still learns through the slope: only x[1] = 0 keeps weights still
    assert {reason for _, reason in followed.unmoved} == {"input x[1] = 0"}
    own = render_training_text(run_training(exercise, TrainingSettings(LR, 2, kink_side="text")))
    assert ("numpy -2.8e-17: leaky ReLU′ = 0.25 (left); torch 2.8e-17: leaky ReLU′ = 1 (right); "
            "each track took its own side") in own
    assert "dead" not in own.lower()
    # the exact step at the kink uses the slope: dL/dW1[0][0] = 0.25 * the right-side gradient
    exact_side = run_training(exercise, TrainingSettings(LR, 1, kink_side="text"))
    right_side = followed
    assert exact_side.records[0].gradients["W1"][0, 0] == \
        Fraction(1, 4) * right_side.records[0].gradients["W1"][0, 0] != 0


def test_memory_stays_bounded_past_steps_are_not_kept(chapter7):
    """Only what the report reads is kept: the exact parameters of states 0, 1 and the
    last, the exact gradients of steps 0 and 1."""
    training = run_training(chapter7, TrainingSettings(LR, 6))
    assert training.exact_steps == 6
    assert [p is None for p in training.exact_parameters] == [False, False, True, True, True, True, False]
    assert [r.gradients is None for r in training.records[:6]] == [False, False, True, True, True, True]
    full = run_training(chapter7, TrainingSettings(LR, 2))
    assert training.exact_parameters[1]["W1"].tolist() == full.exact_parameters[1]["W1"].tolist()
    assert render_training_text(training).count("agree") > 31
