"""Names of the quantities a network's forward and backward pass compute.

Names follow the text: for the chapter's one-hidden-layer network they are ``z1``,
``h``, ``y_hat``, ``L``, ``dL/dy_hat``, ``dL/dW2``, ``dL/db2``, ``dL/dh``, ``relu_mask``,
``dL/dz1``, ``dL/dW1``, ``dL/db1``. Deeper networks number their hidden layers
(``h1``, ``h2``, ``relu_mask1``, ``dL/dh2``, ...). A loss on logits adds ``p``, the
probabilities it sees (softmax(y_hat) for cross_entropy, sigmoid(y_hat) for
bce_with_logits; ``y_hat`` stays the logits); a layer without bias has no ``dL/db{k}``.

Texts also print quantities that are not steps of the pass (``printed_names``): the
error ``e`` = ŷ − y (p − y for a loss on logits), the exponentials ``exps`` = exp(ŷ) of a
softmax, the loss of each example ``L_per_example`` (B,), and the parameter change of an
update step ``delta_W1`` = −lr · ∂L/∂W1 (``delta_b1``, ...). They are accepted as hand
answers and student returns, and reported where they are given.

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


ERROR_NAME = "e"  # ŷ − y, or p − y for a loss on logits
EXPONENTIALS_NAME = "exps"  # exp(ŷ), the numerators of a softmax
PER_EXAMPLE_NAME = "L_per_example"  # the loss of each example of a batch, (B,)
DELTA_PREFIX = "delta_"  # delta_W1 = −lr · ∂L/∂W1, the change of an update step


def printed_names(parameters: list[str], loss: str | None = None) -> list[str]:
    """The quantities texts print beside the steps, for a network with these
    ``parameters`` (``["W1", "b1", ...]``) and ``loss``: e, exps (cross-entropy only),
    L_per_example and one delta per parameter."""
    names = [ERROR_NAME] + ([EXPONENTIALS_NAME] if loss == "cross_entropy" else []) + [PER_EXAMPLE_NAME]
    return names + [DELTA_PREFIX + p for p in parameters]


def delta_parameter(name: str) -> str | None:
    """``"delta_W1"`` -> ``"W1"``; None for another name."""
    return name[len(DELTA_PREFIX):] if name.startswith(DELTA_PREFIX) else None


def printed_title(name: str) -> str:
    """The heading a printed quantity goes under in a key or a diagnosis."""
    if name == ERROR_NAME:
        return "The error e = ŷ − y"
    if name == EXPONENTIALS_NAME:
        return "The softmax's exponentials exp(ŷ)"
    if name == PER_EXAMPLE_NAME:
        return "The loss of each example"
    return "The update step Δθ = −lr · ∂L/∂θ"


def printed_groups(names: list[str]) -> list[tuple[str, list[str]]]:
    """``[(title, names)]`` for the printed quantities in ``names``, one group per title,
    in the order of ``printed_names``."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(printed_title(name), []).append(name)
    return list(groups.items())

