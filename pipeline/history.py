"""Conversation history stores: one protocol, SQLite (embedded default) and DynamoDB.

`latest()` returns the *newest* N messages in chronological order, reading only
those N from the store (the query is bounded, whatever the conversation's length);
`until=` stops at a timestamp (the context of an older, edited message).

A message may be written with an expiry (`expires_at`, the skill's turns): it is never
read after it (both stores filter on read), SQLite deletes it on the next read or
write, and DynamoDB's TTL deletes it from the `expires_at` attribute (epoch seconds).
`forget()` deletes a conversation at once (the end of a skill session).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from datetime import UTC, datetime
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
    from collections.abc import Callable, Iterable

logger = logging.getLogger("parley.history")


# The DynamoDB TTL attribute (template.yaml TimeToLiveSpecification); the stream's event
# filter also keeps items that carry it (the skill's turns) away from the moderation job.
EXPIRES_AT = "expires_at"


class HistoryStore(Protocol):
    """Where messages are kept, keyed by conversation id and timestamp."""

    def append(self, message: Message, *, expires_at: datetime | None = None) -> None: ...

    def latest(
        self, conversation_id: str, limit: int, *, until: datetime | None = None
    ) -> Conversation: ...

    def forget(self, conversation_id: str) -> int:
        """Delete every message of a conversation; returns how many were deleted."""
        ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


def connect_sqlite(path: str, schema: str) -> sqlite3.Connection:
    """An autocommit connection shared by threads (callers hold a lock), schema applied.

    Files use WAL so that a reader (`parley history show`) does not block the writer.
    A path that cannot be opened, or a file that is not a database, is a ConfigError.
    """
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError as exc:  # no such directory, no permission, not a database
        raise ConfigError(f"cannot open the SQLite database {path}: {exc}") from None
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
        expires_at REAL,
        PRIMARY KEY (conversation_id, timestamp)
    ) WITHOUT ROWID
    """

    def __init__(
        self, path: str | Path = ":memory:", *, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        self.path = str(path)
        self.clock = clock
        self._lock = threading.Lock()
        self._db = connect_sqlite(self.path, self._SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(messages)")}
        if "expires_at" not in columns:  # a file written before expiry existed
            self._db.execute("ALTER TABLE messages ADD COLUMN expires_at REAL")
        self._db.execute(
            "CREATE INDEX IF NOT EXISTS messages_expiry ON messages (expires_at)"
            " WHERE expires_at IS NOT NULL"
        )

    def append(self, message: Message, *, expires_at: datetime | None = None) -> None:
        self.append_many([message], expires_at=expires_at)

    def append_many(
        self, messages: Iterable[Message], *, expires_at: datetime | None = None
    ) -> None:
        expiry = expires_at.timestamp() if expires_at is not None else None
        rows = [(m.conversation_id, m.iso_timestamp, m.sender, m.text, expiry) for m in messages]
        with self._lock:
            self._purge_expired()
            # Same key as the DynamoDB table (Id, timestamp): a repeat overwrites, as there.
            self._db.executemany("INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?, ?)", rows)

    def latest(
        self, conversation_id: str, limit: int, *, until: datetime | None = None
    ) -> Conversation:
        with self._lock:
            self._purge_expired()
            bound, args = (" AND timestamp <= ?", (iso(until),)) if until else ("", ())
            rows = self._db.execute(
                "SELECT timestamp, sender, text FROM messages WHERE conversation_id = ?"
                f"{bound} ORDER BY timestamp DESC LIMIT ?",
                (conversation_id, *args, limit),
            ).fetchall()
        messages = [
            Message(
                conversation_id=conversation_id, timestamp=parse_timestamp(ts), sender=s, text=t
            )
            for ts, s, t in reversed(rows)
        ]
        return Conversation(id=conversation_id, messages=tuple(messages))

    def forget(self, conversation_id: str) -> int:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM messages WHERE conversation_id = ?", (conversation_id,)
            )
        return cursor.rowcount

    def conversation_ids(self) -> list[str]:
        with self._lock:
            self._purge_expired()
            rows = self._db.execute("SELECT DISTINCT conversation_id FROM messages").fetchall()
        return [r[0] for r in rows]

    def _purge_expired(self) -> None:
        # The caller holds the lock. Expired rows go for good, not just out of sight.
        self._db.execute(
            "DELETE FROM messages WHERE expires_at IS NOT NULL AND expires_at <= ?",
            (self.clock().timestamp(),),
        )

    def close(self) -> None:
        self._db.close()


class DynamoHistory:
    """History in the original DynamoDB table.

    Schema: partition key `Id` (S), sort key `timestamp` (S, ISO-8601), attribute
    `message` (S), optional `sender` (S).
    """

    def __init__(
        self,
        table: str,
        *,
        client: Any = None,
        page_size: int | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self.table = table
        self.client = client
        self.page_size = page_size
        self.clock = clock

    def append(self, message: Message, *, expires_at: datetime | None = None) -> None:
        item = {
            "Id": {"S": message.conversation_id},
            "timestamp": {"S": message.iso_timestamp},
            "message": {"S": message.text},
            "sender": {"S": message.sender},
        }
        if expires_at is not None:  # TTL wants whole epoch seconds, type N
            item[EXPIRES_AT] = {"N": str(int(expires_at.timestamp()))}
        self.client.put_item(TableName=self.table, Item=item)

    def latest(
        self, conversation_id: str, limit: int, *, until: datetime | None = None
    ) -> Conversation:
        items: list[dict[str, Any]] = []
        keys = "#id = :id AND #ts <= :until" if until else "#id = :id"
        values: dict[str, Any] = {
            ":id": {"S": conversation_id},
            # TTL deletes expired items within days, not at once: never read one.
            ":now": {"N": str(int(self.clock().timestamp()))},
        }
        if until:
            values[":until"] = {"S": iso(until)}
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": keys,
            "FilterExpression": "attribute_not_exists(#exp) OR #exp > :now",
            "ExpressionAttributeNames": {
                "#id": "Id",
                "#exp": EXPIRES_AT,
                **({"#ts": "timestamp"} if until else {}),
            },
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,  # newest first; the original read the oldest
        }
        while len(items) < limit:
            request["Limit"] = min(limit - len(items), self.page_size or limit)
            page = self.client.query(**request)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        messages = [_message_from_item(conversation_id, item) for item in reversed(items[:limit])]
        return Conversation(id=conversation_id, messages=tuple(m for m in messages if m))

    def forget(self, conversation_id: str) -> int:
        """Delete the conversation's items one by one (a skill session: a few dozen)."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "#id = :id",
            "ProjectionExpression": "#id, #ts",
            "ExpressionAttributeNames": {"#id": "Id", "#ts": "timestamp"},
            "ExpressionAttributeValues": {":id": {"S": conversation_id}},
        }
        deleted = 0
        while True:
            page = self.client.query(**request)
            for key in page.get("Items", []):
                self.client.delete_item(TableName=self.table, Key=key)
                deleted += 1
            if "LastEvaluatedKey" not in page:
                return deleted
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


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

    SAM creates it in AWS; `stream` adds the NEW_AND_OLD_IMAGES stream the moderation
    job reads (the old image tells an edited text from an edit of another attribute).
    TTL is on `expires_at`, as in the template.
    """
    options: dict[str, Any] = {}
    if stream:
        options["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
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
    client.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": EXPIRES_AT},
    )


def open_history(location: str, *, dynamodb_client: Any = None) -> HistoryStore:
    """A store from a settings string: `sqlite:<path>`, `sqlite::memory:`, `dynamodb:<table>`."""
    kind, _, rest = location.partition(":")
    if kind == "sqlite":
        return SqliteHistory(rest or ":memory:")
    if kind == "dynamodb" and rest:
        return DynamoHistory(rest, client=dynamodb_client)
    raise ConfigError(f"unknown history store {location!r}: use sqlite:<path> or dynamodb:<table>")
