"""The review queue over the DynamoDB verdicts table (the AWS deployment), with no Scan.

The verdicts table has a sparse global secondary index, `review_queue` (pipeline/sinks.py
REVIEW_INDEX): partition = the verdict's kind ("flagged", "undetermined", "cleared";
"shadow" for shadow verdicts), sort key = `review_rank` (highest score first, then
oldest, then the key, as one string). A page is a Query per kind, merged in rank order
and read only as far as the page needs; a decision removes the verdict's `review_queue`
attribute in the same transaction (DynamoDecisions.on_decided), so decided items leave
the index and are never read again; an undo puts it back. Items leased to another
reviewer are dropped after one BatchGetItem of their leases per chunk. Cleared verdicts
pass the keyed sample (queue.in_queue) on the way.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pipeline.conversation import iso, parse_timestamp
from pipeline.sinks import (
    REVIEW_INDEX,
    SHADOW_PREFIX,
    DynamoVerdictSink,
    StoredVerdict,
    VerdictKey,
    review_queue_of,
    review_rank,
)
from pipeline.verdict import Verdict

from .queue import QueueFilter, QueueItem, QueuePage, decode_cursor, in_queue, matches, queue_item

if TYPE_CHECKING:
    from collections.abc import Iterator

KINDS = ("flagged", "undetermined", "cleared")
CHUNK = 100  # index items read per Query call
BATCH_GET_MAX = 100  # BatchGetItem's limit


class DynamoQueue:
    def __init__(
        self,
        verdicts_table: str,
        decisions_table: str,
        *,
        client: Any,
        sample_rate: float,
        secret: bytes,
    ) -> None:
        self.sink = DynamoVerdictSink(verdicts_table, client=client)
        self.decisions_table = decisions_table
        self.client = client
        self.sample_rate = sample_rate
        self.secret = secret

    def _walk(self, kind: str, after: str | None) -> Iterator[tuple[str, QueueItem, Verdict]]:
        """One partition of the index in rank order, from just after `after`."""
        condition = "review_queue = :q"
        values: dict[str, Any] = {":q": {"S": kind}}
        if after:
            condition += " AND review_rank > :after"
            values[":after"] = {"S": after}
        start: dict[str, Any] | None = None
        while True:
            request: dict[str, Any] = {
                "TableName": self.sink.table,
                "IndexName": REVIEW_INDEX,
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": values,
                "Limit": CHUNK,
            }
            if start:
                request["ExclusiveStartKey"] = start
            page = self.client.query(**request)
            for raw in page.get("Items", []):
                verdict = Verdict.model_validate_json(raw["verdict"]["S"])
                key = VerdictKey(raw["pk"]["S"], raw["sk"]["S"])
                created_at = parse_timestamp(raw["created_at"]["S"])
                yield raw["review_rank"]["S"], queue_item(key, verdict, created_at), verdict
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    def _leased_by_others(
        self, items: list[QueueItem], reviewer: str, now: datetime
    ) -> set[tuple[str, str]]:
        taken: set[tuple[str, str]] = set()
        for first in range(0, len(items), BATCH_GET_MAX):
            keys = [
                {"pk": {"S": i.key.pk}, "sk": {"S": f"lease#{i.key.sk}"}}
                for i in items[first : first + BATCH_GET_MAX]
            ]
            request: dict[str, Any] = {self.decisions_table: {"Keys": keys}}
            while request:
                answer = self.client.batch_get_item(RequestItems=request)
                for raw in answer.get("Responses", {}).get(self.decisions_table, []):
                    if raw["reviewer"]["S"] != reviewer and raw["expires_at"]["S"] > iso(now):
                        taken.add((raw["pk"]["S"], raw["sk"]["S"].removeprefix("lease#")))
                request = answer.get("UnprocessedKeys") or {}
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
        seek = None
        if after:
            rank, created, pk, sk = decode_cursor(after)
            seek = review_rank(rank, parse_timestamp(created), pk, sk)
            offset = 0
        kinds = [filters.status] if filters.status else list(KINDS)
        merged = heapq.merge(*(self._walk(k, seek) for k in kinds), key=lambda t: t[0])
        wanted = offset + limit + 1
        kept: list[QueueItem] = []
        chunk: list[QueueItem] = []

        def flush() -> None:
            taken = self._leased_by_others(chunk, reviewer, now)
            kept.extend(i for i in chunk if (i.key.pk, i.key.sk) not in taken)
            chunk.clear()

        for _, item, verdict in merged:
            if not (
                in_queue(verdict, item.key, self.sample_rate, self.secret)
                and matches(item, filters)
            ):
                continue
            chunk.append(item)
            if len(kept) + len(chunk) >= wanted:
                flush()
                if len(kept) >= wanted:
                    break
        if chunk:
            flush()
        window = kept[offset : offset + limit + 1]
        return QueuePage(window[:limit], offset, limit, has_more=len(window) > limit)

    def backlog(self, filters: QueueFilter) -> tuple[int, datetime | None]:
        """How many items wait in a queue, and when the oldest was judged: a walk of the
        index partitions (Query, no Scan; decided items are not in the index)."""
        kinds = [filters.status] if filters.status else list(KINDS)
        count, oldest = 0, None
        for kind in kinds:
            for _, item, verdict in self._walk(kind, None):
                if in_queue(verdict, item.key, self.sample_rate, self.secret) and matches(
                    item, filters
                ):
                    count += 1
                    oldest = item.created_at if oldest is None else min(oldest, item.created_at)
        return count, oldest

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
        """(live, shadow) pairs: the index's shadow partition, then each live partner by a
        Query on its conversation (decided live verdicts have left the index)."""
        pairs = []
        for _, _item, shadow in self._walk("shadow", None):
            stamp = iso(shadow.last_message_at)
            page = self.client.query(
                TableName=self.sink.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
                ExpressionAttributeValues={
                    ":pk": {"S": shadow.conversation_id},
                    ":p": {"S": f"{stamp}#"},
                },
            )
            for raw in page.get("Items", []):
                live = Verdict.model_validate_json(raw["verdict"]["S"])
                pairs.append((live, shadow))
                break
        return pairs

    def on_decided(self, key: VerdictKey, *, decided: bool) -> dict[str, Any]:
        """The transaction item that takes a verdict out of the index (or puts it back)."""
        target: dict[str, Any] = {
            "TableName": self.sink.table,
            "Key": {"pk": {"S": key.pk}, "sk": {"S": key.sk}},
            "ConditionExpression": "attribute_exists(pk)",
        }
        if decided:
            return {"Update": {**target, "UpdateExpression": "REMOVE review_queue"}}
        stored = self.sink.get(key)
        kind = review_queue_of(stored.verdict, False) if stored else "undetermined"
        return {
            "Update": {
                **target,
                "UpdateExpression": "SET review_queue = :q",
                "ExpressionAttributeValues": {":q": {"S": kind}},
            }
        }
