"""compare.grading.escape: text the student controls stays one line of visible characters."""
import unicodedata

import pytest
from hypothesis import given, strategies as st

from compare.grading.escape import escape_untrusted, split_escaped_lines

ESCAPED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
# any code point, lone surrogates included (st.text() leaves them out by default)
ANY_TEXT = st.text(st.characters(blacklist_categories=()))


@pytest.mark.parametrize("text, escaped", [
    ("dL/dW1", "dL/dW1"),
    ("∂L/∂W1 ŷ ünïcode 日本 🙂", "∂L/∂W1 ŷ ünïcode 日本 🙂"),
    ("a\nStudent result: PASS", "a\\nStudent result: PASS"),
    ("carriage\rreturn\ttab", "carriage\\rreturn\\ttab"),
    ("\x1b[2Kclear", "\\x1b[2Kclear"),
    ("nul\x00del\x7fnel\x85", "nul\\x00del\\x7fnel\\x85"),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ("bidi\u202eoverride\u2066isolate\u200bzero-width\ufeff", "bidi\\u202eoverride\\u2066isolate\\u200bzero-width\\ufeff"),
    ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
    ("private \ue000 \U000f0000", "private \\ue000 \\U000f0000"),
    ("unassigned \U000e0080", "unassigned \\U000e0080"),
    ("back\\slash", "back\\\\slash"),
    ("a\\nb", "a\\\\nb"),
])
def test_escapes_exactly_the_dangerous_characters(text, escaped):
    assert escape_untrusted(text) == escaped


def test_a_literal_backslash_n_and_a_newline_stay_different():
    assert escape_untrusted("a\\nb") != escape_untrusted("a\nb")
    assert split_escaped_lines(escape_untrusted("a\\nb")) == ["a\\\\nb"]
    assert split_escaped_lines(escape_untrusted("a\nb")) == ["a", "b"]


def test_str_subclass_is_read_without_its_methods():
    class Sneaky(str):
        def __str__(self):
            raise RuntimeError("called")

        def __iter__(self):
            raise RuntimeError("called")
    assert escape_untrusted(Sneaky("x\ny")) == "x\\ny"


@pytest.mark.parametrize("value", [b"bytes", None, 3])
def test_non_text_is_refused(value):
    with pytest.raises(TypeError, match="expects a str"):
        escape_untrusted(value)


def test_split_escaped_lines():
    assert split_escaped_lines("") == []
    assert split_escaped_lines("one\\ntwo\\n") == ["one", "two"]
    assert split_escaped_lines("\\n\\nx") == ["", "", "x"]
    assert split_escaped_lines(escape_untrusted("tab\there\n\x1b\\")) == ["tab\\there", "\\x1b\\\\"]


@given(ANY_TEXT)
def test_any_text_escapes_to_one_visible_line_and_splits_back(text):
    escaped = escape_untrusted(text)
    assert not any(unicodedata.category(char) in ESCAPED_CATEGORIES for char in escaped)
    escaped.encode("utf-8")  # no lone surrogate left
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    assert split_escaped_lines(escaped) == [escape_untrusted(line) for line in lines]


@given(ANY_TEXT, ANY_TEXT)
def test_escaping_is_one_to_one(a, b):
    if a != b:
        assert escape_untrusted(a) != escape_untrusted(b)
