"""The review service built from settings: parley's own settings for the verdicts,
history, bus and AWS endpoint, plus the few review settings (`PARLEY_REVIEW_*`)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.errors import ConfigError
from pipeline.history import open_history
from pipeline.settings import Settings

from .decisions import DynamoDecisions, SqliteDecisions
from .events import DecisionMetrics
from .service import ReviewService

if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_SQLITE = "parley.db"  # the stream job's default verdicts file


class ReviewSettings(BaseSettings):
    """Settings of the review app only; everything else comes from `pipeline.settings`."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_REVIEW_", extra="ignore")

    decisions: str | None = Field(
        None,
        description="decisions store: sqlite:<path> or dynamodb:<table>; default: the "
        "verdicts' SQLite file",
    )
    sample_rate: float = Field(
        0.05, ge=0.0, le=1.0, description="share of cleared verdicts put in the queue"
    )
    secret: str | None = Field(
        None, description="signs CSRF tokens and keys the cleared sample; random if unset"
    )
    secret_id: str | None = Field(
        None,
        description="Secrets Manager secret (ARN or name) read at start into `secret`: the "
        "deployed app's way, so the value is in no environment variable",
    )
    lease_seconds: int = Field(300, ge=10, le=3600, description="how long an opened item is held")


@lru_cache(maxsize=1)
def get_review_settings() -> ReviewSettings:
    return ReviewSettings()


def resolve_secret(
    review: ReviewSettings, settings: Settings, client: Any = None
) -> ReviewSettings:
    """`review` with `secret` read from Secrets Manager when `secret_id` names one.

    Called at start and again after each SnapStart restore: a rotated value is picked up
    by new containers, and the value is never an environment variable.
    """
    if not review.secret_id:
        return review
    if client is None:
        from pipeline import aws

        client = aws.client(
            "secretsmanager", region_name=settings.region, endpoint_url=settings.aws_endpoint_url
        )
    value = client.get_secret_value(SecretId=review.secret_id).get("SecretString")
    if not value:
        raise ConfigError(f"secret {review.secret_id} has no SecretString")
    return review.model_copy(update={"secret": value})


def sample_secret(secret: str | None) -> bytes:
    # Without a configured secret the sample is still stable: keyed by a fixed label.
    return hashlib.sha256(f"parley-review-sample\n{secret or ''}".encode()).digest()


def verdicts_location(settings: Settings) -> str:
    if settings.verdicts_table:
        return f"dynamodb:{settings.verdicts_table}"
    return f"sqlite:{settings.verdicts_sqlite or DEFAULT_SQLITE}"


def prompt_windows(settings: Settings) -> Callable[[str], int | None]:
    """Window size per prompt ref, from the prompt store (None if the prompt is unknown)."""
    from pipeline.prompts import open_prompt_store

    store = open_prompt_store(settings.prompts)
    cache: dict[str, int | None] = {}

    def size(ref: str) -> int | None:
        if ref not in cache:
            try:
                cache[ref] = store.get(ref).meta.history.messages
            except Exception:  # an old or removed prompt: the default window
                cache[ref] = None
        return cache[ref]

    return size


def build_service(
    settings: Settings,
    review: ReviewSettings,
    *,
    metrics: bool = False,
    client_factory: Callable[[str], Any] | None = None,
    require_verdicts_file: bool = False,
) -> ReviewService:
    """Stores for the configured locations: SQLite locally, DynamoDB in AWS.

    `require_verdicts_file` (the CLI): a SQLite verdicts path with no file is refused.
    """

    def client(service: str) -> Any:
        if client_factory is not None:
            return client_factory(service)
        from pipeline import aws  # the shared session: a SnapStart restore closes these

        return aws.client(
            service, region_name=settings.region, endpoint_url=settings.aws_endpoint_url
        )

    secret = sample_secret(review.secret)
    verdicts = verdicts_location(settings)
    decisions_at = review.decisions or verdicts
    kind, _, where = verdicts.partition(":")
    dkind, _, dwhere = decisions_at.partition(":")
    queue: Any
    if kind == "sqlite":
        from .queue import SqliteQueue

        if dkind != "sqlite" or not dwhere:
            raise ConfigError(
                f"decisions store {decisions_at!r}: SQLite verdicts need sqlite:<path> decisions"
            )
        if require_verdicts_file and where != ":memory:" and not Path(where).is_file():
            # Opening it would create an empty store: a mistyped path would look like
            # an empty queue and export nothing, without a word.
            raise ConfigError(
                f"no verdicts database at {where}: judge conversations first"
                " (parley stream replay …) or point --verdicts at the stream job's file"
            )
        decisions: Any = SqliteDecisions(dwhere, lease_seconds=review.lease_seconds)
        queue = SqliteQueue(where, dwhere, sample_rate=review.sample_rate, secret=secret)
    else:
        from .dynamo_queue import DynamoQueue

        if dkind != "dynamodb" or not dwhere:
            raise ConfigError(
                f"decisions store {decisions_at!r}: DynamoDB verdicts need a decisions table,"
                " PARLEY_REVIEW_DECISIONS=dynamodb:<table>"
            )
        dynamodb = client("dynamodb")
        decisions = DynamoDecisions(dwhere, client=dynamodb, lease_seconds=review.lease_seconds)
        queue = DynamoQueue(
            where, dwhere, client=dynamodb, sample_rate=review.sample_rate, secret=secret
        )
    history_client = client("dynamodb") if settings.history.startswith("dynamodb:") else None
    events = None
    if settings.event_bus:
        from pipeline.sinks import EventBridgeSink

        events = EventBridgeSink(settings.event_bus, client=client("events"))
    return ReviewService(
        queue=queue,
        decisions=decisions,
        history=open_history(settings.history, dynamodb_client=history_client),
        events=events,
        metrics=DecisionMetrics() if metrics else None,
        window_of=prompt_windows(settings),
    )
