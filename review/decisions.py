"""Reviewers' decisions and the leases that keep two reviewers off one item.

A decision lives in its own store (SQLite locally, a DynamoDB table in AWS), keyed by
the verdict it judges; the model's verdict is never touched. At most one decision per
verdict is active: a second reviewer's write is refused, and an undo marks a decision
withdrawn (kept for the audit trail) so that the item can be decided again. A lease
is a conditional write that expires, taken only while a reviewer is deciding (the page
renews it and releases it on leaving): others skip the item. Deciding needs no lease of
one's own, only that nobody else holds a live one, so an expired lease loses no work.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.conversation import iso, parse_timestamp
from pipeline.errors import ParleyError
from pipeline.history import connect_sqlite
from pipeline.sinks import VerdictKey
from pipeline.verdict import Category

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

Label = Literal["scam", "not_scam", "cannot_tell"]
LABELS: tuple[Label, ...] = ("scam", "not_scam", "cannot_tell")
Kind = Literal["flagged", "undetermined", "cleared"]
Role = Literal["first", "second", "senior"]
LEASE_SECONDS = 300
BY_TIME_INDEX = "by_time"
MAX_NOTE_CHARS = 500
MAX_REVIEWER_CHARS = 128


class ReviewConflict(ParleyError):
    """The item is leased by someone else, already decided, or not this reviewer's."""


class AlreadyDecided(ReviewConflict):
    """The item has an active decision (`decision`, when it could be read)."""

    def __init__(self, decision: Decision | None = None) -> None:
        self.decision = decision
        who = f" by {decision.reviewer}" if decision else ""
        super().__init__(f"already decided{who}: your input is kept below")


class HeldByAnother(ReviewConflict):
    """Another reviewer holds a live lease on the item."""

    def __init__(self) -> None:
        super().__init__("another reviewer is deciding this item: your input is kept below")


class Decision(BaseModel):
    """One reviewer's judgement on one verdict."""

    model_config = ConfigDict(frozen=True)

    decision_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    pk: str
    sk: str
    reviewer: str = Field(min_length=1, max_length=MAX_REVIEWER_CHARS)
    decided_at: datetime
    label: Label
    categories: tuple[Category, ...] = ()
    note: str = Field("", max_length=MAX_NOTE_CHARS)
    verdict_kind: Kind
    prompt: str
    model_id: str
    undone_at: datetime | None = None
    reason: str = Field("", max_length=64, description="a reason code of review/policy.py")

    @field_validator("note", mode="before")
    @classmethod
    def _short_note(cls, value: Any) -> Any:
        return value[:MAX_NOTE_CHARS] if isinstance(value, str) else value

    @property
    def key(self) -> VerdictKey:
        return VerdictKey(self.pk, self.sk)

    @property
    def overturns_flag(self) -> bool:
        """A flag the reviewer found not to be a scam: consumers may lift a block."""
        return self.role == "first" and self.verdict_kind == "flagged" and self.label == "not_scam"

    @property
    def role(self) -> Role:
        """first: the queue's decision; second: a blind double review; senior: the
        decision on a disagreement. Kept apart by a prefix of the stored key, so that
        each has its own "one active decision" guard."""
        head = self.sk.split("#", 1)[0]
        return head if head in ("second", "senior") else "first"  # type: ignore[return-value]

    @property
    def verdict_key(self) -> VerdictKey:
        """The verdict judged (the key without the role's prefix)."""
        sk = self.sk.split("#", 1)[1] if self.role != "first" else self.sk
        return VerdictKey(self.pk, sk)


def role_key(key: VerdictKey, role: Role) -> VerdictKey:
    """Where a decision of this role on this verdict is stored."""
    return key if role == "first" else VerdictKey(key.pk, f"{role}#{key.sk}")


