"""Allocates 3 GiB, past the default memory limit of 1 GiB."""
import numpy as np


def backward(params, x, y):
    big = np.ones(400_000_000)
    return {"dL/dW1": big[:3]}
