"""A child's words are kept only as long as the session needs them.

Turns expire (1 h for a session, 24 h for opt-in user memory), SQLite deletes expired
rows on its next read or write, DynamoDB carries the TTL attribute, and the end of a
session (SessionEndedRequest, Stop/Cancel, a limit) deletes the session's turns at once.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.assistant import (
    SESSION_TURN_TTL,
    USER_MEMORY_TTL,
    Companion,
    SessionInfo,
    reply,
    session_conversation_id,
    user_conversation_id,
)
from pipeline.conversation import Message
from pipeline.history import EXPIRES_AT, DynamoHistory, SqliteHistory
from pipeline.models.replay import ReplayModel
from pipeline.prompts import DirectoryPromptStore
from pipeline.settings import Settings
from skill.handler import build_skill, handle_event
from tests.conftest import REPO, load_fixture

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
FIXTURE_SESSION = "skill#amzn1.echo-api.session.fixture-1"


class Clock:
    """A settable clock shared by the companion and the store."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def message(cid: str, at: datetime, text: str = "can I have a biscuit") -> Message:
    return Message(conversation_id=cid, timestamp=at, sender="child", text=text)


# -- SQLite ------------------------------------------------------------------------------


def test_sqlite_never_returns_and_then_deletes_an_expired_turn(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteHistory(tmp_path / "h.db", clock=clock)
    store.append(message("skill#s1", T0), expires_at=T0 + timedelta(hours=1))
    store.append(message("conv-market", T0, "a marketplace message"))  # no expiry
    assert len(store.latest("skill#s1", 10).messages) == 1

    clock.now = T0 + timedelta(hours=1)  # the expiry itself is already too late
    assert store.latest("skill#s1", 10).messages == ()
    # gone from the file, not only from sight; a message without expiry stays
    rows = sqlite3.connect(tmp_path / "h.db").execute("SELECT conversation_id FROM messages")
    assert [r[0] for r in rows] == ["conv-market"]


def test_sqlite_purges_on_write_too(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteHistory(tmp_path / "h.db", clock=clock)
    store.append(message("skill#s1", T0), expires_at=T0 + timedelta(minutes=1))
    clock.now = T0 + timedelta(minutes=2)
    store.append(message("skill#s2", clock.now), expires_at=clock.now + timedelta(hours=1))
    rows = sqlite3.connect(tmp_path / "h.db").execute("SELECT conversation_id FROM messages")
    assert [r[0] for r in rows] == ["skill#s2"]


def test_sqlite_file_from_before_expiry_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE messages (conversation_id TEXT NOT NULL, timestamp TEXT NOT NULL,"
        " sender TEXT NOT NULL, text TEXT NOT NULL, PRIMARY KEY (conversation_id, timestamp))"
        " WITHOUT ROWID"
    )
    old.execute("INSERT INTO messages VALUES ('c1', '2024-05-01T09:00:00.000000Z', 'buyer', 'hi')")
    old.commit()
    old.close()
    store = SqliteHistory(path, clock=Clock())
    assert [m.text for m in store.latest("c1", 5).messages] == ["hi"]
    store.append(message("skill#s1", T0), expires_at=T0 + timedelta(hours=1))
    assert len(store.latest("skill#s1", 5).messages) == 1


def test_sqlite_forget_deletes_one_conversation() -> None:
    store = SqliteHistory(clock=Clock())
    store.append_many([message("skill#s1", T0), message("skill#s1", T0 + timedelta(seconds=1))])
    store.append(message("skill#s2", T0))
    assert store.forget("skill#s1") == 2
    assert store.conversation_ids() == ["skill#s2"]


# -- DynamoDB (moto) -----------------------------------------------------------------------


def test_dynamo_writes_the_ttl_attribute_and_never_reads_an_expired_turn(
    aws_client: Any, conversations_table: str
) -> None:
    client = aws_client("dynamodb")
    ttl = client.describe_time_to_live(TableName=conversations_table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": EXPIRES_AT}
    clock = Clock()
    store = DynamoHistory(conversations_table, client=client, clock=clock)
    expires = T0 + SESSION_TURN_TTL
    store.append(message("skill#s1", T0), expires_at=expires)
    store.append(message("conv-market", T0, "a marketplace message"))

    item = client.get_item(
        TableName=conversations_table,
        Key={"Id": {"S": "skill#s1"}, "timestamp": {"S": message("x", T0).iso_timestamp}},
    )["Item"]
    assert item[EXPIRES_AT] == {"N": str(int(expires.timestamp()))}  # epoch seconds, type N
    plain = client.get_item(
        TableName=conversations_table,
        Key={"Id": {"S": "conv-market"}, "timestamp": {"S": message("x", T0).iso_timestamp}},
    )["Item"]
    assert EXPIRES_AT not in plain  # marketplace messages never expire
    assert len(store.latest("skill#s1", 5).messages) == 1
    # TTL deletes within days, not at once: an expired item is filtered on read
    clock.now = expires + timedelta(seconds=1)
    assert store.latest("skill#s1", 5).messages == ()
    assert len(store.latest("conv-market", 5).messages) == 1


def test_dynamo_forget_deletes_every_item_of_the_session(
    aws_client: Any, conversations_table: str
) -> None:
    client = aws_client("dynamodb")
    store = DynamoHistory(conversations_table, client=client, page_size=2, clock=Clock())
    for i in range(5):
        store.append(
            message("skill#s1", T0 + timedelta(seconds=i)), expires_at=T0 + SESSION_TURN_TTL
        )
    store.append(message("skill#s2", T0), expires_at=T0 + SESSION_TURN_TTL)
    assert store.forget("skill#s1") == 5
    assert store.latest("skill#s1", 10).messages == ()
    assert len(store.latest("skill#s2", 10).messages) == 1


def test_dynamo_latest_until_reads_the_context_of_an_older_message(
    aws_client: Any, conversations_table: str
) -> None:
    store = DynamoHistory(conversations_table, client=aws_client("dynamodb"), clock=Clock())
    for i in range(10):
        store.append(message("conv-1", T0 + timedelta(minutes=i), f"message {i}"))
    older = store.latest("conv-1", 3, until=T0 + timedelta(minutes=4))
    assert [m.text for m in older.messages] == ["message 2", "message 3", "message 4"]


# -- the companion and the skill -----------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> Any:
    return DirectoryPromptStore(REPO / "prompts").get("companion@1")


def test_turns_are_written_with_their_bound(template: Any) -> None:
    clock = Clock()
    history = SqliteHistory(clock=clock)
    companion = Companion(
        model=ReplayModel(default="Okay!"),
        template=template,
        history=history,
        clock=clock,
        user_memory=True,
    )
    session = SessionInfo(session_id="s-1", user_id="amzn1.ask.account.kid")
    reply(session, "can I have a biscuit", companion)
    session_id = session_conversation_id("s-1")
    user_id = user_conversation_id("amzn1.ask.account.kid")
    # the session's turns are gone after 1 h, the opt-in user memory after 24 h
    clock.now = T0 + SESSION_TURN_TTL
    assert history.latest(session_id, 10).messages == ()
    assert len(history.latest(user_id, 10).messages) == 2
    clock.now = T0 + USER_MEMORY_TTL
    assert history.latest(user_id, 10).messages == ()
    assert history.conversation_ids() == []


def skill_and_history(**settings: Any) -> tuple[Any, SqliteHistory]:
    # The fixtures' session; the store's clock is the real time, as in Lambda.
    history = SqliteHistory()
    skill = build_skill(
        model=ReplayModel(default="Okay!"), history=history, settings=Settings(**settings)
    )
    return skill, history


@pytest.mark.parametrize("ending", ["session-ended", "intent-stop", "intent-cancel"])
def test_the_end_of_a_session_deletes_its_turns(ending: str) -> None:
    skill, history = skill_and_history()
    handle_event(skill, load_fixture("alexa/intent-chat.json"))
    assert len(history.latest(FIXTURE_SESSION, 10).messages) == 2
    handle_event(skill, load_fixture(f"alexa/{ending}.json"))
    assert history.latest(FIXTURE_SESSION, 10).messages == ()
    assert history.conversation_ids() == []


def test_a_limit_that_ends_the_session_deletes_its_turns() -> None:
    skill, history = skill_and_history(skill_max_calls_per_session=1)
    first = handle_event(skill, load_fixture("alexa/intent-chat.json"))
    assert len(history.latest(FIXTURE_SESSION, 10).messages) == 2
    second = load_fixture("alexa/intent-chat.json")
    second["session"]["attributes"] = first["sessionAttributes"]
    ended = handle_event(skill, second)
    assert ended["response"]["shouldEndSession"] is True
    assert history.conversation_ids() == []


def test_session_end_keeps_opt_in_user_memory_until_it_expires() -> None:
    skill, history = skill_and_history(skill_user_memory=True)
    handle_event(skill, load_fixture("alexa/intent-chat.json"))
    handle_event(skill, load_fixture("alexa/session-ended.json"))
    remaining = history.conversation_ids()
    assert len(remaining) == 1 and remaining[0].startswith("skill#user#")


def test_session_end_on_dynamodb_deletes_the_turns(
    aws_client: Any, conversations_table: str
) -> None:
    client = aws_client("dynamodb")
    history = DynamoHistory(conversations_table, client=client)
    skill = build_skill(model=ReplayModel(default="Okay!"), history=history, settings=Settings())
    handle_event(skill, load_fixture("alexa/intent-chat.json"))
    assert client.scan(TableName=conversations_table)["Count"] == 2
    handle_event(skill, load_fixture("alexa/session-ended.json"))
    assert client.scan(TableName=conversations_table)["Count"] == 0


def test_a_failed_delete_still_ends_the_session_quietly(caplog: pytest.LogCaptureFixture) -> None:
    class NoDelete(SqliteHistory):
        def forget(self, conversation_id: str) -> int:
            raise OSError("table gone")

    history = NoDelete()
    skill = build_skill(model=ReplayModel(default="Okay!"), history=history, settings=Settings())
    handle_event(skill, load_fixture("alexa/intent-chat.json"))
    response = handle_event(skill, load_fixture("alexa/session-ended.json"))
    assert response["response"].get("outputSpeech") is None
    assert "history delete failed" in {r.getMessage() for r in caplog.records}
