"""Invisible characters removed, and counted only where they hide something.

Default-ignorable code points (Unicode property Default_Ignorable_Code_Point: 4,174
code points, checked against the `regex` package's property table) render as nothing:
zero-width spaces and joiners, soft hyphen, word joiner, BOM, bidi controls, variation
selectors, tag characters, Hangul fillers. All are removed from the matching copy. Only
those that hide something count as obfuscation; ordinary text is full of the others:

- in emoji: a presentation selector (`‼️`, keycaps `1️⃣`), a joiner between emoji
  (`👨‍👩‍👧`), the tag characters of a flag (🏴 + tags + cancel tag: Scotland, England);
- in scripts that shape with them: a joiner or non-joiner between letters of another
  script than Latin (Persian, Indic); bidi marks and isolates in a text with
  right-to-left letters (Hebrew, Arabic); ideographic variation selectors after CJK;
- a BOM at the start; a soft hyphen between syllables (every piece of the word has a
  vowel and two letters: `Ver­sand­kos­ten`);
- anywhere, an invisible character between words or at an edge (pasted text).

What counts: one inside a word that then reads as a vocabulary word (`dep​osit`) or a
number; tag characters outside a flag and supplementary variation selectors outside
CJK (they can carry hidden text).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import TYPE_CHECKING

from .fold import fold_word
from .vocabulary import rejoin_vocabulary

if TYPE_CHECKING:
    import regex

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt), checked against the `regex`
# package's \p{Default_Ignorable_Code_Point}. Python's unicodedata lacks the property.
DEFAULT_IGNORABLE = (
    "\u00ad\u034f\u061c\u115f-\u1160\u17b4-\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
IGNORABLE_RUN = re.compile(f"[{DEFAULT_IGNORABLE}]+")
_PROPERTIES = {  # Unicode properties `re` lacks, from the `regex` package
    "emoji": r"[\p{Emoji}\p{Emoji_Modifier}\p{Extended_Pictographic}\u20e3]",
    "rtl": r"[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}]",
    "cjk": r"[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]",
}
_BIDI_MARKS = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u2066\u2067\u2068\u2069")
_OVERRIDES = frozenset("\u202d\u202e")  # counted where they reorder letters (`bidi`)
_JOINERS = frozenset("\u200c\u200d")
_PRESENTATION = frozenset("\ufe0e\ufe0f")
_BLACK_FLAG = "\U0001f3f4"
_CANCEL_TAG = "\U000e007f"
_VOWELS = frozenset("aeiouyäöüàáâãåèéêëìíîïòóôõùúûýæœøąęėįųıа")


@cache
def _pattern(name: str) -> regex.Pattern[str]:
    """A compiled property pattern; `regex` is imported on the first text with an
    invisible character (most text has none: no import cost at cold start)."""
    import regex as unicode_regex

    return unicode_regex.compile(_PROPERTIES[name])


def strip_ignorable(text: str) -> tuple[str, int]:
    """Text without default-ignorable code points, and how many of them hid something."""
    hidden = 0
    pieces: list[str] = []
    last = 0
    rtl: bool | None = None
    for run in IGNORABLE_RUN.finditer(text):
        pieces.append(text[last : run.start()])
        if rtl is None:
            rtl = _pattern("rtl").search(text) is not None
        hidden += _hiding(text, run.start(), run.end(), rtl)
        last = run.end()
    if not pieces:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), hidden


def _hiding(text: str, start: int, end: int, rtl: bool) -> int:
    """How many ignorables of text[start:end] hide something (the rest are ordinary)."""
    run = text[start:end]
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if start == 0 and run[0] == "\ufeff":
        run, before = run[1:], "\ufeff"  # a byte order mark opening the text
    # A flag: black flag, tag letters, cancel tag.
    if before == _BLACK_FLAG and run.endswith(_CANCEL_TAG) and all(_tag(c) for c in run):
        return 0
    count = 0
    suspect = 0  # ordinary only if not inside a word
    previous = before
    for char in run:
        code = ord(char)
        if _tag(char) or 0xE0100 <= code <= 0xE01EF:
            count += not (code >= 0xE0100 and _pattern("cjk").match(previous or " "))
        elif not _ordinary(char, previous, after, rtl) and not (
            char == "\u00ad" and _syllables(text, start, end)
        ):
            suspect += 1
        if char not in _PRESENTATION:
            previous = char
    if suspect and _inside_disguised_word(text, start, end):
        count += suspect
    return count


def _ordinary(char: str, previous: str, after: str, rtl: bool) -> bool:
    """Whether an invisible character is ordinary where it stands (see the module doc)."""
    if char in _OVERRIDES:
        return True  # counted by `bidi`, where they reorder letters
    if char in _PRESENTATION:
        return bool(previous) and _pattern("emoji").match(previous) is not None
    if char in _JOINERS and _shaping(previous, after):
        return True
    if char in _BIDI_MARKS:
        return rtl
    return 0x180B <= ord(char) <= 0x180F and "MONGOLIAN" in unicodedata.name(previous or " ", "")


def _tag(char: str) -> bool:
    return 0xE0000 <= ord(char) <= 0xE007F


def _shaping(before: str, after: str) -> bool:
    """A joiner between emoji, or between letters (or marks) of a script that is not
    Latin: ordinary shaping."""
    if before and after and _pattern("emoji").match(before) and _pattern("emoji").match(after):
        return True
    return _shaped(before) and _shaped(after)


def _shaped(char: str) -> bool:
    if not char or char.isascii():
        return False
    if unicodedata.category(char)[0] == "M":
        return True
    return char.isalpha() and not unicodedata.name(char, "").startswith("LATIN")


def _word_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    left = start
    while left and (text[left - 1].isalnum() or IGNORABLE_RUN.match(text[left - 1])):
        left -= 1
    right = end
    while right < len(text) and (text[right].isalnum() or IGNORABLE_RUN.match(text[right])):
        right += 1
    return left, right


def _inside_disguised_word(text: str, start: int, end: int) -> bool:
    """Whether the run sits inside a word (alphanumerics on both sides) that, without
    the invisible characters, is a vocabulary word or a number."""
    if not start or end >= len(text) or not text[start - 1].isalnum() or not text[end].isalnum():
        return False
    left, right = _word_bounds(text, start, end)
    word = IGNORABLE_RUN.sub("", text[left:right])
    return word.isdigit() or fold_word(word) in rejoin_vocabulary()


def _syllables(text: str, start: int, end: int) -> bool:
    """Whether soft hyphens split a word into syllables: pieces of two letters or more,
    each with a vowel (`Ver­sand`, not `d­e­p­o­s­i­t`)."""
    left, right = _word_bounds(text, start, end)
    pieces = [p for p in re.split(f"[{DEFAULT_IGNORABLE}]+", text[left:right]) if p]
    return len(pieces) > 1 and all(
        len(p) >= 2 and not _VOWELS.isdisjoint(p.lower()) for p in pieces
    )
