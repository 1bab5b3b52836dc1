"""Text normalisation for every matcher: the one place where hidden and look-alike
characters are undone, and counted.

An attacker who has read parley's cue lists writes "dep<U+200B>osit" (a zero-width
space), "be<U+00AD>er" (a soft hyphen) or "d<U+0435>posit" (a Cyrillic е): a person
reads the word, a regular expression does not. Every consumer that matches words (the
long-message cut's cue finder, the baseline's features, the child-answer screen,
contact redaction) reads `normalise(text).text`, which is:

1. Default-ignorable code points removed (Unicode property Default_Ignorable_Code_Point:
   zero-width spaces and joiners, soft hyphen, word joiner, BOM, bidi controls,
   variation selectors, tag characters, Hangul fillers, …). They render as nothing.
2. NFKC: compatibility forms folded (fullwidth `ｄｅｐｏｓｉｔ`, mathematical `𝐝𝐞𝐩𝐨𝐬𝐢𝐭`,
   ligatures, superscripts).
3. Look-alike letters of other scripts mapped to the Latin letter they imitate, using
   the Unicode TR39 confusables data shipped by `confusable-homoglyphs`, but only
   where the text is written in Latin letters (see `_lookalike_words`).

What is *not* done, on purpose: a full TR39 skeleton also folds ordinary ASCII
('l'/'1'/'I', 'rn'/'m', '0'/'O'), which would merge real words ("modern"/"modem") and
break the digits the matchers read as amounts and phone numbers; spelled-out or
leetspeak evasions are not look-alike characters. No case folding either: every
matcher is already case-insensitive, and the model should read the text as written.
Plain ASCII text is returned unchanged, and quickly (one `str.isascii()` check).

Obfuscation is itself evidence: `Normalised` says how many characters were hidden
(removed) and how many were look-alikes (replaced). Emoji presentation selectors and
emoji joiners, and joiners between letters of scripts that need them (Arabic, Indic),
are removed but not counted: ordinary text is full of them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt): 4,174 code points, checked
# against the `regex` package's \p{Default_Ignorable_Code_Point} (regex 2026.11.19,
# Unicode 16). Python's unicodedata does not expose this property.
DEFAULT_IGNORABLE = (
    "\u00ad\u034f\u061c\u115f-\u1160\u17b4-\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_IGNORABLE_RUN = re.compile(f"[{DEFAULT_IGNORABLE}]+")
_PRESENTATION = frozenset("\ufe0e\ufe0f")  # text / emoji presentation selectors
_JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner, joiner
_WORD = re.compile(r"\w+")

# A marker the model sees in place of what was removed (never the characters themselves).
OBFUSCATION_MARKER = "[parley: {hidden} invisible and {lookalikes} look-alike characters removed]"


@dataclass(frozen=True)
class Normalised:
    """Normalised text and what it took: characters hidden (removed), look-alikes replaced."""

    text: str
    hidden: int = 0
    lookalikes: int = 0

    @property
    def obfuscated(self) -> int:
        """Characters that served to hide or disguise text."""
        return self.hidden + self.lookalikes

    def marker(self) -> str:
        """The line shown to a model when the text was obfuscated, else ""."""
        if not self.obfuscated:
            return ""
        return OBFUSCATION_MARKER.format(hidden=self.hidden, lookalikes=self.lookalikes)


def normalise(text: str) -> Normalised:
    """Ignorables removed, NFKC, look-alike letters mapped to Latin; see the module doc.

    Idempotent: `normalise(normalise(t).text).text == normalise(t).text`.
    """
    if text.isascii():
        return Normalised(text)
    stripped, hidden = strip_ignorable(text)
    folded = unicodedata.normalize("NFKC", stripped)
    lookalikes = _nfkc_lookalikes(stripped) if folded != stripped else 0
    mapped, replaced = _map_lookalikes(folded)
    if mapped != folded:
        # A Latin letter now before a combining mark may compose ("е" + U+0301 -> "é").
        mapped = unicodedata.normalize("NFKC", mapped)
    return Normalised(mapped, hidden, lookalikes + replaced)


def normalised_text(text: str) -> str:
    """`normalise(text).text`: for matchers that need no counts."""
    return text if text.isascii() else normalise(text).text


def strip_ignorable(text: str) -> tuple[str, int]:
    """Text without default-ignorable code points, and how many of them hid something."""
    hidden = 0
    pieces: list[str] = []
    last = 0
    for run in _IGNORABLE_RUN.finditer(text):
        pieces.append(text[last : run.start()])
        hidden += _hiding(text, run.start(), run.end())
        last = run.end()
    if not pieces:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), hidden


def _hiding(text: str, start: int, end: int) -> int:
    """How many ignorables of text[start:end] hide something (the rest are ordinary)."""
    run = text[start:end]
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    # An emoji's presentation selector, then a joiner to the next emoji: 👍️, 👨‍👩‍👧.
    if before and unicodedata.category(before).startswith("S"):
        ordinary = 1 if run[0] in _PRESENTATION else 0
        if run[ordinary : ordinary + 1] == "\u200d" and after[:1] and not after.isascii():
            ordinary += 1
        return len(run) - ordinary
    # A joiner inside a word of a script that shapes with it (Arabic, Persian, Indic).
    if run in _JOINERS and _non_latin_letter(before) and _non_latin_letter(after):
        return 0
    return len(run)


def _non_latin_letter(char: str) -> bool:
    return bool(char) and not char.isascii() and char.isalpha() and not _is_latin(char)


def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


_EAST_ASIAN = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _nfkc_lookalikes(text: str) -> int:
    """Letters that NFKC turned into ASCII (fullwidth, mathematical bold, …); not "²".

    Fullwidth Latin letters are how Chinese, Japanese and Korean text writes Latin
    words ("ｉＰｈｏｎｅ"): next to such text they are ordinary and not counted.
    """
    east_asian = _EAST_ASIAN.search(text) is not None
    count = 0
    for char in set(text):
        if east_asian and unicodedata.east_asian_width(char) == "F":
            continue
        if not char.isascii():
            folded = unicodedata.normalize("NFKC", char)
            if folded != char and char.isalpha() and folded.isascii() and folded.isalnum():
                count += text.count(char)
    return count


@cache
def lookalike_table() -> dict[str, str]:
    """Non-ASCII letters that look like one ASCII letter -> that letter, from TR39 data.

    Built once, on first need, from `confusable-homoglyphs`' confusables.json (about
    50 ms: ASCII-only traffic never pays it). Letters only, on both sides: a letter
    that imitates a digit ("З" -> "3") is left alone, as are symbols and digits.
    """
    source = resources.files("confusable_homoglyphs").joinpath("confusables.json")
    data = json.loads(source.read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for key, homoglyphs in data.items():
        char = key.strip("\u200e")  # right-to-left entries are wrapped in LRMs
        if len(char) != 1 or char.isascii() or not unicodedata.category(char).startswith("L"):
            continue
        targets = [h["c"] for h in homoglyphs if len(h["c"]) == 1 and h["c"].isascii()]
        letters = [t for t in targets if t.isalpha()]
        if letters:
            # Keep the case: Cyrillic "А" -> "A", "а" -> "a".
            same_case = [t for t in letters if t.isupper() == char.isupper()]
            table[char] = (same_case or letters)[0]
    return table


def _map_lookalikes(text: str) -> tuple[str, int]:
    """Look-alike letters replaced where the text is written in Latin letters.

    Counted are the letters of other scripts only: Latin ones (small capitals, Turkish
    dotless "ı", African "ɣ") are mapped for matching, but they are ordinary letters of
    some alphabet, so using them is no evidence of anything.
    """
    table = lookalike_table()
    if text.isascii() or table.keys().isdisjoint(text):
        return text, 0
    out: list[str] = []
    replaced = 0
    last = 0
    for match, word in _lookalike_words(text, table):
        out.append(text[last : match.start()])
        out.append("".join(table.get(c, c) for c in word))
        replaced += sum(c in table and not _is_latin(c) for c in word)
        last = match.end()
    out.append(text[last:])
    return "".join(out), replaced


def _lookalike_words(text: str, table: dict[str, str]) -> Iterator[tuple[re.Match[str], str]]:
    """Words whose look-alike letters are to be mapped to Latin.

    A word mixing ASCII letters with look-alikes ("dеposit") always; a word made only of
    look-alikes ("рау", all Cyrillic) when the text around it is Latin, i.e. at most 10%
    of its letters belong to another script and have no Latin look-alike. Russian or
    Greek text is full of letters without one, so its own words stay as written.
    """
    latin_text: bool | None = None
    for match in _WORD.finditer(text):
        word = match.group(0)
        if word.isascii() or not any(c in table for c in word):
            continue
        if any(c.isascii() and c.isalpha() for c in word):
            yield match, word
            continue
        if latin_text is None:
            letters = [c for c in text if c.isalpha()]
            foreign = sum(1 for c in letters if _non_latin_letter(c) and c not in table)
            latin_text = foreign * 10 <= len(letters)
        if latin_text and all(c in table or c.isascii() or _is_latin(c) for c in word):
            yield match, word


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
    ignorable = _IGNORABLE_RUN
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