class DecisionStore(Protocol):
    """Leases and decisions; every write is conditional."""

    lease_seconds: int

    def acquire(self, key: VerdictKey, reviewer: str, now: datetime) -> bool:
        """Take or renew the lease; False if another reviewer holds it."""
        ...

    def release(self, key: VerdictKey, reviewer: str) -> None: ...

    def record(self, decision: Decision) -> Decision:
        """Store a decision and drop any lease on the item; raises HeldByAnother when
        another reviewer holds a live lease, AlreadyDecided when a decision is active."""
        ...

    def lease_of(self, key: VerdictKey, now: datetime) -> tuple[str, datetime] | None:
        """The live lease on an item (holder, expiry), if any."""
        ...

    def live_leases(self, now: datetime) -> int:
        """How many live leases exist (the figure that browsing must not raise)."""
        ...

    def undo(self, key: VerdictKey, decision_id: str, reviewer: str, now: datetime) -> Decision:
        """Withdraw one's own active decision; raises ReviewConflict otherwise."""
        ...

    def active(self, key: VerdictKey) -> Decision | None: ...

    def for_conversation(self, conversation_id: str) -> list[Decision]:
        """Every decision on a conversation's verdicts, withdrawn ones included, oldest first."""
        ...

    def all_active(self) -> Iterator[Decision]: ...

    def all_decisions(self) -> list[Decision]:
        """Every decision, withdrawn ones included, oldest first (the audit trail)."""
        ...


def lease_expiry(now: datetime, seconds: int = LEASE_SECONDS) -> datetime:
    return now + timedelta(seconds=seconds)


