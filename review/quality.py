"""Live quality figures from reviewers' decisions (pure functions, no I/O).

Per prompt version and model, overall, per category and per day:
- precision of flags: of the flags a reviewer decided, the share confirmed as scams;
- undetermined verdicts resolved each way (scam / not a scam);
- misses: cleared verdicts in the review sample that a reviewer called a scam;
- agreement: decisive reviews (scam or not) on scored verdicts that match the model.
And a shadow prompt against the live one, on the same windows: agreement, flips each
way, and how reviewers decided the flipped items, so that a dark read ends in a
decision to promote or drop the shadow.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .queue import kind_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pipeline.verdict import Verdict

    from .decisions import Decision


@dataclass
class Tally:
    flags_reviewed: int = 0
    flags_confirmed: int = 0
    flags_overturned: int = 0
    undetermined_scam: int = 0
    undetermined_not_scam: int = 0
    cleared_reviewed: int = 0
    misses: int = 0
    cannot_tell: int = 0

    def add(self, decision: Decision) -> None:
        if decision.label == "cannot_tell":
            self.cannot_tell += 1
            return
        scam = decision.label == "scam"
        if decision.verdict_kind == "flagged":
            self.flags_reviewed += 1
            self.flags_confirmed += scam
            self.flags_overturned += not scam
        elif decision.verdict_kind == "undetermined":
            self.undetermined_scam += scam
            self.undetermined_not_scam += not scam
        else:
            self.cleared_reviewed += 1
            self.misses += scam

    def figures(self) -> dict[str, Any]:
        agree = self.flags_confirmed + (self.cleared_reviewed - self.misses)
        scored = self.flags_reviewed + self.cleared_reviewed
        return {
            **asdict(self),
            "flag_precision": _share(self.flags_confirmed, self.flags_reviewed),
            "overturn_rate": _share(self.flags_overturned, self.flags_reviewed),
            "miss_rate": _share(self.misses, self.cleared_reviewed),
            "agreement": _share(agree, scored),
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def agreement_figures(decisions: Iterable[Decision]) -> dict[str, Any]:
    """Figures per (prompt, model): overall, by category and by day of decision."""
    overall: dict[tuple[str, str], Tally] = defaultdict(Tally)
    by_category: dict[tuple[str, str, str], Tally] = defaultdict(Tally)
    by_day: dict[tuple[str, str, str], Tally] = defaultdict(Tally)
    for d in decisions:
        overall[(d.prompt, d.model_id)].add(d)
        by_day[(d.prompt, d.model_id, d.decided_at.date().isoformat())].add(d)
        for category in [c.value for c in d.categories] or ["none"]:
            by_category[(d.prompt, d.model_id, category)].add(d)
    return {
        "overall": [
            {"prompt": p, "model": m, **t.figures()} for (p, m), t in sorted(overall.items())
        ],
        "by_category": [
            {"prompt": p, "model": m, "category": c, **t.figures()}
            for (p, m, c), t in sorted(by_category.items())
        ],
        "by_day": [
            {"prompt": p, "model": m, "day": day, **t.figures()}
            for (p, m, day), t in sorted(by_day.items())
        ],
    }


def _said_scam(verdict: Verdict) -> bool | None:
    kind = kind_of(verdict)
    return None if kind == "undetermined" else kind == "flagged"


def shadow_figures(
    pairs: Iterable[tuple[Verdict, Verdict]], decided: dict[tuple[str, str], Decision]
) -> list[dict[str, Any]]:
    """Live against shadow per prompt pair; `decided` maps (pk, live sk) to a decision."""
    from pipeline.sinks import key_of

    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for live, shadow in pairs:
        group = groups.setdefault(
            (live.prompt, shadow.prompt),
            {
                "live_prompt": live.prompt,
                "shadow_prompt": shadow.prompt,
                "pairs": 0,
                "agree": 0,
                "flips_to_flag": 0,
                "flips_to_clear": 0,
                "other_disagreements": 0,
                "flips_reviewed": {
                    "to_flag": {"scam": 0, "not_scam": 0, "cannot_tell": 0, "unreviewed": 0},
                    "to_clear": {"scam": 0, "not_scam": 0, "cannot_tell": 0, "unreviewed": 0},
                },
                "reviewers_sided_with": {"live": 0, "shadow": 0},
            },
        )
        group["pairs"] += 1
        a, b = _said_scam(live), _said_scam(shadow)
        if a == b:
            group["agree"] += 1
            continue
        if a is None or b is None:
            group["other_disagreements"] += 1
            continue
        way = "to_flag" if b else "to_clear"
        group[f"flips_{way}"] += 1
        key = key_of(live)  # the stored key: decisions are keyed by it
        decision = decided.get((key.pk, key.sk))
        label = decision.label if decision else "unreviewed"
        group["flips_reviewed"][way][label] += 1
        if label in ("scam", "not_scam"):
            side = "shadow" if (label == "scam") == b else "live"
            group["reviewers_sided_with"][side] += 1
    result = []
    for group in groups.values():
        group["agreement"] = _share(group["agree"], group["pairs"])
        result.append(group)
    return sorted(result, key=lambda g: (g["live_prompt"], g["shadow_prompt"]))
