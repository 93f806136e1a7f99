"""Every-entry hand-vs-autograd checks for networks too large for exact arithmetic.

A 784-1024-256-10 MLP has about a million parameters: rows per entry and a rational
ground truth are out of reach, so the check is vectorised per tensor. Every entry of
every gradient is compared, hand (NumPy) against autograd, under the run's tolerance;
the report gives per tensor the count of disagreeing entries, the largest difference
and where it is. Finite differences (float64 forward pass, sampled entries) and
forward-mode JVPs add the independent witnesses.
"""
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from compare import finite_differences as fdm
from compare.tolerance import Tolerance
from reference.backprop import run_network_pass
from reference.exercise import Architecture, Exercise
from reference.network import Network
from reference.numbers import convert
from torch_impl.model import DTYPES, parameter_gradients, sequential

# Tolerance of a float64 central difference with step eps**(1/3): its error is about
# eps**(2/3) relative to the loss's scale.
FD_TOLERANCE = Tolerance(rtol=1e-5, atol=1e-8)



@dataclass
class TensorCheck:
    """Hand vs autograd over every entry of one parameter's gradient."""
    parameter: str
    shape: tuple[int, ...]
    disagreeing: int
    max_abs_diff: float
    worst: tuple[int, ...]
    fd_checked: int = 0
    fd_problems: list[str] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return self.disagreeing == 0 and not self.fd_problems


@dataclass
class BulkCheck:
    """The result of ``bulk_check``: one ``TensorCheck`` per parameter, and the JVPs."""
    dtype: str
    tolerance: Tolerance
    tensors: list[TensorCheck]
    hand_gradients: dict[str, np.ndarray]
    jvp: list[tuple[float, float, bool]] = field(default_factory=list)  # (jvp, ⟨hand, v⟩, agree)
    jvp_seed: int | None = None
    finite_differences: dict | None = None  # how they were taken, once added
    cost: fdm.Cost | None = None  # the estimate that chose this check over the exact one, if known

    @property
    def ok(self) -> bool:
        return all(t.agree for t in self.tensors) and all(j[2] for j in self.jvp)


def bulk_check(arch: Architecture, weights: list[np.ndarray], biases: list[np.ndarray],
               x: np.ndarray, y: np.ndarray, dtype: str = "float64", tolerance: Tolerance | None = None,
               class_indices: bool = False, backprop=None) -> BulkCheck:
    """Hand backward pass (NumPy, by ``backprop``: the correct one by default) and
    autograd on float arrays of ``dtype``: W_k (in, out), b_k (out,) (0-d where shared), x (B, in),
    y (B, out); every gradient entry compared with
    ``|hand - autograd| <= atol + rtol * |autograd|``.

    Nothing beyond what the comparison needs: one hand pass (its forward pass gives the
    ReLU masks of its backward pass), one torch forward and ``loss.backward()`` for the
    parameter gradients only (``torch_impl.model.parameter_gradients``), and one pass per
    tensor over both gradients in blocks that stay in cache (``compare_tensor``)."""
    tolerance = tolerance or Tolerance.for_dtype(dtype)
    network = Network(arch, weights, biases, np.asarray(float(arch.negative_slope), dtype=dtype))
    hand = run_network_pass(network, x, y, dtype, backprop, printed=False)
    model = sequential(arch, [torch.from_numpy(w) for w in weights], [torch.from_numpy(b) for b in biases],
                       DTYPES[dtype], share_memory=True)
    auto = parameter_gradients(model, arch, torch.from_numpy(x), torch.from_numpy(y), class_indices)
    scratch = np.empty((2, BLOCK), dtype=dtype)
    tensors, gradients = [], {}
    for name in arch.parameter_shapes():
        h = hand.gradient(name)
        tensors.append(compare_tensor(name, h, auto[name], tolerance, scratch))
        gradients[name] = h
    return BulkCheck(dtype, tolerance, tensors, gradients)


BLOCK = 1 << 14  # entries compared at a time: two scratch blocks of 128 KB (float64) stay in cache


