"""The wake-up worker: an SQS-triggered Lambda handler that judges quiet conversations.

Each SQS record is a `pipeline.quiet.WakeUp`. A wake-up older than the conversation's
newest stored message is dropped (that message's own wake-up is on its way, or it was
risky and judged at once); the others are judged on their newest window by the stream
job's own `ConversationRunner`, so verdict keys, retries and publishing are the stream
job's. Failed judgements are reported as `batchItemFailures` and come back after the
queue's visibility timeout; a malformed body is logged (ids and sizes only) and
dropped, since no retry can mend it.

With a group template (`pipeline.group`), the quiet conversations of one invocation are
judged together: the cascade's local tier first, each alone; those it leaves to the
second model go to it up to ten in one call, the rules paid once. A conversation the
group answer leaves out is judged alone.
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
    from .conversation import Conversation
    from .history import HistoryStore
    from .prompts import PromptTemplate
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

    def __init__(
        self,
        runner: ConversationRunner,
        history: HistoryStore,
        group_template: PromptTemplate | None = None,
    ) -> None:
        self.runner = runner
        self.history = history
        self.group_template = group_template

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        return self.run(event, context).response

    def run(self, event: Any, context: Any = None) -> WakeUpReport:
        report = WakeUpReport()
        remaining_ms = _remaining_ms(context)
        quiet: list[tuple[str, Conversation]] = []
        for record in (event or {}).get("Records", []):
            message_id = str(record.get("messageId", ""))
            try:
                wake = WakeUp.from_body(str(record.get("body", "")))
            except InputError:
                report.dropped_malformed += 1
                logger.warning("wake-up dropped: malformed", extra={"message_id": message_id})
                continue
            try:
                window = self.history.latest(wake.conversation_id, self.runner.window)
            except Exception as exc:  # the store is down: try again later
                logger.warning("wake-up failed", extra={"error": type(exc).__name__})
                report.failed.append(message_id)
                continue
            newest = window.messages[-1].timestamp if window.messages else None
            if newest is None or wake.is_stale(newest):
                report.dropped_stale += 1
            else:
                quiet.append((message_id, window))
        if self.group_template is not None and quiet:
            quiet = self._judge_group(quiet, remaining_ms, report)
        for message_id, window in quiet:
            if not self._judge(window, message_id, remaining_ms, report):
                report.failed.append(message_id)
        return report

    def _judge_group(
        self, quiet: list[tuple[str, Conversation]], remaining_ms: Any, report: WakeUpReport
    ) -> list[tuple[str, Conversation]]:
        """Judge what it can together; returns the conversations left to judge alone."""
        from .group import MAX_GROUP, judge_group
        from .models.cascade import CascadeModel
        from .moderation import build_verdict
        from .sinks import verdict_key

        assert self.group_template is not None
        judge = self.runner.judge
        model = judge.model
        ref = self.group_template.meta.ref
        todo: list[tuple[str, Conversation]] = []
        refs = (ref, self.runner.template.meta.ref)  # judged in a group, or alone
        for message_id, window in quiet:
            keys = [
                verdict_key(window.id, window.last.timestamp, r, digest=window.digest())
                for r in refs
            ]
            existing = next((s for k in keys if (s := judge.publisher.lookup(k))), None)
            if existing is not None:  # a repeated wake-up: no second model call
                judge.publisher.complete(existing)
                report.judged += 1
                continue
            if isinstance(model, CascadeModel):
                prompt = self.group_template.render_conversation(window, ref="local")
                local = model.first_decides(prompt)
                if local is not None:
                    verdict = build_verdict(window, prompt, local, local.latency_ms)
                    judge.publisher.deliver(verdict.model_copy(update={"prompt": ref}))
                    report.judged += 1
                    continue
            todo.append((message_id, window))
        remote = model.second if isinstance(model, CascadeModel) else model
        alone: list[tuple[str, Conversation]] = []
        for start in range(0, len(todo), MAX_GROUP):
            chunk = todo[start : start + MAX_GROUP]
            if len(chunk) == 1:
                alone += chunk
                continue
            try:
                verdicts = judge_group([w for _, w in chunk], self.group_template, remote)
            except Exception as exc:  # judged alone instead, with the runner's retries
                logger.warning("group call failed", extra={"error": type(exc).__name__})
                alone += chunk
                continue
            for message_id, window in chunk:
                grouped = verdicts.get(window.id)
                if grouped is None:
                    alone.append((message_id, window))
                    continue
                judge.publisher.deliver(grouped)
                report.judged += 1
        return alone

    def _judge(
        self, window: Conversation, message_id: str, remaining_ms: Any, report: WakeUpReport
    ) -> bool:
        job = ConversationJob(
            conversation_id=window.id,
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

    settings = get_settings()
    handler = handler_from_settings(settings)
    group = None
    if settings.quiet_group_prompt:
        from .prompts import open_prompt_store

        group = open_prompt_store(settings.prompts).get(settings.quiet_group_prompt)
    return QuietWorker(handler.runner, handler.history, group)


class _LazyWorker:
    """Built on the first call, kept for the container's life."""

    def __init__(self) -> None:
        self._worker: QuietWorker | None = None

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        if self._worker is None:
            self._worker = worker_from_settings()
        return self._worker(event, context)


lambda_handler = _LazyWorker()
