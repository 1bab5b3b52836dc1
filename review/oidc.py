"""Signing reviewers in through OpenID Connect: the authorisation-code flow with PKCE.

Deployed, the identity provider is the Cognito user pool made for reviewers (its hosted
domain serves the sign-in and MFA pages; the pool requires MFA). Authlib does the
protocol: discovery, the authorisation redirect with `state`, `nonce` and an S256 code
challenge, the code exchange with the verifier, and the ID token's RS256 signature,
issuer, audience, expiry and nonce checks against the provider's JWKS. The flow's own
state lives in a short-lived signed cookie (Starlette's SessionMiddleware); once the ID
token is verified, the app opens its own session (sessions.py) and forgets the tokens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from starlette.requests import Request

    from .auth import ErrorPage
    from .sessions import Sessions

logger = logging.getLogger("parley.review")

FLOW_COOKIE = "parley_oidc"
FLOW_MAX_AGE_S = 600  # a sign-in (with MFA) takes minutes, not hours
# Claims tried in order for the reviewer's name: a person's address first, then ids.
IDENTITY_CLAIMS = ("email", "cognito:username", "username", "sub")


@dataclass(frozen=True)
class OidcConfig:
    issuer: str  # e.g. https://cognito-idp.<region>.amazonaws.com/<user pool id>
    client_id: str
    redirect_uri: str  # https://<review app>/auth/callback, registered with the client
    logout_url: str | None = None  # Cognito: https://<domain>/logout (not in discovery)
    client_secret: str | None = None  # a public client with PKCE needs none
    scope: str = "openid email"

    @property
    def signed_out_uri(self) -> str:
        parts = urlsplit(self.redirect_uri)
        return f"{parts.scheme}://{parts.netloc}/signed-out"


def identity_of(claims: dict[str, Any]) -> str | None:
    for name in IDENTITY_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:128]
    return None


class OidcSignIn:
    """`/auth/login` starts the flow, `/auth/callback` finishes it and opens a session."""

    hint = "Sign in with your reviewer account."
    sign_in_path: str | None = "/auth/login"

    def __init__(self, config: OidcConfig, *, secret: str | bytes, secure: bool = True) -> None:
        from authlib.integrations.starlette_client import OAuth

        self.config = config
        self.secret = secret
        self.secure = secure
        oauth = OAuth()
        oauth.register(
            name="reviewers",
            client_id=config.client_id,
            client_secret=config.client_secret,
            server_metadata_url=f"{config.issuer.rstrip('/')}/.well-known/openid-configuration",
            client_kwargs={
                "scope": config.scope,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": (
                    "client_secret_basic" if config.client_secret else "none"
                ),
                "timeout": 10,
            },
        )
        self.client: Any = oauth.reviewers

    def middleware(self) -> list[Middleware]:
        secret = self.secret.decode() if isinstance(self.secret, bytes) else self.secret
        return [
            Middleware(
                SessionMiddleware,
                secret_key=f"oidc-flow\n{secret}",
                session_cookie=FLOW_COOKIE,
                max_age=FLOW_MAX_AGE_S,
                same_site="lax",  # it must come back with the provider's redirect
                https_only=self.secure,
            )
        ]

    def routes(self, sessions: Sessions, error: ErrorPage) -> list[Route]:
        from authlib.integrations.base_client import OAuthError
        from joserfc.errors import JoseError

        async def login(request: Request) -> Response:
            try:
                redirect: Response = await self.client.authorize_redirect(
                    request, self.config.redirect_uri
                )
                return redirect
            except Exception as exc:  # the provider is down or misconfigured
                logger.warning("sign-in could not start", extra={"error": type(exc).__name__})
                return error(request, 503, "The sign-in service cannot be reached; try again.")

        async def callback(request: Request) -> Response:
            try:
                token = await self.client.authorize_access_token(request)
            except (OAuthError, JoseError) as exc:  # bad state, a refused code, a bad ID token
                logger.info("sign-in refused", extra={"error": type(exc).__name__})
                request.session.clear()
                return error(request, 401, "Sign-in failed or expired; start again.")
            except Exception as exc:  # the provider failed mid-flow
                logger.warning("sign-in failed", extra={"error": type(exc).__name__})
                request.session.clear()
                return error(request, 503, "The sign-in service failed; try again.")
            request.session.clear()
            claims = token.get("userinfo") or {}
            identity = identity_of(dict(claims))
            if identity is None:
                return error(request, 401, "The ID token names nobody.")
            response = RedirectResponse("/", status_code=303)
            sessions.sign_in(response, identity)
            logger.info("reviewer signed in", extra={"identity_chars": len(identity)})
            return response

        return [Route("/auth/login", login), Route("/auth/callback", callback)]

    def after_sign_out(self, request: Request) -> str:
        if not self.config.logout_url:
            return "/signed-out"
        query = urlencode(
            {"client_id": self.config.client_id, "logout_uri": self.config.signed_out_uri}
        )
        return f"{self.config.logout_url}?{query}"