class SqliteDecisions:
    """Decisions and leases in SQLite (by default the same file as the verdicts)."""

    _SCHEMA = (
        """CREATE TABLE IF NOT EXISTS decisions (
            decision_id TEXT PRIMARY KEY, pk TEXT NOT NULL, sk TEXT NOT NULL,
            reviewer TEXT NOT NULL, decided_at TEXT NOT NULL, label TEXT NOT NULL,
            categories TEXT NOT NULL, note TEXT NOT NULL, verdict_kind TEXT NOT NULL,
            prompt TEXT NOT NULL, model_id TEXT NOT NULL, undone_at TEXT)""",
        # One active decision per verdict: the database refuses a second one.
        """CREATE UNIQUE INDEX IF NOT EXISTS decisions_active
            ON decisions(pk, sk) WHERE undone_at IS NULL""",
        "CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions(decided_at)",
        """CREATE TABLE IF NOT EXISTS leases (
            pk TEXT NOT NULL, sk TEXT NOT NULL, reviewer TEXT NOT NULL,
            expires_at TEXT NOT NULL, PRIMARY KEY (pk, sk)) WITHOUT ROWID""",
    )

    def __init__(self, path: str = ":memory:", *, lease_seconds: int = LEASE_SECONDS) -> None:
        self.path = path
        self.lease_seconds = lease_seconds
        self._lock = threading.Lock()
        self._db = connect_sqlite(path, self._SCHEMA[0])
        for statement in self._SCHEMA[1:]:
            self._db.execute(statement)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(decisions)")}
        if "reason" not in columns:  # a file from before reason codes
            self._db.execute("ALTER TABLE decisions ADD COLUMN reason TEXT NOT NULL DEFAULT ''")

    def acquire(self, key: VerdictKey, reviewer: str, now: datetime) -> bool:
        expires = iso(lease_expiry(now, self.lease_seconds))
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO leases VALUES (?, ?, ?, ?) ON CONFLICT (pk, sk) DO UPDATE"
                " SET reviewer = excluded.reviewer, expires_at = excluded.expires_at"
                " WHERE leases.reviewer = excluded.reviewer OR leases.expires_at <= ?",
                (key.pk, key.sk, reviewer, expires, iso(now)),
            )
            return cursor.rowcount == 1

    def release(self, key: VerdictKey, reviewer: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM leases WHERE pk = ? AND sk = ? AND reviewer = ?",
                (key.pk, key.sk, reviewer),
            )

    def record(self, decision: Decision) -> Decision:
        now = iso(decision.decided_at)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                other = self._db.execute(
                    "SELECT 1 FROM leases WHERE pk = ? AND sk = ? AND reviewer != ?"
                    " AND expires_at > ?",
                    (decision.pk, decision.sk, decision.reviewer, now),
                ).fetchone()
                existing = self._db.execute(
                    f"SELECT {_COLUMNS} FROM decisions WHERE pk = ? AND sk = ?"
                    " AND undone_at IS NULL",
                    (decision.pk, decision.sk),
                ).fetchone()
                if existing:  # checked first: "already decided" is the more useful answer
                    raise AlreadyDecided(_from_row(existing))
                if other:
                    raise HeldByAnother
                try:
                    self._db.execute(
                        f"INSERT INTO decisions ({_COLUMNS})"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                        _row(decision),
                    )
                except sqlite3.IntegrityError as exc:  # the unique index: already decided
                    raise AlreadyDecided() from exc
                self._db.execute(
                    "DELETE FROM leases WHERE pk = ? AND sk = ?", (decision.pk, decision.sk)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return decision

    def undo(self, key: VerdictKey, decision_id: str, reviewer: str, now: datetime) -> Decision:
        with self._lock:
            cursor = self._db.execute(
                "UPDATE decisions SET undone_at = ? WHERE decision_id = ? AND pk = ? AND sk = ?"
                " AND reviewer = ? AND undone_at IS NULL",
                (iso(now), decision_id, key.pk, key.sk, reviewer),
            )
            if cursor.rowcount != 1:
                raise ReviewConflict("no active decision of yours to undo")
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM decisions WHERE decision_id = ?", (decision_id,)
            ).fetchone()
        return _from_row(row)

    def active(self, key: VerdictKey) -> Decision | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM decisions WHERE pk = ? AND sk = ? AND undone_at IS NULL",
                (key.pk, key.sk),
            ).fetchone()
        return _from_row(row) if row else None

    def for_conversation(self, conversation_id: str) -> list[Decision]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM decisions WHERE pk = ? ORDER BY decided_at",
                (conversation_id,),
            ).fetchall()
        return [_from_row(r) for r in rows]

    def all_active(self) -> Iterator[Decision]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM decisions WHERE undone_at IS NULL ORDER BY decided_at"
            ).fetchall()
        return (_from_row(r) for r in rows)

    def all_decisions(self) -> list[Decision]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM decisions ORDER BY decided_at"
            ).fetchall()
        return [_from_row(r) for r in rows]

    def lease_of(self, key: VerdictKey, now: datetime) -> tuple[str, datetime] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT reviewer, expires_at FROM leases WHERE pk = ? AND sk = ?"
                " AND expires_at > ?",
                (key.pk, key.sk, iso(now)),
            ).fetchone()
        return (row[0], parse_timestamp(row[1])) if row else None

    def live_leases(self, now: datetime) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM leases WHERE expires_at > ?", (iso(now),)
            ).fetchone()
        return int(row[0])

    def close(self) -> None:
        self._db.close()


_COLUMNS = (
    "decision_id, pk, sk, reviewer, decided_at, label, categories, note, verdict_kind,"
    " prompt, model_id, undone_at, reason"
)


def _row(d: Decision) -> tuple[Any, ...]:
    return (
        d.decision_id,
        d.pk,
        d.sk,
        d.reviewer,
        iso(d.decided_at),
        d.label,
        json.dumps([c.value for c in d.categories]),
        d.note,
        d.verdict_kind,
        d.prompt,
        d.model_id,
        d.reason,
    )


def _from_row(row: tuple[Any, ...]) -> Decision:
    (did, pk, sk, reviewer, decided_at, label, cats, note, kind, prompt, model, undone, reason) = (
        row
    )
    return Decision(
        decision_id=did,
        pk=pk,
        sk=sk,
        reviewer=reviewer,
        decided_at=parse_timestamp(decided_at),
        label=label,
        categories=tuple(json.loads(cats)),
        note=note,
        verdict_kind=kind,
        prompt=prompt,
        model_id=model,
        undone_at=parse_timestamp(undone) if undone else None,
        reason=reason,
    )


