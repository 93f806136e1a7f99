"""A correct backward pass with the forward sums written as loops (one example).

Its z1[0] comes out as +2.8e-17 instead of exactly 0 (the text's kink): ReLU' = 1 there,
the other valid subgradient, as PyTorch takes. It returns z1, so the check knows which
side of the kink this code took and accepts dL/dW1[:, 0] = -0.0975.
"""
import numpy as np


def backward(params, x, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    z1 = np.array([sum(x[i] * W1[i, j] for i in range(len(x))) + b1[j] for j in range(len(b1))])
    h = np.maximum(0, z1)
    y_hat = h @ W2 + b2
    dL_dy = 2 / len(y) * (y_hat - y)
    dL_dz1 = (W2 @ dL_dy) * (z1 > 0)
    return {"dL/dW1": np.outer(x, dL_dz1), "dL/db1": dL_dz1,
            "dL/dW2": np.outer(h, dL_dy), "dL/db2": dL_dy, "z1": z1}
