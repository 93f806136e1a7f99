"""BROKEN on purpose: the weight gradients in PyTorch's (out, in) layout, np.outer(dL_dz, x),
instead of the text's (in, out)."""
import numpy as np


def backward(params, x, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    z1 = x @ W1 + b1
    h = np.maximum(0, z1)
    y_hat = h @ W2 + b2
    dL_dy = 2 / len(y) * (y_hat - y)
    dL_dz1 = (W2 @ dL_dy) * (z1 > 0)
    return {"dL/dW1": np.outer(dL_dz1, x),    # mistake: shape (3, 4), expected (4, 3)
            "dL/db1": dL_dz1,
            "dL/dW2": np.outer(dL_dy, h),     # mistake: shape (4, 3), expected (3, 4)
            "dL/db2": dL_dy}
