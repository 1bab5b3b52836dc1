"""The CI gate: thresholds on the selected cells, and F1 against a stored baseline.

A broken threshold is one line each; `parley eval` exits 1 when any is broken
(2 stays for bad input). An incomplete run (budget stop, failed calls) cannot pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .suite import Cell, GateSpec
from .variants import attack_of, generated_of

BASELINE_FORMAT = "parley-eval-baseline/1"


@dataclass
class GateOutcome:
    """The gate's decision, with a line per broken threshold."""

    checked: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, **self.__dict__}


def check_gate(
    gate: GateSpec,
    cells: list[Cell],
    summaries: dict[str, dict[str, Any]],
    *,
    baseline: dict[str, Any] | None = None,
    incomplete: str | None = None,
) -> GateOutcome:
    """Apply the thresholds to every cell the gate selects."""
    outcome = GateOutcome()
    if incomplete:
        outcome.failures.append(f"run incomplete: {incomplete}")
    selected = [c for c in cells if any(s.matches(c) for s in gate.cells)]
    if not selected:
        outcome.notes.append("the gate selects no cell of this suite: nothing checked")
    floors = {"recall": gate.recall_min, "precision": gate.precision_min, "f1": gate.f1_min}
    ceilings = {"undetermined_rate": gate.undetermined_max, "error_rate": gate.error_max}
    for cell in selected:
        summary = summaries.get(cell.key)
        if summary is None:
            outcome.failures.append(f"{cell.key}: no results")
            continue
        outcome.checked.append(cell.key)
        if summary.get("kind") == "generative":
            _check_generative(outcome, gate, cell, summary)
            continue
        for name, floor in floors.items():
            if floor is not None and summary[name] < floor:
                outcome.failures.append(f"{cell.key}: {name} {summary[name]:.3f} < {floor:.3f}")
        for name, ceiling in ceilings.items():
            if ceiling is not None and summary[name] > ceiling:
                outcome.failures.append(f"{cell.key}: {name} {summary[name]:.3f} > {ceiling:.3f}")
        if gate.f1_drop_max is not None:
            _check_baseline(outcome, cell, summary, baseline, gate.f1_drop_max)
        if gate.asr_rise_max is not None and "attack" in summary:
            _check_attack(outcome, cell, summary["attack"], baseline, gate.asr_rise_max)
        _check_bounds(outcome, gate, cell, summary)
    return outcome


def _check_bounds(
    outcome: GateOutcome, gate: GateSpec, cell: Cell, summary: dict[str, Any]
) -> None:
    """Absolute bounds on both sides of an attack: its success on scams, the false
    positives it adds on honest conversations, and the honest false-positive rate."""
    attack, cost = summary.get("attack"), summary.get("fp_cost")
    name = (generated_of(cell.variant) or (attack_of(cell.variant) or "", 0))[0]
    asr_max, fp_added_max = gate.bound("asr_max", name), gate.bound("fp_added_max", name)
    if asr_max is not None and attack is not None:
        rate = attack["attack_success_rate"]
        if not attack["detected_before"]:
            outcome.failures.append(
                f"{cell.key}: no scam flagged as written: attack success cannot be measured"
            )
        elif rate > asr_max + 1e-12:
            outcome.failures.append(
                f"{cell.key}: attack success {rate:.3f} > {asr_max:.3f} "
                f"({attack['missed_after']}/{attack['detected_before']} missed)"
            )
    if fp_added_max is not None and cost is not None:
        if not cost["honest"]:
            outcome.failures.append(f"{cell.key}: no honest conversation to measure FP cost on")
        elif cost["fp_added"] > fp_added_max + 1e-12:
            outcome.failures.append(
                f"{cell.key}: false positives added {cost['fp_added'] * 100:.1f} points > "
                f"{fp_added_max * 100:.1f} ({cost['fp_before']}→{cost['fp_after']}"
                f"/{cost['honest']} honest flagged)"
            )
    if gate.fp_rate_max is not None:
        honest = summary["n"] - summary["positives"]
        rate = summary["fp"] / honest if honest else 0.0
        if honest and rate > gate.fp_rate_max + 1e-12:
            outcome.failures.append(
                f"{cell.key}: honest false-positive rate {rate:.3f} > {gate.fp_rate_max:.3f} "
                f"({summary['fp']}/{honest})"
            )


def _check_generative(
    outcome: GateOutcome, gate: GateSpec, cell: Cell, summary: dict[str, Any]
) -> None:
    outcome.failures.extend(generative_failures(gate, cell, summary))


def has_floor(gate: GateSpec) -> bool:
    """The gate holds a generative suite to something: an assertion or category floor."""
    return bool(gate.assertions or gate.categories)


