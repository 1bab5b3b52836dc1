"""Generated attacks: seeded rewrites drawn from whole Unicode tables, applied to
conversations the detector has never seen, each recorded so that a miss reproduces.

The fixed strategies of attacks.py disguise the words the cue list knows; these do
not consult any cue list or vocabulary. The attacked message is the case's request
(tagged `request:N` in the dataset, N the message index; several tags, several
messages) or, untagged (honest conversations), the longest message. Every word of
two letters or more in it is rewritten, so the scam's words are attacked because
they are in the request, not because parley knows them.

Families (`FAMILIES`):
- word families rewrite each word of the request: TR39 confusables, whole-word
  Cyrillic or Greek, fancy-text alphabets (math, fullwidth, small capitals,
  super/subscripts, parenthesised, enclosed, Braille), accents and zalgo, separators,
  symbol leet, HTML entities, bidi override with the word stored reversed, invisible
  characters;
- `fancy_message` writes every message of the request's sender in one alphabet;
- structure families move the request: `split` (2-5 messages), `split_words` (one
  word a message), `flood` (20 harmless messages after it, same sender), `padding`
  (inside about 5,000 characters of friendly text).

`a+b` combines families: word families rewrite each word in turn, then the
structure families move the result. The random source is seeded from the suite's
seed, the family and the conversation: the same inputs give the same attack, and
`record` says what was drawn (family, seed, parameters, targeted messages).
"""

from __future__ import annotations

import hashlib
import html.entities
import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from ..conversation import Conversation, Message
from . import attacktables as tables
from .attacks import PADDING

WordRewrite = Callable[[str, random.Random, dict[str, Any]], str]
Kind = Literal["word", "message", "structure"]

_WORD = re.compile(r"[^\W\d_]{2,}")
_REQUEST_TAG = re.compile(r"^request:(\d+)$")


# ---------------------------------------------------------------- word families


def _per_letter(word: str, pick: Callable[[str], str | None]) -> str:
    return "".join(pick(ch) or ch for ch in word)


def confusable(word: str, rng: random.Random, notes: dict[str, Any]) -> str:
    """Each letter by one of its TR39 confusables, any script (`dеρоѕіt`, `ԁ℮ⲣ᧐ꜱἰт`)."""
    table = tables.confusables()
    return _per_letter(word, lambda ch: rng.choice(table[ch]) if ch in table else None)


def _whole_script(script: str) -> WordRewrite:
    def rewrite(word: str, rng: random.Random, notes: dict[str, Any]) -> str:
        table = tables.script_lookalikes(script)
        sounds = tables.SOUND_ALIKES[script]
        out = []
        for ch in word:
            if ch in table:
                out.append(rng.choice(table[ch]))
            elif ch in sounds:  # no look-alike: the letter of the same sound
                out.append(sounds[ch])
                notes["sound_alikes"] = notes.get("sound_alikes", 0) + 1
            else:
                out.append(ch)
        return "".join(out)

    rewrite.__doc__ = f"The whole word in {script.title()} letters (look-alikes first)."
    return rewrite


def _alphabet_family(family: str) -> WordRewrite:
    def rewrite(word: str, rng: random.Random, notes: dict[str, Any]) -> str:
        styles = tables.styles_of(family)
        style = rng.choice(styles)
        if len(styles) > 1:  # a family of one alphabet has nothing to record
            notes.setdefault("styles", []).append(style)
        table = tables.alphabets()[style]
        # Alphabets of one case (small capitals, Braille...) serve both.
        return _per_letter(word, lambda ch: table.get(ch) or table.get(ch.swapcase()))

    rewrite.__doc__ = f"Each word in one {family} alphabet, drawn per word."
    return rewrite


def accents(word: str, rng: random.Random, notes: dict[str, Any]) -> str:
    """One combining accent on every letter, precomposed where Unicode has the letter
    (NFC: `dépósít`) or left combining, as drawn once per conversation."""
    marks = tables.accent_marks()
    out = "".join(ch + rng.choice(marks) for ch in word)
    if "nfc" not in notes:  # drawn once per conversation
        notes["nfc"] = rng.random() < 0.5
    return unicodedata.normalize("NFC", out) if notes["nfc"] else out


