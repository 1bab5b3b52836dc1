"""cases.csv: one row per case and cell (the controls' after the model's), safe to open
in a spreadsheet."""

from __future__ import annotations

import csv
import io
from typing import Any

from .build import Report
from .tables import reasons, talk

CSV_FIELDS = [
    "cell", "prompt", "model", "served_by", "variant", "case_id", "dataset", "category",
    "label", "status", "passed", "assertion_score", "failed_assertions", "answer",
    "suspicious", "score", "rationale", "error", "input_tokens", "output_tokens",
    "cost_usd", "grader_cost_usd", "grader_served_by", "latency_ms", "cached", "attempts",
]  # fmt: skip


def _cell_safe(value: Any) -> Any:
    # A spreadsheet runs a cell that starts with = + - @ as a formula: a model's answer
    # is not allowed to.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def cases_csv(report: Report) -> str:
    """cases.csv: one row per case and cell (the conversation only with `show_text`)."""
    fields = CSV_FIELDS + (["conversation"] if report.show_text else [])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for r in [*report.results, *report.control_results]:
        row = {name: getattr(r, name, None) for name in fields}
        row["passed"] = r.passed if r.kind == "generative" else r.correct
        row["failed_assertions"] = " | ".join(reasons(r))
        if report.show_text:
            row["conversation"] = talk(r)
        if report.emulated(r.model):
            row["served_by"] = r.served_by or report.served.get(r.model, "")
        writer.writerow({k: _cell_safe(row.get(k)) for k in fields})
    return buffer.getvalue()
