"""Per-submission overhead of ``compare.grading.run_submission`` (numbers for
docs/sandbox.md, not tests).

- the floor: a fresh ``python -I -S -c "import numpy"`` (the child cannot start faster);
- ``run_submission`` of a function that returns at once, one call, with ``sandbox="none"``
  and ``sandbox="bwrap"`` (after the one trial run that ``auto``/``bwrap`` make per
  process, which is timed on its own);
- the same with 20 calls in the one child, to show what a probe costs once started;
- 8 submissions through ``run_submissions`` with 1 and 2 workers (this machine has 2 cores).

Each time is the minimum over N runs (the machine is shared: the minimum is the cost
without interference), with the median and the CPU time of the child processes beside it
(not under bwrap, whose processes are reaped inside its PID namespace).

Run: ``python benchmarks/grading_overhead.py [--runs N]``; prints one JSON object.
"""
import argparse
import json
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from compare.grading import Call, run_submission, run_submissions
from compare.grading import runner, sandbox

SOURCE = "def backward(params, x, y):\n    return {'dL/dW1': params['W1'] * 0}\n"


def interleaved(fns: dict, runs: int) -> dict:
    """``{name: {"min", "median"}}`` of the seconds of each of ``fns``, timed in turn in
    each of ``runs`` rounds, so that a change of the machine's load hits all alike."""
    times, cpu = {name: [] for name in fns}, {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start, used = time.perf_counter(), _children_cpu()
            fn()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(_children_cpu() - used)
    return {name: {"min": min(t), "median": statistics.median(t),
                   # under bwrap the run's processes are reaped inside its PID namespace: not counted here
                   "cpu_median": None if name.startswith("bwrap") else statistics.median(cpu[name])}
            for name, t in times.items()}


def _children_cpu() -> float:
    """CPU seconds (user + system) of the reaped child processes so far: every process of
    a run is reaped by its parent, so each run's whole tree is counted."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args(argv).runs
    call = Call({"W1": np.ones((4, 3)), "b1": np.zeros(3)}, np.ones(4), np.zeros(3))
    interp = sandbox.interpreter()
    floor = [interp.executable, "-I", "-S", "-c", "import sys; sys.path.append(sys.argv[1]); import numpy",
             str(Path(interp.numpy_dir).parent)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "student.py"
        path.write_text(SOURCE)
        start = time.perf_counter()
        trial = None if runner._trial_run() else time.perf_counter() - start
        modes = ["none"] + (["bwrap"] if trial is not None else [])
        fns = {"floor": lambda: subprocess.run(floor, check=True, env=runner.child_environment(tmp))}
        for mode in modes:
            fns[f"{mode} 1 call"] = lambda mode=mode: run_submission(path, "backward", [call], sandbox=mode)
            fns[f"{mode} 20 calls"] = lambda mode=mode: run_submission(path, "backward", [call] * 20, sandbox=mode)
        out = {"bwrap_trial_run_s": trial, **interleaved(fns, runs)}
        jobs = [(path, "backward", [call])] * 8
        out.update(interleaved({f"{mode} 8 submissions, {workers} worker(s)":
                                (lambda mode=mode, workers=workers: run_submissions(jobs, workers=workers, sandbox=mode))
                                for mode in modes for workers in (1, 2)}, max(3, runs // 4)))
    for mode in modes:
        out[f"{mode} overhead over the floor (min)"] = out[f"{mode} 1 call"]["min"] - out["floor"]["min"]
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
