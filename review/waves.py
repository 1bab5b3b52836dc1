"""Near-duplicate grouping: a wave of the same scam, sent to many people, decided at once.

Two items belong together when the judged messages say nearly the same thing once
contact details and numbers are masked (a scammer changes the address, the price, the
name): Jaccard similarity of word 3-shingles at or above `THRESHOLD`. Grouping is
greedy over the queue's first items, in queue order, so a group's first member is the
highest-ranked. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from pipeline.normalise import normalised_text
from pipeline.redact import redact_for_export

THRESHOLD = 0.6
K = TypeVar("K")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"\w+")


def shingles(text: str, size: int = 3) -> frozenset[str]:
    masked = _NUMBER.sub("0", redact_for_export(normalised_text(text)).lower())
    words = _WORD.findall(masked)
    if len(words) < size:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def group(items: Sequence[tuple[K, str]], threshold: float = THRESHOLD) -> list[list[K]]:
    """Groups of two or more near-identical texts, each in the given order."""
    groups: list[tuple[frozenset[str], list[K]]] = []
    for key, text in items:
        mine = shingles(text)
        for head, members in groups:
            if jaccard(head, mine) >= threshold:
                members.append(key)
                break
        else:
            groups.append((mine, [key]))
    return [members for _, members in groups if len(members) > 1]
