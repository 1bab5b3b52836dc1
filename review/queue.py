"""The review queue: which verdicts a reviewer sees next, read from the verdicts store.

The queue holds flagged and undetermined verdicts and a random sample of cleared ones
(so that misses can be found), highest score first, then oldest. An undetermined
verdict ranks as score 0.5, between flags and clears. Items already decided, and items
leased to another reviewer, are left out. Shadow verdicts are never queued.

The sample is a keyed hash of the verdict key, so it is stable across requests and
reviewers, and nobody who lacks the key can predict which cleared verdicts are sampled.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.conversation import iso, parse_timestamp
from pipeline.errors import ParleyError
from pipeline.history import connect_sqlite
from pipeline.sinks import SHADOW_PREFIX, StoredVerdict, VerdictKey
from pipeline.verdict import Verdict

from .decisions import Kind

UNDETERMINED_RANK = 0.5
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class QueueFilter:
    """What a reviewer narrowed the queue to; None means any."""

    status: Kind | None = None
    category: str | None = None
    prompt: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class QueueItem:
    """A queue row: enough to list and rank, no conversation text."""

    key: VerdictKey
    kind: Kind
    score: float | None
    categories: tuple[str, ...]
    prompt: str
    model_id: str
    created_at: datetime
    last_message_at: datetime


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    offset: int
    limit: int
    has_more: bool

    @property
    def next_after(self) -> str | None:
        """The cursor of the next page (keyset: no OFFSET walk however deep the page)."""
        return encode_cursor(self.items[-1]) if self.has_more and self.items else None


def rank_of(score: float | None) -> float:
    return UNDETERMINED_RANK if score is None else score


def encode_cursor(item: QueueItem) -> str:
    raw = json.dumps([rank_of(item.score), iso(item.created_at), item.key.pk, item.key.sk])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str, str, str]:
    """A cursor from a request; anything else than what encode_cursor made is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor[:2048] + "=" * (-len(cursor) % 4))
        rank, created, pk, sk = json.loads(raw)
        if not (
            isinstance(rank, float | int) and all(isinstance(v, str) for v in (created, pk, sk))
        ):
            raise ValueError
        return float(rank), created, pk, sk
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ParleyError("not a queue page cursor") from None


def kind_of(verdict: Verdict) -> Kind:
    if verdict.status == "undetermined" or verdict.suspicious is None:
        return "undetermined"
    return "flagged" if verdict.suspicious else "cleared"


