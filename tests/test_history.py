from datetime import UTC, datetime, timedelta

import pytest

from pipeline.conversation import Message
from pipeline.errors import ConfigError
from pipeline.history import DynamoHistory, SqliteHistory, open_history

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def messages(cid: str, n: int) -> list[Message]:
    return [
        Message(
            conversation_id=cid,
            timestamp=T0 + timedelta(seconds=i),
            sender="buyer" if i % 2 else "seller",
            text=f"message {i}",
        )
        for i in range(n)
    ]


def check_newest_in_order(store) -> None:
    for m in reversed(messages("c1", 12)):  # inserted newest first: order must not matter
        store.append(m)
    store.append(messages("other", 1)[0])
    latest = store.latest("c1", 5)
    # the original system returned the OLDEST five; parley returns the newest five, in order
    assert [m.text for m in latest.messages] == [f"message {i}" for i in range(7, 12)]
    assert latest.messages[0].sender == "buyer"
    assert all(m.conversation_id == "c1" for m in latest.messages)
    assert store.latest("c1", 100).messages[0].text == "message 0"
    assert store.latest("missing", 5).messages == ()


def test_sqlite_newest_n_in_chronological_order(tmp_path):
    check_newest_in_order(SqliteHistory(tmp_path / "h.db"))
    check_newest_in_order(SqliteHistory(":memory:"))


def test_sqlite_same_key_overwrites_like_dynamodb():
    store = SqliteHistory()
    m = messages("c1", 1)[0]
    store.append(m)
    store.append(m.model_copy(update={"text": "edited"}))
    assert [x.text for x in store.latest("c1", 10).messages] == ["edited"]


def test_dynamo_newest_n_in_chronological_order(aws_client, conversations_table):
    check_newest_in_order(DynamoHistory(conversations_table, client=aws_client("dynamodb")))


def test_dynamo_follows_pagination(aws_client, conversations_table):
    client = aws_client("dynamodb")
    calls = []
    original = client.query

    def counting_query(**kwargs):
        calls.append(kwargs.get("ExclusiveStartKey"))
        return original(**kwargs)

    client.query = counting_query
    store = DynamoHistory(conversations_table, client=client, page_size=3)
    for m in messages("c1", 20):
        store.append(m)
    latest = store.latest("c1", 8)
    assert [m.text for m in latest.messages] == [f"message {i}" for i in range(12, 20)]
    assert len(calls) == 3 and calls[0] is None and calls[1] is not None


def test_dynamo_items_that_cannot_be_read_are_left_out_not_fatal(
    aws_client, conversations_table, caplog
):
    # GIVEN a conversation whose table holds an item without a message, one with a bad
    # timestamp, an oversized message and an ordinary one (written by someone else)
    client = aws_client("dynamodb")
    items = [
        {"Id": {"S": "c9"}, "timestamp": {"S": "2024-05-01T00:00:00.000000Z"}},
        {"Id": {"S": "c9"}, "timestamp": {"S": "yesterday"}, "message": {"S": "hello"}},
        {
            "Id": {"S": "c9"},
            "timestamp": {"S": "2024-05-01T00:01:00.000000Z"},
            "message": {"S": " ".join(f"pad{i}" for i in range(35_000))},  # no filler to collapse
        },
        {
            "Id": {"S": "c9"},
            "timestamp": {"S": "2024-05-01T00:02:00.000000Z"},
            "message": {"S": "send the deposit"},
            "sender": {"S": "s" * 100},
        },
    ]
    for item in items:
        client.put_item(TableName=conversations_table, Item=item)

    # WHEN its history is read
    latest = DynamoHistory(conversations_table, client=client).latest("c9", 10)

    # THEN the readable messages come back (the oversized one cut, with the marker),
    # the others are logged by id, never failing every later judgement
    assert len(latest.messages) == 2
    assert latest.messages[1].text == "send the deposit"
    assert latest.messages[0].text.count("characters omitted]") == 1
    assert len(latest.messages[1].sender) == 64
    skipped = [r for r in caplog.records if r.getMessage() == "history item skipped"]
    assert len(skipped) == 2 and all(r.conversation_id == "c9" for r in skipped)


def test_open_history_parses_locations():
    assert isinstance(open_history("sqlite::memory:"), SqliteHistory)
    with pytest.raises(ConfigError):
        open_history("redis://x")
