"""One traffic model with arrival times, and its replay through the real stream handler.

Both `bench/cost.py` and `bench/stream_throughput.py` draw their stream from here.

- **Conversations** of realistic lengths (2 to 30 messages, 6 on average; a third of
  them scams), each message written seconds to minutes after the one before
  (log-normal gaps, median 40 s, clipped to 3 s..15 min).
- **Mixes**: `live`, conversations starting over an hour (about one message every 3 s
  in all, interleaved as people type); `burst`, every conversation's messages a second
  or two apart, all conversations starting within a minute (a backlog, or a bot wave).
- **Batches as the event source mapping forms them** (`Mapping`): records hash to
  shards by conversation id; a shard's batch opens at its first record and closes
  when `window_s` (MaximumBatchingWindowInSeconds) has passed or `batch_size` records
  are in it; with no window, Lambda's poll (4 a second) closes it.
- **Replay** (`Replay`): simulated time. A message is written to the history when it
  arrives; a batch is handed to the real `StreamHandler` when it closes and its shard
  is free (a shard runs one batch at a time); wake-ups (pipeline.quiet) are handed to
  the real `QuietWorker` as the SQS mapping batches them (up to 10, within 5 s of the
  first one due). Each model call takes `call_s` of simulated time,
  `concurrency` at once per invocation. Every published verdict is stamped with the
  simulated time its invocation ends: that gives each message's time to verdict.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.conversation import Message, parse_timestamp
from pipeline.quiet import WakeUp

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)

_BENIGN = [
    ("buyer", "Hi, is the {item} still available?"),
    ("seller", "Yes it is, in very good condition."),
    ("buyer", "Could you send a few more photos of the {item}?"),
    ("seller", "Sure, I will upload them to the listing tonight."),
    ("buyer", "What is the lowest price you would take?"),
    ("seller", "I could go a little lower if you pick it up this week."),
    ("buyer", "Does it come with the original box?"),
    ("seller", "It does, and the receipt too."),
    ("buyer", "Great, I will pay through the checkout then."),
    ("seller", "Thanks, I can ship tomorrow with tracking."),
    ("buyer", "Perfect, thank you!"),
    ("seller", "You're welcome, have a nice day."),
]
_SCAM = [
    ("buyer", "I am interested in your {item}, can we fix a visit?"),
    ("seller", "Sure, when would suit you?"),
    ("seller", "Send me a 500 dollar deposit before the visit, other buyers are waiting."),
    ("seller", "Pay by gift card or wire transfer, not through the site."),
    ("seller", "Click this link to confirm the payment: http://pay-secure.example/login"),
    ("seller", "Give me the code you received by SMS to release the {item}."),
    ("seller", "Today only, after tonight the price doubles."),
    ("buyer", "Why can't I pay through the checkout?"),
    ("seller", "The site takes too long, trust me, many happy buyers."),
]
_ITEMS = ["bike", "sofa", "camera", "flat", "phone", "lamp", "car", "guitar"]
SCAM_SHARE = 0.33


@dataclass(frozen=True)
class Mix:
    """How conversations arrive."""

    name: str
    start_spread_s: float  # conversations start uniformly over this span
    gap_median_s: float  # median seconds between a conversation's messages
    gap_sigma: float  # log-normal spread of those gaps
    gap_min_s: float
    gap_max_s: float


LIVE = Mix("live", start_spread_s=900, gap_median_s=40, gap_sigma=1.0, gap_min_s=3, gap_max_s=900)
BURST = Mix("burst", start_spread_s=60, gap_median_s=1.5, gap_sigma=0.3, gap_min_s=1, gap_max_s=3)
MIXES = {m.name: m for m in (LIVE, BURST)}


def conversation_length(rng: random.Random) -> int:
    """2 + a geometric count with mean 4, capped at 30: most short, a few long."""
    extra = int(math.log(1 - rng.random()) / math.log(1 - 1 / 5))
    return min(30, 2 + extra)


def conversations(mix: Mix, n: int, rng: random.Random) -> dict[str, list[Message]]:
    """n conversations; each message's timestamp is the time it arrives."""
    return draw(mix, n, rng)[0]


