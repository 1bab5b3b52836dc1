"""Double review: a sampled share of decided items goes to a second reviewer, blind to
the first; where the two disagree, a senior reviewer decides.

Which items: a keyed hash of the verdict key below `rate` (stable, unpredictable to
reviewers), and every gold item. Who: anyone but the first reviewer; the second
reviewer's page shows neither the first decision nor the item's history. Disagreements
(one said scam, the other not, or one could not tell) go to the senior queue, open to
the reviewers named as seniors; the senior's decision is final and enforced. Pure
functions over decisions; the service reads them from the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.sinks import VerdictKey

if TYPE_CHECKING:
    from .decisions import Decision


@dataclass(frozen=True)
class Task:
    """An item waiting for a second or a senior decision."""

    key: VerdictKey
    first: Decision
    second: Decision | None = None


def sampled(secret: bytes, key: VerdictKey, rate: float) -> bool:
    digest = hashlib.blake2b(
        f"double\n{key.pk}\n{key.sk}".encode(), key=secret[:64], digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def _by_role(decisions: Iterable[Decision]) -> dict[str, dict[VerdictKey, Decision]]:
    found: dict[str, dict[VerdictKey, Decision]] = {"first": {}, "second": {}, "senior": {}}
    for d in decisions:
        if d.undone_at is None:
            found[d.role][d.verdict_key] = d
    return found


def second_queue(
    decisions: Iterable[Decision],
    reviewer: str,
    *,
    secret: bytes,
    rate: float,
    gold: frozenset[str] | set[str] = frozenset(),
) -> list[Task]:
    """Items to review a second time, oldest decision first; never one's own."""
    roles = _by_role(decisions)
    tasks = [
        Task(key, first)
        for key, first in roles["first"].items()
        if key not in roles["second"]
        and first.reviewer != reviewer
        and (key.pk in gold or sampled(secret, key, rate))
    ]
    return sorted(tasks, key=lambda t: t.first.decided_at)


def needs_second(
    key: VerdictKey, *, secret: bytes, rate: float, gold: set[str] | frozenset[str]
) -> bool:
    return key.pk in gold or sampled(secret, key, rate)


def senior_queue(decisions: Iterable[Decision]) -> list[Task]:
    """Pairs that disagree and have no senior decision yet, oldest first."""
    roles = _by_role(decisions)
    tasks = [
        Task(key, first, roles["second"][key])
        for key, first in roles["first"].items()
        if key in roles["second"]
        and roles["second"][key].label != first.label
        and key not in roles["senior"]
    ]
    return sorted(tasks, key=lambda t: t.second.decided_at if t.second else t.first.decided_at)


def overturns(decisions: Iterable[Decision]) -> list[tuple[Decision, Decision]]:
    """(first, senior) where the senior decided otherwise than the first reviewer."""
    roles = _by_role(decisions)
    return [
        (roles["first"][key], senior)
        for key, senior in roles["senior"].items()
        if key in roles["first"] and roles["first"][key].label != senior.label
    ]
