"""Raises on the first call (x[0] == 0), works on the others; the calls are independent."""
import numpy as np


def backward(params, x, y):
    if x[0] == 0:
        return {"dL/dW1": np.ones(3) @ np.ones(4)}
    return {"x": x * 2}
