"""Catch rate of `local:baseline` on the test split's scams with their words rewritten.

The scams of the marketplace test split that the baseline flags as written; in each,
every word of the request (the scammer's messages carrying a scam cue, as the evasion
suite finds them: `pipeline.evaluation.attacks.request_indexes`) rewritten by one
family of character-level disguise, not only the words of the cue lists. Figure: the
share still flagged (the catch rate; attack success is 1 minus it). The `whole_*`
families rewrite every message of the conversation, every sender's.

A minimal, fixed set of rewrites, one per family of what normalisation undoes; the
seeded attack generator draws from the whole tables.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections.abc import Callable

from pipeline.conversation import Conversation, conversation_from_dict
from pipeline.evaluation.attacks import request_indexes
from pipeline.models.local import BaselineModel
from pipeline.settings import REPO_ROOT

DATASET = REPO_ROOT / "evals/datasets/marketplace.jsonl"
_WORD = re.compile(r"[A-Za-z]{2,}")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
SMALL_CAPS = dict(zip(_ALPHABET, "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘꞯʀꜱᴛᴜᴠᴡxʏᴢ", strict=True))
BRAILLE = dict(zip(_ALPHABET, "⠁⠃⠉⠙⠑⠋⠛⠓⠊⠚⠅⠇⠍⠝⠕⠏⠟⠗⠎⠞⠥⠧⠺⠭⠽⠵", strict=True))
# Cyrillic and Greek look-alikes, `т` and `к` included (no ASCII prototype in TR39).
CYRILLIC = dict(zip("aceopxyijshdtkbmABCEHKMOPTXY", "асеорхуіјѕһԁткьмАВСЕНКМОРТХУ", strict=True))
GREEK = dict(zip("aoptikvnuxyABEHIKMNOPTXYZ", "αορτικνηυχγΑΒΕΗΙΚΜΝΟΡΤΧΥΖ", strict=True))
SYMBOLS = {"s": "$", "a": "@", "o": "()", "l": "|", "i": "!"}
SEPARATORS = ".-_*~/"


def _letters(word: str, table: Callable[[str], str]) -> str:
    return "".join(table(c) for c in word)


def _enclosed(base: int, upper: bool) -> Callable[[str], str]:
    def rewrite(word: str) -> str:
        return "".join(
            chr(base + ord(c.lower()) - ord("a")) if c.isalpha() else c
            for c in (word.upper() if upper else word.lower())
        )

    return rewrite


def _math_bold(word: str) -> str:
    return "".join(
        chr(0x1D41A + ord(c) - ord("a"))
        if c.islower()
        else chr(0x1D400 + ord(c) - ord("A"))
        if c.isupper()
        else c
        for c in word
    )


def _zalgo(word: str, rng: random.Random) -> str:
    return "".join(
        c + "".join(chr(rng.randint(0x300, 0x36F)) for _ in range(rng.randint(3, 6))) for c in word
    )


def _mixed_separators(word: str, rng: random.Random) -> str:
    return "".join(c + rng.choice(SEPARATORS) for c in word[:-1]) + word[-1]


def _whitespace(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    cut = rng.randint(2, len(word) - 2)
    return word[:cut] + rng.choice(["  ", "\n"]) + word[cut:]


def _entity(word: str, rng: random.Random) -> str:
    index = rng.randrange(len(word))
    return word[:index] + f"&#{ord(word[index])};" + word[index + 1 :]


def _symbols(word: str) -> str:
    return "".join(SYMBOLS.get(c, c) for c in word)


def _bidi(word: str) -> str:
    return f"\u202e{word[::-1]}\u202c"


Rewrite = Callable[[str, random.Random], str]
FAMILIES: dict[str, Rewrite] = {
    "accents_composed": lambda w, r: _nfc(_letters(w, lambda c: c + "\u0301")),
    "combining_acute": lambda w, r: _letters(w, lambda c: c + "\u0301"),
    "combining_dot_below": lambda w, r: _letters(w, lambda c: c + "\u0323"),
    "small_caps": lambda w, r: _letters(w.lower(), lambda c: SMALL_CAPS.get(c, c)),
    "negative_squared": lambda w, r: _enclosed(0x1F170, True)(w),
    "parenthesised": lambda w, r: _enclosed(0x249C, False)(w),
    "circled": lambda w, r: _enclosed(0x24D0, False)(w),
    "braille": lambda w, r: _letters(w.lower(), lambda c: BRAILLE.get(c, c)),
    "math_bold": lambda w, r: _math_bold(w),
    "zalgo": _zalgo,
    "mixed_separators": _mixed_separators,
    "whitespace_inside": _whitespace,
    "html_entity": _entity,
    "symbol_leet": lambda w, r: _symbols(w),
    "cyrillic_word": lambda w, r: _letters(w, lambda c: CYRILLIC.get(c, c)),
    "greek_word": lambda w, r: _letters(w, lambda c: GREEK.get(c, c)),
    "bidi_reversed": lambda w, r: _bidi(w),
}
# The whole conversation in fancy text, every sender's every word.
WHOLE = ("small_caps", "negative_squared", "math_bold", "braille")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def rewrite_text(text: str, family: str, rng: random.Random) -> str:
    """Every word of two letters or more in `text` rewritten by `family`."""
    rewrite = FAMILIES[family]
    return _WORD.sub(lambda m: rewrite(m.group(0), rng), text)


def rewrite_request(conversation: Conversation, family: str, seed: int = 0) -> Conversation:
    """The conversation with every word of its request messages rewritten."""
    texts = [m.text for m in conversation.messages]
    _, cued = request_indexes(texts, [m.sender for m in conversation.messages])
    rng = random.Random(f"{seed}:{family}:{conversation.id}")
    return _with_texts(
        conversation,
        [rewrite_text(t, family, rng) if i in cued else t for i, t in enumerate(texts)],
    )


def rewrite_whole(conversation: Conversation, family: str, seed: int = 0) -> Conversation:
    """The conversation with every word of every message rewritten."""
    rng = random.Random(f"{seed}:whole:{family}:{conversation.id}")
    return _with_texts(
        conversation, [rewrite_text(m.text, family, rng) for m in conversation.messages]
    )


def _with_texts(conversation: Conversation, texts: list[str]) -> Conversation:
    messages = tuple(
        m.model_copy(update={"text": t}) for m, t in zip(conversation.messages, texts, strict=True)
    )
    return conversation.model_copy(update={"messages": messages})


def caught_scams(model: BaselineModel) -> list[Conversation]:
    """The test split's scams that the baseline flags as written."""
    out = []
    for line in DATASET.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        if data["split"] == "test" and data["label"] == 1:
            conversation = conversation_from_dict(data)
            if model.score(conversation) >= model.threshold:
                out.append(conversation)
    return out


