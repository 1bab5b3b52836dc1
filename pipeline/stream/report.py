"""What one invocation did: each conversation's outcome and the batch report built on them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..retry import RetryStats

if TYPE_CHECKING:
    from ..coalesce import BatchPlan
    from ..records import ParsedRecord, SkipReason
    from ..verdict import Verdict

# "deferred": left to a wake-up after a quiet period (pipeline.quiet); its records are done.
Status = Literal["judged", "already_done", "failed", "not_started", "deferred"]


@dataclass
class JobOutcome:
    """What happened to one conversation of a batch (ids, counts and codes only)."""

    conversation_id: str
    item_ids: tuple[str, ...]
    status: Status = "failed"
    verdict: Verdict | None = None
    duplicate: bool = False
    published: bool = False
    error: str | None = None
    retryable: bool = False
    stats: RetryStats = field(default_factory=RetryStats)
    shadow_status: Literal["none", "judged", "already_done", "failed"] = "none"
    shadow_verdict: Verdict | None = None
    shadow_stats: RetryStats = field(default_factory=RetryStats)
    # A flood past the window: the checkpoints before the newest, oldest first, each
    # verdict with whether this run wrote it (`verdict` is always the newest checkpoint's).
    earlier: list[tuple[Verdict, bool]] = field(default_factory=list)
    unseen: int = 0  # new messages past every checkpoint: never shown to the model

    @property
    def ok(self) -> bool:
        return self.status in ("judged", "already_done", "deferred")


@dataclass
class BatchReport:
    """The outcome of one invocation, for the response, the metrics, the logs and the CLI."""

    source: Literal["stream", "pipe"]
    records: list[ParsedRecord]
    plan: BatchPlan
    outcomes: list[JobOutcome]
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped(self) -> Counter[SkipReason]:
        return self.plan.skipped_by_reason

    @property
    def failed_item_ids(self) -> list[str]:
        return [item for o in self.outcomes if not o.ok for item in o.item_ids]

    @property
    def verdicts(self) -> list[Verdict]:
        """The primary verdict of every conversation that ended well (new or already stored)."""
        return [o.verdict for o in self.outcomes if o.ok and o.verdict is not None]

    @property
    def new_verdicts(self) -> list[Verdict]:
        """Every verdict this run wrote, earlier checkpoints included: what was published."""
        return [
            *(v for o in self.outcomes for v, new in o.earlier if new),
            *(
                o.verdict
                for o in self.outcomes
                if o.status == "judged" and not o.duplicate and o.verdict
            ),
        ]

    def counts(self) -> dict[str, int]:
        """Metric name → value for this batch."""
        new_types = Counter(v.event_type.rsplit(".", 1)[-1] for v in self.new_verdicts)
        stats = [o.stats for o in self.outcomes] + [o.shadow_stats for o in self.outcomes]
        return {
            "RecordsReceived": len(self.records),
            "RecordsProcessed": sum(len(o.item_ids) for o in self.outcomes if o.ok),
            "RecordsSkipped": len(self.plan.skipped),
            "ModelCalls": sum(s.calls for s in stats),
            "ModelThrottles": sum(s.throttles for s in stats),
            "ModelRetries": sum(s.retries for s in stats),
            "VerdictsFlagged": new_types["flagged"],
            "VerdictsCleared": new_types["cleared"],
            "VerdictsHeld": new_types["held"],  # clean windows under a standing flag
            "VerdictsUndetermined": new_types["undetermined"],
            "BatchItemFailures": len(self.failed_item_ids),
            "ShadowVerdicts": sum(1 for o in self.outcomes if o.shadow_status == "judged"),
            "ShadowFailures": sum(1 for o in self.outcomes if o.shadow_status == "failed"),
            "MessagesUnseen": sum(o.unseen for o in self.outcomes),
        }

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly summary: counts by kind, no text."""
        by_type = Counter(v.event_type.rsplit(".", 1)[-1] for v in self.verdicts)
        return {
            "source": self.source,
            "records": len(self.records),
            "skipped": {reason.value: n for reason, n in sorted(self.skipped.items())},
            "conversations": len(self.plan.jobs),
            "verdicts": dict(sorted(by_type.items())),
            "new_verdicts": len(self.new_verdicts),
            "already_done": sum(1 for o in self.outcomes if o.status == "already_done"),
            "failed_conversations": sorted(o.conversation_id for o in self.outcomes if not o.ok),
            "failed_records": len(self.failed_item_ids),
            "model_calls": self.counts()["ModelCalls"],
            "shadow_verdicts": self.counts()["ShadowVerdicts"],
            "messages_unseen": self.counts()["MessagesUnseen"],
        }

    def pipe_response(self) -> dict[str, Any]:
        """Step Functions has no batchItemFailures: list verdicts and failed items instead."""
        failed = {o.conversation_id: o for o in self.outcomes if not o.ok}
        # Earlier checkpoints first: a conversation's last verdict is its current one.
        verdicts = [v for o in self.outcomes if o.ok for v, _ in o.earlier] + self.verdicts
        return {
            "verdicts": [v.model_dump(mode="json") for v in verdicts],
            "failures": [
                {
                    "index": r.index,
                    "conversation_id": r.message.conversation_id,
                    "error": failed[r.message.conversation_id].error,
                }
                for r in self.records
                if r.message is not None and r.message.conversation_id in failed
            ],
            "skipped": [{"index": r.index, "reason": str(r.skip)} for r in self.plan.skipped],
        }
