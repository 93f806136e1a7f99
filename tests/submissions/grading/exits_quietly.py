"""Leaves with os._exit(0) in the middle of the call: no result at all."""
import os


def backward(params, x, y):
    os._exit(0)
