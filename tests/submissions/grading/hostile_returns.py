"""Returns every kind of value the runner must not choke on, from a dict subclass whose
own methods raise."""
import numpy as np


class RaisingDict(dict):
    def __getitem__(self, key):
        raise RuntimeError("getitem")

    def items(self):
        raise RuntimeError("items")

    def keys(self):
        raise RuntimeError("keys")

    def __iter__(self):
        raise RuntimeError("iter")

    def __len__(self):
        raise RuntimeError("len")


class RaisingArray:
    def __array__(self, *args, **kwargs):
        raise RuntimeError("array")


class LoopingArray:
    def __array__(self, *args, **kwargs):
        while True:
            pass


def backward(params, x, y):
    ragged = [[1.0, 2.0], [3.0]]
    return RaisingDict({"nan": np.array([np.nan, np.inf, -np.inf]), "none": None, "string": "zero",
                        "object": object(), "ragged": ragged, "complex": np.array([1 + 2j]), "huge int": 10 ** 400,
                        "bool": True, "nested": {"a": 1.0}, "raising array": RaisingArray(),
                        "looping array": LoopingArray(), 7: [1.0], "fine": [[0.5, 1.5]]})
