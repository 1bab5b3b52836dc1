"""The app's own sign-in session: a signed, expiring cookie, and sign-out that sticks.

Whatever proved who the reviewer is (the one-time local link, or the OIDC flow against
the Cognito user pool), the app then issues its own session: an itsdangerous-signed
value holding the identity and a random session id, refused after `max_age_s`. The
cookie is HttpOnly, SameSite=Lax (so that it comes back with the identity provider's
redirect) and Secure whenever the app is served over HTTPS. Signing out records the
session id as revoked until it would have expired anyway: a copied cookie is dead too.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from itsdangerous import BadSignature, URLSafeTimedSerializer

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

COOKIE = "parley_session"
DEFAULT_MAX_AGE_S = 8 * 3600  # a working day; then sign in again


class Revocations(Protocol):
    def revoke(self, sid: str, until_epoch: int) -> None: ...

    def revoked(self, sid: str) -> bool: ...


class MemoryRevocations:
    """Revoked sessions of one process (`parley review serve`)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def revoke(self, sid: str, until_epoch: int) -> None:
        with self._lock:
            now = time.time()
            self._until = {k: v for k, v in self._until.items() if v > now}  # stay small
            self._until[sid] = until_epoch

    def revoked(self, sid: str) -> bool:
        with self._lock:
            return self._until.get(sid, 0) > time.time()


class DynamoRevocations:
    """Revoked sessions in the decisions table (`pk` "session", `sk` "revoked#<id>"),
    deleted by the table's TTL once the session would have expired: every Lambda
    container sees a sign-out."""

    def __init__(self, table: str, *, client: Any) -> None:
        self.table = table
        self.client = client

    def revoke(self, sid: str, until_epoch: int) -> None:
        self.client.put_item(
            TableName=self.table,
            Item={
                "pk": {"S": "session"},
                "sk": {"S": f"revoked#{sid}"},
                "ttl": {"N": str(until_epoch)},
            },
        )

    def revoked(self, sid: str) -> bool:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": "session"}, "sk": {"S": f"revoked#{sid}"}},
            ConsistentRead=True,
        ).get("Item")
        return item is not None


class Sessions:
    """Issue, read and revoke the session cookie."""

    def __init__(
        self,
        secret: str | bytes,
        *,
        max_age_s: int = DEFAULT_MAX_AGE_S,
        revocations: Revocations | None = None,
        secure: bool = True,
    ) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="parley-review-session")
        self.max_age_s = max_age_s
        self.revocations = revocations or MemoryRevocations()
        self.secure = secure

    def issue(self, identity: str) -> str:
        return self._serializer.dumps({"who": identity, "sid": secrets.token_urlsafe(16)})

    def _read(self, value: str | None) -> dict[str, str] | None:
        if not value or len(value) > 2048:
            return None
        try:
            data = self._serializer.loads(value, max_age=self.max_age_s)
        except BadSignature:  # expired ones too
            return None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) for k in ("who", "sid")
        ):
            return None
        return data

    def identity(self, request: Request) -> str | None:
        """The signed-in reviewer, or None (no cookie, bad, expired or signed out)."""
        data = self._read(request.cookies.get(COOKIE))
        if data is None or self.revocations.revoked(data["sid"]):
            return None
        return data["who"]

    def sign_in(self, response: Response, identity: str) -> None:
        response.set_cookie(
            COOKIE,
            self.issue(identity),
            max_age=self.max_age_s,
            httponly=True,
            secure=self.secure,
            samesite="lax",
            path="/",
        )

    def sign_out(self, request: Request, response: Response) -> None:
        data = self._read(request.cookies.get(COOKIE))
        if data is not None:
            self.revocations.revoke(data["sid"], int(time.time()) + self.max_age_s)
        response.delete_cookie(COOKIE, path="/", secure=self.secure, httponly=True)
