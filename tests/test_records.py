"""Parsing stream records and Pipe arrays (pure, total), coalescing, and backoff."""

import copy
import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.coalesce import failed_items, merge_window, plan_batch
from pipeline.conversation import MAX_MESSAGE_BYTES, Conversation, Message
from pipeline.errors import ModelError, ThrottledError
from pipeline.records import (
    SkipReason,
    parse_flat_item,
    parse_pipe_items,
    parse_stream_event,
    parse_stream_record,
)
from pipeline.retry import Pacer, RetryStats, call_with_retries, full_jitter_delay
from tests.conftest import load_fixture

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def skips(event) -> dict[str, SkipReason | None]:
    return {r.item_id: r.skip for r in parse_stream_event(event)}


def test_each_skip_reason_from_real_shaped_records():
    # GIVEN one record per skip reason between two usable INSERTs of one conversation
    event = load_fixture("streams/marketplace-skips.json")
    removed = copy.deepcopy(event["Records"][1])
    removed["eventName"] = "REMOVE"
    removed["dynamodb"].pop("NewImage")
    event["Records"].append(removed)
    parsed = parse_stream_event(event)
    # THEN every reason is named, the two INSERTs are messages, and nothing raised
    reasons = [r.skip for r in parsed if r.skip]
    assert set(reasons) == set(SkipReason) - {SkipReason.TOO_LARGE}
    usable = [r for r in parsed if r.usable]
    assert [r.message.conversation_id for r in usable] == ["conv-camera", "conv-camera"]
    assert [r.message.sender for r in usable] == ["buyer", "seller"]
    # skipped records keep their ids for the logs, never their text
    skill = next(r for r in parsed if r.skip is SkipReason.SKILL_RECORD)
    assert skill.conversation_id.startswith("skill#")
    assert all(r.item_id.isdigit() for r in parsed)


def test_too_large_message_is_cut_with_a_marker_not_skipped():
    # Skipping it would let a scam padded past the limit escape moderation.
    event = load_fixture("streams/marketplace-burst.json")
    record = copy.deepcopy(event["Records"][0])
    varied = " ".join(f"w{i}" for i in range(50_000))  # no filler to collapse
    assert len(varied.encode()) > MAX_MESSAGE_BYTES
    record["dynamodb"]["NewImage"]["message"]["S"] = varied
    message = parse_stream_record(record).message
    assert message is not None
    assert message.text.count("characters omitted]") == 1
    assert message.text.startswith("w0 w1 ") and message.text.endswith(" w49999")
    assert len(message.text.encode()) <= MAX_MESSAGE_BYTES
    # repeated filler is collapsed instead of cut
    record["dynamodb"]["NewImage"]["message"]["S"] = "x" * (MAX_MESSAGE_BYTES + 1)
    message = parse_stream_record(record).message
    assert message is not None and message.text == f"x [… repeated {MAX_MESSAGE_BYTES + 1} times]"
    record["dynamodb"]["NewImage"]["Id"]["S"] = "c" * 513  # an id that long is still refused
    assert parse_stream_record(record).skip is SkipReason.TOO_LARGE


def test_original_sam_sample_is_an_unknown_shape_not_a_crash():
    # The SAM sample has Id as N and a capitalised "Message": not the marketplace table.
    parsed = parse_stream_event(load_fixture("streams/sam-dynamodb-update-original.json"))
    assert [r.skip for r in parsed] == [
        SkipReason.UNKNOWN_SHAPE,
        SkipReason.UNKNOWN_SHAPE,  # a MODIFY is read now; this one has no marketplace fields
        SkipReason.NOT_INSERT,
    ]
    assert parsed[0].conversation_id == "101"  # the N id, converted for the logs
    assert parsed[0].item_id == "4421584500000000017450439091"


def test_numeric_id_is_accepted_as_a_string_and_timestamps_normalised():
    record = copy.deepcopy(load_fixture("streams/marketplace-burst.json")["Records"][2])
    assert record["dynamodb"]["NewImage"]["timestamp"]["S"].endswith("+02:00")
    message = parse_stream_record(record).message
    assert message.timestamp == datetime(2024, 5, 2, 9, 1, tzinfo=UTC)
    record["dynamodb"]["NewImage"]["Id"] = {"N": "101"}
    record["dynamodb"]["NewImage"].pop("sender")
    message = parse_stream_record(record).message
    assert (message.conversation_id, message.sender) == ("101", "unknown")


def test_bad_attribute_wrappers_are_wrong_type():
    base = load_fixture("streams/marketplace-burst.json")["Records"][0]
    for bad in ({"S": 5}, {"S": "a", "N": "1"}, "plain", {"L": []}):
        record = copy.deepcopy(base)
        record["dynamodb"]["NewImage"]["message"] = bad
        assert parse_stream_record(record).skip is SkipReason.WRONG_TYPE, bad


def test_pipe_array_every_element():
    parsed = parse_pipe_items(load_fixture("streams/pipe-array.json"))
    assert [r.item_id for r in parsed] == ["0", "1", "2", "3", "4"]
    assert [r.message.conversation_id if r.message else r.skip for r in parsed] == [
        "conv-phone",
        "conv-phone",
        "conv-lamp",
        "7001",
        SkipReason.MISSING_FIELD,
    ]
    # a pipe without an input transformer hands whole stream records: those work too
    records = load_fixture("streams/marketplace-burst.json")["Records"][:2]
    assert [r.item_id for r in parse_pipe_items(records)] == ["0", "1"]
    assert all(r.usable for r in parse_pipe_items(records))
    # DynamoDB-typed values in a flat item
    typed = {"Id": {"S": "c"}, "timestamp": {"S": "2024-01-01T00:00:00Z"}, "message": {"S": "hi"}}
    assert parse_flat_item(typed).message.text == "hi"


