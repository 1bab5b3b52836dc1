"""Coalescing: one judgement per conversation per batch, at its newest message.

Pure functions over parsed records. A batch's usable records are grouped by
conversation; each group becomes one `ConversationJob` whose verdict (at the newest
message) covers every record of the group. A job with more new messages than the
prompt's window is judged at a few checkpoints instead (`plan_checkpoints`), so that
older new messages are shown to the model too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .conversation import Conversation, Message

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from datetime import datetime

    from .records import ParsedRecord, SkipReason


@dataclass(frozen=True)
class ConversationJob:
    """The new messages of one conversation in a batch, and the records they came from."""

    conversation_id: str
    messages: tuple[Message, ...]  # chronological
    item_ids: tuple[str, ...]  # every record this job's verdict covers
    event_ids: tuple[str, ...] = ()
    # Timestamps of messages whose text a MODIFY changed: judged again, in context.
    edited: frozenset[datetime] = frozenset()

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
                edited=frozenset(r.message.timestamp for r in group if r.edited and r.message),
            )
        )
    return BatchPlan(jobs=tuple(jobs), skipped=tuple(skipped), records=len(records))


def merge_window(stored: Conversation, new: Sequence[Message], limit: int) -> Conversation:
    """The newest `limit` messages of the store's window plus the batch's messages.

    The store may lag behind the stream (or be another table): the batch's messages are
    merged in, so the newest message is always part of what is judged. Messages share
    the table's key (conversation, timestamp); on a clash the batch's image wins.
    """
    return _merged(stored, new).window(limit)


@dataclass(frozen=True)
class Checkpoints:
    """Where to judge one conversation of a batch: windows oldest first, the newest last."""

    windows: tuple[Conversation, ...]
    unseen: int = 0  # new messages older than every window: not shown to the model


def plan_checkpoints(
    stored: Conversation,
    new: Sequence[Message],
    window: int,
    max_judgements: int,
    fit: Callable[[Conversation], Conversation] | None = None,
) -> Checkpoints:
    """The windows to judge so that every new message is shown once, at most `max_judgements`.

    The first checkpoint is the newest message, on what `merge_window` gives (so a store
    ahead of the stream still puts it at the newest stored message). Each next one, going
    back, is the newest new message that the windows so far do not show, judged on the
    `window` messages up to it: the windows tile the new messages without gaps, `window`
    apart when every message is new. `fit` is what the prompt keeps of a window (its
    token budget may keep fewer, newest first): tiling by what is shown keeps long
    messages from opening gaps. A flood past `max_judgements` windows leaves its oldest
    new messages unseen, counted in `unseen`.
    """
    timeline = _merged(stored, new).messages
    is_new = {m.timestamp for m in new}
    windows: list[Conversation] = []
    end = len(timeline)  # the next window ends just before this index
    while end and len(windows) < max_judgements:
        shown = Conversation(id=stored.id, messages=timeline[max(0, end - window) : end])
        if fit is not None:
            shown = fit(shown)
        windows.append(shown)
        end -= max(1, len(shown.messages))
        while end and timeline[end - 1].timestamp not in is_new:
            end -= 1  # stored context older than the window needs no checkpoint of its own
    unseen = sum(1 for m in timeline[:end] if m.timestamp in is_new)
    return Checkpoints(windows=tuple(reversed(windows)), unseen=unseen)


def oldest_edit_outside(stored: Conversation, job: ConversationJob) -> datetime | None:
    """The oldest edited message older than every stored one: its context must be read.

    `stored` holds the newest messages only; an edit further back is judged on the
    messages up to it, which the caller reads with `latest(..., until=...)`.
    """
    if not job.edited or not stored.messages:
        return None
    oldest = min(job.edited)
    return oldest if oldest < stored.messages[0].timestamp else None


def with_context(stored: Conversation, older: Conversation) -> Conversation:
    """The stored window extended back with older messages (stored ones win a clash)."""
    return _merged(older.model_copy(update={"id": stored.id}), stored.messages)


def failed_items(plan: BatchPlan, failed_conversations: Iterable[str]) -> list[str]:
    """Item ids of every record whose conversation failed (the records to redeliver)."""
    failed = set(failed_conversations)
    return [item for job in plan.jobs if job.conversation_id in failed for item in job.item_ids]


def _merged(stored: Conversation, new: Sequence[Message]) -> Conversation:
    by_stamp = {m.timestamp: m for m in stored.messages}
    by_stamp.update({m.timestamp: m for m in new})
    return Conversation(id=stored.id, messages=tuple(by_stamp.values()))


def _unique_by_timestamp(messages: Iterable[Message]) -> tuple[Message, ...]:
    # A redelivered or duplicated record repeats a key: keep its last image.
    by_stamp: dict[object, Message] = {}
    for message in messages:
        by_stamp[message.timestamp] = message
    return tuple(sorted(by_stamp.values(), key=lambda m: m.timestamp))
