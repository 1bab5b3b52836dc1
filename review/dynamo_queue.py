"""The review queue over the DynamoDB verdicts table (the AWS deployment).

The verdicts table is keyed for idempotent writes (pk, sk), not for ranking, so the
queue scans it (at most `max_items` live verdicts, newest pages last) and ranks in
memory; decided and leased items are looked up in the decisions table. A scan result
is kept for `ttl_s` seconds per warm function. Good for a review team's backlog of tens
of thousands of verdicts; beyond that, a status index on the table is the next step.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from pipeline.conversation import iso, parse_timestamp
from pipeline.sinks import SHADOW_PREFIX, DynamoVerdictSink, StoredVerdict, VerdictKey
from pipeline.verdict import Verdict

from .queue import (
    QueueFilter,
    QueueItem,
    QueuePage,
    decode_cursor,
    in_queue,
    matches,
    queue_item,
    rank_key,
)


class DynamoQueue:
    def __init__(
        self,
        verdicts_table: str,
        decisions_table: str,
        *,
        client: Any,
        sample_rate: float,
        secret: bytes,
        max_items: int = 50_000,
        ttl_s: float = 15.0,
    ) -> None:
        self.sink = DynamoVerdictSink(verdicts_table, client=client)
        self.decisions_table = decisions_table
        self.client = client
        self.sample_rate = sample_rate
        self.secret = secret
        self.max_items = max_items
        self.ttl_s = ttl_s
        self._cache: tuple[float, list[tuple[QueueItem, Verdict]], list[Verdict]] | None = None

    def _scan(self) -> tuple[list[tuple[QueueItem, Verdict]], list[Verdict]]:
        if self._cache and time.monotonic() - self._cache[0] < self.ttl_s:
            return self._cache[1], self._cache[2]
        live: list[tuple[QueueItem, Verdict]] = []
        shadows: list[Verdict] = []
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.sink.table,
            ProjectionExpression="pk, sk, created_at, verdict, shadow",
        )
        for page in pages:
            for raw in page.get("Items", []):
                verdict = Verdict.model_validate_json(raw["verdict"]["S"])
                if raw.get("shadow", {}).get("BOOL"):
                    shadows.append(verdict)
                    continue
                key = VerdictKey(raw["pk"]["S"], raw["sk"]["S"])
                created_at = parse_timestamp(raw["created_at"]["S"])
                live.append((queue_item(key, verdict, created_at), verdict))
            if len(live) >= self.max_items:
                break
        self._cache = (time.monotonic(), live, shadows)
        return live, shadows

    def _taken(self, reviewer: str, now: datetime) -> set[tuple[str, str]]:
        """Keys with an active decision, or leased by another reviewer."""
        taken: set[tuple[str, str]] = set()
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.decisions_table,
            FilterExpression="begins_with(sk, :a) OR (begins_with(sk, :l) AND expires_at > :now"
            " AND reviewer <> :me)",
            ExpressionAttributeValues={
                ":a": {"S": "active#"},
                ":l": {"S": "lease#"},
                ":now": {"S": iso(now)},
                ":me": {"S": reviewer},
            },
            ProjectionExpression="pk, sk",
        )
        for page in pages:
            for raw in page.get("Items", []):
                taken.add((raw["pk"]["S"], raw["sk"]["S"].split("#", 1)[1]))
        return taken

    def page(
        self,
        filters: QueueFilter,
        reviewer: str,
        now: datetime,
        *,
        offset: int = 0,
        limit: int = 50,
        after: str | None = None,
    ) -> QueuePage:
        live, _ = self._scan()
        taken = self._taken(reviewer, now)
        ranked = sorted(
            (
                item
                for item, verdict in live
                if in_queue(verdict, item.key, self.sample_rate, self.secret)
                and matches(item, filters)
                and (item.key.pk, item.key.sk) not in taken
            ),
            key=rank_key,
        )
        if after:
            rank, created, pk, sk = decode_cursor(after)
            ranked = [i for i in ranked if rank_key(i) > (-rank, created, pk, sk)]
            offset = 0
        chunk = ranked[offset : offset + limit + 1]
        return QueuePage(chunk[:limit], offset, limit, has_more=len(chunk) > limit)

    def verdict(self, key: VerdictKey) -> StoredVerdict | None:
        return self.sink.get(key)

    def shadows_of(self, key: VerdictKey) -> list[Verdict]:
        stamp = key.sk.split("#", 1)[0]
        page = self.client.query(
            TableName=self.sink.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
            ExpressionAttributeValues={
                ":pk": {"S": key.pk},
                ":p": {"S": f"{SHADOW_PREFIX}{stamp}#"},
            },
        )
        return [Verdict.model_validate_json(i["verdict"]["S"]) for i in page.get("Items", [])]

    def pairs(self) -> list[tuple[Verdict, Verdict]]:
        live, shadows = self._scan()
        by_window = {(v.conversation_id, iso(v.last_message_at)): v for _, v in live}
        pairs = []
        for shadow in shadows:
            partner = by_window.get((shadow.conversation_id, iso(shadow.last_message_at)))
            if partner is not None:
                pairs.append((partner, shadow))
        return pairs
