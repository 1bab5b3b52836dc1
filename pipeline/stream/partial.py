"""A DynamoDB Streams response: Powertools builds `batchItemFailures` from the outcomes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from ..errors import ParleyError
from .observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
        DynamoDBRecord,
    )

    from .report import BatchReport


class ConversationFailed(ParleyError):
    """Raised in the record handler so that Powertools reports the record as failed."""


def partial_response(event: Any, report: BatchReport, context: Any) -> dict[str, Any]:
    """Let Powertools build `batchItemFailures` from each record's looked-up outcome."""
    raw_records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(raw_records, list):
        logger.warning("event is neither a stream batch nor a pipe array")
        return {"batchItemFailures": []}
    if not raw_records:
        # Powertools raises UnexpectedBatchTypeError on an empty batch: nothing failed.
        return {"batchItemFailures": []}
    failed_items = set(report.failed_item_ids)
    errors = {item: o.error for o in report.outcomes if not o.ok for item in o.item_ids}
    failing = {
        id(raw): parsed.item_id
        for parsed, raw in zip(report.records, raw_records, strict=True)
        if parsed.item_id in failed_items
    }

    def record_handler(record: DynamoDBRecord) -> None:
        item_id = failing.get(id(record.raw_event))
        if item_id is not None:
            raise ConversationFailed(f"record {item_id}: {errors.get(item_id)}")

    # Retries are what we want when everything failed: return the list, do not raise.
    processor = BatchProcessor(
        event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False
    )
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
