"""Faults end to end and abuse limits (issue 7, parts 4 and 5), CI-sized.

The runs are bench/reliability.py's, at a few seconds each: the stream job and the skill
against the Bedrock emulator injecting throttles, 5xx, timeouts, hangs, malformed and
truncated answers, with their DynamoDB tables on moto refusing a share of all calls
(ProvisionedThroughputExceededException). The full-size runs are
`python -m bench reliability` (figures in RELIABILITY.md) and, in pytest, the test
marked slow at the end (`pytest --run-slow`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.reliability import SkillScale, run, skill_under_faults, stream_under_faults
from bench.stream_throughput import Scale, stream_record
from pipeline.conversation import Message
from pipeline.history import DynamoHistory, SqliteHistory
from pipeline.models.replay import ReplayModel
from pipeline.settings import Settings
from pipeline.sinks import SqliteVerdictSink, VerdictPublisher
from pipeline.stream import build_handler

# Rates high enough that every kind is drawn in a short run; they must sum to <= 1.
STREAM_FAULTS = {
    "throttle_rate": 0.15,
    "error_5xx_rate": 0.10,
    "timeout_rate": 0.10,
    "malformed_rate": 0.10,
    "truncated_rate": 0.10,
}
SKILL_FAULTS = {**STREAM_FAULTS, "hang_rate": 0.10}
CLEARED = {"suspicious": False, "score": 0.04, "categories": [], "rationale": "ordinary sale"}
T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def test_stream_job_under_model_faults_and_dynamodb_throttles_loses_nothing(moto_server: str):
    # GIVEN 20 conversations x 5 messages, interleaved, in batches with redelivery, and
    # every DynamoDB call (history query, verdict lookup, write, publish mark) at risk
    scale = Scale(20, latency_ms=5, jitter_ms=2, baseline_sample=0, dynamodb_conversations=20)

    # WHEN the fleet of stream handlers works through them under faults
    result = stream_under_faults(scale, moto_server, faults=STREAM_FAULTS, throttle_rate=0.05)

    # THEN faults of each kind were met, and every record is covered by exactly one verdict
    assert result.records == 100
    assert sum(result.faults.values()) >= 10
    assert sum(result.dynamodb_throttles.values()) >= 3
    assert result.records_lost == 0
    assert result.duplicate_verdicts == 0
    assert result.events_missing == 0
    # an event is published again only after its publish mark was throttled (the documented
    # at-least-once window; the id is deterministic, so consumers drop the repeat)
    assert result.duplicate_events <= result.dynamodb_throttles["UpdateItem"]


def test_skill_answers_every_turn_in_time_under_faults(moto_server: str):
    # GIVEN 6 sessions of 5 turns, 3 at a time, a 0.5 s model deadline, and the model
    # throttling, failing, timing out, hanging (1.5 s), answering malformed or truncated
    scale = SkillScale(sessions=6, turns=5, concurrency=3, deadline_s=0.5, hang_s=1.5,
                       latency_ms=10)  # fmt: skip

    # WHEN every turn goes through handle_event (what lambda_handler runs)
    result = skill_under_faults(scale, moto_server, faults=SKILL_FAULTS, throttle_rate=0.1)

    # THEN every turn was answered with speech, within the deadline plus its margin
    assert result.turns == 30
    assert sum(result.faults.values()) >= 5
    assert result.unanswered == 0
    assert result.over_deadline == 0, f"slowest turn {result.max_turn_ms:.0f} ms"
    assert result.statuses["answered"] > 0


def test_a_flood_on_one_conversation_is_a_bounded_number_of_calls_on_bounded_windows():
    # GIVEN a conversation with 3,000 stored messages and a batch of 1,000 new records of
    # it, the newest one far over the size limit
    cid = "conv-flood"
    history = SqliteHistory()
    history.append_many(
        Message(conversation_id=cid, timestamp=T0 + timedelta(seconds=i), sender="buyer",
                text=f"old message {i}")
        for i in range(3000)
    )  # fmt: skip
    start = T0 + timedelta(hours=1)
    records = [
        stream_record(
            Message(conversation_id=cid, timestamp=start + timedelta(seconds=i), sender="seller",
                    text=f"flood {i}"),
            i + 1,
        )
        for i in range(1000)
    ]  # fmt: skip
    records[-1]["dynamodb"]["NewImage"]["message"]["S"] = "pay the deposit now " * 20_000
    model = ReplayModel(default=CLEARED)
    handler = build_handler(
        model=model,
        history=history,
        publisher=VerdictPublisher(SqliteVerdictSink(":memory:"), None),
        settings=Settings(),
        metrics=None,
    )

    # WHEN the batch arrives
    report = handler.run({"Records": records})

    # THEN the calls stop at the setting's bound, each on the prompt's window of new
    # messages, the newest window last, the giant message cut with a marker the model
    # sees, and the new messages no window showed are counted, not silently dropped
    window = handler.template.meta.history.messages
    bound = Settings().stream_max_judgements_per_conversation
    assert report.response == {"batchItemFailures": []}
    assert bound == 5 and len(model.history) == bound == report.counts()["ModelCalls"]
    for prompt in model.history:
        assert prompt.messages_shown == window
        assert "old message" not in prompt.user
        assert len(prompt.user) < 10_000
    newest = model.history[-1]
    assert newest.conversation.last.timestamp == start + timedelta(seconds=999)
    assert "flood 998" in newest.user and "characters omitted" in newest.user
    shown = {m.text for prompt in model.history for m in prompt.conversation.messages}
    assert {f"flood {i}" for i in range(1000 - bound * window, 999)} <= shown
    assert f"flood {999 - bound * window}" not in shown
    assert report.counts()["MessagesUnseen"] == 1000 - bound * window
    assert report.summary()["messages_unseen"] == 1000 - bound * window


def test_one_bad_stored_message_does_not_stop_moderating_its_conversation(
    aws_client: Any, conversations_table: str
):
    # GIVEN a conversation whose table holds a message over the size limit and an item
    # without a message (both written by the marketplace, both skipped by the stream)
    client = aws_client("dynamodb")
    for stamp, extra in (
        ("2024-06-01T08:00:00.000000Z", {"message": {"S": "pad " * 70_000}}),
        ("2024-06-01T08:01:00.000000Z", {"attachment": {"S": "photo.jpg"}}),
    ):
        item = {"Id": {"S": "conv-poison"}, "timestamp": {"S": stamp}, **extra}
        client.put_item(TableName=conversations_table, Item=item)
    message = Message(conversation_id="conv-poison", timestamp=T0 + timedelta(minutes=2),
                      sender="seller", text="send the deposit before the visit")  # fmt: skip
    model = ReplayModel(default=CLEARED)
    handler = build_handler(
        model=model,
        history=DynamoHistory(conversations_table, client=client),
        publisher=VerdictPublisher(SqliteVerdictSink(":memory:"), None),
        settings=Settings(),
        metrics=None,
    )

    # WHEN its next message is streamed
    response = handler({"Records": [stream_record(message, 1)]})

    # THEN it is judged (before the fix every later judgement of it failed, forever)
    assert response == {"batchItemFailures": []}
    assert len(model.history) == 1
    # read, filler collapsed (the model reads the stored cut's marker as written)
    assert "pad [… repeated 70000 times]" in model.history[0].user


def test_messages_flooded_past_the_window_in_one_batch_are_still_shown_to_the_model():
    # The prompt's window is 20 messages: a scam followed in the same batch by 20 more
    # messages of its conversation was covered by the verdict but never shown to the
    # model. The batch is now judged at checkpoints whose windows tile its new messages.
    cid = "conv-pushed-out"
    texts = ["send a 3000 dollar deposit by wire before the visit"] + [
        f"ok thanks {i}" for i in range(25)
    ]
    records = [
        stream_record(
            Message(conversation_id=cid, timestamp=T0 + timedelta(seconds=i), sender="seller",
                    text=text),
            i + 1,
        )
        for i, text in enumerate(texts)
    ]  # fmt: skip
    model = ReplayModel(default=CLEARED)
    handler = build_handler(
        model=model,
        history=SqliteHistory(),
        publisher=VerdictPublisher(SqliteVerdictSink(":memory:"), None),
        settings=Settings(),
        metrics=None,
    )

    report = handler.run({"Records": records})

    assert report.response == {"batchItemFailures": []}
    assert any("deposit" in prompt.user for prompt in model.history)
    # every new message was shown, in two calls, the newest window last
    shown = [m.text for prompt in model.history for m in prompt.conversation.messages]
    assert sorted(shown) == sorted(texts) and len(model.history) == 2
    assert model.history[-1].conversation.last.text == texts[-1]
    assert report.counts()["MessagesUnseen"] == 0


@pytest.mark.slow
@pytest.mark.timeout(600)  # about 100 s; the suite's default limit is 120 s
def test_full_reliability_run_meets_its_targets():
    figures = {name: value for name, value, _ in run(quick=False)}
    assert figures["hostile_inputs_tried"] > 4000
    for target in (
        "stream.records_lost",
        "stream.duplicate_verdicts",
        "stream.events_missing",
        "skill.answers_over_deadline",
        "skill.turns_unanswered",
    ):
        assert figures[target] == 0, target
