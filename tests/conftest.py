import pytest

from reference.exercise import CHAPTER7_PATH, load_exercise


@pytest.fixture(autouse=True)
def _no_columns(monkeypatch):
    """Reports are compared line by line: $COLUMNS (set by some shells and CI runners) would
    wrap their tables (compare.tables); tests of the wrapping set it themselves."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture(scope="session")
def chapter7():
    return load_exercise(CHAPTER7_PATH)


@pytest.fixture
def chapter7_variant(tmp_path):
    """Write a copy of the Chapter 7 file with one text replacement; returns its path."""
    def make(old: str, new: str, name: str = "variant.toml"):
        text = CHAPTER7_PATH.read_text()
        assert old in text, old
        path = tmp_path / name
        path.write_text(text.replace(old, new, 1))
        return path
    return make


# pytester runs the pytest plugin (compare.pytest_plugin) on exercise folders in tmp dirs.
pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def large_file(tmp_path_factory):
    """An 8-1000-4 ReLU network with 4000 examples, random six-decimal values (none of the
    4 million pre-activations exactly at a kink): 48 million multiply-adds a forward pass,
    beyond the budget of an exact check entry by entry and of an exact training step
    (``compare.finite_differences.estimate``)."""
    import numpy as np
    rng = np.random.default_rng(2)
    sizes = [8, 1000, 4]

    def fmt(a):
        return "[" + ", ".join(fmt(r) if np.ndim(r) else f"{r:.6f}" for r in a) + "]"
    lines = ["[network]", f"sizes = {sizes}", "[parameters]"]
    for k in (1, 2):
        scale = 1 / np.sqrt(sizes[k - 1])  # so that gradient descent with lr 0.1 lowers the loss
        lines += [f"W{k} = {fmt(rng.uniform(-scale, scale, (sizes[k - 1], sizes[k])))}",
                  f"b{k} = {fmt(rng.uniform(-.1, .1, sizes[k]))}"]
    for _ in range(4000):
        lines += ["[[examples]]", f"x = {fmt(rng.uniform(-1, 1, sizes[0]))}", f"y = {fmt(rng.uniform(-1, 1, sizes[2]))}"]
    path = tmp_path_factory.mktemp("large") / "large.toml"
    path.write_text("\n".join(lines) + "\n")
    return path