def sample_fraction(secret: bytes, pk: str, sk: str) -> float:
    """A stable number in [0, 1) for a verdict key; a cleared verdict below the rate is sampled."""
    digest = hashlib.blake2b(f"{pk}\n{sk}".encode(), key=secret[:64], digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


# The ranking expression: the index below is on exactly this text, so SQLite walks it in order.
_RANK = "coalesce(json_extract(verdict, '$.score'), 0.5)"
_STATUS = "json_extract(verdict, '$.status')"
_SUSPICIOUS = "json_extract(verdict, '$.suspicious')"
_INDEX = (
    "CREATE INDEX IF NOT EXISTS verdicts_review_rank"
    f" ON verdicts({_RANK} DESC, created_at) WHERE shadow = 0"
)


class SqliteQueue:
    """The queue over the SQLite verdicts table, with the decisions database attached.

    The verdict sink's table has only its primary key (pk, sk); this adds one partial
    expression index (rank, created_at) on live verdicts, which the queue walks in order.
    """

    def __init__(
        self, verdicts_path: str, decisions_path: str, *, sample_rate: float, secret: bytes
    ) -> None:
        self.sample_rate = sample_rate
        self.secret = secret
        self._lock = threading.Lock()
        # The sink's schema, so that an empty file works too; the sink owns the table.
        from pipeline.sinks import SqliteVerdictSink

        self._db = connect_sqlite(verdicts_path, SqliteVerdictSink._SCHEMA)
        self._db.execute(_INDEX)
        from .decisions import SqliteDecisions

        SqliteDecisions(decisions_path).close()  # the decisions schema, so that it attaches
        self._db.execute("ATTACH DATABASE ? AS review", (decisions_path,))
        self._db.create_function(
            "review_sampled",
            2,
            lambda pk, sk: int(sample_fraction(self.secret, pk, sk) < self.sample_rate),
            deterministic=True,
        )

    def _where(self, filters: QueueFilter) -> tuple[list[str], list[Any]]:
        """The queue's conditions (membership, filters, not decided) and their values."""
        where = ["shadow = 0"]
        args: list[Any] = []
        kinds = {
            "flagged": f"({_STATUS} = 'scored' AND {_SUSPICIOUS} = 1)",
            "undetermined": f"({_STATUS} = 'undetermined' OR {_SUSPICIOUS} IS NULL)",
            "cleared": f"({_STATUS} = 'scored' AND {_SUSPICIOUS} = 0 AND review_sampled(pk, sk))",
        }
        if filters.status:
            where.append(kinds[filters.status])
        else:
            where.append("(" + " OR ".join(kinds.values()) + ")")
        if filters.prompt:
            where.append("json_extract(verdict, '$.prompt') = ?")
            args.append(filters.prompt)
        if filters.model:
            where.append("json_extract(verdict, '$.model_id') = ?")
            args.append(filters.model)
        if filters.category:
            where.append(
                "EXISTS (SELECT 1 FROM json_each(verdict, '$.categories') WHERE value = ?)"
            )
            args.append(filters.category)
        where.append(
            "NOT EXISTS (SELECT 1 FROM review.decisions d WHERE d.pk = v.pk AND d.sk = v.sk"
            " AND d.undone_at IS NULL)"
        )
        return where, args

    def page(
        self,
        filters: QueueFilter,
        reviewer: str,
        now: datetime,
        *,
        offset: int = 0,
        limit: int = PAGE_SIZE,
        after: str | None = None,
    ) -> QueuePage:
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        where, args = self._where(filters)
        if after:
            # Seek on the index's leading column, then drop the ties up to the cursor.
            rank, created, pk, sk = decode_cursor(after)
            where.append(f"{_RANK} <= ?")
            where.append(f"NOT ({_RANK} = ? AND (created_at, pk, sk) <= (?, ?, ?))")
            args += [rank, rank, created, pk, sk]
            offset = 0
        where.append(
            "NOT EXISTS (SELECT 1 FROM review.leases l WHERE l.pk = v.pk AND l.sk = v.sk"
            " AND l.expires_at > ? AND l.reviewer != ?)"
        )
        args += [iso(now), reviewer]
        sql = (
            f"SELECT pk, sk, created_at, verdict FROM verdicts AS v WHERE {' AND '.join(where)}"
            f" ORDER BY {_RANK} DESC, created_at, pk, sk LIMIT ? OFFSET ?"
        )
        with self._lock:
            rows = self._db.execute(sql, [*args, limit + 1, max(0, offset)]).fetchall()
        items = [_item(pk, sk, created, body) for pk, sk, created, body in rows[:limit]]
        return QueuePage(items, offset, limit, has_more=len(rows) > limit)

    def backlog(self, filters: QueueFilter) -> tuple[int, datetime | None]:
        """How many items wait in a queue, and when the oldest was judged."""
        where, args = self._where(filters)
        sql = f"SELECT count(*), min(created_at) FROM verdicts AS v WHERE {' AND '.join(where)}"
        with self._lock:
            count, oldest = self._db.execute(sql, args).fetchone()
        return int(count), parse_timestamp(oldest) if oldest else None

    def verdict(self, key: VerdictKey) -> StoredVerdict | None:
        """One live verdict by key."""
        with self._lock:
            row = self._db.execute(
                "SELECT created_at, verdict, shadow FROM verdicts WHERE pk = ? AND sk = ?",
                (key.pk, key.sk),
            ).fetchone()
        if row is None:
            return None
        return StoredVerdict(
            key=key,
            verdict=Verdict.model_validate_json(row[1]),
            shadow=bool(row[2]),
            created_at=parse_timestamp(row[0]),
        )

    def shadows_of(self, key: VerdictKey) -> list[Verdict]:
        """Shadow verdicts judged on the same window as this live verdict (same last message)."""
        stamp = key.sk.split("#", 1)[0]
        low = f"{SHADOW_PREFIX}{stamp}#"
        with self._lock:
            rows = self._db.execute(
                "SELECT verdict FROM verdicts WHERE pk = ? AND sk >= ? AND sk < ?",
                (key.pk, low, low[:-1] + "$"),  # "$" sorts right after "#"
            ).fetchall()
        return [Verdict.model_validate_json(r[0]) for r in rows]

    def pairs(self) -> list[tuple[Verdict, Verdict]]:
        """Every (live, shadow) pair judged on the same window: for the shadow figures."""
        with self._lock:
            rows = self._db.execute(
                "SELECT l.verdict, s.verdict FROM verdicts AS s JOIN verdicts AS l"
                " ON l.pk = s.pk AND l.shadow = 0"
                " AND l.sk >= substr(s.sk, 8, 27) || '#' AND l.sk < substr(s.sk, 8, 27) || '$'"
                " WHERE s.shadow = 1"
            ).fetchall()
        return [(Verdict.model_validate_json(a), Verdict.model_validate_json(b)) for a, b in rows]

    def close(self) -> None:
        self._db.close()


def _item(pk: str, sk: str, created_at: str, body: str) -> QueueItem:
    verdict = Verdict.model_validate_json(body)
    return queue_item(VerdictKey(pk, sk), verdict, parse_timestamp(created_at))


def queue_item(key: VerdictKey, verdict: Verdict, created_at: datetime) -> QueueItem:
    """The queue row of a stored live verdict (any store)."""
    return QueueItem(
        key=key,
        kind=kind_of(verdict),
        score=verdict.score,
        categories=tuple(c.value for c in verdict.categories),
        prompt=verdict.prompt,
        model_id=verdict.model_id,
        created_at=created_at,
        last_message_at=verdict.last_message_at,
    )


def in_queue(verdict: Verdict, key: VerdictKey, rate: float, secret: bytes) -> bool:
    """The queue's membership rule in Python, for stores that are not SQL (DynamoDB)."""
    kind = kind_of(verdict)
    return kind != "cleared" or sample_fraction(secret, key.pk, key.sk) < rate


def matches(item: QueueItem, filters: QueueFilter) -> bool:
    return (
        (filters.status is None or item.kind == filters.status)
        and (filters.prompt is None or item.prompt == filters.prompt)
        and (filters.model is None or item.model_id == filters.model)
        and (filters.category is None or filters.category in item.categories)
    )


def rank_key(item: QueueItem) -> tuple[float, str, str, str]:
    return (-rank_of(item.score), iso(item.created_at), item.key.pk, item.key.sk)


__all__ = [
    "QueueFilter",
    "QueueItem",
    "QueuePage",
    "SqliteQueue",
    "in_queue",
    "kind_of",
    "matches",
    "queue_item",
    "rank_key",
]
