"""The comparison of hand backprop, autograd, exact values and printed values; the
report and the ``python -m compare`` command."""
from compare.comparison import Comparison, Row, compare_exercise, summarize
from compare.tolerance import Tolerance, written_value_agrees

__all__ = ["Comparison", "Row", "compare_exercise", "summarize", "Tolerance", "written_value_agrees"]
