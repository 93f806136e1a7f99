"""Variants: the same network with fresh numbers per student, reproducible, within the
exercise's [variants] rules, each with its key, and graded student by student."""
import csv
import os
import time
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


def test_impossible_rules_are_one_line_and_refused_before_drawing():
    start = time.perf_counter()
    with pytest.raises(VariantError, match='kinks = 1 with dead = "none" on one example: the neuron at the kink '
                                           'has z = 0 in the only example, so it is dead'):
        make_variant(replace(CHAPTER7, variants=VariantRules(kinks=1, dead="none")), 0)  # one example: the kink is dead
    assert time.perf_counter() - start < 1  # not after 2000 draws


def test_kinks_and_dead_none_together_still_work_with_more_examples():
    batch = load_exercise(DATA / "diagonal_flip_batch.toml")
    assert batch.batch_size > 1
    variant = make_variant(replace(batch, variants=VariantRules(kinks=1, dead="none")), 0)
    z = run_pass(variant, "exact").pre_activations[0]
    assert sum(v == 0 for v in z.reshape(-1)) == 1 and all(any(z[:, j] > 0) for j in range(z.shape[1]))


@pytest.mark.parametrize("name, rules, reason", [
    ("mazur_2_2_2_sigmoid.toml", VariantRules(kinks=1), "the network has no ReLU layer"),
    ("mazur_2_2_2_sigmoid.toml", VariantRules(dead="at_least_one"), "the network has no ReLU layer"),
    ("two_layer_net_no_bias.toml", VariantRules(kinks=1), "no ReLU layer has a bias"),
])
def test_rules_the_network_cannot_meet_are_refused_in_words(name, rules, reason):
    # these were a StopIteration / KeyError traceback, or (dead) silently ignored
    exercise = replace(load_exercise(DATA / name), variants=rules)
    with pytest.raises(VariantError, match=f"variants: expected rules a variant can satisfy; .*{reason}"):
        make_variant(exercise, 0)


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


ONE_EXAMPLE = "[network]\nsizes = [1, 1]\nactivations = [\"identity\"]\n[parameters]\nW1 = [[0.5]]\nb1 = [0.25]\n" \
              "[[examples]]\nx = [1.5]\ny = [0.5]\n"


def run_variant(tmp_path, capsys, roster_text, out=None, exercise=None):
    """``variant EXERCISE --students ROSTER --out DIR``: exit status, stderr, the folder."""
    roster = tmp_path / "roster.csv"
    roster.write_text(roster_text)
    if exercise is None:
        exercise = tmp_path / "small.toml"
        exercise.write_text(ONE_EXAMPLE)
    out = out or tmp_path / "variants"
    capsys.readouterr()
    status = main(["variant", str(exercise), "--students", str(roster), "--out", str(out)])
    return status, capsys.readouterr().err, out


def test_ids_that_share_a_file_name_are_refused_before_anything_is_written(tmp_path, capsys):
    # they overwrote each other: "wrote 2 variants", one file, variants.csv pointing both at it
    status, err, out = run_variant(tmp_path, capsys, "id\nalice smith\nalice_smith\n")
    assert status == 2 and err.count("\n") == 1
    assert err == (f"python -m compare: {tmp_path / 'roster.csv'}: id: expected ids with distinct file names; "
                   "'alice smith' and 'alice_smith' both get alice_smith.exercise.toml\n")
    assert not out.exists()
    status, err, out = run_variant(tmp_path, capsys, "id\nAlice\nalice\n")  # one file on macOS and Windows
    assert status == 2 and "'Alice' and 'alice' get Alice.exercise.toml and alice.exercise.toml" in err


def test_a_student_id_with_a_space_gets_the_file_grade_looks_up(tmp_path, capsys):
    from compare.usage import file_stem
    status, err, out = run_variant(tmp_path, capsys, "id\nalice smith\nbob\n")
    assert status == 0, err
    index = list(csv.DictReader((out / "variants.csv").open()))
    assert [(r["student"], r["exercise"]) for r in index] == [("alice smith", "alice_smith.exercise.toml"),
                                                              ("bob", "bob.exercise.toml")]
    assert (out / f"{file_stem('alice smith')}.exercise.toml").is_file()  # grade --variants: DIR/file_stem(id)


@pytest.mark.parametrize("heading", ["Student ID", "student_id", "STUDENT-ID", "SIS User ID", "Email Address",
                                     "Login ID", "Username", "ID", "SID", "email"])
def test_a_header_row_is_recognised_by_common_headings(tmp_path, heading):
    (tmp_path / "r.csv").write_text(f"Name,{heading}\nAlice A,alice\nBob B,bob\n")
    assert read_roster(tmp_path / "r.csv") == ["alice", "bob"]


