"""A run's report, computed once: each cell's metrics, the default comparisons and the
gate's decision. Every format (json, markdown, html, csv) is written from it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..compare import Comparison, compare
from ..controls import ControlCheck, check_controls, control_failures
from ..endpoint import endpoint_label
from ..gate import (
    GateOutcome,
    baseline_document,
    check_gate,
    generative_failures,
    has_floor,
    load_baseline,
    write_baseline,
)
from ..generative import is_emulated
from ..results import CaseResult, attack_success, by_cell, false_positive_cost, summarise_cell
from ..suite import Cell, Suite
from ..variants import attack_of, generated_of

if TYPE_CHECKING:
    from ..runner import RunOutcome


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
    # The fixed-answer controls of a generative suite, beside the real cells.
    control_cells: list[Cell] = field(default_factory=list)
    control_results: list[CaseResult] = field(default_factory=list)
    control_summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    controls: list[ControlCheck] = field(default_factory=list)
    controls_run: bool = False

    @property
    def all_cells(self) -> list[Cell]:
        """The real cells, then the controls'."""
        return [*self.cells, *self.control_cells]

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
    control_summaries = summarise(
        outcome.control_cells, outcome.control_results, resamples=suite.bootstrap, seed=suite.seed
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
    rows = []
    if suite.kind == "generative":
        rows = _check_controls(suite, outcome, control_summaries, gate)
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
        control_cells=outcome.control_cells,
        control_results=outcome.control_results,
        control_summaries=control_summaries,
        controls=rows,
        controls_run=bool(outcome.control_cells),
    )


def _check_controls(
    suite: Suite,
    outcome: RunOutcome,
    control_summaries: dict[str, dict[str, Any]],
    gate: GateOutcome,
) -> list[ControlCheck]:
    """The controls' limits join the gate: a control that passes too much fails it."""
    if not outcome.control_cells:
        gate.notes.append(
            "controls off (`controls: {run: false}`): nothing shows the suite can fail"
        )
        return []
    floors = has_floor(suite.gate)
    if not floors:
        gate.notes.append(
            "the gate holds no pass-rate floor (`assertion`, `categories`): it passes any answer"
        )
    passes_gate = {
        cell.key: floors and not generative_failures(suite.gate, cell, control_summaries[cell.key])
        for cell in outcome.control_cells
    }
    checks = check_controls(suite.controls, outcome.control_results, passes_gate)
    gate.failures.extend(control_failures(checks))
    return checks
