"""Forward-mode directional derivatives of the loss with ``torch.func.jvp``.

For a direction v over all parameters (in the text's layout), the JVP of
θ ↦ L(θ) along v is the directional derivative ⟨∇L, v⟩, computed by forward-mode AD
without any backward pass: an independent witness for the hand-written VJPs.
"""
import numpy as np
import torch
from torch.func import functional_call, jvp

from reference.exercise import Exercise
from torch_impl.model import DTYPES, build_model, loss_value, tensor_from_decimals


def directional_derivatives(exercise: Exercise, directions: list[dict[str, np.ndarray]],
                            dtype: str = "float64", progress=None) -> list[float]:
    """⟨∇L, v⟩ for each direction v by ``torch.func.jvp``. A direction maps parameter
    names (``"W1"``, ``"b1"``, ...; no ``b{k}`` for a layer without bias) to arrays of the parameters' shapes in the computation's
    (in, out) layout; ``nn.Linear.weight`` gets v["W1"].T. ``progress`` wraps the loop."""
    torch_dtype = DTYPES[dtype]
    model = build_model(exercise, dtype)
    x = tensor_from_decimals(exercise.x, torch_dtype)
    y = tensor_from_decimals(exercise.y, torch_dtype)
    return _jvps(model, exercise.architecture, x, y, exercise.class_indices, directions, progress)


def _jvps(model, arch, x, y, class_indices, directions, progress=None) -> list[float]:
    names = {}  # torch parameter name -> the text's name, transposed for weights
    for k in range(1, arch.n_layers + 1):
        names[f"{2 * (k - 1)}.weight"] = (f"W{k}", True)
        if arch.has_bias(k):
            names[f"{2 * (k - 1)}.bias"] = (f"b{k}", False)
    params = {name: p.detach() for name, p in model.named_parameters()}

    def loss_of(p):
        y_hat = functional_call(model, p, (x,))
        return loss_value(arch, y_hat, y, class_indices)

    results = []
    for direction in (progress(directions) if progress else directions):
        tangents = {}
        for torch_name, (text_name, transpose) in names.items():
            v = torch.as_tensor(direction[text_name]).to(params[torch_name].dtype)
            tangents[torch_name] = v.T if transpose else v
        _, derivative = jvp(loss_of, (params,), (tangents,))
        results.append(float(derivative))
    return results


def model_directional_derivatives(model, arch, x, y, directions, class_indices=False) -> list[float]:
    """``directional_derivatives`` for a model and a batch already in torch (used where
    the parameters do not come from a file, as in the benchmarks)."""
    return _jvps(model, arch, x, y, class_indices, directions)
