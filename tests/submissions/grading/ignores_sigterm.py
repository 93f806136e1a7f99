"""Sleeps in the main thread after ignoring SIGTERM, so only the wall-clock limit ends it."""
import signal
import time


def backward(params, x, y):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(100)
