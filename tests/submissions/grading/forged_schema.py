"""Writes a well-formed JSON object that is not the result's schema to the channel (a
call count that does not match, a value that is not base64) and leaves with os._exit(0)."""
import json
import os


def backward(params, x, y):
    forged = {"status": "ok", "message": "", "line": None, "source": None,
              "calls": [{"status": "ok", "message": "", "line": None, "source": None,
                         "values": {"dL/dW1": {"shape": [4, 3], "data": "AAAA"}},
                         "bad_values": {}, "seconds": 0.0}] * 2}
    for fd in map(int, os.listdir("/proc/self/fd")):
        try:
            if fd > 2 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                os.write(fd, json.dumps(forged).encode())
        except OSError:
            pass
    os._exit(0)
