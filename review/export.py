"""Reviewed conversations as evaluation cases: the JSONL format of evals/datasets/.

Each active decision that says scam or not a scam becomes one case: the window the
model saw (rebuilt from history as of the verdict's last message), the reviewer's
label and categories, and where it came from (verdict key, prompt, model, reviewer,
date). "Cannot tell" is not a label: such decisions are counted and left out.
"""

from __future__ import annotations

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


def case_for(
    decision: Decision, history: HistoryStore, *, window: int, redact: bool, split: str
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
            "verdict_key": {"pk": decision.pk, "sk": decision.sk},
            "prompt": decision.prompt,
            "model": decision.model_id,
            "reviewer": decision.reviewer,
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
) -> ExportCounts:
    """Write one JSON line per exportable decision; returns what was written and skipped."""
    counts = ExportCounts()
    for decision in decisions:
        if decision.label == "cannot_tell":
            counts.cannot_tell += 1
            continue
        window = window_of(decision.prompt) or DEFAULT_WINDOW
        case = case_for(decision, history, window=window, redact=redact, split=split)
        if case is None:
            counts.no_history += 1
            continue
        out.write(json.dumps(case, ensure_ascii=False) + "\n")
        counts.written += 1
    return counts
