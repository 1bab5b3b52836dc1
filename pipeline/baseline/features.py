"""Hashed features of a conversation (pure Python, stdlib only).

A conversation is a sequence of `(sender, text)` pairs in chronological order. Each
message becomes `[seller] words …` (sender markers, text normalised by
`pipeline.normalise`, lowercased, numbers and contact details folded into
placeholders); from that come five feature groups:

- `w`: word unigrams and bigrams (bigrams never cross a message boundary);
- `s`: word unigrams prefixed by the sender's side (`s:` seller, `b:` buyer, `u:` other);
- `c`: character 3-5-grams inside word boundaries (`" deposit "` → `" de"`, `"dep"`, …);
- `x`: conversation-level cues: message count, which cue kinds appear (money, URL,
  phone, e-mail, payment apps, deposit, fees, codes, urgency, meeting, …), who wrote
  them, whether they sit in the last message, and their order across messages
  (`x:seq:meet>money` = a meeting cue in an earlier message than a money cue).

Each feature string is hashed with zlib.crc32 (stable across processes, unlike the
salted `hash()`) into `2**buckets_log2` buckets with a sign bit (signed hashing keeps
collisions unbiased). Counts get sublinear tf (1 + ln tf), each group is L2-normalised
and weighted, and the whole vector is L2-normalised (exactly, but for collisions).
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from itertools import pairwise, repeat
from operator import mul
from typing import Any

from ..normalise import fold_word, normalised_text
from .cues import CUE_PHRASES, CURRENCY_SIGNS, CURRENCY_WORDS

# Bump when the feature code changes meaning: an artifact built with another version
# would score garbage, so the loader refuses it.
FEATURE_VERSION = "parley-hash-3"

Turn = tuple[str, str]  # (sender, text)

_URL = re.compile(
    r"https?://\S+|www\.\S+|\b[\w-]+(?:\.[\w-]+)*\."
    r"(?:com|net|org|io|co|info|biz|xyz|top|link|site|online|shop|app|me|ly|example)\b(?:/\S*)?"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d ().-]{6,}\d(?!\w)")
_DIGITS = re.compile(r"\d+")
_TOKEN = re.compile(r"[^\W\d_]+|_[a-z]+_|0+|[$€£¥₹?!]")

_PHRASES: dict[tuple[str, ...], tuple[str, ...]] = {}
# Cue phrases folded as the text they are matched against ("überweisung" -> "uberweisung").
for _kind, _phrases in CUE_PHRASES.items():
    for _phrase in _phrases.split("|"):
        _key = tuple(fold_word(word) for word in _phrase.split())
        _PHRASES[_key] = (*_PHRASES.get(_key, ()), _kind)
_LONGEST = max(len(k) for k in _PHRASES)


@dataclass(frozen=True)
class FeatureConfig:
    """How text becomes a vector; stored in the artifact so scoring matches training."""

    version: str = FEATURE_VERSION
    buckets_log2: int = 18
    char_min: int = 3
    char_max: int = 5
    # Group weights after each group's own L2 normalisation.
    weights: dict[str, float] = field(
        default_factory=lambda: {"w": 1.0, "s": 0.7, "c": 1.0, "x": 0.7}
    )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        return cls(
            version=str(data["version"]),
            buckets_log2=int(data["buckets_log2"]),
            char_min=int(data["char_min"]),
            char_max=int(data["char_max"]),
            weights={str(k): float(v) for k, v in data["weights"].items()},
        )


def side(sender: str) -> str:
    """The sender's side as a one-letter prefix: `s` seller, `b` buyer, `u` anyone else."""
    lowered = sender.lower()
    if lowered.startswith("sell"):
        return "s"
    if lowered.startswith("buy"):
        return "b"
    return "u"


def normalise(text: str) -> str:
    """Lowercase, `pipeline.normalise` (NFKC, hidden characters removed, look-alike letters
    mapped to Latin), contact details and numbers folded into placeholders."""
    text = normalised_text(text).lower()
    text = _EMAIL.sub(" _email_ ", text)
    text = _URL.sub(" _url_ ", text)
    text = _PHONE.sub(_phone_placeholder, text)
    # "5000" -> "0000": the magnitude of a number matters, its digits do not.
    return _DIGITS.sub(lambda m: "0" * min(len(m.group(0)), 7), text)


