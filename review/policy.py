"""The review policy: reason codes, the written rule beside each, and what a decision
leads to (enforcement).

The policy is data (review/data/policy.yaml), tied to the scam taxonomy: every scam
reason names a category of `pipeline.verdict.Category`. Each decision carries a reason
code; each decision (and each undo) produces one enforcement event on the verdicts bus,
`parley.review.enforcement`, naming the action, so that the platform acts once per
decision and can reverse it on an undo. Ids only in events: no text, no reviewer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pipeline.conversation import iso
from pipeline.sinks import ENVELOPE_VERSION
from pipeline.verdict import Category

if TYPE_CHECKING:
    from pipeline.sinks import EventSink

    from .decisions import Decision

POLICY_FILE = Path(__file__).resolve().parent / "data" / "policy.yaml"
ENFORCEMENT = "parley.review.enforcement"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/parley/review-enforcement")


@dataclass(frozen=True)
class Reason:
    code: str
    label: str  # scam | not_scam | cannot_tell
    policy: str
    action: str
    category: str | None = None


@lru_cache(maxsize=1)
def reasons() -> tuple[Reason, ...]:
    raw = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    found = tuple(Reason(**item) for item in raw["reasons"])
    known = {c.value for c in Category}
    for reason in found:  # a typo in the policy is a bug, found at first use
        if reason.category is not None and reason.category not in known:
            raise ValueError(f"policy reason {reason.code}: unknown category {reason.category}")
    return found


def reason(code: str) -> Reason | None:
    return next((r for r in reasons() if r.code == code), None)


def default_reason(label: str, categories: list[str]) -> Reason:
    """The reason a decision gets when the reviewer picked none: by its first category."""
    for r in reasons():
        if r.label == label and (label != "scam" or r.category in (categories[:1] or ["other"])):
            return r
    return next(r for r in reasons() if r.label == label)


def check_reason(code: str, label: str) -> str:
    """A reason code valid for the label, or ValueError (the app answers 400)."""
    found = reason(code)
    if found is None or found.label != label:
        raise ValueError(f"reason {code!r} does not go with the decision {label!r}")
    return code


def enforcement_envelope(decision: Decision, *, withdrawn: bool = False) -> dict[str, Any]:
    """One enforcement event: the action (or its reversal) for one decision."""
    found = reason(decision.reason) or default_reason(
        decision.label, [c.value for c in decision.categories]
    )
    stamp = decision.undone_at if withdrawn and decision.undone_at else decision.decided_at
    kind = "reverse" if withdrawn else "apply"
    return {
        "id": str(uuid.uuid5(_NAMESPACE, f"{kind}\n{decision.decision_id}")),
        "type": ENFORCEMENT,
        "version": ENVELOPE_VERSION,
        "time": iso(stamp),
        "correlation_id": decision.decision_id,
        "data": {
            "conversation_id": decision.pk,
            "verdict_key": {"pk": decision.verdict_key.pk, "sk": decision.verdict_key.sk},
            "decision_id": decision.decision_id,
            "role": decision.role,
            "label": decision.label,
            "reason": found.code,
            "action": found.action,
            "step": kind,
        },
    }


def enforce(decision: Decision, events: EventSink | None, *, withdrawn: bool = False) -> bool:
    """Publish the enforcement of a first or senior decision (a second review only
    measures agreement: it enforces nothing). True if an event went out."""
    if events is None or decision.role == "second":
        return False
    events.publish([enforcement_envelope(decision, withdrawn=withdrawn)])
    return True
