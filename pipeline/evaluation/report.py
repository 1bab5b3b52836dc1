"""Reports of a run: a Markdown summary, JSON with every case, and a self-contained
HTML page with hand-drawn inline SVG plots (no script, no network, no CDN).

Reports hold case ids, labels, categories and verdict fields; never message text.
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .attacks import STRATEGIES
from .compare import Comparison, compare
from .endpoint import endpoint_label
from .gate import GateOutcome, baseline_document, check_gate, load_baseline, write_baseline
from .results import CaseResult, attack_success, by_cell, summarise_cell
from .suite import Cell, Suite
from .variants import attack_of

if TYPE_CHECKING:
    from .runner import RunOutcome

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


@dataclass
class Report:
    """Everything a report shows, computed once."""

    suite: str
    run: dict[str, Any]
    cells: list[Cell]
    summaries: dict[str, dict[str, Any]]
    comparisons: list[Comparison]
    results: list[CaseResult]
    gate: GateOutcome | None = None


def summarise(
    cells: list[Cell], results: list[CaseResult], *, resamples: int = 1000, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Metrics of every cell that has results, in matrix order; an attack cell also
    gets its attack success rate against the same prompt and model's `full` cell."""
    groups = by_cell(results)
    summaries = {
        cell.key: summarise_cell(groups[cell.key], resamples=resamples, seed=seed)
        for cell in cells
        if cell.key in groups
    }
    for cell in cells:
        reference = Cell(cell.prompt, cell.model, "full").key
        if cell.key in summaries and attack_of(cell.variant) and reference in groups:
            summaries[cell.key]["attack"] = attack_success(groups[reference], groups[cell.key])
    return summaries


def default_comparisons(cells: list[Cell], results: list[CaseResult]) -> list[Comparison]:
    """The comparisons a reader wants first: each prompt against the previous one (same
    model and variant), each model against the first, each variant against `full`."""
    groups = by_cell(results)
    prompts = list(dict.fromkeys(c.prompt for c in cells))
    models = list(dict.fromkeys(c.model for c in cells))
    variants = list(dict.fromkeys(c.variant for c in cells))
    pairs: list[tuple[Cell, Cell]] = []
    for model, variant in itertools.product(models, variants):
        for older, newer in itertools.pairwise(prompts):
            pairs.append((Cell(older, model, variant), Cell(newer, model, variant)))
    for prompt, variant in itertools.product(prompts, variants):
        pairs.extend(
            (Cell(prompt, models[0], variant), Cell(prompt, m, variant)) for m in models[1:]
        )
    if "full" in variants:
        for prompt, model in itertools.product(prompts, models):
            pairs.extend(
                (Cell(prompt, model, "full"), Cell(prompt, model, v))
                for v in variants
                if v != "full"
            )
    return [
        compare(groups[a.key], groups[b.key])
        for a, b in pairs
        if a.key in groups and b.key in groups
    ]


def build_report(suite: Suite, outcome: RunOutcome, *, update_baseline: bool = False) -> Report:
    """Metrics, comparisons and the gate's decision for a finished (or stopped) run.

    With `update_baseline`, a complete run's metrics become the stored baseline first
    (so the F1-drop check passes; the absolute thresholds still apply).
    """
    summaries = summarise(
        outcome.cells, outcome.results, resamples=suite.bootstrap, seed=suite.seed
    )
    cases = outcome.stats.total // max(1, len(outcome.cells))
    incomplete = None
    if not outcome.complete:
        missing = outcome.stats.total - len(outcome.results) + outcome.stats.errors
        why = "stopped by the cost budget" if outcome.stopped == "budget" else "failed calls"
        incomplete = f"{missing} of {outcome.stats.total} cases have no answer ({why})"
    baseline_path = suite.path(suite.gate.baseline) if suite.gate.baseline else None
    notes = []
    if update_baseline and baseline_path is not None:
        if incomplete:
            notes.append("baseline not updated: the run is incomplete")
        else:
            write_baseline(baseline_path, baseline_document(suite.name, summaries, cases))
            notes.append(f"baseline updated: {baseline_path.name}")
    elif update_baseline:
        notes.append("baseline not updated: the suite's gate names no baseline file")
    gate = check_gate(
        suite.gate,
        outcome.cells,
        summaries,
        baseline=load_baseline(baseline_path) if baseline_path else None,
        incomplete=incomplete,
    )
    gate.notes.extend(notes)
    run = {
        "run_id": outcome.run_id,
        "started_at": outcome.started_at,
        "finished_at": outcome.finished_at,
        "complete": outcome.complete,
        "stopped": outcome.stopped,
        "cases": cases,
        "stats": dict(outcome.stats.__dict__),
        "bedrock_endpoint": endpoint_label(suite) or "aws",
        **outcome.info,
    }
    return Report(
        suite=suite.name,
        run=run,
        cells=outcome.cells,
        summaries=summaries,
        comparisons=default_comparisons(outcome.cells, outcome.results),
        results=outcome.results,
        gate=gate,
    )


