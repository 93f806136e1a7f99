"""Words that fit the network: "why zero" for every activation, and nothing about ReLU where
there is no ReLU (compare.why_zero, compare.reasons, the key, the report)."""
import io
import re
from contextlib import redirect_stdout

import pytest

from compare.answer_key import build_answer_key, render
from compare.cli import main
from reference.exercise import CHAPTER7_PATH, load_exercise

BUNDLED = sorted(CHAPTER7_PATH.parent.glob("*.toml"))
LEAKY = re.compile(r"leaky(\\?_| |)relu", re.I)  # leaky_relu, leaky\_relu, leaky ReLU, LeakyReLU


def mentions_relu(text: str) -> bool:
    """Whether ``text`` names plain ReLU (a leaky ReLU is another activation)."""
    return "relu" in LEAKY.sub("", text).lower()


def everything_printed(path) -> str:
    """The key in every format and the report as text and JSON."""
    key = build_answer_key(load_exercise(path))
    parts = [render(key, fmt) for fmt in ("markdown", "latex", "html")]
    for args in ([str(path)], [str(path), "--json"]):
        out = io.StringIO()
        with redirect_stdout(out):
            main(args)
        parts.append(out.getvalue())
    return "\n".join(parts)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_a_network_without_relu_never_mentions_relu(path):
    activations = load_exercise(path).architecture.activations
    text = everything_printed(path)
    assert mentions_relu(text) == ("relu" in activations), path.name
    if "relu" not in activations:
        plain = LEAKY.sub("", text)
        assert "ReLU gate" not in plain and "ReLU'(0)" not in plain and "ReLU′(0)" not in plain


def test_the_relu_check_sees_relu_and_not_leaky_relu():
    assert mentions_relu("ReLU gate closed") and mentions_relu("dead: ReLU'(0) = 0")
    assert not mentions_relu("leaky ReLU kink; leaky_relu_grad[0]; LeakyReLU′(z1[0]); leaky\\_relu")


def exercise(tmp_path, activation, W1, b1, x, loss="mse", W2="[[0.5], [0.5]]"):
    """A 2-2-1 network with the given first layer and one example (target 1)."""
    path = tmp_path / f"{activation}.toml"
    output = "sigmoid" if loss == "bce" else "identity"
    path.write_text(f"""title = "{activation}"
[network]
sizes = [2, 2, 1]
activations = ["{activation}", "{output}"]
loss = "{loss}"
[parameters]
W1 = {W1}
b1 = {b1}
W2 = {W2}
b2 = [0.1]
[[examples]]
x = {x}
y = [1]
""")
    return build_answer_key(load_exercise(path))


def test_sigmoid_never_outputs_zero_but_a_zero_input_kills_its_weights_gradient(tmp_path):
    key = exercise(tmp_path, "sigmoid", "[[0.5, -0.5], [0.2, 0.3]]", "[0, 0]", "[0, 1]", loss="bce")
    assert key.entry("dL/dW1[0][0]").why_zero == "input x[0] = 0"
    assert key.entry("dL/dW1[0][1]").why_zero == "input x[0] = 0"
    assert key.entry("dL/dW1[1][0]").why_zero == "" and key.entry("h[0]").exact != 0
    assert not any(mentions_relu(e.why_zero) for s in key.steps for e in s.entries)


def test_a_saturated_sigmoid_has_no_derivative(tmp_path):
    key = exercise(tmp_path, "sigmoid", "[[1000, 0.1], [0.2, 0.3]]", "[0, 0]", "[1, 1]")
    assert key.entry("sigmoid_grad[0]").why_zero == "σ(z1[0]) is 1 or 0 to 50 digits: σ′ = 0 (saturated)"
    assert key.entry("dL/dz1[0]").why_zero == "σ′ = 0 here: sigmoid_grad[0] = 0"
    assert key.entry("dL/dW1[0][0]").why_zero == "σ′ = 0 at neuron 0 (saturated to 50 digits)"
    assert key.entry("sigmoid_grad[1]").why_zero == ""


# z1 = x @ W1 + b1 with x = [1, 0], b1 = [-0.5, 0]: neuron 0 exactly at z = 0, neuron 1 at W1[0][1]
@pytest.mark.parametrize("activation, w, reasons", [
    ("tanh", 0.1, {"z1[0]": "pre-activation exactly 0 (tanh(0) = 0)", "h[0]": "z1[0] = 0 exactly: tanh(0) = 0",
                   "dL/dW2[0][0]": "neuron 0 outputs 0 (its pre-activation is exactly 0)", "tanh_grad[0]": ""}),
    ("leaky_relu", -1, {"h[0]": "z1[0] = 0 exactly: leaky ReLU(0) = 0 (never dead: slope 0.01 below 0)",
                        "z1[0]": "pre-activation exactly 0: at the leaky ReLU kink", "h[1]": "",
                        "leaky_relu_grad[1]": ""}),  # below 0 a leaky ReLU is not dead
    ("identity", 0.1, {"h[0]": "z1[0] = 0 exactly: the identity passes it on", "z1[0]": "pre-activation exactly 0"}),
    ("relu", -1, {"h[0]": "z1[0] = 0 exactly: ReLU(0) = 0, dead neuron 0 (on the boundary)",
                  "dL/dz1[1]": "ReLU gate closed: relu_mask[1] = 0", "dL/dW2[1][0]": "dead neuron 1"}),
])
def test_zeros_are_explained_for_each_activation(tmp_path, activation, w, reasons):
    key = exercise(tmp_path, activation, f"[[0.5, {w}], [0.2, 0.3]]", "[-0.5, 0]", "[1, 0]")
    assert {label: key.entry(label).why_zero for label in reasons} == reasons
    assert mentions_relu(" ".join(reasons.values())) == (activation == "relu")


def test_loss_gradient_zero_is_worded_for_the_loss(tmp_path):
    path = tmp_path / "ce.toml"
    path.write_text("""[network]
sizes = [1, 2]
activations = ["identity"]
loss = "cross_entropy"
[parameters]
W1 = [[0, 0]]
b1 = [0, 0]
[[examples]]
x = [1]
y = [0.5, 0.5]
""")
    key = build_answer_key(load_exercise(path))
    assert key.entry("dL/dy_hat[0]").why_zero == "softmax(ŷ)[0] equals its target"
    assert key.entry("dL/dW1[0][1]").why_zero == "output 1 already equals its target"
