"""What the reviewer sees is what the model saw: the judged window, checked against the
verdict's digests, with any later edit marked (review/judged.py, on the item page)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from pipeline.conversation import Conversation, Message
from pipeline.history import SqliteHistory
from pipeline.sinks import SqliteVerdictSink
from review.app import create_app
from review.auth import LocalSignIn
from review.judged import judged_window
from tests.review_helpers import T0, conversation, local_service, verdict, write_verdict

TEXTS = [
    ("buyer", "I am interested in your house, can we fix a visit?"),
    ("seller", "Of course, saturday works."),
    ("seller", "Send me a 5000 dollar deposit before the visit"),
]


def _judged(db: Path, *, digests: bool = True, window: int = 3) -> Any:
    """History and a verdict judged on its newest `window` messages, as the core does."""
    history = SqliteHistory(db)
    last = conversation(history, "conv-j", TEXTS, T0)
    seen = history.latest("conv-j", window, until=last)
    update = {"window_digest": seen.digest()}
    if digests:
        update["message_digests"] = seen.message_digests()
    v = verdict("conv-j", last, suspicious=True, score=0.9).model_copy(update=update)
    return history, write_verdict(SqliteVerdictSink(db), v, created_at=T0 + timedelta(hours=1))


def _page(db: Path) -> str:
    client = TestClient(create_app(local_service(db), LocalSignIn("alice", "t"), secret="s"))
    client.get("/login?token=t")
    return client.get("/item?pos=0").text


def test_an_unchanged_window_is_shown_as_verified(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    _judged(db)
    page = _page(db)
    assert "These are the messages the model judged" in page
    assert "edited after the judgement" not in page


def test_a_message_edited_after_the_judgement_is_marked(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    history, stored = _judged(db)
    # The seller edits the middle message after the verdict (same timestamp, new text).
    history.append(
        Message(
            conversation_id="conv-j",
            timestamp=T0 + timedelta(minutes=1),
            sender="seller",
            text="Of course, but only after you pay.",
        )
    )
    item = local_service(db).open(stored.key, "alice")
    assert item.judged is not None and item.judged.check == "changed"
    assert [m.edited for m in item.judged.messages] == [False, True, False]
    page = _page(db)
    assert "Changed since it was judged" in page
    edited = re.findall(r'<li class="msg( judged)? edited".*?</li>', page, re.S)
    assert len(edited) == 1
    marked = re.search(r'<li class="msg edited">(.*?)</li>', page, re.S)
    assert marked and "only after you pay" in marked.group(1)
    assert "edited after the judgement" in marked.group(1)


def test_an_older_verdict_finds_its_window_by_the_digest_alone(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    # Judged on 2 messages, before per-message digests; the prompt's window is now 20.
    _judged(db, digests=False, window=2)
    item = local_service(db).open(
        next(iter(local_service(db).page(_all(), "a").items)).key, "alice"
    )
    assert item.judged.check == "verified"
    assert [m.text for m in item.window.messages] == [t for _, t in TEXTS[1:]]


def _all() -> Any:
    from review.queue import QueueFilter

    return QueueFilter()


def test_judged_window_counts_a_deleted_message_and_says_unknown_without_a_digest() -> None:
    messages = tuple(
        Message(conversation_id="c", timestamp=T0 + timedelta(minutes=n), sender=s, text=t)
        for n, (s, t) in enumerate(TEXTS)
    )
    seen = Conversation(id="c", messages=messages)
    judged = verdict("c", messages[-1].timestamp, suspicious=True, score=0.9).model_copy(
        update={"window_digest": seen.digest(), "message_digests": seen.message_digests()}
    )
    today = Conversation(id="c", messages=messages[1:])  # the first one was deleted
    window = judged_window(judged, today, 20)
    assert (window.check, window.missing, window.edited) == ("changed", 1, 0)
    assert judged_window(judged, seen, 20).check == "verified"  # the control
    bare = verdict("c", messages[-1].timestamp, suspicious=True, score=0.9)
    assert judged_window(bare, seen, 2).check == "unknown"
    assert len(judged_window(bare, seen, 2).messages) == 2
