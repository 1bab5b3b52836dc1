"""Coalescing: one judgement per conversation per batch, at its newest message.

Pure functions over parsed records. A batch's usable records are grouped by
conversation; each group becomes one `ConversationJob` whose verdict (at the newest
message) covers every record of the group.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .conversation import Conversation, Message

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from .records import ParsedRecord, SkipReason


@dataclass(frozen=True)
class ConversationJob:
    """The new messages of one conversation in a batch, and the records they came from."""

    conversation_id: str
    messages: tuple[Message, ...]  # chronological
    item_ids: tuple[str, ...]  # every record this job's verdict covers
    event_ids: tuple[str, ...] = ()

    @property
    def newest(self) -> Message:
        return self.messages[-1]


@dataclass(frozen=True)
class BatchPlan:
    """What to do with a batch: the jobs, in order of first appearance, and the skips."""

    jobs: tuple[ConversationJob, ...]
    skipped: tuple[ParsedRecord, ...]
    records: int

    @property
    def skipped_by_reason(self) -> Counter[SkipReason]:
        return Counter(r.skip for r in self.skipped if r.skip is not None)

    @property
    def correlation_id(self) -> str | None:
        """The batch's first event id: ties a verdict event to the batch that caused it."""
        for job in self.jobs:
            if job.event_ids:
                return job.event_ids[0]
        return next((r.event_id for r in self.skipped if r.event_id), None)


def plan_batch(records: Sequence[ParsedRecord]) -> BatchPlan:
    """Group usable records by conversation; everything else is a skip."""
    groups: dict[str, list[ParsedRecord]] = {}
    skipped = []
    for record in records:
        if record.message is None:
            skipped.append(record)
        else:
            groups.setdefault(record.message.conversation_id, []).append(record)
    jobs = []
    for conversation_id, group in groups.items():
        ordered = sorted(group, key=lambda r: (r.message.timestamp, r.index))  # type: ignore[union-attr]
        jobs.append(
            ConversationJob(
                conversation_id=conversation_id,
                messages=_unique_by_timestamp(r.message for r in ordered if r.message),
                item_ids=tuple(r.item_id for r in group),
                event_ids=tuple(r.event_id for r in group if r.event_id),
            )
        )
    return BatchPlan(jobs=tuple(jobs), skipped=tuple(skipped), records=len(records))


def merge_window(stored: Conversation, new: Sequence[Message], limit: int) -> Conversation:
    """The newest `limit` messages of the store's window plus the batch's messages.

    The store may lag behind the stream (or be another table): the batch's messages are
    merged in, so the newest message is always part of what is judged. Messages share
    the table's key (conversation, timestamp); on a clash the batch's image wins.
    """
    by_stamp = {m.timestamp: m for m in stored.messages}
    by_stamp.update({m.timestamp: m for m in new})
    merged = Conversation(id=stored.id, messages=tuple(by_stamp.values()))
    return merged.window(limit)


def failed_items(plan: BatchPlan, failed_conversations: Iterable[str]) -> list[str]:
    """Item ids of every record whose conversation failed (the records to redeliver)."""
    failed = set(failed_conversations)
    return [item for job in plan.jobs if job.conversation_id in failed for item in job.item_ids]


def _unique_by_timestamp(messages: Iterable[Message]) -> tuple[Message, ...]:
    # A redelivered or duplicated record repeats a key: keep its last image.
    by_stamp: dict[object, Message] = {}
    for message in messages:
        by_stamp[message.timestamp] = message
    return tuple(sorted(by_stamp.values(), key=lambda m: m.timestamp))
