"""The stream handler end to end: real-shaped records, moto's DynamoDB/EventBridge/SQS."""

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.stream_throughput import stream_record
from pipeline import stream as stream_module
from pipeline.conversation import Message, parse_timestamp
from pipeline.errors import ModelError, ThrottledError
from pipeline.history import DynamoHistory, SqliteHistory
from pipeline.models.replay import ReplayModel
from pipeline.records import parse_stream_event
from pipeline.settings import Settings
from pipeline.sinks import (
    DynamoVerdictSink,
    EventBridgeSink,
    SqliteVerdictSink,
    VerdictPublisher,
    verdict_key,
)
from pipeline.stream import build_handler, build_handler_from_settings
from tests.conftest import REPO, load_fixture
from tests.test_sinks import FailingFirst, open_event_bus, open_verdicts_table

FLAGGED = {
    "suspicious": True,
    "score": 0.93,
    "categories": ["advance_fee_deposit"],
    "rationale": "deposit before a visit",
}
CLEARED = {"suspicious": False, "score": 0.04, "categories": [], "rationale": "ordinary sale"}


@pytest.fixture
def event_bus(aws_client):
    with open_event_bus(aws_client) as bus:
        yield bus


@pytest.fixture
def verdicts_table(aws_client):
    with open_verdicts_table(aws_client) as name:
        yield name


