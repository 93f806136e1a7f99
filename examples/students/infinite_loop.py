"""BROKEN on purpose: never returns (loops "until the loss is zero", which never happens)."""
import numpy as np


def backward(params, x, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    loss = 1.0
    while loss > 0:                           # mistake: the loss of this network never reaches 0
        y_hat = np.maximum(0, x @ W1 + b1) @ W2 + b2
        loss = max(np.mean((y_hat - y) ** 2), 1e-3)
    return {}
