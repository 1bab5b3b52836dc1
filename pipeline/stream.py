"""Lambda handler of the stream moderation job: DynamoDB Streams batches and Pipe arrays.

The whole batch is parsed and planned first (pure: `records`, `coalesce`), the
conversations are then judged concurrently, each once at its newest message (or at a
few checkpoints, oldest first, when its new messages overflow the prompt's window), and
Powertools' `BatchProcessor` reports the records of failed conversations as
`batchItemFailures`. An EventBridge Pipe array (Step Functions input) gets
`{"verdicts", "failures", "skipped"}` back.

Import cost is kept low: no LangChain, no boto3 client at import. `lambda_handler`
builds its model, stores and clients on the first call and keeps them for the
container's life.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from . import snapstart
from .coalesce import (
    BatchPlan,
    ConversationJob,
    merge_window,
    oldest_edit_outside,
    plan_batch,
    plan_checkpoints,
    with_context,
)
from .errors import ConfigError, ParleyError
from .moderation import assess
from .records import ParsedRecord, SkipReason, parse_pipe_items, parse_stream_event
from .redact import install_redaction
from .retry import Pacer, RetryStats, call_with_retries, is_throttle
from .settings import Settings, get_settings
from .sinks import (
    DynamoVerdictSink,
    EventBridgeSink,
    SqliteVerdictSink,
    StoredVerdict,
    VerdictPublisher,
    verdict_key,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
        DynamoDBRecord,
    )

    from .conversation import Conversation
    from .history import HistoryStore
    from .models import ChatModel
    from .prompts import PromptTemplate
    from .verdict import Verdict

# Logs go to stderr (CloudWatch in Lambda, the terminal's side channel in the CLI).
logger = Logger(service=os.getenv("POWERTOOLS_SERVICE_NAME", "parley"), stream=sys.stderr)
install_redaction(logger)  # belt and braces: these logs carry ids and counts only
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", "parley"))
# Powertools keeps metrics in class-level state: concurrent invocations add and flush in turn.
_METRICS_LOCK = threading.Lock()
# Without a Lambda context (Step Functions tests, CLI), a batch gets Lambda's maximum time.
DEFAULT_BUDGET_MS = 900_000
RETRY_ATTEMPTS = 4

Status = Literal["judged", "already_done", "failed", "not_started"]


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
        return self.status in ("judged", "already_done")


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


class ConversationFailed(ParleyError):
    """Raised in the record handler so that Powertools reports the record as failed."""


class NotFinished(ParleyError):
    """Too little time left for a conversation's next checkpoint: its redelivery finishes
    it (the checkpoints already stored cost no model call then)."""

    code = "NotFinished"
    retryable = True


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
    ) -> None:
        self.model = model
        self.template = template
        self.shadow_template = shadow_template
        self.history = history
        self.publisher = publisher
        self.settings = settings
        self.metrics = metrics
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.retry_base_s = retry_base_s
        # One pacer per container: its calls stay under its share of the quota.
        self.pacer = Pacer(settings.model_rpm) if settings.model_rpm else None
        # Paced calls make one HTTP attempt each (bedrock_retries): the handler retries more.
        self.retry_attempts = (
            max(retry_attempts, settings.max_attempts) if self.pacer else retry_attempts
        )
        windows = [template.meta.history.messages]
        if shadow_template is not None:
            windows.append(shadow_template.meta.history.messages)
        self.window = max(windows)
        from .prompts import fit_budget  # loaded already: the template is one of its objects

        # Checkpoints tile what the primary prompt shows: its window, cut to its budget.
        self._fit = lambda conversation: fit_budget(conversation, template.meta.history)

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
            report.response = self._partial_response(event, report, context)
        self._emit(report)
        return report

    # -- the batch --------------------------------------------------------------------

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
        outcomes: list[JobOutcome] = []
        if plan.jobs:
            workers = min(self.settings.max_concurrency, len(plan.jobs))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge") as pool:
                outcomes = list(
                    pool.map(lambda job: self._judge(job, remaining_ms, correlation_id), plan.jobs)
                )
        return BatchReport(source=source, records=records, plan=plan, outcomes=outcomes)

    def _partial_response(self, event: Any, report: BatchReport, context: Any) -> dict[str, Any]:
        """Let Powertools build `batchItemFailures` from each record's looked-up outcome."""
        raw_records = event.get("Records") if isinstance(event, dict) else None
        if not isinstance(raw_records, list):
            logger.warning("event is neither a stream batch nor a pipe array")
            return {"batchItemFailures": []}
        if not raw_records:
            # Powertools raises UnexpectedBatchTypeError on an empty batch: nothing failed.
            return {"batchItemFailures": []}
        failed_items = set(report.failed_item_ids)
        errors = {item: o.error for o in report.outcomes if not o.ok for item in o.item_ids}
        failing = {
            id(raw): parsed.item_id
            for parsed, raw in zip(report.records, raw_records, strict=True)
            if parsed.item_id in failed_items
        }

        def record_handler(record: DynamoDBRecord) -> None:
            item_id = failing.get(id(record.raw_event))
            if item_id is not None:
                raise ConversationFailed(f"record {item_id}: {errors.get(item_id)}")

        # Retries are what we want when everything failed: return the list, do not raise.
        processor = BatchProcessor(
            event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False
        )
        response = process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
        return dict(response)

    # -- one conversation -------------------------------------------------------------

    def _judge(
        self, job: ConversationJob, remaining_ms: Callable[[], float], correlation_id: str | None
    ) -> JobOutcome:
        outcome = JobOutcome(conversation_id=job.conversation_id, item_ids=job.item_ids)
        if remaining_ms() < self.settings.min_remaining_ms:
            # Too little time to finish safely: leave it to the redelivery.
            outcome.status = "not_started"
            outcome.error = "NotStarted"
            outcome.retryable = True
            return outcome
        try:
            stored = self.history.latest(job.conversation_id, self.window)
            edit_at = oldest_edit_outside(stored, job)
            if edit_at is not None:
                # An edit older than the newest window: judge it on the messages before it.
                older = self.history.latest(job.conversation_id, self.window, until=edit_at)
                stored = with_context(stored, older)
            plan = plan_checkpoints(
                stored,
                job.messages,
                self.template.meta.history.messages,
                self.settings.stream_max_judgements_per_conversation,
                fit=self._fit,
            )
            outcome.unseen = plan.unseen
            if plan.unseen:
                logger.warning(
                    "flood past the checkpoints: oldest new messages not shown to the model",
                    extra={
                        "conversation_id": job.conversation_id,
                        "new_messages": len(job.messages),
                        "checkpoints": len(plan.windows),
                        "unseen": plan.unseen,
                    },
                )
            *earlier, newest = plan.windows
            fresh_earlier = False
            # Oldest first: the newest verdict, the conversation's current one, comes last.
            for window in earlier:
                verdict, duplicate, _, fresh = self._deliver(
                    window, self.template, False, remaining_ms, correlation_id, outcome.stats,
                    edited=job.edited,
                )  # fmt: skip
                outcome.earlier.append((verdict, fresh and not duplicate))
                fresh_earlier = fresh_earlier or fresh
                if remaining_ms() < self.settings.min_remaining_ms:
                    raise NotFinished(f"conversation {job.conversation_id}: out of time")
            outcome.verdict, outcome.duplicate, outcome.published, fresh = self._deliver(
                newest, self.template, False, remaining_ms, correlation_id, outcome.stats,
                edited=job.edited,
            )  # fmt: skip
            outcome.status = "judged" if fresh or fresh_earlier else "already_done"
        except Exception as exc:  # one conversation's failure must not fail the others
            outcome.status = "failed"
            outcome.error = getattr(exc, "code", None) or type(exc).__name__
            outcome.retryable = bool(getattr(exc, "retryable", not isinstance(exc, ParleyError)))
            logger.warning(
                "conversation failed",
                extra={
                    "conversation_id": job.conversation_id,
                    "records": len(job.item_ids),
                    "error": outcome.error,
                    "retryable": outcome.retryable,
                    "throttled": is_throttle(exc),
                    "model_calls": outcome.stats.calls,
                },
            )
            return outcome
        if self.shadow_template is not None:
            # The newest window only, at the larger of the two prompts' sizes: one shadow call.
            self._shadow(outcome, merge_window(stored, job.messages, self.window), remaining_ms)
        return outcome

    def _shadow(
        self, outcome: JobOutcome, window: Conversation, remaining_ms: Callable[[], float]
    ) -> None:
        """The dark read: same conversation, the candidate prompt; stored apart, never published."""
        assert self.shadow_template is not None
        try:
            outcome.shadow_verdict, _, _, fresh = self._deliver(
                window, self.shadow_template, True, remaining_ms, None, outcome.shadow_stats
            )
            outcome.shadow_status = "judged" if fresh else "already_done"
        except Exception as exc:  # a shadow failure never fails the batch
            outcome.shadow_status = "failed"
            logger.warning(
                "shadow verdict failed",
                extra={
                    "conversation_id": outcome.conversation_id,
                    "prompt_ref": self.shadow_template.meta.ref,
                    "error": getattr(exc, "code", None) or type(exc).__name__,
                },
            )

    def _deliver(
        self,
        window: Conversation,
        template: PromptTemplate,
        shadow: bool,
        remaining_ms: Callable[[], float],
        correlation_id: str | None,
        stats: RetryStats,
        edited: frozenset[datetime] = frozenset(),
    ) -> tuple[Verdict, bool, bool, bool]:
        """Judge unless already stored, then deliver: (verdict, duplicate, published, fresh).

        The key ends with the digest of the window's texts: the same texts are judged
        once, whatever the redeliveries; an edited text is judged again.
        """
        digest = window.digest()
        key = verdict_key(
            window.id, window.last.timestamp, template.meta.ref, shadow=shadow, digest=digest
        )
        existing: StoredVerdict | None = self.publisher.lookup(key)
        if existing is not None:
            # A redelivery: no second model call; finish publishing if a crash interrupted it.
            return existing.verdict, True, self.publisher.complete(existing), False
        reserve_ms = self.settings.min_remaining_ms
        verdict = call_with_retries(
            lambda: self._assess(window, template),
            time_left_s=lambda: (remaining_ms() - reserve_ms) / 1000,
            max_attempts=self.retry_attempts,
            base_s=self.retry_base_s,
            sleep=self.sleep,
            rng=self.rng,
            stats=stats,
            backoff_on_throttle=self.pacer is None,
        )
        verdict = verdict.model_copy(
            update={
                "window_digest": digest,
                "edited": any(m.timestamp in edited for m in window.messages),
            }
        )
        delivery = self.publisher.deliver(verdict, shadow=shadow, correlation_id=correlation_id)
        return delivery.stored.verdict, delivery.duplicate, delivery.published, True

    def _assess(self, window: Conversation, template: PromptTemplate) -> Verdict:
        if self.pacer is not None:
            self.pacer.wait()
        return assess(window, template, self.model)

    # -- observability ----------------------------------------------------------------

    def _emit(self, report: BatchReport) -> None:
        counts = report.counts()
        logger.info(
            "batch done",
            extra={
                "source": report.source,
                "conversations": len(report.plan.jobs),
                "skipped": {str(k): v for k, v in report.skipped.items()},
                **counts,
            },
        )
        if self.metrics is None:
            return
        with _METRICS_LOCK:
            for name, value in counts.items():
                self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
            self.metrics.flush_metrics()


