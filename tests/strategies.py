"""Hypothesis strategies: random fully connected networks as exercises."""
from decimal import Decimal

import numpy as np
from hypothesis import strategies as st

from reference.exercise import Architecture, Exercise
from reference.numbers import decimal_array

HIDDEN = ["relu", "leaky_relu", "sigmoid", "tanh", "identity"]
OUTPUT_FOR_LOSS = {"mse": ["identity", "sigmoid", "tanh", "relu"], "sse": ["identity", "tanh", "leaky_relu"],
                   "bce": ["sigmoid"], "bce_with_logits": ["identity"], "cross_entropy": ["identity"]}


def decimals(low=-10, high=10, places=1):
    """Decimals such as -0.7 or 0.35: integers over 10**places."""
    return st.integers(low * 10 ** places // 10, high * 10 ** places // 10).map(
        lambda i: Decimal(i).scaleb(-places))


@st.composite
def exercises(draw, max_layers=3, max_width=4, max_batch=3):
    n_layers = draw(st.integers(1, max_layers))
    sizes = [draw(st.integers(1, max_width)) for _ in range(n_layers + 1)]
    loss = draw(st.sampled_from(list(OUTPUT_FOR_LOSS)))
    if loss == "cross_entropy":
        sizes[-1] = max(sizes[-1], 2)
    activations = [draw(st.sampled_from(HIDDEN)) for _ in range(n_layers - 1)]
    activations.append(draw(st.sampled_from(OUTPUT_FOR_LOSS[loss])))
    arch = Architecture(tuple(sizes), tuple(activations), loss, draw(st.sampled_from(["mean", "sum"])),
                        draw(st.sampled_from([Decimal("0.01"), Decimal("0.1"), Decimal("0.25")])))
    params = {}
    for name, shape in arch.parameter_shapes().items():
        params[name] = decimal_array(draw(st.lists(decimals(), min_size=int(np.prod(shape)),
                                                   max_size=int(np.prod(shape))))).reshape(shape)
    batch = draw(st.integers(1, max_batch))
    x = decimal_array([[draw(decimals(places=1)) for _ in range(sizes[0])] for _ in range(batch)])
    if loss == "cross_entropy":
        y = [[1 if c == draw(st.integers(0, sizes[-1] - 1)) else 0 for c in range(sizes[-1])] for _ in range(batch)]
        y = [row if sum(row) == 1 else [1] + [0] * (sizes[-1] - 1) for row in y]
    elif loss in ("bce", "bce_with_logits"):
        y = [[draw(st.sampled_from([0, 1, Decimal("0.5")])) for _ in range(sizes[-1])] for _ in range(batch)]
    else:
        y = [[draw(decimals(places=1)) for _ in range(sizes[-1])] for _ in range(batch)]
    return Exercise(path="<hypothesis>", title="random network", source="", architecture=arch,
                    parameters=params, x=x, y=decimal_array(y),
                    class_indices=loss == "cross_entropy" and draw(st.booleans()))
