"""The docs stay true: the documented example is the example file, and every sample output
in the README is what the code prints now."""
import io
import re
import shlex
import tomllib
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path

import pytest

from compare.cli import main

ROOT = Path(__file__).parent.parent
SAMPLE = re.compile(r"<!-- sample: (.*?) -->\n(`{3,4})\n(.*?)\n\2\n", re.S)  # ```` around a sample holding ```
# Float rounding noise (|x| < 1e-12: z1[0] = ±2.8e-17, |diff| 1.1e-16) depends on the BLAS
# kernels of the machine; it and the column widths it causes are not what a sample documents.
NOISE = re.compile(r"-?\d+(\.\d+)?e-(1[2-9]|[2-9]\d|\d{3})")


def normalized(line: str) -> str:
    line = NOISE.sub("≈0", line.rstrip())
    return re.sub(r"-{2,}", "--", re.sub(r" +", " ", line))


def test_documented_example_is_the_example_file():
    doc = (ROOT / "docs" / "exercise-format.md").read_text()
    block = re.findall(r"```toml\n(.*?)```", doc, re.S)[-1]
    example = ROOT / "examples" / "chapter7-student.exercise.toml"
    assert example.name.endswith(".exercise.toml")
    assert tomllib.loads(block, parse_float=Decimal) == tomllib.loads(example.read_text(), parse_float=Decimal)


def readme_samples() -> list[tuple[str, str]]:
    return [(args, block) for args, _, block in SAMPLE.findall((ROOT / "README.md").read_text())]


def test_the_readme_has_its_samples():
    assert len(readme_samples()) >= 8


@pytest.mark.parametrize("args, block", readme_samples(), ids=[a or "default" for a, _ in readme_samples()])
def test_readme_sample_output_is_what_the_code_prints(args, block, monkeypatch):
    """Every line of the sample (but the "..." that mark cuts) is a line of the output, in order."""
    monkeypatch.chdir(ROOT)
    out = io.StringIO()
    with redirect_stdout(out):
        main(shlex.split(args))
    output = iter(out.getvalue().splitlines())
    for line in block.splitlines():
        if line == "...":
            continue
        assert any(normalized(line) == normalized(produced) for produced in output), line
