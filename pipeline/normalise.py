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
4. Broken and leetspeak words rejoined (`rejoin`): "dep.osit", "pa y", "d-e-p-o-s-i-t"
   and "d3p051t" read as the vocabulary word they spell, when the split is not
   ordinary writing ("in to", "e-mail" and numbers stay).

What is *not* done, on purpose: a full TR39 skeleton also folds ordinary ASCII
('l'/'1'/'I', 'rn'/'m', '0'/'O'), which would merge real words ("modern"/"modem") and
break the digits the matchers read as amounts and phone numbers (digits are read as
letters only inside a word that then is a vocabulary word). No case folding either:
every matcher is already case-insensitive, and the model should read the text as
written. Plain ASCII text skips steps 1-3 (one `str.isascii()` check), not step 4.

Obfuscation is itself evidence: `Normalised` says how many characters were hidden
(removed), were look-alikes (replaced), separated a broken word (removed) or stood for
letters (digits read). Emoji presentation selectors and emoji joiners, and joiners
between letters of scripts that need them (Arabic, Indic), are removed but not
counted: ordinary text is full of them.
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
OBFUSCATION_MARKER = (
    "[parley: {hidden} invisible and {lookalikes} look-alike characters removed,"
    " {separators} separators inside words removed, {digits} digits read as letters]"
)


@dataclass(frozen=True)
class Normalised:
    """Normalised text and what it took: characters hidden (removed), look-alikes
    replaced, separators removed from broken words, digits read as letters."""

    text: str
    hidden: int = 0
    lookalikes: int = 0
    separators: int = 0
    digits: int = 0

    @property
    def obfuscated(self) -> int:
        """Characters that served to hide or disguise text."""
        return self.hidden + self.lookalikes + self.separators + self.digits

    def marker(self) -> str:
        """The line shown to a model when the text was obfuscated, else ""."""
        if not self.obfuscated:
            return ""
        return OBFUSCATION_MARKER.format(
            hidden=self.hidden,
            lookalikes=self.lookalikes,
            separators=self.separators,
            digits=self.digits,
        )


def normalise(text: str, *, words: bool = True) -> Normalised:
    """Ignorables removed, NFKC, look-alike letters mapped to Latin, broken and
    leetspeak words rejoined (unless `words` is false: text to be read out as written,
    where "c-o-d-e" may be a spelling lesson); see the module doc.

    Idempotent: `normalise(normalise(t).text).text == normalise(t).text`.
    """
    if text.isascii():
        # The fast path: no ignorable, compatibility or look-alike character in ASCII;
        # broken and leetspeak words are ASCII too, and are checked for.
        if not words:
            return Normalised(text)
        joined, separators, digits = rejoin(text)
        return Normalised(joined, separators=separators, digits=digits)
    stripped, hidden = strip_ignorable(text)
    folded = unicodedata.normalize("NFKC", stripped)
    lookalikes = _nfkc_lookalikes(stripped) if folded != stripped else 0
    mapped, replaced = _map_lookalikes(folded)
    if mapped != folded:
        # A Latin letter now before a combining mark may compose ("е" + U+0301 -> "é").
        mapped = unicodedata.normalize("NFKC", mapped)
    if not words:
        return Normalised(mapped, hidden, lookalikes + replaced)
    joined, separators, digits = rejoin(mapped)
    return Normalised(joined, hidden, lookalikes + replaced, separators, digits)


def normalised_text(text: str, *, words: bool = True) -> str:
    """`normalise(text, words=words).text`: for matchers that need no counts."""
    return normalise(text, words=words).text


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


