"""Results of an evaluation run: one record per (cell, case), and per-cell summaries.

The same records come from the case-by-case runner and from batch inference, so
reports, comparisons and the gate never care which produced them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError
from ..verdict import Verdict
from . import metrics
from .assertions import AssertionOutcome
from .suite import Case, Cell

Status = Literal["scored", "undetermined", "error"]


class CaseResult(BaseModel):
    """One case judged in one cell."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    dataset: str = ""
    label: int | None = Field(None, description="labelled suites: 1 scam, 0 not; else None")
    kind: Literal["classification", "generative"] = "classification"
    category: str = "none"
    tags: tuple[str, ...] = ()
    lang: str = ""
    cell: str
    prompt: str
    model: str
    variant: str
    status: Status
    suspicious: bool | None = None
    score: float | None = None
    categories: tuple[str, ...] = ()
    rationale: str = ""
    decided_by: str | None = None
    model_id: str = ""
    messages_shown: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    cached: bool = False
    attempts: int = 1
    error: str | None = Field(None, description="error code when the call failed")
    served_by: str = Field("", description="who answered: bedrock, emulator (…), local, …")
    # Generative cases: the answer and what its assertions said.
    answer: str | None = None
    passed: bool | None = None
    assertion_score: float | None = None
    assertions: tuple[AssertionOutcome, ...] = ()
    grader_cost_usd: float = 0.0
    grader_served_by: str = ""
    # The conversation, only when the suite opts in (`show_text`): it is personal data.
    turns: tuple[tuple[str, str], ...] = ()
    utterance: str | None = None

    @property
    def flagged(self) -> bool:
        """The moderator's decision: only an explicit `suspicious=True` flags."""
        return self.suspicious is True

    @property
    def correct(self) -> bool:
        """Labelled: the decision matches the label; generative: every assertion passed."""
        if self.kind == "generative":
            return self.passed is True
        return self.flagged == bool(self.label)

    @property
    def failed_assertions(self) -> list[AssertionOutcome]:
        return [a for a in self.assertions if not a.passed and not a.skipped]


def case_result(
    case: Case,
    cell: Cell,
    verdict: Verdict,
    *,
    messages_shown: int,
    cached: bool,
    attempts: int = 1,
) -> CaseResult:
    """The record of a verdict on a case."""
    return CaseResult(
        **_case_fields(case, cell),
        status=verdict.status,
        suspicious=verdict.suspicious,
        score=verdict.score,
        categories=tuple(str(c) for c in verdict.categories),
        rationale=verdict.rationale,
        decided_by=verdict.decided_by,
        model_id=verdict.model_id,
        messages_shown=messages_shown,
        input_tokens=verdict.input_tokens,
        output_tokens=verdict.output_tokens,
        cost_usd=verdict.cost_usd,
        latency_ms=verdict.latency_ms,
        cached=cached,
        attempts=attempts,
    )


def error_result(case: Case, cell: Cell, code: str, attempts: int) -> CaseResult:
    """The record of a case whose model call failed (counted, never cached or journaled)."""
    extra: dict[str, Any] = {"passed": False} if case.generative else {}
    return CaseResult(
        **_case_fields(case, cell), status="error", error=code, attempts=attempts, **extra
    )


def _case_fields(case: Case, cell: Cell) -> dict[str, Any]:
    return {
        "case_id": case.id,
        "dataset": case.dataset,
        "label": case.label,
        "kind": "generative" if case.generative else "classification",
        "category": case.category,
        "tags": case.tags,
        "lang": case.lang,
        "cell": cell.key,
        "prompt": cell.prompt,
        "model": cell.model,
        "variant": cell.variant,
    }


def by_cell(results: list[CaseResult]) -> dict[str, list[CaseResult]]:
    """Results grouped by cell key, in first-seen order, each sorted by case id."""
    groups: dict[str, list[CaseResult]] = {}
    for result in results:
        groups.setdefault(result.cell, []).append(result)
    return {key: sorted(group, key=lambda r: r.case_id) for key, group in groups.items()}


