"""Where verdicts go: an idempotent verdict store (DynamoDB or SQLite) and EventBridge.

A verdict is keyed by (conversation id, last message timestamp, prompt id@version, hash
of the judged messages' texts).
`VerdictPublisher` writes first and publishes only what is not yet published, then
marks the stored item `published`. So a redelivered batch writes no second verdict and
publishes no second event, and a publish that failed after a successful write is made
good on the next delivery (the item exists, unpublished). Event consumers can still
dedupe on the envelope `id`, which is deterministic (uuid5 of the key).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .conversation import iso
from .errors import ConfigError, ParleyError
from .history import connect_sqlite
from .verdict import Verdict

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

logger = logging.getLogger("parley.sinks")
# Event ids this process published whose `published` mark may not have been stored:
# enough for many batches of a warm Lambda, small enough to never matter for memory.
_SENT_IDS_KEPT = 10_000

EVENT_SOURCE = "parley"
ENVELOPE_VERSION = "1"
SHADOW_PREFIX = "shadow#"
# Fixed namespace: the same verdict key always gives the same event id.
_EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/parley/verdict-events")
_PUT_EVENTS_MAX = 10  # EventBridge PutEvents takes at most 10 entries


class PublishError(ParleyError):
    """EventBridge refused some events; the batch should be retried (it is safe to)."""

    retryable = True


@dataclass(frozen=True)
class VerdictKey:
    """The verdict table's key: pk = conversation id, sk = "<last message>#<prompt ref>"."""

    pk: str
    sk: str


def verdict_key(
    conversation_id: str,
    last_message_at: datetime,
    prompt_ref: str,
    *,
    shadow: bool = False,
    digest: str | None = None,
) -> VerdictKey:
    """The idempotency key of a verdict; shadow verdicts live under a `shadow#` prefix.

    `digest` (`Conversation.digest()` of the judged messages) ends the sort key: an
    edited text is judged again, a redelivery or an edit that changes nothing is not.
    """
    sk = f"{iso(last_message_at)}#{prompt_ref}" + (f"#{digest}" if digest else "")
    return VerdictKey(conversation_id, f"{SHADOW_PREFIX}{sk}" if shadow else sk)


def event_id(key: VerdictKey) -> str:
    """The envelope id: deterministic, so consumers can drop a repeated event."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{key.pk}\n{key.sk}"))


@dataclass(frozen=True)
class StoredVerdict:
    """A verdict as kept in the store, with what publishing needs."""

    key: VerdictKey
    verdict: Verdict
    shadow: bool
    created_at: datetime
    correlation_id: str | None = None
    published: bool = False

    @property
    def event_id(self) -> str:
        return event_id(self.key)


def key_of(verdict: Verdict, *, shadow: bool = False) -> VerdictKey:
    """The key a verdict is stored under (its window digest included, when it has one)."""
    return verdict_key(
        verdict.conversation_id,
        verdict.last_message_at,
        verdict.prompt,
        shadow=shadow,
        digest=verdict.window_digest,
    )


def stored_verdict(
    verdict: Verdict,
    *,
    shadow: bool = False,
    correlation_id: str | None = None,
    now: datetime | None = None,
) -> StoredVerdict:
    """Wrap a fresh verdict for writing."""
    return StoredVerdict(
        key=key_of(verdict, shadow=shadow),
        verdict=verdict,
        shadow=shadow,
        created_at=now or datetime.now(UTC),
        correlation_id=correlation_id,
    )


def envelope(stored: StoredVerdict) -> dict[str, Any]:
    """parley's event envelope; built from the stored item so a re-publish is identical."""
    return {
        "id": stored.event_id,
        "type": stored.verdict.event_type,
        "version": ENVELOPE_VERSION,
        "time": iso(stored.created_at),
        "correlation_id": stored.correlation_id,
        "data": stored.verdict.model_dump(mode="json"),
    }


@dataclass(frozen=True)
class WriteResult:
    """The item now in the store, and whether it was there before this write."""

    stored: StoredVerdict
    duplicate: bool


