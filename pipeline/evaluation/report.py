"""Reports of a run: a Markdown summary, JSON and CSV with every case, and a
self-contained HTML page (Jinja2 templates in `templates/`, hand-drawn inline SVG
plots, a few lines of inline script to sort and filter; no network, no CDN).

Reports hold case ids, labels, categories, verdicts and generated answers; the
conversation's text only when the suite opts in (`show_text`). A cell served by
the emulator is named so in every form, and shows no Bedrock cost.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from .attackgen import kind_of
from .attacks import STRATEGIES
from .compare import Comparison, compare
from .endpoint import endpoint_label
from .gate import GateOutcome, baseline_document, check_gate, load_baseline, write_baseline
from .generative import is_emulated
from .results import CaseResult, attack_success, by_cell, false_positive_cost, summarise_cell
from .suite import Cell, Suite
from .variants import attack_of, generated_of

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
    kind: str = "classification"
    show_text: bool = False
    served: dict[str, str] = field(default_factory=dict)

    @property
    def generative(self) -> bool:
        return self.kind == "generative"

    def model_label(self, model: str) -> str:
        """The model as reports name it: with who really served it, when not Bedrock."""
        return f"{model} — {self.served[model]}" if self.emulated(model) else model

    def emulated(self, model: str) -> bool:
        return is_emulated(self.served.get(model, ""))


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
        if cell.key in summaries and generated_of(cell.variant) and reference in groups:
            before, after = groups[reference], groups[cell.key]
            summaries[cell.key]["attack"] = attack_success(before, after)
            summaries[cell.key]["fp_cost"] = false_positive_cost(
                before, after, resamples=resamples, seed=seed
            )
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
        kind=suite.kind,
        show_text=suite.show_text,
        served=dict(outcome.info.get("served_by") or {}),
    )


# ---------------------------------------------------------------------- JSON


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
                report.model_label(cell.model),
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
                _cost_cell(report, cell.model, s["cost_per_1k_cases"]),
            ]
        )
    return rows


def _cost_cell(report: Report, model: str, value: float) -> str:
    return "none (emulator)" if report.emulated(model) else _money(value)


def _pass_rate(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "–"
    return f"{entry['pass_rate']:.3f}{_ci(entry['ci'])} ({entry['passed']}/{entry['n']})"


def _generative_rows(report: Report) -> list[list[str]]:
    rows = []
    for cell in report.cells:
        s = report.summaries.get(cell.key)
        if s is None:
            continue
        rows.append(
            [
                cell.prompt,
                report.model_label(cell.model),
                cell.variant,
                str(s["n"]),
                _pass_rate(s),
                _num(s["mean_score"]),
                f"{s['error_rate']:.1%}",
                f"{_ms(s['latency_p50_ms'])} / {_ms(s['latency_p95_ms'])}",
                f"{s['input_tokens']:,} / {s['output_tokens']:,}",
                _cost_cell(report, cell.model, s["cost_per_1k_cases"]),
                _money(s["grader_cost_usd"]) if s["grader_cost_usd"] else "–",
            ]
        )
    return rows


GENERATIVE_HEADERS = [
    "prompt",
    "model",
    "variant",
    "n",
    "pass rate [95% CI] (passed/n)",
    "mean score",
    "errors",
    "latency p50 / p95 ms",
    "tokens in / out",
    "cost / 1k cases",
    "judge cost",
]


def _breakdown(report: Report, key: str) -> tuple[list[str], list[list[str]]]:
    """Pass rate per assertion type (`per_assertion`) or per category, one row a cell."""
    names = sorted({name for s in report.summaries.values() for name in s.get(key, {})})
    rows = []
    for cell in report.cells:
        s = report.summaries.get(cell.key)
        if s is not None:
            rows.append([cell.key, *(_pass_rate(s[key].get(n)) for n in names)])
    return ["cell", *names], rows


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
    attacks = [
        c
        for c in report.cells
        if "attack" in report.summaries.get(c.key, {}) and attack_of(c.variant)
    ]
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
        *(
            f"{prompt} · {model}" + (" (emulator)" if report.emulated(model) else "")
            for prompt, model in columns
        ),
    ]
    return headers, rows


def _asr(attack: dict[str, Any]) -> str:
    interval = attack["asr_ci"]
    ci = f" [{interval[0]:.1%}–{interval[1]:.1%}]" if interval else ""
    rate = attack["attack_success_rate"]
    return f"{rate:.1%}{ci} ({attack['missed_after']}/{attack['detected_before']})"


def _generated_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Per generated family (rows) and prompt · model (columns): the attack success on
    scams and the false positives it adds on honest conversations."""
    cells = [c for c in report.cells if generated_of(c.variant)]
    columns = list(dict.fromkeys((c.prompt, c.model) for c in cells))
    rows = []
    for variant in dict.fromkeys(c.variant for c in cells):
        family = (generated_of(variant) or ("", 0))[0]
        row = [variant, kind_of(family)]
        for prompt, model in columns:
            summary = report.summaries.get(Cell(prompt, model, variant).key, {})
            found, cost = summary.get("attack"), summary.get("fp_cost")
            row.append("–" if found is None else _asr(found))
            row.append("–" if cost is None else _fp_added(cost))
        rows.append(row)
    headers = ["attack", "kind"]
    for prompt, model in columns:
        where = f"{prompt} · {model}" + (" (emulator)" if report.emulated(model) else "")
        headers += [f"{where}: attack success", f"{where}: FP added"]
    return headers, rows