def zalgo(word: str, rng: random.Random, notes: dict[str, Any]) -> str:
    """Two to eight marks of the combining blocks on every letter."""
    marks = tables.zalgo_marks()
    return "".join(ch + "".join(rng.choices(marks, k=rng.randint(2, 8))) for ch in word)


SEPARATORS = (".", "-", "_", "*", " ", "  ", "\n", " . ", "- ")


def separators(word: str, rng: random.Random, notes: dict[str, Any]) -> str:
    """A separator after every letter, any mix of . - _ * spaces and newlines."""
    return word[:1] + "".join(rng.choice(SEPARATORS) + ch for ch in word[1:])


SYMBOL_LEET = {
    "a": ("@", "4", "/-\\"), "b": ("8", "|3"), "c": ("(", "¢"), "d": ("|)", "cl"),
    "e": ("3", "€"), "g": ("9", "6"), "h": ("#", "|-|"), "i": ("!", "1", "|"),
    "k": ("|<",), "l": ("|", "1"), "m": ("|\\/|",), "n": ("|\\|",), "o": ("()", "0"),
    "p": ("|*", "|>"), "s": ("$", "5"), "t": ("7", "+"), "u": ("|_|",), "v": ("\\/",),
    "w": ("\\/\\/",), "x": ("><",), "y": ("`/",), "z": ("2",),
}  # fmt: skip


def leet(word: str, rng: random.Random, notes: dict[str, Any]) -> str:
    """Letters written with symbols and digits: $ @ () | ! and friends."""
    return _per_letter(word, lambda ch: rng.choice(SYMBOL_LEET.get(ch.lower(), (ch,))))


_NAMED = {v: k for k, v in sorted(html.entities.html5.items(), reverse=True) if len(v) == 1}


def entities(word: str, rng: random.Random, notes: dict[str, Any]) -> str:
    """Every letter as an HTML character reference: decimal, hex, or named where HTML
    has a name for it (accented letters and symbols)."""

    def encode(ch: str) -> str:
        form = rng.choice(("dec", "hex", "named"))
        name = _NAMED.get(ch)
        if form == "named" and name is not None and name.endswith(";"):
            return f"&{name}"
        return f"&#{ord(ch)};" if form != "hex" else f"&#x{ord(ch):x};"

    return "".join(encode(ch) for ch in word)


def bidi(word: str, rng: random.Random, notes: dict[str, Any]) -> str:
    """The word stored reversed inside a right-to-left override: shown as written."""
    return f"{tables.RLO}{word[::-1]}{tables.PDF}"


def invisible(word: str, rng: random.Random, notes: dict[str, Any]) -> str:
    """A default-ignorable (invisible) character after every letter."""
    chars = tables.invisible_chars()
    return word[:1] + "".join(rng.choice(chars) + ch for ch in word[1:])


# ---------------------------------------------------------- structure families

HARMLESS = (
    "ok", "thanks!", "sounds good", "let me know", "great :)", "cheers", "perfect",
    "no rush", "see you then", "have a nice evening", "sure", "👍", "all good here",
    "talk soon", "fine by me", "noted", "haha yes", "lovely weather today",
    "just got home", "one sec", "back now", "the kids say hi", "sorry, was driving",
    "yes that works", "brilliant", "ok ok", "thank you so much", "good morning!",
)  # fmt: skip
FLOOD_MESSAGES = 20
PADDING_CHARS = 5000


