"""Demo data for the review queue: labelled marketplace conversations run through the
real stream job (history, verdicts and shadow verdicts in the local SQLite file).

The conversations come from evals/datasets/marketplace.jsonl; they become DynamoDB
stream INSERT records, one per message, as the conversations table would emit them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.conversation import iso
from pipeline.settings import REPO_ROOT

DATASET_PATH = Path("evals", "datasets", "marketplace.jsonl")
DATASET = REPO_ROOT / DATASET_PATH


def default_dataset() -> Path:
    """The checkout's dataset; an installed wheel has none and reads the working directory's."""
    return DATASET if DATASET.is_file() else Path.cwd() / DATASET_PATH


_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/marketplace-messages/stream/"
    "2024-05-01T00:00:00.000"
)


def demo_records(
    path: Path | None = None, *, limit: int = 60, start: datetime | None = None
) -> list[dict[str, Any]]:
    """Stream INSERT records for the first `limit` conversations of a dataset."""
    path = path or default_dataset()
    start = start or datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    records: list[dict[str, Any]] = []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    step = max(1, len(lines) // limit)  # spread over the file: scams and benign ones
    for n, line in enumerate(lines[::step][:limit]):
        case = json.loads(line)
        conversation_id = f"demo-{case['id']}"
        for m, message in enumerate(case["messages"]):
            stamp = iso(start + timedelta(hours=n, minutes=3 * m))
            image = {
                "Id": {"S": conversation_id},
                "timestamp": {"S": stamp},
                "message": {"S": message["text"]},
                "sender": {"S": message.get("sender") or "unknown"},
            }
            records.append(
                {
                    "eventID": f"demo-{n}-{m}",
                    "eventName": "INSERT",
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "us-east-1",
                    "dynamodb": {
                        "ApproximateCreationDateTime": int(start.timestamp()) + n * 3600 + m,
                        "Keys": {"Id": image["Id"], "timestamp": image["timestamp"]},
                        "SequenceNumber": f"{n:012d}{m:06d}",
                        "SizeBytes": 100,
                        "StreamViewType": "NEW_IMAGE",
                        "NewImage": image,
                    },
                    "eventSourceARN": _ARN,
                }
            )
    return records
