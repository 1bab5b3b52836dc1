"""The review app on Lambda, behind an API Gateway HTTP API.

The app signs reviewers in itself: the OIDC authorisation-code flow with PKCE against
the reviewers' Cognito user pool (oidc.py), then its own session cookie (HttpOnly,
Secure, SameSite=Lax), revocable across containers through the decisions table.
Built once per container (the init phase,
which SnapStart snapshots); after a restore the app is built again on new clients
(`pipeline/snapstart.py`). The CSRF secret is read from Secrets Manager
(`PARLEY_REVIEW_SECRET_ID`) at start and again after each restore, never from the
snapshot's random state and never through a plaintext environment variable.
"""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from pipeline import snapstart
from pipeline.errors import ConfigError
from pipeline.settings import get_settings

from .app import create_app
from .decisions import DynamoDecisions
from .oidc import OidcConfig, OidcSignIn
from .queues import publish_ages
from .service import ReviewService
from .sessions import DynamoRevocations, Sessions
from .wiring import build_service, get_review_settings, resolve_secret


def _build() -> tuple[Mangum, ReviewService]:
    settings = get_settings()
    review = resolve_secret(get_review_settings(), settings)
    if not review.secret:
        # Tokens signed with a per-container secret would fail on the next container.
        raise ConfigError("PARLEY_REVIEW_SECRET_ID (or PARLEY_REVIEW_SECRET) is required on Lambda")
    if not (review.oidc_issuer and review.oidc_client_id and review.oidc_redirect_uri):
        raise ConfigError(
            "PARLEY_REVIEW_OIDC_ISSUER, PARLEY_REVIEW_OIDC_CLIENT_ID and"
            " PARLEY_REVIEW_OIDC_REDIRECT_URI are required on Lambda"
        )
    service = build_service(settings, review, metrics=True)
    config = OidcConfig(
        issuer=review.oidc_issuer,
        client_id=review.oidc_client_id,
        redirect_uri=review.oidc_redirect_uri,
        logout_url=review.oidc_logout_url,
    )
    decisions = service.decisions
    revocations = (
        DynamoRevocations(decisions.table, client=decisions.client)
        if isinstance(decisions, DynamoDecisions)
        else None  # SQLite decisions (a test deployment): revoked per container
    )
    sessions = Sessions(
        review.secret, max_age_s=review.session_hours * 3600, revocations=revocations
    )
    app = create_app(
        service,
        OidcSignIn(config, secret=review.secret),
        secret=review.secret,
        sessions=sessions,
    )
    return Mangum(app, lifespan="off"), service


_mangum, _service = _build()


def rebuild() -> None:
    """After a SnapStart restore: the secret read again, the stores and bus on new clients."""
    global _mangum, _service
    _mangum, _service = _build()


snapstart.register(lambda: _mangum, rebuild)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if event.get("source") == "aws.events":  # the schedule: queue ages for the alarm
        rows = _service.queue_ages()
        publish_ages(rows)
        return {"queues": len(rows), "over_bound": sum(r["over_bound"] for r in rows)}
    return _mangum(event, context)
