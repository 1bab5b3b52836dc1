"""Stream job throughput against the Bedrock emulator: quota use, coalescing, no loss.

A stream of INSERT records (600 conversations of 2-30 messages from the one traffic
model, bench/traffic.py: about 3,800 records; quick: 60 conversations) is cut into
shards by conversation id (as DynamoDB does by partition key); each shard
is consumed by its own "Lambda container" (a `StreamHandler` with its own Bedrock
client) in batches of 100, side by side, and failed records are redelivered as
Lambda does for DynamoDB Streams (from the lowest failed sequence number on). The
model is `bedrock:<id>` through pipeline.models.bedrock (adaptive retries) against
the emulator, which runs in a process of its own (bench/emulator_process.py):
200 ms +/- 50 ms, a quota of 1,200 requests/minute enforced as 20 in
any 1-second window (no credit for bursts), answers from the local baseline
classifier. Each container paces its calls to its share of the quota
(PARLEY_MODEL_RPM = 0.99 x 1,200 / containers); every attempt, retries included,
waits for a pacer slot (one botocore attempt per call), as the stream job does when
PARLEY_MODEL_RPM is set.

Arrival: the conversations table is written before its stream is read. `live`:
each batch's messages are written just before the batch is delivered (the
consumer keeps up). `backlog`: every message is in the table before the first
batch is read (the consumer is behind, the case where the quota binds).

Figures (burst: a conversation's messages within one batch; interleaved: in the order
the traffic model's live mix writes them):
- quota_use: successful model calls per minute while work remains / quota (>= 0.95)
- throttle_failures: conversations failed for throttling after all retries (0)
- calls_per_record: model calls / records (burst <= 0.25)
- conversations_without_one_current_verdict (0), records_lost (0), duplicate_events (0)
- records_per_call: records moderated per model call (the figure of merit: the quota
  is the limit both designs hit); burst >= 5 with coalescing alone, >= 12 with the
  cascade (`burst_cascade`: `local:baseline` first, Bedrock for its uncertain band)
- records_per_min and speedup: records per minute, and their ratio to the original
  design's on the same emulator, quota and shards, in the same run
- baseline: the original design (one call per record, each judged as it arrives,
  no coalescing) on the first records of the same interleaved stream, with as many
  calls in flight as parley's fleet (shards x conversations at once: one Step Functions
  execution per message runs concurrently), so that both use the quota alike; its
  quota use is reported beside parley's (until 2026-12-06 it ran one sequential worker
  per shard, 0.75-0.80 of the quota)
- burst_adaptive_only.quota_use: the same burst with no pacing (botocore's adaptive
  mode alone), for comparison
- burst_dynamodb: history in moto's DynamoDB instead of SQLite
- faults: 10% throttles, 3% 5xx, 2% timeouts, 2% malformed answers, with
  redelivery: records_lost (0), duplicate_events (0), duplicate_verdicts (0)
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench import traffic
from bench.emulator_process import EmulatorProcess
from pipeline.conversation import Message, iso, parse_timestamp
from pipeline.history import SqliteHistory, create_conversations_table
from pipeline.moderation import assess
from pipeline.prompts import DirectoryPromptStore
from pipeline.settings import REPO_ROOT, Settings
from pipeline.sinks import (
    SqliteVerdictSink,
    VerdictPublisher,
    stored_verdict,
)
from pipeline.stream import StreamHandler, bedrock_retries, build_handler, logger

MODEL_ID = "amazon.nova-micro-v1:0"
PROMPT = "suspicious-conversation@2"
QUOTA_RPM = 1200
QUOTA_WINDOW_S = 1.0
PACE = 0.99  # share of the quota the fleet paces itself to
BATCH = 100
SHARDS = 4  # Lambda containers side by side (shards x parallelization factor)
CONCURRENCY = 3  # conversations judged at once per container (PARLEY_MAX_CONCURRENCY)
REDELIVERIES = 20  # generous: a record given up on counts as lost
FAULT_ATTEMPTS = 2  # few attempts in the faults run, so that failures reach redelivery
FAULTS = {
    "throttle_rate": 0.10,
    "error_5xx_rate": 0.03,
    "timeout_rate": 0.02,
    "malformed_rate": 0.02,
}
STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/marketplace-messages/stream/2024-06-01T00:00:00"
)


@dataclass(frozen=True)
class Scale:
    conversations: int
    latency_ms: float
    jitter_ms: float
    baseline_sample: int
    dynamodb_conversations: int


FULL = Scale(600, latency_ms=200, jitter_ms=50, baseline_sample=480, dynamodb_conversations=200)
QUICK = Scale(60, latency_ms=100, jitter_ms=25, baseline_sample=120, dynamodb_conversations=20)


# -- the stream -------------------------------------------------------------------------


def conversations(n: int, rng: random.Random) -> dict[str, list[Message]]:
    """n conversations of the traffic model's live mix, in time order (a third scams)."""
    return traffic.conversations(traffic.LIVE, n, rng)


