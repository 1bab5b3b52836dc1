"""Edited messages: a MODIFY that changes a message's text is judged, in context, once.

Records follow the SAM sample `sam local generate-event dynamodb update` (INSERT, MODIFY
with OldImage and NewImage, REMOVE; StreamViewType NEW_AND_OLD_IMAGES), rewritten to the
marketplace table's attributes.
"""

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.cli.stream import StreamPoller
from pipeline.conversation import Message, iso
from pipeline.history import DynamoHistory, SqliteHistory
from pipeline.models import resolve
from pipeline.records import SkipReason, parse_stream_event
from pipeline.settings import Settings
from pipeline.sinks import SqliteVerdictSink, VerdictPublisher
from pipeline.stream import build_handler
from tests.conftest import load_fixture

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def sam_records() -> dict[str, dict[str, Any]]:
    """The SAM sample's three records by event name (`sam local generate-event dynamodb
    update`, kept as tests/fixtures/streams/sam-dynamodb-update-original.json)."""
    event = load_fixture("streams/sam-dynamodb-update-original.json")
    return {r["eventName"]: r for r in event["Records"]}


SAMPLE = sam_records()
_SEQ = iter(range(10**6))


def image(cid: str, at: datetime, text: str, sender: str, **extra: Any) -> dict[str, Any]:
    return {
        "Id": {"S": cid},
        "timestamp": {"S": iso(at)},
        "message": {"S": text},
        "sender": {"S": sender},
        **extra,
    }


def record(name: str, new: dict | None = None, old: dict | None = None) -> dict[str, Any]:
    """A record of the SAM sample's shape with the marketplace's images."""
    rec = copy.deepcopy(SAMPLE[name])
    body = rec["dynamodb"]
    body.pop("NewImage", None)
    body.pop("OldImage", None)
    some = new or old
    assert some is not None
    body["Keys"] = {"Id": some["Id"], "timestamp": some["timestamp"]}
    if new is not None:
        body["NewImage"] = new
    if old is not None:
        body["OldImage"] = old
    body["SequenceNumber"] = f"{4421584500000000017450500000 + next(_SEQ)}"
    rec["eventID"] = f"evt-{body['SequenceNumber']}"
    return rec


def event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


class CountingModel:
    """The real local baseline, counting the calls and keeping what each one was shown."""

    def __init__(self) -> None:
        self.inner = resolve("local:baseline")
        self.model_id = self.inner.model_id
        self.shown: list[list[str]] = []

    @property
    def calls(self) -> int:
        return len(self.shown)

    def generate(self, prompt: Any, **options: Any) -> Any:
        assert prompt.conversation is not None
        self.shown.append([m.text for m in prompt.conversation.messages])
        return self.inner.generate(prompt, **options)


class TableAndStream:
    """An SQLite history that, like the real table, holds each record's new image first."""

    def __init__(self, model: CountingModel, history: SqliteHistory, store: SqliteVerdictSink):
        self.history = history
        self.handler = build_handler(
            model=model,
            history=history,
            publisher=VerdictPublisher(store),
            settings=Settings(max_concurrency=2, min_remaining_ms=0),
            metrics=None,
        )
        self.template = self.handler.template

    def run(self, event: dict[str, Any]) -> Any:
        for parsed in parse_stream_event(event):
            if parsed.message is not None:
                self.history.append(parsed.message)
        return self.handler.run(event)


def make(model: CountingModel, history: Any, store: SqliteVerdictSink) -> Any:
    if isinstance(history, SqliteHistory):
        return TableAndStream(model, history, store)
    return build_handler(
        model=model,
        history=history,
        publisher=VerdictPublisher(store),
        settings=Settings(max_concurrency=2, min_remaining_ms=0),
        metrics=None,
    )


# Benign conversations, each with a last message that a seller edits into a scam later.
EDITS = [
    (
        "I am interested in your house, can we fix a visit?",
        "Sure, Saturday at ten works for me.",
        "Send me a 5000 dollar deposit before the visit",
    ),
    (
        "Is the bike still available?",
        "Yes, come and try it this weekend.",
        "Pay the 300 dollar deposit by wire transfer first, then you can see the bike",
    ),
    (
        "Can I see the flat on Monday?",
        "Monday afternoon is fine.",
        "Before the visit transfer a 1500 dollar deposit to my bank account to reserve it",
    ),
    (
        "Does the sofa fit through a normal door?",
        "Yes, the legs come off.",
        "Send the full payment by gift cards today and I ship the sofa, no visit needed",
    ),
    (
        "Is the price of the car negotiable?",
        "A little, come and see it first.",
        "Send me a 2000 dollar deposit now or someone else gets the car before your visit",
    ),
]


def conversation_records(index: int, texts: tuple[str, str, str]) -> tuple[list[dict], dict]:
    """INSERTs of the benign conversation, and the MODIFY that edits it into a scam."""
    cid = f"conv-edit-{index}"
    first = image(cid, T0, texts[0], "buyer")
    second = image(cid, T0 + timedelta(minutes=5), texts[1], "seller")
    edited = image(cid, T0 + timedelta(minutes=5), texts[2], "seller")
    return [record("INSERT", new=first), record("INSERT", new=second)], record(
        "MODIFY", new=edited, old=second
    )


