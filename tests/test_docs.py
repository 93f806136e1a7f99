"""The complete example in docs/exercise-format.md is the example file in the repo."""
import re
import tomllib
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_documented_example_is_the_example_file():
    doc = (ROOT / "docs" / "exercise-format.md").read_text()
    block = re.findall(r"```toml\n(.*?)```", doc, re.S)[-1]
    example = ROOT / "examples" / "chapter7-student.exercise.toml"
    assert example.name.endswith(".exercise.toml")
    assert tomllib.loads(block, parse_float=Decimal) == tomllib.loads(example.read_text(), parse_float=Decimal)


def test_readme_sample_output_is_what_the_code_prints(capsys):
    from compare.cli import main
    doc = (ROOT / "docs" / "README-issue-3a.md").read_text()
    key_block, hand_block, alive_block = re.findall(r"```\n(.*?)```", doc, re.S)
    assert main(["answer-key"]) == 0
    key = capsys.readouterr().out.splitlines()
    assert main([str(ROOT / "examples" / "chapter7-student.exercise.toml")]) == 1
    hand = capsys.readouterr().out.splitlines()
    assert main([str(ROOT / "reference" / "data" / "diagonal_flip_batch.toml")]) == 0
    alive = capsys.readouterr().out.splitlines()
    for block, output in ((key_block, key), (hand_block, hand), (alive_block, alive)):
        lines = [line for line in block.splitlines() if line]
        assert lines and all(line in output for line in lines)
