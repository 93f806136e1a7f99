"""The torch model: layout W.T, dtypes straight from decimals, autograd's gradients."""
import numpy as np
import pytest
import torch

from torch_impl import build_model, run_autograd
from torch_impl.model import tensor_from_decimals


def test_linear_weight_is_w_transposed(chapter7):
    model = build_model(chapter7)
    assert model[0].weight.shape == (3, 4)
    assert model[0].weight[2, 0].item() == 0.3  # W1[0][2]
    assert model[2].bias.tolist() == [0.0, 0.1, -0.1, 0.0]
    assert isinstance(model[1], torch.nn.ReLU)


def test_float64_tensors_are_not_routed_through_float32(chapter7):
    w = tensor_from_decimals(chapter7.parameters["W1"], torch.float64)
    assert w.dtype == torch.float64
    assert w[0, 1].item() == 0.1
    assert w[0, 1].item() != float(np.float32(0.1))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_autograd_gradients(chapter7, dtype):
    run = run_autograd(chapter7, dtype)
    assert run.values["dL/dW2"].dtype == np.dtype(dtype)
    np.testing.assert_allclose(run.values["dL/dW2"][2], [-0.225, -0.275, -0.0125, -0.3125], rtol=1e-6)
    np.testing.assert_allclose(run.values["dL/db2"], [-0.45, -0.55, -0.025, -0.625], rtol=1e-6)
    np.testing.assert_allclose(run.values["dL/dh"], [-0.0975, -0.3475, 0.44], rtol=1e-6)
    np.testing.assert_allclose(run.values["L"], 0.89625, rtol=1e-6)
    assert run.values["dL/dW1"].shape == (4, 3)


def test_relu_mask_is_pytorchs_own_derivative(chapter7):
    float32 = run_autograd(chapter7, "float32")
    # z1[0] is exactly 0; float32 rounds it to about ±7.5e-9, the sign depending on the
    # machine's BLAS kernels: the mask is autograd's own derivative for the side it took.
    z0 = float32.values["z1"][0]
    assert abs(z0) < 1e-7
    assert float32.values["relu_mask"].tolist() == [float(z0 > 0), 0.0, 1.0]
    float64 = run_autograd(chapter7, "float64")
    # float64 rounding puts z1[0] at about ±2.8e-17 (+ on the machines seen so far):
    # autograd takes the derivative of the side it landed on.
    z0 = float64.values["z1"][0]
    assert 0 < abs(z0) < 1e-15
    assert float64.values["relu_mask"].tolist() == [float(z0 > 0), 0.0, 1.0]
