"""BROKEN on purpose: Step 1 forgets the 2/n of the mean squared error (dL/dy_hat = y_hat - y)."""
import numpy as np


def backward(params, x, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    z1 = x @ W1 + b1
    h = np.maximum(0, z1)
    y_hat = h @ W2 + b2
    dL_dy = y_hat - y                         # mistake: should be 2 / len(y) * (y_hat - y)
    dL_dz1 = (W2 @ dL_dy) * (z1 > 0)
    return {"dL/dW1": np.outer(x, dL_dz1), "dL/db1": dL_dz1,
            "dL/dW2": np.outer(h, dL_dy), "dL/db2": dL_dy, "dL/dy_hat": dL_dy}
