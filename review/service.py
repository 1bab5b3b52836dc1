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

from pipeline.risk import record_review, withdraw_review
from pipeline.sinks import StoredVerdict, VerdictKey
from pipeline.verdict import Category, Verdict

from .agreement import double_review_figures
from .decisions import (
    AlreadyDecided,
    Decision,
    DecisionStore,
    HeldByAnother,
    Label,
    ReviewConflict,
    Role,
    lease_expiry,
    role_key,
)
from .double import Task, overturns, second_queue, senior_queue
from .events import DecisionMetrics, announce
from .gold import gold_accuracy
from .items import ItemView, load_item, window_size
from .policy import check_reason, default_reason, enforce
from .quality import agreement_figures, shadow_figures
from .queue import QueueFilter, QueueItem, QueuePage, kind_of
from .queues import queue_ages
from .team import TeamConfig

if TYPE_CHECKING:
    from pipeline.history import HistoryStore
    from pipeline.risk import RiskStore
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

    def backlog(self, filters: QueueFilter) -> tuple[int, datetime | None]: ...


@dataclass
class ReviewService:
    queue: VerdictQueue
    decisions: DecisionStore
    history: HistoryStore
    events: EventSink | None = None
    metrics: DecisionMetrics | None = None
    window_of: Callable[[str], int | None] = lambda _: None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    team: TeamConfig = field(default_factory=TeamConfig)
    # Conversations' risk states (pipeline.risk): a decision is what lowers a flag.
    risk: RiskStore | None = None

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
        *,
        reason: str = "",
        role: Role = "first",
    ) -> Decision:
        stored = self.queue.verdict(key)
        if stored is None or stored.shadow:
            raise ReviewConflict("no such verdict")
        known = {c.value for c in Category}
        chosen = [c for c in categories if c in known]
        code = check_reason(reason, label) if reason else default_reason(label, chosen).code
        if role != "first":
            self._may_decide(key, reviewer, role)
        stored_at = role_key(key, role)
        decision = Decision(
            pk=stored_at.pk,
            sk=stored_at.sk,
            reason=code,
            reviewer=reviewer,
            decided_at=self.clock(),
            label=label,
            categories=tuple(Category(c) for c in chosen),
            note=note,
            verdict_kind=kind_of(stored.verdict),
            prompt=stored.verdict.prompt,
            model_id=stored.verdict.model_id,
        )
        self.decisions.record(decision)
        moves_risk = role != "second"  # a second review measures agreement, nothing more
        if (
            self.risk is not None
            and moves_risk
            and (label == "scam" or decision.verdict_kind == "flagged")
        ):
            # A scam is confirmed from any verdict; only a flagged one's review lifts a flag.
            at = stored.verdict.last_message_at
            record_review(self.risk, key.pk, label, decision.decided_at, at)
        logger.info(
            "decision stored",
            extra={"conversation_id": key.pk, "label": label, "note_chars": len(note)},
        )
        announce(decision, self.events)
        enforce(decision, self.events)
        if self.metrics is not None and role == "first":
            self.metrics.record(decision)
        return decision

    def _may_decide(self, key: VerdictKey, reviewer: str, role: Role) -> None:
        """A second review: sampled, decided once already, by someone else. A senior
        decision: by a senior, on a pair that disagrees."""
        every = self.decisions.for_conversation(key.pk)
        if role == "second":
            waiting = second_queue(
                every,
                reviewer,
                secret=self.team.secret,
                rate=self.team.double_rate,
                gold=self.team.gold_ids,
            )
        else:
            if reviewer not in self.team.seniors:
                raise ReviewConflict("only a senior reviewer decides disagreements")
            waiting = senior_queue(every)
        if key not in {t.key for t in waiting}:
            raise ReviewConflict(f"this item is not waiting for a {role} review by you")

    def undo(self, key: VerdictKey, decision_id: str, reviewer: str) -> Decision:
        undone = self.decisions.undo(key, decision_id, reviewer, self.clock())
        if self.risk is not None and undone.verdict_kind == "flagged" and undone.role != "second":
            withdraw_review(self.risk, key.pk, self.clock())
        announce(undone, self.events, withdrawn=True)
        enforce(undone, self.events, withdrawn=True)
        logger.info("decision withdrawn", extra={"conversation_id": key.pk})
        return undone

    def decisions_of(self, reviewer: str, limit: int = 100) -> list[Decision]:
        """A reviewer's own decisions, newest first, withdrawn ones included."""
        mine = [d for d in self.decisions.all_decisions() if d.reviewer == reviewer]
        return mine[::-1][:limit]

    def second_tasks(self, reviewer: str) -> list[Task]:
        return second_queue(
            self.decisions.all_decisions(),
            reviewer,
            secret=self.team.secret,
            rate=self.team.double_rate,
            gold=self.team.gold_ids,
        )

    def senior_tasks(self, reviewer: str) -> list[Task]:
        if reviewer not in self.team.seniors:
            return []
        return senior_queue(self.decisions.all_decisions())

    def queue_ages(self) -> list[dict[str, Any]]:
        return queue_ages(self.queue, self.clock(), self.team.max_age_minutes)

    def figures(self) -> dict[str, Any]:
        every = self.decisions.all_decisions()
        active = [d for d in every if d.undone_at is None]
        # The model's quality from the queue's decisions; the team's from the others.
        first = [d for d in active if d.role == "first"]
        decided = {(d.pk, d.sk): d for d in first}
        return {
            "generated_at": self.clock().isoformat(),
            "decisions": len(first),
            "agreement": agreement_figures(first),
            "shadow": shadow_figures(self.queue.pairs(), decided),
            "double_review": double_review_figures(active),
            "gold": gold_accuracy(active, self.team.gold),
            "overturned_by_seniors": len(overturns(active)),
        }
