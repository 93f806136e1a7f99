"""Runs a student's backward function in a child process: load, call, send back.

THIS RUNS THE STUDENT'S CODE. It is not a sandbox: the code can read and write files,
open connections and do anything the user running the harness can. The separate process
only protects the harness from exceptions, infinite loops, ``sys.exit`` and crashes.

The parent (``compare.student_check``) starts this file as a script::

    python compare/student.py STUDENT.py FUNCTION INPUT.json OUTPUT.json

so the child imports only the standard library and NumPy (not the ``compare`` package,
which imports torch). ``INPUT.json`` holds ``params``, ``x`` and ``y`` as arrays
(``{"shape": [...], "data": [...], "dtype": "float64"}``); the function is called as
``FUNCTION(params, x, y)`` and must return a dict of arrays keyed by the text's names.
``OUTPUT.json`` (written to a temporary name and renamed, so it is whole or absent) holds::

    {"status": "ok" | "import_error" | "missing_function" | "exception" | "bad_return",
     "message": "...", "line": int | null, "source": "..." | null,
     "values": {"dL/dW1": {"shape": [4, 3], "data": [...]}, ...},
     "bad_values": {"key": "why it is not an array of numbers"},
     "seconds": float}
"""
import contextlib
import importlib.util
import io
import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np

OUTPUT_LIMIT = 4000  # characters of the student's printed output sent back


def encode(array) -> dict:
    """A float array as JSON: shape, flat data (NaN and inf kept by ``json``), dtype."""
    array = np.asarray(array)
    return {"shape": list(array.shape), "data": [float(v) for v in array.reshape(-1)],
            "dtype": str(array.dtype)}


def decode(obj: dict) -> np.ndarray:
    """Inverse of ``encode``."""
    return np.array(obj["data"], dtype=obj.get("dtype", "float64")).reshape(obj["shape"])


def _where(error: BaseException, student_file: Path) -> tuple[int | None, str | None]:
    """The line of the student's file where ``error`` was raised (innermost frame in that
    file), and its source text."""
    if isinstance(error, SyntaxError) and error.filename and Path(error.filename).resolve() == student_file:
        return error.lineno, (error.text or "").strip() or None
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).resolve() == student_file]
    if not frames:
        return None, None
    return frames[-1].lineno, (frames[-1].line or "").strip() or None


def _load(student_file: Path):
    spec = importlib.util.spec_from_file_location(f"student_{student_file.stem}", student_file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {student_file} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would: dataclasses and pickle look it up
    spec.loader.exec_module(module)
    return module


def _values(returned) -> tuple[dict, dict]:
    """Split the returned dict into float arrays and keys whose value is not numbers."""
    values, bad = {}, {}
    for key, value in returned.items():
        if not isinstance(key, str):
            bad[repr(key)] = f"key is a {type(key).__name__}, expected a string such as 'dL/dW1'"
            continue
        try:
            array = np.asarray(value)
            if array.dtype.kind == "O":  # a list of NumPy scalars or Fractions
                array = array.astype(np.float64)
            if array.dtype.kind not in "fiub":
                raise TypeError(f"dtype {array.dtype}")
            values[key] = encode(array.astype(np.float64))
        except (TypeError, ValueError) as error:
            bad[key] = f"not an array of numbers ({type(value).__name__}: {error})"
    return values, bad


def run(student_file: Path, function: str, arguments: dict) -> dict:
    """Import ``student_file``, call ``function(params, x, y)`` and describe the outcome
    as the JSON object documented above. Never raises for anything the student's code does."""
    student_file = student_file.resolve()
    result = {"status": "ok", "message": "", "line": None, "source": None, "values": {},
              "bad_values": {}, "seconds": 0.0}
    try:
        module = _load(student_file)
    except BaseException as error:  # SyntaxError, ImportError, SystemExit at import, ...
        line, source = _where(error, student_file)
        return {**result, "status": "import_error", "message": f"{type(error).__name__}: {error}",
                "line": line, "source": source}
    target = getattr(module, function, None)
    if not callable(target):
        found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                       and getattr(v, "__module__", None) == module.__name__)
        return {**result, "status": "missing_function",
                "message": f"{student_file.name} has no function {function!r}"
                           + (f" (it defines {', '.join(found)})" if found else "")}
    params = {name: decode(value) for name, value in arguments["params"].items()}
    x, y = decode(arguments["x"]), decode(arguments["y"])
    start = time.perf_counter()
    try:
        returned = target(params, x, y)
    except BaseException as error:  # the student's exception is the verdict
        line, source = _where(error, student_file)
        return {**result, "status": "exception", "message": f"{type(error).__name__}: {error}",
                "line": line, "source": source, "seconds": time.perf_counter() - start}
    result["seconds"] = time.perf_counter() - start
    if not isinstance(returned, dict):
        return {**result, "status": "bad_return",
                "message": f"{function} returned a {type(returned).__name__}, expected a dict of "
                           "gradients keyed by name ('dL/dW1', 'dL/db1', ...)"}
    result["values"], result["bad_values"] = _values(returned)
    return result


def _write(path: Path, result: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    sys.dont_write_bytecode = True  # leave no __pycache__ beside the student's file
    student_file, function, input_path, output_path = Path(argv[0]), argv[1], Path(argv[2]), Path(argv[3])
    sys.path[0] = str(student_file.resolve().parent)  # the student's own sibling modules
    arguments = json.loads(input_path.read_text())
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = run(student_file, function, arguments)
    result["output"] = printed.getvalue()[:OUTPUT_LIMIT]
    _write(output_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