# ---------------------------------------------------------------------- JSON


def results_document(report: Report) -> dict[str, Any]:
    """results.json: the run, each cell's metrics, the comparisons, the gate, every case."""
    return {
        "format": "parley-eval-results/1",
        "suite": report.suite,
        "run": report.run,
        "cells": [
            {**cell.as_dict(), "metrics": report.summaries[cell.key]}
            for cell in report.cells
            if cell.key in report.summaries
        ],
        "comparisons": [c.as_dict() for c in report.comparisons],
        "gate": report.gate.as_dict() if report.gate is not None else None,
        "cases": [r.model_dump(mode="json") for r in report.results],
    }


# ------------------------------------------------------------------ Markdown


def _num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ci(interval: Sequence[float] | None) -> str:
    return "" if not interval else f" [{interval[0]:.2f}–{interval[1]:.2f}]"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def _money(value: float) -> str:
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def _cell_rows(report: Report) -> list[list[str]]:
    rows = []
    for cell in report.cells:
        s = report.summaries.get(cell.key)
        if s is None:
            continue
        rows.append(
            [
                cell.prompt,
                cell.model,
                cell.variant,
                str(s["n"]),
                _num(s["precision"]),
                _num(s["recall"]) + _ci(s["recall_ci"]),
                _num(s["f1"]) + _ci(s["f1_ci"]),
                _num(s["accuracy"]),
                _num(s["roc_auc"]),
                f"{s['undetermined_rate']:.1%}",
                f"{_ms(s['latency_p50_ms'])} / {_ms(s['latency_p95_ms'])}",
                f"{s['input_tokens']:,} / {s['output_tokens']:,}",
                _money(s["cost_per_1k_cases"]),
            ]
        )
    return rows


CELL_HEADERS = [
    "prompt",
    "model",
    "variant",
    "n",
    "precision",
    "recall [95% CI]",
    "F1 [95% CI]",
    "accuracy",
    "ROC AUC",
    "undetermined",
    "latency p50 / p95 ms",
    "tokens in / out",
    "cost / 1k cases",
]


def _variant_table(report: Report) -> tuple[list[str], list[list[str]]]:
    variants = list(dict.fromkeys(c.variant for c in report.cells))
    groups = list(dict.fromkeys((c.prompt, c.model) for c in report.cells))
    rows = []
    for prompt, model in groups:
        row = [prompt, model]
        for variant in variants:
            s = report.summaries.get(Cell(prompt, model, variant).key)
            row.append("–" if s is None else f"{s['f1']:.3f} / {s['recall']:.3f}")
        rows.append(row)
    return ["prompt", "model", *variants], rows


def _category_table(report: Report) -> tuple[list[str], list[list[str]]]:
    categories = sorted(
        {cat for s in report.summaries.values() for cat in s["per_category_recall"]}
    )
    rows = []
    for cell in report.cells:
        s = report.summaries.get(cell.key)
        if s is None:
            continue
        per = s["per_category_recall"]
        rows.append(
            [
                cell.key,
                *(
                    f"{per[c]['recall']:.2f} ({per[c]['n']})" if c in per else "–"
                    for c in categories
                ),
            ]
        )
    return ["cell", *categories], rows


