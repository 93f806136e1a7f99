"""Benchmarks of backprop-crosscheck (numbers go into the README, not into tests).

(a) Cold start: ``python -m compare`` against ``python -c "import torch"``, each in a
    fresh process, median of N runs; target ratio <= 1.15.
(b) Every-parameter hand-vs-autograd check of a 784-1024-256-10 ReLU MLP (about 1.07 M
    parameters), batch 128, float64, against the floor of one bare NumPy forward+backward
    plus one bare torch forward+backward of the same batch, in the same process; target
    <= 1.5x the floor. Timed as interleaved pairs (floor, check, floor, check, ...): the
    ratio of each pair, so that the machine's drift cancels, and the median of those
    ratios with their spread (quartiles, min, max). Peak memory (max RSS) of each, each
    measured in its own process.
(c) The same network with forward-mode JVP checks against
    ``torch.autograd.gradcheck(..., fast_mode=True)`` on the same function of the
    parameters, as a ratio.
(d) ``python -m compare`` with and without ``--fd`` on a 64-64-64-10 ReLU network with a
    batch of 16 (every entry: exact rows, exact finite differences), wall time of the
    command; target <= 60 s.
(e) For networks of several kinds, the largest batch the exact per-entry check with
    ``--fd`` still takes (``compare.finite_differences.estimate`` within its budget), and
    the wall time of ``python -m compare FILE --fd`` on it: every exercise below the
    large-network threshold checks in at most 60 s.

Run: ``python benchmarks/bench.py [--runs N] [--pairs N] [--only a,b,c,d,e]``; prints one
JSON object.
"""
import argparse
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: benchmarks.exercises and the packages from this tree
    sys.path.insert(0, str(ROOT))
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


def interleaved(floor, check, pairs: int, warmup: int = 3) -> dict:
    """Time ``floor`` and ``check`` alternately, ``pairs`` times each: the ratio
    check / floor of every pair (neighbours in time, so a drift of the machine's load
    cancels), and its median, quartiles, min and max; the median seconds of each."""
    for _ in range(warmup):
        floor(), check()
    floors, checks = [], []
    for _ in range(pairs):
        for fn, times in ((floor, floors), (check, checks)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    ratios = sorted(c / f for f, c in zip(floors, checks))
    q1, median, q3 = statistics.quantiles(ratios, n=4) if pairs > 1 else (ratios[0],) * 3
    return {"pairs": pairs, "floor_s": statistics.median(floors), "check_s": statistics.median(checks),
            "ratio_median": statistics.median(ratios), "ratio_q1": q1, "ratio_q3": q3,
            "ratio_min": ratios[0], "ratio_max": ratios[-1]}


def full_check(pairs: int) -> dict:
    import torch
    from compare.bulk import bulk_check
    from torch_impl.model import sequential
    arch, weights, biases, x, y = problem()
    model = sequential(arch, [torch.from_numpy(w) for w in weights], [torch.from_numpy(b) for b in biases],
                       torch.float64)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    check = bulk_check(arch, weights, biases, x, y)
    assert check.ok, [t for t in check.tensors if not t.agree]
    result = interleaved(lambda: (bare_numpy(weights, biases, x, y), bare_torch(model, tx, ty)),
                         lambda: bulk_check(arch, weights, biases, x, y), pairs)
    return {"parameters": sum(w.size + b.size for w, b in zip(weights, biases)), **result}


def full_check_one_thread(pairs: int) -> dict:
    """(b) in a fresh process with one thread for NumPy's BLAS and for torch: two thread
    pools no longer compete for the two cores, so the spread shrinks."""
    single = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    code = f"import json, benchmarks.bench as b; print(json.dumps(b.full_check({pairs})))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, **single, "PYTHONPATH": str(ROOT)}).stdout
    return json.loads(out)


def command_seconds(args: list[str]) -> float:
    """Wall time of ``python -m compare ARGS`` in a fresh process (exit 0 required)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "compare", *args], check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


MID_SIZES, MID_BATCH = (64, 64, 64, 10), 16


def mid_size(runs: int) -> dict:
    """(d): the 64-64-64-10 network with a batch of 16, checked entry by entry."""
    from benchmarks.exercises import write_exercise
    from compare.finite_differences import estimate
    from reference.exercise import load_exercise
    with tempfile.TemporaryDirectory() as tmp:
        path = write_exercise(Path(tmp) / "mid.toml", MID_SIZES, MID_BATCH)
        exercise = load_exercise(path)
        plain = statistics.median(command_seconds([str(path)]) for _ in range(runs))
        with_fd = statistics.median(command_seconds([str(path), "--fd"]) for _ in range(runs))
        cost = estimate(exercise, fd=True)
    return {"network": "-".join(map(str, MID_SIZES)), "batch": MID_BATCH, "parameters": sum(
        a * b + b for a, b in zip(MID_SIZES, MID_SIZES[1:])), "check_s": plain, "check_fd_s": with_fd,
        "estimate_fd": cost.total, "large": cost.large, "target_s": 60}


# (e): kinds of network, each at the largest batch the exact check with --fd still takes.
BUDGET_KINDS = [("exact finite differences", (64, 64, 64, 10), None),
                ("exact, wide", (400, 400, 10), None),
                ("exact, many examples", (20, 30, 5), None),
                ("50-digit finite differences", (32, 32, 32, 4), ["tanh", "tanh", "identity"]),
                ("50-digit, sigmoid", (128, 128, 10), ["sigmoid", "identity"])]


def within_budget() -> list[dict]:
    """(e): for each of ``BUDGET_KINDS`` the largest batch still checked entry by entry with
    ``--fd``, and the wall time of ``python -m compare FILE --fd`` on it (target 60 s)."""
    from benchmarks.exercises import largest_batch_within_budget
    from compare.finite_differences import estimate
    from reference.exercise import load_exercise
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, sizes, activations in BUDGET_KINDS:
            path = Path(tmp) / "budget.toml"
            batch = largest_batch_within_budget(path, sizes, activations)
            cost = estimate(load_exercise(path), fd=True)
            results.append({"kind": kind, "network": "-".join(map(str, sizes)), "batch": batch,
                            "estimate": cost.total, "seconds_fd": command_seconds([str(path), "--fd"]),
                            "target_s": 60})
    return results


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
    parser.add_argument("--pairs", type=int, default=41, help="interleaved floor/check pairs of (b)")
    parser.add_argument("--only", default="a,b,c,d,e", help="which measurements, comma-separated")
    args = parser.parse_args()
    only = set(args.only.split(","))
    results = {}
    if "a" in only:
        results["a_cold_start"] = cold_start(max(args.runs, 5))
    if "b" in only:
        results["b_full_check"] = full_check(args.pairs)
        results["b_full_check_one_thread"] = full_check_one_thread(args.pairs)
        results["b_peak_rss_mb"] = {"floor": peak_rss_mb("floor"), "check": peak_rss_mb("check")}
    if "c" in only:
        results["c_jvp_vs_gradcheck"] = jvp_vs_gradcheck(max(3, args.runs // 2))
    if "d" in only:
        results["d_mid_size"] = mid_size(max(1, args.runs // 3))
    if "e" in only:
        results["e_within_budget"] = within_budget()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
