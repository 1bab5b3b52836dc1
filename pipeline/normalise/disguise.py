"""The matching copy of a text with no hidden character left, and the count of the
characters that disguised a word.

Each whitespace-separated token is folded (`fold`: fancy letters, compatibility forms,
accents; `confusables`: look-alikes of other scripts), and a folded character counts
only where the rewrite changes what a word reads as:

- it makes a vocabulary word appear (`dépósít`, `ᴅᴇᴘᴏꜱɪᴛ`, `🅳🅴🅿🅾🆂🅸🆃`); for accents,
  only two or more on the word, as no language writes it (`depósito`, `chèque` and
  `Überweisung` are words);
- a whole word of look-alikes in Latin text reads as a vocabulary or common word
  (`рау`, a Cyrillic `а` for "a");
- it was a mixed-script word (`dеposit` with a Cyrillic е), or mixed fancy and plain
  letters;
- it is a stack of three marks or more on one letter (zalgo).

Honest accents (`très`, `Straße`), fancy text that spells no vocabulary word, and a
Russian name in an English message (`Сара`: not a vocabulary word, so not even mapped)
count nothing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from .confusables import latin_text, map_mixed, non_latin_letter, skeleton, skeleton_table
from .fold import fold_char, strips_marks_after
from .vocabulary import COMMON_WORDS, known_spellings, rejoin_vocabulary

_NON_ASCII_TOKEN = re.compile(r"(?<!\S)\S*[^\s\x00-\x7f]\S*")  # anchored: twice as quick
_NON_ASCII_SPACE = re.compile(r"[^\S\x00-\x7f]")  # no-break, thin, ideographic spaces
_EAST_ASIAN = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_ZALGO = 3  # marks on one letter: Vietnamese stacks two at most


def fold_text(text: str) -> tuple[str, int]:
    """The matching copy of `text` (without ignorables) and the disguising characters."""
    if text.isascii():
        return text, 0
    cjk = _EAST_ASIAN.search(text) is not None
    latin: list[bool] = []  # computed once, when a token needs it
    count = 0

    def fold(match: re.Match[str]) -> str:
        nonlocal count
        token = match.group(0)
        if not latin and _foreign(token):
            latin.append(latin_text(text))
        folded, n = fold_token(token, bool(latin and latin[0]), cjk)
        count += n
        return folded

    # Spaces as NFKC has them (a no-break space is a space), then only tokens with a
    # character outside ASCII have anything to fold.
    text = _NON_ASCII_SPACE.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    return _NON_ASCII_TOKEN.sub(fold, text), count


@lru_cache(maxsize=4096)
def _foreign(token: str) -> bool:
    return any(non_latin_letter(c) for c in token)


@lru_cache(maxsize=65536)
def fold_token(token: str, latin: bool, cjk: bool) -> tuple[str, int]:
    """One token folded, and its disguising characters (see the module doc).

    `latin`: the text around is written in Latin letters (a whole word of look-alikes may
    then be one); `cjk`: it is Chinese, Japanese or Korean (fullwidth Latin is ordinary).
    """
    chars: list[str] = []  # folded, one entry per base character
    sources: list[str] = []  # the original base character and its marks
    fancy: list[int] = []
    marks: list[int] = []
    strip = True
    for char in unicodedata.normalize("NFD", token):
        if unicodedata.combining(char):
            if not sources:
                sources.append(char)
                chars.append("")
                fancy.append(0)
                marks.append(1)
            elif strip:
                sources[-1] += char
                marks[-1] += 1
            else:
                chars[-1] += char
                sources[-1] += char
            continue
        plain, is_fancy = fold_char(char)
        if is_fancy and cjk and unicodedata.east_asian_width(char) == "F":
            is_fancy = False
        strip = strips_marks_after(plain[-1:] or char)  # as folded: "º" is an o
        chars.append(plain)
        sources.append(char)
        fancy.append(int(is_fancy))
        marks.append(0)
    pieces: list[str] = []
    count = 0
    index = 0
    while index < len(chars):
        if not chars[index].isalpha():
            pieces.append(chars[index])
            count += marks[index] if marks[index] >= _ZALGO else 0
            index += 1
            continue
        end = index
        while end < len(chars) and chars[end].isalpha():
            end += 1
        word, n = _read_word(
            chars[index:end],
            "".join(sources[index:end]),
            fancy[index:end],
            marks[index:end],
            latin,
        )
        pieces.append(word)
        count += n
        index = end
    return unicodedata.normalize("NFC", "".join(pieces)), count


def _read_word(
    letters: list[str], source: str, fancy: list[int], marks: list[int], latin: bool
) -> tuple[str, int]:
    """A run of folded letters (one entry per original letter) read as a word, and the
    characters that disguised it."""
    vocabulary = rejoin_vocabulary()
    word = "".join(letters)
    count = sum(m for m in marks if m >= _ZALGO)
    mapped, replaced = map_mixed(word)
    if replaced:
        word, count = mapped, count + replaced
    elif latin and not any(c.isascii() for c in word) and _looks_latin(word):
        read = skeleton(word)
        if read in vocabulary or read in COMMON_WORDS:
            table = skeleton_table()
            return "".join(table.get(c, c) for c in word), count + len(word)
    disguised = sum(fancy) + sum(m for m in marks if m < _ZALGO)
    if not disguised:
        return word, count
    if word.lower() in vocabulary:
        if sum(fancy) or _accented(source, marks):
            count += disguised
    elif sum(fancy) and any(not f and c.isascii() for f, c in zip(fancy, letters, strict=True)):
        count += sum(fancy)  # fancy and plain letters mixed in one word
    return word, count


def _accented(source: str, marks: list[int]) -> bool:
    """Whether accents disguise a vocabulary word: three letters or more accented, or two
    and the word is not spelled so in any language parley reads. One accent is how
    languages write (`chèque`, `depósito`, `señal`)."""
    accented = sum(1 for m in marks if m)
    if accented >= 3:
        return True
    written = unicodedata.normalize("NFC", source).lower()
    return accented == 2 and written not in known_spellings()


def _looks_latin(word: str) -> bool:
    table = skeleton_table()
    return all(c in table for c in word)
