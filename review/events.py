"""What a decision tells the rest of the system: a bus event when a flag is overturned,
and a CloudWatch metric (EMF) of decisions and overturns, from which the template's
alarm computes the overturn rate.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from pipeline.conversation import iso
from pipeline.sinks import ENVELOPE_VERSION

if TYPE_CHECKING:
    from pipeline.sinks import EventSink

    from .decisions import Decision

OVERTURNED = "parley.review.flag_overturned"
OVERTURN_WITHDRAWN = "parley.review.flag_overturn_withdrawn"
METRICS_NAMESPACE = "parley"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/parley/review-events")


def overturn_envelope(decision: Decision, *, withdrawn: bool = False) -> dict[str, Any]:
    """The event envelope (same shape as verdict events); ids only, no text, no reviewer."""
    kind = OVERTURN_WITHDRAWN if withdrawn else OVERTURNED
    stamp = decision.undone_at if withdrawn and decision.undone_at else decision.decided_at
    return {
        "id": str(uuid.uuid5(_NAMESPACE, f"{kind}\n{decision.decision_id}")),
        "type": kind,
        "version": ENVELOPE_VERSION,
        "time": iso(stamp),
        "correlation_id": decision.decision_id,
        "data": {
            "conversation_id": decision.pk,
            "verdict_key": {"pk": decision.pk, "sk": decision.sk},
            "prompt": decision.prompt,
            "model_id": decision.model_id,
            "label": decision.label,
            "decision_id": decision.decision_id,
            "decided_at": iso(decision.decided_at),
        },
    }


def announce(decision: Decision, events: EventSink | None, *, withdrawn: bool = False) -> bool:
    """Publish the overturn (or its withdrawal); True if an event went out."""
    if events is None or not decision.overturns_flag:
        return False
    events.publish([overturn_envelope(decision, withdrawn=withdrawn)])
    return True


class DecisionMetrics:
    """Counts per decision in CloudWatch EMF, through Powertools Metrics.

    `FlagsReviewed` and `FlagsOverturned` (dimension: service): the alarm divides one by
    the other.
    """

    def __init__(self, service: str = "parley-review") -> None:
        from aws_lambda_powertools import Metrics

        self._metrics = Metrics(namespace=METRICS_NAMESPACE, service=service)

    def record(self, decision: Decision) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self._metrics.add_metric(name="ReviewDecisions", unit=MetricUnit.Count, value=1)
        if decision.verdict_kind == "flagged" and decision.label != "cannot_tell":
            self._metrics.add_metric(name="FlagsReviewed", unit=MetricUnit.Count, value=1)
            overturned = 1 if decision.overturns_flag else 0
            self._metrics.add_metric(
                name="FlagsOverturned", unit=MetricUnit.Count, value=overturned
            )
        self._metrics.flush_metrics()