def test_every_message_edited_into_a_scam_is_judged_and_flagged():
    # GIVEN benign conversations, judged as they were written
    model, store, history = CountingModel(), SqliteVerdictSink(), SqliteHistory()
    handler = make(model, history, store)
    inserts, edits = [], []
    for index, texts in enumerate(EDITS):
        batch, edit = conversation_records(index, texts)
        inserts += batch
        edits.append(edit)
    first = handler.run(event(*inserts))
    assert first.response == {"batchItemFailures": []}
    assert model.calls == len(EDITS)
    assert not any(v.suspicious for v in first.verdicts)  # benign as written
    # WHEN each last message is edited into a scam
    report = handler.run(event(*edits))
    # THEN every edit is judged (100%), with the message before it, and flagged
    assert report.response == {"batchItemFailures": []}
    assert model.calls == 2 * len(EDITS)
    shown = model.shown[len(EDITS) :]  # conversations are judged concurrently: any order
    assert sorted(shown) == sorted([texts[0], texts[2]] for texts in EDITS)
    edited = [v for v in report.new_verdicts if v.edited]
    assert len(edited) == len(EDITS)
    assert all(v.suspicious for v in edited), [v.score for v in edited]
    # the first verdicts stay: one per distinct text of the conversation
    assert len(store.all()) == 2 * len(EDITS)


def test_edit_that_keeps_the_text_costs_no_model_call():
    model, store, history = CountingModel(), SqliteVerdictSink(), SqliteHistory()
    handler = make(model, history, store)
    batch, _ = conversation_records(0, EDITS[0])
    handler.run(event(*batch))
    calls = model.calls
    # a MODIFY of another attribute (a "read" flag): OldImage and NewImage say the same
    old = batch[1]["dynamodb"]["NewImage"]
    flagged_read = record("MODIFY", new={**old, "read": {"BOOL": True}}, old=old)
    report = handler.run(event(flagged_read))
    assert model.calls == calls  # no model call
    assert report.skipped == {SkipReason.UNCHANGED_TEXT: 1}
    assert report.response == {"batchItemFailures": []}


def test_redelivered_edit_makes_no_second_call_and_no_duplicate_verdict():
    model, store, history = CountingModel(), SqliteVerdictSink(), SqliteHistory()
    handler = make(model, history, store)
    batch, edit = conversation_records(0, EDITS[0])
    handler.run(event(*batch))
    first = handler.run(event(edit))
    calls, verdicts = model.calls, len(store.all())
    # Lambda redelivers the same MODIFY (a retry, a bisected batch)
    again = handler.run(event(copy.deepcopy(edit)))
    assert model.calls == calls
    assert len(store.all()) == verdicts
    assert again.outcomes[0].status == "already_done"
    assert again.verdicts == first.verdicts


def test_edit_without_old_image_is_judged_once_per_text():
    # A NEW_IMAGE stream has no OldImage: the edit is judged; the same text again is not.
    model, store, history = CountingModel(), SqliteVerdictSink(), SqliteHistory()
    handler = make(model, history, store)
    batch, edit = conversation_records(0, EDITS[0])
    handler.run(event(*batch))
    del edit["dynamodb"]["OldImage"]
    handler.run(event(edit))
    assert model.calls == 2
    same_again = copy.deepcopy(edit)
    same_again["dynamodb"]["NewImage"]["read"] = {"BOOL": True}
    handler.run(event(same_again))
    assert model.calls == 2


def test_reput_insert_with_another_text_is_judged_again():
    # Delete and put again under the same key: an INSERT whose text differs from the one judged.
    model, store, history = CountingModel(), SqliteVerdictSink(), SqliteHistory()
    handler = make(model, history, store)
    batch, edit = conversation_records(0, EDITS[0])
    handler.run(event(*batch))
    reput = record("INSERT", new=edit["dynamodb"]["NewImage"])
    report = handler.run(event(reput))
    assert model.calls == 2
    assert model.shown[-1][-1] == EDITS[0][2]
    assert report.verdicts[0].suspicious is True


def test_edit_older_than_the_window_is_judged_on_the_messages_before_it():
    # GIVEN a long conversation: the edited message is far behind the newest window
    model, store, history = CountingModel(), SqliteVerdictSink(), SqliteHistory()
    handler = make(model, history, store)
    cid = "conv-long"
    messages = [
        Message(
            conversation_id=cid,
            timestamp=T0 + timedelta(minutes=i),
            sender="buyer" if i % 2 else "seller",
            text=f"ordinary message number {i} about the delivery date",
        )
        for i in range(60)
    ]
    history.append_many(messages)
    target = messages[10]
    old = image(cid, target.timestamp, target.text, target.sender)
    new = image(cid, target.timestamp, EDITS[0][2], target.sender)
    # WHEN the edit arrives
    report = handler.run(event(record("MODIFY", new=new, old=old)))
    # THEN it is judged on the messages up to it (its context), and flagged as an edit
    assert report.response == {"batchItemFailures": []}
    window = handler.template.meta.history.messages
    edit_shown = [shown for shown in model.shown if EDITS[0][2] in shown]
    assert len(edit_shown) == 1
    assert edit_shown[0][-1] == EDITS[0][2]
    assert edit_shown[0][:-1] == [m.text for m in messages[max(0, 11 - window) : 10]]
    assert any(v.edited and v.last_message_at == target.timestamp for v in report.new_verdicts)


