"""Starts up to 200 processes (a bounded fork loop) and reports how many it got."""
import subprocess


def backward(params, x, y):
    started, error = [], ""
    try:
        for _ in range(200):
            started.append(subprocess.Popen(["sleep", "30"]))
    except OSError as failure:
        error = type(failure).__name__
    for process in started:
        process.kill()
        process.wait()
    return {"started": float(len(started)), f"error {error}": [0.0]}