class FakeContext:
    """A Lambda context whose remaining time the test controls."""

    aws_request_id = "req-123"
    function_name = "parley-stream"

    def __init__(self, remaining_ms: int = 300_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class PerConversation:
    """One ReplayModel per conversation id (or per prompt ref): deterministic under concurrency."""

    model_id = "replay"

    def __init__(
        self, scripts: dict[str, list], default: Any = CLEARED, by: str = "conversation"
    ) -> None:
        self.models = {
            key: ReplayModel(answers, default=default) for key, answers in scripts.items()
        }
        self.fallback = ReplayModel(default=default)
        self.by = by

    def generate(self, prompt, **kwargs):
        key = prompt.conversation.id if self.by == "conversation" else prompt.ref
        return self.models.get(key, self.fallback).generate(prompt, **kwargs)

    def calls(self, key: str) -> int:
        return len(self.models[key].history)


def make(model, *, history=None, store=None, events=None, sleeps=None, metrics=None, **overrides):
    settings = Settings(**{"max_concurrency": 4, "min_remaining_ms": 10_000, **overrides})
    store = store if store is not None else SqliteVerdictSink(":memory:")
    return build_handler(
        model=model,
        history=history if history is not None else SqliteHistory(":memory:"),
        publisher=VerdictPublisher(store, events),
        settings=settings,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
        metrics=metrics,
    )


def sequence_numbers(event, conversation_id: str | None = None) -> list[str]:
    return [
        r["dynamodb"]["SequenceNumber"]
        for r in event["Records"]
        if conversation_id is None or r["dynamodb"]["NewImage"]["Id"]["S"] == conversation_id
    ]


def failures(response) -> list[str]:
    return sorted(f["itemIdentifier"] for f in response["batchItemFailures"])


def test_skipped_records_never_fail_the_batch():
    model = ReplayModel(default=CLEARED)
    handler = make(model)
    report = handler.run(load_fixture("streams/marketplace-skips.json"), FakeContext())
    assert report.response == {"batchItemFailures": []}
    assert len(report.skipped) == 7 and sum(report.skipped.values()) == 7
    # the one usable conversation was judged once, on both of its messages
    assert len(model.history) == 1
    assert [m.sender for m in model.history[0].conversation.messages] == ["buyer", "seller"]
    assert report.counts()["RecordsProcessed"] == 2 and report.counts()["RecordsSkipped"] == 7


def test_original_sam_sample_is_skipped_not_crashed():
    model = ReplayModel(default=CLEARED)
    report = make(model).run(
        load_fixture("streams/sam-dynamodb-update-original.json"), FakeContext()
    )
    assert report.response == {"batchItemFailures": []}
    assert {str(k): v for k, v in report.skipped.items()} == {"unknown_shape": 2, "not_insert": 1}
    assert model.history == []


def test_five_records_of_one_conversation_make_one_model_call():
    event = load_fixture("streams/marketplace-burst.json")
    model = PerConversation({"conv-bike-sale": [], "conv-sofa": []})
    store = SqliteVerdictSink(":memory:")
    report = make(model, store=store).run(event, FakeContext())
    assert report.response == {"batchItemFailures": []}
    assert model.calls("conv-bike-sale") == 1 and model.calls("conv-sofa") == 1
    bike = next(o for o in report.outcomes if o.conversation_id == "conv-bike-sale")
    assert len(bike.item_ids) == 5 and bike.status == "judged"
    newest = max(
        parse_timestamp(r["dynamodb"]["NewImage"]["timestamp"]["S"])
        for r in event["Records"]
        if r["dynamodb"]["Keys"]["Id"]["S"] == "conv-bike-sale"
    )
    assert bike.verdict.last_message_at == newest
    assert report.counts()["RecordsProcessed"] == 7
    assert sorted(s.key.pk for s in store.all()) == ["conv-bike-sale", "conv-sofa"]


def test_history_newest_n_in_order_plus_the_batch_when_the_store_lags():
    # GIVEN 30 older messages in the store, and a batch of 5 newer ones not yet in it
    history = SqliteHistory(":memory:")
    event = load_fixture("streams/marketplace-burst.json")
    first_new = min(
        r.message.timestamp
        for r in parse_stream_event(event)
        if r.message.conversation_id == "conv-bike-sale"
    )
    history.append_many(
        Message(
            conversation_id="conv-bike-sale",
            timestamp=first_new - timedelta(hours=30 - i),
            sender="buyer",
            text=f"older {i}",
        )
        for i in range(30)
    )
    model = PerConversation({"conv-bike-sale": []})
    make(model, history=history).run(event, FakeContext())
    # THEN the prompt held the newest 20 (v2's window) in order: 15 stored + the 5 new
    (prompt,) = model.models["conv-bike-sale"].history
    shown = prompt.conversation.messages
    assert len(shown) == 20 == prompt.messages_shown
    assert [m.text for m in shown[:15]] == [f"older {i}" for i in range(15, 30)]
    assert [m.timestamp for m in shown] == sorted(m.timestamp for m in shown)
    assert shown[-1].text == "Perfect, I will pay with the checkout now."
    assert 'messages="20"' in prompt.user


SCAM = "send a 3000 dollar deposit by wire before the visit"


def flood_event(cid: str = "conv-flood", n: int = 45) -> tuple[dict, list[Message]]:
    """n new messages of one conversation in one batch, the scam first."""
    start = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    messages = [
        Message(conversation_id=cid, timestamp=start + timedelta(seconds=i), sender="seller",
                text=SCAM if i == 0 else f"ok thanks {i}")
        for i in range(n)
    ]  # fmt: skip
    return {"Records": [stream_record(m, i + 1) for i, m in enumerate(messages)]}, messages


def test_a_flood_past_the_window_is_judged_at_checkpoints_and_redelivered_for_free():
    # GIVEN 45 new messages of one conversation in one batch (the table holds them too),
    # a scam first, then 44 harmless ones: more than twice the prompt's window of 20
    event, messages = flood_event()
    history = SqliteHistory(":memory:")
    history.append_many(messages)
    model = ReplayModel([FLAGGED], default=CLEARED)
    store = SqliteVerdictSink(":memory:")
    handler = make(model, history=history, store=store)

    # WHEN it is handled, then redelivered
    first = handler.run(event, FakeContext())
    second = handler.run(event, FakeContext())

    # THEN three checkpoints, oldest first, tile the 45 messages: the scam was shown
    assert first.response == second.response == {"batchItemFailures": []}
    ends = [p.conversation.last.timestamp for p in model.history]
    assert ends == [messages[i].timestamp for i in (4, 24, 44)]
    assert SCAM in model.history[0].user
    shown = [m.text for p in model.history for m in p.conversation.messages]
    assert shown == [m.text for m in messages]
    # a verdict is stored at each checkpoint; the newest is the conversation's verdict
    stored = sorted(store.all(), key=lambda s: s.key.sk)
    assert [s.verdict.last_message_at for s in stored] == ends
    assert [s.verdict.suspicious for s in stored] == [True, False, False]
    (outcome,) = first.outcomes
    assert outcome.status == "judged" and outcome.verdict.last_message_at == ends[-1]
    assert [(v.suspicious, new) for v, new in outcome.earlier] == [(True, True), (False, True)]
    counts = first.counts()
    assert (counts["ModelCalls"], counts["VerdictsFlagged"], counts["VerdictsCleared"]) == (3, 1, 2)
    assert counts["MessagesUnseen"] == 0 and counts["RecordsProcessed"] == 45
    # the redelivery finds every checkpoint stored: no model call, nothing new
    assert len(model.history) == 3
    assert second.outcomes[0].status == "already_done" and second.new_verdicts == []
    assert second.counts()["ModelCalls"] == 0


def test_a_failed_checkpoint_fails_the_conversation_and_its_redelivery_resumes():
    event, messages = flood_event()
    model = ReplayModel(
        [CLEARED, ModelError("bad request", retryable=False, code="ValidationException")],
        default=CLEARED,
    )
    store = SqliteVerdictSink(":memory:")
    handler = make(model, store=store)
    first = handler.run(event, FakeContext())
    # every record of the conversation comes back, though its oldest checkpoint is stored
    assert failures(first.response) == sorted(sequence_numbers(event))
    assert first.outcomes[0].error == "ValidationException"
    assert len(store.all()) == 1 and first.counts()["ModelCalls"] == 2
    # the redelivery judges only what is missing
    second = handler.run(event, FakeContext())
    assert second.response == {"batchItemFailures": []}
    assert [p.conversation.last.timestamp for p in model.history[2:]] == [
        messages[24].timestamp,
        messages[44].timestamp,
    ]
    assert len(store.all()) == 3 and second.counts()["ModelCalls"] == 2


def test_a_flood_stops_between_checkpoints_when_time_runs_out():
    event, _ = flood_event()
    context = FakeContext(remaining_ms=60_000)

    class ClockEater(ReplayModel):
        def generate(self, prompt, **kwargs):
            context.remaining_ms = 9_000  # the first checkpoint used up the budget
            return super().generate(prompt, **kwargs)

    model = ClockEater(default=CLEARED)
    report = make(model).run(event, context)
    assert len(model.history) == 1
    assert failures(report.response) == sorted(sequence_numbers(event))
    (outcome,) = report.outcomes
    assert (outcome.error, outcome.retryable) == ("NotFinished", True)


def test_a_flood_costs_one_shadow_call_and_the_pipe_lists_every_checkpoint():
    event, messages = flood_event()
    items = [r["dynamodb"]["NewImage"] for r in event["Records"]]
    model = PerConversation(
        {"suspicious-conversation@2": [FLAGGED], "suspicious-conversation@1": []}, by="prompt"
    )
    handler = make(model, shadow_prompt="suspicious-conversation@1")
    response = handler(items, FakeContext())
    assert model.calls("suspicious-conversation@2") == 3
    assert model.calls("suspicious-conversation@1") == 1
    (shadow,) = model.models["suspicious-conversation@1"].history
    assert shadow.conversation.last.timestamp == messages[-1].timestamp
    # oldest first: a consumer keeping a conversation's last verdict keeps the current one
    assert [v["suspicious"] for v in response["verdicts"]] == [True, False, False]
    assert response["failures"] == [] and response["skipped"] == []


def test_pipe_array_every_element_and_failures_listed():
    items = load_fixture("streams/pipe-array.json")
    model = PerConversation(
        {
            "conv-phone": [FLAGGED],
            "conv-lamp": [ModelError("bad request", retryable=False, code="ValidationException")],
        }
    )
    handler = make(model)
    response = handler(items, FakeContext())
    verdicts = {v["conversation_id"]: v for v in response["verdicts"]}
    assert set(verdicts) == {"conv-phone", "7001"}
    assert verdicts["conv-phone"]["suspicious"] is True
    # the phone verdict saw both of its messages (the original used only the first element)
    (prompt,) = model.models["conv-phone"].history
    assert len(prompt.conversation.messages) == 2
    assert response["failures"] == [
        {"index": 2, "conversation_id": "conv-lamp", "error": "ValidationException"}
    ]
    assert response["skipped"] == [{"index": 4, "reason": "missing_field"}]


def seed_table(history: DynamoHistory, event) -> None:
    # The stream carries what the table already holds: put the INSERT images in it.
    for record in parse_stream_event(event):
        if record.message is not None:
            history.append(record.message)


def test_redelivered_batch_writes_and_publishes_once_on_moto(
    aws_client, conversations_table, verdicts_table, event_bus
):
    event = load_fixture("streams/marketplace-insert-modify-remove.json")
    history = DynamoHistory(conversations_table, client=aws_client("dynamodb"))
    seed_table(history, event)
    model = ReplayModel(default=FLAGGED)
    handler = make(
        model,
        history=history,
        store=DynamoVerdictSink(verdicts_table, client=aws_client("dynamodb")),
        events=EventBridgeSink(event_bus.name, client=aws_client("events")),
    )
    first = handler.run(event, FakeContext())
    second = handler.run(event, FakeContext())
    assert first.response == second.response == {"batchItemFailures": []}
    # THEN one model call, one item, one event: the redelivery was recognised
    assert len(model.history) == 1
    assert [m.sender for m in model.history[0].conversation.messages] == ["buyer", "seller"]
    assert second.outcomes[0].status == "already_done"
    items = aws_client("dynamodb").scan(TableName=verdicts_table)["Items"]
    assert len(items) == 1 and items[0]["published"]["BOOL"] is True
    (delivered,) = event_bus.received()
    assert delivered["detail-type"] == "parley.conversation.flagged"
    envelope = delivered["detail"]
    assert envelope["correlation_id"] == event["Records"][0]["eventID"]
    assert envelope["data"]["conversation_id"] == "conv-house-visit"
    assert set(envelope) == {"id", "type", "version", "time", "correlation_id", "data"}


def test_publish_failure_then_redelivery_publishes_exactly_once(aws_client, event_bus):
    event = load_fixture("streams/marketplace-insert-modify-remove.json")
    store = SqliteVerdictSink(":memory:")
    model = ReplayModel(default=FLAGGED)
    handler = make(
        model,
        store=store,
        events=EventBridgeSink(event_bus.name, client=FailingFirst(aws_client("events"))),
    )
    first = handler(event, FakeContext())
    # the verdict was written but not published: its records (the edit too) come back
    assert failures(first) == sorted(sequence_numbers(event)[:3])
    assert [s.published for s in store.all()] == [False]
    second = handler(event, FakeContext())
    assert second == {"batchItemFailures": []}
    assert len(event_bus.received()) == 1
    assert [s.published for s in store.all()] == [True]
    assert len(model.history) == 1


def test_retryable_error_then_success():
    sleeps: list[float] = []
    model = ReplayModel(
        [
            ThrottledError("slow down"),
            ModelError("busy", retryable=True, code="ServiceUnavailableException"),
            FLAGGED,
        ]
    )
    report = make(model, sleeps=sleeps).run(
        load_fixture("streams/marketplace-insert-modify-remove.json"), FakeContext()
    )
    assert report.response == {"batchItemFailures": []}
    assert report.verdicts[0].suspicious is True
    counts = report.counts()
    assert (counts["ModelCalls"], counts["ModelRetries"], counts["ModelThrottles"]) == (3, 2, 1)
    assert len(sleeps) == 2 and all(0 <= s <= 0.5 for s in sleeps)


def test_persistent_retryable_error_fails_exactly_that_conversations_records():
    event = load_fixture("streams/marketplace-burst.json")
    model = PerConversation({"conv-sofa": [ThrottledError("slow down")] * 10, "conv-bike-sale": []})
    store = SqliteVerdictSink(":memory:")
    report = make(model, store=store).run(event, FakeContext())
    assert failures(report.response) == sorted(sequence_numbers(event, "conv-sofa"))
    assert model.calls("conv-sofa") == stream_module.RETRY_ATTEMPTS
    assert [s.key.pk for s in store.all()] == ["conv-bike-sale"]
    assert report.counts()["BatchItemFailures"] == 2


def test_non_retryable_error_fails_without_retry():
    event = load_fixture("streams/marketplace-insert-modify-remove.json")
    model = ReplayModel(
        [ModelError("schema refused", retryable=False, code="ValidationException")], default=CLEARED
    )
    report = make(model).run(event, FakeContext())
    assert failures(report.response) == sorted(sequence_numbers(event)[:3])
    assert len(model.history) == 1
    assert (
        report.outcomes[0].error == "ValidationException" and report.outcomes[0].retryable is False
    )


def test_every_record_failing_returns_the_list_instead_of_raising():
    event = load_fixture("streams/marketplace-burst.json")
    report = make(ReplayModel(default=ThrottledError("quota"))).run(event, FakeContext())
    assert failures(report.response) == sorted(sequence_numbers(event))


def test_unparseable_answer_is_an_undetermined_verdict_published(aws_client, event_bus):
    event = load_fixture("streams/marketplace-insert-modify-remove.json")
    model = ReplayModel(default="I am not sure what you mean.")
    report = make(model, events=EventBridgeSink(event_bus.name, client=aws_client("events"))).run(
        event, FakeContext()
    )
    assert report.response == {"batchItemFailures": []}
    (verdict,) = report.verdicts
    assert verdict.status == "undetermined" and verdict.suspicious is None and verdict.score is None
    (delivered,) = event_bus.received()
    assert delivered["detail-type"] == "parley.conversation.undetermined"
    assert report.counts()["VerdictsUndetermined"] == 1


def test_no_new_work_when_the_remaining_time_is_short():
    event = load_fixture("streams/marketplace-burst.json")
    model = ReplayModel(default=CLEARED)
    report = make(model).run(event, FakeContext(remaining_ms=5_000))
    assert failures(report.response) == sorted(sequence_numbers(event))
    assert model.history == []
    assert {o.status for o in report.outcomes} == {"not_started"}


def test_work_stops_when_time_runs_out_mid_batch():
    event = load_fixture("streams/marketplace-burst.json")
    context = FakeContext(remaining_ms=60_000)

    class ClockEater(ReplayModel):
        def generate(self, prompt, **kwargs):
            context.remaining_ms = 9_000  # the first call used up the budget
            return super().generate(prompt, **kwargs)

    model = ClockEater(default=CLEARED)
    report = make(model, max_concurrency=1).run(event, context)
    assert len(model.history) == 1
    assert failures(report.response) == sorted(sequence_numbers(event, "conv-sofa"))


def test_conversations_are_judged_concurrently_up_to_the_bound():
    event = load_fixture("streams/marketplace-skips.json")
    event["Records"] += load_fixture("streams/marketplace-burst.json")["Records"]
    barrier = threading.Barrier(3, timeout=10)

    class Meeting(ReplayModel):
        def generate(self, prompt, **kwargs):
            barrier.wait()  # passes only if three calls are in flight at once
            return super().generate(prompt, **kwargs)

    report = make(Meeting(default=CLEARED), max_concurrency=3).run(event, FakeContext())
    assert report.response == {"batchItemFailures": []}
    assert len(report.verdicts) == 3


def test_shadow_prompt_verdicts_are_stored_apart_and_never_published(aws_client, event_bus):
    event = load_fixture("streams/marketplace-insert-modify-remove.json")
    model = PerConversation(
        {"suspicious-conversation@2": [FLAGGED], "suspicious-conversation@1": ["1"]}, by="prompt"
    )
    store = SqliteVerdictSink(":memory:")
    handler = make(
        model,
        store=store,
        events=EventBridgeSink(event_bus.name, client=aws_client("events")),
        shadow_prompt="suspicious-conversation@1",
    )
    report = handler.run(event, FakeContext())
    assert report.response == {"batchItemFailures": []}
    by_shadow = {s.shadow: s for s in store.all()}
    assert (
        by_shadow[True].key.sk.startswith("shadow#")
        and by_shadow[True].verdict.prompt == "suspicious-conversation@1"
    )
    assert by_shadow[True].verdict.suspicious is True and by_shadow[True].published is False
    assert by_shadow[False].published is True
    assert [e["detail"]["data"]["prompt"] for e in event_bus.received()] == [
        "suspicious-conversation@2"
    ]
    assert report.counts()["ShadowVerdicts"] == 1


def test_shadow_failure_never_fails_the_batch():
    event = load_fixture("streams/marketplace-insert-modify-remove.json")
    model = PerConversation(
        {"suspicious-conversation@1": [ModelError("nope", retryable=False)]}, by="prompt"
    )
    store = SqliteVerdictSink(":memory:")
    report = make(model, store=store, shadow_prompt="suspicious-conversation@1").run(
        event, FakeContext()
    )
    assert report.response == {"batchItemFailures": []}
    assert [s.shadow for s in store.all()] == [False]
    assert report.counts()["ShadowFailures"] == 1


def test_metrics_are_emitted_in_embedded_metric_format(capsys):
    handler = make(ReplayModel(default=FLAGGED), metrics=stream_module.metrics)
    handler(load_fixture("streams/marketplace-skips.json"), FakeContext())
    blobs = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{") and "_aws" in line
    ]
    (blob,) = blobs
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "parley"
    names = {m["Name"] for m in directive["Metrics"]}
    assert {
        "RecordsReceived",
        "RecordsSkipped",
        "ModelCalls",
        "BatchItemFailures",
        "VerdictsFlagged",
    } <= names
    assert (blob["RecordsReceived"], blob["RecordsSkipped"], blob["VerdictsFlagged"]) == (
        [9.0],
        [7.0],
        [1.0],
    )


def test_lambda_handler_builds_lazily_from_settings(monkeypatch, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([FLAGGED]))
    monkeypatch.setenv("PARLEY_MODEL", f"replay:{answers}")
    monkeypatch.setenv("PARLEY_VERDICTS_SQLITE", str(tmp_path / "verdicts.db"))
    handler = build_handler_from_settings()
    assert handler._handler is None  # nothing built before the first event
    event = load_fixture("streams/marketplace-insert-modify-remove.json")
    assert handler(event, FakeContext()) == {"batchItemFailures": []}
    built = handler.handler
    assert handler(event, FakeContext()) == {"batchItemFailures": []}
    assert handler.handler is built  # once per container
    stored = SqliteVerdictSink(tmp_path / "verdicts.db").all()
    (verdict,) = stored
    assert verdict.key == verdict_key(
        "conv-house-visit",
        parse_timestamp("2024-05-01T09:05:00Z"),
        "suspicious-conversation@2",
        digest=verdict.verdict.window_digest,
    )
    assert verdict.verdict.edited  # the batch's MODIFY changed the newest message's text


def test_handler_module_imports_no_langchain_and_no_boto3():
    code = "import sys, pipeline.stream; print(sorted(m for m in ('boto3', 'langchain_core', 'langchain_aws', 'jinja2') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert out.strip() == "[]"


def cli(capsys, *argv):
    from pipeline.cli import main

    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_replay_prints_the_summary(capsys, tmp_path):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([FLAGGED, CLEARED]))
    fixture = str(REPO / "tests/fixtures/streams/marketplace-skips.json")
    args = [
        "stream",
        "replay",
        fixture,
        "--model",
        f"replay:{answers}",
        "--history",
        f"sqlite:{tmp_path / 'h.db'}",
        "--verdicts",
        f"sqlite:{tmp_path / 'v.db'}",
    ]
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    lines = dict(
        line.split(None, 1) if " " in line.strip() else (line, "")
        for line in out.splitlines()
        if line and not line.startswith("conv-")
    )
    assert lines["records"].strip() == "9"
    assert lines["skipped"].strip() == "7" and lines["skill_record"].strip() == "1"
    assert lines["conversations"].strip() == "1" and lines["flagged"].strip() == "1"
    assert "conv-camera  SUSPICIOUS  0.93" in out
    assert "Does the camera" not in out  # ids and verdicts, never message text
    # a replay of the same file is recognised: no model call, nothing new
    code, out, _ = cli(capsys, *args, "--json")
    summary = json.loads(out)
    assert (summary["model_calls"], summary["already_done"], summary["new_verdicts"]) == (0, 1, 0)
    assert summary["response"] == {"batchItemFailures": []}