def test_parser_reads_modify_as_an_edit_and_skips_remove():
    old = image("c1", T0, "hello", "buyer")
    new = image("c1", T0, "hello, send a deposit", "buyer")
    parsed = parse_stream_event(
        event(
            record("MODIFY", new=new, old=old),
            record("MODIFY", new={**old, "read": {"BOOL": True}}, old=old),
            record("REMOVE", old=old),
        )
    )
    assert parsed[0].edited and parsed[0].message.text == "hello, send a deposit"
    assert [p.skip for p in parsed] == [
        None,
        SkipReason.UNCHANGED_TEXT,
        SkipReason.NOT_INSERT,
    ]


def test_edits_on_moto_stream_new_and_old_images(aws_client, conversations_table):
    # GIVEN the conversations table as the template makes it (NEW_AND_OLD_IMAGES stream)
    dynamodb = aws_client("dynamodb")
    view = dynamodb.describe_table(TableName=conversations_table)["Table"]["StreamSpecification"]
    assert view["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    poller = StreamPoller(
        aws_client("dynamodbstreams"), dynamodb, conversations_table, "trim-horizon"
    )
    history = DynamoHistory(conversations_table, client=dynamodb)
    model, store = CountingModel(), SqliteVerdictSink()
    handler = make(model, history, store)

    def run_new_records() -> Any:
        (batch,) = poller.poll()
        return handler.run({"Records": batch})

    cid = "conv-moto-edit"
    texts = EDITS[0]
    history.append(Message(conversation_id=cid, timestamp=T0, sender="buyer", text=texts[0]))
    second = Message(
        conversation_id=cid, timestamp=T0 + timedelta(minutes=5), sender="seller", text=texts[1]
    )
    history.append(second)
    assert run_new_records().verdicts[0].suspicious is False
    # WHEN the seller edits the message, then something else marks it read
    history.append(second.model_copy(update={"text": texts[2]}))
    dynamodb.update_item(
        TableName=conversations_table,
        Key={"Id": {"S": cid}, "timestamp": {"S": second.iso_timestamp}},
        UpdateExpression="SET #r = :yes",
        ExpressionAttributeNames={"#r": "read"},
        ExpressionAttributeValues={":yes": {"BOOL": True}},
    )
    report = run_new_records()
    # THEN the edit is judged once and flagged; the second MODIFY costs nothing
    assert [r.skip for r in report.records] == [None, SkipReason.UNCHANGED_TEXT]
    assert model.calls == 2
    assert report.verdicts[0].suspicious is True and report.verdicts[0].edited


def test_edits_on_the_bedrock_emulator_count_requests_at_the_server(
    bedrock_emulator: Any, emulator_client: Any
) -> None:
    # GIVEN Bedrock over the wire (the emulator flags the deposit request, clears the rest)
    from pipeline.emulator import ScriptedResponder

    flagged = {"suspicious": True, "score": 0.95, "categories": ["advance_fee_deposit"],
               "rationale": "deposit before a visit"}  # fmt: skip
    cleared = {"suspicious": False, "score": 0.03, "categories": [], "rationale": "ordinary"}
    bedrock_emulator.responder = ScriptedResponder(
        by_substring={"5000 dollar deposit": flagged}, fallback=cleared
    )
    store, history = SqliteVerdictSink(), SqliteHistory()
    handler = TableAndStream(
        resolve("bedrock:amazon.nova-micro-v1:0", client=emulator_client),  # type: ignore[arg-type]
        history,
        store,
    )
    batch, edit = conversation_records(0, EDITS[0])
    handler.run(event(*batch))
    assert bedrock_emulator.stats.received == 1
    # WHEN an attribute changes, the text is edited, and the edit is redelivered
    old = batch[1]["dynamodb"]["NewImage"]
    handler.run(event(record("MODIFY", new={**old, "read": {"BOOL": True}}, old=old)))
    unchanged = bedrock_emulator.stats.received
    judged = handler.run(event(edit))
    edited = bedrock_emulator.stats.received
    handler.run(event(copy.deepcopy(edit)))
    # THEN the server saw no call for the unchanged edit, one for the edit, none for its repeat
    assert (unchanged, edited, bedrock_emulator.stats.received) == (1, 2, 2)
    assert judged.verdicts[0].suspicious is True and judged.verdicts[0].edited
    assert len(store.all()) == 2
