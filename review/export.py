"""Reviewed conversations as evaluation cases: the JSONL format of evals/datasets/.

Each active decision that says scam or not a scam becomes one case: the window the
model saw (rebuilt from history as of the verdict's last message), the reviewer's
label and categories, and where it came from (verdict key, prompt, model, reviewer,
date). "Cannot tell" is not a label: such decisions are counted and left out.

With `redact`, the texts lose contact details (pipeline/redact.py) and the provenance
loses people: the reviewer (an e-mail address in AWS) and the conversation id become
keyed pseudonyms (HMAC-SHA256), stable within one key so that agreement per reviewer
can still be computed, and unlinkable to the originals without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from pipeline.conversation import iso, parse_timestamp
from pipeline.redact import redact_for_export

from .items import DEFAULT_WINDOW

if TYPE_CHECKING:
    from pipeline.history import HistoryStore

    from .decisions import Decision


@dataclass
class ExportCounts:
    written: int = 0
    cannot_tell: int = 0
    no_history: int = 0


def pseudonym(key: bytes, kind: str, value: str) -> str:
    """`<kind>-<16 hex>`: the same value gives the same pseudonym under one key."""
    digest = hmac.new(key, f"{kind}\n{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}-{digest[:16]}"


def case_for(
    decision: Decision,
    history: HistoryStore,
    *,
    window: int,
    redact: bool,
    split: str,
    pseudonym_key: bytes = b"",
) -> dict[str, Any] | None:
    """One evaluation case, or None when a label or the history is missing."""
    if decision.label == "cannot_tell":
        return None
    stamp = parse_timestamp(decision.sk.split("#", 1)[0])
    conversation = history.latest(decision.pk, window, until=stamp)
    if not conversation.messages:
        return None
    clean: Callable[[str], str] = redact_for_export if redact else (lambda text: text)
    categories = [c.value for c in decision.categories]
    return {
        "id": f"review-{decision.decision_id[:16]}",
        "split": split,
        "label": 1 if decision.label == "scam" else 0,
        "category": categories[0] if categories else "none",
        "categories": categories,
        "tags": ["reviewed", f"model-said-{decision.verdict_kind}"]
        + (["redacted"] if redact else []),
        "lang": "",
        "messages": [{"sender": m.sender, "text": clean(m.text)} for m in conversation.messages],
        "notes": clean(decision.note),
        "provenance": {
            "verdict_key": {
                "pk": pseudonym(pseudonym_key, "conv", decision.pk) if redact else decision.pk,
                "sk": decision.sk,
            },
            "prompt": decision.prompt,
            "model": decision.model_id,
            "reviewer": (
                pseudonym(pseudonym_key, "reviewer", decision.reviewer)
                if redact
                else decision.reviewer
            ),
            "decided_at": iso(decision.decided_at),
        },
    }


def export_cases(
    decisions: Iterable[Decision],
    history: HistoryStore,
    out: IO[str],
    *,
    window_of: Callable[[str], int | None] = lambda _: None,
    redact: bool = False,
    split: str = "test",
    pseudonym_key: bytes | None = None,
) -> ExportCounts:
    """Write one JSON line per exportable decision; returns what was written and skipped.

    `pseudonym_key`: keys the pseudonyms of a redacted export (random when not given:
    then two exports cannot be joined on them either)."""
    import secrets

    key = pseudonym_key or secrets.token_bytes(32)
    counts = ExportCounts()
    for decision in decisions:
        if decision.label == "cannot_tell":
            counts.cannot_tell += 1
            continue
        window = window_of(decision.prompt) or DEFAULT_WINDOW
        case = case_for(
            decision, history, window=window, redact=redact, split=split, pseudonym_key=key
        )
        if case is None:
            counts.no_history += 1
            continue
        out.write(json.dumps(case, ensure_ascii=False) + "\n")
        counts.written += 1
    return counts
