"""Look-alike letters of other scripts (Unicode TR39 confusables), read as Latin.

A Cyrillic `е` in `dеposit`, or a whole word typed in Cyrillic or Greek look-alikes
(`рау`, `тоken`), reads as Latin to a person. The data is TR39's, as shipped by
`confusable-homoglyphs`. Two uses, both only where the text is written in Latin:

- a word mixing ASCII letters with look-alikes is mapped to Latin (a mixed-script word
  is no one's ordinary spelling);
- a word with no ASCII letter is mapped only when its skeleton (every letter read as
  the Latin letter it imitates) is a word of the vocabulary. `Сара` (a Russian name)
  stays `Сара`: its skeleton, `capa`, is no vocabulary word.
"""

from __future__ import annotations

import json
import unicodedata
from functools import cache
from importlib import resources

from anyascii import anyascii

from .fold import fold_char


@cache
def _confusables() -> dict[str, list[str]]:
    source = resources.files("confusable_homoglyphs").joinpath("confusables.json")
    data = json.loads(source.read_text(encoding="utf-8"))
    # Right-to-left entries are wrapped in LRMs.
    return {key.strip("\u200e"): [h["c"] for h in value] for key, value in data.items()}


@cache
def lookalike_table() -> dict[str, str]:
    """Non-ASCII letters that look like one ASCII letter -> that letter, from TR39 data.

    Built once, on first need (about 50 ms: ASCII-only traffic never pays it). Letters
    only, on both sides: a letter that imitates a digit ("З" -> "3") is left alone, as
    are symbols and digits.
    """
    table: dict[str, str] = {}
    for char, homoglyphs in _confusables().items():
        if len(char) != 1 or char.isascii() or not unicodedata.category(char).startswith("L"):
            continue
        letters = [t for t in homoglyphs if len(t) == 1 and t.isascii() and t.isalpha()]
        if letters:
            # Keep the case: Cyrillic "А" -> "A", "а" -> "a".
            same_case = [t for t in letters if t.isupper() == char.isupper()]
            table[char] = (same_case or letters)[0]
    return table


# Latin prototypes in TR39 that read as one ASCII letter though they are not ASCII:
# small capitals (Cyrillic `т` -> `ᴛ`), kra (Greek `κ` -> `ĸ`), tone six (Cyrillic `ь`
# -> `ƅ`). Not "turned" letters: Cyrillic `м` -> `ʍ` is a turned w, and reads as m.
_PROTOTYPES = {"\u0138": "k", "\u0185": "b"}


@cache
def skeleton_table() -> dict[str, str]:
    """`lookalike_table`, and letters whose TR39 prototype reads as one ASCII letter
    (a Latin small capital, kra, tone six; an ASCII letter with a mark: Greek `η` ->
    `n̩`): Cyrillic `т`, `в`, `н`, `ь`, Greek `κ`, `η`."""
    table = dict(lookalike_table())
    for char, homoglyphs in _confusables().items():
        if len(char) != 1 or char in table or not char.isalpha() or char.isascii():
            continue
        for glyph in homoglyphs:
            plain = _prototype_letter(glyph)
            if plain:
                table[char] = plain.upper() if char.isupper() else plain
                break
    return table


def _prototype_letter(glyph: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFD", glyph) if not unicodedata.combining(c))
    if len(base) != 1:
        return ""
    if base.isascii():
        return base.lower() if base.isalpha() and len(glyph) > 1 else ""
    if base in _PROTOTYPES:
        return _PROTOTYPES[base]
    name = unicodedata.name(base, "")
    if name.startswith("LATIN") and "SMALL CAPITAL" in name:
        plain = anyascii(base).lower()
        return plain if len(plain) == 1 and plain.isalpha() else ""
    return ""


def is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


def non_latin_letter(char: str) -> bool:
    return bool(char) and not char.isascii() and char.isalpha() and not is_latin(char)


def latin_text(text: str) -> bool:
    """Whether text is written in Latin letters: at most 10% of its letters belong to
    another script and have no Latin look-alike. Russian or Greek text is full of
    letters without one."""
    table = skeleton_table()
    letters = foreign = 0
    for char in text:
        if char.isalpha():
            letters += 1
            # The letter as the matching copy has it: accents stripped, folded ("º" -> o).
            base = fold_char(unicodedata.normalize("NFD", char)[0])[0][:1]
            if non_latin_letter(base) and base not in table:
                foreign += 1
    return foreign * 10 <= letters


def map_mixed(word: str) -> tuple[str, int]:
    """A word mixing ASCII letters and look-alikes, mapped (`skeleton_table`: `тoken`
    too); the letters of other scripts replaced (small capitals are `fold`'s)."""
    table = skeleton_table()
    if not any(c.isascii() and c.isalpha() for c in word) or table.keys().isdisjoint(word):
        return word, 0
    mapped = "".join(table.get(c, c) for c in word)
    return mapped, sum(c in table and not is_latin(c) for c in word)


def skeleton(word: str) -> str:
    """The word with every look-alike letter read as the Latin one (lowercase)."""
    table = skeleton_table()
    return "".join(table.get(c, c) for c in word).lower()
