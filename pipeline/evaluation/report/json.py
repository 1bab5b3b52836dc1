"""results.json: the run, each cell's metrics, the comparisons, the gate and every case."""

from __future__ import annotations

import json
from typing import Any

from .build import Report


def results_document(report: Report, *, with_cases: bool = True) -> dict[str, Any]:
    """results.json: the run, each cell's metrics, the comparisons, the gate, every case."""
    return {
        "format": "parley-eval-results/1",
        "suite": report.suite,
        "run": report.run,
        "kind": report.kind,
        "cells": [
            {
                **cell.as_dict(),
                "served_by": report.served.get(cell.model, ""),
                "metrics": report.summaries[cell.key],
            }
            for cell in report.cells
            if cell.key in report.summaries
        ],
        "comparisons": [c.as_dict() for c in report.comparisons],
        "gate": report.gate.as_dict() if report.gate is not None else None,
        "controls": _controls(report),
        "cases": [r.model_dump(mode="json") for r in report.results] if with_cases else [],
    }


def results_json(report: Report) -> str:
    """results.json as text: indented, with one line per case (thousands of cases are
    written by pydantic's serializer, not the slow indenting encoder)."""
    document = results_document(report, with_cases=False)
    head = json.dumps({**document, "cases": []}, indent=1, ensure_ascii=False)
    if not report.results:
        return head + "\n"
    cases = ",\n  ".join(r.model_dump_json() for r in report.results)
    return head.removesuffix("[]\n}").removesuffix("[]}") + f"[\n  {cases}\n ]\n}}\n"


def _controls(report: Report) -> dict[str, Any] | None:
    """The controls: each one's metrics and checks, and a short line per case."""
    if report.kind != "generative":
        return None
    return {
        "run": report.controls_run,
        "checks": [check.as_dict() for check in report.controls],
        "cells": [
            {**cell.as_dict(), "metrics": report.control_summaries[cell.key]}
            for cell in report.control_cells
            if cell.key in report.control_summaries
        ],
        "cases": [
            {
                "cell": r.cell,
                "case_id": r.case_id,
                "category": r.category,
                "passed": r.passed,
                "failed": [a.label for a in r.failed_assertions],
            }
            for r in report.control_results
        ],
    }