def _fp_added(cost: dict[str, Any]) -> str:
    if not cost["honest"]:
        return "no honest case"
    interval = cost["fp_added_ci"]
    ci = f" [{interval[0] * 100:+.1f}, {interval[1] * 100:+.1f}]" if interval else ""
    return (
        f"{cost['fp_added'] * 100:+.1f} pts{ci} "
        f"({cost['fp_before']}→{cost['fp_after']}/{cost['honest']})"
    )


GENERATED_NOTE = (
    "Generated attacks (attackgen.py) on held-out scams and on honest conversations. "
    "Attack success: of the scams flagged as written (`full`), the share missed after "
    "the attack, 95% Wilson interval, (missed / flagged before). FP added: points of "
    "honest conversations flagged after the attack minus before, 95% paired bootstrap "
    "interval, (flagged before → after / honest)."
)


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


def _served_lines(report: Report) -> list[str]:
    lines = [
        f"- `{model}`: {label}" + (" (parley's local emulator, not Bedrock: no Bedrock cost)"
                                   if is_emulated(label) else "")
        for model, label in report.served.items()
    ]  # fmt: skip
    graders = report.run.get("graders") or {}
    lines += [f"- judge `{model}`: {label}" for model, label in graders.items()]
    return ["Who answered:", "", *lines, ""] if lines else []