def _phone_placeholder(match: re.Match[str]) -> str:
    # Nine digits or more (or "+" and seven): a phone number, not a date or a time range.
    found = match.group(0)
    digits = sum(ch.isdigit() for ch in found)
    return " _phone_ " if digits >= 9 or (found[0] == "+" and digits >= 7) else found


def tokenize(text: str) -> list[str]:
    """Word tokens of one message after `normalise` (letters, placeholders, numbers, ?!$)."""
    return _TOKEN.findall(normalise(text))


def cues(text: str) -> set[str]:
    """The cue kinds present in one message."""
    return _token_cues(tokenize(text))


def _token_cues(tokens: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for i, token in enumerate(tokens):
        for n in range(1, _LONGEST + 1):
            kinds = _PHRASES.get(tuple(tokens[i : i + n]))
            if kinds:
                found.update(kinds)
        # An amount: a currency sign, or a currency word next to a number.
        if token in CURRENCY_SIGNS or (
            token in CURRENCY_WORDS and any(t[:1] == "0" for t in tokens[max(0, i - 1) : i + 2])
        ):
            found.add("money")
    return found


def _parse(turns: Sequence[Turn]) -> list[tuple[str, list[str]]]:
    return [(side(sender), tokenize(text)) for sender, text in turns]


def feature_strings(turns: Sequence[Turn], config: FeatureConfig) -> dict[str, list[str]]:
    """Every feature string of a conversation, by group (before hashing); for inspection."""
    parsed = _parse(turns)
    groups: dict[str, list[str]] = {"w": [], "s": [], "c": [], "x": _cue_features(parsed)}
    for marker, tokens in parsed:
        sequence = [f"[{marker}]", *tokens]
        groups["w"].extend(f"w:{t}" for t in tokens)
        groups["w"].extend(f"b:{a} {b}" for a, b in pairwise(sequence))
        groups["s"].extend(f"{marker}:{t}" for t in tokens)
        for token in tokens:
            groups["c"].extend(_char_grams(token, config.char_min, config.char_max))
    return groups


def conversation_cues(turns: Sequence[Turn]) -> list[str]:
    """Conversation-level features: size, cue kinds, their senders, position and order."""
    return _cue_features(_parse(turns))


def _cue_features(parsed: list[tuple[str, list[str]]]) -> list[str]:
    count = len(parsed)
    size = "1" if count == 1 else "2-3" if count <= 3 else "4-7" if count <= 7 else "8+"
    out = [f"x:nmsg:{size}", f"x:sides:{''.join(sorted({m for m, _ in parsed}))}"]
    seen_before: set[str] = set()
    kinds: set[str] = set()
    for index, (marker, tokens) in enumerate(parsed):
        last = index == count - 1
        kinds = _token_cues(tokens)
        for kind in sorted(kinds):
            out.append(f"x:cue:{kind}")
            out.append(f"x:{marker}:cue:{kind}")
            if last:
                out.append(f"x:last:cue:{kind}")
            # Order across messages: which cues came in earlier messages than this one.
            for earlier in sorted(seen_before):
                out.append(f"x:seq:{earlier}>{kind}")
                if last:
                    out.append(f"x:lastseq:{earlier}>{kind}")
        seen_before |= kinds
    if count and not kinds:
        out.append("x:last:nocue")
    return out


def _char_grams(token: str, low: int, high: int) -> list[str]:
    if token.startswith("_"):  # placeholders are whole-word features only
        return []
    padded = f" {token} "
    return [
        f"c:{padded[i : i + n]}" for n in range(low, high + 1) for i in range(len(padded) - n + 1)
    ]


@lru_cache(maxsize=200_000)
def _hashed(feature: str, mask: int) -> int:
    """A feature's signed bucket: `b` for sign +1, `~b` (= -b-1) for sign -1.

    crc32 is stable across processes and platforms; its bit 31 gives the sign.
    """
    h = zlib.crc32(feature.encode("utf-8"))
    return ~(h & mask) if h & 0x80000000 else h & mask


@lru_cache(maxsize=100_000)
def _token_keys(
    marker: str, token: str, low: int, high: int, mask: int
) -> tuple[tuple[int, ...], ...]:
    # Vocabulary is Zipfian: a word's hashed unigram, sender and character grams are cached.
    return (
        (_hashed(f"w:{token}", mask),),
        (_hashed(f"{marker}:{token}", mask),),
        tuple(_hashed(g, mask) for g in _char_grams(token, low, high)),
    )


class _Sublinear(dict[int, float]):
    """count -> 1 + ln(count), memoised; a dict so that map() can look it up in C."""

    def __missing__(self, count: int) -> float:
        value = self[count] = 1.0 + math.log(count)
        return value


_TF = _Sublinear()


@dataclass(frozen=True)
class HashedGroup:
    """One feature group of a conversation: signed-bucket counts and the scale of each."""

    counts: Counter[int]
    scale: float  # group weight / (group L2 norm * combined norm of the weighted groups)


def hashed_groups(turns: Sequence[Turn], config: FeatureConfig) -> list[HashedGroup]:
    """The conversation's features as hashed counts per group (the fast path of scoring).

    Each group is L2-normalised after sublinear tf and weighted; the combined vector is
    divided by sqrt(sum of the squared weights of the non-empty groups), its exact L2
    norm unless two features of one conversation collide in a bucket.
    """
    mask = (1 << config.buckets_log2) - 1
    low, high = config.char_min, config.char_max
    words: list[int] = []
    senders: list[int] = []
    chars: list[int] = []
    parsed = _parse(turns)
    for marker, tokens in parsed:
        previous = f"[{marker}]"
        for token in tokens:
            word, sender, grams = _token_keys(marker, token, low, high, mask)
            words.extend(word)
            words.append(_hashed(f"b:{previous} {token}", mask))
            senders.extend(sender)
            chars.extend(grams)
            previous = token
    extras = [_hashed(s, mask) for s in _cue_features(parsed)]
    return _groups((("w", words), ("s", senders), ("c", chars), ("x", extras)), config.weights)


def hashed_groups_from_strings(
    groups: dict[str, list[str]], config: FeatureConfig
) -> list[HashedGroup]:
    """`hashed_groups` from `feature_strings` output: the slow, readable reference path."""
    mask = (1 << config.buckets_log2) - 1
    return _groups(
        ((name, [_hashed(s, mask) for s in strings]) for name, strings in groups.items()),
        config.weights,
    )


def _groups(keyed: Iterable[tuple[str, list[int]]], weights: dict[str, float]) -> list[HashedGroup]:
    present = []
    for name, keys in keyed:
        weight = weights.get(name, 0.0)
        if keys and weight:
            counts = Counter(keys)
            norm = math.sqrt(sum(v * v for v in map(_TF.__getitem__, counts.values())))
            present.append((counts, weight, norm))
    combined = math.sqrt(sum(weight * weight for _, weight, _ in present))
    return [HashedGroup(counts, weight / (norm * combined)) for counts, weight, norm in present]


def linear_score(groups: Sequence[HashedGroup], signed_weights: dict[int, float]) -> float:
    """w·x for weights keyed by signed bucket (`b` → w[b], `~b` → -w[b]); loops stay in C."""
    total = 0.0
    for group in groups:
        counts = group.counts
        tf = map(_TF.__getitem__, counts.values())
        total += group.scale * sum(map(mul, tf, map(signed_weights.get, counts, repeat(0.0))))
    return total


def to_vector(groups: Sequence[HashedGroup]) -> dict[int, float]:
    """The feature vector as {bucket: value} (for training; collisions add up)."""
    vector: dict[int, float] = {}
    get = vector.get
    for group in groups:
        for key, count in group.counts.items():
            value = group.scale * _TF[count]
            if key < 0:
                key, value = ~key, -value
            vector[key] = get(key, 0.0) + value
    return vector


def vectorize(turns: Sequence[Turn], config: FeatureConfig) -> dict[int, float]:
    """The hashed feature vector of a conversation, as {bucket: value}."""
    return to_vector(hashed_groups(turns, config))


def signed(weights: dict[int, float]) -> dict[int, float]:
    """Weights keyed by signed bucket, as `linear_score` reads them."""
    out = dict(weights)
    out.update({~bucket: -w for bucket, w in weights.items()})
    return out
