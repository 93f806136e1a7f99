"""Names of the quantities a network's forward and backward pass compute.

Names follow the text: for the chapter's one-hidden-layer network they are ``z1``,
``h``, ``y_hat``, ``L``, ``dL/dy_hat``, ``dL/dW2``, ``dL/db2``, ``dL/dh``, ``relu_mask``,
``dL/dz1``, ``dL/dW1``, ``dL/db1``. Deeper networks number their hidden layers
(``h1``, ``h2``, ``relu_mask1``, ``dL/dh2``, ...). A loss on logits adds ``p``, the
probabilities it sees (softmax(y_hat) for cross_entropy, sigmoid(y_hat) for
bce_with_logits; ``y_hat`` stays the logits); a layer without bias has no ``dL/db{k}``.

Every function takes the number of weight layers and their activations; ``loss`` (the
loss's name) and ``bias`` (per layer, whether it has a bias; None: every layer has one)
are keywords, as ``reference.exercise.Architecture.quantity_names`` passes them.
"""
import re

from reference.losses import PROBABILITIES

ENTRY = re.compile(r"^(?P<name>[^\[\]]+)(?P<index>(\[\d+\])+)$")


def hidden_name(layer: int, n_layers: int) -> str:
    """Name of the activation of hidden layer ``layer`` (1-based)."""
    return "h" if n_layers == 2 else f"h{layer}"


def derivative_name(layer: int, n_layers: int, activation: str) -> str:
    """Name of the activation's derivative at ``z{layer}``: the text's ``relu_mask`` for
    the one hidden layer of a two-layer network, numbered otherwise (``relu_mask1``,
    ``sigmoid_grad2``)."""
    base = "relu_mask" if activation == "relu" else f"{activation}_grad"
    return base if n_layers == 2 and layer == 1 else f"{base}{layer}"


PROBABILITIES_NAME = "p"  # softmax(y_hat) or sigmoid(y_hat) of a loss on logits


def _has_bias(bias, k: int) -> bool:
    return bias is None or bool(bias[k - 1])


def parameter_names(n_layers: int, bias: tuple[bool, ...] | None = None) -> list[str]:
    """``["W1", "b1", "W2", "b2", ...]``, without the ``b{k}`` of a layer that has no bias."""
    return [f"{kind}{k}" for k in range(1, n_layers + 1) for kind in ("W", "b")
            if kind == "W" or _has_bias(bias, k)]


def forward_names(n_layers: int, activations: list[str], loss: str | None = None) -> list[str]:
    """Forward quantities in the order the text recalls them: z1, h, ..., y_hat, L;
    ``p`` after y_hat for a loss on logits (``reference.losses.PROBABILITIES``)."""
    names = []
    for k in range(1, n_layers):
        names += [f"z{k}", hidden_name(k, n_layers)]
    if activations[-1] != "identity":
        names.append(f"z{n_layers}")
    names.append("y_hat")
    if loss in PROBABILITIES:
        names.append(PROBABILITIES_NAME)
    return names + ["L"]


def backward_names(n_layers: int, activations: list[str], bias: tuple[bool, ...] | None = None) -> list[str]:
    """Backward quantities in the order of the text's steps (Step 1 first); no
    ``dL/db{k}`` for a layer without bias."""
    names = ["dL/dy_hat"]
    if activations[-1] != "identity":
        names += [derivative_name(n_layers, n_layers, activations[-1]), f"dL/dz{n_layers}"]
    for k in range(n_layers, 0, -1):
        names += [f"dL/dW{k}"] + ([f"dL/db{k}"] if _has_bias(bias, k) else [])
        if k > 1:
            names += [f"dL/d{hidden_name(k - 1, n_layers)}",
                      derivative_name(k - 1, n_layers, activations[k - 2]),
                      f"dL/dz{k - 1}"]
    return names


def all_names(n_layers: int, activations: list[str], loss: str | None = None,
              bias: tuple[bool, ...] | None = None) -> list[str]:
    """Every quantity a hand answer may be given for."""
    return forward_names(n_layers, activations, loss) + backward_names(n_layers, activations, bias)


def split_entry(key: str) -> tuple[str, tuple[int, ...]]:
    """``"dL/dW1[0][2]"`` -> ``("dL/dW1", (0, 2))``; a whole name -> ``(name, ())``."""
    match = ENTRY.match(key)
    if not match:
        return key, ()
    return match["name"], tuple(int(i) for i in re.findall(r"\d+", match["index"]))


def entry_label(name: str, index: tuple[int, ...]) -> str:
    """``("W1", (0, 2))`` -> ``"W1[0][2]"``."""
    return name + "".join(f"[{i}]" for i in index)


def step_title(names: list[str], n_layers: int) -> str:
    """What a step does, worded as the text's headings."""
    name = names[-1]
    if name == "dL/dy_hat":
        return "gradient of the loss"
    if name.startswith(("dL/dW", "dL/db")):
        k = int(name[5:])
        kind = "weights" if name[4] == "W" else "biases"
        layer = "output layer" if k == n_layers else ("hidden layer" if n_layers == 2 else f"layer {k}")
        return f"{layer} {kind}"
    if len(names) == 2:
        where = "" if n_layers == 2 else f" of layer {name[5:]}"
        return "backpropagate through " + ("ReLU" if names[0].startswith("relu_mask") else "the activation") + where
    return "backpropagate to the hidden layer" if n_layers == 2 else f"backpropagate to {name[4:]}"


def step_groups(n_layers: int, activations: list[str], loss: str | None = None,
                bias: tuple[bool, ...] | None = None) -> list[tuple[str, list[str]]]:
    """``[(title, [quantity names]), ...]`` in the order of the text's steps: the forward
    pass recalled, then Step 1 (∂L/∂ŷ), Step 2 (output weights), ... as the chapter numbers them
    (a layer without bias has no bias step, and the later steps move up)."""
    groups = [("Recall: the forward pass", forward_names(n_layers, activations, loss))]
    backward = backward_names(n_layers, activations, bias)
    i = 0
    while i < len(backward):
        names = [backward[i]]
        if not backward[i].startswith("dL/d"):  # an activation's derivative goes with dL/dz
            names.append(backward[i + 1])
            i += 1
        i += 1
        groups.append((f"Step {len(groups)}: {step_title(names, n_layers)}", names))
    return groups
