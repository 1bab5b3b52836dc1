"""Several queues, and how long their oldest item has waited.

The queues are views of one store: everything, each status, and the flags of each
taxonomy category (a team can staff a category). Each shows its backlog and the age of
its oldest item against a stated bound (PARLEY_REVIEW_MAX_AGE_MINUTES); on AWS a
scheduled run of the review function puts the ages in CloudWatch (EMF), where an alarm
fires when the oldest item of any queue is older than the bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pipeline.verdict import Category

from .queue import QueueFilter

METRICS_NAMESPACE = "parley"


@dataclass(frozen=True)
class NamedQueue:
    name: str
    title: str
    filters: QueueFilter


def named_queues() -> list[NamedQueue]:
    queues = [
        NamedQueue("all", "Everything", QueueFilter()),
        NamedQueue("flagged", "All flags", QueueFilter(status="flagged")),
        NamedQueue("undetermined", "Undetermined", QueueFilter(status="undetermined")),
        NamedQueue("cleared", "Cleared sample", QueueFilter(status="cleared")),
    ]
    queues += [
        NamedQueue(c.value, f"Flags: {c.value.replace('_', ' ')}", QueueFilter("flagged", c.value))
        for c in Category
    ]
    return queues


class Backlogs(Protocol):
    def backlog(self, filters: QueueFilter) -> tuple[int, datetime | None]: ...


def queue_ages(store: Backlogs, now: datetime, bound_minutes: int) -> list[dict[str, Any]]:
    """Per queue: waiting items, the oldest one's age in seconds, and whether it is over
    the bound."""
    rows = []
    for queue in named_queues():
        count, oldest = store.backlog(queue.filters)
        age = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
        rows.append(
            {
                "name": queue.name,
                "title": queue.title,
                "query": {k: v for k, v in vars(queue.filters).items() if v},
                "waiting": count,
                "oldest_age_s": round(age),
                "over_bound": age > bound_minutes * 60,
            }
        )
    return rows


def publish_ages(rows: list[dict[str, Any]], service: str = "parley-review") -> None:
    """The ages as CloudWatch metrics (EMF): one per queue, and the largest of them, on
    which the template's alarm watches the bound."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    metrics = Metrics(namespace=METRICS_NAMESPACE, service=service)
    oldest = max((r["oldest_age_s"] for r in rows), default=0)
    # In minutes: the alarm's threshold is the template parameter as it stands.
    metrics.add_metric(
        name="OldestQueueItemAgeMinutes", unit=MetricUnit.NoUnit, value=round(oldest / 60, 2)
    )
    metrics.flush_metrics()
    for row in rows:
        single = Metrics(namespace=METRICS_NAMESPACE, service=service)
        single.add_dimension(name="queue", value=row["name"])
        single.add_metric(
            name="QueueItemAgeSeconds", unit=MetricUnit.Seconds, value=row["oldest_age_s"]
        )
        single.flush_metrics()
