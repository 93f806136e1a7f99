import pytest

from reference.exercise import CHAPTER7_PATH, load_exercise


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
