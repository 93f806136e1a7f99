"""The exercise's network as ``nn.Sequential`` of ``nn.Linear`` and activation modules,
its loss a standard torch loss, every gradient from ``loss.backward()``.

Layout: the chapter's W has shape (in, out) with z = x @ W + b; ``nn.Linear.weight`` stores
W.T with shape (out, in), the layout of a text that writes z = W x + b (``layout =
"out_in"``; the parameters come here in the (in, out) layout the reference computes
in, whatever the text's). A layer without bias is ``nn.Linear(bias=False)``; a bias
shared by a layer's neurons is a 0-d ``nn.Parameter`` as ``linear.bias``, which
``F.linear`` broadcasts over the outputs (its documented bias shape ``()``), so autograd
sums its gradient over them. Tensors are
built from the file's decimal strings as Python floats (correctly rounded float64) and
only then cast to float32 if asked.
"""
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from reference import quantities
from reference.exercise import Architecture, Exercise
from reference.losses import PROBABILITIES
from reference.backprop import stated_lr
from reference.quantities import (DELTA_PREFIX, ERROR_NAME, EXPONENTIALS_NAME, PER_EXAMPLE_NAME,
                                  PROBABILITIES_NAME)

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
    parameters: ``linear_k.weight = W_k.T`` (shape (out, in)), ``linear_k.bias = b_k`` (0-d
    for a shared bias; ``nn.Linear(bias=False)`` for a layer without bias). ``dtype`` is ``"float64"`` or
    ``"float32"``; raises ``KeyError`` otherwise."""
    torch_dtype = DTYPES[dtype]
    arch = exercise.architecture
    n = arch.n_layers
    weights = [tensor_from_decimals(exercise.parameters[f"W{k}"], torch_dtype) for k in range(1, n + 1)]
    biases = [tensor_from_decimals(exercise.parameters[f"b{k}"], torch_dtype) if arch.has_bias(k) else None
              for k in range(1, n + 1)]
    return sequential(exercise.architecture, weights, biases, torch_dtype)


def sequential(arch: Architecture, weights: list, biases: list, dtype: torch.dtype,
               share_memory: bool = False) -> nn.Sequential:
    """The ``nn.Sequential`` of ``arch`` with ``weights[k-1]`` = W_k in the (in, out)
    layout (tensors or NumPy arrays) stored as ``linear_k.weight = W_k.T``, and
    ``biases[k-1]`` = b_k (one number for a shared bias, ``arch.shares_bias``: a 0-d
    parameter broadcast over the layer's outputs); a layer without bias
    (``arch.has_bias``) is ``nn.Linear(bias=False)`` and its entry of ``biases`` is not read.

    ``share_memory``: the parameters are views of ``weights`` and ``biases`` where their
    dtype allows (no copy; the weight is the transposed view), for a read-only check of a
    large network; an optimizer step would then write into the caller's arrays.
    """
    modules = []
    for k in range(1, arch.n_layers + 1):
        # Made on the meta device: no storage and no random init for parameters replaced at
        # once (torch's skip_init would do the same, but loads sympy on the way: 0.3 s).
        has_bias = arch.has_bias(k)
        linear = nn.Linear(arch.sizes[k - 1], arch.sizes[k], bias=has_bias, dtype=dtype, device="meta")
        weight = torch.as_tensor(weights[k - 1]).to(dtype).T
        if not share_memory:
            weight = weight.clone(memory_format=torch.contiguous_format)
        linear.weight = nn.Parameter(weight)
        if has_bias:
            bias = torch.as_tensor(biases[k - 1]).to(dtype)
            if arch.shares_bias(k):  # one number, broadcast by F.linear over the outputs
                bias = bias.reshape(())
            linear.bias = nn.Parameter(bias if share_memory else bias.clone())
        modules += [linear, activation_module(arch.activations[k - 1], float(arch.negative_slope))]
    return nn.Sequential(*modules)


def activation_module(name: str, negative_slope: float) -> nn.Module:
    """``nn.ReLU``, ``nn.LeakyReLU(negative_slope)``, ``nn.Sigmoid``, ``nn.Tanh`` or
    ``nn.Identity``."""
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope)
    return ACTIVATION_MODULES[name]()


def build_loss(exercise: Exercise):
    """The exercise's loss as a callable ``loss(y_hat, y)``; see ``loss_value``."""
    return lambda y_hat, y: loss_value(exercise.architecture, y_hat, y, exercise.class_indices)


def loss_value(arch: Architecture, y_hat: torch.Tensor, y: torch.Tensor, class_indices: bool = False) -> torch.Tensor:
    """The exercise's loss with the standard torch losses.

    mse: ``nn.MSELoss(reduction="mean")`` (the mean over all B*n entries is the mean
    over examples of each example's mean over outputs); bce: ``nn.BCELoss``;
    bce_with_logits: ``nn.BCEWithLogitsLoss``; cross_entropy: ``nn.CrossEntropyLoss``
    (class-probability targets, or class indices where the file gave indices);
    sse: half of ``nn.MSELoss(reduction="sum")``; sum_squares: ``nn.MSELoss(reduction="sum")``
    itself. A ``sum`` over examples uses the losses' ``reduction="sum"``, divided by n_out
    where the per-example loss is a mean over outputs; sse and sum_squares with a mean
    over examples divide by B.
    """
    reduction = arch.reduction
    n_out = arch.sizes[-1]
    if arch.loss in ("sse", "sum_squares"):
        total = nn.MSELoss(reduction="sum")(y_hat, y)
        total = total / 2 if arch.loss == "sse" else total
        return total / len(y) if reduction == "mean" else total
    if arch.loss == "cross_entropy":
        target = y.argmax(dim=1) if class_indices else y
        return nn.CrossEntropyLoss(reduction=reduction)(y_hat, target)
    module = {"mse": nn.MSELoss, "bce": nn.BCELoss, "bce_with_logits": nn.BCEWithLogitsLoss}[arch.loss]
    value = module(reduction=reduction)(y_hat, y)
    return value if reduction == "mean" else value / n_out


@dataclass
class AutogradPass:
    """What autograd computed, by the same quantity names as ``reference.Pass``:
    parameter gradients in the computation's (in, out) layout (``weight.grad.T``), intermediate
    gradients captured with ``retain_grad()``, the activation derivative as autograd's
    own VJP of each activation with a vector of ones, ``p`` as ``torch.softmax`` or
    ``torch.sigmoid`` of the logits. Arrays are NumPy, float32/64."""
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
    # The VJP with a vector of ones, taken as the gradient of a.sum(): the same numbers for
    # an elementwise activation, and torch's grad_outputs path would load sympy (0.3 s).
    return torch.autograd.grad(a.sum(), z)[0]


def run_autograd(exercise: Exercise, dtype: str = "float64") -> AutogradPass:
    """Forward pass through the ``nn.Sequential``, ``loss.backward()``, and every
    quantity the reference computes, read back from torch (the printed ones with the
    ``[training]`` lr, 0.1 where the file states none). ``dtype`` as in ``build_model``."""
    torch_dtype = DTYPES[dtype]
    lr = stated_lr(exercise)
    return autograd_pass(build_model(exercise, dtype), exercise.architecture,
                         tensor_from_decimals(exercise.x, torch_dtype),
                         tensor_from_decimals(exercise.y, torch_dtype), exercise.class_indices,
                         lr=float(lr), frozen=exercise.training.freeze)


def per_example_loss(arch: Architecture, y_hat: torch.Tensor, y: torch.Tensor, class_indices: bool = False
                     ) -> torch.Tensor:
    """The loss of each example (B,), by the torch loss with ``reduction="none"``: the
    mean over outputs (mse, bce, bce_with_logits), half or all of the sum (sse,
    sum_squares), cross-entropy as it is."""
    if arch.loss == "cross_entropy":
        return nn.CrossEntropyLoss(reduction="none")(y_hat, y.argmax(dim=1) if class_indices else y)
    module = {"mse": nn.MSELoss, "sse": nn.MSELoss, "sum_squares": nn.MSELoss, "bce": nn.BCELoss,
              "bce_with_logits": nn.BCEWithLogitsLoss}[arch.loss]
    each = module(reduction="none")(y_hat, y)
    return each.sum(dim=1) / 2 if arch.loss == "sse" else each.sum(dim=1) if arch.loss == "sum_squares" \
        else each.mean(dim=1)


def _printed(arch: Architecture, y_hat: torch.Tensor, y: torch.Tensor, raw: dict, class_indices: bool,
             lr: float | None, frozen: tuple[str, ...] = ()) -> dict:
    """e, exps, the loss of each example and delta_θ = −lr·θ.grad (zeros for a ``frozen``
    parameter: the optimiser leaves it), as ``reference.backprop.printed_values``."""
    found = {ERROR_NAME: raw.get(PROBABILITIES_NAME, y_hat) - y,
             PER_EXAMPLE_NAME: per_example_loss(arch, y_hat, y, class_indices)}
    if arch.loss == "cross_entropy":
        found[EXPONENTIALS_NAME] = torch.exp(y_hat)
    if lr is not None:
        for parameter in arch.parameter_shapes():
            gradient = raw[f"dL/d{parameter}"]
            found[DELTA_PREFIX + parameter] = torch.zeros_like(gradient) if parameter in frozen else -lr * gradient
    return found


def parameter_gradients(model: nn.Sequential, arch: Architecture, x: torch.Tensor, y: torch.Tensor,
                        class_indices: bool = False) -> dict[str, np.ndarray]:
    """Only the parameter gradients, by one forward pass and ``loss.backward()``, with no
    intermediate kept: ``{"W1": weight.grad.T (in, out), "b1": (out,), ...}`` as NumPy
    views of torch's gradients (a model built with ``share_memory`` has its weight as a
    transposed view, so ``weight.grad.T`` is C-contiguous, as the text's W)."""
    model.zero_grad(set_to_none=True)
    loss_value(arch, model(x), y, class_indices).backward()
    linears = [m for m in model if isinstance(m, nn.Linear)]
    grads = {}
    for k, linear in enumerate(linears, start=1):
        grads[f"W{k}"] = linear.weight.grad.T.numpy()
        if linear.bias is not None:
            grads[f"b{k}"] = linear.bias.grad.numpy()
    return grads


def autograd_pass(model: nn.Sequential, arch: Architecture, x: torch.Tensor, y: torch.Tensor,
                  class_indices: bool = False, lr: float | None = None,
                  frozen: tuple[str, ...] = ()) -> AutogradPass:
    """``run_autograd`` for a model and a batch already in torch: x (B, in), y (B, out)
    of the model's dtype. Intermediates of a single example (B = 1) lose the batch axis.
    The printed quantities: e = output − y, exps = torch.exp, each example's loss (the
    torch loss with ``reduction="none"``), and with ``lr`` delta_θ = −lr·θ.grad (zeros
    for a ``frozen`` parameter)."""
    n = arch.n_layers
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
    loss = loss_value(arch, y_hat, y, class_indices)
    zs, acts = outputs[0::2], outputs[1::2]
    loss.backward()
    derivatives = [activation_derivative(model[2 * k + 1], z) for k, z in enumerate(zs)]

    raw = {"y_hat": y_hat, "L": loss, "dL/dy_hat": y_hat.grad}
    if arch.loss in PROBABILITIES:  # what the loss sees: torch's own softmax or sigmoid of the logits
        raw[PROBABILITIES_NAME] = (torch.softmax(y_hat.detach(), dim=1) if PROBABILITIES[arch.loss] == "softmax"
                                   else torch.sigmoid(y_hat.detach()))
    for k in range(1, n + 1):
        linear = model[2 * (k - 1)]
        raw[f"z{k}"] = zs[k - 1]
        raw[f"dL/dz{k}"] = zs[k - 1].grad
        raw[f"dL/dW{k}"] = linear.weight.grad.T
        if linear.bias is not None:
            raw[f"dL/db{k}"] = linear.bias.grad
        raw[quantities.derivative_name(k, n, arch.activations[k - 1])] = derivatives[k - 1]
        if k < n:
            raw[quantities.hidden_name(k, n)] = acts[k - 1]
            raw[f"dL/d{quantities.hidden_name(k, n)}"] = acts[k - 1].grad
    raw.update(_printed(arch, y_hat.detach(), y, raw, class_indices, lr, frozen))
    values = {}
    for name in arch.quantity_names() + [n for n in arch.printed_names() if n in raw]:
        value = raw[name].detach().numpy()
        if len(x) == 1 and value.ndim == 2 and not name.startswith(("dL/dW", "dL/db", DELTA_PREFIX)):
            value = value[0]
        values[name] = value
    dtype = "float64" if x.dtype == torch.float64 else "float32"
    return AutogradPass(dtype, values, [z.detach().numpy() for z in zs])
