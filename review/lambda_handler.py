"""The review app on Lambda, behind an API Gateway HTTP API with a JWT authorizer.

The gateway has verified the reviewer's token before the function runs; the app reads
the identity from the authorizer's claims. Built once per container (the init phase).
"""

from __future__ import annotations

from typing import Any

from mangum import Mangum

from pipeline.errors import ConfigError
from pipeline.settings import get_settings

from .app import create_app
from .auth import JwtClaimsAuth
from .wiring import build_service, get_review_settings

_review = get_review_settings()
if not _review.secret:
    # Tokens signed with a per-container secret would fail on the next container.
    raise ConfigError("PARLEY_REVIEW_SECRET is required on Lambda")
_app = create_app(
    build_service(get_settings(), _review, metrics=True), JwtClaimsAuth(), secret=_review.secret
)
_mangum = Mangum(_app, lifespan="off")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _mangum(event, context)