def _remaining_ms(context: Any) -> Callable[[], float]:
    get = getattr(context, "get_remaining_time_in_millis", None)
    if callable(get):
        return lambda: float(get())
    started = time.monotonic()
    return lambda: DEFAULT_BUDGET_MS - (time.monotonic() - started) * 1000


# -- construction ---------------------------------------------------------------------


def build_handler(
    *,
    model: ChatModel,
    history: HistoryStore,
    publisher: VerdictPublisher,
    settings: Settings | None = None,
    template: PromptTemplate | None = None,
    shadow_template: PromptTemplate | None = None,
    **options: Any,
) -> StreamHandler:
    """A handler with injected model, history and sinks; prompts default to the settings'."""
    settings = settings or get_settings()
    if template is None or (shadow_template is None and settings.shadow_prompt):
        from .prompts import open_prompt_store

        store = open_prompt_store(settings.prompts)
        template = template or store.get(settings.prompt)
        if shadow_template is None and settings.shadow_prompt:
            shadow_template = store.get(settings.shadow_prompt)
    return StreamHandler(
        model=model,
        template=template,
        shadow_template=shadow_template,
        history=history,
        publisher=publisher,
        settings=settings,
        **options,
    )


class AwsClients:
    """boto3 clients built on first use, once per container, with the settings' endpoint."""

    def __init__(self, settings: Settings, overrides: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self._clients: dict[str, Any] = dict(overrides or {})
        self._lock = threading.Lock()

    def get(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                from . import aws

                self._clients[service] = aws.client(
                    service,
                    region_name=self.settings.region,
                    endpoint_url=self.settings.aws_endpoint_url,
                )
            return self._clients[service]


def handler_from_settings(
    settings: Settings, *, clients: dict[str, Any] | None = None, **options: Any
) -> StreamHandler:
    """Build model, history, verdict store and event sink from the settings."""
    from .history import open_history
    from .models import resolve

    aws = AwsClients(settings, clients)
    history_client = aws.get("dynamodb") if settings.history.startswith("dynamodb:") else None
    history = open_history(settings.history, dynamodb_client=history_client)
    if settings.verdicts_table:
        store: Any = DynamoVerdictSink(settings.verdicts_table, client=aws.get("dynamodb"))
    elif settings.verdicts_sqlite:
        store = SqliteVerdictSink(settings.verdicts_sqlite)
    else:
        raise ConfigError("set PARLEY_VERDICTS_TABLE (or PARLEY_VERDICTS_SQLITE for local runs)")
    # The EventBridge client is made on the first publish: a batch of skipped records
    # needs none.
    events = (
        EventBridgeSink(settings.event_bus, connect=lambda: aws.get("events"))
        if settings.event_bus
        else None
    )
    model = resolve(settings.model, **_model_options(settings, clients))
    if settings.model_lifecycle_check:
        from .models.lifecycle import control_client, warn_if_legacy

        refs = [settings.model]
        warn_if_legacy(
            refs, client=control_client(settings), service="parley-stream", where="PARLEY_MODEL"
        )
    return build_handler(
        model=model,
        history=history,
        publisher=VerdictPublisher(store, events),
        settings=settings,
        **options,
    )


def _model_options(settings: Settings, clients: dict[str, Any] | None) -> dict[str, Any]:
    # Only Bedrock models take a client; an injected one (tests, emulator) wins.
    if not settings.model.startswith("bedrock:"):
        return {}
    if clients and "bedrock-runtime" in clients:
        return {"client": clients["bedrock-runtime"]}
    retries = bedrock_retries(settings)
    return {
        "region": settings.region,
        "endpoint_url": settings.bedrock_endpoint_url,
        "retry_mode": retries["mode"],
        "max_attempts": retries["total_max_attempts"],
    }


def bedrock_retries(settings: Settings) -> dict[str, Any]:
    """botocore's retry configuration for the stream job's Bedrock client.

    Without pacing: `adaptive` mode, whose client-side token bucket keeps the container
    under the quota. With PARLEY_MODEL_RPM: one attempt per call, so that every
    attempt, retries included, waits for a pacer slot (a botocore retry would bypass
    the pacer, and adaptive mode cuts the whole client's rate by 30% after a single
    throttle); the handler retries instead (docs/stream.md has the measurements).
    """
    if settings.model_rpm:
        return {"mode": "standard", "total_max_attempts": 1}
    return {"mode": "adaptive", "total_max_attempts": settings.max_attempts}


class LazyHandler:
    """A Lambda handler that builds its `StreamHandler` on the first call, then reuses it.

    `build(**templates)` makes the handler; `prime()` builds it ahead of the first
    call (before a SnapStart snapshot) and `rebuild()` makes it again with new
    clients but the prompt templates already loaded (after a restore).
    """

    def __init__(self, build: Callable[..., StreamHandler]) -> None:
        self._build = build
        self._handler: StreamHandler | None = None
        self._lock = threading.Lock()

    @property
    def handler(self) -> StreamHandler:
        with self._lock:
            if self._handler is None:
                self._handler = self._build()
            return self._handler

    def prime(self) -> StreamHandler:
        """Build the handler now and compile its prompt templates (no request is sent)."""
        handler = self.handler
        handler.template.precompile()
        if handler.shadow_template is not None:
            handler.shadow_template.precompile()
        return handler

    def rebuild(self) -> None:
        """Build again if built: new model, stores and clients, same templates."""
        with self._lock:
            old = self._handler
            if old is not None:
                self._handler = self._build(
                    template=old.template, shadow_template=old.shadow_template
                )

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        return self.handler(event, context)


def build_handler_from_settings(
    settings: Settings | None = None, *, clients: dict[str, Any] | None = None
) -> LazyHandler:
    """The deployed handler: configuration from `PARLEY_*`, built lazily on the first call."""
    return LazyHandler(
        lambda **templates: handler_from_settings(
            settings or get_settings(), clients=clients, **templates
        )
    )


lambda_handler = build_handler_from_settings()
# SnapStart: build before the snapshot, new clients after a restore (pipeline/snapstart.py).
snapstart.register(lambda_handler.prime, lambda_handler.rebuild)