def stream_record(message: Message, sequence: int) -> dict[str, Any]:
    """A DynamoDB Streams INSERT record of the conversations table."""
    image = {
        "Id": {"S": message.conversation_id},
        "timestamp": {"S": iso(message.timestamp)},
        "message": {"S": message.text},
        "sender": {"S": message.sender},
    }
    return {
        "eventID": hashlib.md5(str(sequence).encode()).hexdigest(),
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": int(message.timestamp.timestamp()),
            "Keys": {"Id": image["Id"], "timestamp": image["timestamp"]},
            "NewImage": image,
            "SequenceNumber": f"{sequence:030d}",
            "SizeBytes": len(message.text) + 60,
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": STREAM_ARN,
    }


def ordered(convs: dict[str, list[Message]], order: str, rng: random.Random) -> list[Message]:
    """burst: each conversation's messages together; interleaved: in arrival order."""
    if order == "burst":
        return [m for messages in convs.values() for m in messages]
    return traffic.arrivals(convs)


def shards(messages: list[Message], count: int) -> list[list[dict[str, Any]]]:
    """Records by shard (a conversation always on one shard, as with a partition key)."""
    out: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    for sequence, message in enumerate(messages, start=1):
        index = int(message.conversation_id.rsplit("-", 1)[1]) % count
        out[index].append(stream_record(message, sequence))
    return out


# -- instrumentation --------------------------------------------------------------------


class Tally:
    """Model answers and failures across every container (thread-safe)."""

    def __init__(self) -> None:
        self.answers = 0
        self.failures = 0
        self.lock = threading.Lock()


class CountingModel:
    """Wraps a ChatModel and counts into a shared Tally."""

    def __init__(self, model: Any, tally: Tally) -> None:
        self.model = model
        self.model_id = model.model_id
        self.tally = tally

    def generate(self, prompt: Any, **kwargs: Any) -> Any:
        try:
            result = self.model.generate(prompt, **kwargs)
        except Exception:
            with self.tally.lock:
                self.tally.failures += 1
            raise
        with self.tally.lock:
            self.tally.answers += 1
        return result


class RecordingEvents:
    """An event sink that keeps every envelope id it was given."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.judged_at: set[tuple[str, str]] = set()  # (conversation, last message judged)
        self._lock = threading.Lock()

    def publish(self, envelopes: Any) -> None:
        with self._lock:
            self.ids.extend(e["id"] for e in envelopes)
            self.judged_at.update(
                (e["data"]["conversation_id"], e["data"]["last_message_at"]) for e in envelopes
            )

    @property
    def duplicates(self) -> int:
        return len(self.ids) - len(set(self.ids))

    def missing(self, convs: dict[str, list[Message]]) -> int:
        """Conversations whose verdict at the newest message was never published.

        Read from the events themselves: a verdict's key also hashes the texts it judged.
        """
        with self._lock:
            judged = {(cid, parse_timestamp(at)) for cid, at in self.judged_at}
        return sum((cid, messages[-1].timestamp) not in judged for cid, messages in convs.items())


@dataclass
class Context:
    """A Lambda context with a 2-minute timeout (template.yaml) from the invocation's start."""

    timeout_ms: int = 120_000
    started: float = field(default_factory=time.monotonic)
    aws_request_id: str = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return int(self.timeout_ms - (time.monotonic() - self.started) * 1000)


@dataclass
class RunResult:
    records: int
    seconds: float = 0.0
    answers: int = 0
    invocations: int = 0
    redeliveries: int = 0
    throttle_failures: int = 0
    failed_judgements: int = 0
    abandoned: int = 0
    throttled_requests: int = 0

    @property
    def quota_use(self) -> float:
        return self.answers / (self.seconds / 60) / QUOTA_RPM

    @property
    def records_per_call(self) -> float:
        return self.records / self.answers if self.answers else float("inf")

    @property
    def records_per_min(self) -> float:
        return self.records / (self.seconds / 60)


