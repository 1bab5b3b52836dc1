"""Gold items: conversations with a known answer, mixed into the queue unannounced.

A gold set is a JSONL file of `{"conversation_id": …, "label": "scam" | "not_scam"}`
(PARLEY_REVIEW_GOLD); its conversations are judged by the stream job like any other and
reach the queue as ordinary items: nothing on the page tells them apart. Gold items are
always double-reviewed, so that two reviewers meet each one. Each reviewer's accuracy is
the share of their decisive decisions (first or second) on gold items that match.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from .decisions import Decision


def load_gold(path: str | Path | None) -> dict[str, str]:
    """conversation id → known label; one ConfigError line for a bad file."""
    if not path:
        return {}
    gold: dict[str, str] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read the gold set {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cid, label = row["conversation_id"], row["label"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ConfigError(
                f"{path}:{number}: not a gold row {{conversation_id, label}}"
            ) from None
        if label not in ("scam", "not_scam") or not isinstance(cid, str):
            raise ConfigError(f"{path}:{number}: label must be scam or not_scam")
        gold[cid] = label
    return gold


def gold_accuracy(decisions: Iterable[Decision], gold: dict[str, str]) -> list[dict[str, Any]]:
    """Per reviewer: gold items decided (scam or not), how many right, the share."""
    seen: dict[str, list[bool]] = defaultdict(list)
    for d in decisions:
        decisive = d.label != "cannot_tell" and d.role != "senior"
        if d.undone_at is None and decisive and d.pk in gold:
            seen[d.reviewer].append(d.label == gold[d.pk])
    return [
        {
            "reviewer": reviewer,
            "gold_decided": len(marks),
            "correct": sum(marks),
            "accuracy": round(sum(marks) / len(marks), 4),
        }
        for reviewer, marks in sorted(seen.items())
    ]