def _attack_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Attack success rate per strategy (rows) and prompt · model (columns)."""
    attacks = [c for c in report.cells if "attack" in report.summaries.get(c.key, {})]
    columns = list(dict.fromkeys((c.prompt, c.model) for c in attacks))
    variants = list(dict.fromkeys(c.variant for c in attacks))
    rows = []
    for variant in variants:
        parts = [STRATEGIES[name] for name in (attack_of(variant) or "").split("+")]
        kind = (
            "combined" if len(parts) > 1 else "character" if parts[0].character_level else "content"
        )
        row = [variant, kind]
        for prompt, model in columns:
            found = report.summaries.get(Cell(prompt, model, variant).key, {}).get("attack")
            row.append("–" if found is None else _asr(found))
        rows.append(row)
    headers = [
        "attack",
        "kind",
        *(f"{prompt} · {model}{_served_by(report, model)}" for prompt, model in columns),
    ]
    return headers, rows


def _served_by(report: Report, model: str) -> str:
    """The "(emulator)" label of a model whose Bedrock calls the suite's emulator answered."""
    endpoint = str(report.run.get("bedrock_endpoint") or "")
    return " (emulator)" if "bedrock:" in model and endpoint.startswith("emulator") else ""


def _asr(attack: dict[str, Any]) -> str:
    interval = attack["asr_ci"]
    ci = f" [{interval[0]:.1%}–{interval[1]:.1%}]" if interval else ""
    rate = attack["attack_success_rate"]
    return f"{rate:.1%}{ci} ({attack['missed_after']}/{attack['detected_before']})"


ATTACK_NOTE = (
    "Attack success rate: of the scams flagged on the conversation as written (`full`), "
    "the share missed after the attack; 95% Wilson interval; (missed / flagged before)."
)


def _tier_rows(report: Report) -> list[list[str]]:
    rows = []
    for cell in report.cells:
        s = report.summaries.get(cell.key)
        if s and s["decided_by"] and cell.model.startswith("cascade:"):
            shares = ", ".join(f"{tier}: {share:.1%}" for tier, share in s["decided_by"].items())
            rows.append([cell.key, shares])
    return rows


def _comparison_rows(report: Report) -> list[list[str]]:
    return [
        [
            c.a,
            c.b,
            str(c.n),
            str(c.wins),
            str(c.losses),
            f"{c.p_exact:.4f}",
            c.conclusion,
        ]
        for c in report.comparisons
    ]


COMPARISON_HEADERS = ["A", "B", "cases", "B wins", "B losses", "McNemar p (exact)", "conclusion"]


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *map(line, rows)])


def _run_line(report: Report) -> str:
    run = report.run
    stats = run.get("stats", {})
    line = (
        f"{run.get('cases', 0)} cases × {len(report.cells)} cells; "
        f"model calls {stats.get('model_calls', 0)}, cache hits {stats.get('cache_hits', 0)}, "
        f"resumed {stats.get('resumed', 0)}, errors {stats.get('errors', 0)}; "
        f"spent {_money(stats.get('spent_usd', 0.0))}; wall {stats.get('wall_s', 0.0):.1f} s"
    )
    if run.get("stopped"):
        line += f"; **stopped: {run['stopped']}** ({stats.get('skipped_budget', 0)} not run)"
    return line


def markdown_summary(report: Report) -> str:
    """summary.md, also printed on the terminal."""
    parts = [
        f"# Evaluation `{report.suite}`",
        "",
        f"Run `{report.run.get('run_id')}`: {_run_line(report)}.",
        "",
        "Undetermined verdicts and failed calls count as *not flagged*; "
        "their rates are shown on their own.",
        "",
        "## Cells",
        "",
        _md_table(CELL_HEADERS, _cell_rows(report)),
        "",
        "## Variants side by side (F1 / recall)",
        "",
        _md_table(*_variant_table(report)),
    ]
    headers, rows = _attack_table(report)
    if rows:
        parts += ["", "## Attack success rate", "", ATTACK_NOTE, "", _md_table(headers, rows)]
    tiers = _tier_rows(report)
    if tiers:
        parts += [
            "",
            "## Cascade: share decided by each tier",
            "",
            _md_table(["cell", "tiers"], tiers),
        ]
    headers, rows = _category_table(report)
    if len(headers) > 1:
        parts += ["", "## Recall per scam category (n)", "", _md_table(headers, rows)]
    if report.comparisons:
        parts += [
            "",
            "## Comparisons (B against A on the same cases)",
            "",
            _md_table(COMPARISON_HEADERS, _comparison_rows(report)),
        ]
    if report.gate is not None:
        parts += ["", "## Gate", "", gate_text(report.gate)]
    return "\n".join(parts) + "\n"


