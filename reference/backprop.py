"""Backpropagation by hand, following the text's seven steps.

One code path for every number type: the same methods run on float32, float64 and
exact ``Fraction`` object arrays. Arrays carry a leading batch axis B (B = 1 for the
text's single example), so the text's ``np.outer(h, dL_dy)`` is ``h.T @ dL_dy`` here and
its ``W2 @ dL_dy`` is ``dL_dy @ W2.T``: the same numbers (``reference.numbers.matmul``, which
multiplies exact arrays in integers).

Each step is a method, so a deliberately broken variant (``compare.selftest``) can
replace exactly one step and the comparison has to catch it.
"""
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from reference import activations, losses, quantities
from reference.activations import elementwise
from reference.exercise import Exercise, ExerciseError
from reference.network import Network
from reference.numbers import EXACT, MP, convert, counting_underflows, matmul


class Backprop:
    """The hand-written backward pass of a fully connected network."""

    def probabilities(self, y_hat: np.ndarray, loss: str) -> np.ndarray:
        """The probabilities ``p`` a loss on logits sees, (B, n_out): softmax(y_hat) for
        cross_entropy, sigmoid(y_hat) for bce_with_logits (``reference.losses.probabilities``)."""
        return losses.probabilities(loss, y_hat)

    def loss_gradient(self, y_hat: np.ndarray, y: np.ndarray, loss: str, reduction: str) -> np.ndarray:
        """Step 1: dL/dy_hat, shape (B, n_out). For the chapter: 2/4 (y_hat - y)."""
        return losses.gradient(loss, y_hat, y, reduction)

    def weight_gradient(self, inputs: np.ndarray, upstream: np.ndarray) -> np.ndarray:
        """Steps 2 and 6: dL/dW[i][j] = sum over the batch of inputs[i] * upstream[j].
        ``inputs`` (B, in), ``upstream`` = dL/dz (B, out); returns (in, out)."""
        return matmul(inputs.T, upstream)

    def bias_gradient(self, upstream: np.ndarray) -> np.ndarray:
        """Steps 3 and 7: dL/db[j] = dL/dz[j] (times 1), summed over the batch."""
        return upstream.sum(axis=0)

    def shared_bias_gradient(self, upstream: np.ndarray) -> np.ndarray:
        """Steps 3 and 7 for one bias b shared by all neurons of a layer: dL/db = the sum
        over the neurons of the per-neuron ``bias_gradient`` (each neuron adds b), a 0-d
        array of the upstream's number type."""
        return np.asarray(self.bias_gradient(upstream).sum(), dtype=upstream.dtype)

    def layer_bias_gradient(self, upstream: np.ndarray, shared: bool) -> np.ndarray:
        """``shared_bias_gradient`` for a layer that shares its bias, else ``bias_gradient``."""
        return self.shared_bias_gradient(upstream) if shared else self.bias_gradient(upstream)

    def to_previous_layer(self, weights: np.ndarray, upstream: np.ndarray,
                          weight_gradient: np.ndarray | None = None) -> np.ndarray:
        """Step 4: dL/dh[i] = sum_j W[i][j] dL/dz[j], the text's W2 @ dL/dy_hat;
        ``weights`` (in, out), ``upstream`` (B, out); returns (B, in). ``weight_gradient``
        (dL/dW of the same layer, computed just before) is not used here: broken variants
        that go back through it instead of W need it."""
        return matmul(upstream, weights.T)

    def activation_derivative(self, activation: str, z: np.ndarray, a: np.ndarray, layer: int,
                              negative_slope=0) -> np.ndarray:
        """Step 5: f'(z) elementwise; for ReLU the mask 1 if z > 0 else 0.
        ``layer`` is 1-based, for variants that treat one layer differently."""
        return activations.derivative(activation, z, a, negative_slope)

    def through_activation(self, upstream: np.ndarray, derivative: np.ndarray) -> np.ndarray:
        """Step 5: dL/dz = dL/da * f'(z), elementwise."""
        return upstream * derivative

    def backward(self, network: Network, zs: list, acts: list, y: np.ndarray) -> dict[str, np.ndarray]:
        """All backward quantities by name (``dL/dy_hat``, ``dL/dW2``, ``relu_mask``, ...),
        intermediates with shape (B, n), gradients with the parameters' shapes (no
        ``dL/db{k}`` for a layer without bias)."""
        arch = network.architecture
        n = arch.n_layers
        out = {"dL/dy_hat": self.loss_gradient(acts[-1], y, arch.loss, arch.reduction)}
        upstream = out["dL/dy_hat"]
        for k in range(n, 0, -1):
            derivative = self.activation_derivative(arch.activations[k - 1], zs[k - 1], acts[k], k,
                                                    network.negative_slope)
            if k < n:
                out[quantities.derivative_name(k, n, arch.activations[k - 1])] = derivative
            elif arch.activations[-1] != "identity":
                out[quantities.derivative_name(n, n, arch.activations[-1])] = derivative
            upstream = self.through_activation(upstream, derivative)
            out[f"dL/dz{k}"] = upstream
            out[f"dL/dW{k}"] = self.weight_gradient(acts[k - 1], upstream)
            if arch.has_bias(k):
                out[f"dL/db{k}"] = self.layer_bias_gradient(upstream, arch.shares_bias(k))
            if k > 1:
                upstream = self.to_previous_layer(network.weights[k - 1], upstream, out[f"dL/dW{k}"])
                out[f"dL/d{quantities.hidden_name(k - 1, n)}"] = upstream
        return out