def markdown_summary(report: Report) -> str:
    """The summary printed on the terminal (summary.md adds the failed cases)."""
    if report.generative:
        return _markdown_generative(report)
    parts = [
        f"# Evaluation `{report.suite}`",
        "",
        f"Run `{report.run.get('run_id')}`: {_run_line(report)}.",
        "",
        "Undetermined verdicts and failed calls count as *not flagged*; "
        "their rates are shown on their own.",
        "",
        *_served_lines(report),
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
    headers, rows = _generated_table(report)
    if rows:
        parts += ["", "## Generated attacks", "", GENERATED_NOTE, "", _md_table(headers, rows)]
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
    return _with_tail(parts, report, "## Comparisons (B against A on the same cases)")


def _markdown_generative(report: Report) -> str:
    parts = [
        f"# Evaluation `{report.suite}` (generative)",
        "",
        f"Run `{report.run.get('run_id')}`: {_run_line(report)}.",
        "",
        "A case passes when every assertion it carries passes; a failed call fails it.",
        "",
        *_not_graded_lines(report),
        *_served_lines(report),
        "## Cells",
        "",
        _md_table(GENERATIVE_HEADERS, _generative_rows(report)),
        "",
        "## Pass rate per assertion [95% CI] (passed/n)",
        "",
        _md_table(*_breakdown(report, "per_assertion")),
        "",
        "## Pass rate per category [95% CI] (passed/n)",
        "",
        _md_table(*_breakdown(report, "per_category")),
    ]
    return _with_tail(
        parts, report, "## Comparisons (B against A on the same cases; McNemar on pass/fail)"
    )


def _with_tail(parts: list[str], report: Report, comparisons_title: str) -> str:
    """The Markdown report's end, alike for both kinds: comparisons, then the gate."""
    if report.comparisons:
        parts += [
            "",
            comparisons_title,
            "",
            _md_table(COMPARISON_HEADERS, _comparison_rows(report)),
        ]
    if report.gate is not None:
        parts += ["", "## Gate", "", gate_text(report.gate)]
    return "\n".join(parts) + "\n"


def not_graded_note(report: Report) -> str:
    """A line when rubrics went ungraded (no grader): they neither pass nor fail a case."""
    count = sum(s.get("not_graded", 0) for s in report.summaries.values())
    if not count:
        return ""
    return (
        f"{count} llm-rubric assertions were not graded: the suite names no grader. "
        "They neither pass nor fail a case; set `grader:` to grade them."
    )


def _not_graded_lines(report: Report) -> list[str]:
    note = not_graded_note(report)
    return [f"**{note}**", ""] if note else []


def failed_cases(report: Report) -> list[CaseResult]:
    """Every case that did not pass (wrong verdict, failed assertion, failed call)."""
    return [r for r in report.results if not r.correct]


def _what_it_said(result: CaseResult) -> str:
    if result.status == "error":
        return f"call failed: {result.error}"
    if result.kind == "generative":
        return result.answer if result.answer is not None else "(no answer)"
    decision = "flagged" if result.flagged else "not flagged"
    if result.status == "undetermined":
        decision = "undetermined"
    score = "" if result.score is None else f", score {result.score:.2f}"
    why = f" — {result.rationale}" if result.rationale else ""
    return f"{decision} (label {result.label}{score}){why}"


def _reasons(result: CaseResult) -> list[str]:
    return [f"{a.label}: {a.reason}" for a in result.failed_assertions]


def _conversation(result: CaseResult) -> list[tuple[str, str]]:
    """The turns a case's record holds (only with `show_text`), the child's new one last."""
    return [*result.turns, *([("child", result.utterance)] if result.utterance else [])]


def _talk(result: CaseResult) -> str:
    return " / ".join(f"{who}: {text}" for who, text in _conversation(result))


def markdown_failures(report: Report) -> str:
    """The failed cases, one block per case (summary.md, not the terminal)."""
    failed = failed_cases(report)
    parts = ["", f"## Failed cases ({len(failed)})", ""]
    for result in failed:
        said = _what_it_said(result).replace("\n", " ")
        parts.append(f"- `{result.case_id}` ({result.category}) in `{result.cell}`: {said}")
        parts += [f"  - failed {reason}" for reason in _reasons(result)]
        if report.show_text and (result.turns or result.utterance):
            parts.append("  - conversation: " + _talk(result))
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
    headers, rows = _variant_table(report)
    sections: list[dict[str, Any]] = [
        {"title": "Cells", "table": _table(CELL_HEADERS, _cell_rows(report), 3)},
        {
            "title": "Variants side by side (F1 / recall)",
            "note": "Full history, the last message alone, the order reversed, windows: "
            "what the model is shown changes what it catches.",
            "table": _table(headers, rows, 2),
        },
    ]
    attack_headers, attack_rows = _attack_table(report)
    if attack_rows:
        sections.append(
            {
                "title": "Attack success rate",
                "note": ATTACK_NOTE.replace("`", ""),
                "table": _table(attack_headers, attack_rows, 2),
            }
        )
    generated_headers, generated_rows = _generated_table(report)
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
    tiers = _tier_rows(report)
    if tiers:
        sections.append(
            {
                "title": "Cascade: share decided by each tier",
                "table": _table(["cell", "tiers"], tiers),
            }
        )
    headers, rows = _category_table(report)
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
                "table": _table(COMPARISON_HEADERS, _comparison_rows(report), 2),
            }
        )
    return sections