def draw(mix: Mix, n: int, rng: random.Random) -> tuple[dict[str, list[Message]], set[str]]:
    """n conversations (each message's timestamp is its arrival) and the scams' ids."""
    result: dict[str, list[Message]] = {}
    scam_ids: set[str] = set()
    for c in range(n):
        cid = f"conv-{c:05d}"
        scam = rng.random() < SCAM_SHARE
        lines = _SCAM if scam else _BENIGN
        if scam:
            scam_ids.add(cid)
        item = rng.choice(_ITEMS)
        at = T0 + timedelta(seconds=rng.uniform(0, mix.start_spread_s))
        messages = []
        for i in range(conversation_length(rng)):
            # The opening lines in order, then lines drawn again (people repeat themselves).
            sender, text = lines[i] if i < len(lines) else rng.choice(lines)
            messages.append(
                Message(
                    conversation_id=cid, timestamp=at, sender=sender, text=text.format(item=item)
                )
            )
            gap = rng.lognormvariate(math.log(mix.gap_median_s), mix.gap_sigma)
            at += timedelta(seconds=min(mix.gap_max_s, max(mix.gap_min_s, gap)), microseconds=i)
        result[cid] = messages
    return result, scam_ids


def arrivals(convs: dict[str, list[Message]]) -> list[Message]:
    """Every message in the order it arrives."""
    return sorted((m for ms in convs.values() for m in ms), key=lambda m: m.timestamp)


# -- the event source mapping -------------------------------------------------------------

POLL_S = 0.25  # Lambda polls a DynamoDB stream shard four times a second


@dataclass(frozen=True)
class Mapping:
    """The DynamoDB event source mapping: BatchSize, MaximumBatchingWindowInSeconds, and
    the shards read side by side (shards x ParallelizationFactor)."""

    batch_size: int = 100
    window_s: float = 5.0
    shards: int = 4


@dataclass(frozen=True)
class Batch:
    shard: int
    closes_at: datetime
    messages: tuple[Message, ...]


def shard_of(conversation_id: str, shards: int) -> int:
    """A stable shard per conversation id (as DynamoDB hashes the partition key)."""
    return sum(conversation_id.encode()) * 2654435761 % 2**32 % shards


def batches(messages: Sequence[Message], mapping: Mapping) -> list[Batch]:
    """The batches the mapping hands to Lambda, in the order they close."""
    by_shard: dict[int, list[Message]] = {}
    for m in sorted(messages, key=lambda m: m.timestamp):
        by_shard.setdefault(shard_of(m.conversation_id, mapping.shards), []).append(m)
    window = timedelta(seconds=max(mapping.window_s, POLL_S))
    out: list[Batch] = []
    for shard, queue in by_shard.items():
        i = 0
        while i < len(queue):
            opened = queue[i].timestamp
            closes = opened + window
            j = i
            while j < len(queue) and j - i < mapping.batch_size and queue[j].timestamp <= closes:
                j += 1
            if j - i == mapping.batch_size:
                closes = queue[j - 1].timestamp  # full: handed over at once
            out.append(Batch(shard, closes, tuple(queue[i:j])))
            i = j
    return sorted(out, key=lambda b: (b.closes_at, b.shard))


# -- replay in simulated time -------------------------------------------------------------


