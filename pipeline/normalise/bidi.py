"""Text under a bidi override read in the order it is displayed (`python-bidi`).

U+202E (right-to-left override) makes "tisoped" display as "deposit": a person reads
the displayed word, a matcher the stored one. Lines with an override (U+202D or
U+202E) are reordered by the Unicode Bidirectional Algorithm as a renderer would;
embeddings, isolates and marks reorder no letters of a Latin word and are left to
`invisible`. Right-to-left text without an override is stored in logical order and
stays as it is.
"""

from __future__ import annotations

import re

from bidi import get_display

OVERRIDES = "\u202d\u202e"
_SURROGATE = re.compile("[\ud800-\udfff]")


def display_order(text: str) -> tuple[str, int]:
    """Lines with a bidi override in display order; the count of overrides that
    reordered Latin letters (an override that changes nothing is no disguise)."""
    if "\u202d" not in text and "\u202e" not in text:
        return text, 0
    lines = text.split("\n")
    count = 0
    for index, line in enumerate(lines):
        if "\u202d" in line or "\u202e" in line:
            # A lone surrogate cannot be displayed (nor passed to the library): U+FFFD.
            line = _SURROGATE.sub("\ufffd", line)
            shown = get_display(line)
            if _letters(shown) != _letters(line):
                count += line.count("\u202d") + line.count("\u202e")
                lines[index] = shown
    return "\n".join(lines), count


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isalpha())
