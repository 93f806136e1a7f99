"""For the Session tests: damages the channel its results go back through, chosen by
x[0], then returns as usual. It finds the channel as forged_channel.py does: every pipe
among its open fds (in the worker, the pipe its payloads go out on, and the pipe the
grader's signal for each batch comes in on, which is read-only: writing there fails).

x[0]: 0 nothing; 1 writes garbage without a newline; 2 a line of JSON off the schema;
3 half a result and a newline; 4 a newline alone (an empty result); 5 closes the
read-only pipe (the next batch's signal cannot come in).
"""
import fcntl
import os

WRITTEN = {1: b"this is not json", 2: b'{"status": "ok"}\n', 3: b'{"status": "ok", "message": "", "li\n', 4: b"\n"}


def pipes() -> list[int]:
    found = []
    for fd in map(int, os.listdir("/proc/self/fd")):
        try:
            if fd > 2 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                found.append(fd)
        except OSError:
            pass
    return found


def backward(params, x, y):
    what = int(x[0])
    for fd in pipes():
        try:
            if what in WRITTEN:
                os.write(fd, WRITTEN[what])
            elif what == 5 and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
                os.close(fd)
        except OSError:
            pass
    return {"x": x}
