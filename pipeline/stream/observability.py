"""The stream job's logs and metrics: one logger and one metrics object per container."""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ..redact import install_redaction

if TYPE_CHECKING:
    from .report import BatchReport

# Logs go to stderr (CloudWatch in Lambda, the terminal's side channel in the CLI).
logger = Logger(service=os.getenv("POWERTOOLS_SERVICE_NAME", "parley"), stream=sys.stderr)
install_redaction(logger)  # belt and braces: these logs carry ids and counts only
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", "parley"))
# Powertools keeps metrics in class-level state: concurrent invocations add and flush in turn.
_METRICS_LOCK = threading.Lock()


def emit(report: BatchReport, sink: Metrics | None) -> None:
    """Log the batch's counts and, with a metrics object, flush them as metrics."""
    counts = report.counts()
    logger.info(
        "batch done",
        extra={
            "source": report.source,
            "conversations": len(report.plan.jobs),
            "skipped": {str(k): v for k, v in report.skipped.items()},
            **counts,
        },
    )
    if sink is None:
        return
    with _METRICS_LOCK:
        for name, value in counts.items():
            sink.add_metric(name=name, unit=MetricUnit.Count, value=value)
        sink.flush_metrics()
