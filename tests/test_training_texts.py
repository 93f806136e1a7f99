"""Training as texts write it: frozen parameters, the file's [training] settings, the
values a text prints after its update steps ([after.K]), Mazur's walk-through, and the
training picture (train --plot)."""
import json
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from compare.cli import main
from compare.training import FROZEN_REASON, HandTrack, TorchTrack, TrainingSettings, run_training
from compare.training_plot import loss_series, moving_parameters
from compare.training_report import render_training_json, render_training_text
from reference import load_exercise
from reference.exercise import CHAPTER7_PATH, ExerciseError
from reference.numbers import convert

DATA = CHAPTER7_PATH.parent
MAZUR = DATA / "mazur_2_2_2_sigmoid.toml"
LR = Decimal("0.1")
# Chapter 7 after one step of lr 0.1 (torch's side of the kink at z1[0]): L, and W2[2][0] = 0.2 + 0.1 * 0.225
LOSS_AFTER_1 = Fraction("0.7218389847125")


def chapter7_with(tmp_path, extra: str, name: str = "ch7.toml"):
    path = tmp_path / name
    path.write_text(CHAPTER7_PATH.read_text() + "\n" + extra)
    return path


# ---------------------------------------------------------------- freeze

def test_frozen_parameters_keep_their_values_in_all_three_tracks(chapter7):
    settings = TrainingSettings(LR, 3, freeze=("b1", "W2"))
    training = run_training(chapter7, settings)
    assert training.ok and training.frozen == ("b1", "W2")
    exact_final = training.exact_parameters[-1]
    for name in ("b1", "W2"):
        written = convert(chapter7.parameters[name], "exact")
        assert (exact_final[name] == written).all()  # exact fractions, not close
        for track in ("numpy", "torch"):
            np.testing.assert_array_equal(training.final[track][name], convert(chapter7.parameters[name], "float64"))
    # the others move, in every track the same
    assert exact_final["W1"][0, 2] != Fraction("0.3") and exact_final["b2"][0] != 0
    np.testing.assert_allclose(training.final["torch"]["b2"], exact_final["b2"].astype(float), rtol=1e-12)
    # step 1 of W1 by hand: W2 is frozen, so the gradient is the file's: 0.3 - 0.1 * 0.44
    assert training.exact_parameters[1]["W1"][0, 2] == Fraction("0.256")
    frozen_rows = [label for label, reason in training.unmoved if reason == FROZEN_REASON]
    assert len(frozen_rows) == 3 + 12


def test_torch_leaves_frozen_parameters_out_of_the_optimiser(chapter7):
    track = TorchTrack(chapter7, TrainingSettings(LR, 1, freeze=("b1", "b2")))
    named = track.named_parameters()
    assert not named["b1"].requires_grad and not named["b2"].requires_grad and named["W1"].requires_grad
    optimised = {id(p) for group in track.optimizer.param_groups for p in group["params"]}
    assert optimised == {id(named["W1"]), id(named["W2"])}
    everything = TorchTrack(chapter7, TrainingSettings(LR, 1, freeze=("W1", "b1", "W2", "b2")))
    assert everything.optimizer is None
    everything.forward_backward()  # no parameter to differentiate: no error
    everything.step()


def test_a_hand_update_that_ignores_freeze_is_caught(chapter7, monkeypatch):
    """The hand tracks update b1 after all while torch keeps it: every entry of b1 that
    has a gradient disagrees from step 1 on."""
    def step_everything(self, gradients):
        self.frozen = frozenset()
        return original(self, gradients)
    original = HandTrack.step
    monkeypatch.setattr(HandTrack, "step", step_everything)
    training = run_training(chapter7, TrainingSettings(LR, 2, freeze=("b1",)))
    assert not training.ok
    assert "b1[2]: torch ≠ exact" in training.records[1].problems


