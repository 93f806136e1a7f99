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
