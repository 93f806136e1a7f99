"""Activation functions and their derivatives, for any NumPy number type.

Each works elementwise on float arrays and on object arrays of ``Fraction``; the
derivative is given the pre-activation ``z`` and the activation ``a`` = f(z), since
some derivatives are cheapest from ``a``.
"""
import numpy as np


def _ones_where(condition: np.ndarray, like: np.ndarray) -> np.ndarray:
    """1 where ``condition`` holds, else 0, in the number type of ``like``."""
    return np.where(condition, 1, 0).astype(like.dtype)


def relu(z: np.ndarray) -> np.ndarray:
    """ReLU(z) = max(0, z), elementwise. At z = 0 it returns 0 (exactly, for Fractions)."""
    return np.where(z > 0, z, np.zeros_like(z))


def relu_derivative(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """ReLU'(z) = 1 if z > 0 else 0: the text's Step 5 mask. At the kink z = 0 this is
    the subgradient 0, the convention the text and PyTorch share."""
    return _ones_where(z > 0, z)


def identity(z: np.ndarray) -> np.ndarray:
    """The identity (a linear output layer, as the chapter's)."""
    return z


def identity_derivative(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """1 everywhere."""
    return _ones_where(np.ones(z.shape, dtype=bool), z)


FORWARD = {"relu": relu, "identity": identity}
DERIVATIVE = {"relu": relu_derivative, "identity": identity_derivative}
HAS_KINK = {"relu": True, "identity": False}