def test_not_a_batch_gives_no_records():
    assert parse_stream_event({"nothing": 1}) == []
    assert parse_stream_event(None) == []
    assert parse_pipe_items({"Id": "x"}) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=15,
)
attribute = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(["S", "N", "B", "L", "M", "NULL"]), json_values, max_size=2),
)
images = st.dictionaries(
    st.sampled_from(["Id", "timestamp", "message", "sender", "Message", "x"]), attribute, max_size=5
)
records = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "eventName": st.one_of(st.sampled_from(["INSERT", "MODIFY", "REMOVE"]), json_values),
            "dynamodb": st.one_of(
                json_values,
                st.fixed_dictionaries(
                    {"NewImage": st.one_of(images, json_values), "SequenceNumber": json_values}
                ),
            ),
        }
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(records, max_size=6))
def test_parsing_is_total(raw):
    for parsed in (parse_stream_event({"Records": raw}), parse_pipe_items(raw)):
        assert len(parsed) == len(raw)
        assert all((r.message is None) != (r.skip is None) for r in parsed)
        assert all(isinstance(r.item_id, str) for r in parsed)
    plan_batch(parse_stream_event({"Records": raw}))


def test_coalescing_one_job_per_conversation_at_its_newest_message():
    # GIVEN the burst fixture: 5 bike messages and 2 sofa messages interleaved
    parsed = parse_stream_event(load_fixture("streams/marketplace-burst.json"))
    plan = plan_batch(parsed)
    # THEN one job each, covering all their records, judged at the newest message
    assert [j.conversation_id for j in plan.jobs] == ["conv-bike-sale", "conv-sofa"]
    bike = plan.jobs[0]
    assert len(bike.item_ids) == 5 and len(plan.jobs[1].item_ids) == 2
    assert bike.newest.timestamp == max(
        r.message.timestamp for r in parsed if r.message.conversation_id == "conv-bike-sale"
    )
    assert plan.correlation_id == parsed[0].event_id
    assert sorted(failed_items(plan, ["conv-sofa"])) == sorted(
        r.item_id for r in parsed if r.message.conversation_id == "conv-sofa"
    )


def test_coalescing_keeps_one_image_per_key_and_orders_by_time():
    parsed = list(reversed(parse_stream_event(load_fixture("streams/marketplace-burst.json"))))
    duplicate = parsed[0]
    plan = plan_batch([*parsed, duplicate])
    bike = next(j for j in plan.jobs if j.conversation_id == "conv-bike-sale")
    stamps = [m.timestamp for m in bike.messages]
    assert stamps == sorted(stamps) and len(stamps) == 5
    assert len(bike.item_ids) == 6  # the repeated record is covered too


def msg(cid: str, minute: int, text: str = "") -> Message:
    return Message(
        conversation_id=cid, timestamp=T0 + timedelta(minutes=minute), text=text or f"m{minute}"
    )


def test_merge_window_adds_what_the_store_lacks_and_keeps_the_newest_n():
    stored = Conversation(id="c", messages=tuple(msg("c", i) for i in range(10)))
    merged = merge_window(stored, [msg("c", 12), msg("c", 9, "fresh image")], limit=5)
    assert [m.text for m in merged.messages] == ["m6", "m7", "m8", "fresh image", "m12"]
    empty = merge_window(Conversation(id="c", messages=()), [msg("c", 1)], limit=5)
    assert [m.text for m in empty.messages] == ["m1"]


def test_full_jitter_is_bounded_and_grows():
    rng = random.Random(7)
    for attempt in range(8):
        ceiling = min(8.0, 0.25 * 2**attempt)
        delays = [full_jitter_delay(attempt, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # it uses the whole range


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_pacer_spaces_calls_and_gives_no_credit_for_idle_time():
    clock = FakeClock()
    pacer = Pacer(600, clock=clock, sleep=clock.sleep)  # one call every 0.1 s
    starts = []
    for _ in range(5):
        pacer.wait()
        starts.append(clock.now)
    assert [round(b - a, 6) for a, b in itertools.pairwise(starts)] == [0.1] * 4
    clock.now += 10  # idle: the next call goes at once, the one after waits a full interval
    assert pacer.wait() == 0
    assert pacer.wait() == pytest.approx(0.1)


def test_pacer_burst_allows_that_many_at_once_then_the_rate():
    clock = FakeClock()
    pacer = Pacer(60, burst=3, clock=clock, sleep=clock.sleep)
    waits = [pacer.wait() for _ in range(5)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == [pytest.approx(1.0), pytest.approx(1.0)]
    with pytest.raises(ValueError):
        Pacer(0)


def test_retries_stop_when_the_time_budget_would_be_exceeded():
    calls = []

    def throttled():
        calls.append(1)
        raise ThrottledError("slow down")

    stats = RetryStats()
    with pytest.raises(ThrottledError):
        call_with_retries(
            throttled, time_left_s=lambda: 0.01, max_attempts=10, sleep=lambda s: None, stats=stats
        )
    # a first wait would have been up to 0.25 s: not within 0.01 s, so no retry at all
    assert len(calls) <= 2 and stats.throttles == len(calls)
    with pytest.raises(ModelError):
        call_with_retries(
            lambda: (_ for _ in ()).throw(ModelError("bad", retryable=False)),
            time_left_s=lambda: 100,
        )
