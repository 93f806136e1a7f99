"""Escaping text a student controls, so that it stays one line of visible characters.

Exception messages, returned keys, printed output and source lines come from the
student's code. Printed as they are, a newline or carriage return in them starts a
line of the report the student wrote (``\\nStudent result: PASS``), an ANSI escape
rewrites the terminal, a bidi override reorders what a reader sees, and a lone
surrogate cannot even be encoded to UTF-8. ``escape_untrusted`` turns each such
character into a visible escape, the way Python's ``repr`` writes it, and escapes the
backslash itself, so the mapping is one-to-one: two different keys never escape to the
same text.

It does not replace a format's own escaping: the HTML, LaTeX and Markdown renderers
still escape ``<``, ``&``, ``\\``, ``|`` and the like in the (now one-line) text.
"""
import re
import unicodedata

# Characters that never need escaping: printable ASCII except the backslash.
_PLAIN = re.compile(r"[\x20-\x5b\x5d-\x7e]*")
_SHORT = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Unicode categories escaped: controls (Cc: C0, DEL, C1 with NEL), format characters (Cf:
# bidi overrides and isolates, zero-width joiners, the BOM), surrogates (Cs), private use
# (Co), unassigned (Cn), and the line and paragraph separators (Zl, Zp).
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# One escape as written by escape_untrusted, or a run of characters without a backslash.
_TOKEN = re.compile(r"\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|.)|[^\\]+", re.DOTALL)


def escape_untrusted(text: str) -> str:
    """``text`` as one line of visible characters.

    ``\\`` -> ``\\\\``; newline, carriage return and tab -> ``\\n``, ``\\r``, ``\\t``;
    other control characters -> ``\\xNN`` (``\\x1b``, ``\\x85``); Unicode line and
    paragraph separators, format characters (bidi overrides ``\\u202e``, zero-width
    spaces), surrogates, private-use and unassigned code points -> ``\\uNNNN`` or
    ``\\UNNNNNNNN``. Everything else (letters of any script, ``∂``, emoji) is kept.
    One-to-one: different texts give different results. Raises ``TypeError`` for a
    non-``str`` argument (``bytes`` included: decode them first)."""
    if type(text) is not str:
        if not isinstance(text, str):
            raise TypeError(f"escape_untrusted expects a str, got {type(text).__name__}")
        text = str.__str__(text)  # a str subclass: its own __str__ is not called
    if _PLAIN.fullmatch(text):
        return text
    return "".join(_escape_char(char) for char in text)


def _escape_char(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if 0x20 <= code < 0x7f:
        return char
    if code < 0xa0 or unicodedata.category(char) in _ESCAPED_CATEGORIES:
        if code <= 0xff:
            return f"\\x{code:02x}"
        return f"\\u{code:04x}" if code <= 0xffff else f"\\U{code:08x}"
    return char


def split_escaped_lines(escaped: str) -> list[str]:
    """The lines of a text escaped by ``escape_untrusted``: split at each ``\\n`` escape
    (not at a ``\\\\`` followed by ``n``). Each line is still escaped. An empty text has
    no lines; a final ``\\n`` does not start an empty last line."""
    lines, current = [], []
    for token in _TOKEN.findall(escaped):
        if token == "\\n":
            lines.append("".join(current))
            current = []
        else:
            current.append(token)
    if current:
        lines.append("".join(current))
    return lines
