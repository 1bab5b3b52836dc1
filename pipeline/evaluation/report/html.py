"""report.html: one self-contained page rendered from templates/ (Jinja2, autoescaped),
with inline SVG charts and a few lines of script to sort and filter. No network."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..results import CaseResult
from .build import Report
from .svg import svg_bars, svg_confusion, svg_curves, svg_scatter
from .tables import (
    ATTACK_NOTE,
    CELL_HEADERS,
    COMPARISON_HEADERS,
    CONTROL_HEADERS,
    CONTROLS_NOTE,
    GENERATED_NOTE,
    GENERATIVE_HEADERS,
    attack_table,
    breakdown,
    category_table,
    cell_rows,
    comparison_rows,
    control_rows,
    conversation_of,
    failed_cases,
    generated_table,
    generative_rows,
    not_graded_note,
    reasons,
    run_line,
    tier_rows,
    variant_table,
    what_it_said,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _table(headers: list[str], rows: list[list[str]], numeric_from: int = 99) -> dict:
    return {"headers": headers, "rows": rows, "numeric_from": numeric_from}


def _sections(report: Report) -> list[dict[str, Any]]:
    if report.generative:
        return _generative_sections(report)
    headers, rows = variant_table(report)
    sections: list[dict[str, Any]] = [
        {"title": "Cells", "table": _table(CELL_HEADERS, cell_rows(report), 3)},
        {
            "title": "Variants side by side (F1 / recall)",
            "note": "Full history, the last message alone, the order reversed, windows: "
            "what the model is shown changes what it catches.",
            "table": _table(headers, rows, 2),
        },
    ]
    attack_headers, attack_rows = attack_table(report)
    if attack_rows:
        sections.append(
            {
                "title": "Attack success rate",
                "note": ATTACK_NOTE.replace("`", ""),
                "table": _table(attack_headers, attack_rows, 2),
            }
        )
    generated_headers, generated_rows = generated_table(report)
    if generated_rows:
        sections.append(
            {
                "title": "Generated attacks",
                "note": GENERATED_NOTE.replace("`", ""),
                "table": _table(generated_headers, generated_rows, 2),
            }
        )
    sections.append(
        {"title": "ROC and precision-recall curves, per variant", "cards": _curve_cards(report)}
    )
    points = [
        (
            cell.key,
            report.summaries[cell.key]["cost_per_1k_cases"],
            report.summaries[cell.key]["f1"],
        )
        for cell in report.cells
        if cell.key in report.summaries
    ]
    sections.append(
        {
            "title": "Cost against F1",
            "note": "Cells served by the emulator cost nothing: they sit at $0."
            if any(report.emulated(c.model) for c in report.cells)
            else "",
            "cards": [
                {
                    "svg": Markup(
                        svg_scatter(points, title="cells: estimated cost per 1,000 cases vs F1")
                    )
                },
                {"entries": [name for name, _, _ in points]},
            ],
        }
    )
    tiers = tier_rows(report)
    if tiers:
        sections.append(
            {
                "title": "Cascade: share decided by each tier",
                "table": _table(["cell", "tiers"], tiers),
            }
        )
    headers, rows = category_table(report)
    if len(headers) > 1:
        sections.append(
            {"title": "Recall per scam category (n)", "table": _table(headers, rows, 1)}
        )
    sections.append(
        {
            "title": "Confusion matrices",
            "cards": [
                {
                    "title": cell.key,
                    "svg": Markup(svg_confusion(s, f"n={s['n']}, F1 {s['f1']:.3f}")),
                }
                for cell in report.cells
                if (s := report.summaries.get(cell.key)) is not None
            ],
        }
    )
    if report.comparisons:
        sections.append(
            {
                "title": "Comparisons (B against A on the same cases)",
                "table": _table(COMPARISON_HEADERS, comparison_rows(report), 2),
            }
        )
    return sections


def _generative_sections(report: Report) -> list[dict[str, Any]]:
    sections: list[dict[str, Any]] = [
        {
            "title": "Cells",
            "note": "A case passes when every assertion it carries passes; a failed call fails it.",
            "table": _table(GENERATIVE_HEADERS, generative_rows(report), 3),
        },
        {
            "title": "Pass rate per assertion",
            "table": _table(*breakdown(report, "per_assertion"), 1),
            "cards": [
                {
                    "title": cell.key,
                    "svg": Markup(svg_bars(_bars(report.summaries[cell.key]), title="pass rate")),
                }
                for cell in report.cells
                if cell.key in report.summaries
            ],
        },
        {
            "title": "Pass rate per category (cells, then controls)",
            "table": _table(*breakdown(report, "per_category", with_controls=True), 1),
        },
        {
            "title": "Controls (fixed answers the suite must fail)",
            "note": CONTROLS_NOTE
            if report.controls_run
            else "None run: nothing shows that this suite can fail.",
            "table": _table(CONTROL_HEADERS, control_rows(report), 3)
            if report.controls_run
            else None,
        },
    ]
    if report.comparisons:
        sections.append(
            {
                "title": "Comparisons (B against A on the same cases; McNemar on pass/fail)",
                "table": _table(COMPARISON_HEADERS, comparison_rows(report), 2),
            }
        )
    return sections


def _bars(summary: dict[str, Any]) -> list[tuple[str, float, list[float] | None]]:
    bars = [("every assertion", summary["pass_rate"], summary["ci"])]
    bars += [(k, v["pass_rate"], v["ci"]) for k, v in summary["per_assertion"].items()]
    return bars


def _curve_cards(report: Report) -> list[dict[str, Any]]:
    groups = list(dict.fromkeys((c.prompt, c.model) for c in report.cells))
    cards = []
    for prompt, model in groups:
        cells = [
            c
            for c in report.cells
            if (c.prompt, c.model) == (prompt, model) and c.key in report.summaries
        ]
        roc = [(c.variant, report.summaries[c.key]["roc"]) for c in cells]
        pr = [(c.variant, report.summaries[c.key]["pr"]) for c in cells]
        svg = svg_curves(
            roc,
            title="ROC",
            xlabel="false positive rate",
            ylabel="true positive rate",
            diagonal=True,
        ) + svg_curves(pr, title="precision-recall", xlabel="recall", ylabel="precision")
        cards.append({"title": f"{prompt} · {report.model_label(model)}", "svg": Markup(svg)})
    return cards


def _flips(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "a": c.a,
            "b": c.b,
            "count": len(c.flipped),
            "cases": [
                {
                    "case_id": f.case_id,
                    "what": f"({f.category})"
                    if f.label is None
                    else f"label {f.label} ({f.category})",
                    "side": "B right" if f.b_wins else "A right",
                }
                for f in c.flipped
            ],
        }
        for c in report.comparisons
        if c.flipped
    ]


def _case_rows(report: Report) -> tuple[list[str], list[dict[str, Any]]]:
    """The cases that failed in at least one cell, one row a case, one column a cell: the
    cells of a case side by side (every cell's outcome, passed or not)."""
    columns = [c.key for c in report.cells if c.key in report.summaries]
    failing = {r.case_id for r in failed_cases(report)}
    by_case: dict[str, dict[str, CaseResult]] = {}
    for result in report.results:
        if result.case_id in failing:
            by_case.setdefault(result.case_id, {})[result.cell] = result
    rows = []
    for case_id, found in by_case.items():
        first = next(iter(found.values()))
        cells = []
        for key in columns:
            one = found.get(key)
            cells.append(
                None
                if one is None
                else {
                    "passed": one.correct,
                    "said": what_it_said(one),
                    "reasons": reasons(one),
                    "status": one.status,
                }
            )
        rows.append(
            {
                "case_id": case_id,
                "category": first.category,
                "label": "" if first.label is None else str(first.label),
                "failing": " ".join(
                    str(i) for i, cell in enumerate(cells) if cell and not cell["passed"]
                ),
                "cells": cells,
                "turns": conversation_of(first),
            }
        )
    return columns, rows


def html_report(report: Report) -> str:
    """report.html, rendered from templates/report.html.j2."""
    columns, rows = _case_rows(report)
    convention = (
        "A case passes when every assertion it carries passes; a failed call fails it. "
        + not_graded_note(report)
        if report.generative
        else "Undetermined verdicts and failed calls count as not flagged; their rates are "
        "shown on their own."
    )
    served = list(report.served.items())
    served += [(f"judge {m}", label) for m, label in (report.run.get("graders") or {}).items()]
    page = (
        _environment()
        .get_template("report.html.j2")
        .render(
            suite=report.suite,
            run_id=str(report.run.get("run_id")),
            finished_at=report.run.get("finished_at", ""),
            run_line=run_line(report).replace("**", ""),
            convention=convention,
            served=served,
            gate=report.gate,
            sections=[
                {
                    "note": "",
                    "table": None,
                    **section,
                    "cards": [
                        {"title": "", "svg": "", "entries": [], **c}
                        for c in section.get("cards", [])
                    ],
                }
                for section in _sections(report)
            ],
            flips=_flips(report),
            failed_count=len(failed_cases(report)),
            case_rows=rows,
            case_columns=columns,
            labelled=not report.generative,
            failed_note=(
                "each cell's answer, and each failed assertion with its reason."
                if report.generative
                else "each cell's verdict and the model's rationale."
            ),
            show_text=report.show_text,
        )
    )
    return page if page.endswith("\n") else page + "\n"
