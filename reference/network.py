"""The forward pass: z_k = a_{k-1} @ W_k + b_k, a_k = f_k(z_k), and the loss (any depth,
the activations of ``reference.activations``, the losses of ``reference.losses``).

For the chapter's network: z1 = x @ W1 + b1, h = ReLU(z1), y_hat = h @ W2 + b2,
L = mean((y_hat - y)**2) over the 4 outputs (and over the examples of a batch).
"""
from dataclasses import dataclass

import numpy as np

from reference import activations, losses
from reference.exercise import Architecture, Exercise
from reference.numbers import MP_ZERO, convert, matmul


def snap_rounded_zeros(z: np.ndarray) -> np.ndarray:
    """In 50-digit arithmetic a decimal such as 0.1 is the nearest binary number, so a
    pre-activation that is exactly 0 in decimals (0.2 + 0.1 - 0.4 + 0.1) comes out as
    about 1e-51. Such values, below ``MP_ZERO``, are set to 0 so that the ReLU kink
    is seen where it is; floats and Fractions are left as they are."""
    if z.dtype != object or not z.size or not hasattr(z.flat[0], "_mpf_"):
        return z
    return np.where(np.abs(z) < MP_ZERO, 0 * z, z)


@dataclass
class Network:
    """Parameters in one number type. ``weights[k-1]`` is W_k with shape (in, out),
    ``biases[k-1]`` is b_k with shape (out,), or () for a bias shared by the layer's
    neurons (broadcast in the forward pass), or zeros (out,) for a layer without bias,
    which ``architecture.has_bias`` tells apart: no parameter, nothing to update; dtype
    float32, float64 or object (``Fraction``)."""
    architecture: Architecture
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    negative_slope: object = 0

    @classmethod
    def from_exercise(cls, exercise: Exercise, number_type: str) -> "Network":
        """Build the parameters straight from the file's decimals: ``number_type`` is
        ``"exact"``, ``"float64"`` or ``"float32"``."""
        n = exercise.architecture.n_layers
        slope = convert(np.array([exercise.architecture.negative_slope], dtype=object), number_type)[0]
        return cls(exercise.architecture,
                   [convert(exercise.parameters[f"W{k}"], number_type) for k in range(1, n + 1)],
                   [convert(exercise.bias_array(k), number_type) for k in range(1, n + 1)], slope)

    def parameters(self) -> dict[str, np.ndarray]:
        """``{"W1": W_1, "b1": b_1, ...}``: the live arrays, without the zero bias of a
        layer that has none."""
        params = {}
        for k, (W, b) in enumerate(zip(self.weights, self.biases), start=1):
            params[f"W{k}"] = W
            if self.architecture.has_bias(k):
                params[f"b{k}"] = b
        return params

    def forward(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Pre-activations ``z`` and activations ``a`` of every layer for a batch
        ``x`` of shape (B, in). ``a[0]`` is x itself, ``a[K]`` is y_hat; ``z[k-1]`` is z_k."""
        zs, acts = [], [x]
        for W, b, name in zip(self.weights, self.biases, self.architecture.activations):
            z = snap_rounded_zeros(matmul(acts[-1], W) + b)
            zs.append(z)
            acts.append(activations.forward(name, z, self.negative_slope))
        return zs, acts

    def loss(self, y_hat: np.ndarray, y: np.ndarray):
        """The loss of a batch, a scalar of the arrays' number type."""
        return losses.loss(self.architecture.loss, y_hat, y, self.architecture.reduction)
