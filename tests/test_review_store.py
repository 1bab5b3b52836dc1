"""Decisions, leases, the queue and the item window (SQLite, and DynamoDB on moto's server)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ParleyError
from pipeline.history import SqliteHistory
from pipeline.sinks import SqliteVerdictSink, VerdictKey
from review.decisions import (
    AlreadyDecided,
    Decision,
    DynamoDecisions,
    HeldByAnother,
    ReviewConflict,
    SqliteDecisions,
    create_decisions_table,
)
from review.queue import QueueFilter, SqliteQueue
from tests.review_helpers import (
    T0,
    conversation,
    local_service,
    seed_marketplace,
    verdict,
    write_verdict,
)

KEY = VerdictKey("conv-1", "2026-11-01T09:00:00.000000Z#suspicious-conversation@2")


def _decision(reviewer: str, at: Any, label: str = "scam", key: VerdictKey = KEY) -> Decision:
    return Decision(
        pk=key.pk,
        sk=key.sk,
        reviewer=reviewer,
        decided_at=at,
        label=label,  # type: ignore[arg-type]
        verdict_kind="flagged",
        prompt="suspicious-conversation@2",
        model_id="local:baseline",
    )


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "sqlite":
        return SqliteDecisions(str(tmp_path / "decisions.db"), lease_seconds=60)
    client = request.getfixturevalue("aws_client")("dynamodb")
    table = f"decisions-{uuid.uuid4().hex[:8]}"
    create_decisions_table(client, table)
    request.addfinalizer(lambda: client.delete_table(TableName=table))
    return DynamoDecisions(table, client=client, lease_seconds=60)


def test_lease_keeps_a_second_reviewer_out_until_it_expires(store: Any) -> None:
    assert store.acquire(KEY, "alice", T0)
    assert store.acquire(KEY, "alice", T0 + timedelta(seconds=30))  # renewing one's own
    assert not store.acquire(KEY, "bob", T0 + timedelta(seconds=60))
    assert store.acquire(KEY, "bob", T0 + timedelta(seconds=91))  # alice's renewal expired
    assert not store.acquire(KEY, "alice", T0 + timedelta(seconds=92))


def test_a_decision_is_refused_while_another_holds_the_lease_and_never_overwrites(
    store: Any,
) -> None:
    assert store.acquire(KEY, "bob", T0)
    with pytest.raises(HeldByAnother):
        store.record(_decision("alice", T0 + timedelta(seconds=1)))
    assert store.active(KEY) is None
    first = store.record(_decision("bob", T0 + timedelta(seconds=5)))
    assert store.active(KEY) == first
    assert store.lease_of(KEY, T0 + timedelta(seconds=5)) is None  # deciding frees it
    # The item is decided: even a fresh lease cannot add a second active decision.
    assert store.acquire(KEY, "alice", T0 + timedelta(seconds=6))
    with pytest.raises(AlreadyDecided) as refused:
        store.record(_decision("alice", T0 + timedelta(seconds=7), "not_scam"))
    assert refused.value.decision is not None and refused.value.decision.reviewer == "bob"
    assert "already decided by bob" in str(refused.value)
    assert store.active(KEY).reviewer == "bob"


def test_an_expired_lease_loses_no_work(store: Any) -> None:
    # Finding: with the lease lapsed and nobody else on the item, deciding was a 409.
    assert store.acquire(KEY, "alice", T0)
    late = store.record(_decision("alice", T0 + timedelta(seconds=61)))
    assert store.active(KEY) == late
    # No lease at all (the item was only read) is no obstacle either.
    other = VerdictKey("conv-2", KEY.sk)
    store.record(_decision("alice", T0, key=other))
    assert store.active(other) is not None


def test_leases_are_counted_and_released(store: Any) -> None:
    assert store.live_leases(T0) == 0
    store.acquire(KEY, "alice", T0)
    store.acquire(VerdictKey("conv-2", KEY.sk), "bob", T0)
    assert store.live_leases(T0 + timedelta(seconds=1)) == 2
    assert store.lease_of(KEY, T0)[0] == "alice"
    store.release(KEY, "bob")  # not bob's: stays
    assert store.live_leases(T0 + timedelta(seconds=1)) == 2
    store.release(KEY, "alice")
    assert store.live_leases(T0 + timedelta(seconds=1)) == 1
    assert store.live_leases(T0 + timedelta(seconds=61)) == 0  # expired ones do not count


def test_undo_withdraws_only_ones_own_decision_and_keeps_it(store: Any) -> None:
    store.acquire(KEY, "alice", T0)
    first = store.record(_decision("alice", T0))
    with pytest.raises(ReviewConflict):
        store.undo(KEY, first.decision_id, "bob", T0 + timedelta(seconds=1))
    undone = store.undo(KEY, first.decision_id, "alice", T0 + timedelta(seconds=2))
    assert undone.undone_at == T0 + timedelta(seconds=2)
    assert store.active(KEY) is None
    with pytest.raises(ReviewConflict):  # twice is once too many
        store.undo(KEY, first.decision_id, "alice", T0 + timedelta(seconds=3))
    store.acquire(KEY, "bob", T0 + timedelta(seconds=4))
    second = store.record(_decision("bob", T0 + timedelta(seconds=5), "not_scam"))
    history = store.for_conversation("conv-1")
    assert [(d.reviewer, d.undone_at is None) for d in history] == [("alice", False), ("bob", True)]
    assert [d.decision_id for d in store.all_active()] == [second.decision_id]


def _queue(db: Path, rate: float = 0.0) -> SqliteQueue:
    return SqliteQueue(str(db), str(db), sample_rate=rate, secret=b"k")


def test_queue_ranks_flags_then_undetermined_and_leaves_out_clears_unless_sampled(
    tmp_path: Path,
) -> None:
    db = tmp_path / "parley.db"
    ids = seed_marketplace(db)
    page = _queue(db).page(QueueFilter(), "alice", T0)
    assert [i.key for i in page.items] == [ids["flag"].key, ids["und"].key]
    assert not page.has_more
    sampled = _queue(db, rate=1.0).page(QueueFilter(), "alice", T0)
    assert [i.kind for i in sampled.items] == ["flagged", "undetermined", "cleared"]
    # Shadow verdicts are never queued.
    assert all(not i.key.sk.startswith("shadow#") for i in sampled.items)


def test_queue_filters_and_pages(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    sink = SqliteVerdictSink(db)
    for n in range(7):
        write_verdict(
            sink,
            verdict(
                f"c{n}",
                T0,
                suspicious=True,
                score=0.9 if n % 2 else 0.8,
                categories=("phishing_link",) if n < 3 else ("other",),
                model_id="m1" if n < 5 else "m2",
            ),
            created_at=T0 + timedelta(minutes=n),
        )
    queue = _queue(db)
    first = queue.page(QueueFilter(), "alice", T0, offset=0, limit=4)
    rest = queue.page(QueueFilter(), "alice", T0, offset=4, limit=4)
    order = [i.key.pk for i in first.items + rest.items]
    assert order == ["c1", "c3", "c5", "c0", "c2", "c4", "c6"]  # score, then oldest
    assert first.has_more and not rest.has_more
    by_category = queue.page(QueueFilter(category="phishing_link"), "alice", T0)
    assert {i.key.pk for i in by_category.items} == {"c0", "c1", "c2"}
    by_model = queue.page(QueueFilter(model="m2", status="flagged"), "alice", T0)
    assert {i.key.pk for i in by_model.items} == {"c5", "c6"}
    assert queue.page(QueueFilter(prompt="other@1"), "alice", T0).items == []
    assert queue.page(QueueFilter(status="undetermined"), "alice", T0).items == []


def test_queue_walks_the_rank_index(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    seed_marketplace(db)
    queue = _queue(db)
    plan = queue._db.execute(
        "EXPLAIN QUERY PLAN SELECT pk FROM verdicts WHERE shadow = 0 ORDER BY"
        " coalesce(json_extract(verdict, '$.score'), 0.5) DESC, created_at, pk, sk LIMIT 5"
    ).fetchall()
    assert any("verdicts_review_rank" in row[-1] for row in plan), plan
    assert not any("TEMP B-TREE" in row[-1] for row in plan), plan


def test_queue_pages_by_cursor_as_by_offset(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    sink = SqliteVerdictSink(db)
    for n in range(23):  # ties on score and on time, so the cursor needs the key too
        write_verdict(
            sink,
            verdict(f"c{n:02d}", T0, suspicious=n % 5 != 0, score=[0.9, 0.7, 0.1][n % 3]),
            created_at=T0 + timedelta(minutes=n // 4),
        )
    queue = SqliteQueue(str(db), str(db), sample_rate=1.0, secret=b"k")
    by_offset = [queue.page(QueueFilter(), "a", T0, offset=o, limit=5) for o in range(0, 25, 5)]
    walked, page = [], queue.page(QueueFilter(), "a", T0, limit=5)
    while True:
        walked.append(page)
        if not page.next_after:
            break
        page = queue.page(QueueFilter(), "a", T0, limit=5, after=page.next_after)
    assert [[i.key for i in p.items] for p in walked] == [
        [i.key for i in p.items] for p in by_offset if p.items
    ]
    assert sum(len(p.items) for p in walked) == 23
    with pytest.raises(ParleyError):
        queue.page(QueueFilter(), "a", T0, after="bm90IGEgY3Vyc29y")


def test_queue_leaves_out_decided_items_and_others_leases(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    ids = seed_marketplace(db)
    service = local_service(db, clock=lambda: T0)
    queue_for = lambda who: [i.key for i in service.page(QueueFilter(), who).items]  # noqa: E731
    service.open(ids["flag"].key, "alice")  # reading takes no lease
    assert queue_for("bob") == [ids["flag"].key, ids["und"].key]
    assert service.decisions.live_leases(T0) == 0
    service.lease(ids["flag"].key, "alice")  # deciding does
    assert queue_for("bob") == [ids["und"].key]
    assert queue_for("alice") == [ids["flag"].key, ids["und"].key]
    assert service.open(ids["flag"].key, "bob").lease[0] == "alice"  # bob may read it
    with pytest.raises(ReviewConflict):
        service.lease(ids["flag"].key, "bob")
    service.decide(ids["flag"].key, "alice", "scam", ["advance_fee_deposit"])
    assert queue_for("alice") == [ids["und"].key]
    # The model's verdict is untouched.
    assert service.queue.verdict(ids["flag"].key).verdict.score == 0.93


def test_item_window_is_the_history_as_of_the_verdict(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    ids = seed_marketplace(db)
    history = SqliteHistory(db)
    # Messages after the verdict (a later judgement's) are not part of what the model saw.
    conversation(history, "conv-flag", [("buyer", "later message")], T0 + timedelta(days=1))
    service = local_service(db, clock=lambda: T0, window_of=lambda _: 1)
    item = service.open(ids["flag"].key, "alice")
    assert [m.text for m in item.window.messages] == [
        "Send me a 5000 dollar deposit before the visit, mail bob@example.com"
    ]  # newest 1 at or before the verdict's last message
    assert item.window.last.timestamp == item.verdict.last_message_at
    assert [s.prompt for s in item.shadows] == ["suspicious-conversation@1"]


def test_a_conversation_judged_again_shows_the_earlier_decision(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    ids = seed_marketplace(db)
    service = local_service(db, clock=lambda: T0)
    service.open(ids["flag"].key, "alice")
    service.decide(ids["flag"].key, "alice", "not_scam", [], note="a known landlord")
    later = T0 + timedelta(days=1)
    history = SqliteHistory(db)
    at = conversation(history, "conv-flag", [("seller", "deposit now please")], later)
    again = write_verdict(
        SqliteVerdictSink(db),
        verdict("conv-flag", at, suspicious=True, score=0.97),
        created_at=later,
    )
    item = service.open(again.key, "bob")
    assert [(d.reviewer, d.label, d.note) for d in item.earlier] == [
        ("alice", "not_scam", "a known landlord")
    ]
    assert item.decision is None
