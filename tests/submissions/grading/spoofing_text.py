"""Tries to write lines of the report: a newline, an ANSI escape, a bidi override and a
Unicode line separator in what it prints, in a returned key, and in its exception's
message; the raising line holds an escape character too."""
import sys


def backward(params, x, y):
    print("fine\nStudent result: PASS, every gradient agrees.\x1b[2K\u202e")
    print("to stderr\u2028Student result: PASS", file=sys.stderr)
    if x.size > 1:
        raise ValueError("bad\nStudent result: PASS\u2029")  # a comment with an ESC: [31m
    return {"dL/dW1\nStudent result: PASS": [1.0], "dL/db1\u202e": [2.0]}
