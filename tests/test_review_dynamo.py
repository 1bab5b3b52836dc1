"""The review app on DynamoDB (moto's server): the queue is served from the verdicts
table's `review_queue` index, in the same order as the SQLite queue, and no page of the
app calls Scan (counted with a botocore event hook on the client the app uses)."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from pipeline.history import SqliteHistory
from pipeline.settings import Settings
from pipeline.sinks import (
    DynamoVerdictSink,
    SqliteVerdictSink,
    create_verdicts_table,
    stored_verdict,
)
from review.app import create_app
from review.auth import LocalSignIn
from review.decisions import create_decisions_table
from review.queue import QueueFilter, SqliteQueue
from review.wiring import ReviewSettings, build_service, sample_secret
from tests.review_helpers import T0, conversation, verdict

SCORES = [0.95, 0.9, 0.9, 0.7, None, None, 0.2, 0.05, 0.9, 0.6]


@pytest.fixture
def stores(aws_client: Any, tmp_path: Path) -> Any:
    dynamodb = aws_client("dynamodb")
    suffix = uuid.uuid4().hex[:8]
    verdicts, decisions = f"verdicts-{suffix}", f"decisions-{suffix}"
    create_verdicts_table(dynamodb, verdicts)
    create_decisions_table(dynamodb, decisions)
    db = tmp_path / "parley.db"
    history = SqliteHistory(db)
    dsink, ssink = DynamoVerdictSink(verdicts, client=dynamodb), SqliteVerdictSink(db)
    for n in range(40):
        score = SCORES[n % len(SCORES)]
        cid = f"c{n:02d}"
        at = conversation(history, cid, [("buyer", f"hello {n}"), ("seller", "deposit")], T0)
        v = verdict(
            cid,
            at,
            suspicious=None if score is None else score >= 0.5,
            score=score,
            categories=("advance_fee_deposit",) if n % 3 == 0 else (),
        )
        created = T0 + timedelta(minutes=n // 4)  # ties on score and on time
        for sink in (dsink, ssink):
            sink.write(stored_verdict(v, now=created))
            if n % 5 == 0:
                shadow = v.model_copy(update={"prompt": "suspicious-conversation@1"})
                sink.write(stored_verdict(shadow, shadow=True, now=created))
    history.close()
    ops: Counter[str] = Counter()
    dynamodb.meta.events.register(
        "before-call.dynamodb", lambda model, **_: ops.update([model.name])
    )
    settings = Settings(history=f"sqlite:{db}", verdicts_table=verdicts)
    review = ReviewSettings(sample_rate=0.5, secret="s", decisions=f"dynamodb:{decisions}")
    service = build_service(settings, review, client_factory=lambda _: dynamodb)
    sqlite_queue = SqliteQueue(str(db), str(db), sample_rate=0.5, secret=sample_secret("s"))
    return service, sqlite_queue, ops


def _walk(queue: Any, filters: QueueFilter, size: int) -> list[Any]:
    keys, page = [], queue.page(filters, "alice", T0, limit=size)
    while True:
        keys += [i.key for i in page.items]
        if not page.next_after:
            return keys
        page = queue.page(filters, "alice", T0, limit=size, after=page.next_after)


@pytest.mark.parametrize(
    "filters",
    [QueueFilter(), QueueFilter(status="flagged"), QueueFilter(category="advance_fee_deposit")],
)
def test_the_index_serves_the_queue_in_the_sqlite_order(stores: Any, filters: Any) -> None:
    service, sqlite_queue, ops = stores
    from_index = _walk(service.queue, filters, 7)
    assert from_index == _walk(sqlite_queue, filters, 7)
    assert len(from_index) > 10
    by_offset = [service.queue.page(filters, "alice", T0, offset=o, limit=7) for o in (0, 7, 14)]
    assert [i.key for p in by_offset for i in p.items] == from_index[:21]
    assert ops["Scan"] == 0 and ops["Query"] > 0


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_no_page_scans_and_decided_items_leave_the_index(stores: Any) -> None:
    service, _sqlite, ops = stores
    client = TestClient(create_app(service, LocalSignIn("alice", "t"), secret="s"))
    client.get("/login?token=t")
    first = service.page(QueueFilter(), "alice").items[0]
    cursor = service.page(QueueFilter(), "alice", limit=5).next_after
    pages = [
        "/",
        "/?status=flagged",
        "/?category=advance_fee_deposit",
        f"/?after={cursor}&offset=5",
        "/item?pos=0",
        "/item?pos=12",
        "/mine",
        "/figures",
        "/api/figures",
    ]
    for url in pages:
        assert client.get(url).status_code == 200, url
    item = client.get("/item?pos=0").text
    key = {"pk": first.key.pk, "sk": first.key.sk}
    assert client.post("/lease", data={**key, "csrf_token": _csrf(item)}).status_code == 200
    # Bob's queue leaves out what alice is deciding.
    assert first.key not in [i.key for i in service.page(QueueFilter(), "bob").items]
    decided = client.post("/decide", data={**key, "csrf_token": _csrf(item), "label": "scam"})
    assert decided.status_code == 200
    assert first.key not in [i.key for i in service.page(QueueFilter(), "alice").items]
    stored = service.queue.verdict(first.key)
    assert stored is not None and stored.verdict.score == first.score  # the verdict is intact
    decision = next(service.decisions.all_active())
    undo = {**key, "csrf_token": _csrf(item), "decision_id": decision.decision_id}
    assert client.post("/undo", data=undo).status_code == 200
    assert service.page(QueueFilter(), "alice").items[0].key == first.key  # back, in place
    assert client.post("/release", data={**key, "csrf_token": _csrf(item)}).status_code == 204
    figures = client.get("/api/figures").json()
    assert figures["shadow"][0]["pairs"] == 8  # shadow pairs found through the index
    assert ops["Scan"] == 0, ops
    assert ops["Query"] > 0 and ops["TransactWriteItems"] == 2 and ops["BatchGetItem"] > 0


def test_the_counter_sees_a_scan(stores: Any) -> None:
    # The control: the hook counts what the client sends.
    service, _sqlite, ops = stores
    service.queue.sink.all()
    assert ops["Scan"] >= 1
