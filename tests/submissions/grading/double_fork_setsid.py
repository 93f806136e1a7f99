"""Leaves a daemon behind: fork, setsid, fork again, exec a sleeper; returns at once.
The sleeper is in a session of its own, outside the child's process group."""
import os


def backward(params, x, y):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "613"])
        os._exit(0)
    os.wait()
    return {"returned": [1.0]}
