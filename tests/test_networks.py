"""Any MLP: activations, losses, 50-digit ground truth, finite differences, forward mode."""
import json
from decimal import Decimal
from fractions import Fraction

import io

import pytest

from compare import compare_exercise, summarize
from compare.cli import main
from compare.progress import progress_bar
from compare.catalogue import MaskDropped
from compare.witnesses import add_finite_differences, add_jvp
from reference import load_exercise, run_pass
from reference.exercise import CHAPTER7_PATH, ExerciseError

DATA = CHAPTER7_PATH.parent
BUNDLED = sorted(p.name for p in DATA.glob("*.toml"))


@pytest.mark.parametrize("name", BUNDLED)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bundled_exercises_pass_with_every_witness(name, dtype, capsys):
    assert main([str(DATA / name), "--dtype", dtype, "--fd", "--jvp", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["ok"] and data["summary"]["jvp"]["agree"] == 3
    assert all(g["finite_difference"] is not None for g in data["gradients"])


def test_bundled_set_has_xor_tanh_and_softmax():
    archs = {name: load_exercise(DATA / name).architecture for name in BUNDLED}
    assert archs["xor_2_2_1_sigmoid.toml"].sizes == (2, 2, 1)
    assert archs["xor_2_2_1_sigmoid.toml"].activations == ("sigmoid", "sigmoid")
    assert "tanh" in archs["tanh_3_4_2.toml"].activations
    assert archs["softmax_classifier.toml"].loss == "cross_entropy"


def test_mazur_printed_values_reproduce_at_50_digits():
    exercise = load_exercise(DATA / "mazur_2_2_2_sigmoid.toml")
    assert exercise.architecture.ground_truth == "mp50"
    values = run_pass(exercise, "mp50").values
    assert abs(values["L"][()] - Decimal("0.298371109").__float__()) < 5e-10
    assert f"{float(values['dL/dW2'][0, 0]):.9f}" == "0.082167041"
    assert f"{float(values['dL/dW1'][0, 0]):.9f}" == "0.000438568"
    summary = summarize(compare_exercise(exercise))
    assert summary["printed_checked"] == summary["printed_agree"] == 8
    assert summary["ground_truth"] == "mpmath at 50 significant digits"


def test_exact_arithmetic_refuses_sigmoid():
    with pytest.raises(ValueError, match="mp50"):
        run_pass(load_exercise(DATA / "xor_2_2_1_sigmoid.toml"), "exact")


def test_class_indices_and_one_hot_give_the_same_gradients(tmp_path):
    text = (DATA / "softmax_classifier.toml").read_text()
    one_hot = text.replace("y = 0", "y = [1, 0, 0]").replace("y = 1", "y = [0, 1, 0]").replace("y = 2", "y = [0, 0, 1]")
    path = tmp_path / "one_hot.toml"
    path.write_text(one_hot)
    a, b = load_exercise(DATA / "softmax_classifier.toml"), load_exercise(path)
    assert a.class_indices and not b.class_indices
    ga = {r.label: r.exact for r in compare_exercise(a).gradients}
    comparison = compare_exercise(b)
    assert comparison.ok and ga == {r.label: r.exact for r in comparison.gradients}


@pytest.mark.parametrize("old, new, message", [
    ('loss = "bce"', 'loss = "bce_with_logits"', "'identity' for loss 'bce_with_logits'"),
    ('activations = ["sigmoid", "sigmoid"]', 'activations = ["sigmoid", "softplus"]', "network.activations[1]"),
    ("y = [1]", "y = [2]", "targets between 0 and 1"),
    ('reduction = "mean"', 'reduction = "mean"\nnegative_slope = "x"', "network.negative_slope"),
])
def test_bad_networks_are_rejected(tmp_path, old, new, message):
    path = tmp_path / "bad.toml"
    path.write_text((DATA / "xor_2_2_1_sigmoid.toml").read_text().replace(old, new, 1))
    with pytest.raises(ExerciseError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_exercise(path)


def test_class_index_out_of_range(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text((DATA / "softmax_classifier.toml").read_text().replace("y = 2", "y = 3"))
    with pytest.raises(ExerciseError, match=r"examples\[2\].y: expected a class index from 0 to 2"):
        load_exercise(path)


def test_finite_differences_are_exact_for_rational_networks_and_flag_the_kink(chapter7):
    comparison = compare_exercise(chapter7)
    add_finite_differences(comparison)
    rows = {r.label: r for r in comparison.gradients}
    assert rows["W1[0][2]"].finite_difference == Fraction(11, 25)  # exact, not approximately
    assert rows["W2[2][3]"].finite_difference == Fraction(-5, 16)
    assert "crosses the kink of hidden neuron 0" in rows["W1[0][0]"].fd_note
    assert "-0.0975" in rows["W1[0][0]"].fd_note and "and 0 (θ − h)" in rows["W1[0][0]"].fd_note
    assert not rows["W1[1][0]"].fd_note  # x[1] = 0: the perturbation does not move z1[0]
    assert comparison.finite_differences["crossing_kinks"] == 4
    assert comparison.ok


def test_finite_differences_reject_a_wrong_exact_value(chapter7):
    comparison = compare_exercise(chapter7)
    comparison.gradients[2].exact = Fraction(45, 100)  # W1[0][2] is 0.44
    add_finite_differences(comparison)
    assert "finite difference ≠ exact" in comparison.gradients[2].problems


def test_sample_takes_k_entries_per_tensor(chapter7):
    comparison = compare_exercise(chapter7)
    add_finite_differences(comparison, sample=2, seed=3)
    assert comparison.finite_differences["entries"] == 8
    assert sum(r.finite_difference is not None for r in comparison.gradients) == 8


def test_jvp_is_seeded_and_catches_a_broken_backward(chapter7):
    first, second = compare_exercise(chapter7), compare_exercise(chapter7)
    add_jvp(first, 3, seed=7)
    add_jvp(second, 3, seed=7)
    assert [j.jvp for j in first.jvp] == [j.jvp for j in second.jvp]
    assert all(j.agree for j in first.jvp)
    broken = compare_exercise(chapter7, backprop=MaskDropped(chapter7.architecture))
    add_jvp(broken, 3, seed=7)
    assert not any(j.agree for j in broken.jvp)
    assert "⟨hand gradient, v⟩ ≠ ⟨exact gradient, v⟩" in broken.jvp[0].verdict


def test_progress_off_a_terminal_is_periodic_lines(monkeypatch, capsys):
    from compare import progress
    items = [1, 2, 3, 4, 5]
    assert progress_bar("x", enabled=False)(items) is items
    assert list(progress_bar("quick")(items)) == items  # pytest's stderr is not a terminal
    assert capsys.readouterr().err == ""  # a loop shorter than a second prints nothing
    ticks = iter(range(0, 1000, 4))  # a clock that moves 4 s per reading
    monkeypatch.setattr(progress, "LINE_EVERY_SECONDS", 10.0)
    lines = io.StringIO()
    assert list(progress.progress_lines(items, "slow", lines, clock=lambda: next(ticks))) == items
    assert lines.getvalue().splitlines() == [
        "slow: 1/5 (20%), 00:04 elapsed, about 00:16 left",
        "slow: 4/5 (80%), 00:16 elapsed, about 00:04 left",
        "slow: 5/5 (100%), 00:24 elapsed"]


def test_a_step_without_a_loop_shows_its_elapsed_time_off_a_terminal(monkeypatch):
    import time
    from compare import progress
    lines = io.StringIO()
    with progress.progress_while("quick", stream=lines):
        pass
    assert lines.getvalue() == ""  # under a second: nothing
    monkeypatch.setattr(progress, "SHOW_AFTER_SECONDS", 0.0)
    with progress.progress_while("slow", stream=lines):
        time.sleep(0.3)
    assert lines.getvalue().splitlines() == ["slow: 00:00 elapsed", "slow: done in 00:00"]


def test_sample_without_fd_is_bad_usage(capsys):
    assert main(["--sample", "3"]) == 2
    assert "--sample: goes with --fd" in capsys.readouterr().err


def test_leaky_relu_kink_is_worded_as_leaky(tmp_path):
    text = (DATA / "chapter7.toml").read_text().split("[answers]")[0]
    text = text.replace('activations = ["relu", "identity"]', 'activations = ["leaky_relu", "identity"]\nnegative_slope = 0.25')
    path = tmp_path / "leaky.toml"
    path.write_text(text)
    comparison = compare_exercise(load_exercise(path))
    assert comparison.ok
    note = comparison.kink_notes[0]
    assert note.startswith("hidden neuron 0 is at the leaky ReLU kink: z1[0] = exactly 0: on the kink")
    assert "(left side, leaky ReLU′ = 0.25)" in note and "dead" not in note
    reasons = {r.label: r.reason for r in comparison.gradients}
    assert reasons["W2[0][0]"] == "neuron 0 outputs 0 (its pre-activation is exactly 0)"


def test_an_exact_zero_is_a_kink_in_50_digit_arithmetic_too(tmp_path):
    # 0.2 + 0 + 0.1 - 0.4 + 0.1 is about 3e-52 with binary 50-digit numbers: still the kink
    text = (DATA / "chapter7.toml").read_text().split("[answers]")[0].replace('loss = "mse"', 'loss = "bce_with_logits"')
    path = tmp_path / "logits.toml"
    path.write_text(text.replace("y = [1, 1, 0, 1]", "y = [1, 1, 0, 1]   "))
    comparison = compare_exercise(load_exercise(path))
    assert comparison.exercise.architecture.ground_truth == "mp50"
    assert [(k.neuron.layer, k.neuron.index, k.exact_z) for k in comparison.kinks] == [(1, 0, 0)]
    assert comparison.ok
