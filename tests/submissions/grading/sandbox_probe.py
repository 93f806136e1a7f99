"""Tries what the sandbox must forbid. PROBE_PORT and PROBE_SECRET / PROBE_OUTSIDE are
replaced by the test with a port listening on 127.0.0.1, a file in the grader's working
folder, and a path outside the private folder. Each key says what happened (1 = done)."""
import os
import socket
import subprocess


def attempt(action):
    try:
        action()
        return 1.0
    except Exception:
        return 0.0


def backward(params, x, y):
    return {
        "connect to 127.0.0.1": attempt(lambda: socket.create_connection(("127.0.0.1", PROBE_PORT), timeout=2).close()),
        "read the grader's file": attempt(lambda: open(PROBE_SECRET).read()),
        "write outside": attempt(lambda: open(PROBE_OUTSIDE, "w").write("x")),
        "write in its folder": attempt(lambda: open("mine.txt", "w").write("x")),
        "new user namespace": float(subprocess.run(["unshare", "-U", "true"], capture_output=True).returncode == 0),
        "uid": float(os.getuid()),
    }
