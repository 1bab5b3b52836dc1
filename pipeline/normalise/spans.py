"""Spans of the original text whose normalised form matches a pattern (redaction)."""

from __future__ import annotations

import re
import unicodedata

from .confusables import lookalike_table
from .invisible import IGNORABLE_RUN


def find_spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """Spans of `text` (original offsets) whose normalised form matches `pattern`.

    Matching runs on a character-by-character normalisation (each character removed if
    ignorable, else NFKC'd, and mapped if a look-alike wherever it stands) whose every
    character remembers where it came from, so a match maps back to the characters to
    redact, hidden ones included. It equals `normalise` but for compositions across
    characters (a letter and a separate accent), which contact details do not contain.
    """
    if text.isascii():
        return [m.span() for m in pattern.finditer(text)]
    table = lookalike_table()
    chars: list[str] = []
    origin: list[int] = []
    ignorable = IGNORABLE_RUN
    for index, char in enumerate(text):
        if ignorable.fullmatch(char):
            continue
        for out in unicodedata.normalize("NFKC", char):
            chars.append(table.get(out, out))
            origin.append(index)
    view = "".join(chars)
    spans = []
    for match in pattern.finditer(view):
        if match.end() > match.start():
            start, end = origin[match.start()], origin[match.end() - 1] + 1
            # Ignorables right after the last matched character belong to the span too.
            while end < len(text) and ignorable.fullmatch(text[end]):
                end += 1
            spans.append((start, end))
    return spans
