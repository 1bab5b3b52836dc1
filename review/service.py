"""What the review app does, apart from HTTP: queue, open, decide, undo, figures.

Stores, the event sink, the metrics and the clock are passed in, so tests and the
benchmark run the same code as `parley review serve` and the Lambda function.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.sinks import StoredVerdict, VerdictKey
from pipeline.verdict import Category, Verdict

from .decisions import (
    AlreadyDecided,
    Decision,
    DecisionStore,
    HeldByAnother,
    Label,
    ReviewConflict,
    lease_expiry,
)
from .events import DecisionMetrics, announce
from .items import ItemView, load_item, window_size
from .quality import agreement_figures, shadow_figures
from .queue import QueueFilter, QueueItem, QueuePage, kind_of

if TYPE_CHECKING:
    from pipeline.history import HistoryStore
    from pipeline.sinks import EventSink

logger = logging.getLogger("parley.review")


class VerdictQueue(Protocol):
    def page(
        self,
        filters: QueueFilter,
        reviewer: str,
        now: datetime,
        *,
        offset: int = 0,
        limit: int = 50,
        after: str | None = None,
    ) -> QueuePage: ...

    def verdict(self, key: VerdictKey) -> StoredVerdict | None: ...

    def shadows_of(self, key: VerdictKey) -> list[Verdict]: ...

    def pairs(self) -> list[tuple[Verdict, Verdict]]: ...


@dataclass
class ReviewService:
    queue: VerdictQueue
    decisions: DecisionStore
    history: HistoryStore
    events: EventSink | None = None
    metrics: DecisionMetrics | None = None
    window_of: Callable[[str], int | None] = lambda _: None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def page(
        self,
        filters: QueueFilter,
        reviewer: str,
        *,
        offset: int = 0,
        limit: int = 50,
        after: str | None = None,
    ) -> QueuePage:
        return self.queue.page(
            filters, reviewer, self.clock(), offset=offset, limit=limit, after=after
        )

    def at(self, filters: QueueFilter, reviewer: str, position: int) -> QueueItem | None:
        """The queue item at a position (for next and previous), if any."""
        if position < 0:
            return None
        items = self.page(filters, reviewer, offset=position, limit=1).items
        return items[0] if items else None

    def open(self, key: VerdictKey, reviewer: str) -> ItemView:
        """The item with its window. Opening takes no lease: reading is not deciding."""
        stored = self.queue.verdict(key)
        if stored is None or stored.shadow:
            raise ReviewConflict("no such verdict")
        window = window_size(stored.verdict.prompt, self.window_of)
        item = load_item(
            stored,
            self.history,
            self.decisions,
            shadows=self.queue.shadows_of(key),
            window=window,
            lease=self.decisions.lease_of(key, self.clock()),
        )
        logger.info(
            "item opened",
            extra={"conversation_id": key.pk, "messages": len(item.window.messages)},
        )
        return item

    def lease(self, key: VerdictKey, reviewer: str) -> datetime:
        """Take or renew the lease while the reviewer decides; returns its expiry."""
        current = self.decisions.active(key)
        if current is not None:
            raise AlreadyDecided(current)
        now = self.clock()
        if not self.decisions.acquire(key, reviewer, now):
            raise HeldByAnother
        return lease_expiry(now, self.decisions.lease_seconds)

    def release(self, key: VerdictKey, reviewer: str) -> None:
        """The reviewer left the item undecided: others may take it at once."""
        self.decisions.release(key, reviewer)

    def decide(
        self,
        key: VerdictKey,
        reviewer: str,
        label: Label,
        categories: list[str],
        note: str = "",
    ) -> Decision:
        stored = self.queue.verdict(key)
        if stored is None or stored.shadow:
            raise ReviewConflict("no such verdict")
        known = {c.value for c in Category}
        decision = Decision(
            pk=key.pk,
            sk=key.sk,
            reviewer=reviewer,
            decided_at=self.clock(),
            label=label,
            categories=tuple(Category(c) for c in categories if c in known),
            note=note,
            verdict_kind=kind_of(stored.verdict),
            prompt=stored.verdict.prompt,
            model_id=stored.verdict.model_id,
        )
        self.decisions.record(decision)
        logger.info(
            "decision stored",
            extra={"conversation_id": key.pk, "label": label, "note_chars": len(note)},
        )
        announce(decision, self.events)
        if self.metrics is not None:
            self.metrics.record(decision)
        return decision

    def undo(self, key: VerdictKey, decision_id: str, reviewer: str) -> Decision:
        undone = self.decisions.undo(key, decision_id, reviewer, self.clock())
        announce(undone, self.events, withdrawn=True)
        logger.info("decision withdrawn", extra={"conversation_id": key.pk})
        return undone

    def decisions_of(self, reviewer: str, limit: int = 100) -> list[Decision]:
        """A reviewer's own decisions, newest first, withdrawn ones included."""
        mine = [d for d in self.decisions.all_decisions() if d.reviewer == reviewer]
        return mine[::-1][:limit]

    def figures(self) -> dict[str, Any]:
        decisions = list(self.decisions.all_active())
        decided = {(d.pk, d.sk): d for d in decisions}
        return {
            "generated_at": self.clock().isoformat(),
            "decisions": len(decisions),
            "agreement": agreement_figures(decisions),
            "shadow": shadow_figures(self.queue.pairs(), decided),
        }
