"""Finds the channel its result goes back through (every pipe among its open fds) and
writes garbage there, then leaves with os._exit(0): forged_output.py aimed at the real
channel instead of sys.argv[4]."""
import os


def backward(params, x, y):
    for fd in map(int, os.listdir("/proc/self/fd")):
        try:
            if fd > 2 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                os.write(fd, b"this is not json")
        except OSError:
            pass
    os._exit(0)
