"""Verdict sinks on moto's server: idempotent writes, EventBridge delivery, publish-once."""

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipeline.sinks import (
    DynamoVerdictSink,
    EventBridgeSink,
    PublishError,
    SqliteVerdictSink,
    VerdictPublisher,
    create_verdicts_table,
    envelope,
    event_id,
    stored_verdict,
    verdict_key,
)
from pipeline.verdict import Verdict

AT = datetime(2024, 5, 1, 9, 5, tzinfo=UTC)


def a_verdict(
    cid: str = "conv-1", suspicious: bool | None = True, prompt: str = "suspicious-conversation@2"
) -> Verdict:
    return Verdict(
        conversation_id=cid,
        last_message_at=AT,
        suspicious=suspicious,
        score=None if suspicious is None else (0.9 if suspicious else 0.1),
        status="undetermined" if suspicious is None else "scored",
        model_id="replay",
        prompt=prompt,
    )


@contextmanager
def open_verdicts_table(aws_client) -> Iterator[str]:
    """A fresh verdicts table on moto, deleted afterwards."""
    name = f"verdicts-{uuid.uuid4().hex[:8]}"
    client = aws_client("dynamodb")
    create_verdicts_table(client, name)
    yield name
    client.delete_table(TableName=name)


@pytest.fixture
def verdicts_table(aws_client) -> Iterator[str]:
    with open_verdicts_table(aws_client) as name:
        yield name


@dataclass
class Bus:
    """An EventBridge bus on moto with a rule that delivers parley's events to SQS."""

    name: str
    client: Any
    sqs: Any
    queue_url: str

    def received(self) -> list[dict]:
        """Every event delivered so far (drains the queue)."""
        events = []
        while True:
            reply = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = reply.get("Messages", [])
            if not messages:
                return events
            for m in messages:
                events.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])


@contextmanager
def open_event_bus(aws_client) -> Iterator[Bus]:
    """A bus with an SQS-delivering rule on moto, deleted afterwards."""
    suffix = uuid.uuid4().hex[:8]
    events, sqs = aws_client("events"), aws_client("sqs")
    name = f"parley-{suffix}"
    events.create_event_bus(Name=name)
    queue_url = sqs.create_queue(QueueName=f"verdicts-{suffix}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="all-verdicts", EventBusName=name, EventPattern=json.dumps({"source": ["parley"]})
    )
    events.put_targets(
        Rule="all-verdicts", EventBusName=name, Targets=[{"Id": "queue", "Arn": arn}]
    )
    yield Bus(name, events, sqs, queue_url)
    events.remove_targets(Rule="all-verdicts", EventBusName=name, Ids=["queue"])
    events.delete_rule(Name="all-verdicts", EventBusName=name)
    events.delete_event_bus(Name=name)
    sqs.delete_queue(QueueUrl=queue_url)


@pytest.fixture
def event_bus(aws_client) -> Iterator[Bus]:
    with open_event_bus(aws_client) as bus:
        yield bus


class FailingFirst:
    """Wraps an EventBridge client: the first `failures` PutEvents calls report failed entries."""

    def __init__(self, client: Any, failures: int = 1) -> None:
        self.client = client
        self.failures = failures
        self.calls = 0

    def put_events(self, Entries):
        self.calls += 1
        if self.calls <= self.failures:
            return {
                "FailedEntryCount": len(Entries),
                "Entries": [{"ErrorCode": "InternalFailure"} for _ in Entries],
            }
        return self.client.put_events(Entries=Entries)


def test_key_and_envelope_are_deterministic():
    verdict = a_verdict()
    key = verdict_key("conv-1", AT, "suspicious-conversation@2")
    assert key.sk == "2024-05-01T09:05:00.000000Z#suspicious-conversation@2"
    assert verdict_key("conv-1", AT, "p@1", shadow=True).sk.startswith("shadow#")
    first = envelope(stored_verdict(verdict, correlation_id="evt-1"))
    again = envelope(stored_verdict(verdict, correlation_id="evt-1"))
    assert first["id"] == again["id"] == event_id(key)
    assert str(uuid.UUID(first["id"])) == first["id"]
    assert first["type"] == "parley.conversation.flagged" and first["version"] == "1"
    assert first["correlation_id"] == "evt-1"
    assert first["data"]["conversation_id"] == "conv-1"
    assert (
        envelope(stored_verdict(a_verdict(suspicious=None)))["type"]
        == "parley.conversation.undetermined"
    )
    assert (
        envelope(stored_verdict(a_verdict(suspicious=False)))["type"]
        == "parley.conversation.cleared"
    )
    assert envelope(stored_verdict(a_verdict(cid="conv-2")))["id"] != first["id"]


@pytest.mark.parametrize("kind", ["dynamodb", "sqlite"])
def test_conditional_write_reports_duplicates(kind, aws_client, verdicts_table, tmp_path):
    store = (
        DynamoVerdictSink(verdicts_table, client=aws_client("dynamodb"))
        if kind == "dynamodb"
        else SqliteVerdictSink(tmp_path / "v.db")
    )
    first = store.write(stored_verdict(a_verdict(), correlation_id="evt-1"))
    # a second judgement of the same key (e.g. a redelivery) is a duplicate, and the first stays
    second = store.write(stored_verdict(a_verdict(suspicious=False), correlation_id="evt-2"))
    assert (first.duplicate, second.duplicate) == (False, True)
    assert second.stored.verdict.suspicious is True and second.stored.correlation_id == "evt-1"
    key = first.stored.key
    assert store.get(key).published is False
    store.mark_published(key)
    assert store.get(key).published is True
    # shadow verdicts live apart from the primary
    shadow = store.write(stored_verdict(a_verdict(), shadow=True))
    assert shadow.duplicate is False and shadow.stored.key.sk.startswith("shadow#")
    if kind == "dynamodb":
        items = aws_client("dynamodb").scan(TableName=verdicts_table)["Items"]
        assert len(items) == 2
        assert {i["sk"]["S"] for i in items} == {key.sk, "shadow#" + key.sk}


