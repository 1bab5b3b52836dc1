"""The tables and lines every format shares: cell rows, breakdowns, comparisons, the
run line, failed cases and what a case said. Pure functions of a Report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..attackgen import kind_of
from ..attacks import STRATEGIES
from ..generative import is_emulated
from ..results import CaseResult
from ..suite import Cell
from ..variants import attack_of, generated_of
from .build import Report


def fmt_num(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def fmt_ci(interval: Sequence[float] | None) -> str:
    return "" if not interval else f" [{interval[0]:.2f}–{interval[1]:.2f}]"


def fmt_ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def fmt_money(value: float) -> str:
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def cell_rows(report: Report) -> list[list[str]]:
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
                fmt_num(s["precision"]),
                fmt_num(s["recall"]) + fmt_ci(s["recall_ci"]),
                fmt_num(s["f1"]) + fmt_ci(s["f1_ci"]),
                fmt_num(s["accuracy"]),
                fmt_num(s["roc_auc"]),
                f"{s['undetermined_rate']:.1%}",
                f"{fmt_ms(s['latency_p50_ms'])} / {fmt_ms(s['latency_p95_ms'])}",
                f"{s['input_tokens']:,} / {s['output_tokens']:,}",
                cost_cell(report, cell.model, s["cost_per_1k_cases"]),
            ]
        )
    return rows


def cost_cell(report: Report, model: str, value: float) -> str:
    return "none (emulator)" if report.emulated(model) else fmt_money(value)


def fmt_pass_rate(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "–"
    return f"{entry['pass_rate']:.3f}{fmt_ci(entry['ci'])} ({entry['passed']}/{entry['n']})"


def generative_rows(report: Report) -> list[list[str]]:
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
                fmt_pass_rate(s),
                fmt_num(s["mean_score"]),
                f"{s['error_rate']:.1%}",
                f"{fmt_ms(s['latency_p50_ms'])} / {fmt_ms(s['latency_p95_ms'])}",
                f"{s['input_tokens']:,} / {s['output_tokens']:,}",
                cost_cell(report, cell.model, s["cost_per_1k_cases"]),
                fmt_money(s["grader_cost_usd"]) if s["grader_cost_usd"] else "–",
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


def breakdown(
    report: Report, key: str, *, with_controls: bool = False
) -> tuple[list[str], list[list[str]]]:
    """Pass rate per assertion type (`per_assertion`) or per category, one row a cell
    (and, `with_controls`, one row a control after them)."""
    names = sorted({name for s in report.summaries.values() for name in s.get(key, {})})
    cells = report.all_cells if with_controls else report.cells
    summaries = {**report.summaries, **report.control_summaries}
    rows = []
    for cell in cells:
        s = summaries.get(cell.key)
        if s is not None:
            label = cell.model if cell in report.control_cells else cell.key
            rows.append([label, *(fmt_pass_rate(s[key].get(n)) for n in names)])
    return ["cell", *names], rows


CONTROL_HEADERS = [
    "control",
    "kind",
    "answer",
    "passed/n",
    "unsafe categories passed",
    "passes the screen",
    "passes the suite's gate",
    "held",
]
CONTROLS_NOTE = (
    "Fixed answers checked on every case with the same assertions (a rubric is not "
    "graded for a control): a suite that passes them cannot tell a good answer from a "
    "bad one. A control is held when it passes no more than the suite allows; "
    "one that is not breaks the gate."
)


def control_rows(report: Report) -> list[list[str]]:
    """One row a control: what it passed, and whether the suite held it."""

    def yes_no(value: object) -> str:
        return "–" if value is None else "yes" if value else "no"

    rows = []
    for check in report.controls:
        answer = check.answer
        shown = answer if len(answer) <= 60 else answer[:57] + "…"
        if not any(c.isalnum() for c in shown):
            shown = repr(shown)  # "", "...", "-": quoted, so that the cell is not blank
        rows.append(
            [
                f"control:{check.control}",
                check.kind,
                shown,
                f"{check.passed}/{check.n} ({check.pass_rate:.1%})",
                "–" if check.unsafe_passed is None else str(check.unsafe_passed),
                yes_no(check.passes_screen),
                yes_no(check.passes_gate),
                "held" if check.held else "BROKEN: " + "; ".join(check.broken),
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


def variant_table(report: Report) -> tuple[list[str], list[list[str]]]:
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


def category_table(report: Report) -> tuple[list[str], list[list[str]]]:
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


def attack_table(report: Report) -> tuple[list[str], list[list[str]]]:
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
            row.append("–" if found is None else fmt_asr(found))
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


def fmt_asr(attack: dict[str, Any]) -> str:
    interval = attack["asr_ci"]
    ci = f" [{interval[0]:.1%}–{interval[1]:.1%}]" if interval else ""
    rate = attack["attack_success_rate"]
    return f"{rate:.1%}{ci} ({attack['missed_after']}/{attack['detected_before']})"


ATTACK_NOTE = (
    "Attack success rate: of the scams flagged on the conversation as written (`full`), "
    "the share missed after the attack; 95% Wilson interval; (missed / flagged before)."
)


def tier_rows(report: Report) -> list[list[str]]:
    rows = []
    for cell in report.cells:
        s = report.summaries.get(cell.key)
        if s and s["decided_by"] and cell.model.startswith("cascade:"):
            shares = ", ".join(f"{tier}: {share:.1%}" for tier, share in s["decided_by"].items())
            rows.append([cell.key, shares])
    return rows


def comparison_rows(report: Report) -> list[list[str]]:
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


def run_line(report: Report) -> str:
    run = report.run
    stats = run.get("stats", {})
    line = (
        f"{run.get('cases', 0)} cases × {len(report.cells)} cells; "
        f"model calls {stats.get('model_calls', 0)}, cache hits {stats.get('cache_hits', 0)}, "
        f"resumed {stats.get('resumed', 0)}, errors {stats.get('errors', 0)}; "
        f"spent {fmt_money(stats.get('spent_usd', 0.0))}; wall {stats.get('wall_s', 0.0):.1f} s"
    )
    if run.get("stopped"):
        line += f"; **stopped: {run['stopped']}** ({stats.get('skipped_budget', 0)} not run)"
    return line


def served_lines(report: Report) -> list[str]:
    lines = [
        f"- `{model}`: {label}" + (" (parley's local emulator, not Bedrock: no Bedrock cost)"
                                   if is_emulated(label) else "")
        for model, label in report.served.items()
    ]  # fmt: skip
    graders = report.run.get("graders") or {}
    lines += [f"- judge `{model}`: {label}" for model, label in graders.items()]
    return ["Who answered:", "", *lines, ""] if lines else []


def not_graded_note(report: Report) -> str:
    """A line when rubrics went ungraded (no grader): they neither pass nor fail a case."""
    count = sum(s.get("not_graded", 0) for s in report.summaries.values())
    if not count:
        return ""
    return (
        f"{count} llm-rubric assertions were not graded: the suite names no grader. "
        "They neither pass nor fail a case; set `grader:` to grade them."
    )


def failed_cases(report: Report) -> list[CaseResult]:
    """Every case that did not pass (wrong verdict, failed assertion, failed call)."""
    return [r for r in report.results if not r.correct]


def what_it_said(result: CaseResult) -> str:
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


def reasons(result: CaseResult) -> list[str]:
    return [f"{a.label}: {a.reason}" for a in result.failed_assertions]


def conversation_of(result: CaseResult) -> list[tuple[str, str]]:
    """The turns a case's record holds (only with `show_text`), the child's new one last."""
    return [*result.turns, *([("child", result.utterance)] if result.utterance else [])]


def talk(result: CaseResult) -> str:
    return " / ".join(f"{who}: {text}" for who, text in conversation_of(result))


def generated_table(report: Report) -> tuple[list[str], list[list[str]]]:
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
            row.append("–" if found is None else fmt_asr(found))
            row.append("–" if cost is None else fp_added(cost))
        rows.append(row)
    headers = ["attack", "kind"]
    for prompt, model in columns:
        where = f"{prompt} · {model}" + (" (emulator)" if report.emulated(model) else "")
        headers += [f"{where}: attack success", f"{where}: FP added"]
    return headers, rows


def fp_added(cost: dict[str, Any]) -> str:
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
