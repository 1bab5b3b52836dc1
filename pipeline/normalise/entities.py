"""HTML character references decoded (`&#100;eposit`, `&amp;`).

A chat message is no HTML, but text pasted from a web page carries `&amp;` and
`&nbsp;`, and a scammer writes `&#100;eposit`: a renderer that decodes shows the word,
a matcher reads digits. Only references ended by ";" are decoded (`R&D`, `AT&T`,
`&copy` without one stay), until nothing is left to decode, so that decoding is
idempotent. A numeric reference to an ASCII letter is counted: no one types one.
"""

from __future__ import annotations

import html
import re

_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_NUMERIC = re.compile(r"&#(?:([0-9]{1,7})|[xX]([0-9a-fA-F]{1,6}));")


def decode_entities(text: str) -> tuple[str, int]:
    """Text with character references decoded, and how many encoded an ASCII letter."""
    if "&" not in text:
        return text, 0
    encoded = 0
    while _REFERENCE.search(text):
        encoded += sum(_is_letter(m) for m in _NUMERIC.finditer(text))
        decoded = _REFERENCE.sub(lambda m: html.unescape(m.group(0)), text)
        if decoded == text:
            break
        text = decoded
    return text, encoded


def _is_letter(match: re.Match[str]) -> bool:
    decimal, hexadecimal = match.groups()
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return code < 128 and chr(code).isalpha()
