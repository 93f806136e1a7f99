"""Benchmarks of backprop-crosscheck (numbers go into the README, not into tests).

(a) Cold start: ``python -m compare`` against ``python -c "import torch"``, each in a
    fresh process, median of N runs; target ratio <= 1.15.
(b) Every-parameter hand-vs-autograd check of a 784-1024-256-10 ReLU MLP (about 1.07 M
    parameters), batch 128, float64, against the floor of one bare NumPy forward+backward
    plus one bare torch forward+backward of the same batch, in the same process; target
    <= 1.5x the floor. Peak memory (max RSS) of each, each measured in its own process.
(c) The same network with forward-mode JVP checks against
    ``torch.autograd.gradcheck(..., fast_mode=True)`` on the same function of the
    parameters, as a ratio.

Run: ``python benchmarks/bench.py [--runs N]``; prints one JSON object.
"""
import argparse
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import time

ROOT = Path(__file__).resolve().parent.parent
SIZES = (784, 1024, 256, 10)
BATCH = 128


def median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cold_start(runs: int) -> dict:
    def run(args):
        return lambda: subprocess.run([sys.executable, *args], check=True, capture_output=True, cwd=ROOT)
    compare = median_seconds(run(["-m", "compare"]), runs)
    torch_import = median_seconds(run(["-c", "import torch"]), runs)
    return {"compare_s": compare, "import_torch_s": torch_import, "ratio": compare / torch_import}


def problem(seed: int = 0):
    """Random weights (He initialisation), inputs and targets for the big MLP."""
    import numpy as np
    from decimal import Decimal
    from reference.exercise import Architecture
    rng = np.random.default_rng(seed)
    arch = Architecture(SIZES, ("relu", "relu", "identity"), "mse", "mean", Decimal("0.01"))
    weights = [rng.standard_normal((a, b)) * np.sqrt(2 / a) for a, b in zip(SIZES, SIZES[1:])]
    biases = [rng.standard_normal(b) * 0.01 for b in SIZES[1:]]
    x = rng.standard_normal((BATCH, SIZES[0]))
    y = rng.standard_normal((BATCH, SIZES[-1]))
    return arch, weights, biases, x, y


def bare_numpy(weights, biases, x, y):
    """The floor's NumPy half: forward and backward with nothing kept or compared."""
    import numpy as np
    acts, zs = [x], []
    for k, (W, b) in enumerate(zip(weights, biases)):
        z = acts[-1] @ W + b
        zs.append(z)
        acts.append(np.maximum(z, 0) if k < len(weights) - 1 else z)
    g = 2 * (acts[-1] - y) / y.size
    grads = []
    for k in range(len(weights) - 1, -1, -1):
        grads.append((acts[k].T @ g, g.sum(axis=0)))
        if k:
            g = (g @ weights[k].T) * (zs[k - 1] > 0)
    return grads


def bare_torch(model, x, y):
    """The floor's torch half: forward, loss, backward."""
    import torch
    model.zero_grad(set_to_none=True)
    torch.nn.functional.mse_loss(model(x), y).backward()


def full_check(runs: int) -> dict:
    import torch
    from compare.bulk import bulk_check
    from torch_impl.model import sequential
    torch.set_num_threads(torch.get_num_threads())
    arch, weights, biases, x, y = problem()
    model = sequential(arch, [torch.from_numpy(w) for w in weights], [torch.from_numpy(b) for b in biases],
                       torch.float64)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    check = bulk_check(arch, weights, biases, x, y)
    assert check.ok, [t for t in check.tensors if not t.agree]
    floor = median_seconds(lambda: (bare_numpy(weights, biases, x, y), bare_torch(model, tx, ty)), runs)
    ours = median_seconds(lambda: bulk_check(arch, weights, biases, x, y), runs)
    return {"parameters": sum(w.size + b.size for w, b in zip(weights, biases)),
            "floor_s": floor, "check_s": ours, "ratio": ours / floor}


def jvp_vs_gradcheck(runs: int) -> dict:
    import torch
    from torch.func import functional_call
    from compare.bulk import add_bulk_jvp, bulk_check
    from torch_impl.model import loss_value, sequential
    arch, weights, biases, x, y = problem()
    model = sequential(arch, [torch.from_numpy(w) for w in weights], [torch.from_numpy(b) for b in biases],
                       torch.float64)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    names = [name for name, _ in model.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in model.parameters()]

    def loss_of(*tensors):
        return loss_value(arch, functional_call(model, dict(zip(names, tensors)), (tx,)), ty)

    def ours():
        check = bulk_check(arch, weights, biases, x, y)
        add_bulk_jvp(check, (model, arch, tx, ty, False), count=1)
        assert check.ok

    def gradcheck():
        assert torch.autograd.gradcheck(loss_of, params, fast_mode=True)

    ours_s, gradcheck_s = median_seconds(ours, runs), median_seconds(gradcheck, runs)
    return {"ours_s": ours_s, "gradcheck_fast_s": gradcheck_s, "ratio": ours_s / gradcheck_s,
            "note": "ours: every entry hand vs autograd plus one torch.func.jvp direction; "
                    "gradcheck: one random direction (fast_mode)"}


def peak_rss_mb(which: str) -> float:
    """Peak resident memory (VmHWM) of a fresh process running one floor pass or one
    full check. getrusage's ru_maxrss is not used: a child can inherit its parent's
    high-water mark through fork, and then measures the parent."""
    code = (f"import benchmarks.bench as b; b._one({which!r}); "
            "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    return int(out.split()[-1]) / 1024


def _one(which: str) -> None:
    import torch
    from compare.bulk import bulk_check
    from torch_impl.model import sequential
    arch, weights, biases, x, y = problem()
    if which == "check":
        bulk_check(arch, weights, biases, x, y)
    else:
        model = sequential(arch, [torch.from_numpy(w) for w in weights],
                           [torch.from_numpy(b) for b in biases], torch.float64)
        bare_numpy(weights, biases, x, y)
        bare_torch(model, torch.from_numpy(x), torch.from_numpy(y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per measurement (median)")
    args = parser.parse_args()
    results = {"a_cold_start": cold_start(max(args.runs, 5)),
               "b_full_check": full_check(args.runs),
               "b_peak_rss_mb": {"floor": peak_rss_mb("floor"), "check": peak_rss_mb("check")},
               "c_jvp_vs_gradcheck": jvp_vs_gradcheck(max(3, args.runs // 2))}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
