"""Broken and leetspeak words rejoined.

A keyword broken by spaces or punctuation ("dep.osit", "pa y", "de po sit",
"d-e-p-o-s-i-t", "d.e-p.o-s.i-t", "dep  osit", a line break inside the word) or
written with digits or symbols for letters ("d3p051t", "p4y", "$end", "p@y",
"c()de") reads as the word to a person and as other tokens to a matcher. `rejoin`
joins adjacent fragments when together they form a word of the vocabulary
(`vocabulary.rejoin_vocabulary`) and the split is not ordinary writing, and reads
digits and symbols inside a word as letters when that gives a vocabulary word. Never
touched: plain numbers ("5000", "2-bed"), quantities ("100k", "2nd"), e-mail
addresses and URLs.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from .vocabulary import COMMON_WORDS, NOT_REJOINED, rejoin_vocabulary

_LETTERS = re.compile(r"[^\W\d_]+")
_MAX_MIXED = 3  # fragments of a broken word; spelled-out letters may be more
# Digits that stand for letters ("1" for i or l).
_LEET = {"0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"}
_LEET_HINT = re.compile(r"\d(?<=[^\W\d_]\d)|\d[^\W\d_]")  # a digit first: a quick scan
_ASCII_LEET_HINT = re.compile(r"[0-9](?<=[a-zA-Z][0-9])|[0-9][a-zA-Z]")
_ASCII_LETTERS = re.compile(r"[a-z]+")  # in lowercased ASCII text
_NON_ASCII_WORD = re.compile(r"[^\W\x00-\x7f]")  # a letter or digit outside ASCII
# A word of letters and digits, with both, not inside an address or a path.
_LEET_WORD = re.compile(r"(?<![\w@/.])[^\W_]*(?:[^\W\d_]\d|\d[^\W\d_])[^\W_]*(?![\w@/]|\.\w)")
_ID_DIGITS = re.compile(r"\d{5}")  # an id or a reference, not a word
# A number and its unit ("100k", "10am", "5km", "2x"), or an ordinal ("2nd", "21st").
_QUANTITY = re.compile(
    r"\d+(?:k|m|bn|km|kg|g|gb|mb|tb|am|pm|h|hr|hrs|min|mins|s|sec|x|p|ml|l|cm|mm|ft|in"
    r"|yo|y|yr|yrs|eur|usd|gbp)|\d*(?:1st|2nd|3rd|[04-9]th|1[1-3]th)",
    re.IGNORECASE,
)
_APOSTROPHES = frozenset("'’")
# "fee's", "bank's", "I'd": a possessive or a contraction, not a broken word.
_CONTRACTIONS = frozenset({"s", "t", "d", "ll", "re", "ve", "m"})
# ... and "c'est", "d'accord", "l'app": French elisions.
_ELISIONS = frozenset({"c", "d", "j", "l", "m", "n", "s", "t", "qu"})
_SHORT_PIECES = _CONTRACTIONS | _ELISIONS
# An e-mail address, a handle, a URL: "p@y" is none of them (no dot after the "@").
_PROTECTED = re.compile(
    r"\S*@[\w-]+(?:\.[\w-]+)+\S*|(?<!\S)@\w+|\S*(?:://|www\.)\S*", re.IGNORECASE
)
# Symbols that stand for letters ("$end", "p@y", "c()de", "|ink", "!nvest").
_SYMBOLS = {"$": "s", "@": "a", "|": "li", "!": "i", "()": "o"}
_SYMBOL_HINT = re.compile(r"[$@|!]|\(\)")
_SYMBOL_WORD = re.compile(r"(?:[^\W_]|[$@|!]|\(\))+")
# A loose gap between fragments of a word: one to three separators (punctuation or
# whitespace, a line break at most), which the strict pass does not join.
_GAP = re.compile(r"(?:[^\w\s@]|_){1,3}|[ \t]{1,3}|[ \t]*\n[ \t]*")
# A quick scan for such gaps: whitespace runs, a line break or a run of punctuation
# between letters, or two marks inside one short stretch of letters ("de.po-sit").
_LOOSE_HINT = re.compile(
    r"[^\W\d_](?:[ \t]{2,3}|[ \t]*\n[ \t]*|(?:[^\w\s]|_){2,3})[^\W\d_]"
    r"|[^\W\d_](?:[^\w\s']|_)[^\W\d_]{1,4}(?:[^\w\s']|_)[^\W\d_]"
)


@cache
def _suspects() -> frozenset[str]:
    """What a fragment of a broken word looks like: a piece of a vocabulary word that is
    not a word ("deposi", "nsfer", a lone "t"). A text with none has no broken word."""
    vocabulary = rejoin_vocabulary()
    pieces = {w[i:j] for w in vocabulary for i in range(len(w)) for j in range(i + 1, len(w) + 1)}
    return frozenset(p for p in pieces if not _is_word(p, vocabulary))


def rejoin(text: str) -> tuple[str, int, int]:
    """Broken and leetspeak words rejoined: (text, separators removed, digits read)."""
    pieces: list[str] = []
    separators = digits = 0
    last = 0
    for protected in (
        _PROTECTED.finditer(text) if "@" in text or "/" in text or "www" in text else ()
    ):
        part, s, d = _rejoin_part(text[last : protected.start()])
        pieces += [part, protected.group(0)]
        separators, digits, last = separators + s, digits + d, protected.end()
    if not pieces:
        return _rejoin_part(text)
    part, s, d = _rejoin_part(text[last:])
    pieces.append(part)
    return "".join(pieces), separators + s, digits + d


def _rejoin_part(text: str) -> tuple[str, int, int]:
    # Plain regular expressions for ASCII text: Unicode classes cost twice as much.
    # ... and for text whose letters and digits are ASCII ("¿", "€" aside): folded
    # accented text is such text.
    ascii = text.isascii() or not _NON_ASCII_WORD.search(text)
    digits = 0
    if _SYMBOL_HINT.search(text):
        text, digits = _read_symbols(text)
    if (_ASCII_LEET_HINT if ascii else _LEET_HINT).search(text):
        text, digits = _read_leet(text)
    lowered = text.lower()
    if len(lowered) != len(text):  # a letter whose lowercase is longer ("İ")
        lowered = "".join(c.lower()[:1] for c in text)
    # The fast path: no piece of a broken word (a plain character class for ASCII text:
    # Unicode categories cost twice as much).
    letters = _ASCII_LETTERS if ascii else _LETTERS
    suspects = _suspects()
    if _has_apostrophe(lowered):
        # Words with apostrophes are checked apart: "it's", "c'est" are no broken words.
        chunks = lowered.split()
        if any(_apostrophe_suspect(c, letters, suspects) for c in chunks if _has_apostrophe(c)):
            lowered_rest = lowered  # the slow path
        else:
            lowered_rest = " ".join(c for c in chunks if not _has_apostrophe(c))
    else:
        lowered_rest = lowered
    if suspects.isdisjoint(letters.findall(lowered_rest)):
        return text, 0, digits  # the fast path: no piece of a broken word
    spans = [m.span() for m in letters.finditer(lowered)]
    words = letters.findall(lowered)
    vocabulary = rejoin_vocabulary()
    out: list[str] = []
    separators = last = done = 0
    for k, word in enumerate(words):
        if k < done or word not in suspects:
            continue
        for i, j in _windows(text, spans, k, done):
            fragments = [text[a:b] for a, b in spans[i : j + 1]]
            start, end = spans[i][0], spans[j][1]
            if "".join(words[i : j + 1]) in vocabulary and _is_broken(
                text, start, end, fragments, vocabulary
            ):
                out += [text[last:start], "".join(fragments)]
                separators += j - i
                last, done = end, j + 1
                break
    if out:
        out.append(text[last:])
        text = "".join(out)
    if not _LOOSE_HINT.search(text):
        return text, separators, digits
    text, loose = _rejoin_loose(text, letters, vocabulary, suspects)
    return text, separators + loose, digits


def _rejoin_loose(
    text: str, letters: re.Pattern[str], vocabulary: frozenset[str], suspects: frozenset[str]
) -> tuple[str, int]:
    """Words broken by a mix of separators ("d.e-p.o-s.i-t", "dep.-osit") or by runs of
    whitespace ("dep  osit", a line break inside the word): the fragments around a
    suspect piece, two or three of them or a whole run of lone letters, joined when they
    form a vocabulary word and at least one fragment is not a word. Returns the text and
    the separator characters removed."""
    lowered = text.lower() if len(text.lower()) == len(text) else text
    spans = [m.span() for m in letters.finditer(lowered)]
    words = [lowered[a:b] for a, b in spans]
    gaps = [_loose_gap(text, spans[x][1], spans[x + 1][0]) for x in range(len(spans) - 1)]
    punctuation = [
        gap and not any(c.isspace() for c in text[spans[x][1] : spans[x + 1][0]])
        for x, gap in enumerate(gaps)
    ]
    out: list[str] = []
    removed = last = done = 0
    for k, word in enumerate(words):
        if k < done or word not in suspects:
            continue
        for i, j in _loose_windows(spans, gaps, punctuation, k, done):
            fragments = [text[a:b] for a, b in spans[i : j + 1]]
            separators = [text[spans[x][1] : spans[x + 1][0]] for x in range(i, j)]
            if _scrambled(fragments, separators):
                pass  # letters between mixed punctuation: no one writes a word so
            elif "".join(words[i : j + 1]) not in vocabulary or not _loose_broken(
                fragments, separators, vocabulary
            ):
                continue
            out += [text[last : spans[i][0]], "".join(fragments)]
            removed += sum(map(len, separators))
            last, done = spans[j][1], j + 1
            break
    if not out:
        return text, 0
    out.append(text[last:])
    return "".join(out), removed


def _scrambled(fragments: list[str], separators: list[str]) -> bool:
    """Three lone letters or more between two kinds of punctuation or more ("y.o-u"):
    a word written to be unreadable by a matcher, whatever the word."""
    return (
        len(fragments) >= 3
        and all(len(f) == 1 and f.isascii() for f in fragments)
        and all(len(s) == 1 and unicodedata.category(s)[0] in "PS" for s in separators)
        and len(set(separators)) >= 2
    )


def _loose_gap(text: str, start: int, end: int) -> bool:
    return _GAP.fullmatch(text, start, end) is not None


def _loose_windows(
    spans: list[tuple[int, int]],
    gaps: list[bool],
    punctuation: list[bool],
    k: int,
    first: int,
) -> list[tuple[int, int]]:
    """Windows (i, j) of fragments around k joined by loose gaps: the run of lone letters
    around a lone letter, else two or three fragments, the longest first."""
    lone = [b - a == 1 for a, b in spans]
    if lone[k]:
        # Letters joined by punctuation first ("d.e-p.o-s.i-t now": a space ends the
        # word), then by any separator ("d  e  p  o  s  i  t").
        runs = []
        for marks in (punctuation, gaps):
            i = j = k
            while i > first and marks[i - 1] and lone[i - 1]:
                i -= 1
            while j < len(spans) - 1 and marks[j] and lone[j + 1]:
                j += 1
            if j - i >= 2 and (i, j) not in runs:
                runs.append((i, j))
        if runs:
            return runs
    windows = []
    for i in range(max(first, k - _MAX_MIXED + 1), k + 1):
        for j in range(min(len(spans) - 1, i + _MAX_MIXED - 1), max(i + 1, k) - 1, -1):
            if all(gaps[i:j]):
                windows.append((i, j))
    return windows


def _loose_broken(fragments: list[str], separators: list[str], vocabulary: frozenset[str]) -> bool:
    """Whether a loose window is a broken word, not ordinary writing: the separators are
    not one and the same space or punctuation mark (the strict pass decides those), and some
    fragment is not a word (a lone letter beside words only from four letters on)."""
    mark = separators[0]
    if len(set(separators)) == 1 and len(mark) == 1 and (mark == " " or not mark.isspace()):
        return False
    if all(len(f) == 1 for f in fragments):
        return len(fragments) >= 3
    if any(f.lower() in _SHORT_PIECES for f in fragments[1:]) and any(
        s in _APOSTROPHES for sep in separators for s in sep
    ):
        return False
    others = [f for f in fragments if not _is_word(f, vocabulary)]
    if all(len(f) == 1 for f in others):
        return bool(others) and sum(map(len, fragments)) >= 4
    return True


def _read_symbols(text: str) -> tuple[str, int]:
    """Symbols inside a word read as letters when that gives a vocabulary word ("$end",
    "ca$h", "p@y", "c()de", "|ink"); the count of symbols (and digits) read."""
    vocabulary = rejoin_vocabulary()
    count = 0

    def read(match: re.Match[str]) -> str:
        nonlocal count
        word = match.group(0).rstrip("!")
        rest = match.group(0)[len(word) :]
        if not _SYMBOL_HINT.search(word) or not any(c.isalpha() for c in word):
            return match.group(0)
        if _QUANTITY.fullmatch(word.strip("$")) or _ID_DIGITS.search(word):
            return match.group(0)
        for reading in _symbol_readings(word):
            if reading.lower() in vocabulary:
                count += sum(not c.isalpha() for c in word) - word.count("()")
                return reading + rest
        return match.group(0)

    return _SYMBOL_WORD.sub(read, text), count


def _symbol_readings(word: str) -> list[str]:
    """Ways of reading the symbols and digits of `word` as letters (at most 16)."""
    readings = [""]
    index = 0
    while index < len(word):
        unit = "()" if word.startswith("()", index) else word[index]
        if unit in _SYMBOLS:
            options = _SYMBOLS[unit]
        elif unit.isdigit():
            if unit not in _LEET:
                return []
            options = _LEET[unit]
        else:
            options = unit
        readings = [r + o for r in readings for o in options][:16]
        index += len(unit)
    return readings


def _has_apostrophe(text: str) -> bool:
    return "'" in text or "’" in text


def _apostrophe_suspect(chunk: str, letters: re.Pattern[str], suspects: frozenset[str]) -> bool:
    """Whether a word written with apostrophes may be a broken word: a vocabulary word
    without them ("s'end", "cod'e's"), or with a suspect piece that is not a
    contraction's or an elision's ("transfe'r"). Not "it's", "c'est"."""
    pieces = letters.findall(chunk)
    if "".join(pieces) in rejoin_vocabulary():
        return True
    return any(p in suspects and p not in _SHORT_PIECES for p in pieces)


def _windows(text: str, spans: list[tuple[int, int]], k: int, first: int) -> list[tuple[int, int]]:
    """Fragment windows (i, j) around fragment k, joined by one separator each, not before
    fragment `first`: the earliest start, then the longest, first."""
    last = len(spans) - 1
    low = k
    while low > max(first, k - _MAX_MIXED + 1) and _joined(text, spans, low - 1):
        low -= 1
    high = k
    while high < min(last, k + _MAX_MIXED - 1) and _joined(text, spans, high):
        high += 1
    windows = [
        (i, j)
        for i in range(low, k + 1)
        for j in range(min(high, i + _MAX_MIXED - 1), max(i + 1, k) - 1, -1)
    ]
    if spans[k][1] - spans[k][0] == 1 and high > low:
        # Spelled-out letters: the whole run of lone letters around k, one separator.
        mark = text[spans[k][1]] if high > k else text[spans[k][0] - 1]

        def lone(x: int) -> bool:
            return spans[x][1] - spans[x][0] == 1 and _joined(text, spans, x, mark)

        i = k
        while i > first and lone(i - 1):
            i -= 1
        j = k
        while j < last and spans[j + 1][1] - spans[j + 1][0] == 1 and _joined(text, spans, j, mark):
            j += 1
        if j - i >= 2:
            windows.insert(0, (i, j))
    return windows


def _joined(text: str, spans: list[tuple[int, int]], x: int, mark: str = "") -> bool:
    """Whether fragments x and x + 1 are one separator apart (a space or punctuation;
    `mark` if given)."""
    if spans[x + 1][0] - spans[x][1] != 1:
        return False
    char = text[spans[x][1]]
    if mark:
        return char == mark
    return char == " " or char == "_" or not (char.isspace() or char.isdigit() or char == "@")


def _is_broken(
    text: str, start: int, end: int, fragments: list[str], vocabulary: frozenset[str]
) -> bool:
    """Whether text[start:end], these fragments, is a broken word, not ordinary writing."""
    marks = {c for c in text[start:end] if not c.isalpha()}
    if len(marks) != 1:
        return False  # one separator throughout, as a word is broken
    mark = marks.pop()
    if all(len(f) == 1 for f in fragments):
        # Spelled out ("d-e-p-o-s-i-t"): three letters or more, and the whole run.
        before = text[max(0, start - 3) : start]
        after = text[end : end + 3]
        whole = not _spelled_on(before[::-1], mark) and not _spelled_on(after, mark)
        return len(fragments) >= 3 and whole
    if len(fragments) > _MAX_MIXED:
        return False
    if (
        len(fragments) == 2
        and mark in _APOSTROPHES
        and fragments[1].lower() in _CONTRACTIONS
        and _is_word(fragments[0], vocabulary)
    ):
        return False
    # A lone letter is a word only where a language has it as one ("e-mail": Italian
    # and Portuguese "e"; "a", "y", "o"): "s end", "P ay" are broken words. But a lone
    # letter beside words makes a short word by chance ("50 p in cash"): only from four
    # letters on.
    others = [f for f in fragments if not _is_word(f, vocabulary)]
    if all(len(f) == 1 for f in others):
        return bool(others) and sum(map(len, fragments)) >= 4
    return True


def _is_word(fragment: str, vocabulary: frozenset[str]) -> bool:
    lowered = fragment.lower()
    return lowered in COMMON_WORDS or lowered in vocabulary or lowered in NOT_REJOINED


def _spelled_on(neighbours: str, mark: str) -> bool:
    """Whether a spelled-out run goes on: the separator, then a lone letter (read
    outwards from the run)."""
    lone = len(neighbours) == 2 or (len(neighbours) == 3 and not neighbours[2].isalpha())
    return lone and neighbours[0] == mark and neighbours[1].isalpha()


def _read_leet(text: str) -> tuple[str, int]:
    vocabulary = rejoin_vocabulary()
    count = 0

    def read(match: re.Match[str]) -> str:
        nonlocal count
        word = match.group(0)
        # A quantity ("100k", "2nd"), or an id: a long run of digits ("w41137").
        if _QUANTITY.fullmatch(word) or _ID_DIGITS.search(word):
            return word
        for reading in _readings(word):
            if reading.lower() in vocabulary:
                count += sum(c.isdigit() for c in word)
                return reading
        return word

    return _LEET_WORD.sub(read, text), count


def _readings(word: str) -> list[str]:
    """Ways of reading the digits of `word` as letters (at most 16: "1" is i or l);
    none when a digit stands for no letter."""
    readings = [""]
    for char in word:
        options = _LEET.get(char, char)
        if char.isdigit() and char not in _LEET:
            return []
        readings = [r + o for r in readings for o in options][:16]
    return readings
