"""Token counts close to each model family's tokeniser, without its vocabulary.

The Bedrock emulator reports usage with these counts, and the cost benchmark bills
them, so they must follow the families' tokenisers closely enough to be stated.
Text is cut as BPE pre-tokenisers cut it (letter runs, digit runs, punctuation
runs, whitespace), and each piece costs what the family's vocabulary class makes
of it:

- `sp32k`: SentencePiece with a 32k vocabulary and byte fallback (Mistral 7B,
  Mixtral, Llama 2): every digit is a token, rarer words split sooner, each
  newline is a token.
- `bpe100k`: byte-level BPE with a 100k–130k vocabulary (Llama 3, Mistral's
  Tekken, and the default for families whose tokeniser is not public: Amazon Titan,
  Amazon Nova, Anthropic Claude): digits in groups of up to three, common words one
  token, whitespace runs merged.

The constants were fitted against two real tokenisers on parley's own prompts and
datasets (`python -m bench tokens`, which needs `pip install
'mistral-common[sentencepiece]'`): Mistral's v1 SentencePiece for `sp32k` and its
Tekken BPE for `bpe100k`. BENCHMARKS.md records the error; for Titan, Nova and
Claude the count is an estimate of the same class, not their tokeniser.
"""

from __future__ import annotations

import math
import re
from typing import Literal

Family = Literal["sp32k", "bpe100k"]

_PIECES = re.compile(r"[^\W\d_]+|\d+|\n|[^\S\n]+|[^\w\s]+|_+")

# Bare model id prefix -> tokeniser class; the longest matching prefix wins.
FAMILIES: dict[str, Family] = {
    "mistral.mistral-7b": "sp32k",
    "mistral.mixtral": "sp32k",
    "meta.llama2": "sp32k",
}
DEFAULT_FAMILY: Family = "bpe100k"

# Letters a token covers in a word beyond its first token, by class (fitted).
_LETTERS_PER_TOKEN: dict[Family, float] = {"sp32k": 4.0, "bpe100k": 5.6}
# Words up to this length are one token (fitted).
_WHOLE_WORD: dict[Family, int] = {"sp32k": 8, "bpe100k": 7}
_GEO_PREFIXES = frozenset({"us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"})


def family_of(model_id: str) -> Family:
    """The tokeniser class of a Bedrock model id (ARNs and inference profiles too)."""
    name = model_id.rsplit("/", 1)[-1]
    head, dot, tail = name.partition(".")
    bare = tail if dot and head in _GEO_PREFIXES else name
    matches = [prefix for prefix in FAMILIES if bare.startswith(prefix)]
    return FAMILIES[max(matches, key=len)] if matches else DEFAULT_FAMILY


def _word(length: int, family: Family) -> int:
    whole = _WHOLE_WORD[family]
    if length <= whole:
        return 1
    return 1 + math.ceil((length - whole) / _LETTERS_PER_TOKEN[family])


def count_tokens(text: str, family: Family = DEFAULT_FAMILY) -> int:
    """Tokens of `text` in the given tokeniser class (at least 1)."""
    total = 0
    for piece in _PIECES.findall(text):
        first = piece[0]
        if first == "\n":
            total += 1 if family == "sp32k" else 0  # bpe100k merges newlines with neighbours
        elif first.isspace():
            # A single space rides on the next word; longer runs cost about one token.
            total += 0 if len(piece) == 1 else 1
        elif first.isdigit():
            total += len(piece) if family == "sp32k" else math.ceil(len(piece) / 3)
        elif first.isalpha():
            total += _word(len(piece), family) if piece.isascii() else len(piece)
        else:
            total += len(piece) if family == "sp32k" else math.ceil(len(piece) / 2)
    return max(1, total)


def count_for_model(model_id: str, text: str) -> int:
    """Tokens of `text` for a Bedrock model id."""
    return count_tokens(text, family_of(model_id))
