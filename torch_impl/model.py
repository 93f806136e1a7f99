"""The exercise's network as ``nn.Sequential`` of ``nn.Linear`` and activation modules,
its loss a standard torch loss, every gradient from ``loss.backward()``.

Layout: the text's W has shape (in, out) with z = x @ W + b; ``nn.Linear.weight`` stores
W.T with shape (out, in). Tensors are built from the file's decimal strings as Python
floats (correctly rounded float64) and only then cast to float32 if asked.
"""
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from reference import quantities
from reference.exercise import Exercise

DTYPES = {"float64": torch.float64, "float32": torch.float32}
ACTIVATION_MODULES = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "identity": nn.Identity}


def tensor_from_decimals(values: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """A tensor from an object array of ``Decimal``: each decimal becomes a Python float
    (float64, correctly rounded), then ``dtype``. Never passes through float32 on the
    way to float64."""
    floats = [float(v) for v in values.reshape(-1)]
    return torch.tensor(floats, dtype=torch.float64).to(dtype).reshape(values.shape)


def build_model(exercise: Exercise, dtype: str = "float64") -> nn.Sequential:
    """``nn.Sequential(Linear, act, Linear, act, ...)`` loaded with the exercise's
    parameters: ``linear_k.weight = W_k.T`` (shape (out, in)), ``linear_k.bias = b_k``.
    ``dtype`` is ``"float64"`` or ``"float32"``; raises ``KeyError`` otherwise."""
    arch = exercise.architecture
    torch_dtype = DTYPES[dtype]
    modules = []
    for k in range(1, arch.n_layers + 1):
        linear = nn.Linear(arch.sizes[k - 1], arch.sizes[k], dtype=torch_dtype)
        with torch.no_grad():
            linear.weight.copy_(tensor_from_decimals(exercise.parameters[f"W{k}"], torch_dtype).T)
            linear.bias.copy_(tensor_from_decimals(exercise.parameters[f"b{k}"], torch_dtype))
        modules += [linear, activation_module(arch.activations[k - 1], float(arch.negative_slope))]
    return nn.Sequential(*modules)


def activation_module(name: str, negative_slope: float) -> nn.Module:
    """``nn.ReLU``, ``nn.LeakyReLU(negative_slope)``, ``nn.Sigmoid``, ``nn.Tanh`` or
    ``nn.Identity``."""
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope)
    return ACTIVATION_MODULES[name]()


def loss_value(exercise: Exercise, y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The exercise's loss with the standard torch losses.

    mse: ``nn.MSELoss(reduction="mean")`` (the mean over all B*n entries is the mean
    over examples of each example's mean over outputs); bce: ``nn.BCELoss``;
    bce_with_logits: ``nn.BCEWithLogitsLoss``; cross_entropy: ``nn.CrossEntropyLoss``
    (class-probability targets, or class indices where the file gave indices);
    sse: half of ``nn.MSELoss(reduction="sum")``. A ``sum`` over examples uses the
    losses' ``reduction="sum"``, divided by n_out where the per-example loss is a mean
    over outputs; sse with a mean over examples divides by B.
    """
    arch = exercise.architecture
    reduction = arch.reduction
    n_out = arch.sizes[-1]
    if arch.loss == "sse":
        total = nn.MSELoss(reduction="sum")(y_hat, y) / 2
        return total / len(y) if reduction == "mean" else total
    if arch.loss == "cross_entropy":
        target = y.argmax(dim=1) if exercise.class_indices else y
        return nn.CrossEntropyLoss(reduction=reduction)(y_hat, target)
    module = {"mse": nn.MSELoss, "bce": nn.BCELoss, "bce_with_logits": nn.BCEWithLogitsLoss}[arch.loss]
    value = module(reduction=reduction)(y_hat, y)
    return value if reduction == "mean" else value / n_out


@dataclass
class AutogradPass:
    """What autograd computed, by the same quantity names as ``reference.Pass``:
    parameter gradients in the text's (in, out) layout (``weight.grad.T``), intermediate
    gradients captured with ``retain_grad()``, the activation derivative as autograd's
    own VJP of each activation with a vector of ones. Arrays are NumPy, float32/64."""
    number_type: str
    values: dict[str, np.ndarray]
    pre_activations: list[np.ndarray]

    def gradient(self, parameter: str) -> np.ndarray:
        return self.values[f"dL/d{parameter}"]


def activation_derivative(activation: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """f'(z) as autograd sees it: the VJP of ``activation`` at ``z`` with a vector of
    ones, on a detached copy so no other gradient is touched. For ``nn.ReLU`` this is
    PyTorch's own mask, 0 at z = 0."""
    z = z.detach().requires_grad_(True)
    a = activation(z)
    if a is z:  # nn.Identity returns its input itself
        return torch.ones_like(z)
    return torch.autograd.grad(a, z, torch.ones_like(a))[0]


def run_autograd(exercise: Exercise, dtype: str = "float64") -> AutogradPass:
    """Forward pass through the ``nn.Sequential``, ``loss.backward()``, and every
    quantity the reference computes, read back from torch. ``dtype`` as in
    ``build_model``."""
    arch = exercise.architecture
    n = arch.n_layers
    torch_dtype = DTYPES[dtype]
    model = build_model(exercise, dtype)
    x = tensor_from_decimals(exercise.x, torch_dtype)
    y = tensor_from_decimals(exercise.y, torch_dtype)

    outputs = []  # the output of every module, in order: z1, a1, z2, a2, ...
    def keep(module, inputs, output):
        output.retain_grad()
        outputs.append(output)
    hooks = [m.register_forward_hook(keep) for m in model]
    try:
        y_hat = model(x)
    finally:
        for hook in hooks:
            hook.remove()
    if arch.activations[-1] == "identity":
        y_hat = outputs[-1]
    loss = loss_value(exercise, y_hat, y)
    zs, acts = outputs[0::2], outputs[1::2]
    loss.backward()
    derivatives = [activation_derivative(model[2 * k + 1], z) for k, z in enumerate(zs)]

    raw = {"y_hat": y_hat, "L": loss, "dL/dy_hat": y_hat.grad}
    for k in range(1, n + 1):
        linear = model[2 * (k - 1)]
        raw[f"z{k}"] = zs[k - 1]
        raw[f"dL/dz{k}"] = zs[k - 1].grad
        raw[f"dL/dW{k}"] = linear.weight.grad.T
        raw[f"dL/db{k}"] = linear.bias.grad
        raw[quantities.derivative_name(k, n, arch.activations[k - 1])] = derivatives[k - 1]
        if k < n:
            raw[quantities.hidden_name(k, n)] = acts[k - 1]
            raw[f"dL/d{quantities.hidden_name(k, n)}"] = acts[k - 1].grad
    names = quantities.all_names(n, list(arch.activations))
    values = {}
    for name in names:
        value = raw[name].detach().numpy().copy()
        if exercise.batch_size == 1 and value.ndim == 2 and not name.startswith(("dL/dW", "dL/db")):
            value = value[0]
        values[name] = value
    return AutogradPass(dtype, values, [z.detach().numpy().copy() for z in zs])