def test_the_reviewers_roster_with_student_id_and_name(tmp_path):
    (tmp_path / "r.csv").write_text("Student ID,Name\nalice,Alice A\nbob,Bob B\n")  # "Student ID" was a student
    assert read_roster(tmp_path / "r.csv") == ["alice", "bob"]
    (tmp_path / "one.csv").write_text("s1001\ns1002\n")  # one column, no header: every row a student
    assert read_roster(tmp_path / "one.csv") == ["s1001", "s1002"]


def test_a_header_row_without_an_id_column_is_refused_naming_its_columns(tmp_path, capsys):
    status, err, out = run_variant(tmp_path, capsys, "Name,Section\nAlice A,1\n")
    assert status == 2 and err.count("\n") == 1 and not out.exists()
    assert err.startswith(f"python -m compare: {tmp_path / 'roster.csv'}: header: expected a column of student ids")
    assert err.endswith("found 'Name', 'Section'\n")


def test_a_path_that_cannot_be_written_is_named_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "variants"
    (out / "bob.exercise.toml").mkdir(parents=True)  # a folder where bob's file goes
    status, err, _ = run_variant(tmp_path, capsys, "id\nalice\nbob\ncarol\n", out)
    assert status == 2 and err.count("\n") == 1
    assert err == (f"python -m compare: error: --out: {out / 'bob.exercise.toml'}: expected a file to write; "
                   "it exists and is not a regular file; nothing written\n")
    assert sorted(os.listdir(out)) == ["bob.exercise.toml"]  # alice's files were left behind


def test_a_write_that_fails_part_way_leaves_no_partial_set(tmp_path, capsys, monkeypatch):
    import compare.usage
    copy, calls = compare.usage._temporary_copy, []

    def failing(path, mode, text):
        calls.append(path)
        if len(calls) == 4:
            raise OSError(28, "No space left on device", str(path))
        return copy(path, mode, text)
    monkeypatch.setattr(compare.usage, "_temporary_copy", failing)
    status, err, out = run_variant(tmp_path, capsys, "id\nalice\nbob\ncarol\n", tmp_path / "new" / "variants")
    assert status == 2 and err.count("\n") == 1 and "No space left on device" in err and "nothing written" in err
    assert not (tmp_path / "new").exists()  # the folders it made are gone too
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "alice.exercise.toml").write_text("an earlier run\n")
    calls.clear()
    status, err, _ = run_variant(tmp_path, capsys, "id\nalice\nbob\ncarol\n", kept)
    assert status == 2
    assert sorted(os.listdir(kept)) == ["alice.exercise.toml"]  # no temporary file, the earlier file untouched
    assert (kept / "alice.exercise.toml").read_text() == "an earlier run\n"


def test_a_second_run_over_the_same_folder_replaces_the_files(tmp_path, capsys):
    status, err, out = run_variant(tmp_path, capsys, "id\nalice\nbob\n")
    first = (out / "alice.exercise.toml").read_text()
    status, err, out = run_variant(tmp_path, capsys, "id\nalice\nbob\n")
    assert status == 0 and (out / "alice.exercise.toml").read_text() == first
    assert sorted(os.listdir(out)) == ["alice.exercise.toml", "alice.key.md", "bob.exercise.toml", "bob.key.md",
                                       "variants.csv"]


def test_variant_errors_name_the_file_in_the_projects_format(tmp_path, capsys):
    exercise = tmp_path / "impossible.toml"
    exercise.write_text(CHAPTER7_PATH.read_text().split("[answers]")[0] + '[variants]\nkinks = 1\ndead = "none"\n')
    status, err, out = run_variant(tmp_path, capsys, "id\nalice\n", exercise=exercise)
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(f"python -m compare: {exercise}: variants: expected rules a variant can satisfy; ")
    assert not out.exists()
    assert main(["variant", str(exercise)]) == 2
    assert capsys.readouterr().err.startswith(f"python -m compare: {exercise}: variants: expected")
    status, err, _ = run_variant(tmp_path, capsys, "id\nalice\nalice\n")
    assert err == (f"python -m compare: {tmp_path / 'roster.csv'}: id: expected each student once; "
                   "'alice' is there twice\n")


def test_one_variant_to_a_directory_names_the_file(tmp_path, capsys):
    (tmp_path / "v.toml").mkdir()
    assert main(["variant", str(CHAPTER7_PATH), "--output", str(tmp_path / "v.toml")]) == 2
    assert capsys.readouterr().err == (f"python -m compare: error: --output: cannot write {tmp_path / 'v.toml'} "
                                       "(it exists and is not a regular file)\n")
    assert main(["variant", str(CHAPTER7_PATH), "--output", str(tmp_path / "w.toml")]) == 0
    assert load_exercise(tmp_path / "w.toml").architecture == CHAPTER7.architecture