def _chatter(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    while sum(len(p) + 1 for p in out) < chars:
        out.extend(rng.sample(PADDING, len(PADDING)))
    text = ""
    for piece in out:
        if len(text) >= chars:
            break
        text = f"{text} {piece}" if text else piece
    return text


def split(text: str, rng: random.Random, notes: dict[str, Any]) -> list[str]:
    """The request sent as 2 to 5 messages, cut between words."""
    words = text.split(" ")
    parts = min(len(words), rng.randint(2, 5))
    cuts = sorted(rng.sample(range(1, len(words)), parts - 1)) if parts > 1 else []
    notes["parts"] = parts
    bounds = zip([0, *cuts], [*cuts, len(words)], strict=True)
    return [" ".join(words[a:b]) for a, b in bounds]


def split_words(text: str, rng: random.Random, notes: dict[str, Any]) -> list[str]:
    """The request sent one word a message."""
    parts = [w for w in text.split() if w]
    notes["parts"] = len(parts)
    return parts or [text]


def flood(text: str, rng: random.Random, notes: dict[str, Any]) -> list[str]:
    """The request, then 20 short harmless messages from the same sender."""
    notes["flood"] = FLOOD_MESSAGES
    return [text, *rng.choices(HARMLESS, k=FLOOD_MESSAGES)]


def padding(text: str, rng: random.Random, notes: dict[str, Any]) -> list[str]:
    """The request inside about 5,000 characters of friendly text, at a drawn place."""
    before = rng.randint(0, PADDING_CHARS)
    notes["padding_before"] = before
    head, tail = _chatter(rng, before), _chatter(rng, PADDING_CHARS - before)
    return [" ".join(p for p in (head, text, tail) if p)]


# ---------------------------------------------------------------- the registry


@dataclass(frozen=True)
class Family:
    """A named rewrite: of each word, of whole messages, or of where the request sits.
    `fold`: a reader (and NFKD / transliteration) recovers the word letter by letter."""

    name: str
    kind: Kind
    summary: str
    word: WordRewrite | None = None
    move: Callable[[str, random.Random, dict[str, Any]], list[str]] | None = None
    fold: bool = False


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("confusable", "word", "every letter a TR39 confusable", confusable, fold=True),
        Family("cyrillic", "word", "whole words in Cyrillic", _whole_script("CYRILLIC")),
        Family("greek", "word", "whole words in Greek", _whole_script("GREEK")),
        Family("math", "word", "mathematical alphanumerics", _alphabet_family("math"), fold=True),
        Family("fullwidth", "word", "fullwidth letters", _alphabet_family("fullwidth"), fold=True),
        Family("smallcaps", "word", "small capitals", _alphabet_family("smallcaps"), fold=True),
        Family(
            "superscript",
            "word",
            "super- and subscript letters",
            _alphabet_family("superscript"),
            fold=True,
        ),
        Family(
            "parenthesised",
            "word",
            "parenthesised letters",
            _alphabet_family("parenthesised"),
            fold=True,
        ),
        Family(
            "enclosed",
            "word",
            "circled, squared, negative letters",
            _alphabet_family("enclosed"),
            fold=True,
        ),
        Family("braille", "word", "Braille letters", _alphabet_family("braille")),
        Family("accents", "word", "an accent on every letter", accents, fold=True),
        Family("zalgo", "word", "two to eight marks on every letter", zalgo, fold=True),
        Family("separators", "word", "a separator after every letter", separators),
        Family("leet", "word", "symbol leet: $ @ () | !", leet),
        Family("entities", "word", "HTML character references", entities),
        Family("bidi", "word", "reversed inside a right-to-left override", bidi),
        Family("invisible", "word", "an invisible character after every letter", invisible),
        Family("fancy_message", "message", "every message of the sender in one alphabet"),
        Family("split", "structure", "the request in 2-5 messages", move=split),
        Family("split_words", "structure", "the request one word a message", move=split_words),
        Family("flood", "structure", "the request, then 20 harmless messages", move=flood),
        Family("padding", "structure", "inside ~5,000 characters of chatter", move=padding),
    )
}


def known(name: str) -> bool:
    """A family, or families combined with "+" (`padding+accents`)."""
    return bool(name) and all(part in FAMILIES for part in name.split("+"))


