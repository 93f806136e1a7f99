"""How fast the exact (Fraction) training track grows: denominator digits and time per
step, for the Chapter 7 example and the four-example batch, lr 0.1.

Run: PYTHONPATH=. python benchmarks/exact_track.py [MAX_STEPS]
Backs the choice of compare.training.EXACT_DIGIT_LIMIT; numbers go into the README,
not into timed tests.
"""
import sys
import time
from decimal import Decimal

from compare.cli import BATCH_PATH
from compare.training import EXACT, HandTrack, TrainingSettings, Update
from reference.backprop import Backprop
from reference.exercise import CHAPTER7_PATH, load_exercise


def main(max_steps: int = 9) -> None:
    settings = TrainingSettings(Decimal("0.1"), max_steps)
    print("| exercise | step | largest denominator (digits) | time of the step's pass + update (s) |")
    print("|---|---|---|---|")
    for path in (CHAPTER7_PATH, BATCH_PATH):
        exercise = load_exercise(path)
        track = HandTrack(exercise, EXACT, settings, Update())
        for step in range(1, max_steps + 1):
            start = time.perf_counter()
            gradients = track.run(Backprop())
            track.step({p: gradients.gradient(p) for p in track.parameters()})
            elapsed = time.perf_counter() - start
            print(f"| {path.stem} | {step} | {track.denominator_digits()} | {elapsed:.3f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