class Clock:
    """Simulated time, read by the delay queue."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now


@dataclass
class SimQueue:
    """An SQS delay queue in simulated time: `send` schedules a wake-up."""

    clock: Clock
    pending: list[tuple[datetime, int, WakeUp]] = field(default_factory=list)
    sent: int = 0
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, wake: WakeUp, delay_s: int) -> None:
        with self._lock:
            due = self.clock.now + timedelta(seconds=delay_s)
            heapq.heappush(self.pending, (due, next(self._ids), wake))
            self.sent += 1


class VerdictClock:
    """An event sink that stamps each published verdict with the simulated time, and
    keeps the digest of the window it judged."""

    def __init__(self) -> None:
        self.published: list[tuple[str, datetime, datetime]] = []  # (cid, last_at, at)
        self.digests: list[str | None] = []  # window_digest of each published verdict
        self.flagged: set[str] = set()  # conversations with a suspicious verdict
        self.pending: list[tuple[str, datetime, str | None]] = []
        self._lock = threading.Lock()

    def publish(self, envelopes: Any) -> None:
        with self._lock:
            self.flagged.update(
                e["data"]["conversation_id"] for e in envelopes if e["data"].get("suspicious")
            )
            self.pending.extend(
                (
                    e["data"]["conversation_id"],
                    parse_timestamp(e["data"]["last_message_at"]),
                    e["data"].get("window_digest"),
                )
                for e in envelopes
            )

    def stamp(self, at: datetime) -> None:
        with self._lock:
            self.published.extend((cid, last, at) for cid, last, _ in self.pending)
            self.digests.extend(digest for _, _, digest in self.pending)
            self.pending.clear()


class WindowLog:
    """Which messages each judged window showed, by the window's digest: the replay
    wraps `Conversation.digest` and `quiet.window_mark` (every verdict key is built from
    one of them) while it runs."""

    def __init__(self) -> None:
        self.shown: dict[str, tuple[datetime, ...]] = {}

    def __enter__(self) -> WindowLog:
        from pipeline.conversation import Conversation

        self._original = original = Conversation.digest
        log = self.shown

        def digest(conversation: Conversation) -> str:
            value = original(conversation)
            log[value] = tuple(m.timestamp for m in conversation.messages)
            return value

        Conversation.digest = digest  # type: ignore[method-assign,assignment]

        import pipeline.quiet as quiet

        self._mark = mark = quiet.window_mark

        def window_mark(window: Conversation) -> str:
            # Several windows end at one message (a lookup builds it alone): their union.
            value = mark(window)
            stamps = {*log.get(value, ()), *(m.timestamp for m in window.messages)}
            log[value] = tuple(sorted(stamps))
            return value

        quiet.window_mark = window_mark
        return self

    def __exit__(self, *exc: object) -> None:
        from pipeline.conversation import Conversation

        Conversation.digest = self._original  # type: ignore[method-assign]


@dataclass
class ReplayResult:
    messages: int
    invocations: int = 0
    wake_ups: int = 0
    failed_records: int = 0
    latencies_s: dict[tuple[str, datetime], float] = field(default_factory=dict)
    never_judged: int = 0  # messages inside no judged window (or with no verdict after them)
    judged_twice: int = 0  # the same (conversation, newest message) published twice
    shown_per_message: float = 0.0  # messages shown in published windows / messages
    stream_calls: int = 0  # model calls made by the stream handler (risky: at once)
    worker_calls: int = 0  # model calls made by the wake-up worker


class Replay:
    """Drives a stream handler (and the wake-up worker) through a mix in simulated time."""

    def __init__(
        self,
        handler: Any,
        history: Any,
        verdicts: VerdictClock,
        calls: Callable[[], int],
        *,
        worker: Any = None,
        queue: SimQueue | None = None,
        clock: Clock | None = None,
        call_s: float = 1.0,
        concurrency: int = 8,
        wake_window_s: float = 5.0,
        wake_batch: int = 10,
    ) -> None:
        self.handler = handler
        self.history = history
        self.verdicts = verdicts
        self.calls = calls
        self.worker = worker
        self.queue = queue
        self.clock = clock or (queue.clock if queue else Clock())
        self.call_s = call_s
        self.concurrency = concurrency
        self.wake_window = timedelta(seconds=wake_window_s)  # the SQS mapping's window
        self.wake_batch = wake_batch

    def _duration(self, calls: int) -> timedelta:
        rounds = math.ceil(calls / self.concurrency) if calls else 0
        return timedelta(seconds=0.05 + rounds * self.call_s)

    def run(self, convs: dict[str, list[Message]], mapping: Mapping) -> ReplayResult:
        from bench.stream_throughput import Context, stream_record

        messages = arrivals(convs)
        result = ReplayResult(messages=len(messages))
        events: list[tuple[datetime, int, str, Any]] = []
        order = itertools.count()
        for m in messages:
            heapq.heappush(events, (m.timestamp, next(order), "arrive", m))
        for b in batches(messages, mapping):
            heapq.heappush(events, (b.closes_at, next(order), "batch", b))
        shard_free: dict[int, datetime] = {}
        sequence = itertools.count(1)
        with WindowLog() as windows:
            self._loop(events, order, shard_free, sequence, result, Context, stream_record)
        self._latencies(convs, result, windows.shown)
        return result

    def _loop(
        self,
        events: list[tuple[datetime, int, str, Any]],
        order: Any,
        shard_free: dict[int, datetime],
        sequence: Any,
        result: ReplayResult,
        Context: Any,
        stream_record: Any,
    ) -> None:
        while events or (self.queue and self.queue.pending):
            due = self.queue.pending[0][0] if self.queue and self.queue.pending else None
            if due is not None and (not events or due + self.wake_window < events[0][0]):
                assert self.queue is not None
                # The SQS mapping hands over what is due within its window, up to a batch.
                at = due + self.wake_window
                wakes = []
                while self.queue.pending and self.queue.pending[0][0] <= at:
                    last, _, wake = heapq.heappop(self.queue.pending)
                    wakes.append(wake)
                    if len(wakes) == self.wake_batch:
                        at = last  # full: handed over at once
                        break
                self.clock.now = at
                before = self.calls()
                records = [{"messageId": f"w{next(order)}", "body": w.body()} for w in wakes]
                report = self.worker.run({"Records": records}, Context())
                result.wake_ups += len(wakes)
                result.failed_records += len(report.failed)
                result.worker_calls += self.calls() - before
                self.verdicts.stamp(at + self._duration(self.calls() - before))
                continue
            at, _, kind, item = heapq.heappop(events)
            self.clock.now = at
            if kind == "arrive":
                self.history.append(item)
                continue
            free = shard_free.get(item.shard, at)
            if free > at:  # the shard is still busy with its previous batch
                heapq.heappush(events, (free, next(order), kind, item))
                continue
            records = [stream_record(m, next(sequence)) for m in item.messages]
            before = self.calls()
            report = self.handler.run({"Records": records}, Context())
            result.invocations += 1
            result.failed_records += len(report.response["batchItemFailures"])
            result.stream_calls += self.calls() - before
            end = at + self._duration(self.calls() - before)
            shard_free[item.shard] = end
            self.verdicts.stamp(end)

    def _latencies(
        self,
        convs: dict[str, list[Message]],
        result: ReplayResult,
        shown: dict[str, tuple[datetime, ...]],
    ) -> None:
        by_conv: dict[str, list[tuple[datetime, datetime]]] = {}
        seen: set[tuple[str, datetime]] = set()
        inside: set[tuple[str, datetime]] = set()
        times_shown = 0
        published = zip(self.verdicts.published, self.verdicts.digests, strict=True)
        for (cid, last, at), digest in published:
            by_conv.setdefault(cid, []).append((last, at))
            result.judged_twice += (cid, last) in seen
            seen.add((cid, last))
            window = shown.get(digest or "", ())
            times_shown += len(window)
            inside.update((cid, stamp) for stamp in window)
        result.shown_per_message = times_shown / max(1, result.messages)
        for cid, messages in convs.items():
            stamps = by_conv.get(cid, [])
            for m in messages:
                covering = [at for last, at in stamps if last >= m.timestamp]
                if covering and (cid, m.timestamp) in inside:
                    result.latencies_s[(cid, m.timestamp)] = (
                        min(covering) - m.timestamp
                    ).total_seconds()
                else:
                    result.never_judged += 1


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]
