"""Builders shared by the review tests: verdicts and history written through parley's
own stores, as the stream job writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.conversation import Message
from pipeline.history import SqliteHistory
from pipeline.settings import Settings
from pipeline.sinks import SqliteVerdictSink, StoredVerdict, stored_verdict
from pipeline.verdict import Verdict
from review.wiring import ReviewSettings, build_service

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def verdict(
    conversation_id: str,
    last_message_at: datetime,
    *,
    suspicious: bool | None,
    score: float | None,
    categories: tuple[str, ...] = (),
    prompt: str = "suspicious-conversation@2",
    model_id: str = "local:baseline",
) -> Verdict:
    return Verdict(
        conversation_id=conversation_id,
        last_message_at=last_message_at,
        suspicious=suspicious,
        score=score,
        categories=categories,  # type: ignore[arg-type]
        rationale="test rationale",
        status="undetermined" if suspicious is None else "scored",
        model_id=model_id,
        prompt=prompt,
    )


def write_verdict(
    sink: SqliteVerdictSink, v: Verdict, *, created_at: datetime, shadow: bool = False
) -> StoredVerdict:
    return sink.write(stored_verdict(v, shadow=shadow, now=created_at)).stored


def conversation(
    history: SqliteHistory, conversation_id: str, texts: list[tuple[str, str]], start: datetime
) -> datetime:
    """Append messages a minute apart; returns the last timestamp."""
    stamp = start
    for n, (sender, text) in enumerate(texts):
        stamp = start + timedelta(minutes=n)
        history.append(
            Message(conversation_id=conversation_id, timestamp=stamp, sender=sender, text=text)
        )
    return stamp


def local_service(db: Path, *, sample_rate: float = 0.0, **options: Any) -> Any:
    """The review service on one SQLite file (history, verdicts and decisions)."""
    settings = Settings(history=f"sqlite:{db}", verdicts_sqlite=str(db))
    review = ReviewSettings(sample_rate=sample_rate, secret="test-secret")
    service = build_service(settings, review)
    for name, value in options.items():
        setattr(service, name, value)
    return service


def seed_marketplace(db: Path) -> dict[str, Any]:
    """Three conversations: a flag, an undetermined one and a clear, with history."""
    history = SqliteHistory(db)
    sink = SqliteVerdictSink(db)
    ids: dict[str, Any] = {}
    flag_at = conversation(
        history,
        "conv-flag",
        [
            ("buyer", "I am interested in your house, can we fix a visit?"),
            ("seller", "Send me a 5000 dollar deposit before the visit, mail bob@example.com"),
        ],
        T0,
    )
    und_at = conversation(
        history, "conv-und", [("buyer", "hello"), ("seller", "call me on +44 7700 900123")], T0
    )
    clear_at = conversation(
        history, "conv-clear", [("buyer", "is the bike available?"), ("seller", "yes")], T0
    )
    ids["flag"] = write_verdict(
        sink,
        verdict(
            "conv-flag",
            flag_at,
            suspicious=True,
            score=0.93,
            categories=("advance_fee_deposit",),
        ),
        created_at=T0 + timedelta(hours=1),
    )
    ids["und"] = write_verdict(
        sink, verdict("conv-und", und_at, suspicious=None, score=None), created_at=T0
    )
    ids["clear"] = write_verdict(
        sink, verdict("conv-clear", clear_at, suspicious=False, score=0.05), created_at=T0
    )
    ids["shadow"] = write_verdict(
        sink,
        verdict(
            "conv-flag", flag_at, suspicious=False, score=0.2, prompt="suspicious-conversation@1"
        ),
        created_at=T0 + timedelta(hours=1),
        shadow=True,
    )
    history.close()
    sink.close()
    return ids