class VerdictSink(Protocol):
    """An idempotent verdict store."""

    def write(self, record: StoredVerdict) -> WriteResult:
        """Store unless the key exists; a duplicate returns the existing item."""
        ...

    def get(self, key: VerdictKey) -> StoredVerdict | None: ...

    def mark_published(self, key: VerdictKey) -> None: ...


class EventSink(Protocol):
    """Where verdict events go."""

    def publish(self, envelopes: Sequence[dict[str, Any]]) -> None: ...


class DynamoVerdictSink:
    """Verdicts in a DynamoDB table with string keys `pk` and `sk`."""

    def __init__(self, table: str, *, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self.table = table
        self.client = client

    def write(self, record: StoredVerdict) -> WriteResult:
        try:
            self.client.put_item(
                TableName=self.table,
                Item=_to_item(record),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            existing = self.get(record.key)
            if existing is None:  # deleted in between: not expected, but not a duplicate
                return self.write(record)
            return WriteResult(existing, duplicate=True)
        return WriteResult(record, duplicate=False)

    def get(self, key: VerdictKey) -> StoredVerdict | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": key.pk}, "sk": {"S": key.sk}},
            ConsistentRead=True,  # a just-written verdict must be seen by its own redelivery
        ).get("Item")
        return _from_item(item) if item else None

    def mark_published(self, key: VerdictKey) -> None:
        self.client.update_item(
            TableName=self.table,
            Key={"pk": {"S": key.pk}, "sk": {"S": key.sk}},
            UpdateExpression="SET published = :yes",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )

    def all(self) -> list[StoredVerdict]:
        """Every stored verdict (a full scan: for checks and small tables, not the hot path)."""
        paginator = self.client.get_paginator("scan")
        pages = paginator.paginate(TableName=self.table, ConsistentRead=True)
        return [_from_item(item) for page in pages for item in page.get("Items", [])]


# The review queue's index on the verdicts table (template.yaml VerdictsTable): live
# verdicts by kind ("flagged", "undetermined", "cleared"), shadow ones under "shadow",
# each ranked by `review_rank`. The review app moves a decided verdict out of it by
# removing `review_queue` (a sparse index), never by touching the verdict.
REVIEW_INDEX = "review_queue"
UNDETERMINED_RANK = 0.5


def review_rank(score: float | None, created_at: datetime, pk: str, sk: str) -> str:
    """The queue order as one string: highest score first, then oldest, then the key."""
    rank = UNDETERMINED_RANK if score is None else score
    return f"{1 - rank:.9f}#{iso(created_at)}#{pk}#{sk}"


def review_queue_of(verdict: Verdict, shadow: bool) -> str:
    if shadow:
        return "shadow"
    if verdict.status == "undetermined" or verdict.suspicious is None:
        return "undetermined"
    return "flagged" if verdict.suspicious else "cleared"


def create_verdicts_table(client: Any, table: str) -> None:
    """Create the verdicts table (pk, sk) with the review queue's index, for local runs and
    tests; SAM creates the same in AWS."""
    client.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("pk", "sk", "review_queue", "review_rank")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": REVIEW_INDEX,
                "KeySchema": [
                    {"AttributeName": "review_queue", "KeyType": "HASH"},
                    {"AttributeName": "review_rank", "KeyType": "RANGE"},
                ],
                "Projection": {
                    "ProjectionType": "INCLUDE",
                    "NonKeyAttributes": ["verdict", "created_at", "shadow"],
                },
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def create_pk_sk_table(client: Any, table: str) -> None:
    """An on-demand DynamoDB table keyed by string `pk` and `sk` (verdicts, decisions)."""
    client.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def _to_item(record: StoredVerdict) -> dict[str, Any]:
    verdict = record.verdict
    item: dict[str, Any] = {
        "pk": {"S": record.key.pk},
        "sk": {"S": record.key.sk},
        "conversation_id": {"S": verdict.conversation_id},
        "last_message_at": {"S": iso(verdict.last_message_at)},
        "prompt": {"S": verdict.prompt},
        "event_type": {"S": verdict.event_type},
        "status": {"S": verdict.status},
        "shadow": {"BOOL": record.shadow},
        "published": {"BOOL": record.published},
        "event_id": {"S": record.event_id},
        "created_at": {"S": iso(record.created_at)},
        "verdict": {"S": verdict.model_dump_json()},
        # The review queue's index (REVIEW_INDEX).
        "review_queue": {"S": review_queue_of(verdict, record.shadow)},
        "review_rank": {
            "S": review_rank(verdict.score, record.created_at, record.key.pk, record.key.sk)
        },
    }
    if record.correlation_id:
        item["correlation_id"] = {"S": record.correlation_id}
    return item


def _from_item(item: dict[str, Any]) -> StoredVerdict:
    return StoredVerdict(
        key=VerdictKey(item["pk"]["S"], item["sk"]["S"]),
        verdict=Verdict.model_validate_json(item["verdict"]["S"]),
        shadow=item.get("shadow", {}).get("BOOL", False),
        created_at=datetime.fromisoformat(item["created_at"]["S"].replace("Z", "+00:00")),
        correlation_id=item.get("correlation_id", {}).get("S"),
        published=item.get("published", {}).get("BOOL", False),
    )


class SqliteVerdictSink:
    """Verdicts in SQLite for local runs; the primary key gives the same idempotency."""

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS verdicts (
        pk TEXT NOT NULL,
        sk TEXT NOT NULL,
        event_type TEXT NOT NULL,
        shadow INTEGER NOT NULL,
        published INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        correlation_id TEXT,
        verdict TEXT NOT NULL,
        PRIMARY KEY (pk, sk)
    ) WITHOUT ROWID
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = connect_sqlite(self.path, self._SCHEMA)

    def write(self, record: StoredVerdict) -> WriteResult:
        row = (
            record.key.pk,
            record.key.sk,
            record.verdict.event_type,
            int(record.shadow),
            int(record.published),
            iso(record.created_at),
            record.correlation_id,
            record.verdict.model_dump_json(),
        )
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row
            )
            inserted = cursor.rowcount == 1
        if inserted:
            return WriteResult(record, duplicate=False)
        existing = self.get(record.key)
        assert existing is not None  # the key exists: that is why the insert was ignored
        return WriteResult(existing, duplicate=True)

    def get(self, key: VerdictKey) -> StoredVerdict | None:
        with self._lock:
            row = self._db.execute(
                "SELECT pk, sk, shadow, published, created_at, correlation_id, verdict"
                " FROM verdicts WHERE pk = ? AND sk = ?",
                (key.pk, key.sk),
            ).fetchone()
        return _from_row(row) if row else None

    def mark_published(self, key: VerdictKey) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE verdicts SET published = 1 WHERE pk = ? AND sk = ?", (key.pk, key.sk)
            )

    def all(self) -> list[StoredVerdict]:
        """Every stored verdict, by conversation and key (for the CLI and benchmarks)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT pk, sk, shadow, published, created_at, correlation_id, verdict"
                " FROM verdicts ORDER BY pk, sk"
            ).fetchall()
        return [_from_row(row) for row in rows]

    def close(self) -> None:
        self._db.close()


def _from_row(row: tuple[Any, ...]) -> StoredVerdict:
    pk, sk, shadow, published, created_at, correlation_id, verdict = row
    return StoredVerdict(
        key=VerdictKey(pk, sk),
        verdict=Verdict.model_validate_json(verdict),
        shadow=bool(shadow),
        created_at=datetime.fromisoformat(created_at.replace("Z", "+00:00")),
        correlation_id=correlation_id,
        published=bool(published),
    )


class EventBridgeSink:
    """Verdict events on an EventBridge bus: Source "parley", DetailType = the event type."""

    def __init__(
        self, bus: str, *, client: Any = None, connect: Callable[[], Any] | None = None
    ) -> None:
        """`client`, or `connect()` called on the first publish (a cold start that
        publishes nothing builds no EventBridge client), or boto3's default client."""
        self.bus = bus
        self._client = client
        self._connect = connect
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                if self._connect is not None:
                    self._client = self._connect()
                else:
                    import boto3

                    self._client = boto3.client("events")
            return self._client

    def publish(self, envelopes: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(envelopes), _PUT_EVENTS_MAX):
            chunk = envelopes[start : start + _PUT_EVENTS_MAX]
            entries = [
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": env["type"],
                    "Detail": json.dumps(env, ensure_ascii=False),
                    "EventBusName": self.bus,
                    "Time": datetime.fromisoformat(env["time"].replace("Z", "+00:00")),
                }
                for env in chunk
            ]
            response = self.client.put_events(Entries=entries)
            if response.get("FailedEntryCount", 0):
                codes = sorted(
                    {
                        e.get("ErrorCode", "?")
                        for e in response.get("Entries", [])
                        if "ErrorCode" in e
                    }
                )
                raise PublishError(
                    f"EventBridge refused {response['FailedEntryCount']} of {len(entries)} events"
                    f" ({', '.join(codes) or 'no code'})"
                )