@dataclass
class Pass:
    """One forward and backward pass in one number type.

    ``values`` maps every quantity name of ``reference.quantities`` (and ``dL/dz{K}`` of the
    output layer, equal to dL/dy_hat for a linear output) to its value, with the
    shape hand answers have (intermediates (n,) for one example, (B, n) for a batch; L
    a 0-d array). ``pre_activations[k-1]`` is z_k with shape (B, n_k), kept for kink checks.
    ``underflows`` counts the values of the forward and backward steps that underflowed
    to 0 (only a 50-digit pass can: ``reference.numbers.flush_underflow``; the printed
    quantities are left out, as exp(ŷ) again would count the loss's underflows twice).
    """
    number_type: str
    values: dict[str, np.ndarray]
    pre_activations: list[np.ndarray]
    underflows: int = 0

    def gradient(self, parameter: str) -> np.ndarray:
        """dL/dW1 etc. for a parameter name such as ``"W1"``."""
        return self.values[f"dL/d{parameter}"]


def run_pass(exercise: Exercise, number_type: str, backprop: Backprop | None = None,
             printed: bool = True) -> Pass:
    """Forward and backward pass of ``exercise`` in ``number_type`` (``"exact"``,
    ``"mp50"``, ``"float64"``, ``"float32"``), by ``backprop`` (the correct one by default),
    with the printed quantities (``printed_values``) unless ``printed`` is false.

    Raises ``ValueError`` for ``"exact"`` on a network that leaves the rationals (sigmoid,
    tanh, a log-based loss: use ``exercise.architecture.ground_truth``). Errors a broken
    ``backprop`` raises (a shape mismatch, say) propagate.
    """
    if number_type == EXACT and not exercise.architecture.rational:
        raise ValueError("exact rational arithmetic cannot represent this network's activations or loss; "
                         f"use {MP!r}")
    network = Network.from_exercise(exercise, number_type)
    x, y = convert(exercise.x, number_type), convert(exercise.y, number_type)
    return run_network_pass(network, x, y, number_type, backprop, lr=learning_rate(exercise, number_type),
                            printed=printed, frozen=exercise.training.freeze)


DEFAULT_LR = Decimal("0.1")  # the lr of the printed delta_θ where the file's [training] says none


def stated_lr(exercise: Exercise) -> Decimal:
    """The learning rate of ``[training]`` as written, ``DEFAULT_LR`` where it says none."""
    return exercise.training.lr if exercise.training.lr is not None else DEFAULT_LR


def learning_rate(exercise: Exercise, number_type: str):
    """``stated_lr`` in ``number_type``."""
    return convert(np.array([stated_lr(exercise)], dtype=object), number_type)[0]


def printed_values(architecture, y_hat: np.ndarray, y: np.ndarray, values: dict, lr=None,
                   frozen: tuple[str, ...] = ()) -> dict:
    """The quantities texts print beside the steps (``reference.quantities.printed_names``),
    from a pass's ``y_hat`` (B, n_out), targets ``y`` and ``values`` (its probabilities and
    parameter gradients): e = ŷ − y (p − y for a loss on logits), exps = exp(ŷ) for
    cross-entropy, the loss of each example (B,), and with ``lr`` delta_θ = −lr·∂L/∂θ,
    0 for a parameter in ``frozen`` (``[training] freeze``: the update leaves it)."""
    output = values.get(quantities.PROBABILITIES_NAME, y_hat)
    found = {quantities.ERROR_NAME: output - y,
             quantities.PER_EXAMPLE_NAME: losses.per_example(architecture.loss, y_hat, y)}
    # exp of a huge logit, lr times a large gradient: inf in floats, refused by check_finite where asked for
    with np.errstate(over="ignore", invalid="ignore"):
        if architecture.loss == "cross_entropy":
            found[quantities.EXPONENTIALS_NAME] = elementwise(y_hat, np.exp, "exp")
        if lr is not None:
            for parameter in architecture.parameter_shapes():
                gradient = values[f"dL/d{parameter}"]
                step = gradient - gradient if parameter in frozen else -lr * gradient  # +0, never -0.0
                found[quantities.DELTA_PREFIX + parameter] = np.asarray(step, dtype=gradient.dtype)  # 0-d stays
    return found