def gate_text(gate: GateOutcome) -> str:
    """PASS/FAIL and one line per broken threshold."""
    lines = [f"**{'PASS' if gate.passed else 'FAIL'}** ({len(gate.checked)} cells checked)"]
    lines += [f"- broken: {failure}" for failure in gate.failures]
    lines += [f"- note: {note}" for note in gate.notes]
    return "\n".join(lines)


# ---------------------------------------------------------------------- SVG


def _x(value: float, left: float, width: float) -> float:
    return round(left + value * width, 1)


def _y(value: float, top: float, height: float) -> float:
    return round(top + (1 - value) * height, 1)


def _text(x: float, y: float, content: object, cls: str = "tick", anchor: str = "start") -> str:
    """An SVG text element; the content is escaped."""
    return (
        f'<text x="{x}" y="{y}" class="{cls}" text-anchor="{anchor}">'
        f"{html.escape(str(content))}</text>"
    )


def _axes(left: float, top: float, w: float, h: float, xlabel: str, ylabel: str) -> list[str]:
    out = [f'<rect x="{left}" y="{top}" width="{w}" height="{h}" class="plot"/>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = _x(tick, left, w), _y(tick, top, h)
        out.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{top + h}" class="grid"/>')
        out.append(f'<line x1="{left}" y1="{y}" x2="{left + w}" y2="{y}" class="grid"/>')
        out.append(_text(x, top + h + 14, f"{tick:g}", anchor="middle"))
        out.append(_text(left - 4, y + 4, f"{tick:g}", anchor="end"))
    out.append(_text(left + w / 2, top + h + 30, xlabel, "axis", "middle"))
    out.append(
        f'<text x="12" y="{top + h / 2}" class="axis" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + h / 2})">{html.escape(ylabel)}</text>'
    )
    return out


def svg_curves(
    series: list[tuple[str, list[tuple[float, float]]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    diagonal: bool = False,
) -> str:
    """Lines in the unit square (ROC or precision-recall), one per series, with a legend."""
    left, top, w, h = 44.0, 24.0, 220.0, 180.0
    legend_h = 16 * len(series)
    out = [
        f'<svg class="chart" width="290" height="{top + h + 44 + legend_h}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="16" class="title">{html.escape(title)}</text>',
        *_axes(left, top, w, h, xlabel, ylabel),
    ]
    if diagonal:
        out.append(f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top}" class="chance"/>')
    for index, (name, points) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        if points:
            coords = " ".join(f"{_x(x, left, w)},{_y(y, top, h)}" for x, y in points)
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        ly = top + h + 44 + 16 * index
        out.append(f'<rect x="{left}" y="{ly - 9}" width="10" height="10" fill="{color}"/>')
        label = name if points else f"{name} (no curve: one class or no scores)"
        out.append(f'<text x="{left + 14}" y="{ly}" class="legend">{html.escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def svg_confusion(summary: dict[str, Any], title: str) -> str:
    """A 2x2 confusion matrix, shaded by each cell's share of its true class."""
    size, left, top = 70, 70, 40
    grid = [
        ("TP", summary["tp"], summary["tp"] + summary["fn"], 0, 0, True),
        ("FN", summary["fn"], summary["tp"] + summary["fn"], 1, 0, False),
        ("FP", summary["fp"], summary["fp"] + summary["tn"], 0, 1, False),
        ("TN", summary["tn"], summary["fp"] + summary["tn"], 1, 1, True),
    ]
    out = [
        '<svg class="chart" width="230" height="200" role="img" '
        f'aria-label="{html.escape(title)}">',
        _text(4, 14, title, "title"),
        _text(left + size, top - 6, "predicted", "axis", "middle"),
        _text(left + size / 2, top + 2 * size + 16, "flagged", anchor="middle"),
        _text(left + 1.5 * size, top + 2 * size + 16, "not flagged", anchor="middle"),
        _text(left - 6, top + size / 2 + 4, "scam", anchor="end"),
        _text(left - 6, top + 1.5 * size + 4, "benign", anchor="end"),
        _text(left - 6, top - 6, "actual", "axis", "end"),
    ]
    for name, count, row_total, col, row, good in grid:
        share = count / row_total if row_total else 0.0
        hue = "44,160,44" if good else "214,39,40"
        x, y = left + col * size, top + row * size
        out.append(
            f'<rect x="{x}" y="{y}" width="{size}" height="{size}" '
            f'fill="rgba({hue},{0.12 + 0.78 * share:.2f})" stroke="#fff"/>'
        )
        out.append(_text(x + size / 2, y + size / 2, count, "count", "middle"))
        out.append(_text(x + size / 2, y + size / 2 + 16, name, anchor="middle"))
    out.append("</svg>")
    return "".join(out)


def svg_scatter(points: list[tuple[str, float, float]], *, title: str) -> str:
    """Cost per 1,000 cases (x) against F1 (y), one numbered dot per cell."""
    left, top, w, h = 54.0, 40.0, 420.0, 240.0
    top_cost = max((x for _, x, _ in points), default=0.0) or 1.0
    out = [
        f'<svg class="chart" width="{left + w + 60}" height="{top + h + 50}" role="img" '
        f'aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="16" class="title">{html.escape(title)}</text>',
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" class="plot"/>',
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x, y = _x(tick, left, w), _y(tick, top, h)
        out.append(f'<line x1="{left}" y1="{y}" x2="{left + w}" y2="{y}" class="grid"/>')
        out.append(
            f'<text x="{left - 4}" y="{y + 4}" class="tick" text-anchor="end">{tick:g}</text>'
        )
        out.append(
            f'<text x="{x}" y="{top + h + 14}" class="tick" text-anchor="middle">'
            f"{_money(tick * top_cost)}</text>"
        )
    out.append(
        f'<text x="{left + w / 2}" y="{top + h + 32}" class="axis" text-anchor="middle">'
        "estimated cost per 1,000 cases (USD)</text>"
    )
    out.append(
        f'<text x="12" y="{top + h / 2}" class="axis" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + h / 2})">F1</text>'
    )
    # Cells at the same spot share one dot, labelled with all their numbers.
    spots: dict[tuple[float, float], list[int]] = {}
    for index, (_, cost, f1) in enumerate(points, start=1):
        spots.setdefault((_x(cost / top_cost, left, w), _y(f1, top, h)), []).append(index)
    for (x, y), indices in spots.items():
        color = PALETTE[(indices[0] - 1) % len(PALETTE)]
        names = "; ".join(
            f"{i}. {points[i - 1][0]}: F1 {points[i - 1][2]:.3f}, {_money(points[i - 1][1])} / 1k"
            for i in indices
        )
        out.append(
            f'<circle cx="{x}" cy="{y}" r="6" fill="{color}" fill-opacity="0.8">'
            f"<title>{html.escape(names)}</title></circle>"
        )
        out.append(_text(x + 8, y - 6, ",".join(map(str, indices))))
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
body{max-width:1400px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#2ca02c;font-weight:bold}.fail{color:#d62728;font-weight:bold}
.grid-cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px}
.card h3{font-size:13px;margin:0 0 4px;word-break:break-all;max-width:560px}
svg.chart{font-family:inherit}svg .plot{fill:#fafafa;stroke:#999}
svg .grid{stroke:#e4e4e4}svg .chance{stroke:#aaa;stroke-dasharray:4 3}
svg .tick{font-size:10px;fill:#555}svg .axis{font-size:11px;fill:#333}
svg .title{font-size:12px;font-weight:bold;fill:#222}svg .legend{font-size:10px;fill:#333}
svg .count{font-size:16px;font-weight:bold;fill:#111}
.muted{color:#666}
"""


def _html_table(headers: list[str], rows: list[list[str]], numeric_from: int = 99) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if i >= numeric_from else ''}>{html.escape(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(report: Report) -> str:
    """report.html: readable by a person, with every plot inline."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>parley evaluation: {esc(report.suite)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Evaluation <code>{esc(report.suite)}</code></h1>",
        f"<p>Run <code>{esc(str(report.run.get('run_id')))}</code>, "
        f"{esc(report.run.get('finished_at', ''))}: "
        f"{esc(_run_line(report).replace('**', ''))}.</p>",
        '<p class="muted">Undetermined verdicts and failed calls count as not flagged; '
        "their rates are shown on their own. Intervals are 95% bootstrap intervals.</p>",
    ]
    if report.gate is not None:
        status = "pass" if report.gate.passed else "fail"
        parts.append(
            f'<h2>Gate: <span class="{status}">{status.upper()}</span></h2>'
            f"<p>{len(report.gate.checked)} cells checked.</p>"
        )
        items = [f"<li>broken: {esc(f)}</li>" for f in report.gate.failures]
        items += [f'<li class="muted">note: {esc(n)}</li>' for n in report.gate.notes]
        if items:
            parts.append(f"<ul>{''.join(items)}</ul>")
    parts += ["<h2>Cells</h2>", _html_table(CELL_HEADERS, _cell_rows(report), numeric_from=3)]
    headers, rows = _variant_table(report)
    parts += [
        "<h2>Variants side by side (F1 / recall)</h2>",
        '<p class="muted">Full history, the last message alone, the order reversed, '
        "windows: what the model is shown changes what it catches.</p>",
        _html_table(headers, rows, numeric_from=2),
    ]
    headers, rows = _attack_table(report)
    if rows:
        parts += [
            "<h2>Attack success rate</h2>",
            f'<p class="muted">{html.escape(ATTACK_NOTE.replace("`", ""))}</p>',
            _html_table(headers, rows, numeric_from=2),
        ]
    parts.append(_html_curves(report))
    scatter_points = [
        (
            cell.key,
            report.summaries[cell.key]["cost_per_1k_cases"],
            report.summaries[cell.key]["f1"],
        )
        for cell in report.cells
        if cell.key in report.summaries
    ]
    legend = "".join(f"<li>{esc(name)}</li>" for name, _, _ in scatter_points)
    parts += [
        "<h2>Cost against F1</h2>",
        '<div class="grid-cards"><div class="card">',
        svg_scatter(scatter_points, title="cells: estimated cost per 1,000 cases vs F1"),
        f"</div><div class=card><ol>{legend}</ol></div></div>",
    ]
    tiers = _tier_rows(report)
    if tiers:
        parts += [
            "<h2>Cascade: share decided by each tier</h2>",
            _html_table(["cell", "tiers"], tiers),
        ]
    headers, rows = _category_table(report)
    if len(headers) > 1:
        parts += [
            "<h2>Recall per scam category (n)</h2>",
            _html_table(headers, rows, numeric_from=1),
        ]
    parts.append("<h2>Confusion matrices</h2><div class=grid-cards>")
    for cell in report.cells:
        summary = report.summaries.get(cell.key)
        if summary is not None:
            parts.append(
                f'<div class="card"><h3>{esc(cell.key)}</h3>'
                + svg_confusion(summary, f"n={summary['n']}, F1 {summary['f1']:.3f}")
                + "</div>"
            )
    parts.append("</div>")
    if report.comparisons:
        parts += [
            "<h2>Comparisons (B against A on the same cases)</h2>",
            _html_table(COMPARISON_HEADERS, _comparison_rows(report), numeric_from=2),
        ]
        for c in report.comparisons:
            if c.flipped:
                flips = "".join(
                    f"<li><code>{esc(f.case_id)}</code> label {f.label} ({esc(f.category)}): "
                    f"{'B right' if f.b_wins else 'A right'}</li>"
                    for f in c.flipped
                )
                parts.append(
                    f"<details><summary>{len(c.flipped)} flipped: {esc(c.a)} → {esc(c.b)}"
                    f"</summary><ul>{flips}</ul></details>"
                )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_curves(report: Report) -> str:
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
        cards.append(
            f'<div class="card"><h3>{html.escape(prompt)} · {html.escape(model)}</h3>'
            + svg_curves(
                roc,
                title="ROC",
                xlabel="false positive rate",
                ylabel="true positive rate",
                diagonal=True,
            )
            + svg_curves(pr, title="precision-recall", xlabel="recall", ylabel="precision")
            + "</div>"
        )
    return (
        "<h2>ROC and precision-recall curves, per variant</h2><div class=grid-cards>"
        + "".join(cards)
        + "</div>"
    )


# --------------------------------------------------------------------- files


def write_reports(report: Report, directory: Path) -> dict[str, Path]:
    """summary.md, results.json and report.html in `directory` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "summary": directory / "summary.md",
        "results": directory / "results.json",
        "html": directory / "report.html",
    }
    paths["summary"].write_text(markdown_summary(report), encoding="utf-8")
    paths["results"].write_text(
        json.dumps(results_document(report), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    paths["html"].write_text(html_report(report), encoding="utf-8")
    return paths
