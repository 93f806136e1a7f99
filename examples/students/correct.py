"""A correct backward pass, written like the book's 10-line NumPy code (one example).

Signature checked by ``python -m compare grade examples/students/correct.py``:
``params`` {"W1": (4, 3), "b1": (3,), "W2": (3, 4), "b2": (4,)} in the text's layout
(z = x @ W + b), ``x`` and ``y`` 1-D of shape (4,); returns the gradients by the text's names.
"""
import numpy as np


def backward(params, x, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    # Forward pass (Chapter 7); round away the 2.8e-17 noise of z1[0], as the book does
    z1 = np.round(x @ W1 + b1, 10)
    h = np.maximum(0, z1)
    y_hat = h @ W2 + b2
    L = np.mean((y_hat - y) ** 2)
    # Backward pass, Steps 1-7
    dL_dy = 2 / len(y) * (y_hat - y)          # Step 1
    dL_dW2 = np.outer(h, dL_dy)               # Step 2
    dL_db2 = dL_dy.copy()                     # Step 3
    dL_dh = W2 @ dL_dy                        # Step 4
    relu_grad = (z1 > 0).astype(float)        # Step 5
    dL_dz1 = dL_dh * relu_grad
    dL_dW1 = np.outer(x, dL_dz1)              # Step 6
    dL_db1 = dL_dz1.copy()                    # Step 7
    return {"dL/dW1": dL_dW1, "dL/db1": dL_db1, "dL/dW2": dL_dW2, "dL/db2": dL_db2,
            "z1": z1, "h": h, "y_hat": y_hat, "L": L, "dL/dy_hat": dL_dy, "dL/dh": dL_dh,
            "relu_mask": relu_grad, "dL/dz1": dL_dz1}