def test_cli_replay_bad_file_is_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    code, _, err = cli(capsys, "stream", "replay", str(bad), "--verdicts", "sqlite::memory:")
    assert code == 2 and err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_cli_watch_reads_the_table_stream(
    capsys, tmp_path, aws_client, conversations_table, moto_server
):
    history = DynamoHistory(conversations_table, client=aws_client("dynamodb"))
    seed_table(history, load_fixture("streams/marketplace-burst.json"))
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([FLAGGED]))
    code, out, err = cli(
        capsys,
        "stream",
        "watch",
        "--table",
        conversations_table,
        "--endpoint-url",
        moto_server,
        "--iterations",
        "1",
        "--from",
        "trim-horizon",
        "--model",
        f"replay:{answers}",
        "--verdicts",
        f"sqlite:{tmp_path / 'v.db'}",
    )
    assert code == 0, err
    lines = sorted(out.splitlines())
    assert len(lines) == 2
    assert lines[0].startswith("conv-bike-sale  ") and "5 record(s)" in lines[0]
    assert lines[1].startswith("conv-sofa  ") and "2 record(s)" in lines[1]
    assert "checkout" not in out


@pytest.mark.parametrize("event", [{}, {"Records": "nope"}, {"Records": []}, None, 42])
def test_events_that_are_not_batches_do_not_crash(event):
    model = ReplayModel(default=CLEARED)
    response = make(model)(event, FakeContext())
    assert response == {"batchItemFailures": []}
    assert model.history == []


