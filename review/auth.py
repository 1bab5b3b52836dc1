"""Who the reviewer is, and CSRF tokens bound to that identity.

Locally (`parley review serve`): one reviewer name and a random token printed at start;
`/login?token=…` turns the token into an HttpOnly, SameSite=Strict cookie. In AWS: the
API Gateway HTTP API's JWT authorizer (a Cognito user pool) has already checked the
token; the identity is a claim of it, read from the event Mangum passes on.

CSRF: an HMAC-signed, timed token of the reviewer's identity (itsdangerous), required in
every form (`csrf_token`) or, from the page's script, in the `X-CSRF-Token` header.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any, Protocol

from itsdangerous import BadSignature, URLSafeTimedSerializer

if TYPE_CHECKING:
    from starlette.requests import Request

COOKIE = "parley_review"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_MAX_AGE_S = 12 * 3600
# Claims tried in order for the reviewer's name: a person's address first, then ids.
IDENTITY_CLAIMS = ("email", "cognito:username", "username", "sub")


class Authenticator(Protocol):
    def identify(self, request: Request) -> str | None:
        """The reviewer's identity, or None (the app answers 401)."""
        ...


class LocalTokenAuth:
    """One reviewer on loopback, proven by a random token (cookie or bearer header)."""

    def __init__(self, reviewer: str, token: str) -> None:
        self.reviewer = reviewer
        self.token = token

    def valid(self, candidate: str | None) -> bool:
        if not candidate:
            return False
        return hmac.compare_digest(candidate.encode(), self.token.encode())

    def identify(self, request: Request) -> str | None:
        bearer = request.headers.get("authorization", "")
        candidate = request.cookies.get(COOKIE) or (
            bearer[7:] if bearer.lower().startswith("bearer ") else None
        )
        return self.reviewer if self.valid(candidate) else None


class JwtClaimsAuth:
    """Identity from the HTTP API JWT authorizer's claims (the gateway verified the token)."""

    def identify(self, request: Request) -> str | None:
        event: Any = request.scope.get("aws.event") or {}
        claims = event.get("requestContext", {}).get("authorizer", {}).get("jwt", {}).get("claims")
        if not isinstance(claims, dict):
            return None
        for name in IDENTITY_CLAIMS:
            value = claims.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()[:128]
        return None


class CsrfTokens:
    def __init__(self, secret: str | bytes) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="parley-review-csrf")

    def issue(self, identity: str) -> str:
        return self._serializer.dumps(identity)

    def valid(self, token: str | None, identity: str) -> bool:
        if not token or len(token) > 1024:
            return False
        try:
            value = self._serializer.loads(token, max_age=CSRF_MAX_AGE_S)
        except BadSignature:  # SignatureExpired is a BadSignature too
            return False
        return isinstance(value, str) and hmac.compare_digest(value, identity)
