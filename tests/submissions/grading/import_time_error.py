"""Fails while being imported, on line 5."""
import numpy as np


WEIGHTS = np.zeros(3) @ np.zeros(4)


def backward(params, x, y):
    return {}
