"""Conversation history stores: one protocol, SQLite (embedded default) and DynamoDB.

`latest()` returns the *newest* N messages in chronological order, reading only
those N from the store (the query is bounded, whatever the conversation's length).
With `until`, the newest N at or before that time: the window a past verdict saw.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from .conversation import (
    MAX_SENDER_CHARS,
    Conversation,
    Message,
    bound_message_text,
    iso,
    parse_timestamp,
)
from .errors import ConfigError, InputError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

logger = logging.getLogger("parley.history")


class HistoryStore(Protocol):
    """Where messages are kept, keyed by conversation id and timestamp."""

    def append(self, message: Message) -> None: ...

    def latest(
        self, conversation_id: str, limit: int, *, until: datetime | None = None
    ) -> Conversation: ...


def connect_sqlite(path: str, schema: str) -> sqlite3.Connection:
    """An autocommit connection shared by threads (callers hold a lock), schema applied.

    Files use WAL so that a reader (`parley history show`) does not block the writer.
    """
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    if path != ":memory:":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute(schema)
    return db


class SqliteHistory:
    """History in SQLite: a file, or `:memory:`. Safe to share between threads."""

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS messages (
        conversation_id TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (conversation_id, timestamp)
    ) WITHOUT ROWID
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = connect_sqlite(self.path, self._SCHEMA)

    def append(self, message: Message) -> None:
        self.append_many([message])

    def append_many(self, messages: Iterable[Message]) -> None:
        rows = [(m.conversation_id, m.iso_timestamp, m.sender, m.text) for m in messages]
        with self._lock:
            # Same key as the DynamoDB table (Id, timestamp): a repeat overwrites, as there.
            self._db.executemany("INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?)", rows)

    def latest(
        self, conversation_id: str, limit: int, *, until: datetime | None = None
    ) -> Conversation:
        # ISO strings of fixed width: string order is time order ("~" sorts after them).
        bound = iso(until) if until is not None else "~"
        with self._lock:
            rows = self._db.execute(
                "SELECT timestamp, sender, text FROM messages WHERE conversation_id = ?"
                " AND timestamp <= ? ORDER BY timestamp DESC LIMIT ?",
                (conversation_id, bound, limit),
            ).fetchall()
        messages = [
            Message(
                conversation_id=conversation_id, timestamp=parse_timestamp(ts), sender=s, text=t
            )
            for ts, s, t in reversed(rows)
        ]
        return Conversation(id=conversation_id, messages=tuple(messages))

    def conversation_ids(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT conversation_id FROM messages").fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        self._db.close()


class DynamoHistory:
    """History in the original DynamoDB table.

    Schema: partition key `Id` (S), sort key `timestamp` (S, ISO-8601), attribute
    `message` (S), optional `sender` (S).
    """

    def __init__(self, table: str, *, client: Any = None, page_size: int | None = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self.table = table
        self.client = client
        self.page_size = page_size

    def append(self, message: Message) -> None:
        item = {
            "Id": {"S": message.conversation_id},
            "timestamp": {"S": message.iso_timestamp},
            "message": {"S": message.text},
            "sender": {"S": message.sender},
        }
        self.client.put_item(TableName=self.table, Item=item)

    def latest(
        self, conversation_id: str, limit: int, *, until: datetime | None = None
    ) -> Conversation:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#id = :id",
            "ExpressionAttributeNames": {"#id": "Id"},
            "ExpressionAttributeValues": {":id": {"S": conversation_id}},
            "ScanIndexForward": False,  # newest first; the original read the oldest
        }
        if until is not None:
            request["KeyConditionExpression"] += " AND #ts <= :until"
            request["ExpressionAttributeNames"]["#ts"] = "timestamp"
            request["ExpressionAttributeValues"][":until"] = {"S": iso(until)}
        while len(items) < limit:
            request["Limit"] = min(limit - len(items), self.page_size or limit)
            page = self.client.query(**request)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        messages = [_message_from_item(conversation_id, item) for item in reversed(items[:limit])]
        return Conversation(id=conversation_id, messages=tuple(m for m in messages if m))


def _message_from_item(conversation_id: str, item: dict[str, Any]) -> Message | None:
    """A table item as a message; an unreadable one is logged by id and left out.

    The stream job skips such items' records; failing here instead would fail every
    later judgement of the conversation. An oversized text is cut with the marker.
    """
    try:
        sender = item.get("sender", {}).get("S") or "unknown"
        return Message(
            conversation_id=conversation_id,
            timestamp=parse_timestamp(item["timestamp"]["S"]),
            sender=str(sender)[:MAX_SENDER_CHARS],  # only a label: cut, as the stream job cuts it
            text=bound_message_text(item["message"]["S"]),
        )
    except (KeyError, TypeError, AttributeError, InputError, ValidationError) as exc:
        logger.warning(
            "history item skipped",
            extra={"conversation_id": conversation_id, "error": type(exc).__name__},
        )
        return None


def create_conversations_table(client: Any, table: str, *, stream: bool = False) -> None:
    """Create the conversations table (Id, timestamp), for local runs and tests.

    SAM creates it in AWS; `stream` adds the NEW_IMAGE stream the moderation job reads.
    """
    options: dict[str, Any] = {}
    if stream:
        options["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    client.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "Id", "KeyType": "HASH"},
            {"AttributeName": "timestamp", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "Id", "AttributeType": "S"},
            {"AttributeName": "timestamp", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        **options,
    )


def open_history(location: str, *, dynamodb_client: Any = None) -> HistoryStore:
    """A store from a settings string: `sqlite:<path>`, `sqlite::memory:`, `dynamodb:<table>`."""
    kind, _, rest = location.partition(":")
    if kind == "sqlite":
        return SqliteHistory(rest or ":memory:")
    if kind == "dynamodb" and rest:
        return DynamoHistory(rest, client=dynamodb_client)
    raise ConfigError(f"unknown history store {location!r}: use sqlite:<path> or dynamodb:<table>")