# -- the Bedrock model over loopback, against parley's emulator -----------------------


def bedrock(client):
    from pipeline.models import resolve

    return resolve("bedrock:amazon.nova-micro-v1:0", client=client)


def test_bedrock_model_on_the_emulator_end_to_end(
    bedrock_emulator, emulator_client, aws_client, verdicts_table, event_bus
):
    from pipeline.emulator import ScriptedResponder

    responder = ScriptedResponder(by_substring={"5000 dollar deposit": FLAGGED}, fallback=CLEARED)
    bedrock_emulator.responder = responder
    event = load_fixture("streams/marketplace-burst.json")
    event["Records"] += load_fixture("streams/marketplace-insert-modify-remove.json")["Records"]
    handler = make(
        bedrock(emulator_client),
        store=DynamoVerdictSink(verdicts_table, client=aws_client("dynamodb")),
        events=EventBridgeSink(event_bus.name, client=aws_client("events")),
    )
    report = handler.run(event, FakeContext())
    assert report.response == {"batchItemFailures": []}
    # 9 INSERTs over 3 conversations: 3 Converse calls reached the endpoint
    assert bedrock_emulator.stats.served == 3 == len(responder.requests)
    assert all(r.forced_tool == "record_verdict" for r in responder.requests)
    verdicts = {v.conversation_id: v for v in report.verdicts}
    assert verdicts["conv-house-visit"].suspicious is True
    assert verdicts["conv-house-visit"].model_id == "amazon.nova-micro-v1:0"
    assert verdicts["conv-bike-sale"].suspicious is False
    types = sorted(e["detail-type"] for e in event_bus.received())
    assert types == [
        "parley.conversation.cleared",
        "parley.conversation.cleared",
        "parley.conversation.flagged",
    ]


