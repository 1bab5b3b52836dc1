"""How a reviewer signs in, and CSRF tokens bound to the signed-in identity.

Two ways in, one session after (sessions.py):
- locally (`parley review serve`): one reviewer name and a random token printed at
  start; `/login?token=…` exchanges the token, once, for a session cookie;
- deployed: the OIDC authorisation-code flow with PKCE against the Cognito user pool's
  hosted domain (oidc.py).

CSRF: an HMAC-signed, timed token of the reviewer's identity (itsdangerous), required in
every form (`csrf_token`) or, from the page's script, in the `X-CSRF-Token` header.
"""

from __future__ import annotations

import hmac
import threading
from typing import TYPE_CHECKING, Protocol

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.middleware import Middleware
    from starlette.requests import Request

    from .sessions import Sessions

    ErrorPage = Callable[[Request, int, str], Response]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
CSRF_MAX_AGE_S = 12 * 3600


class SignIn(Protocol):
    """A way to prove who the reviewer is; it ends by calling `sessions.sign_in`."""

    hint: str  # what the 401 page tells a signed-out visitor
    sign_in_path: str | None  # a link that starts signing in, if there is one

    def routes(self, sessions: Sessions, error: ErrorPage) -> list[Route]: ...

    def middleware(self) -> list[Middleware]:
        """What the sign-in needs around the app (the OIDC flow's state cookie)."""
        ...

    def after_sign_out(self, request: Request) -> str:
        """Where the browser goes once the app's session is gone."""
        ...


class LocalSignIn:
    """One reviewer on loopback, proven once by a random token from the terminal."""

    hint = "Use the sign-in link printed by `parley review serve` (it works once)."
    sign_in_path: str | None = None

    def __init__(self, reviewer: str, token: str) -> None:
        self.reviewer = reviewer
        self._token: str | None = token
        self._lock = threading.Lock()

    def exchange(self, candidate: str | None) -> str | None:
        """The reviewer for the right token, the first time only (a link in a history
        file or a screenshot is then useless)."""
        with self._lock:
            if not candidate or self._token is None:
                return None
            if not hmac.compare_digest(candidate.encode(), self._token.encode()):
                return None
            self._token = None
            return self.reviewer

    def routes(self, sessions: Sessions, error: ErrorPage) -> list[Route]:
        async def login(request: Request) -> Response:
            identity = self.exchange(request.query_params.get("token"))
            if identity is None:
                return error(request, 401, self.hint)
            response = RedirectResponse("/", status_code=303)
            sessions.sign_in(response, identity)
            return response

        return [Route("/login", login)]

    def middleware(self) -> list[Middleware]:
        return []

    def after_sign_out(self, request: Request) -> str:
        return "/signed-out"


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
