"""Activation functions and their derivatives, for any NumPy number type.

Each works elementwise on float arrays and on object arrays of ``Fraction`` (piecewise
linear activations only), ``mpmath.mpf`` or ``mpmath.iv.mpf`` intervals
(``reference.intervals``: the values a rounded hand answer stands for). The derivative is given the pre-activation
``z`` and the activation ``a`` = f(z): sigmoid' = a (1 - a) and tanh' = 1 - a**2 are
cheapest, and most accurate, from ``a``. Piecewise linear activations take a
``negative_slope`` (0 for ReLU).
"""
import numpy as np

from reference import intervals
from reference.numbers import flush_underflow, mp

# Activations that are piecewise linear with a kink at z = 0; exact in the rationals.
KINKED = ("relu", "leaky_relu")
RATIONAL = ("relu", "leaky_relu", "identity")
NAMES = ("relu", "leaky_relu", "sigmoid", "tanh", "identity")


def _is_object(z: np.ndarray) -> bool:
    return z.dtype == object


def elementwise(z: np.ndarray, float_fn, mp_name: str) -> np.ndarray:
    """``float_fn`` on float arrays, ``mpmath.<mp_name>`` on object arrays of mpf (values
    below the 50-digit track's range underflow to 0: ``reference.numbers.flush_underflow``);
    on intervals the function must be increasing (exp, log, tanh)."""
    if intervals.is_interval_array(z):
        return intervals.monotone(z, mp_name)
    if _is_object(z):
        return flush_underflow(np.frompyfunc(getattr(mp(), mp_name), 1, 1)(z).astype(object))
    return float_fn(z)


def _slope_array(z: np.ndarray, slope) -> np.ndarray:
    return np.full(z.shape, slope, dtype=z.dtype) if not _is_object(z) else np.full(z.shape, slope, dtype=object)


def piecewise_linear(z: np.ndarray, negative_slope) -> np.ndarray:
    """z for z > 0, negative_slope * z otherwise: ReLU (slope 0) and leaky ReLU. At the
    kink z = 0 both give 0."""
    if intervals.is_interval_array(z):
        return intervals.piecewise_linear(z, negative_slope)
    if not negative_slope and not _is_object(z):
        return np.maximum(z, 0)  # the same numbers, one pass (large networks)
    if negative_slope and not _is_object(z):  # the slope times the negative part only: a slope of 1e300
        return np.where(z > 0, z, negative_slope * np.minimum(z, 0))  # times a positive 1e300 never overflows
    return np.where(z > 0, z, negative_slope * z if negative_slope else np.zeros_like(z))


def piecewise_linear_derivative(z: np.ndarray, negative_slope) -> np.ndarray:
    """1 if z > 0 else negative_slope: the text's Step 5 ReLU mask for slope 0. At the
    kink z = 0 this is the left subgradient (0 for ReLU), PyTorch's convention. An
    interval holding the kink and positive values gets the hull of both sides."""
    if intervals.is_interval_array(z):
        return intervals.piecewise_linear_derivative(z, negative_slope)
    if not negative_slope and not _is_object(z):
        return (z > 0).astype(z.dtype)  # the same numbers, one pass (large networks)
    return np.where(z > 0, np.ones_like(z) if not _is_object(z) else 1, _slope_array(z, negative_slope)).astype(z.dtype)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), elementwise."""
    if _is_object(z):
        return flush_underflow(1 / (1 + elementwise(-z, np.exp, "exp")))
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))


def forward(name: str, z: np.ndarray, negative_slope=0) -> np.ndarray:
    """The activation ``name`` (one of ``NAMES``) applied to ``z``."""
    if name in KINKED:
        return piecewise_linear(z, negative_slope if name == "leaky_relu" else 0)
    if name == "sigmoid":
        return sigmoid(z)
    if name == "tanh":
        return elementwise(z, np.tanh, "tanh")
    return z


def derivative(name: str, z: np.ndarray, a: np.ndarray, negative_slope=0) -> np.ndarray:
    """f'(z) for activation ``name``, from ``z`` or from ``a`` = f(z)."""
    if name in KINKED:
        return piecewise_linear_derivative(z, negative_slope if name == "leaky_relu" else 0)
    if name == "sigmoid":
        return a * (1 - a)
    if name == "tanh":
        return 1 - a * a
    return np.where(np.ones(z.shape, dtype=bool), 1, 0).astype(z.dtype)


def one_sided_derivatives(name: str, negative_slope=0) -> tuple:
    """(left, right) derivative at the kink of a piecewise linear activation."""
    return (negative_slope if name == "leaky_relu" else 0), 1
