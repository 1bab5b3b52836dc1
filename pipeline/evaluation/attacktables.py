"""The character tables the attack generator draws from: whole Unicode tables, never
a list of the words or letters the detector knows.

- every TR39 confusable of each ASCII letter (the confusables data shipped by
  `confusable-homoglyphs`), and the Cyrillic and Greek ones on their own;
- every "fancy text" alphabet Unicode has for Latin letters, found by character name
  in the whole code space: mathematical alphanumerics, fullwidth, small capitals,
  super- and subscripts, circled, parenthesised, squared, negative circled and
  squared letters; and Braille (the standard six-dot letters). Regional indicators
  are left out: two in a row are drawn as a flag, which no reader reads as letters;
- every combining mark of the combining blocks (accents, zalgo);
- every default-ignorable code point that is assigned (invisible characters).

Each table is built once, on first need, and is sorted: a seeded draw from it is the
same on every machine with the same Unicode version.
"""

from __future__ import annotations

import json
import re
import string
import sys
import unicodedata
from functools import cache
from importlib import resources

# ------------------------------------------------------------------ confusables


@cache
def confusables() -> dict[str, tuple[str, ...]]:
    """ASCII letter -> every single non-ASCII character TR39 says is confusable with it
    (letters, digits or symbols of any script), sorted by code point."""
    source = resources.files("confusable_homoglyphs").joinpath("confusables.json")
    data = json.loads(source.read_text(encoding="utf-8"))
    table: dict[str, set[str]] = {}
    for key, homoglyphs in data.items():
        char = key.strip("\u200e")  # right-to-left entries are wrapped in LRMs
        if len(char) != 1 or char.isascii() or unicodedata.category(char).startswith(("M", "C")):
            continue
        for glyph in homoglyphs:
            target = glyph["c"]
            if len(target) == 1 and target in string.ascii_letters:
                table.setdefault(target, set()).add(char)
    return {letter: tuple(sorted(chars)) for letter, chars in sorted(table.items())}


def script_of(char: str) -> str:
    """The script word that starts a character's name (CYRILLIC, GREEK, LATIN...)."""
    return unicodedata.name(char, "").split(" ", 1)[0]


@cache
def script_lookalikes(script: str) -> dict[str, tuple[str, ...]]:
    """ASCII letter -> its TR39 confusables written in `script` (CYRILLIC, GREEK), the
    same case first: a whole word can then be written in that script alone."""
    table: dict[str, tuple[str, ...]] = {}
    for letter, chars in confusables().items():
        found = [c for c in chars if script_of(c) == script and c.isalpha()]
        same_case = [c for c in found if c.isupper() == letter.isupper()]
        if same_case:
            table[letter] = tuple(same_case)
    return table


# Letters with no look-alike in the script: the letter of the same sound, which a
# reader of the word still reads ("т" for t, "δ" for d). Standard transliteration.
SOUND_ALIKES = {
    "CYRILLIC": dict(zip("bdfghklmnrtuvwzBDFGLNRUVWZ", "бдфгхклмнртувшзБДФГЛНРУВШЗ", strict=True)),
    "GREEK": dict(zip("bdefghklmnrstuwzDFGLRSW", "βδεφγηκλμνρστυωζΔΦΓΛΡΣΩ", strict=True)),
}

# ------------------------------------------------------------------ alphabets

_LETTER_NAME = re.compile(
    r"^(?P<style>.+?) (?:LATIN )?(?P<case>CAPITAL|SMALL) (?:LETTER )?(?P<l>[A-Z])$"
)
_SMALL_CAPITAL = re.compile(r"^LATIN LETTER SMALL CAPITAL (?P<l>[A-Z])$")
_DIGIT_NAME = re.compile(
    r"^(?P<style>.+?) DIGIT (?P<d>ZERO|ONE|TWO|THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE)$"
)
_DIGITS = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")
# Letterlike symbols fill the holes of the mathematical alphabets (ℭ, ℋ, ℝ...).
_HOLE_FILLERS = {
    "BLACK-LETTER": "MATHEMATICAL FRAKTUR",
    "SCRIPT": "MATHEMATICAL SCRIPT",
    "DOUBLE-STRUCK": "MATHEMATICAL DOUBLE-STRUCK",
}
# Styles that are not fancy text: invisible tags, and ordinary letters of other
# alphabets that happen to be named "... CAPITAL A" (phonetic, medieval, ...).
_NOT_FANCY = re.compile(r"^(TAG|LATIN|COMBINING|OLD ITALIC|CAUCASIAN|.*PHONETIC)")

# Which family each style belongs to.
FAMILY_OF_STYLE = (
    ("math", re.compile(r"^MATHEMATICAL ")),
    ("fullwidth", re.compile(r"^FULLWIDTH$")),
    ("smallcaps", re.compile(r"^SMALL CAPITAL$")),
    ("superscript", re.compile(r"^(MODIFIER LETTER|LATIN SUBSCRIPT|SUPERSCRIPT|SUBSCRIPT)$")),
    ("parenthesised", re.compile(r"^PARENTHESIZED$")),
    ("enclosed", re.compile(r"^(CIRCLED|NEGATIVE CIRCLED|SQUARED|NEGATIVE SQUARED)$")),
    ("braille", re.compile(r"^BRAILLE$")),
)

