"""The traffic model's batches follow the event source mapping's rules."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

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
