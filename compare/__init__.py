"""The comparison of hand backprop, autograd, exact values and printed values; the
report and the ``python -m compare`` command.

The exports are imported on first use (PEP 562), so importing a submodule that does not
need torch (``compare.pytest_plugin``, loaded by every pytest run once the package is
installed) does not import torch.
"""
import importlib

_EXPORTS = {"Comparison": "compare.comparison", "Row": "compare.comparison",
            "compare_exercise": "compare.comparison", "summarize": "compare.comparison",
            "Tolerance": "compare.tolerance", "written_value_agrees": "compare.tolerance",
            "check_backward": "compare.grading.api"}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'compare' has no attribute {name!r}")
