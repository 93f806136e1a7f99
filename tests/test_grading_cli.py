"""``python -m compare grade`` from a scratch folder: a module the student's code
drops (or that lies there) is never imported by the grader."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.grading_support import CASES

ROOT = Path(__file__).resolve().parent.parent
XOR = ROOT / "reference" / "data" / "xor_2_2_1_sigmoid.toml"
ZEROS = "import numpy as np\ndef backward(params, x, y):\n    return {f'dL/d{k}': np.zeros_like(v) for k, v in params.items()}\n"


def grade(folder: Path, target: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compare", "grade", target, "--exercise", str(XOR)], cwd=folder,
                          capture_output=True, text=True, timeout=120)


def test_shadow_module_leaves_nothing_and_a_later_wrong_submission_still_fails(tmp_path):
    shadow = grade(tmp_path, str(CASES / "shadow_module.py") + ":backward")
    assert shadow.returncode == 1 and shadow.stdout.rstrip().endswith("Student result: FAIL.")
    assert sorted(p.name for p in tmp_path.iterdir()) == [] and not (CASES / "gmpy2.py").exists()
    (tmp_path / "zeros.py").write_text(ZEROS)
    later = grade(tmp_path, "zeros.py:backward")
    assert later.returncode == 1 and later.stdout.rstrip().endswith("Student result: FAIL.")
    assert "Traceback" not in shadow.stderr + later.stderr


def test_a_module_lying_in_the_current_folder_is_not_imported(tmp_path):
    """The payload of shadow_module.py, planted by hand: with the current folder on
    sys.path, mpmath imported it and every gradient 'agreed' (all zeros passed)."""
    payload = (CASES / "shadow_module.py").read_text().split("PAYLOAD = '''")[1].split("'''")[0]
    (tmp_path / "gmpy2.py").write_text(payload)
    (tmp_path / "zeros.py").write_text(ZEROS)
    result = grade(tmp_path, "zeros.py:backward")
    assert result.returncode == 1 and result.stdout.rstrip().endswith("Student result: FAIL.")


@pytest.fixture
def main_module():
    spec = importlib.util.spec_from_file_location("compare_main_for_test", ROOT / "compare" / "__main__.py")
    source = spec.loader.get_source(spec.name)
    namespace = {"__file__": str(ROOT / "compare" / "__main__.py")}
    exec(compile(source.split("sys.path[:] = ")[0], spec.origin, "exec"), namespace)  # the function, not the run
    return namespace["_without_current_folder"]


def test_current_folder_is_dropped_unless_the_package_lives_there(main_module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main_module(["", str(tmp_path), "/usr/lib/python3.11", "."]) == ["/usr/lib/python3.11"]
    monkeypatch.chdir(ROOT)
    assert main_module([str(ROOT), "/usr/lib/python3.11"]) == [str(ROOT), "/usr/lib/python3.11"]