def test_emulator_throttle_is_retried_by_the_handler(bedrock_emulator, emulator_client):
    from pipeline.emulator import EmulatorReply, ScriptedResponder

    # the client never retries: the handler's own backoff must do it
    bedrock_emulator.responder = ScriptedResponder(
        [EmulatorReply(error="ThrottlingException"), FLAGGED]
    )
    sleeps: list[float] = []
    report = make(bedrock(emulator_client), sleeps=sleeps).run(
        load_fixture("streams/marketplace-insert-modify-remove.json"), FakeContext()
    )
    assert report.response == {"batchItemFailures": []}
    assert report.verdicts[0].suspicious is True
    assert (report.counts()["ModelThrottles"], report.counts()["ModelRetries"], len(sleeps)) == (
        1,
        1,
        1,
    )
    assert bedrock_emulator.stats.by_error["ThrottlingException"] == 1


def test_emulator_persistent_5xx_fails_only_that_conversation(bedrock_emulator, emulator_client):
    from pipeline.emulator import EmulatorReply, ScriptedResponder

    bedrock_emulator.responder = ScriptedResponder(
        by_substring={"sofa": EmulatorReply(error="ServiceUnavailableException")}, fallback=CLEARED
    )
    event = load_fixture("streams/marketplace-burst.json")
    report = make(bedrock(emulator_client)).run(event, FakeContext())
    assert failures(report.response) == sorted(sequence_numbers(event, "conv-sofa"))
    sofa = next(o for o in report.outcomes if o.conversation_id == "conv-sofa")
    assert (
        sofa.error == "ServiceUnavailableException"
        and sofa.stats.calls == stream_module.RETRY_ATTEMPTS
    )


