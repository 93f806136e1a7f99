"""BROKEN on purpose: forgets Step 7 and returns no dL/db1 (and names one key its own way)."""
import numpy as np


def backward(params, x, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    z1 = x @ W1 + b1
    h = np.maximum(0, z1)
    y_hat = h @ W2 + b2
    dL_dy = 2 / len(y) * (y_hat - y)
    dL_dz1 = (W2 @ dL_dy) * (z1 > 0)
    return {"dL/dW1": np.outer(x, dL_dz1), "dW2": np.outer(h, dL_dy), "dL/db2": dL_dy}