def catch_rates(model: BaselineModel, scams: list[Conversation]) -> dict[str, tuple[int, int, int]]:
    """Per family: (flagged, flagged by the calibrated probability alone, scams): the
    second leaves out the obfuscation rule, to show what the features catch."""
    variants = [(f, lambda c, f=f: rewrite_request(c, f)) for f in FAMILIES]
    variants += [(f"whole_{f}", lambda c, f=f: rewrite_whole(c, f)) for f in WHOLE]
    rates = {}
    for name, rewrite in variants:
        flagged = features = 0
        for conversation in scams:
            rewritten = rewrite(conversation)
            flagged += model.score(rewritten) >= model.threshold
            turns = [(m.sender, m.text) for m in rewritten.messages]
            features += model.artifact.probability(turns) >= model.threshold
        rates[name] = (flagged, features, len(scams))
    return rates


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    model = BaselineModel()
    scams = caught_scams(model)
    if quick:
        scams = scams[:15]
    rows = []
    for family, (flagged, features, total) in catch_rates(model, scams).items():
        rows.append(
            (
                f"{family}_catch",
                flagged / total,
                f"{flagged}/{total} caught scams still flagged; {features}/{total} by the"
                " calibrated probability alone, without the obfuscation rule",
            )
        )
    return rows
