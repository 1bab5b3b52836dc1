"""Text normalisation for every matcher: the one place where hidden, look-alike,
fancy, accented, encoded, reordered and broken characters are undone, and counted.

An attacker who has read parley's cue lists writes "dep<U+200B>osit" (a zero-width
space), "d<U+0435>posit" (a Cyrillic е), "ᴅᴇᴘᴏꜱɪᴛ", "dépósít", "&#100;eposit",
"d.e-p.o-s.i-t" or "p@y": a person reads the word, a regular expression does not.
Every consumer that matches words (the long-message cut's cue finder, the baseline's
features, the child-answer screen, contact redaction) reads `normalise(text).text`,
the matching copy:

1. HTML character references decoded (`entities`);
2. lines under a bidi override put in display order (`bidi`);
3. default-ignorable code points removed (`invisible`);
4. per word: fancy letters, compatibility forms and accents folded (`fold`),
   look-alike letters of other scripts read as Latin where the text is Latin
   (`confusables`), and the characters that disguised a word counted (`disguise`);
5. broken, leetspeak and symbol-leet words rejoined into vocabulary words (`rejoin`,
   `vocabulary`).

`Normalised.shown` is the text as a person reads it (steps 2 and 3 only): what a model
is shown, with the marker. Plain ASCII text skips steps 2-4 after step 1 (one
`str.isascii()` check), not step 5. No full TR39 skeleton on ASCII and no case
folding: see docs/normalisation.md.

Obfuscation is itself evidence, counted only where a character changed what a word
reads as (see `invisible` and `disguise`): emoji sequences, flags, keycaps, joiners of
scripts that need them, bidi marks beside right-to-left text, soft hyphens between
syllables, a BOM at the start, honest accents and a Russian name count nothing.
"""

from __future__ import annotations

import unicodedata

from .bidi import display_order
from .confusables import lookalike_table
from .disguise import fold_text
from .entities import decode_entities
from .fold import fold_word
from .invisible import DEFAULT_IGNORABLE, strip_ignorable
from .rejoin import rejoin
from .result import OBFUSCATION_MARKER, Normalised
from .spans import find_spans
from .vocabulary import COMMON_WORDS, NOT_REJOINED, REJOIN_EXTRA, rejoin_vocabulary

__all__ = [
    "COMMON_WORDS",
    "DEFAULT_IGNORABLE",
    "NOT_REJOINED",
    "OBFUSCATION_MARKER",
    "REJOIN_EXTRA",
    "Normalised",
    "find_spans",
    "fold_word",
    "lookalike_table",
    "normalise",
    "normalised_text",
    "rejoin",
    "rejoin_vocabulary",
    "strip_ignorable",
]


def normalise(text: str, *, words: bool = True) -> Normalised:
    """The matching copy of `text` and the characters that disguised it (see the module
    doc); broken and leetspeak words are rejoined unless `words` is false (text to be
    read out as written, where "c-o-d-e" may be a spelling lesson).

    Idempotent: `normalise(normalise(t).text).text == normalise(t).text`.
    """
    encoded = 0
    if "&" in text:
        text, encoded = decode_entities(text)
    if text.isascii():
        # The fast path: no ignorable, compatibility, accented or look-alike character
        # in ASCII; broken and leetspeak words are ASCII too, and are checked for.
        if not words:
            return Normalised(text, lookalikes=encoded)
        joined, separators, digits = rejoin(text)
        return Normalised(
            joined, lookalikes=encoded, separators=separators, digits=digits, shown=text
        )
    ordered, overrides = display_order(text)
    stripped, hidden = strip_ignorable(ordered)
    shown = unicodedata.normalize("NFC", stripped)
    folded, disguised = fold_text(shown)
    hidden += overrides
    lookalikes = encoded + disguised
    if not words:
        return Normalised(folded, hidden, lookalikes, shown=shown)
    joined, separators, digits = rejoin(folded)
    return Normalised(joined, hidden, lookalikes, separators, digits, shown=shown)


def normalised_text(text: str, *, words: bool = True) -> str:
    """`normalise(text, words=words).text`: for matchers that need no counts."""
    return normalise(text, words=words).text