def summarise_cell(results: list[CaseResult], *, resamples: int = 1000, seed: int = 0) -> dict:
    """Every metric of one cell (see metrics.py for the undetermined convention)."""
    if results and results[0].kind == "generative":
        return summarise_generative(results, resamples=resamples, seed=seed)
    labels = [int(r.label or 0) for r in results]  # labelled suites: always 0 or 1
    flagged = [r.flagged for r in results]
    matrix = metrics.confusion(labels, flagged)
    scored = [(r.score, y) for r, y in zip(results, labels, strict=True) if r.score is not None]
    scores, score_labels = [s for s, _ in scored], [y for _, y in scored]
    auc = metrics.roc_auc(scores, score_labels) if scored else float("nan")
    answered = [r for r in results if r.status != "error"]
    latencies = [r.latency_ms for r in answered]
    n = len(results)
    undetermined = sum(r.status == "undetermined" for r in results)
    errors = n - len(answered)
    tiers = Counter(r.decided_by for r in answered if r.decided_by)
    f1_ci = metrics.bootstrap_ci(
        labels, flagged, metrics.f1_statistic, resamples=resamples, seed=seed
    )
    recall_ci = metrics.bootstrap_ci(
        labels, flagged, metrics.recall_statistic, resamples=resamples, seed=seed
    )
    cost = sum(r.cost_usd for r in answered)
    return {
        "n": n,
        "positives": sum(labels),
        "tp": matrix.tp,
        "fp": matrix.fp,
        "fn": matrix.fn,
        "tn": matrix.tn,
        "precision": matrix.precision,
        "recall": matrix.recall,
        "f1": matrix.f1,
        "accuracy": matrix.accuracy,
        "f1_ci": list(f1_ci) if f1_ci else None,
        "recall_ci": list(recall_ci) if recall_ci else None,
        "roc_auc": None if auc != auc else auc,  # NaN: one class only, or no scores
        "scored": len(scored),
        "per_category_recall": metrics.per_category_recall(
            labels, [r.category for r in results], flagged
        ),
        "undetermined": undetermined,
        "undetermined_rate": undetermined / n if n else 0.0,
        "errors": errors,
        "error_rate": errors / n if n else 0.0,
        "input_tokens": sum(r.input_tokens for r in answered),
        "output_tokens": sum(r.output_tokens for r in answered),
        "cost_usd": cost,
        "cost_per_1k_cases": cost / len(answered) * 1000 if answered else 0.0,
        "spent_usd": sum(r.cost_usd for r in answered if not r.cached),
        "cached": sum(r.cached for r in results),
        "latency_p50_ms": metrics.percentile(latencies, 50),
        "latency_p95_ms": metrics.percentile(latencies, 95),
        "decided_by": {tier: count / len(answered) for tier, count in sorted(tiers.items())},
        "roc": metrics.roc_curve(scores, score_labels),
        "pr": metrics.pr_curve(scores, score_labels),
    }


