"""For the Session tests: what one child keeps from batch to batch, and one thing to do
per call, chosen by x[0].

Returns its process (pid and start time from /proc/self/stat: under bwrap every worker
is pid 2 of its own PID namespace), a token drawn at import (one value: one import), the
number of calls so far (module state), x * 2, and prints "call N".
x[0]: 0 only that; 1 loops forever; 2 crashes (SIGSEGV); 3 allocates past the memory
limit; 4 leaves with os._exit(0) (no result); 5 spends 0.7 s of CPU time first; 6 starts
`sleep 617` in the background (kept in module state) and a daemon in a session of its own
(`setsid --fork`), `sleep 618`; 7 also returns whether each `sleep 617` it started still
runs; 8 sleeps 0.8 s.
"""
import ctypes
import os
import random
import subprocess
import time

import numpy as np

TOKEN = random.random()
CALLS = [0]
SLEEPERS = []


def _started() -> float:
    with open("/proc/self/stat") as handle:
        stat = handle.read()
    return float(stat[stat.rfind(")") + 2:].split()[19])


def backward(params, x, y):
    CALLS[0] += 1
    what = int(x[0])
    if what == 1:
        while True:
            pass
    if what == 2:
        ctypes.string_at(0x123456789000, 1)
    if what == 3:
        np.ones(400_000_000)
    if what == 4:
        os._exit(0)
    if what == 5:
        end = time.process_time() + 0.7
        while time.process_time() < end:
            pass
    if what == 6:
        SLEEPERS.append(subprocess.Popen(["sleep", "617"]))
        subprocess.run(["setsid", "--fork", "sleep", "618"], check=True)  # forks, detaches, returns
    if what == 8:
        time.sleep(0.8)
    print(f"call {CALLS[0]}")
    returned = {"pid": [os.getpid(), _started()], "token": TOKEN, "calls": CALLS[0], "twice": x * 2}
    if what == 7:
        returned["sleeping"] = [sleeper.poll() is None for sleeper in SLEEPERS]
    return returned
