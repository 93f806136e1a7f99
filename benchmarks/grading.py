"""Grading benchmark: a class of 300 generated submissions of the Chapter 7 exercise.

    python benchmarks/grading.py [--students 300] [--jobs N] [--sandbox auto|bwrap|none]

The submissions are a mix of correct and broken backward functions (the book's code,
loops, ReLU′(0) = 1, the 2 of 2/n left out, the ReLU gate skipped, the hidden bias
forgotten, W2 not transposed, a bias gradient of zeros), each student a variant of one
template with its own variable names. Measured in the same run:

- the floor: one cold ``python -c "import torch"`` plus one cold
  ``python -c "import numpy"`` per student, ``--jobs`` at a time;
- ours: one cold ``python -m compare grade FOLDER --out DIR --jobs N``.

Prints both wall times and their ratio (target: at most 1.5). Numbers, not tests.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HEADER = "import numpy as np\n\n\ndef backward(params, x, y):\n"
FORWARD = ("    W1, b1, W2, b2 = params['W1'], params['b1'], params['W2'], params['b2']\n"
           "    {z} = x @ W1 + b1\n    {h} = np.maximum(0, {z})\n    y_hat = {h} @ W2 + b2\n")
TEMPLATES = {
    "correct": "    dy = 2 / len(y) * (y_hat - y)\n    dz = (W2 @ dy) * ({z} > 0)\n",
    "relu_prime_one": "    dy = 2 / len(y) * (y_hat - y)\n    dz = (W2 @ dy) * ({z} >= 0)\n",
    "missing_two": "    dy = (y_hat - y) / len(y)\n    dz = (W2 @ dy) * ({z} > 0)\n",
    "mask_dropped": "    dy = 2 / len(y) * (y_hat - y)\n    dz = W2 @ dy\n",
    "untransposed": "    dy = 2 / len(y) * (y_hat - y)\n    dz = (W2.reshape(W2.shape[::-1]).T @ dy) * ({z} > 0)\n",
    "bias_zero": "    dy = 2 / len(y) * (y_hat - y)\n    dz = (W2 @ dy) * ({z} > 0)\n    dz_bias = 0 * dz\n",
}
RETURN = ("    return {{'dL/dW1': np.outer(x, dz), 'dL/db1': {db1}, 'dL/dW2': np.outer({h}, dy), "
          "'dL/db2': dy}}\n")
NAMES = [("z1", "h"), ("z", "a"), ("pre", "act"), ("z_hidden", "hidden")]


def write_class(folder: Path, students: int) -> None:
    """``students`` files, templates in turn, half of them correct or ReLU′(0) = 1."""
    kinds = ["correct", "correct", "relu_prime_one", "missing_two", "mask_dropped", "untransposed", "bias_zero"]
    for i in range(students):
        kind = kinds[i % len(kinds)]
        z, h = NAMES[i % len(NAMES)]
        body = FORWARD.format(z=z, h=h) + TEMPLATES[kind].format(z=z)
        db1 = "dz_bias" if kind == "bias_zero" else "dz"
        (folder / f"student_{i:03d}_{kind}.py").write_text(HEADER + body + RETURN.format(h=h, db1=db1))


def timed(command: list[str], **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=False, capture_output=True, **kwargs)
    return time.perf_counter() - start


def floor(students: int, jobs: int) -> float:
    """One cold torch import, then one cold NumPy import per student, ``jobs`` at a time."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda _: subprocess.run([sys.executable, "-c", "import numpy"], check=True),
                      range(students)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sandbox", default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "class", Path(tmp) / "out"
        folder.mkdir()
        write_class(folder, args.students)
        base = floor(args.students, args.jobs)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "compare", "grade", str(folder), "--out", str(out),
                               "--jobs", str(args.jobs), "--sandbox", args.sandbox], capture_output=True, text=True)
        ours = time.perf_counter() - start
        passed = done.stdout.strip().splitlines()[-2] if done.stdout.strip() else done.stderr.strip()[-300:]
    print(f"{args.students} students, --jobs {args.jobs}, --sandbox {args.sandbox}")
    print(f"floor (1 cold torch import + {args.students} cold numpy imports): {base:.1f} s")
    print(f"python -m compare grade: {ours:.1f} s ({passed})")
    print(f"ratio: {ours / base:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