@dataclass(frozen=True)
class Delivery:
    """What delivering one verdict did."""

    stored: StoredVerdict
    duplicate: bool  # the key was already in the store
    published: bool  # an event was published by this delivery


class VerdictPublisher:
    """Write, then publish what is not yet published, then mark it published.

    Shadow verdicts are written under their own key and never published. Without an
    event sink, verdicts are only stored.
    """

    def __init__(
        self,
        store: VerdictSink,
        events: EventSink | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.events = events
        self.clock = clock
        self._sent: OrderedDict[str, None] = OrderedDict()
        self._sent_lock = threading.Lock()

    def lookup(self, key: VerdictKey) -> StoredVerdict | None:
        """The stored verdict under this key, if any."""
        return self.store.get(key)

    def is_complete(self, stored: StoredVerdict) -> bool:
        """Nothing is left to do for this item (stored, and published if it should be)."""
        if stored.shadow or self.events is None or stored.published:
            return True
        with self._sent_lock:
            return stored.event_id in self._sent

    def deliver(
        self, verdict: Verdict, *, shadow: bool = False, correlation_id: str | None = None
    ) -> Delivery:
        """Store a verdict idempotently and publish it if that has not happened yet."""
        record = stored_verdict(
            verdict, shadow=shadow, correlation_id=correlation_id, now=self.clock()
        )
        result = self.store.write(record)
        published = self.complete(result.stored)
        return Delivery(result.stored, duplicate=result.duplicate, published=published)

    def complete(self, stored: StoredVerdict) -> bool:
        """Publish a stored, unpublished verdict and mark it; True if an event was sent."""
        if self.is_complete(stored):
            return False
        assert self.events is not None
        self.events.publish([envelope(stored)])
        self._remember_sent(stored.event_id)
        try:
            self.store.mark_published(stored.key)
        except Exception as exc:
            # The event is out; failing the record now would only make its redelivery
            # publish it again. The item stays unpublished in the store, and this
            # process remembers the id, so a redelivery here does not re-send it.
            logger.warning(
                "verdict published but not marked",
                extra={"event_id": stored.event_id, "error": type(exc).__name__},
            )
        return True

    def _remember_sent(self, event_id: str) -> None:
        with self._sent_lock:
            self._sent[event_id] = None
            while len(self._sent) > _SENT_IDS_KEPT:
                self._sent.popitem(last=False)


def open_verdict_sink(location: str, *, dynamodb_client: Any = None) -> VerdictSink:
    """A verdict store from a string: `sqlite:<path>`, `sqlite::memory:`, `dynamodb:<table>`."""
    kind, _, rest = location.partition(":")
    if kind == "sqlite":
        return SqliteVerdictSink(rest or ":memory:")
    if kind == "dynamodb" and rest:
        return DynamoVerdictSink(rest, client=dynamodb_client)
    raise ConfigError(f"unknown verdict store {location!r}: use sqlite:<path> or dynamodb:<table>")
