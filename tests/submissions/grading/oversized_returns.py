"""Returns a dict of a million keys, or one array of 10^8 numbers (a broadcast view,
which costs no memory), by the first entry of x."""
import numpy as np


def backward(params, x, y):
    if x[0] == 0:
        return dict.fromkeys((f"k{i}" for i in range(1_000_000)), 1.0)
    return {"huge": np.broadcast_to(np.float64(1.0), (10_000, 10_000)), "small": [1.0]}