def compare_tensor(name: str, hand: np.ndarray, auto: np.ndarray, tolerance: Tolerance,
                   scratch: np.ndarray | None = None) -> TensorCheck:
    """Every entry of one gradient, hand against autograd (same shape, any float dtype):
    the number with ``|hand - auto| > atol + rtol * |auto|`` (NaN counts as disagreeing),
    the largest ``|hand - auto|`` and where it is. One pass over both arrays, ``BLOCK``
    entries at a time into ``scratch`` (2, BLOCK), so no temporary of the tensor's size
    is made; the rtol bound is computed only in blocks where some entry exceeds atol."""
    flat_hand, flat_auto = hand.reshape(-1), auto.reshape(-1)  # views where C-contiguous
    if scratch is None or scratch.dtype != np.result_type(hand, auto):
        scratch = np.empty((2, BLOCK), dtype=np.result_type(hand, auto))
    worst, worst_at, disagreeing = -1.0, 0, 0
    for start in range(0, flat_hand.size, BLOCK):
        stop = min(start + BLOCK, flat_hand.size)
        diff, bound = scratch[0, :stop - start], scratch[1, :stop - start]
        np.subtract(flat_hand[start:stop], flat_auto[start:stop], out=diff)
        np.abs(diff, out=diff)
        at = int(np.argmax(diff))  # the first NaN, if any
        largest = diff[at]
        if not largest <= worst:  # larger, or NaN
            worst, worst_at = float(largest), start + at
        if not largest <= tolerance.atol:  # else every entry of the block is within atol
            np.abs(flat_auto[start:stop], out=bound)
            bound *= tolerance.rtol
            bound += tolerance.atol
            disagreeing += (stop - start) - int(np.count_nonzero(diff <= bound))
    index = tuple(int(i) for i in np.unravel_index(worst_at, hand.shape))
    return TensorCheck(name, hand.shape, disagreeing, max(worst, 0.0) if worst == worst else worst, index)


def add_sampled_finite_differences(check: BulkCheck, exercise: Exercise, sample: int, seed: int = 0,
                                   progress=None) -> None:
    """Finite differences (float64 forward, step ``fdm.FLOAT64_STEP``) on ``sample``
    entries per tensor against the hand gradient, under ``FD_TOLERANCE``; entries whose
    perturbation crosses a kink are skipped and counted as such."""
    entries = fdm.sample_entries(exercise, sample, seed)
    results = fdm.finite_differences(exercise, "float64", entries, progress, arithmetic="float64")
    check.finite_differences = {"step": fdm.FLOAT64_STEP, "arithmetic": "float64", "sampled_per_tensor": sample,
                                "seed": seed, "entries": len(results),
                                "crossing_kinks": sum(bool(fd.crossed) for fd in results if fd.finite),
                                "overflowing": sum(not fd.finite for fd in results),
                                "rtol": FD_TOLERANCE.rtol, "atol": FD_TOLERANCE.atol}
    by_name = {t.parameter: t for t in check.tensors}
    for fd in results:
        tensor = by_name[fd.parameter]
        tensor.fd_checked += 1
        hand = float(check.hand_gradients[fd.parameter][fd.index])
        if fd.finite and not fd.crossed and not FD_TOLERANCE.close(hand, fd.central):
            tensor.fd_problems.append(f"{fd.parameter}{list(fd.index)}: finite difference {fd.central:.6g}, "
                                      f"hand {hand:.6g}")


def add_bulk_jvp(check: BulkCheck, model_inputs, count: int, seed: int = 0) -> None:
    """``count`` random directional derivatives by torch.func.jvp against ⟨hand ∇L, v⟩;
    ``model_inputs`` = (model, arch, x, y, class_indices) as tensors."""
    from torch_impl.forward_mode import model_directional_derivatives  # torch.func loads sympy: only here
    model, arch, x, y, class_indices = model_inputs
    check.jvp_seed = seed
    rng = np.random.default_rng(seed)
    directions = [{name: rng.standard_normal(g.shape) for name, g in check.hand_gradients.items()}
                  for _ in range(count)]
    jvps = model_directional_derivatives(model, arch, x, y, directions, class_indices)
    for v, jvp in zip(directions, jvps):
        products = [check.hand_gradients[n].astype(np.float64) * v[n] for n in v]
        hand = math.fsum(float(p.sum()) for p in products)
        scale = sum(float(np.abs(p).sum()) for p in products)
        n = sum(p.size for p in products)
        limit = check.tolerance.atol * math.sqrt(n) + check.tolerance.rtol * scale
        check.jvp.append((jvp, hand, abs(jvp - hand) <= limit))


def check_exercise(exercise: Exercise, dtype: str, tolerance: Tolerance | None = None) -> tuple[BulkCheck, tuple]:
    """``bulk_check`` on a (large) exercise file's parameters and batch."""
    n = exercise.architecture.n_layers
    weights = [convert(exercise.parameters[f"W{k}"], dtype) for k in range(1, n + 1)]
    biases = [convert(exercise.bias_array(k), dtype) for k in range(1, n + 1)]
    x, y = convert(exercise.x, dtype), convert(exercise.y, dtype)
    check = bulk_check(exercise.architecture, weights, biases, x, y, dtype, tolerance, exercise.class_indices)
    model = sequential(exercise.architecture, [torch.from_numpy(w) for w in weights],
                       [torch.from_numpy(b) for b in biases], DTYPES[dtype])
    return check, (model, exercise.architecture, torch.from_numpy(x), torch.from_numpy(y), exercise.class_indices)