def _generative_sections(report: Report) -> list[dict[str, Any]]:
    sections: list[dict[str, Any]] = [
        {
            "title": "Cells",
            "note": "A case passes when every assertion it carries passes; a failed call fails it.",
            "table": _table(GENERATIVE_HEADERS, _generative_rows(report), 3),
        },
        {
            "title": "Pass rate per assertion",
            "table": _table(*_breakdown(report, "per_assertion"), 1),
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
            "title": "Pass rate per category",
            "table": _table(*_breakdown(report, "per_category"), 1),
        },
    ]
    if report.comparisons:
        sections.append(
            {
                "title": "Comparisons (B against A on the same cases; McNemar on pass/fail)",
                "table": _table(COMPARISON_HEADERS, _comparison_rows(report), 2),
            }
        )
    return sections


def _bars(summary: dict[str, Any]) -> list[tuple[str, float, list[float] | None]]:
    bars = [("every assertion", summary["pass_rate"], summary["ci"])]
    bars += [(k, v["pass_rate"], v["ci"]) for k, v in summary["per_assertion"].items()]
    return bars


def svg_bars(bars: list[tuple[str, float, list[float] | None]], *, title: str) -> str:
    """Horizontal bars of pass rates in 0..1, each with its interval as a whisker."""
    left, top, w, row = 150.0, 24.0, 240.0, 18
    out = [
        f'<svg class="chart" width="{left + w + 50}" height="{top + row * len(bars) + 24}" '
        f'role="img" aria-label="{html.escape(title)}">',
        _text(4, 14, title, "title"),
    ]
    for index, (name, rate, interval) in enumerate(bars):
        y = top + index * row
        color = PALETTE[0] if index else PALETTE[2]
        out.append(_text(left - 6, y + 12, name, anchor="end"))
        out.append(f'<rect x="{left}" y="{y + 2}" width="{w}" height="{row - 6}" class="plot"/>')
        out.append(
            f'<rect x="{left}" y="{y + 2}" width="{round(rate * w, 1)}" height="{row - 6}" '
            f'fill="{color}" fill-opacity="0.75"/>'
        )
        if interval:
            x1, x2 = _x(interval[0], left, w), _x(interval[1], left, w)
            mid = y + row / 2 - 1
            out.append(f'<line x1="{x1}" y1="{mid}" x2="{x2}" y2="{mid}" stroke="#222"/>')
        out.append(_text(left + w + 4, y + 12, f"{rate:.2f}"))
    out.append("</svg>")
    return "".join(out)


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


def _failed_rows(report: Report) -> list[dict[str, Any]]:
    rows = []
    for result in failed_cases(report):
        rows.append(
            {
                "cell": result.cell,
                "columns": [
                    result.cell,
                    result.served_by or "–",
                    result.case_id,
                    result.category,
                    result.status,
                    _what_it_said(result),
                ],
                "reasons": _reasons(result),
                "turns": _conversation(result),
            }
        )
    return rows


def html_report(report: Report) -> str:
    """report.html, rendered from templates/report.html.j2."""
    failed = _failed_rows(report)
    said = "answer" if report.generative else "verdict and rationale"
    failed_headers = ["cell", "served by", "case", "category", "status", said, "failed"]
    if report.show_text:
        failed_headers.append("conversation")
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
            run_line=_run_line(report).replace("**", ""),
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
            failed=failed,
            failed_cells=list(dict.fromkeys(r["cell"] for r in failed)),
            failed_headers=failed_headers,
            failed_note=(
                "the model's answer and each failed assertion with its reason."
                if report.generative
                else "the verdict and the model's rationale."
            ),
            show_text=report.show_text,
        )
    )
    return page if page.endswith("\n") else page + "\n"


# ----------------------------------------------------------------------- CSV

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
    for r in report.results:
        row = {name: getattr(r, name, None) for name in fields}
        row["passed"] = r.passed if r.kind == "generative" else r.correct
        row["failed_assertions"] = " | ".join(_reasons(r))
        if report.show_text:
            row["conversation"] = _talk(r)
        if report.emulated(r.model):
            row["served_by"] = r.served_by or report.served.get(r.model, "")
        writer.writerow({k: _cell_safe(row.get(k)) for k in fields})
    return buffer.getvalue()


# --------------------------------------------------------------------- files


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
