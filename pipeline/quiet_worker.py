"""The wake-up worker: an SQS-triggered Lambda handler that judges quiet conversations.

Each SQS record is a `pipeline.quiet.WakeUp`. A wake-up older than the conversation's
newest stored message is dropped (that message's own wake-up is on its way, or it was
risky and judged at once); the others are judged on their newest window by the stream
job's own `ConversationRunner`, so verdict keys, retries and publishing are the stream
job's. Failed judgements are reported as `batchItemFailures` and come back after the
queue's visibility timeout; a malformed body is logged (ids and sizes only) and
dropped, since no retry can mend it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .coalesce import ConversationJob
from .errors import InputError
from .quiet import WakeUp
from .stream.budget import remaining_ms as _remaining_ms
from .stream.observability import logger

if TYPE_CHECKING:
    from .history import HistoryStore
    from .stream.job import ConversationRunner


@dataclass
class WakeUpReport:
    """What one invocation did with its wake-ups (counts and ids only)."""

    judged: int = 0
    dropped_stale: int = 0
    dropped_malformed: int = 0
    failed: list[str] = field(default_factory=list)  # SQS message ids

    @property
    def response(self) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": i} for i in self.failed]}


class QuietWorker:
    """Judges the conversations whose wake-up finds them quiet."""

    def __init__(self, runner: ConversationRunner, history: HistoryStore) -> None:
        self.runner = runner
        self.history = history

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        return self.run(event, context).response

    def run(self, event: Any, context: Any = None) -> WakeUpReport:
        report = WakeUpReport()
        remaining_ms = _remaining_ms(context)
        for record in (event or {}).get("Records", []):
            message_id = str(record.get("messageId", ""))
            try:
                wake = WakeUp.from_body(str(record.get("body", "")))
            except InputError:
                report.dropped_malformed += 1
                logger.warning("wake-up dropped: malformed", extra={"message_id": message_id})
                continue
            if not self._judge(wake, message_id, remaining_ms, report):
                report.failed.append(message_id)
        return report

    def _judge(
        self, wake: WakeUp, message_id: str, remaining_ms: Any, report: WakeUpReport
    ) -> bool:
        try:
            window = self.history.latest(wake.conversation_id, self.runner.window)
        except Exception as exc:  # the store is down: try again later
            logger.warning("wake-up failed", extra={"error": type(exc).__name__})
            return False
        newest = window.messages[-1].timestamp if window.messages else None
        if newest is None or wake.is_stale(newest):
            report.dropped_stale += 1
            return True
        job = ConversationJob(
            conversation_id=wake.conversation_id,
            messages=tuple(window.messages),
            item_ids=(message_id,),
        )
        outcome = self.runner(job, remaining_ms, None)
        report.judged += outcome.ok
        return outcome.ok


def worker_from_settings() -> QuietWorker:
    """The deployed worker: the stream job's runner and history, from `PARLEY_*`."""
    from .settings import get_settings
    from .stream.build import handler_from_settings

    handler = handler_from_settings(get_settings())
    return QuietWorker(handler.runner, handler.history)


class _LazyWorker:
    """Built on the first call, kept for the container's life."""

    def __init__(self) -> None:
        self._worker: QuietWorker | None = None

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        if self._worker is None:
            self._worker = worker_from_settings()
        return self._worker(event, context)


lambda_handler = _LazyWorker()
