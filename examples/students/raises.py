"""BROKEN on purpose: Step 4 multiplies in the wrong order, dL_dy @ W2 with W2 of shape
(3, 4), and NumPy raises a ValueError (a shape mismatch)."""
import numpy as np


def backward(params, x, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    z1 = x @ W1 + b1
    h = np.maximum(0, z1)
    y_hat = h @ W2 + b2
    dL_dy = 2 / len(y) * (y_hat - y)
    dL_dh = dL_dy @ W2                        # mistake: (4,) @ (3, 4) does not fit
    dL_dz1 = dL_dh * (z1 > 0)
    return {"dL/dW1": np.outer(x, dL_dz1), "dL/db1": dL_dz1,
            "dL/dW2": np.outer(h, dL_dy), "dL/db2": dL_dy}
