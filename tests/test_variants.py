"""Variants: the same network with fresh numbers per student, reproducible, within the
exercise's [variants] rules, each with its key, and graded student by student."""
import csv
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pytest

from compare.cli import main
from compare.variants import VariantError, make_variant, read_roster, seed_for
from reference import load_exercise, run_pass
from reference.exercise import CHAPTER7_PATH, VariantRules
from reference.numbers import decimals_written
from reference.writer import dump_exercise

DATA = CHAPTER7_PATH.parent
CHAPTER7 = load_exercise(CHAPTER7_PATH)


def test_a_seed_always_gives_the_same_variant_and_students_get_their_own():
    assert dump_exercise(make_variant(CHAPTER7, 7)) == dump_exercise(make_variant(CHAPTER7, 7))
    firsts = {str(make_variant(CHAPTER7, seed_for(f"student{i}")).parameters["W1"].tolist()) for i in range(20)}
    assert len(firsts) == 20
    assert seed_for("alice") == seed_for("alice") != seed_for("alice", 1)


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.toml")))
def test_a_variant_is_written_like_its_original(name, tmp_path):
    original = load_exercise(DATA / name)
    variant = make_variant(original, 11)
    for key, value in original.parameters.items():
        places = max(decimals_written(v) or 0 for v in value.reshape(-1))
        drawn = variant.parameters[key]
        assert drawn.shape == value.shape
        assert all((decimals_written(v) or 0) <= places for v in drawn.reshape(-1))
    assert variant.class_indices == original.class_indices
    if original.architecture.loss in ("bce", "bce_with_logits"):
        assert all(0 <= v <= 1 for v in variant.y.reshape(-1))
    assert not any(np.array_equal(variant.parameters[k], original.parameters[k]) for k in ("W1",))
    path = tmp_path / "v.toml"
    path.write_text(dump_exercise(variant))
    again = load_exercise(path)  # a valid exercise file, the same numbers
    assert all(np.array_equal(again.parameters[k], variant.parameters[k]) for k in variant.parameters)


def test_a_variant_keeps_the_texts_training_settings(tmp_path):
    # the printed update step delta_W2 = −lr·∂L/∂W2 is the text's only with the text's lr
    path = tmp_path / "trained.toml"
    path.write_text(CHAPTER7_PATH.read_text().split("[answers]")[0]
                    + '[training]\nlr = 0.5\nsteps = 3\nmomentum = 0.9\nfreeze = ["b1", "b2"]\n')
    variant = make_variant(load_exercise(path), 5)
    written = tmp_path / "variant.toml"
    written.write_text(dump_exercise(variant))
    training = load_exercise(written).training
    assert (training.lr, training.steps, training.momentum, training.freeze) == (
        Decimal("0.5"), 3, Decimal("0.9"), ("b1", "b2"))
    assert "[training]" not in dump_exercise(make_variant(CHAPTER7, 5))  # the chapter states none


@pytest.mark.parametrize("rules, check", [
    (VariantRules(kinks=1), lambda z: sum(v == 0 for v in z.reshape(-1)) == 1),
    (VariantRules(kink_margin=Decimal("0.1")), lambda z: all(abs(v) >= Decimal("0.1") for v in z.reshape(-1))),
    (VariantRules(dead="none"), lambda z: all(any(z[:, j] > 0) for j in range(z.shape[1]))),
    (VariantRules(dead="at_least_one"), lambda z: any(all(z[:, j] <= 0) for j in range(z.shape[1]))),
])
def test_the_rules_hold_for_every_seed(rules, check):
    batch = load_exercise(DATA / "diagonal_flip_batch.toml")
    for seed in range(5):
        variant = make_variant(replace(batch, variants=rules), seed)
        assert check(run_pass(variant, "exact").pre_activations[0]), seed


def test_impossible_rules_are_one_line():
    with pytest.raises(VariantError, match="no draw of 2000 satisfies the \\[variants\\] rules"):
        make_variant(replace(CHAPTER7, variants=VariantRules(kinks=1, dead="none")), 0)  # one example: the kink is dead


def test_short_answers_keep_the_key_in_short_decimals():
    from compare.formatting import terminating_places
    values = run_pass(make_variant(CHAPTER7, 3), "exact").values
    assert all(terminating_places(v) is not None and terminating_places(v) <= 6
               for name in ("dL/dW1", "dL/dW2", "L") for v in np.asarray(values[name], dtype=object).reshape(-1))


def test_a_roster_is_read_by_its_id_column(tmp_path):
    (tmp_path / "a.csv").write_text("name,email\nAlice,alice@x.org\nBob,bob@x.org\n")
    assert read_roster(tmp_path / "a.csv") == ["alice@x.org", "bob@x.org"]
    (tmp_path / "b.csv").write_text("alice\nbob\n")
    assert read_roster(tmp_path / "b.csv") == ["alice", "bob"]
    (tmp_path / "c.csv").write_text("id\nalice\nalice\n")
    with pytest.raises(VariantError, match="'alice' is there twice"):
        read_roster(tmp_path / "c.csv")


COPIED = """import numpy as np
def backward(params, x, y):
    return {ANSWERS}
"""


def test_a_class_of_variants_is_written_and_graded_student_by_student(tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("student\nalice\nbob\n")
    out = tmp_path / "variants"
    assert main(["variant", str(CHAPTER7_PATH), "--students", str(roster), "--out", str(out)]) == 0
    index = list(csv.DictReader((out / "variants.csv").open()))
    assert [r["student"] for r in index] == ["alice", "bob"]
    alice = load_exercise(out / "alice.exercise.toml")
    exact = run_pass(alice, "exact").values
    import re
    from compare.formatting import exact_text
    key = re.sub(r" +", " ", (out / "alice.key.md").read_text())
    assert f"| dL/db2[0] | {exact_text(exact['dL/db2'][0])} |" in key  # the key is the variant's own
    # alice's exact gradients, hard-coded, copied by bob: right for alice's numbers only
    answers = "{" + ", ".join(f"'dL/d{p}': np.array({[[float(v) for v in row] for row in np.atleast_2d(exact[f'dL/d{p}'])]})"
                              + (".reshape(-1)" if p.startswith("b") else "") for p in ("W1", "b1", "W2", "b2")) + "}"
    students = tmp_path / "class"
    students.mkdir()
    for name in ("alice", "bob"):
        (students / f"{name}.py").write_text(COPIED.replace("{ANSWERS}", answers))
    (students / "carl.py").write_text((DATA.parent.parent / "examples" / "students" / "correct.py").read_text())
    capsys.readouterr()
    assert main(["grade", str(students), "--variants", str(out), "--probes", "0", "--out", str(tmp_path / "book")]) == 1
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "book" / "gradebook.csv").open())}
    assert rows["alice"]["status"] == "pass"   # her own numbers
    assert rows["bob"]["status"] == "fail"     # alice's numbers are wrong for bob's variant
    assert rows["carl"]["status"] == "error" and rows["carl"]["cause"].startswith("no variant for carl in")
