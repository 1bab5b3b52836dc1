"""The review app on Lambda, behind an API Gateway HTTP API with a JWT authorizer.

The gateway has verified the reviewer's token before the function runs; the app reads
the identity from the authorizer's claims. Built once per container (the init phase,
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
from .auth import JwtClaimsAuth
from .wiring import build_service, get_review_settings, resolve_secret


def _build() -> Mangum:
    settings = get_settings()
    review = resolve_secret(get_review_settings(), settings)
    if not review.secret:
        # Tokens signed with a per-container secret would fail on the next container.
        raise ConfigError("PARLEY_REVIEW_SECRET_ID (or PARLEY_REVIEW_SECRET) is required on Lambda")
    app = create_app(
        build_service(settings, review, metrics=True), JwtClaimsAuth(), secret=review.secret
    )
    return Mangum(app, lifespan="off")


_mangum = _build()


def rebuild() -> None:
    """After a SnapStart restore: the secret read again, the stores and bus on new clients."""
    global _mangum
    _mangum = _build()


snapstart.register(lambda: _mangum, rebuild)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _mangum(event, context)
