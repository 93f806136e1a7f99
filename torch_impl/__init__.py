"""The same network built from ``torch.nn`` and differentiated by autograd."""
from torch_impl.model import AutogradPass, build_model, run_autograd

__all__ = ["AutogradPass", "build_model", "run_autograd"]
