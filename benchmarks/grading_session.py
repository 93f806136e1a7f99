"""A shrink's rounds in one ``compare.grading.Session`` vs one ``run_submission`` per
round (numbers for docs/sandbox.md, not tests).

Each round is a batch of ``--calls`` calls (30: a shrink's batches hold 10 to 60) of a
function that returns at once, so what is timed is the runner's own cost; ``--rounds``
rounds (20, a shrink's usual count) make one measure. The two ways and the two sandbox
modes are timed in turn in each of ``--runs`` repetitions (``grading_overhead.interleaved``):
the minimum is the cost without interference from the machine's other work.

Run: ``python benchmarks/grading_session.py [--runs N] [--rounds N] [--calls N]``; prints
one JSON object.
"""
import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from grading_overhead import SOURCE, interleaved  # beside this file, on sys.path when run as a script

from compare.grading import Call, Session, run_submission, runner


def separate_runs(path: Path, batch: list[Call], rounds: int, mode: str) -> None:
    for _ in range(rounds):
        assert run_submission(path, "backward", batch, sandbox=mode).status == "ok"


def one_session(path: Path, batch: list[Call], rounds: int, mode: str) -> None:
    with Session(path, "backward", sandbox=mode) as session:
        for _ in range(rounds):
            assert session.run(batch).status == "ok"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--calls", type=int, default=30)
    options = parser.parse_args(argv)
    batch = [Call({"W1": np.ones((4, 3)), "b1": np.zeros(3)}, np.ones(4), np.zeros(3))] * options.calls
    modes = ["none"] + (["bwrap"] if runner._trial_run() is None else [])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "student.py"
        path.write_text(SOURCE)
        fns = {}
        for mode in modes:
            for way, fn in (("run_submission per round", separate_runs), ("one Session", one_session)):
                fns[f"{mode}, {way}"] = lambda fn=fn, mode=mode: fn(path, batch, options.rounds, mode)
        out = {"rounds": options.rounds, "calls per round": options.calls, **interleaved(fns, options.runs)}
    for mode in modes:
        separate, session = out[f"{mode}, run_submission per round"]["min"], out[f"{mode}, one Session"]["min"]
        out[f"{mode}: run_submission per round / one Session (min)"] = separate / session
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
