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
from .gold import load_gold
from .service import ReviewService
from .team import TeamConfig

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
    lease_seconds: int = Field(
        300, ge=10, le=3600, description="how long an item being decided is held (renewed)"
    )
    session_hours: int = Field(8, ge=1, le=24, description="a sign-in lasts this long")
    double_rate: float = Field(
        0.1, ge=0.0, le=1.0, description="share of decided items reviewed again, blind"
    )
    seniors: str = Field("", description="comma-separated reviewers who decide disagreements")
    gold: str | None = Field(None, description="JSONL of {conversation_id, label}: gold items")
    blur_categories: str = Field(
        "other", description="comma-separated categories whose texts are blurred until revealed"
    )
    break_minutes: int = Field(50, ge=1, le=600, description="a break reminder after this long")
    max_age_minutes: int = Field(
        240, ge=1, description="bound on the age of a queue's oldest item (alarm)"
    )
    oidc_issuer: str | None = Field(
        None, description="OIDC issuer (Cognito: https://cognito-idp.<region>.amazonaws.com/<pool>)"
    )
    oidc_client_id: str | None = Field(None, description="the user pool's app client id")
    oidc_redirect_uri: str | None = Field(
        None, description="https://<review app>/auth/callback, as registered with the client"
    )
    oidc_logout_url: str | None = Field(
        None, description="Cognito: https://<domain>.auth.<region>.amazoncognito.com/logout"
    )


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
        queue = DynamoQueue(
            where, dwhere, client=dynamodb, sample_rate=review.sample_rate, secret=secret
        )
        # A decision takes its verdict out of the queue's index in the same transaction.
        decisions = DynamoDecisions(
            dwhere,
            client=dynamodb,
            lease_seconds=review.lease_seconds,
            on_decided=queue.on_decided,
        )
    history_client = client("dynamodb") if settings.history.startswith("dynamodb:") else None
    events = None
    if settings.event_bus:
        from pipeline.sinks import EventBridgeSink

        events = EventBridgeSink(settings.event_bus, client=client("events"))
    from pipeline.risk import open_risk_store

    # Reviewers' decisions are what lower a conversation's flag (pipeline.risk).
    risk = open_risk_store(
        table=settings.risk_table,
        sqlite=where if kind == "sqlite" else None,
        client=client("dynamodb") if settings.risk_table else None,
    )
    team = TeamConfig(
        secret=secret,
        double_rate=review.double_rate,
        seniors=frozenset(n.strip() for n in review.seniors.split(",") if n.strip()),
        gold=load_gold(review.gold),
        blur_categories=frozenset(
            c.strip() for c in review.blur_categories.split(",") if c.strip()
        ),
        break_minutes=review.break_minutes,
        max_age_minutes=review.max_age_minutes,
    )
    return ReviewService(
        team=team,
        queue=queue,
        decisions=decisions,
        history=open_history(settings.history, dynamodb_client=history_client),
        events=events,
        metrics=DecisionMetrics() if metrics else None,
        window_of=prompt_windows(settings),
        risk=risk,
    )