def test_freeze_names_are_checked(chapter7, capsys):
    with pytest.raises(ValueError, match=r"--freeze: .* 'W11' is not one; did you mean 'W1'\?"):
        run_training(chapter7, TrainingSettings(LR, 1, freeze=("W11",)))
    assert main(["train", "--freeze", "b3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--freeze: expected parameter names, each of W1, b1, W2, b2; 'b3'" in err
    assert main(["train", "--freeze", "b1,b1"]) == 2
    assert "given twice" in capsys.readouterr().err


def test_the_report_and_json_say_what_was_frozen(capsys):
    assert main(["train", "--freeze", "b1,b2", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "Frozen: b1, b2: they keep their values in every track" in out
    assert "| b2[0]       | 0.0      | -0.45           | 0                             | 0               | 0      " in out
    assert "agree (frozen)" in out
    assert main(["train", "--freeze", "b2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["freeze"] == ["b2"]
    assert data["parameters"]["b2"]["torch"] == [0.0, 0.1, -0.1, 0.0]
    assert {u["parameter"] for u in data["unmoved"] if u["reason"] == FROZEN_REASON} == {
        "b2[0]", "b2[1]", "b2[2]", "b2[3]"}


# ---------------------------------------------------------------- [training]

def test_training_table_gives_defaults_that_the_command_line_overrides(tmp_path, capsys):
    path = chapter7_with(tmp_path, '[training]\nlr = 0.05\nsteps = 2\nmomentum = 0.5\nfreeze = ["b1"]\n')
    exercise = load_exercise(path)
    assert exercise.training.lr == Decimal("0.05") and exercise.training.freeze == ("b1",)
    settings = TrainingSettings.for_exercise(exercise)
    assert (settings.lr, settings.steps, settings.momentum, settings.freeze) == (
        Decimal("0.05"), 2, Decimal("0.5"), ("b1",))
    assert main(["train", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"] == {**data["settings"], "lr": "0.05", "steps": 2, "momentum": "0.5", "freeze": ["b1"]}
    assert main(["train", str(path), "--json", "--lr", "0.1", "--steps", "1", "--momentum", "0", "--freeze", ""]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"] == {**data["settings"], "lr": "0.1", "steps": 1, "momentum": "0", "freeze": []}
    # without a [training] table: lr 0.1, 1 step, as before
    plain = TrainingSettings.for_exercise(load_exercise(CHAPTER7_PATH))
    assert (plain.lr, plain.steps, plain.momentum, plain.freeze) == (LR, 1, 0, ())


@pytest.mark.parametrize("table, message", [
    ("[training]\nlr = -1\n", "training.lr: expected a learning rate: a number >= 0"),
    ("[training]\nsteps = 1.5\n", "training.steps: expected a number of steps: a whole number >= 0"),
    ("[training]\nmomentum = 1e400\n", "training.momentum: expected finite numbers within float64 range"),
    ("[training]\nlr = 1e-99999999999999999999\n", "training.lr: expected finite numbers within float64 range"),
    ("[training]\nlr = nan\n", "training.lr: expected finite numbers within float64 range"),
    ('[training]\nfreeze = "b1"\n', "training.freeze: expected a list of parameter names"),
    ('[training]\nfreeze = ["b9"]\n', "training.freeze: expected parameter names, each of W1, b1, W2, b2; 'b9'"),
    ("[training]\nlearning_rate = 0.1\n", "training.learning_rate: expected one of lr, steps, momentum, freeze"),
    ("[training]\nsteeps = 2\n", "did you mean 'steps'?"),
    ("[after.0]\nL = 1\n", "after.0: expected a step number K >= 1"),
    ("[after.1]\nL = [1, 2]\n", "after.1.L: expected shape (), got (2,)"),
    ("[after.1]\nW3 = 1\n", "after.1.W3: expected L or a parameter of this network: L, W1, b1, W2, b2"),
    ('[after.1]\n"W1[4][0]" = 1\n', "after.1.W1[4][0]: expected an index into shape (4, 3)"),
    ('[after.1]\nb2 = [0, 0, 0, 0]\n"b2[1]" = 0\n', "after.1.b2[1]: expected one value per entry, but b2[1] is given"),
    ('[after.1]\nL = 0.7\n[errata]\nafter = ["2.L"]\n', "errata.after: expected \"K.KEY\" names of [after.K] "
                                                       "values; '2.L' is not one; did you mean '1.L'?"),
    ('[errata]\nnotes = ["x"]\n', "errata.notes: expected one of claims, after"),
])
def test_bad_training_and_after_tables_are_one_line(tmp_path, capsys, table, message):
    text = CHAPTER7_PATH.read_text().replace("[errata]\n", "[errata]\n" if "[errata]" not in table else "[old]\n")
    path = tmp_path / "bad.toml"
    path.write_text(text.split("[old]")[0] + table if "[errata]" in table else text + "\n" + table)
    with pytest.raises(ExerciseError) as error:
        load_exercise(path)
    assert message in str(error.value)
    assert main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


# ---------------------------------------------------------------- [after.K]

def test_values_after_a_step_right_and_wrong(tmp_path, capsys):
    right = chapter7_with(tmp_path, '[after.1]\nL = 0.7218\n"W2[2][0]" = 0.2225\nb2 = [0.045, 0.155, -0.0975, 0.0625]\n')
    training = run_training(load_exercise(right), TrainingSettings(LR, 1))
    assert training.ok and len(training.step_checks) == 6 and all(c.agree for c in training.step_checks)
    loss = training.step_checks[0]
    assert (loss.label, loss.expected, loss.against) == ("L", LOSS_AFTER_1, "exact")
    assert main(["train", str(right)]) == 0
    assert "Printed after the steps ([after.K]): 6 of 6 entries agree." in capsys.readouterr().out
    # 0.7217 is 1.4e-4 from the exact loss (half-width 5e-5); W2[2][0] is the value before the step
    wrong = chapter7_with(tmp_path, '[after.1]\nL = 0.7217\n"W2[2][0]" = 0.20\n', "wrong.toml")
    assert main(["train", str(wrong)]) == 1
    out = capsys.readouterr().out
    assert "| 1            | L        | 0.7217    | 0.7218389847125 | DISAGREE: printed 0.7217 ≠ exact |" in out
    assert ("Result: every step agrees (exact vs NumPy vs torch), but printed values after the steps are wrong: "
            "after step 1: L, after step 1: W2[2][0].") in out
    assert main(["train", str(wrong), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert not data["ok"] and [(a["entry"], a["agree"]) for a in data["after"]] == [("L", False), ("W2[2][0]", False)]
    assert data["after"][0]["expected_exact"] == "0.7218389847125"


def test_a_value_after_a_step_the_run_does_not_reach_is_not_checked(tmp_path, capsys):
    path = chapter7_with(tmp_path, "[after.3]\nL = 0.1\n")
    assert TrainingSettings.for_exercise(load_exercise(path)).steps == 3  # the last [after.K] by default
    assert main(["train", str(path), "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "not checked: the run stopped before this step" in out
    assert "0 of 0 entries agree; 1 not checked (after step 3: the run stopped after step 2)" in out
    assert main(["train", str(path)]) == 1  # 3 steps: 0.1 is wrong


def test_known_errata_after_a_step(tmp_path):
    erratum = chapter7_with(tmp_path, "[after.1]\nL = 0.7217\n")
    text = erratum.read_text().replace('[errata]\nclaims = ["nonzero_gradients", "zero_gradients"]',
                                       '[errata]\nclaims = ["nonzero_gradients", "zero_gradients"]\nafter = ["1.L"]')
    assert 'after = ["1.L"]' in text
    erratum.write_text(text)
    training = run_training(load_exercise(erratum), TrainingSettings(LR, 1))
    assert training.ok and training.step_checks[0].verdict == "known erratum"
    holds = tmp_path / "holds.toml"
    holds.write_text(text.replace("L = 0.7217", "L = 0.7218"))
    training = run_training(load_exercise(holds), TrainingSettings(LR, 1))
    assert not training.ok and "listed as an erratum, but it holds" in training.step_checks[0].verdict


def test_a_value_after_a_step_past_the_exact_track_is_judged_against_numpy(tmp_path):
    path = chapter7_with(tmp_path, "[after.4]\nL = 0.4401\n")  # exactly 0.44005545412...
    training = run_training(load_exercise(path), TrainingSettings(LR, 4, exact_digit_limit=40))
    check = training.step_checks[0]
    assert training.exact_steps < 4 and check.against == "NumPy float64 (the exact track stopped)"
    assert check.expected == Fraction(training.records[4].loss["numpy"]) and check.agree


def test_grading_rule_judges_values_after_a_step(tmp_path):
    path = chapter7_with(tmp_path, "[after.1]\nL = 0.727\n[grading]\nrtol = 0.01\n")  # 0.72% off
    training = run_training(load_exercise(path), TrainingSettings(LR, 1))
    assert training.step_checks[0].agree and "relative tolerance" in training.step_checks[0].rule
    strict = chapter7_with(tmp_path, "[after.1]\nL = 0.727\n", "strict.toml")
    assert not run_training(load_exercise(strict), TrainingSettings(LR, 1)).step_checks[0].agree


# ---------------------------------------------------------------- Mazur

def test_mazurs_walk_through_weights_only(capsys):
    """His lr 0.5 and frozen biases from the file; his eight updated weights agree, his
    error after the first step is a known erratum (0.291027924 printed, 0.2910277737
    exactly), his error after 10,000 iterations is the state after 9,999 updates
    (not reached in the default one step)."""
    exercise = load_exercise(MAZUR)
    assert exercise.training.freeze == ("b1", "b2") and exercise.training.lr == Decimal("0.5")
    training = run_training(exercise, TrainingSettings.for_exercise(exercise))
    assert training.ok and training.settings.steps == 1
    checks = {c.label: c for c in training.step_checks if c.step == 1}
    weights = [label for label in checks if label != "L"]
    assert len(weights) == 8 and all(checks[label].agree for label in weights)
    assert checks["L"].agree is False and checks["L"].erratum
    assert f"{float(checks['L'].expected):.10f}" == "0.2910277737"
    assert training.step_checks[-1].step == 9999 and training.step_checks[-1].agree is None
    assert (training.final["torch"]["b2"] == [0.6, 0.6]).all()
    assert main(["train", str(MAZUR)]) == 0
    out = capsys.readouterr().out
    assert "8 of 9 entries agree; 1 known erratum (after step 1: L); 1 not checked" in out
    # with the biases updated too his weights still agree (the first step's gradients do not
    # depend on it), and his error after the step is no nearer
    assert main(["train", str(MAZUR), "--freeze", "", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all(a["agree"] for a in data["after"] if a["entry"] != "L" and a["step"] == 1)
    assert data["after"][-2]["verdict"] == "known erratum"


# ---------------------------------------------------------------- the picture

@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_train_plot_writes_the_loss_and_the_moving_parameters(tmp_path, capsys, suffix):
    path = tmp_path / f"training{suffix}"
    assert main(["train", str(MAZUR), "--steps", "5", "--plot", str(path)]) == 0
    assert capsys.readouterr().out.rstrip().endswith(f"wrote {path}")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"Loss after each step" in data
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # written atomically, nothing else left


def test_the_pictures_series(chapter7):
    training = run_training(chapter7, TrainingSettings(LR, 4, freeze=("b2",)))
    series = loss_series(training)
    assert series["exact"][0].tolist() == [0, 1, 2, 3, 4]
    assert series["exact"][1][1] == float(training.records[1].loss["exact"])
    np.testing.assert_allclose(series["numpy"][1], series["exact"][1], rtol=1e-12)
    np.testing.assert_allclose(series["torch"][1], series["numpy"][1], rtol=1e-12)
    moving = moving_parameters(training)
    labels = [label for label, _ in moving]
    assert len(moving) == 6 and not any(label.startswith("b2") for label in labels)
    assert all(len(values) == 5 for _, values in moving)


def test_train_plot_refuses_a_bad_name_before_the_steps(tmp_path, capsys):
    assert main(["train", "--plot", str(tmp_path / "loss.pdf")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "--plot:" in captured.err
    assert main(["train", "--plot", str(tmp_path / "missing" / "loss.png")]) == 2
    assert "expected an existing directory" in capsys.readouterr().err


def test_json_output_is_not_followed_by_the_wrote_line(tmp_path, capsys):
    path = tmp_path / "t.png"
    assert main(["train", "--json", "--plot", str(path)]) == 0
    json.loads(capsys.readouterr().out)
    assert path.exists()


def test_text_report_of_training_names_wrong_values_after_steps_with_a_disagreeing_step(chapter7, tmp_path):
    from compare.training import GradientAscent
    path = chapter7_with(tmp_path, "[after.1]\nL = 0.7218\n")
    training = run_training(load_exercise(path), TrainingSettings(LR, 1), update=GradientAscent())
    text = render_training_text(training)
    assert "Result: DISAGREEMENT at step(s) 1; printed values after the steps wrong: after step 1: L." in text
    assert json.loads(render_training_json(training))["after"][0]["agree"] is False


def test_a_50_digit_track_that_divides_by_zero_stops_and_the_floats_go_on(tmp_path):
    """Found by the hostile-input test: a leaky slope of 1e300 throws the sigmoid output to
    exactly 1 after one step; BCE's 1/(p(1 - p)) then divides by zero in the 50-digit track,
    which stops there (before: a ZeroDivisionError out of `train`)."""
    path = tmp_path / "saturates.toml"
    path.write_text('[network]\nsizes = [1, 2, 1]\nactivations = ["leaky_relu", "sigmoid"]\nloss = "bce"\n'
                    "negative_slope = 1e300\n[parameters]\nW1 = [[0, 0]]\nb1 = [0, 1e300]\nW2 = [[0], [0]]\n"
                    "b2 = [0]\n[[examples]]\nx = [0]\ny = [0]\n")
    training = run_training(load_exercise(path), TrainingSettings(LR, 2))
    assert training.exact_steps == 0 and "its pass at step 1 divides by zero" in training.exact_stop
    assert len(training.records) == 3
    assert main(["train", str(path), "--steps", "2"]) == 1


def test_a_value_after_a_step_on_the_texts_side_of_the_kink_agrees_as_a_subgradient(tmp_path, capsys):
    # z1[0] = 0 exactly: the text's ReLU′(0) = 0 leaves W1[0][0] at 0.2; torch's side (ReLU′ = 1, which the
    # exact track follows) moves it to 0.2 − 0.1 · (−0.0975) = 0.20975. Either is a valid subgradient step.
    text_side = chapter7_with(tmp_path, '[after.1]\n"W1[0][0]" = 0.200\n"W1[0][2]" = 0.256\n"b2[0]" = 0.045\n')
    training = run_training(load_exercise(text_side), TrainingSettings(LR, 1))
    first = training.step_checks[0]
    assert training.ok and (first.expected, first.agree) == (Fraction("0.2"), True)  # judged on the text's side
    assert first.verdict == ("agree: subgradient (the text's ReLU′(0) = 0 at z1[0] = 0 in step 1, where the exact "
                             "track took torch's side, ReLU′ = 1)")
    assert [c.verdict for c in training.step_checks[1:]] == ["agree", "agree"]  # the side changes nothing there
    assert main(["train", str(text_side)]) == 0
    capsys.readouterr()
    torch_side = chapter7_with(tmp_path, '[after.1]\n"W1[0][0]" = 0.20975\n', "torch.toml")
    assert [c.verdict for c in run_training(load_exercise(torch_side), TrainingSettings(LR, 1)).step_checks] == [
        "agree"]
    neither = chapter7_with(tmp_path, '[after.1]\n"W1[0][0]" = 0.205\n', "neither.toml")
    assert main(["train", str(neither)]) == 1  # right on no side of the kink
    assert "DISAGREE: printed 0.205 ≠ exact" in capsys.readouterr().out


def test_values_after_a_step_from_both_sides_of_one_kink_are_mixed_sides(tmp_path, capsys):
    # L and b1[0] = 0.1 + 0.1 · 0.0975 are right only with ReLU′ = 1 at z1[0], W1[0][0] = 0.2 only with
    # ReLU′(0) = 0: no single update gives all three
    mixed = chapter7_with(tmp_path, '[after.1]\nL = 0.7218389847125\n"W1[0][0]" = 0.2000\n"b1[0]" = 0.10975\n')
    checks = run_training(load_exercise(mixed), TrainingSettings(LR, 1)).step_checks
    assert [c.agree for c in checks] == [True, False, True]
    assert checks[1].verdict == ("DISAGREE: printed 0.2000 ≠ exact (right only with ReLU′(0) = 0 at z1[0] = 0 in "
                                 "step 1, where the other values take ReLU′ = 1: mixed sides of the kink)")
    # the majority on the text's side: the value on torch's side is the one named
    text_majority = chapter7_with(tmp_path, '[after.1]\n"W1[0][0]" = 0.2000\n"b1[0]" = 0.1000\n"W1[2][0]" = 0.10975\n',
                                  "text_majority.toml")
    checks = run_training(load_exercise(text_majority), TrainingSettings(LR, 1)).step_checks
    assert [c.agree for c in checks] == [True, True, False]
    assert checks[2].mixed.startswith("right only with ReLU′ = 1 at z1[0] = 0 in step 1")
    assert main(["train", str(text_majority)]) == 1


def test_train_plot_of_a_loss_too_large_for_matplotlibs_axes_is_one_line(tmp_path, capsys):
    # found by the hostile-input property test: a loss of 1e308 overflows matplotlib's tick layout
    path = tmp_path / "huge.toml"
    path.write_text('[network]\nsizes = [2, 2]\nactivations = ["identity"]\nloss = "cross_entropy"\nbias = [false]\n'
                    '[parameters]\nW1 = [[0, -1], [0, 0]]\n[[examples]]\nx = [-1e308, 0]\ny = 0\n')
    picture = tmp_path / "loss.png"
    assert main(["train", str(path), "--steps", "0", "--plot", str(picture)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "cannot draw values this large (a loss or parameter of 1e+308" in err
    assert not picture.exists() and [p.name for p in tmp_path.iterdir()] == ["huge.toml"]


def test_train_plot_of_a_loss_that_overflows_to_inf_is_one_line_without_warnings(tmp_path, capsys, recwarn):
    # found by the hostile-input property test: lr 1e308 sends the loss to inf after one step
    path = tmp_path / "inf.toml"
    path.write_text('[network]\nsizes = [1, 1]\nactivations = ["identity"]\n[parameters]\nW1 = [[0]]\nb1 = [0]\n'
                    '[[examples]]\nx = [0]\ny = [0]\n[[examples]]\nx = [0]\ny = [1]\n')
    assert main(["train", str(path), "--steps", "1", "--lr", "1e308", "--plot", str(tmp_path / "loss.png")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "cannot draw values this large (a loss or parameter of inf" in err
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
