"""The stream moderation job: DynamoDB Streams batches and EventBridge Pipe arrays.

`pipeline.stream.lambda_handler` is the deployed Lambda handler. One concept per module:

- `handler`: `StreamHandler`, one invocation parsed, planned and judged concurrently;
- `job`: one conversation, judged at its newest message or at checkpoints;
- `judge`: one window judged once (bounded, paced retries) and its verdict delivered;
- `report`: each conversation's outcome and the batch report (response, metrics, CLI);
- `partial`: `batchItemFailures` for DynamoDB Streams, through Powertools;
- `observability`: the job's logger and metrics;
- `budget`: the time left in an invocation;
- `build`: construction from injected parts or from the settings, built lazily.

Import cost is kept low: no LangChain, no boto3 client at import.
"""

from __future__ import annotations

from .. import snapstart
from .budget import DEFAULT_BUDGET_MS
from .build import (
    AwsClients,
    LazyHandler,
    _model_options,
    bedrock_retries,
    build_handler,
    build_handler_from_settings,
    handler_from_settings,
)
from .handler import StreamHandler
from .job import ConversationRunner, NotFinished
from .judge import RETRY_ATTEMPTS, Delivered, WindowJudge
from .observability import logger, metrics
from .partial import ConversationFailed
from .report import BatchReport, JobOutcome, Status

__all__ = [
    "DEFAULT_BUDGET_MS",
    "RETRY_ATTEMPTS",
    "AwsClients",
    "BatchReport",
    "ConversationFailed",
    "ConversationRunner",
    "Delivered",
    "JobOutcome",
    "LazyHandler",
    "NotFinished",
    "Status",
    "StreamHandler",
    "WindowJudge",
    "_model_options",
    "bedrock_retries",
    "build_handler",
    "build_handler_from_settings",
    "handler_from_settings",
    "lambda_handler",
    "logger",
    "metrics",
]

lambda_handler = build_handler_from_settings()
# SnapStart: build before the snapshot, new clients after a restore (pipeline/snapstart.py).
snapstart.register(lambda_handler.prime, lambda_handler.rebuild)
