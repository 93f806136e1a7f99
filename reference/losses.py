"""Losses over a batch of outputs ``y_hat`` and targets ``y``, shape (B, n_out).

Each loss is a per-example loss, then a reduction over the B examples (``mean`` or
``sum``). Per example:

- ``mse``: mean over the n outputs of (y_hat - y)**2 (the chapter's loss).
- ``sse``: 1/2 * sum of (y_hat - y)**2, as many textbooks write it.
- ``sum_squares``: sum of (y_hat - y)**2, without the 1/2 (the PyTorch tutorial's
  ``(y_pred - y).pow(2).sum()``, ``nn.MSELoss(reduction="sum")``).
- ``bce``: mean over outputs of -[y log p + (1 - y) log(1 - p)], p = y_hat in (0, 1).
- ``bce_with_logits``: the same with p = sigmoid(y_hat), y_hat the logits.
- ``cross_entropy``: softmax cross-entropy -sum_c y_c log softmax(y_hat)_c, y one-hot
  (or class probabilities), y_hat the logits.

These match torch's ``nn.MSELoss``, ``nn.BCELoss``, ``nn.BCEWithLogitsLoss`` and
``nn.CrossEntropyLoss`` with ``reduction="mean"`` (averaging over all B*n entries is the
mean over examples of the mean over outputs); see ``torch_impl.model.build_loss``.
Functions work on float arrays and on object arrays of ``Fraction`` (mse, sse,
sum_squares) or mpf.

The losses on logits see probabilities ``p`` (``probabilities``): softmax(y_hat) for
cross_entropy, sigmoid(y_hat) for bce_with_logits; the quantity ``p`` of a pass.
"""
import numpy as np

from reference.activations import elementwise, sigmoid
from reference.intervals import is_interval_array

NAMES = ("mse", "sse", "sum_squares", "bce", "bce_with_logits", "cross_entropy")
DESCRIPTIONS = {"mse": "mean of squared errors over the outputs",
                "sse": "half the sum of squared errors",
                "sum_squares": "sum of squared errors",
                "bce": "binary cross-entropy on probabilities, mean over the outputs",
                "bce_with_logits": "binary cross-entropy on logits, mean over the outputs",
                "cross_entropy": "softmax cross-entropy on logits"}
RATIONAL = ("mse", "sse", "sum_squares")
# Losses on logits that turn them into probabilities p (the quantity "p"), and how.
PROBABILITIES = {"cross_entropy": "softmax", "bce_with_logits": "sigmoid"}
# What the output layer's activation must be for each loss (None: any).
OUTPUT_ACTIVATION = {"bce": "sigmoid", "bce_with_logits": "identity", "cross_entropy": "identity"}


def _log(a: np.ndarray) -> np.ndarray:
    return elementwise(a, np.log, "log")


def _exp(a: np.ndarray) -> np.ndarray:
    return elementwise(a, np.exp, "exp")


def _shifted(logits: np.ndarray) -> np.ndarray:
    """Logits less their row maximum, for stability; intervals are not shifted (they
    have no maximum, and the shift would only widen them)."""
    return logits if is_interval_array(logits) else logits - logits.max(axis=1, keepdims=True)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (B, C) logits, shifted by the row maximum for stability."""
    e = _exp(_shifted(logits))
    return e / e.sum(axis=1, keepdims=True)


def probabilities(name: str, y_hat: np.ndarray) -> np.ndarray:
    """The probabilities ``p`` the loss ``name`` sees, shape (B, n_out) as ``y_hat``:
    softmax(y_hat) row by row for ``cross_entropy``, sigmoid(y_hat) entry by entry for
    ``bce_with_logits`` (``PROBABILITIES``); any number type of this module, intervals
    included. Raises ``KeyError`` for a loss without probabilities (mse, sse,
    sum_squares, and bce, whose y_hat already is one)."""
    return softmax(y_hat) if PROBABILITIES[name] == "softmax" else sigmoid(y_hat)


def per_example(name: str, y_hat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The loss of each example, shape (B,)."""
    n = y.shape[1]
    if name == "mse":
        d = y_hat - y
        return (d * d).sum(axis=1) / n
    if name == "sse":
        d = y_hat - y
        return (d * d).sum(axis=1) / 2
    if name == "sum_squares":
        d = y_hat - y
        return (d * d).sum(axis=1)
    if name == "bce":
        return -(y * _log(y_hat) + (1 - y) * _log(1 - y_hat)).sum(axis=1) / n
    if name == "bce_with_logits":
        # log(1 + exp(z)) - y z, the stable form of the same quantity
        softplus = _log(1 + _exp(y_hat)) if y_hat.dtype == object else np.logaddexp(0, y_hat)
        return (softplus - y * y_hat).sum(axis=1) / n
    shifted = _shifted(y_hat)
    log_softmax = shifted - _log(_exp(shifted).sum(axis=1, keepdims=True))
    return -(y * log_softmax).sum(axis=1)


def loss(name: str, y_hat: np.ndarray, y: np.ndarray, reduction: str):
    """The batch loss, a scalar of the arrays' number type."""
    each = per_example(name, y_hat, y)
    return each.sum() / len(each) if reduction == "mean" else each.sum()


def gradient(name: str, y_hat: np.ndarray, y: np.ndarray, reduction: str) -> np.ndarray:
    """Step 1: dL/dy_hat, shape (B, n_out).

    mse: 2 (y_hat - y) / n (the text's 1/2 (y_hat - y) for n = 4); sse: y_hat - y;
    sum_squares: 2 (y_hat - y);
    bce: (p - y) / (p (1 - p)) / n; bce_with_logits: (sigmoid(y_hat) - y) / n;
    cross_entropy: softmax(y_hat) - y. Divided by B too for a mean over the batch.
    """
    n = y.shape[1]
    if name == "mse":
        g = 2 * (y_hat - y) / n
    elif name == "sse":
        g = y_hat - y
    elif name == "sum_squares":
        g = 2 * (y_hat - y)
    elif name == "bce":
        g = (y_hat - y) / (y_hat * (1 - y_hat)) / n
    elif name == "bce_with_logits":
        g = (sigmoid(y_hat) - y) / n
    else:
        g = softmax(y_hat) - y
    return g / len(y) if reduction == "mean" else g
