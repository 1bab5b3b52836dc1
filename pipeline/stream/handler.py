"""The stream job's handler: one invocation, parsed and planned, then judged concurrently.

The whole batch is parsed and planned first (pure: `records`, `coalesce`), the
conversations are then judged concurrently (`job.ConversationRunner`), and
Powertools' `BatchProcessor` reports the records of failed conversations as
`batchItemFailures`. An EventBridge Pipe array (Step Functions input) gets
`{"verdicts", "failures", "skipped"}` back.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal

from ..coalesce import plan_batch
from ..records import ParsedRecord, parse_pipe_items, parse_stream_event
from .budget import remaining_ms as _remaining_ms
from .job import ConversationRunner
from .judge import RETRY_ATTEMPTS, WindowJudge
from .observability import emit, logger, metrics
from .partial import partial_response
from .report import BatchReport, JobOutcome

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools import Metrics

    from ..coalesce import ConversationJob
    from ..history import HistoryStore
    from ..models import ChatModel
    from ..prompts import PromptTemplate
    from ..quiet import QuietPolicy
    from ..risk import RiskStore
    from ..settings import Settings
    from ..sinks import VerdictPublisher


class StreamHandler:
    """The stream job with everything injected; call it like a Lambda handler."""

    def __init__(
        self,
        *,
        model: ChatModel,
        template: PromptTemplate,
        history: HistoryStore,
        publisher: VerdictPublisher,
        settings: Settings,
        shadow_template: PromptTemplate | None = None,
        metrics: Metrics | None = metrics,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        retry_attempts: int = RETRY_ATTEMPTS,
        retry_base_s: float = 0.25,
        risk: RiskStore | None = None,
        quiet: QuietPolicy | None = None,
    ) -> None:
        self.model = model
        self.quiet = quiet  # None: every conversation judged in its batch
        self.template = template
        self.shadow_template = shadow_template
        self.history = history
        self.publisher = publisher
        self.settings = settings
        self.metrics = metrics
        self.judge = WindowJudge(
            model=model,
            publisher=publisher,
            settings=settings,
            sleep=sleep,
            rng=rng,
            retry_attempts=retry_attempts,
            retry_base_s=retry_base_s,
        )
        # The judge's parts, read by tests and the SnapStart restore check.
        self.pacer, self.rng = self.judge.pacer, self.judge.rng
        self.runner = ConversationRunner(
            judge=self.judge,
            history=history,
            template=template,
            shadow_template=shadow_template,
            settings=settings,
            risk=risk,
        )
        self.risk = risk

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        """Lambda entry point: a DynamoDB Streams event or an EventBridge Pipe array."""
        return self.run(event, context).response

    def run(self, event: Any, context: Any = None) -> BatchReport:
        """Handle one invocation and return the full report (the CLI prints it)."""
        remaining_ms = _remaining_ms(context)
        if isinstance(event, list):
            records = parse_pipe_items(event)
            report = self._judge_batch("pipe", records, remaining_ms, context)
            report.response = report.pipe_response()
        else:
            records = parse_stream_event(event)
            report = self._judge_batch("stream", records, remaining_ms, context)
            report.response = partial_response(event, report, context)
        emit(report, self.metrics)
        return report

    def _judge_batch(
        self,
        source: Literal["stream", "pipe"],
        records: list[ParsedRecord],
        remaining_ms: Callable[[], float],
        context: Any,
    ) -> BatchReport:
        plan = plan_batch(records)
        for skipped in plan.skipped:
            logger.info(
                "record skipped",
                extra={
                    "reason": str(skipped.skip),
                    "event_id": skipped.event_id,
                    "item_id": skipped.item_id,
                    "conversation_id": skipped.conversation_id,
                },
            )
        correlation_id = plan.correlation_id or getattr(context, "aws_request_id", None)
        jobs, outcomes = self._defer_quiet(list(plan.jobs))
        if jobs:
            workers = min(self.settings.max_concurrency, len(jobs))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge") as pool:
                outcomes += list(
                    pool.map(lambda job: self.runner(job, remaining_ms, correlation_id), jobs)
                )
        return BatchReport(source=source, records=records, plan=plan, outcomes=outcomes)

    def _defer_quiet(
        self, jobs: list[ConversationJob]
    ) -> tuple[list[ConversationJob], list[JobOutcome]]:
        """The jobs to judge now, and the outcomes of those left to a wake-up (pipeline.quiet)."""
        if self.quiet is None or not jobs:
            return jobs, []
        now, deferred, unsent = self.quiet.split(jobs)
        outcomes = [JobOutcome(j.conversation_id, j.item_ids, status="deferred") for j in deferred]
        for job in unsent:  # failed: the stream redelivers them
            outcomes.append(
                JobOutcome(job.conversation_id, job.item_ids, error="WakeUpNotSent", retryable=True)
            )
        return now, outcomes