# ------------------------------------------------------------ broken and leetspeak words
#
# A keyword broken by a space or a punctuation mark ("dep.osit", "pa y", "de po sit",
# "d-e-p-o-s-i-t") or written with digits for letters ("d3p051t", "p4y") reads as the
# word to a person and as other tokens to a matcher. `rejoin` joins adjacent fragments
# when together they form a word of the matchers' vocabulary and the split is not
# ordinary writing, and reads digits inside a letter-word as letters when that gives a
# vocabulary word. Never touched: plain numbers ("5000", "2-bed"), quantities ("100k",
# "2nd"), e-mail addresses and URLs.


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Words a broken word is rejoined into, besides the baseline's cue words (read from
# its cue lists, `pipeline.baseline.features.cue_words`, so a new cue needs no second
# list): the long-message cut's payment and contact cues (`pipeline.conversation`),
# and the rest of what a payment request names. The one list to extend.
REJOIN_EXTRA = _word_set(
    """
    paid payment payments wallet phone link click account accounts bank money cash card
    cards transfer transfers deposit deposits refund refunds urgent crypto whatsapp
    pago pagar pagamento tarjeta dinero cuenta banco adelanto paiement payer argent compte
    banque zahlung zahlen konto geld cartão dinheiro conta soldi conto bonifico
    """
)
# Cue words never the result of a rejoin: abbreviations and foreign pronouns too short
# to tell from ordinary text, and "time" ("Tim e Ana": a name, "and" in Italian).
NOT_REJOINED = _word_set(
    """
    aud cad inr aaa don mir moi mot time
    """
)
# Common words of the languages parley reads (English, Spanish, French, German,
# Italian, Portuguese, Dutch). A split whose every fragment is a word (one of these,
# or a vocabulary word) is ordinary writing and stays: "in to", "si te", "ma il",
# "a hora", "pick up", "to day". Mostly short function words, and the halves of
# vocabulary words that are words themselves ("some one", "dead line", "pass code").
COMMON_WORDS = _word_set(
    """
    a i an as at be by do go he if in is it me my no of oh ok on or so to up us we
    all any are bet bit but can car day did dog end ends for got had has her him his how
    its let man may new old our out own per put she son ten too two use was who why yes
    also been come dead ever from into just know like line main much next once over
    paid part pass same side some such take tell than that them then they this very
    want well were what when will with your word code coin night knock whats tenant
    order person paid pay day hi ah yo id ad pro min minute sent sold safe funds quick
    late clear live hand chat ring run game friend count cat row
    de la el en es lo los las le les un una uno y o e se si te su al del con por para
    que mi tu ya ha me nos sin mas más muy hay son sus fue era ser ver vez hora fa esta
    paga
    da di il ma ne che non ci vi sono ho hai tra fra po ti sito
    du et est je pas sur ce ces qui ou au aux mon ton sa ta des par va bon ça
    der die das ein eine und ist im am zu an auf aus bei mit von vor um ich du er
    sie wir ihr ja nein wo was wie rug alle hier über sicher
    na os um uma em com ao à é eu ele ela
    het een van op dat dit ik hij zij wij om aan bij
    """
)
_LETTERS = re.compile(r"[^\W\d_]+")
_MAX_MIXED = 3  # fragments of a broken word; spelled-out letters may be more
# Digits that stand for letters ("1" for i or l).
_LEET = {"0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"}
_LEET_HINT = re.compile(r"\d(?<=[^\W\d_]\d)|\d[^\W\d_]")  # a digit first: a quick scan
_ASCII_LEET_HINT = re.compile(r"[0-9](?<=[a-zA-Z][0-9])|[0-9][a-zA-Z]")
_ASCII_LETTERS = re.compile(r"[a-z]+")  # in lowercased ASCII text
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
_PROTECTED = re.compile(r"\S*(?:@|://|www\.)\S*", re.IGNORECASE)


@cache
def rejoin_vocabulary() -> frozenset[str]:
    """The words a broken or leetspeak word is rejoined into (lowercase, ≥ 3 letters):
    the baseline's cue words and `REJOIN_EXTRA`, less `NOT_REJOINED`."""
    from .baseline.features import cue_words  # lazy: the features import this module

    words = {w for w in cue_words() | REJOIN_EXTRA if len(w) >= 3 and w.isalpha()}
    return frozenset(words - NOT_REJOINED)


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
    ascii = text.isascii()
    digits = 0
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
    if not out:
        return text, 0, digits
    out.append(text[last:])
    return "".join(out), separators, digits


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
