"""The hand-written reference: exercise files, forward pass and backpropagation in NumPy.

This package never imports torch. Every function works on NumPy arrays of float32,
float64 or exact ``fractions.Fraction`` objects (dtype=object) through one code path.
"""
from reference.exercise import Exercise, ExerciseError, load_exercise, CHAPTER7_PATH
from reference.network import Network
from reference.backprop import Backprop, Pass, run_network_pass, run_pass

__all__ = ["Exercise", "ExerciseError", "load_exercise", "CHAPTER7_PATH",
           "Network", "Backprop", "Pass", "run_network_pass", "run_pass"]