def run_network_pass(network: Network, x: np.ndarray, y: np.ndarray, number_type: str,
                     backprop: Backprop | None = None, lr=None, printed: bool = True,
                     frozen: tuple[str, ...] = ()) -> Pass:
    """Forward and backward pass of ``network`` (parameters already in ``number_type``)
    on a batch ``x`` (B, in), ``y`` (B, out) of the same number type, with the printed
    quantities unless ``printed`` is false (``printed_values``; the deltas only with
    ``lr``, 0 for the ``frozen`` parameters). Used directly where the parameters are not the file's (after a
    gradient-descent step, say)."""
    backprop = backprop or Backprop()
    n = network.architecture.n_layers
    with counting_underflows() as underflowed:
        zs, acts = network.forward(x)
        raw = {"y_hat": acts[-1], "L": np.asarray(network.loss(acts[-1], y), dtype=acts[-1].dtype)}
        if network.architecture.loss in losses.PROBABILITIES:
            raw[quantities.PROBABILITIES_NAME] = backprop.probabilities(acts[-1], network.architecture.loss)
        for k in range(1, n + 1):
            raw[f"z{k}"] = zs[k - 1]
            if k < n:
                raw[quantities.hidden_name(k, n)] = acts[k]
        raw.update(backprop.backward(network, zs, acts, y))
    if printed:
        raw.update(printed_values(network.architecture, acts[-1], y, raw, lr, frozen))
    values = {name: _per_example_shape(name, value, len(x)) for name, value in raw.items()}
    return Pass(number_type, values, zs, underflowed[0])


def _per_example_shape(name: str, value: np.ndarray, batch_size: int) -> np.ndarray:
    """Intermediates of a single example lose their batch axis, as the text prints them."""
    if (batch_size == 1 and not name.startswith(("dL/dW", "dL/db", quantities.DELTA_PREFIX))
            and name not in ("L", quantities.PER_EXAMPLE_NAME)):
        return value.reshape(value.shape[1:]) if value.ndim == 2 and value.shape[0] == 1 else value
    return value


def check_finite(exercise: Exercise, number_type: str) -> Pass:
    """The forward and backward pass of ``exercise`` in the float type ``number_type``
    (``"float64"`` or ``"float32"``), checked to be finite everywhere.

    Every number of a loaded file lies in the dtype's range, but products and exponentials
    of them may not (W = 1e300 times x = 1e300). Raises ``ExerciseError`` naming the first
    quantity, in the order of the text's steps, that overflows to inf or becomes NaN;
    NumPy's overflow warnings are silenced. A printed quantity (exps, delta_W1) is
    checked where a hand answer gives it: exp(800) overflows a float64 though the loss
    of logit 800 is finite.
    """
    with np.errstate(all="ignore"):
        result = run_pass(exercise, number_type)
    arch = exercise.architecture
    asked = {answer.name for answer in exercise.answers}
    for name in arch.quantity_names() + [n for n in arch.printed_names() if n in asked]:
        value = np.asarray(result.values[name])
        bad = np.argwhere(~np.isfinite(value))
        if len(bad):
            index = tuple(int(i) for i in bad[0])
            raise ExerciseError(exercise.path, "", f"numbers whose {number_type} forward and backward pass "
                                                   f"stays finite; {arch.label(name, index)} "
                                                   f"overflows to {value[index]} in it")
    return result


def underflows(exercise: Exercise) -> int:
    """How many values of the ground-truth pass of ``exercise`` underflow to 0 (only a
    50-digit pass can: ``reference.numbers.flush_underflow``); 0 for an exact one. The
    printed quantities are left out: exp(ŷ) again would count the loss's underflows twice."""
    if exercise.architecture.ground_truth != MP:
        return 0
    return run_pass(exercise, MP, printed=False).underflows