def test_emulator_malformed_answer_is_undetermined(bedrock_emulator, emulator_client):
    bedrock_emulator.configure(malformed_rate=1.0)
    report = make(bedrock(emulator_client)).run(
        load_fixture("streams/marketplace-insert-modify-remove.json"), FakeContext()
    )
    assert report.response == {"batchItemFailures": []}
    (verdict,) = report.verdicts
    assert verdict.status == "undetermined" and verdict.suspicious is None
    assert report.counts()["VerdictsUndetermined"] == 1


def test_deployed_wiring_from_settings_against_emulator_and_moto(
    monkeypatch,
    bedrock_emulator,
    moto_server,
    aws_client,
    conversations_table,
    verdicts_table,
    event_bus,
):
    # GIVEN the environment the SAM template sets, with local endpoints
    event = load_fixture("streams/marketplace-insert-modify-remove.json")
    seed_table(DynamoHistory(conversations_table, client=aws_client("dynamodb")), event)
    for key, value in {
        "PARLEY_MODEL": "bedrock:amazon.nova-micro-v1:0",
        "PARLEY_BEDROCK_ENDPOINT_URL": bedrock_emulator.endpoint_url,
        "PARLEY_AWS_ENDPOINT_URL": moto_server,
        "PARLEY_HISTORY": f"dynamodb:{conversations_table}",
        "PARLEY_VERDICTS_TABLE": verdicts_table,
        "PARLEY_EVENT_BUS": event_bus.name,
    }.items():
        monkeypatch.setenv(key, value)
    handler = build_handler_from_settings()
    # WHEN the same batch arrives twice
    assert handler(event, FakeContext()) == {"batchItemFailures": []}
    assert handler(event, FakeContext()) == {"batchItemFailures": []}
    # THEN one Bedrock call, one verdict item, one event; adaptive retries without pacing
    assert bedrock_emulator.stats.served == 1
    assert len(aws_client("dynamodb").scan(TableName=verdicts_table)["Items"]) == 1
    assert len(event_bus.received()) == 1
    assert handler.handler.model.client.meta.config.retries["mode"] == "adaptive"


def test_pacing_setting_paces_and_switches_to_standard_retries():
    from pipeline.stream import _model_options, bedrock_retries

    paced = Settings(model_rpm=300, model="bedrock:amazon.nova-micro-v1:0")
    assert bedrock_retries(Settings()) == {"mode": "adaptive", "total_max_attempts": 6}
    # paced: every attempt goes through the pacer, so botocore makes one and the handler retries
    assert bedrock_retries(paced) == {"mode": "standard", "total_max_attempts": 1}
    assert (
        _model_options(paced, None)["retry_mode"],
        _model_options(paced, None)["max_attempts"],
    ) == ("standard", 1)
    handler = make(ReplayModel(default=CLEARED), model_rpm=300)
    assert handler.pacer is not None and handler.pacer.interval == pytest.approx(0.2)
    assert make(ReplayModel(default=CLEARED)).pacer is None
