"""Review app server time on a large SQLite store, and the export of decisions.

Figures (issue 14): with 100,000 verdicts and 1,000,000 stored messages in one SQLite
file, the median server time of the queue page and of the item page (target < 50 ms
each), measured as in-process ASGI calls (Starlette's TestClient: no network, the
client's own cost included); the item page on a 500-message conversation against one
on a 5-message conversation (a bounded read keeps the ratio near 1); and the wall
time of `parley review export` of 10,000 decisions (target < 5 s). `--quick` uses a
tenth of the data.

Setup writes through parley's own stores (SqliteHistory, SqliteVerdictSink,
SqliteDecisions) inside one transaction per store, with synchronous=NORMAL: that only
makes building the fixture fast; the measured requests run on the stores as shipped.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from pipeline.conversation import Message
from pipeline.history import SqliteHistory
from pipeline.sinks import SqliteVerdictSink, stored_verdict
from pipeline.verdict import Verdict

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LONG_MESSAGES = 500
SAMPLES = 40
_TEXTS = [
    "Hi, is the bike still available?",
    "Yes, you can come on Saturday.",
    "Send me a 500 dollar deposit before the visit and I keep it for you.",
    "Can we meet at the station? I pay cash.",
    "Pay with a gift card, another buyer is waiting.",
]


@contextmanager
def _bulk(db: Any):
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("BEGIN")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def build(path: Path, verdicts: int, messages: int, seed: int = 14) -> dict[str, Any]:
    """Conversations (1% long ones) with one verdict each at their last message."""
    rng = random.Random(seed)
    long_count = max(1, verdicts // 100)
    short_each, extra = divmod(messages - long_count * LONG_MESSAGES, verdicts - long_count)
    history, sink = SqliteHistory(path), SqliteVerdictSink(path)
    stored_messages = 0
    long_ids: list[str] = []
    short_ids: list[str] = []
    pending: list[Any] = []
    with _bulk(history._db):
        batch: list[Message] = []
        for n in range(verdicts):
            cid = f"conv-{n:07d}"
            # The remainder spread one message each over the first short conversations.
            size = LONG_MESSAGES if n < long_count else short_each + (n - long_count < extra)
            (long_ids if n < long_count else short_ids).append(cid)
            start = T0 + timedelta(minutes=n)
            for m in range(size):
                batch.append(
                    Message(
                        conversation_id=cid,
                        timestamp=start + timedelta(seconds=m),
                        sender="buyer" if m % 2 else "seller",
                        text=_TEXTS[(n + m) % len(_TEXTS)],
                    )
                )
            stored_messages += size
            last = start + timedelta(seconds=size - 1)
            roll = rng.random()
            suspicious = None if roll < 0.05 else roll < 0.25
            score = (
                None
                if suspicious is None
                else (0.5 + rng.random() / 2 if suspicious else rng.random() / 2)
            )
            verdict = Verdict(
                conversation_id=cid,
                last_message_at=last,
                suspicious=suspicious,
                score=score,
                categories=("advance_fee_deposit",) if suspicious else (),
                rationale="bench",
                status="undetermined" if suspicious is None else "scored",
                model_id="local:baseline",
                prompt="suspicious-conversation@2",
            )
            pending.append(stored_verdict(verdict, now=T0 + timedelta(minutes=n, seconds=30)))
            if len(batch) >= 50_000:
                history.append_many(batch)
                batch = []
        history.append_many(batch)
    with _bulk(sink._db):
        for record in pending:
            sink.write(record)
    history.close()
    sink.close()
    return {"messages": stored_messages, "long": long_ids, "short": short_ids}


def _median_ms(client: Any, urls: list[str]) -> float:
    times = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times)


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    from starlette.testclient import TestClient

    from pipeline.cli import main as cli
    from pipeline.settings import Settings
    from review.app import create_app
    from review.auth import LocalSignIn
    from review.decisions import Decision
    from review.queue import QueueFilter
    from review.wiring import ReviewSettings, build_service

    verdicts = 10_000 if quick else 100_000
    messages = 100_000 if quick else 1_000_000
    decisions = 1_000 if quick else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "parley.db"
        started = time.perf_counter()
        data = build(db, verdicts, messages)
        built_s = time.perf_counter() - started
        settings = Settings(history=f"sqlite:{db}", verdicts_sqlite=str(db))
        service = build_service(settings, ReviewSettings(sample_rate=0.05, secret="bench"))
        client = TestClient(create_app(service, LocalSignIn("bench", "t"), secret="bench"))
        client.get("/login?token=t")  # the session cookie

        rng = random.Random(1)
        pages = [f"/?offset={rng.randrange(0, 2_000) // 50 * 50}" for _ in range(SAMPLES)]
        filtered = ["/?status=flagged&category=advance_fee_deposit"] * (SAMPLES // 2)
        _median_ms(client, pages[:3])  # warm: templates compiled, index pages cached
        queue_ms = _median_ms(client, pages)
        filtered_ms = _median_ms(client, filtered)
        # Deep pages: the app's "Next page" link carries a cursor (an index seek); an
        # OFFSET (item positions, "Previous page") walks the index that far.
        depth = int(verdicts * 0.24) // 50 * 50
        cursor = service.page(QueueFilter(), "bench", offset=depth - 50, limit=50).next_after
        deep_ms = _median_ms(client, [f"/?after={cursor}&offset={depth}"] * 10)
        deep_offset_ms = _median_ms(client, [f"/?offset={depth}"] * 5)

        def item_urls(ids: list[str]) -> list[str]:
            urls = []
            for cid in rng.sample(ids, min(SAMPLES, len(ids))):
                stored = (
                    cast(Any, service.queue)
                    ._db.execute("SELECT sk FROM verdicts WHERE pk = ?", (cid,))
                    .fetchone()[0]
                )
                urls.append(f"/item?pk={cid}&sk={stored.replace('#', '%23')}")
            return urls

        # Long and short conversations alternate, so that load on the machine hits both alike.
        long_urls, short_urls = item_urls(data["long"]), item_urls(data["short"])
        _median_ms(client, long_urls[:2] + short_urls[:2])  # warm: item templates compiled
        long_times, short_times = [], []
        for long_url, short_url in zip(long_urls, short_urls, strict=False):
            long_times.append(_median_ms(client, [long_url]))
            short_times.append(_median_ms(client, [short_url]))
        long_ms, short_ms = statistics.median(long_times), statistics.median(short_times)

        # Decisions for the export, through the store (lease, then decision).
        cast(Any, service.decisions)._db.execute("PRAGMA synchronous=NORMAL")  # setup writes only
        made = 0
        while made < decisions:
            # Decided items leave the queue: the first page is always fresh.
            page = service.queue.page(QueueFilter(), "bench", T0, offset=0, limit=200)
            if not page.items:
                break
            for item in page.items:
                if made >= decisions:
                    break
                service.decisions.acquire(item.key, "bench", T0)
                service.decisions.record(
                    Decision(
                        pk=item.key.pk,
                        sk=item.key.sk,
                        reviewer="bench",
                        decided_at=T0,
                        label="scam" if made % 3 else "not_scam",
                        verdict_kind=item.kind,
                        prompt=item.prompt,
                        model_id=item.model_id,
                    )
                )
                made += 1
        out = Path(tmp) / "reviewed.jsonl"
        store = ["--verdicts", f"sqlite:{db}", "--history", f"sqlite:{db}"]
        started = time.perf_counter()
        cli(["review", "export", *store, "-o", str(out), "--redact"])
        export_s = time.perf_counter() - started
        exported = sum(1 for _ in out.open())

    scale = f"{verdicts:,} verdicts, {data['messages']:,} messages, built in {built_s:.0f} s"
    return [
        ("queue_page_median_ms", queue_ms, f"target < 50; {scale}; pages at offsets 0-1950"),
        ("queue_filtered_median_ms", filtered_ms, "status=flagged&category=advance_fee_deposit"),
        ("queue_deep_page_median_ms", deep_ms, f"target < 50; next-page cursor at item {depth:,}"),
        ("queue_deep_offset_median_ms", deep_offset_ms, f"the same page by ?offset={depth}"),
        ("item_page_median_ms", long_ms, f"target < 50; {LONG_MESSAGES}-message conversations"),
        (
            "item_long_over_short",
            long_ms / short_ms,
            f"short ones: {short_ms:.1f} ms; ~1 = bounded read",
        ),
        ("export_s", export_s, f"target < 5; {exported:,} of {made:,} decisions, --redact"),
    ]


if __name__ == "__main__":
    import sys

    for figure, value, context in run(quick="--quick" in sys.argv):
        print(f"review_pages.{figure} = {value:.4g}  ({context})", flush=True)