def generative_failures(gate: GateSpec, cell: Cell, summary: dict[str, Any]) -> list[str]:
    """Pass-rate floors of named assertions (`all`: whole cases), of each category, and
    the error ceiling: one line per broken threshold."""
    failures: list[str] = []
    for rule in gate.assertions:
        if rule.assertion == "all":
            rate: float | None = summary["pass_rate"]
        else:
            entry = summary["per_assertion"].get(rule.assertion)
            rate = None if entry is None else entry["pass_rate"]
        if rate is None:
            failures.append(f"{cell.key}: no case carries the assertion {rule.assertion}")
        elif rate < rule.floor:
            failures.append(f"{cell.key}: {rule.assertion} pass rate {rate:.3f} < {rule.floor:.3f}")
    per_category = summary.get("per_category", {})
    for name in gate.categories:
        if name != "*" and name not in per_category:
            failures.append(f"{cell.key}: no case of category {name} (gate `categories`)")
    default = gate.categories.get("*")
    for name, entry in per_category.items():
        floor = gate.categories.get(name, default)
        if floor is not None and entry["pass_rate"] < floor:
            failures.append(
                f"{cell.key}: category {name} pass rate {entry['pass_rate']:.3f} "
                f"({entry['passed']}/{entry['n']}) < {floor:.3f}"
            )
    if summary["error_rate"] > gate.error_max:
        failures.append(
            f"{cell.key}: error_rate {summary['error_rate']:.3f} > {gate.error_max:.3f}"
        )
    return failures


def _check_attack(
    outcome: GateOutcome,
    cell: Cell,
    attack: dict[str, Any],
    baseline: dict[str, Any] | None,
    margin: float,
) -> None:
    """An attack may not succeed more often than the stored rate (plus `margin`)."""
    stored = _stored(baseline, cell, "attack_success_rate")
    if stored is None:
        outcome.notes.append(f"{cell.key}: no stored attack success rate (--update-baseline)")
        return
    rate = attack["attack_success_rate"]
    if rate > stored + margin + 5e-5:  # stored rounded to 4 places
        outcome.failures.append(
            f"{cell.key}: attack success rate {rate:.3f} rose above the recorded "
            f"{stored:.3f} (+{margin:.3f} allowed)"
        )


def _check_baseline(
    outcome: GateOutcome,
    cell: Cell,
    summary: dict[str, Any],
    baseline: dict[str, Any] | None,
    margin: float,
) -> None:
    stored = _stored(baseline, cell, "f1")
    if stored is None:
        outcome.notes.append(f"{cell.key}: no stored baseline F1 (write one: --update-baseline)")
        return
    if summary["f1"] < stored - margin - 5e-5:  # the baseline is stored rounded to 4 places
        outcome.failures.append(
            f"{cell.key}: f1 {summary['f1']:.3f} fell more than {margin:.3f} "
            f"below the baseline {stored:.3f}"
        )


def _stored(baseline: dict[str, Any] | None, cell: Cell, name: str) -> float | None:
    """The metric `name` the baseline stores for `cell` (checked by load_baseline)."""
    value = (baseline or {}).get("cells", {}).get(cell.key, {}).get(name)
    return None if value is None else float(value)


def load_baseline(path: Path) -> dict[str, Any] | None:
    """The stored baseline, or None when the file does not exist yet."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read baseline {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
        raise ConfigError(f"{path}: not a parley evaluation baseline ({BASELINE_FORMAT})")
    cells = data.get("cells", {})
    if not isinstance(cells, dict) or not all(
        isinstance(metrics, dict) and all(_number_or_none(v) for v in metrics.values())
        for metrics in cells.values()
    ):
        raise ConfigError(f"{path}: `cells` must map cell keys to metrics (numbers)")
    return data


def _number_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def baseline_document(
    suite: str, summaries: dict[str, dict[str, Any]], cases: int
) -> dict[str, Any]:
    """What `--update-baseline` stores: the headline metrics of every cell."""
    keep: tuple[str, ...] = ("n", "precision", "recall", "f1", "accuracy", "undetermined_rate")
    keep += ("roc_auc",)
    if any(s.get("kind") == "generative" for s in summaries.values()):
        keep = ("n", "pass_rate", "error_rate")
    return {
        "format": BASELINE_FORMAT,
        "suite": suite,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cases": cases,
        "cells": {
            key: {name: _round(summary[name]) for name in keep} | _attack_fields(summary)
            for key, summary in summaries.items()
        },
    }


def _attack_fields(summary: dict[str, Any]) -> dict[str, Any]:
    attack = summary.get("attack")
    if attack is None:
        return {}
    return {
        "attack_success_rate": _round(attack["attack_success_rate"]),
        "detected_before": attack["detected_before"],
        "missed_after": attack["missed_after"],
    }


def write_baseline(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _round(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value