def consume(
    handlers: list[StreamHandler],
    shard_records: list[list[dict[str, Any]]],
    tally: Tally,
    live_history: Any = None,
) -> RunResult:
    """Each shard's batches through its own handler, shards side by side, with redelivery.

    With `live_history`, a batch's messages are written to it just before delivery.
    """
    result = RunResult(records=sum(len(s) for s in shard_records))
    lock = threading.Lock()

    def shard_worker(handler: StreamHandler, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            if live_history is not None:
                from pipeline.records import parse_stream_event

                messages = [r.message for r in parse_stream_event({"Records": batch}) if r.message]
                # The marketplace's write, not the consumer's work: one transaction if possible.
                write_many = getattr(live_history, "append_many", None)
                if write_many is not None:
                    write_many(messages)
                else:
                    for message in messages:
                        live_history.append(message)
            for attempt in range(REDELIVERIES + 1):
                report = handler.run({"Records": batch}, Context())
                failed = {f["itemIdentifier"] for f in report.response["batchItemFailures"]}
                with lock:
                    result.invocations += 1
                    for outcome in report.outcomes:
                        if not outcome.ok:
                            result.failed_judgements += 1
                            result.throttle_failures += "Throttl" in (outcome.error or "")
                if not failed:
                    break
                # DynamoDB Streams: Lambda retries from the lowest failed sequence number.
                first = min(
                    i for i, r in enumerate(batch) if r["dynamodb"]["SequenceNumber"] in failed
                )
                batch = batch[first:]
                with lock:
                    if attempt == REDELIVERIES:
                        result.abandoned += len(batch)
                    else:
                        result.redeliveries += 1

    answers_before = tally.answers
    started = time.perf_counter()
    threads = [
        threading.Thread(target=shard_worker, args=(handler, records))
        for handler, records in zip(handlers, shard_records, strict=True)
        if records
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    result.answers = tally.answers - answers_before
    return result


def check_verdicts(store: SqliteVerdictSink, convs: dict[str, list[Message]]) -> tuple[int, int]:
    """(conversations without exactly one verdict at their newest message, records uncovered)."""
    stamps: dict[str, list[datetime]] = {}
    for stored in store.all():
        if not stored.shadow:
            stamps.setdefault(stored.key.pk, []).append(stored.verdict.last_message_at)
    wrong = lost = 0
    for cid, messages in convs.items():
        judged = stamps.get(cid, [])
        wrong += judged.count(messages[-1].timestamp) != 1
        lost += sum(1 for m in messages if not any(s >= m.timestamp for s in judged))
    return wrong, lost


# -- the runs ---------------------------------------------------------------------------


def start_emulator(scale: Scale, **faults: float) -> EmulatorProcess:
    """The emulator in its own process, answering with the local classifier's judgement."""
    return EmulatorProcess(
        "baseline",
        latency_ms=scale.latency_ms,
        jitter_ms=scale.jitter_ms,
        rpm=QUOTA_RPM,
        quota_window_s=QUOTA_WINDOW_S,
        seed=7,
        **faults,
    )


def bedrock_model(
    emulator: Any, tally: Tally, settings: Settings, model: str = f"bedrock:{MODEL_ID}"
) -> CountingModel:
    """A `bedrock:` model on a client configured as the stream job configures its own."""
    from pipeline.models import resolve

    client = emulator.client(retries=bedrock_retries(settings))
    return CountingModel(resolve(model, client=client), tally)


def job_model(emulator: Any, tally: Tally, settings: Settings, run: Run) -> Any:
    """The model a container uses: Bedrock, or the cascade with Bedrock as its second tier
    (only Bedrock calls are counted: they are what the quota and the bill count)."""
    second = bedrock_model(emulator, tally, settings, run.model)
    if not run.cascade:
        return second
    from pipeline.models import resolve
    from pipeline.models.cascade import CascadeModel

    return CascadeModel(resolve("local:baseline"), second)


def fleet(
    emulator: Any, tally: Tally, history: Any, store: Any, events: Any, run: Run
) -> list[StreamHandler]:
    """One handler per shard: its own client, pacer and thread pool, shared stores."""
    settings = Settings(
        prompt=run.prompt,
        max_concurrency=CONCURRENCY,
        min_remaining_ms=10_000,
        model_rpm=QUOTA_RPM * PACE / SHARDS if run.pace else None,
        max_attempts=run.attempts or 6,
    )
    options: dict[str, Any] = {"retry_attempts": run.attempts} if run.attempts else {}
    return [
        build_handler(
            model=job_model(emulator, tally, settings, run),
            history=history,
            publisher=VerdictPublisher(store, events),
            settings=settings,
            metrics=None,
            **options,
        )
        for _ in range(SHARDS)
    ]


@dataclass
class Run:
    name: str
    order: str
    arrival: str
    pace: bool = True
    attempts: int | None = None  # model attempts per judgement; None: the job's defaults
    cascade: bool = False  # local:baseline first, Bedrock for the uncertain band
    model: str = f"bedrock:{MODEL_ID}"
    prompt: str = PROMPT


def order_run(
    run: Run, convs: dict[str, list[Message]], emulator: Any, tmp: Path, history: Any = None
) -> tuple[RunResult, SqliteVerdictSink, RecordingEvents]:
    """One pass over the stream in one order and arrival mode, on fresh stores."""
    emulator.reset()
    all_messages = [m for messages in convs.values() for m in messages]
    if history is None:
        history = SqliteHistory(tmp / f"history-{run.name}.db")
        if run.arrival == "backlog":
            history.append_many(all_messages)
    store = SqliteVerdictSink(tmp / f"verdicts-{run.name}.db")
    events = RecordingEvents()
    tally = Tally()
    handlers = fleet(emulator, tally, history, store, events, run)
    records = shards(ordered(convs, run.order, random.Random(f"order-{run.name}")), SHARDS)
    live = history if run.arrival == "live" else None
    result = consume(handlers, records, tally, live)
    result.throttled_requests = emulator.stats()["by_error"].get("ThrottlingException", 0)
    return result, store, events


def baseline(
    emulator: Any,
    sample: list[Message],
    tmp: Path,
    model: str = f"bedrock:{MODEL_ID}",
    prompt: str = PROMPT,
) -> RunResult:
    """The original design on the same emulator and quota: each record judged alone as it
    arrives (one call per record), as many calls in flight as parley's fleet."""
    template = DirectoryPromptStore(REPO_ROOT / "prompts").get(prompt)
    history = SqliteHistory(tmp / "baseline-history.db")
    store = SqliteVerdictSink(tmp / "baseline-verdicts.db")
    tally = Tally()
    emulator.reset()
    pending = list(reversed(sample))
    lock = threading.Lock()

    def worker() -> None:
        judge = bedrock_model(emulator, tally, Settings(), model)  # its own client
        while True:
            with lock:
                if not pending:
                    return
                message = pending.pop()
                history.append(message)
            window = history.latest(message.conversation_id, template.meta.history.messages)
            store.write(stored_verdict(assess(window, template, judge)))

    threads = [threading.Thread(target=worker) for _ in range(SHARDS * CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = RunResult(records=len(sample), seconds=time.perf_counter() - started)
    result.answers = tally.answers
    result.throttled_requests = emulator.stats()["by_error"].get("ThrottlingException", 0)
    return result


def rows_for(
    name: str,
    result: RunResult,
    base: RunResult,
    store: SqliteVerdictSink,
    events: RecordingEvents,
    convs: dict[str, list[Message]],
    calls_target: str = "reported",
) -> list[tuple[str, float, str]]:
    wrong, lost = check_verdicts(store, convs)
    return [
        (
            f"{name}.quota_use",
            result.quota_use,
            f"{result.answers} calls in {result.seconds:.1f} s vs {QUOTA_RPM}/min; target >= 0.95",
        ),
        (
            f"{name}.throttle_failures",
            float(result.throttle_failures),
            f"{result.throttled_requests} requests throttled on the way; target 0",
        ),
        (
            f"{name}.records_per_call",
            result.records_per_call,
            f"{result.records} records, {result.answers} model calls; {calls_target}",
        ),
        (f"{name}.conversations_without_one_current_verdict", float(wrong), "target 0"),
        (f"{name}.records_lost", float(lost + result.abandoned), "target 0"),
        (f"{name}.duplicate_events", float(events.duplicates), "target 0"),
        (f"{name}.events_missing", float(events.missing(convs)), "target 0"),
        (
            f"{name}.records_per_min",
            result.records_per_min,
            f"at a quota of {QUOTA_RPM}/min, {SHARDS} shards",
        ),
        (
            f"{name}.speedup",
            result.records_per_min / base.records_per_min,
            f"records/min over the original design's {base.records_per_min:.0f} "
            f"(quota use {base.quota_use:.2f}), same emulator and quota",
        ),
    ]


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    scale = QUICK if quick else FULL
    convs = conversations(scale.conversations, random.Random(4))
    rows: list[tuple[str, float, str]] = []
    previous = logger.log_level
    logger.setLevel("ERROR")  # the figures are the output; per-batch logs would drown them
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    try:
        with TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            emulator = start_emulator(scale)
            try:
                sample = ordered(convs, "interleaved", random.Random("sample"))
                base = baseline(emulator, sample[: scale.baseline_sample], tmp)
                context = (
                    f"original design, {SHARDS * CONCURRENCY} calls in flight, one call per "
                    f"record, on the first {base.records} records of the interleaved stream"
                )
                rows += [
                    ("baseline.records_per_call", base.records_per_call, context),
                    ("baseline.records_per_min", base.records_per_min, context),
                    (
                        "baseline.quota_use",
                        base.quota_use,
                        f"{base.answers} calls in {base.seconds:.1f} s vs {QUOTA_RPM}/min; "
                        f"{base.throttled_requests} requests throttled",
                    ),
                ]
                runs = [
                    (Run("burst", "burst", "live"), "target >= 5"),
                    (Run("burst_cascade", "burst", "live", cascade=True), "target >= 12"),
                    (Run("interleaved_backlog", "interleaved", "backlog"), "reported"),
                    (Run("interleaved_live", "interleaved", "live"), "reported"),
                ]
                for spec, target in runs:
                    result, store, events = order_run(spec, convs, emulator, tmp)
                    rows += rows_for(spec.name, result, base, store, events, convs, target)
                adaptive, _, _ = order_run(
                    Run("burst_adaptive", "burst", "live", pace=False), convs, emulator, tmp
                )
                rows.append(
                    (
                        "burst_adaptive_only.quota_use",
                        adaptive.quota_use,
                        f"no pacing, botocore adaptive mode alone; {adaptive.seconds:.1f} s,"
                        f" {adaptive.throttled_requests} requests throttled",
                    )
                )
                rows += dynamodb_run(scale, convs, emulator, tmp)
            finally:
                emulator.stop()
            rows += faults_run(scale, convs, tmp)
    finally:
        logger.setLevel(previous)
    return rows


def dynamodb_run(
    scale: Scale, convs: dict[str, list[Message]], emulator: Any, tmp: Path
) -> list[tuple[str, float, str]]:
    """The burst order with history in moto's DynamoDB (a conversations table on loopback)."""
    import boto3
    from moto.server import ThreadedMotoServer

    from pipeline.history import DynamoHistory

    small = dict(list(convs.items())[: scale.dynamodb_conversations])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = boto3.client(
            "dynamodb",
            endpoint_url=f"http://{host}:{port}",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        create_conversations_table(client, "marketplace-messages")
        history = DynamoHistory("marketplace-messages", client=client)
        result, store, _ = order_run(
            Run("burst_dynamodb", "burst", "live"), small, emulator, tmp, history
        )
    finally:
        server.stop()
    wrong, lost = check_verdicts(store, small)
    return [
        (
            "burst_dynamodb.records_per_s",
            result.records / result.seconds,
            f"history in moto's DynamoDB; {result.records} records, {result.answers} calls",
        ),
        ("burst_dynamodb.conversations_without_one_current_verdict", float(wrong), "target 0"),
        ("burst_dynamodb.records_lost", float(lost + result.abandoned), "target 0"),
    ]


def faults_run(
    scale: Scale, convs: dict[str, list[Message]], tmp: Path
) -> list[tuple[str, float, str]]:
    """The interleaved order (backlog) with faults injected; failed records redelivered."""
    emulator = start_emulator(scale, **FAULTS)
    try:
        result, store, events = order_run(
            Run("faults", "interleaved", "backlog", attempts=FAULT_ATTEMPTS), convs, emulator, tmp
        )
        served = emulator.stats()["by_error"]
    finally:
        emulator.stop()
    wrong, lost = check_verdicts(store, convs)
    undetermined = sum(1 for s in store.all() if s.verdict.status == "undetermined")
    injected = ", ".join(f"{k.removesuffix('_rate')} {v:.0%}" for k, v in FAULTS.items())
    return [
        ("faults.records_lost", float(lost + result.abandoned), f"{injected}; target 0"),
        ("faults.duplicate_events", float(events.duplicates), "target 0"),
        ("faults.events_missing", float(events.missing(convs)), "target 0"),
        (
            "faults.duplicate_verdicts",
            float(wrong),
            "conversations without exactly one verdict at the newest message; target 0",
        ),
        (
            "faults.redeliveries",
            float(result.redeliveries),
            f"batches redelivered; {result.failed_judgements} failed judgements; "
            f"emulator errors {dict(served)}",
        ),
        (
            "faults.undetermined_verdicts",
            float(undetermined),
            "malformed answers: undetermined, published",
        ),
        ("faults.quota_use", result.quota_use, f"with faults; {result.seconds:.1f} s"),
    ]
