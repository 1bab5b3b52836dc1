"""The traffic model: batches follow the event source mapping's rules, and the replay
times each message to its verdict through the real handler and wake-up worker."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from typing import Any

import pytest

from bench import traffic
from pipeline.conversation import Message


def _msg(cid: str, seconds: float) -> Message:
    at = traffic.T0 + timedelta(seconds=seconds)
    return Message(conversation_id=cid, timestamp=at, sender="buyer", text="hi")


def test_a_batch_closes_when_its_window_ends_and_later_records_open_the_next() -> None:
    mapping = traffic.Mapping(batch_size=100, window_s=5.0, shards=1)
    found = traffic.batches([_msg("a", 0), _msg("b", 4), _msg("a", 6)], mapping)
    assert [len(b.messages) for b in found] == [2, 1]
    assert found[0].closes_at == traffic.T0 + timedelta(seconds=5)


def test_a_full_batch_is_handed_over_at_once() -> None:
    mapping = traffic.Mapping(batch_size=2, window_s=60.0, shards=1)
    found = traffic.batches([_msg("a", 0), _msg("b", 1), _msg("c", 2)], mapping)
    assert [len(b.messages) for b in found] == [2, 1]
    assert found[0].closes_at == traffic.T0 + timedelta(seconds=1)


def test_no_window_still_waits_for_the_next_poll() -> None:
    mapping = traffic.Mapping(batch_size=100, window_s=0.0, shards=1)
    [batch] = traffic.batches([_msg("a", 0), _msg("b", 0.1)], mapping)
    assert batch.closes_at == traffic.T0 + timedelta(seconds=traffic.POLL_S)


def test_a_conversation_stays_on_one_shard_and_every_message_is_batched_once() -> None:
    convs = traffic.conversations(traffic.LIVE, 40, random.Random(1))
    messages = traffic.arrivals(convs)
    found = traffic.batches(messages, traffic.Mapping(shards=4))
    assert sorted(m.timestamp for b in found for m in b.messages) == [m.timestamp for m in messages]
    shards: dict[str, set[int]] = {}
    for b in found:
        for m in b.messages:
            shards.setdefault(m.conversation_id, set()).add(b.shard)
    assert all(len(s) == 1 for s in shards.values())


def test_live_conversations_have_realistic_lengths_and_gaps() -> None:
    convs, scams = traffic.draw(traffic.LIVE, 300, random.Random(2))
    lengths = [len(ms) for ms in convs.values()]
    assert min(lengths) >= 2 and max(lengths) <= 30 and 4.5 < sum(lengths) / len(lengths) < 7.5
    gaps = [
        (b.timestamp - a.timestamp).total_seconds()
        for ms in convs.values()
        for a, b in itertools.pairwise(ms)
    ]
    assert min(gaps) >= 3 and max(gaps) <= 901 and 20 < traffic.percentile(gaps, 50) < 80
    assert 0.2 < len(scams) / len(convs) < 0.45


def test_percentile_is_nearest_rank() -> None:
    assert traffic.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert traffic.percentile([], 95) == 0.0


def _replay(quiet_s: int | None) -> tuple[traffic.ReplayResult, Any]:
    from pipeline.history import SqliteHistory
    from pipeline.models.replay import ReplayModel
    from pipeline.quiet import QuietPolicy
    from pipeline.quiet_worker import QuietWorker
    from pipeline.settings import Settings
    from pipeline.sinks import SqliteVerdictSink, VerdictPublisher
    from pipeline.stream import build_handler

    cleared = {"suspicious": False, "score": 0.05, "categories": [], "rationale": ""}
    model = ReplayModel(default=cleared)
    history = SqliteHistory(":memory:")
    verdicts = traffic.VerdictClock()
    clock = traffic.Clock()
    queue = traffic.SimQueue(clock) if quiet_s else None
    handler = build_handler(
        model=model,
        history=history,
        publisher=VerdictPublisher(SqliteVerdictSink(":memory:"), verdicts),
        settings=Settings(min_remaining_ms=0),
        metrics=None,
        quiet=QuietPolicy(queue, quiet_s) if queue and quiet_s else None,
    )
    worker = QuietWorker(handler.runner, history) if queue else None
    replay = traffic.Replay(
        handler, history, verdicts, lambda: len(model.history), worker=worker, queue=queue,
        clock=clock, call_s=1.0,
    )  # fmt: skip
    convs = {
        "honest": [_msg("honest", 0), _msg("honest", 10), _msg("honest", 100)],
        "risky": [_msg("risky", 5)],
    }
    convs["risky"][0] = convs["risky"][0].model_copy(update={"text": "pay by gift card"})
    return replay.run(convs, traffic.Mapping(window_s=1.0, shards=1)), model


def test_without_quiet_every_batch_is_judged_within_its_window_and_a_call() -> None:
    result, model = _replay(None)
    assert (result.never_judged, result.judged_twice, len(model.history)) == (0, 0, 4)
    assert max(result.latencies_s.values()) <= 1.0 + 1.05 + 1e-6


def test_quiet_waits_for_the_pause_but_judges_a_risky_message_at_once() -> None:
    result, model = _replay(20)
    assert (result.never_judged, result.judged_twice) == (0, 0)
    risky = result.latencies_s[("risky", traffic.T0 + timedelta(seconds=5))]
    assert risky <= 2.1
    # honest: the first two messages wait for the pause after the second (its batch
    # closes at 11 s, + 20 s quiet + 5 s SQS window + the call: 37.05 s), the third for
    # its own; 3 wake-ups, 2 judgements
    first = result.latencies_s[("honest", traffic.T0)]
    assert first == pytest.approx(37.05)
    assert result.wake_ups == 3 and len(model.history) == 3
