"""Plain-text rendering of verdicts for the terminal (no text of the conversation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..verdict import Verdict


def verdict_label(verdict: Verdict) -> str:
    if verdict.status == "undetermined" or verdict.suspicious is None:
        return "UNDETERMINED"
    return "SUSPICIOUS" if verdict.suspicious else "ok"


def verdict_rows(rows: list[tuple[str, Verdict]]) -> str:
    """A fixed-width table: one line per (title, verdict)."""
    header = ("case", "verdict", "score", "categories", "model", "prompt", "tokens", "ms")
    body = [
        (
            title,
            verdict_label(v),
            "-" if v.score is None else f"{v.score:.3f}",
            ",".join(v.categories) or "-",
            v.model_id,
            v.prompt,
            f"{v.input_tokens}/{v.output_tokens}",
            f"{v.latency_ms:.1f}",
        )
        for title, v in rows
    ]
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    head = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    return "\n".join([head, "  ".join("-" * w for w in widths), *lines])