def test_eventbridge_delivers_the_envelope(aws_client, event_bus):
    sink = EventBridgeSink(event_bus.name, client=aws_client("events"))
    env = envelope(stored_verdict(a_verdict(), correlation_id="evt-1"))
    sink.publish([env])
    (event,) = event_bus.received()
    assert event["source"] == "parley"
    assert event["detail-type"] == "parley.conversation.flagged"
    assert event["detail"] == env


def test_eventbridge_failed_entries_raise_a_retryable_error(aws_client, event_bus):
    sink = EventBridgeSink(event_bus.name, client=FailingFirst(aws_client("events")))
    with pytest.raises(PublishError, match="InternalFailure") as caught:
        sink.publish([envelope(stored_verdict(a_verdict()))])
    assert caught.value.retryable is True
    assert event_bus.received() == []


def test_publisher_writes_first_and_publishes_once(aws_client, verdicts_table, event_bus):
    store = DynamoVerdictSink(verdicts_table, client=aws_client("dynamodb"))
    publisher = VerdictPublisher(
        store, EventBridgeSink(event_bus.name, client=aws_client("events"))
    )
    first = publisher.deliver(a_verdict(), correlation_id="evt-1")
    again = publisher.deliver(a_verdict(), correlation_id="evt-9")
    assert (first.duplicate, first.published) == (False, True)
    assert (again.duplicate, again.published) == (True, False)
    assert len(event_bus.received()) == 1
    assert store.get(first.stored.key).published is True


def test_publish_failure_after_write_is_made_good_on_redelivery(
    aws_client, verdicts_table, event_bus
):
    store = DynamoVerdictSink(verdicts_table, client=aws_client("dynamodb"))
    flaky = FailingFirst(aws_client("events"))
    publisher = VerdictPublisher(store, EventBridgeSink(event_bus.name, client=flaky))
    # WHEN the write succeeds and the publish fails
    with pytest.raises(PublishError):
        publisher.deliver(a_verdict(), correlation_id="evt-1")
    key = verdict_key("conv-1", AT, "suspicious-conversation@2")
    assert store.get(key).published is False
    # THEN the redelivery finds the unpublished item and publishes it, once
    retry = publisher.deliver(a_verdict(), correlation_id="evt-1")
    assert (retry.duplicate, retry.published) == (True, True)
    third = publisher.deliver(a_verdict(), correlation_id="evt-1")
    assert third.published is False
    (event,) = event_bus.received()
    assert event["detail"]["id"] == event_id(key)
    assert event["detail"]["correlation_id"] == "evt-1"


def test_shadow_verdicts_are_never_published(aws_client, event_bus, tmp_path):
    store = SqliteVerdictSink(tmp_path / "v.db")
    publisher = VerdictPublisher(
        store, EventBridgeSink(event_bus.name, client=aws_client("events"))
    )
    delivery = publisher.deliver(a_verdict(prompt="suspicious-conversation@1"), shadow=True)
    assert delivery.published is False and delivery.stored.shadow is True
    assert event_bus.received() == []
    assert [s.key.sk for s in store.all()] == [delivery.stored.key.sk]


def test_without_an_event_sink_verdicts_are_only_stored(tmp_path):
    store = SqliteVerdictSink(":memory:")
    publisher = VerdictPublisher(store)
    delivery = publisher.deliver(a_verdict())
    assert delivery.published is False and publisher.is_complete(delivery.stored)
    assert len(store.all()) == 1


class MarkFails:
    """A verdict store whose `published` mark is refused (a throttled UpdateItem)."""

    def __init__(self, store):
        self.store = store
        self.marks_refused = 0

    def write(self, record):
        return self.store.write(record)

    def get(self, key):
        return self.store.get(key)

    def mark_published(self, key):
        self.marks_refused += 1
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "UpdateItem",
        )


def test_a_refused_mark_after_the_publish_neither_fails_nor_repeats_the_event(
    aws_client, verdicts_table, event_bus
):
    store = MarkFails(DynamoVerdictSink(verdicts_table, client=aws_client("dynamodb")))
    publisher = VerdictPublisher(
        store, EventBridgeSink(event_bus.name, client=aws_client("events"))
    )
    # WHEN the event goes out and the mark is refused
    first = publisher.deliver(a_verdict(), correlation_id="evt-1")
    # THEN the delivery succeeds (failing it would only make the redelivery re-send)
    assert (first.duplicate, first.published) == (False, True)
    assert store.marks_refused == 1
    assert store.get(first.stored.key).published is False
    # AND a redelivery to the same process sends no second event
    again = publisher.deliver(a_verdict(), correlation_id="evt-1")
    assert (again.duplicate, again.published) == (True, False)
    assert len(event_bus.received()) == 1