def kind_of(name: str) -> str:
    """`word`, `message`, `structure`, or `combined` for `a+b`."""
    parts = name.split("+")
    return "combined" if len(parts) > 1 else FAMILIES[parts[0]].kind


# ---------------------------------------------------------------- the generator


@dataclass(frozen=True)
class Generated:
    """An attacked conversation and what was drawn to make it."""

    conversation: Conversation
    record: dict[str, Any] = field(default_factory=dict)


def rng_for(seed: int, family: str, conversation: Conversation) -> random.Random:
    """The random source of one attack: same seed, family and conversation, same draw."""
    digest = hashlib.sha256(f"{seed}|gen|{family}|{conversation.id}".encode())
    for message in conversation.messages:
        digest.update(message.text.encode("utf-8", "surrogatepass"))
    return random.Random(digest.hexdigest())


def targets(conversation: Conversation, tags: Sequence[str] = ()) -> tuple[int, ...]:
    """The messages to attack: those tagged `request:N`, else the longest message (the
    latest of equals). Never the cue list: the dataset says where its request is."""
    count = len(conversation.messages)
    tagged = sorted({int(m.group(1)) for t in tags if (m := _REQUEST_TAG.match(t))})
    tagged = [i for i in tagged if i < count]
    if tagged:
        return tuple(tagged)
    if not count:
        return ()
    sizes = [len(_WORD.findall(m.text)) for m in conversation.messages]
    return (max(range(count), key=lambda i: (sizes[i], i)),)


def rewrite_words(text: str, rewrite: Callable[[str], str]) -> str:
    """`text` with every word of two letters or more replaced by `rewrite(word)`."""
    return _WORD.sub(lambda m: rewrite(m.group(0)), text)


def fancy_text(text: str, style: str) -> str:
    """Every letter and digit of `text` in one alphabet (those it has)."""
    table = tables.alphabets()[style]
    return "".join(table.get(ch) or table.get(ch.swapcase()) or ch for ch in text)


def generate(
    conversation: Conversation, name: str, seed: int = 0, tags: Sequence[str] = ()
) -> Generated:
    """The conversation with family (or combination) `name` applied to its request."""
    families = [FAMILIES[part] for part in name.split("+")]
    messages = list(conversation.messages)
    chosen = targets(conversation, tags)
    notes: dict[str, Any] = {}
    record = {"family": name, "seed": seed, "targets": list(chosen), "params": notes}
    if not messages:
        return Generated(conversation, record)
    rng = rng_for(seed, name, conversation)
    texts: dict[int, str] = {i: messages[i].text for i in chosen}
    word_rewrites = [f.word for f in families if f.word is not None]
    if word_rewrites:

        def each(word: str) -> str:
            for rewrite in word_rewrites:
                word = rewrite(word, rng, notes)
            return word

        texts = {i: rewrite_words(text, each) for i, text in texts.items()}
    if any(f.kind == "message" for f in families):
        style = rng.choice(sorted(tables.alphabets()))
        notes["style"] = style
        sender = messages[chosen[-1]].sender
        for i, message in enumerate(messages):
            if message.sender == sender:
                texts[i] = fancy_text(texts.get(i, message.text), style)
    parts: dict[int, list[str]] = {i: [t] for i, t in texts.items()}
    for family in families:
        if family.move is not None:  # the request that carries the scam: the last tagged
            parts[chosen[-1]] = [
                piece for text in parts[chosen[-1]] for piece in family.move(text, rng, notes)
            ]
    out: list[Message] = []
    for index, message in enumerate(messages):
        pieces = parts.get(index)
        if pieces is None or pieces == [message.text]:
            out.append(message)
            continue
        for n, text in enumerate(pieces):
            # Later parts follow by microseconds: still before the next message.
            stamp = message.timestamp + timedelta(microseconds=n)
            out.append(message.model_copy(update={"text": text, "timestamp": stamp}))
    attacked = conversation.model_copy(update={"messages": tuple(out)})
    return Generated(attacked, record)