def summarise_generative(
    results: list[CaseResult], *, resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Pass rates of one generative cell: overall, per assertion type, per category,
    each with a 95% bootstrap interval. A failed call is a failed case."""
    n = len(results)
    answered = [r for r in results if r.status != "error"]
    passed = [r.passed is True for r in results]

    def rate(flags: list[bool]) -> dict[str, Any]:
        interval = metrics.pass_rate_ci(flags, resamples=resamples, seed=seed)
        return {
            "n": len(flags),
            "passed": sum(flags),
            "pass_rate": sum(flags) / len(flags) if flags else 0.0,
            "ci": list(interval) if interval else None,
        }

    per_assertion: dict[str, list[bool]] = {}
    for result in results:
        kinds: dict[str, bool] = {}
        for outcome in result.assertions:
            if outcome.skipped:
                continue
            kinds[outcome.type] = kinds.get(outcome.type, True) and outcome.passed
        for kind, ok in kinds.items():
            per_assertion.setdefault(kind, []).append(ok)
    per_category: dict[str, list[bool]] = {}
    for result, ok in zip(results, passed, strict=True):
        per_category.setdefault(result.category, []).append(ok)
    errors = n - len(answered)
    latencies = [r.latency_ms for r in answered]
    cost = sum(r.cost_usd for r in answered)
    grader_cost = sum(r.grader_cost_usd for r in results)
    return {
        "kind": "generative",
        **rate(passed),
        "mean_score": (
            sum(r.assertion_score or 0.0 for r in answered) / len(answered) if answered else 0.0
        ),
        "per_assertion": {kind: rate(flags) for kind, flags in sorted(per_assertion.items())},
        "per_category": {cat: rate(flags) for cat, flags in sorted(per_category.items())},
        "errors": errors,
        "error_rate": errors / n if n else 0.0,
        "not_graded": sum(o.skipped for r in results for o in r.assertions),
        "input_tokens": sum(r.input_tokens for r in answered),
        "output_tokens": sum(r.output_tokens for r in answered),
        "cost_usd": cost,
        "grader_cost_usd": grader_cost,
        "cost_per_1k_cases": cost / len(answered) * 1000 if answered else 0.0,
        "spent_usd": sum(r.cost_usd for r in answered if not r.cached),
        "cached": sum(r.cached for r in results),
        "latency_p50_ms": metrics.percentile(latencies, 50),
        "latency_p95_ms": metrics.percentile(latencies, 95),
    }


def attack_success(before: list[CaseResult], after: list[CaseResult]) -> dict[str, Any]:
    """Attack success rate of one attack cell against its unattacked cell (same prompt
    and model, variant `full`): of the scams flagged before the attack, the share not
    flagged after it, with a 95% Wilson interval. Benign cases do not count.
    """
    after_by_id = {r.case_id: r for r in after}
    detected = [r.case_id for r in before if r.label == 1 and r.flagged]
    pairs = [after_by_id[i] for i in detected if i in after_by_id]
    missed = sorted(r.case_id for r in pairs if not r.flagged)
    n = len(pairs)
    interval = metrics.wilson_interval(len(missed), n)
    return {
        "reference": before[0].cell if before else None,
        "scams": sum(r.label == 1 for r in after),
        "detected_before": n,
        "missed_after": len(missed),
        "attack_success_rate": len(missed) / n if n else 0.0,
        "asr_ci": list(interval) if interval else None,
        "missed": missed,
    }


def false_positive_cost(
    before: list[CaseResult], after: list[CaseResult], *, resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """What an attack costs honest people: the share of honest (label 0) conversations
    flagged after the attack minus the share flagged as written (same prompt and model,
    variant `full`), paired by case, with a 95% paired bootstrap interval. Scams do not
    count."""
    after_by_id = {r.case_id: r for r in after if r.label == 0}
    pairs = [
        (r, after_by_id[r.case_id]) for r in before if r.label == 0 and r.case_id in after_by_id
    ]
    was = [a.flagged for a, _ in pairs]
    now = [b.flagged for _, b in pairs]
    n = len(pairs)
    interval = metrics.paired_difference_ci(was, now, resamples=resamples, seed=seed)
    return {
        "honest": n,
        "fp_before": sum(was),
        "fp_after": sum(now),
        "fp_rate_before": sum(was) / n if n else 0.0,
        "fp_rate_after": sum(now) / n if n else 0.0,
        "fp_added": (sum(now) - sum(was)) / n if n else 0.0,
        "fp_added_ci": list(interval) if interval else None,
        "newly_flagged": sorted(b.case_id for a, b in pairs if b.flagged and not a.flagged),
    }


def load_results(path: Path) -> list[CaseResult]:
    """The case records of a results.json written by `parley eval`."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return [CaseResult.model_validate(item) for item in document["cases"]]
    except OSError as exc:
        raise InputError(f"cannot read results {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValidationError) as exc:
        raise InputError(f"{path}: not a parley results.json ({type(exc).__name__})") from None
