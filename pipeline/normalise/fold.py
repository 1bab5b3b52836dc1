"""Characters folded to the plain letters they are read as, for the matching copy.

"Fancy text" generators write a word in another alphabet of look-alike symbols: small
capitals (`ᴅᴇᴘᴏꜱɪᴛ`), enclosed and negative-squared letters (`🅳🅴🅿`), parenthesised
letters (`⒟⒠⒫`), Braille, mathematical alphanumerics (`𝐝𝐞𝐩`), fullwidth forms. NFKC
folds some of them; `anyascii` (a maintained transliteration table) gives the letter
for the rest. It is applied only to symbols and to Latin letters outside ASCII, never
to letters of another script: a Russian, Greek or Arabic word is not transliterated
(look-alikes of other scripts are `confusables`' concern). Flags (regional
indicators) and emoji stay as they are.

Diacritics are stripped from letters of Latin, Greek and Cyrillic and from anything
that is not a letter (`dépósít`, a zalgo stack, U+0301 after each letter), not from
scripts whose marks are vowels or tones (Arabic, Hebrew, Indic, Thai).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from anyascii import anyascii

# Scripts whose combining marks are accents, not letters of the word.
_ACCENTED_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")
# Parenthesised small letters ⒜..⒵: NFKC writes "(d)", the eye reads "d".
_PARENTHESISED = range(0x249C, 0x24B6)
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)


@lru_cache(maxsize=8192)
def fold_char(char: str) -> tuple[str, bool]:
    """(plain form, whether it is a fancy letter) of one character, marks kept.

    A fancy letter is a symbol or compatibility form read as a letter (`🅳`, `⒟`, `𝐝`,
    `ｄ`, `ᴅ`): ordinary writing has none. Latin letters of real alphabets (`ß`, `ł`,
    `ø`, `ı`) are folded but not fancy. Anything else folds to its NFKC form.
    """
    if char.isascii():
        return char, False
    code = ord(char)
    if code in _PARENTHESISED:
        return chr(code - 0x249C + ord("a")), True
    if code in _REGIONAL_INDICATORS:
        return char, False
    nfkc = unicodedata.normalize("NFKC", char)
    if nfkc != char:
        if len(nfkc) == 1 and not nfkc.isascii():
            return fold_char(nfkc)  # folded on ("ᶛ" -> "ɒ" -> "a"): one pass suffices
        letter = nfkc.isascii() and nfkc.isalpha() and len(nfkc) == 1
        fancy = letter and (char.isalpha() or unicodedata.category(char) == "So")
        # Folded on too, accents stripped ("Ǆ" -> "DŽ" -> "DZ", "¯" -> " " + U+0304).
        return fold_word(nfkc, keep_case=True) or nfkc, fancy
    category = unicodedata.category(char)
    if category == "So":
        plain = anyascii(char)
        if len(plain) == 1 and plain.isalpha():
            return plain, True
        return char, False
    if category[0] == "L" and _script(char) == "LATIN":
        base = unicodedata.normalize("NFD", char)[0]
        if base.isascii():
            return char, False  # an accented letter: the marks are stripped apart
        plain = anyascii(char)
        if plain.isascii() and plain.isalpha() and 0 < len(plain) <= 2:
            fancy = "SMALL CAPITAL" in unicodedata.name(char, "")
            return (plain.upper() if char.isupper() else plain.lower()), fancy
    return char, False


def _script(char: str) -> str:
    return unicodedata.name(char, "").split(" ", 1)[0]


def strips_marks_after(char: str) -> bool:
    """Whether combining marks after `char` are accents to strip (see the module doc)."""
    if char.isascii() or not char.isalpha():
        return True
    return _script(char) in _ACCENTED_SCRIPTS


@lru_cache(maxsize=65536)
def fold_word(word: str, *, keep_case: bool = False) -> str:
    """A word as the matching copy reads it, lowercased: fancy letters folded, accents
    stripped (`Überweisung` -> `uberweisung`, `ᴅᴇᴘᴏꜱɪᴛ` -> `deposit`). Used for
    vocabularies, so that they are matched against text folded the same way; with
    `keep_case`, the case is kept (for compatibility forms folded inside a text)."""
    if word.isascii():
        return word if keep_case else word.lower()
    out: list[str] = []
    strip = True  # marks before any letter are stripped
    for char in unicodedata.normalize("NFD", word):
        if unicodedata.combining(char):
            if not strip:
                out.append(char)
            continue
        plain = fold_char(char)[0]
        strip = strips_marks_after(plain[-1:] or char)
        out.append(plain)
    folded = unicodedata.normalize("NFC", "".join(out))
    return folded if keep_case else folded.lower()
