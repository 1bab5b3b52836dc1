"""summary.md and the terminal summary: the cells, the breakdowns, the comparisons, the
gate, and (summary.md only) every failed case."""

from __future__ import annotations

from collections.abc import Sequence

from ..gate import GateOutcome
from .build import Report
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
    failed_cases,
    generated_table,
    generative_rows,
    not_graded_note,
    reasons,
    run_line,
    served_lines,
    talk,
    tier_rows,
    variant_table,
    what_it_said,
)


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(headers), line(["---"] * len(headers)), *map(line, rows)])


def markdown_summary(report: Report) -> str:
    """The summary printed on the terminal (summary.md adds the failed cases)."""
    if report.generative:
        return _markdown_generative(report)
    parts = [
        f"# Evaluation `{report.suite}`",
        "",
        f"Run `{report.run.get('run_id')}`: {run_line(report)}.",
        "",
        "Undetermined verdicts and failed calls count as *not flagged*; "
        "their rates are shown on their own.",
        "",
        *served_lines(report),
        "## Cells",
        "",
        _md_table(CELL_HEADERS, cell_rows(report)),
        "",
        "## Variants side by side (F1 / recall)",
        "",
        _md_table(*variant_table(report)),
    ]
    headers, rows = attack_table(report)
    if rows:
        parts += ["", "## Attack success rate", "", ATTACK_NOTE, "", _md_table(headers, rows)]
    headers, rows = generated_table(report)
    if rows:
        parts += ["", "## Generated attacks", "", GENERATED_NOTE, "", _md_table(headers, rows)]
    tiers = tier_rows(report)
    if tiers:
        parts += [
            "",
            "## Cascade: share decided by each tier",
            "",
            _md_table(["cell", "tiers"], tiers),
        ]
    headers, rows = category_table(report)
    if len(headers) > 1:
        parts += ["", "## Recall per scam category (n)", "", _md_table(headers, rows)]
    return _with_tail(parts, report, "## Comparisons (B against A on the same cases)")


def _markdown_generative(report: Report) -> str:
    parts = [
        f"# Evaluation `{report.suite}` (generative)",
        "",
        f"Run `{report.run.get('run_id')}`: {run_line(report)}.",
        "",
        "A case passes when every assertion it carries passes; a failed call fails it.",
        "",
        *_not_graded_lines(report),
        *served_lines(report),
        "## Cells",
        "",
        _md_table(GENERATIVE_HEADERS, generative_rows(report)),
        "",
        "## Pass rate per assertion [95% CI] (passed/n)",
        "",
        _md_table(*breakdown(report, "per_assertion")),
        "",
        "## Pass rate per category [95% CI] (passed/n)",
        "",
        _md_table(*breakdown(report, "per_category")),
        "",
        *_control_lines(report),
    ]
    return _with_tail(
        parts, report, "## Comparisons (B against A on the same cases; McNemar on pass/fail)"
    )


def _control_lines(report: Report) -> list[str]:
    if not report.controls_run:
        return ["## Controls", "", "**None run**: nothing shows that this suite can fail."]
    return [
        "## Controls (fixed answers the suite must fail)",
        "",
        CONTROLS_NOTE,
        "",
        _md_table(CONTROL_HEADERS, control_rows(report)),
    ]


def _with_tail(parts: list[str], report: Report, comparisons_title: str) -> str:
    """The Markdown report's end, alike for both kinds: comparisons, then the gate."""
    if report.comparisons:
        parts += [
            "",
            comparisons_title,
            "",
            _md_table(COMPARISON_HEADERS, comparison_rows(report)),
        ]
    if report.gate is not None:
        parts += ["", "## Gate", "", gate_text(report.gate)]
    return "\n".join(parts) + "\n"


def _not_graded_lines(report: Report) -> list[str]:
    note = not_graded_note(report)
    return [f"**{note}**", ""] if note else []


def markdown_failures(report: Report) -> str:
    """The failed cases, one block per case (summary.md, not the terminal)."""
    failed = failed_cases(report)
    parts = ["", f"## Failed cases ({len(failed)})", ""]
    for result in failed:
        said = what_it_said(result).replace("\n", " ")
        parts.append(f"- `{result.case_id}` ({result.category}) in `{result.cell}`: {said}")
        parts += [f"  - failed {reason}" for reason in reasons(result)]
        if report.show_text and (result.turns or result.utterance):
            parts.append("  - conversation: " + talk(result))
    return "\n".join(parts) + "\n"


def gate_text(gate: GateOutcome) -> str:
    """PASS/FAIL and one line per broken threshold."""
    lines = [f"**{'PASS' if gate.passed else 'FAIL'}** ({len(gate.checked)} cells checked)"]
    lines += [f"- broken: {failure}" for failure in gate.failures]
    lines += [f"- note: {note}" for note in gate.notes]
    return "\n".join(lines)
