"""The quiet period: risky conversations judged at once, the others once quiet, through a
real SQS delay queue on moto's server; nothing lost, nothing judged twice."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.stream_throughput import stream_record
from pipeline.conversation import Message
from pipeline.errors import ModelError
from pipeline.history import SqliteHistory
from pipeline.models.replay import ReplayModel
from pipeline.quiet import QuietPolicy, SqsWakeUpQueue, WakeUp, has_cue
from pipeline.quiet_worker import QuietWorker
from pipeline.settings import Settings
from pipeline.sinks import SqliteVerdictSink, VerdictPublisher
from pipeline.stream import build_handler

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
CLEARED = {"suspicious": False, "score": 0.05, "categories": [], "rationale": ""}


class Context:
    aws_request_id = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 100_000


def msg(cid: str, seconds: int, text: str, sender: str = "buyer") -> Message:
    return Message(
        conversation_id=cid, timestamp=T0 + timedelta(seconds=seconds), sender=sender, text=text
    )


@pytest.mark.parametrize(
    "text",
    [
        "Pay by gift card please",
        "send a 500 dollar deposit first",
        "write to me on WhatsApp",
        "call me at +33 6 12 34 56 78",
        "details at http://pay.example/login",
        "mail me: bob@example.org",
        "It is $450, final.",
    ],
)
def test_payment_and_contact_cues_are_risky(text: str) -> None:
    assert has_cue(text)


@pytest.mark.parametrize(
    "text",
    ["Is the bike still available?", "I can ship tomorrow with tracking.", "Photos tonight."],
)
def test_honest_messages_carry_no_cue(text: str) -> None:
    assert not has_cue(text)


def test_a_wake_up_round_trips_and_rejects_other_bodies() -> None:
    wake = WakeUp("c1", T0)
    assert WakeUp.from_body(wake.body()) == wake
    assert wake.is_stale(T0 + timedelta(seconds=1)) and not wake.is_stale(T0)
    with pytest.raises(Exception, match="not a wake-up"):
        WakeUp.from_body('{"conversation_id": "c1"}')


class Rig:
    """A stream handler with the quiet policy on a moto SQS queue, and its worker."""

    def __init__(self, sqs: Any, model: Any, quiet_s: int = 1) -> None:
        self.sqs = sqs
        self.url = sqs.create_queue(QueueName=f"wakeups-{time.monotonic_ns()}")["QueueUrl"]
        self.history = SqliteHistory(":memory:")
        self.store = SqliteVerdictSink(":memory:")
        self.model = model
        settings = Settings(max_concurrency=2, min_remaining_ms=1000)
        self.handler = build_handler(
            model=model,
            history=self.history,
            publisher=VerdictPublisher(self.store, None),
            settings=settings,
            metrics=None,
            sleep=lambda s: None,
            quiet=QuietPolicy(SqsWakeUpQueue(self.url, sqs), quiet_s),
        )
        self.worker = QuietWorker(self.handler.runner, self.history)
        self.sequence = 0

    def batch(self, *messages: Message) -> dict[str, Any]:
        self.history.append_many(list(messages))
        records = []
        for m in messages:
            self.sequence += 1
            records.append(stream_record(m, self.sequence))
        return self.handler({"Records": records}, Context())

    def wake_ups(self, wait_s: float = 0.0) -> list[dict[str, Any]]:
        """Every wake-up due after `wait_s`, received (not deleted)."""
        time.sleep(wait_s)
        received: list[dict[str, Any]] = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=30
            ).get("Messages", [])
            if not got:
                return received
            received += [{"messageId": m["MessageId"], "body": m["Body"]} for m in got]

    def verdict_stamps(self) -> list[tuple[str, datetime]]:
        return sorted(
            (v.verdict.conversation_id, v.verdict.last_message_at) for v in self.store.all()
        )


def test_honest_conversations_wait_for_quiet_and_a_risky_one_is_judged_at_once(
    aws_client: Any,
) -> None:
    model = ReplayModel(default=CLEARED)
    rig = Rig(aws_client("sqs"), model)
    # GIVEN two conversations over two batches; B's second message asks for a gift card
    first = rig.batch(msg("A", 0, "Is the bike still available?"), msg("B", 1, "Hello, the sofa?"))
    assert first == {"batchItemFailures": []} and model.history == []
    rig.batch(msg("A", 20, "Great, I will pay through the checkout."),
              msg("B", 21, "Pay by gift card, not the site.", "seller"))  # fmt: skip
    # THEN B is judged at once, A not yet
    assert [p.conversation.id for p in model.history] == ["B"]
    # WHEN the wake-ups come due (3 of them: A twice, B once)
    wakes = rig.wake_ups(wait_s=1.2)
    assert len(wakes) == 3
    report = rig.worker.run({"Records": wakes}, Context())
    # THEN A's older wake-up and B's are dropped as stale, A's newest is judged once
    assert (report.judged, report.dropped_stale, report.failed) == (1, 2, [])
    assert [p.conversation.id for p in model.history] == ["B", "A"]
    assert rig.verdict_stamps() == [
        ("A", T0 + timedelta(seconds=20)),
        ("B", T0 + timedelta(seconds=21)),
    ]
    # AND every message of A was shown in that one call
    assert len(model.history[-1].conversation.messages) == 2


def test_a_repeated_wake_up_makes_no_second_model_call(aws_client: Any) -> None:
    model = ReplayModel(default=CLEARED)
    rig = Rig(aws_client("sqs"), model)
    rig.batch(msg("A", 0, "Is the lamp still there?"))
    wakes = rig.wake_ups(wait_s=1.2)
    rig.worker.run({"Records": wakes}, Context())
    again = rig.worker.run({"Records": wakes}, Context())  # SQS delivers at least once
    assert len(model.history) == 1 and again.failed == []
    assert len(rig.verdict_stamps()) == 1


def test_a_failed_judgement_goes_back_to_the_queue_and_is_judged_once(aws_client: Any) -> None:
    model = ReplayModel([ModelError("boom", retryable=False)], default=CLEARED)
    rig = Rig(aws_client("sqs"), model)
    rig.batch(msg("A", 0, "Is the camera still there?"))
    wakes = rig.wake_ups(wait_s=1.2)
    failed = rig.worker.run({"Records": wakes}, Context())
    assert failed.response == {"batchItemFailures": [{"itemIdentifier": wakes[0]["messageId"]}]}
    assert rig.verdict_stamps() == []
    retried = rig.worker.run({"Records": wakes}, Context())
    assert retried.judged == 1 and len(rig.verdict_stamps()) == 1


def test_a_wake_up_that_cannot_be_sent_fails_its_records_for_redelivery(aws_client: Any) -> None:
    model = ReplayModel(default=CLEARED)
    rig = Rig(aws_client("sqs"), model)
    rig.sqs.delete_queue(QueueUrl=rig.url)
    response = rig.batch(msg("A", 0, "Is the car still for sale?"))
    assert len(response["batchItemFailures"]) == 1 and model.history == []


def test_a_malformed_wake_up_is_dropped_without_a_model_call(aws_client: Any) -> None:
    model = ReplayModel(default=CLEARED)
    rig = Rig(aws_client("sqs"), model)
    report = rig.worker.run({"Records": [{"messageId": "m1", "body": "hello"}]}, Context())
    assert (report.dropped_malformed, report.failed, model.history) == (1, [], [])


def test_the_deployed_worker_is_built_from_the_settings(monkeypatch: Any, tmp_path: Any) -> None:
    from pipeline.quiet_worker import worker_from_settings
    from pipeline.settings import get_settings

    monkeypatch.setenv("PARLEY_HISTORY", f"sqlite:{tmp_path / 'h.db'}")
    monkeypatch.setenv("PARLEY_VERDICTS_SQLITE", str(tmp_path / "v.db"))
    get_settings.cache_clear()
    worker = worker_from_settings()
    assert worker.group_template is not None
    assert worker.group_template.meta.ref == "suspicious-group@1"
    monkeypatch.setenv("PARLEY_QUIET_GROUP_PROMPT", "")
    get_settings.cache_clear()
    assert worker_from_settings().group_template is None
    get_settings.cache_clear()