# Grade-1 Braille letters as dot numbers (a = dot 1, b = dots 1 2, ...).
_BRAILLE_DOTS = [
    "1",
    "12",
    "14",
    "145",
    "15",
    "124",
    "1245",
    "125",
    "24",
    "245",
    "13",
    "123",
    "134",
    "1345",
    "135",
    "1234",
    "12345",
    "1235",
    "234",
    "2345",
    "136",
    "1236",
    "2456",
    "1346",
    "13456",
    "1356",
]


def _braille() -> dict[str, str]:
    table = {}
    for letter, dots in zip(string.ascii_lowercase, _BRAILLE_DOTS, strict=True):
        char = chr(0x2800 + sum(1 << (int(d) - 1) for d in dots))
        table[letter] = table[letter.upper()] = char
    return table


@cache
def alphabets() -> dict[str, dict[str, str]]:
    """Style name -> {ASCII letter or digit: its character in that style}, for every
    style Unicode names in the whole code space (only styles with 10+ letters)."""
    styles: dict[str, dict[str, str]] = {}
    fillers: dict[str, dict[str, str]] = {}
    for code in range(0x80, sys.maxunicode + 1):
        name = unicodedata.name(chr(code), "")
        if not name:
            continue
        char = chr(code)
        if match := _SMALL_CAPITAL.match(name):
            styles.setdefault("SMALL CAPITAL", {}).setdefault(match["l"].lower(), char)
            continue
        if match := _DIGIT_NAME.match(name):
            styles.setdefault(match["style"], {})[str(_DIGITS.index(match["d"]))] = char
            continue
        match = _LETTER_NAME.match(name)
        if match is None or _NOT_FANCY.match(match["style"]):
            continue
        letter = match["l"] if match["case"] == "CAPITAL" else match["l"].lower()
        style = match["style"]
        if style in _HOLE_FILLERS:
            fillers.setdefault(_HOLE_FILLERS[style], {})[letter] = char
            continue
        styles.setdefault(style, {}).setdefault(letter, char)
    for style, extra in fillers.items():
        for letter, char in extra.items():
            styles.get(style, {}).setdefault(letter, char)
    styles["BRAILLE"] = _braille()
    letters = set(string.ascii_letters)
    return {
        style: table
        for style, table in sorted(styles.items())
        if len(letters & table.keys()) >= 10 and family_of(style) is not None
    }


def family_of(style: str) -> str | None:
    """The fancy-text family of a style (math, fullwidth, smallcaps...), or None."""
    for family, pattern in FAMILY_OF_STYLE:
        if pattern.match(style):
            return family
    return None


def styles_of(family: str) -> tuple[str, ...]:
    """Every style of one fancy-text family, sorted."""
    return tuple(s for s in alphabets() if family_of(s) == family)


# ------------------------------------------------------------------ marks


_MARK_BLOCKS = ((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF),
                (0xFE20, 0xFE2F))  # fmt: skip


@cache
def accent_marks() -> tuple[str, ...]:
    """Every combining mark of Combining Diacritical Marks (U+0300-U+036F) that sits on
    one letter (not the grapheme joiner, not the double marks that span two letters)."""
    return tuple(
        chr(c)
        for c in range(0x0300, 0x0370)
        if unicodedata.category(chr(c)) == "Mn"
        and c != 0x034F
        and "DOUBLE" not in unicodedata.name(chr(c), "")
    )


@cache
def zalgo_marks() -> tuple[str, ...]:
    """Every assigned nonspacing mark of the five combining blocks."""
    return tuple(
        chr(c)
        for low, high in _MARK_BLOCKS
        for c in range(low, high + 1)
        if unicodedata.category(chr(c)) == "Mn" and c != 0x034F
    )


# ------------------------------------------------------------------ invisible

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties), minus the bidi
# embeddings, overrides and isolates (they reorder what is shown: the bidi family)
# and the Hangul fillers (drawn as a blank the width of a letter).
_IGNORABLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x17B4, 0x17B5),
              (0x180B, 0x180F), (0x200B, 0x200F), (0x2060, 0x2065), (0x206A, 0x206F),
              (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
              (0xE0000, 0xE0FFF))  # fmt: skip


@cache
def invisible_chars() -> tuple[str, ...]:
    """Every assigned default-ignorable code point outside the bidi controls."""
    return tuple(
        chr(c)
        for low, high in _IGNORABLE
        for c in range(low, high + 1)
        if unicodedata.category(chr(c)) != "Cn"
    )


# Right-to-left override and its pop: the text between is stored reversed.
RLO, PDF = "\u202e", "\u202c"
