"""Exercise files of any shape for tests: deterministic weights, inputs and targets."""


def network_toml(sizes, activations, examples=3, loss="mse", reduction="mean"):
    """An exercise of any size: deterministic weights in [-0.5, 0.5], inputs in {0, 0.5, 1},
    targets 0 or 1 (class indices for cross-entropy)."""
    def weight(k, i, j):
        return f"{((i * 7 + j * 13 + k * 5) % 11 - 5) / 10}"
    lines = [f'title = "{"-".join(map(str, sizes))} network"', "[network]", f"sizes = {list(sizes)}",
             "activations = [" + ", ".join(f'"{a}"' for a in activations) + "]",
             f'loss = "{loss}"', f'reduction = "{reduction}"', "[parameters]"]
    for k in range(1, len(sizes)):
        rows = ("[" + ", ".join(weight(k, i, j) for j in range(sizes[k])) + "]" for i in range(sizes[k - 1]))
        lines.append(f"W{k} = [" + ", ".join(rows) + "]")
        lines.append(f"b{k} = [" + ", ".join(f"{((j * 3 + k) % 5 - 2) / 10}" for j in range(sizes[k])) + "]")
    for e in range(examples):
        y = (str(e % sizes[-1]) if loss == "cross_entropy" else
             "[" + ", ".join(f"{(j + e) % 2}" for j in range(sizes[-1])) + "]")
        lines += ["[[examples]]", "x = [" + ", ".join(f"{((i + e) % 3) / 2}" for i in range(sizes[0])) + "]",
                  f"y = {y}"]
    return "\n".join(lines) + "\n"
