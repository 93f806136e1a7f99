"""Gradescope's autograder: a bundle that grades each submission in its own container.

``write_bundle`` makes ``autograder.zip`` as Gradescope's autograder specification asks
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): at its root
``setup.sh`` (run once when the image is built: installs bubblewrap, the CPU build of
torch and this package from the wheel inside the zip) and ``run_autograder`` (run per
submission: grades ``/autograder/submission`` against the bundled exercise and writes
``/autograder/results/results.json``). ``results`` makes that JSON from graded
students: ``score``, ``output`` and one test per rubric item (name, score, max_score,
output, visibility), or one pass/fail test without a rubric.
"""
import json
import subprocess
import sys
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path

from compare.grading.feedback import render_text

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
cd /autograder/source
apt-get install -y -qq bubblewrap python3-pip python3-venv >/dev/null || echo "bubblewrap not installed: resource limits only"
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install -q -c constraints.txt {wheel}
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this once per submission; AUTOGRADER_ROOT and AUTOGRADER_PYTHON let a
# test stand a temporary folder in for /autograder and use another Python.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
mkdir -p "$ROOT/results"
cd "$ROOT/source"
errors="$(mktemp)"
"$PYTHON" -m compare grade "$ROOT/submission" --exercise "$ROOT/source/exercise.toml" \\
    --function {function} --probes {probes} --seed {seed} --timeout {timeout} --jobs 1 \\
    --gradescope "$ROOT/results/results.json" 2>"$errors"
status=$?
cat "$errors" >&2
# exit 0 and 1 are graded results; anything else left no results.json to upload: say why
if [ ! -s "$ROOT/results/results.json" ]; then
  "$PYTHON" -c 'import json, sys
why = sys.argv[2].strip().removeprefix("python -m compare: error: ")
print(json.dumps({{"score": 0, "tests": [], "output": "The autograder could not grade this submission "
                  f"(exit status {{sys.argv[1]}})" + (f": {{why}}" if why else ".")}}))' \\
    "$status" "$(tail -n 1 "$errors")" > "$ROOT/results/results.json" \\
  || printf '{{"score": 0, "output": "The autograder could not grade this submission (exit status %s).", "tests": []}}\\n' \\
    "$status" > "$ROOT/results/results.json"
fi
rm -f "$errors"
exit 0
"""


def project_root() -> Path | None:
    """The source tree this package runs from (with its pyproject.toml), or None."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def build_wheel(folder: Path) -> Path:
    """This package as a wheel in ``folder`` (``pip wheel`` of the source tree, no
    dependencies). Raises ``RuntimeError`` (one line) when it cannot be built."""
    root = project_root()
    if root is None:
        raise RuntimeError("the Gradescope bundle is built from a source checkout of backprop-crosscheck")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(folder), str(root)], capture_output=True, text=True)
    wheels = sorted(folder.glob("backprop_crosscheck-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise RuntimeError(f"could not build the wheel: {last}")
    return wheels[-1]


def write_bundle(exercise_file: Path, out, function: str = "backward", probes: int = 6, seed: int = 0,
                 timeout: float = 10.0) -> list[str]:
    """Write the autograder zip to ``out`` (a path or a binary stream); returns the
    names inside it. The exercise file goes in as ``exercise.toml``."""
    root = project_root()
    with tempfile.TemporaryDirectory(prefix="backprop-gradescope-") as tmp:
        wheel = build_wheel(Path(tmp))
        files = {
            "setup.sh": SETUP_SH.format(wheel=wheel.name),
            "run_autograder": RUN_AUTOGRADER.format(function=function, probes=probes, seed=seed, timeout=timeout),
        }
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bundle:
            for name, text in files.items():
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o755 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                bundle.writestr(info, text)
            bundle.write(exercise_file, "exercise.toml")
            bundle.write(wheel, wheel.name)
            if root is not None and (root / "constraints.txt").is_file():
                bundle.write(root / "constraints.txt", "constraints.txt")
            return bundle.namelist()


def several_submissions(submissions: list) -> str:
    """The one line that refuses ``--gradescope`` for several submissions: Gradescope
    grades one student's work, and picking one of them would be silent."""
    names = ", ".join(s.student for s in submissions[:5]) + (", ..." if len(submissions) > 5 else "")
    function = submissions[0].function
    return (f"--gradescope: expected one student's work, found {len(submissions)} submissions ({names}); "
            f"hand in one file that defines {function}(), named {function}.py if other files define it too")


def _number(value: Decimal) -> float:
    return float(value)


def results(graded: list, visibility: str = "visible") -> dict:
    """Gradescope's results.json for the graded submission(s) of one run (its first):
    ``score``, ``output`` (the whole report, Markdown) and ``tests``."""
    if not graded:
        return {"score": 0, "output": "No submission was found to grade.", "tests": [], "visibility": visibility}
    g = graded[0]
    if g.check is None:
        return {"score": 0, "output": f"Nothing could be graded: {g.problem}", "visibility": visibility,
                "tests": [{"name": "Submission", "score": 0, "max_score": 1, "output": g.problem or "",
                           "visibility": visibility}]}
    report = render_text(g.check, "github")
    if g.score is None:
        tests = [{"name": "Backward pass: the exercise and every probe", "score": 1 if g.check.ok else 0,
                  "max_score": 1, "status": "passed" if g.check.ok else "failed",
                  "output": report.splitlines()[-1], "visibility": visibility}]
    else:
        tests = [{"name": item.item, "score": _number(item.earned), "max_score": _number(item.possible),
                  "status": "passed" if item.earned == item.possible else "failed",
                  "output": item.why or "right", "visibility": visibility} for item in g.score.items]
    return {"score": sum(t["score"] for t in tests), "output": report, "output_format": "md",
            "visibility": visibility, "stdout_visibility": "hidden", "tests": tests}


def write_results(path: Path, graded: list) -> None:
    """``results.json`` at ``path``, written atomically."""
    from compare.usage import atomic_output
    with atomic_output(path) as stream:
        stream.write(json.dumps(results(graded), indent=2, ensure_ascii=False) + "\n")
