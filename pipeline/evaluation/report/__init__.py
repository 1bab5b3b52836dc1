"""Reports of a run: a Markdown summary, JSON and CSV with every case, and a
self-contained HTML page (Jinja2 templates in `templates/`, hand-drawn inline SVG
plots, a few lines of inline script to sort and filter; no network, no CDN).

One module per format (json, markdown, html, csv), all written from one `Report`
(build.py); tables.py holds what the formats share, svg.py the charts.

Reports hold case ids, labels, categories, verdicts and generated answers; the
conversation's text only when the suite opts in (`show_text`). A cell served by
the emulator is named so in every form, and shows no Bedrock cost.
"""

from __future__ import annotations

from pathlib import Path

from .build import Report, build_report, default_comparisons, summarise
from .csv import CSV_FIELDS, cases_csv
from .html import html_report
from .json import results_document, results_json
from .markdown import gate_text, markdown_failures, markdown_summary
from .svg import svg_bars, svg_confusion, svg_curves, svg_scatter
from .tables import failed_cases, not_graded_note

__all__ = [
    "CSV_FIELDS",
    "Report",
    "build_report",
    "cases_csv",
    "default_comparisons",
    "failed_cases",
    "gate_text",
    "html_report",
    "markdown_failures",
    "markdown_summary",
    "not_graded_note",
    "results_document",
    "results_json",
    "summarise",
    "svg_bars",
    "svg_confusion",
    "svg_curves",
    "svg_scatter",
    "write_reports",
]


def write_reports(report: Report, directory: Path) -> dict[str, Path]:
    """summary.md, results.json, cases.csv and report.html in `directory` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "summary": directory / "summary.md",
        "results": directory / "results.json",
        "csv": directory / "cases.csv",
        "html": directory / "report.html",
    }
    paths["summary"].write_text(
        markdown_summary(report) + markdown_failures(report), encoding="utf-8"
    )
    paths["csv"].write_text(cases_csv(report), encoding="utf-8", newline="")
    paths["results"].write_text(results_json(report), encoding="utf-8")
    paths["html"].write_text(html_report(report), encoding="utf-8")
    return paths
