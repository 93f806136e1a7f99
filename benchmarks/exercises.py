"""Exercise files of a given shape for the benchmarks: random two-decimal weights, inputs
and targets (seeded, so every run writes the same file)."""
from pathlib import Path

import numpy as np


def _numbers(values) -> str:
    if np.ndim(values):
        return "[" + ", ".join(_numbers(v) for v in values) + "]"
    return f"{values:.2f}"


def write_exercise(path, sizes, batch: int, activations=None, loss: str = "mse", seed: int = 0) -> Path:
    """Write an exercise of a fully connected network ``sizes`` (input first) with
    ``batch`` examples to ``path``: weights and biases uniform in [-0.5, 0.5] and
    [-0.1, 0.1], inputs and targets in [-1, 1], two decimals each; ``activations`` default
    to ReLU hidden layers and an identity output. Returns the path."""
    rng = np.random.default_rng(seed)
    activations = activations or ["relu"] * (len(sizes) - 2) + ["identity"]
    names = ", ".join(f'"{a}"' for a in activations)
    lines = ["[network]", f"sizes = {list(sizes)}", f"activations = [{names}]", f'loss = "{loss}"', "[parameters]"]
    for k in range(1, len(sizes)):
        lines += [f"W{k} = {_numbers(rng.uniform(-.5, .5, (sizes[k - 1], sizes[k])))}",
                  f"b{k} = {_numbers(rng.uniform(-.1, .1, sizes[k]))}"]
    for _ in range(batch):
        lines += ["[[examples]]", f"x = {_numbers(rng.uniform(-1, 1, sizes[0]))}",
                  f"y = {_numbers(rng.uniform(-1, 1, sizes[-1]))}"]
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path


def largest_batch_within_budget(path, sizes, activations=None, loss: str = "mse", fd: bool = True) -> int:
    """The largest batch for which the exercise ``sizes`` is still checked entry by entry
    (``compare.finite_differences.estimate`` within its budget, with ``--fd`` if ``fd``);
    the file of that batch is left at ``path``."""
    from compare.finite_differences import estimate
    from reference.exercise import load_exercise

    def within(batch: int) -> bool:
        write_exercise(path, sizes, batch, activations, loss)
        return not estimate(load_exercise(path), fd).large

    low, high = 0, 1
    while within(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if within(middle) else (low, middle)
    if low == 0:
        raise ValueError(f"sizes {sizes}: even one example is above the budget")
    write_exercise(path, sizes, low, activations, loss)
    return low
