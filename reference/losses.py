"""Losses over a batch of outputs ``y_hat`` and targets ``y``, shape (B, n_out).

``mse`` is the chapter's: L = mean((y_hat - y)**2) over the n outputs, then mean (or
sum, by ``reduction``) over the B examples; torch's ``nn.MSELoss(reduction="mean")``
averages over all B*n entries, which is the same number.
"""
import numpy as np


def _reduce(per_example: np.ndarray, reduction: str):
    return per_example.sum() / len(per_example) if reduction == "mean" else per_example.sum()


def mse(y_hat: np.ndarray, y: np.ndarray, reduction: str):
    """Mean squared error over outputs, reduced over examples."""
    diff = y_hat - y
    return _reduce((diff * diff).sum(axis=1) / y.shape[1], reduction)


def mse_gradient(y_hat: np.ndarray, y: np.ndarray, reduction: str) -> np.ndarray:
    """dL/dy_hat = 2 (y_hat - y) / n, divided by B too for a mean over the batch
    (Step 1 of the text: 1/2 (y_hat - y) for n = 4, B = 1)."""
    scale = y.shape[1] * (len(y) if reduction == "mean" else 1)
    return 2 * (y_hat - y) / scale


LOSS = {"mse": mse}
LOSS_GRADIENT = {"mse": mse_gradient}
