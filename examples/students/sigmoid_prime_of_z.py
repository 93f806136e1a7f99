"""XOR (reference/data/xor_2_2_1_sigmoid.toml): the hidden-layer sigmoid derivative applied to the pre-activation,
z1 * (1 - z1), instead of h * (1 - h)."""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(a):
    return a * (1 - a)


def backward(params, x, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    B = x.shape[0]
    z1 = x @ W1 + b1
    h = sigmoid(z1)
    z2 = h @ W2 + b2
    p = sigmoid(z2)
    L = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    dL_dp = (p - y) / (p * (1 - p)) / B
    dL_dz2 = dL_dp * sigmoid_prime(p)
    dL_dh = dL_dz2 @ W2.T
    dL_dz1 = dL_dh * sigmoid_prime(z1)        # BUG: should be sigmoid_prime(h)
    return {"z1": z1, "h": h, "y_hat": p, "L": L, "dL/dy_hat": dL_dp, "dL/dz2": dL_dz2,
            "dL/dh": dL_dh, "dL/dz1": dL_dz1,
            "dL/dW1": x.T @ dL_dz1, "dL/db1": dL_dz1.sum(0), "dL/dW2": h.T @ dL_dz2, "dL/db2": dL_dz2.sum(0)}