class DynamoDecisions:
    """Decisions and leases in one DynamoDB table (`pk`, `sk`), every write conditional.

    Items per verdict: `lease#<verdict sk>` (with a TTL attribute `ttl`),
    `active#<verdict sk>` (which decision is active: the "one active decision" guard),
    and `decision#<verdict sk>#<decision id>` (never deleted). Leases and decisions carry
    `entity` and `at` (expiry, decision time): the `by_time` index lists them in time
    order, so no page scans the table.
    """

    def __init__(
        self,
        table: str,
        *,
        client: Any = None,
        lease_seconds: int = LEASE_SECONDS,
        on_decided: Callable[..., dict[str, Any]] | None = None,
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("dynamodb")
        self.table = table
        self.client = client
        self.lease_seconds = lease_seconds
        # A transaction item that takes a verdict out of (or back into) the queue index,
        # written in the same transaction as the decision (dynamo_queue.queue_update).
        self.on_decided = on_decided

    def acquire(self, key: VerdictKey, reviewer: str, now: datetime) -> bool:
        expires = lease_expiry(now, self.lease_seconds)
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": key.pk},
                    "sk": {"S": f"lease#{key.sk}"},
                    "reviewer": {"S": reviewer},
                    "expires_at": {"S": iso(expires)},
                    "entity": {"S": "lease"},
                    "at": {"S": iso(expires)},
                    "ttl": {"N": str(int(expires.timestamp()) + 3600)},
                },
                ConditionExpression=(
                    "attribute_not_exists(pk) OR reviewer = :me OR expires_at <= :now"
                ),
                ExpressionAttributeValues={":me": {"S": reviewer}, ":now": {"S": iso(now)}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, key: VerdictKey, reviewer: str) -> None:
        # Not ours (or gone): nothing to release.
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.delete_item(
                TableName=self.table,
                Key={"pk": {"S": key.pk}, "sk": {"S": f"lease#{key.sk}"}},
                ConditionExpression="reviewer = :me",
                ExpressionAttributeValues={":me": {"S": reviewer}},
            )

    def record(self, decision: Decision) -> Decision:
        pk = {"S": decision.pk}
        items: list[dict[str, Any]] = [
            {
                # Any lease goes, unless another reviewer's is live (ours, or none, is fine).
                "Delete": {
                    "TableName": self.table,
                    "Key": {"pk": pk, "sk": {"S": f"lease#{decision.sk}"}},
                    "ConditionExpression": (
                        "attribute_not_exists(pk) OR reviewer = :me OR expires_at <= :now"
                    ),
                    "ExpressionAttributeValues": {
                        ":me": {"S": decision.reviewer},
                        ":now": {"S": iso(decision.decided_at)},
                    },
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {
                        "pk": pk,
                        "sk": {"S": f"active#{decision.sk}"},
                        "decision_id": {"S": decision.decision_id},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": _to_item(decision),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        if self.on_decided is not None and decision.role == "first":
            items.append(self.on_decided(decision.key, decided=True))
        try:
            self.client.transact_write_items(TransactItems=items)
        except self.client.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise AlreadyDecided(self.active(decision.key)) from exc
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise HeldByAnother from exc
            current = self.active(decision.key)  # the reasons were not given: look
            if current is not None:
                raise AlreadyDecided(current) from exc
            raise HeldByAnother from exc
        return decision

    def undo(self, key: VerdictKey, decision_id: str, reviewer: str, now: datetime) -> Decision:
        pk = {"S": key.pk}
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": {"pk": pk, "sk": {"S": f"decision#{key.sk}#{decision_id}"}},
                            "UpdateExpression": "SET undone_at = :now",
                            "ConditionExpression": (
                                "reviewer = :me AND attribute_not_exists(undone_at)"
                            ),
                            "ExpressionAttributeValues": {
                                ":me": {"S": reviewer},
                                ":now": {"S": iso(now)},
                            },
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": {"pk": pk, "sk": {"S": f"active#{key.sk}"}},
                            "ConditionExpression": "decision_id = :id",
                            "ExpressionAttributeValues": {":id": {"S": decision_id}},
                        }
                    },
                    *(
                        [self.on_decided(key, decided=False)]
                        if self.on_decided and not key.sk.startswith(("second#", "senior#"))
                        else []
                    ),
                ]
            )
        except self.client.exceptions.TransactionCanceledException as exc:
            raise ReviewConflict("no active decision of yours to undo") from exc
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": pk, "sk": {"S": f"decision#{key.sk}#{decision_id}"}},
            ConsistentRead=True,
        )["Item"]
        return _from_item(item)

    def active(self, key: VerdictKey) -> Decision | None:
        found = [d for d in self._query(key.pk, f"decision#{key.sk}#") if d.undone_at is None]
        return found[0] if found else None

    def for_conversation(self, conversation_id: str) -> list[Decision]:
        return sorted(self._query(conversation_id, "decision#"), key=lambda d: d.decided_at)

    def all_active(self) -> Iterator[Decision]:
        return iter([d for d in self.all_decisions() if d.undone_at is None])

    def all_decisions(self) -> list[Decision]:
        # The `by_time` index (entity, at): every decision in time order, no Scan.
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            IndexName=BY_TIME_INDEX,
            KeyConditionExpression="entity = :e",
            ExpressionAttributeValues={":e": {"S": "decision"}},
        )
        return [_from_item(i) for page in pages for i in page.get("Items", [])]

    def lease_of(self, key: VerdictKey, now: datetime) -> tuple[str, datetime] | None:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": key.pk}, "sk": {"S": f"lease#{key.sk}"}},
            ConsistentRead=True,
        ).get("Item")
        if not item or item["expires_at"]["S"] <= iso(now):
            return None
        return item["reviewer"]["S"], parse_timestamp(item["expires_at"]["S"])

    def live_leases(self, now: datetime) -> int:
        page = self.client.query(
            TableName=self.table,
            IndexName=BY_TIME_INDEX,
            KeyConditionExpression="entity = :e AND #at > :now",
            ExpressionAttributeNames={"#at": "at"},
            ExpressionAttributeValues={":e": {"S": "lease"}, ":now": {"S": iso(now)}},
            Select="COUNT",
        )
        return int(page["Count"])

    def _query(self, pk: str, prefix: str) -> list[Decision]:
        pages = self.client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":p": {"S": prefix}},
            ConsistentRead=True,
        )
        return [_from_item(i) for page in pages for i in page.get("Items", [])]


def _to_item(d: Decision) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": d.pk},
        "sk": {"S": f"decision#{d.sk}#{d.decision_id}"},
        "decision": {"S": d.model_dump_json()},
        "reviewer": {"S": d.reviewer},
        "decided_at": {"S": iso(d.decided_at)},
        "entity": {"S": "decision"},
        "at": {"S": iso(d.decided_at)},
    }
    return item


def _from_item(item: dict[str, Any]) -> Decision:
    decision = Decision.model_validate_json(item["decision"]["S"])
    undone = item.get("undone_at", {}).get("S")
    return (
        decision.model_copy(update={"undone_at": parse_timestamp(undone)}) if undone else decision
    )


def create_decisions_table(client: Any, table: str) -> None:
    """Create the decisions table (pk, sk) and its `by_time` index, for local runs and
    tests; SAM creates the same in AWS (template.yaml ReviewDecisionsTable)."""
    client.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "entity", "at")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": BY_TIME_INDEX,
                "KeySchema": [
                    {"AttributeName": "entity", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
