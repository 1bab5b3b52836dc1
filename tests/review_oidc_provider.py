"""A local OpenID Connect provider stand-in for the review app's sign-in tests.

Just enough of what the Cognito user pool's hosted domain does for the authorisation-
code flow with PKCE: discovery, `/authorize` (signs in a fixed user at once: no page,
no MFA), `/token` (checks the code, the redirect URI and the S256 code verifier; the
code works once) and `/jwks`. ID tokens are RS256-signed with a key made per provider.
Served by uvicorn on loopback; `seen` records what the app sent, for assertions.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route


class OidcProvider:
    def __init__(self, *, client_id: str, redirect_uris: list[str], email: str) -> None:
        self.client_id = client_id
        self.redirect_uris = redirect_uris
        self.email = email
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.signing_key = self.key  # a test may swap in another key: a forged token
        self.audience = client_id
        self.codes: dict[str, dict[str, Any]] = {}
        self.seen: list[dict[str, Any]] = []
        self.issued: list[str] = []  # ID tokens handed out
        self.issuer = ""
        self._server: Any = None

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "0f6c1a2e-user",
            "aud": self.audience,
            "iat": now,
            "exp": now + 600,
            "email": self.email,
            "cognito:username": "reviewer1",
            "token_use": "id",
        }
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.signing_key)

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse(
                {
                    "issuer": self.issuer,
                    "authorization_endpoint": f"{self.issuer}/authorize",
                    "token_endpoint": f"{self.issuer}/token",
                    "jwks_uri": f"{self.issuer}/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                    "scopes_supported": ["openid", "email"],
                }
            )

        async def authorize(request: Request) -> Response:
            q = dict(request.query_params)
            self.seen.append({"endpoint": "authorize", **q})
            if (
                q.get("response_type") != "code"
                or q.get("client_id") != self.client_id
                or q.get("redirect_uri") not in self.redirect_uris
                or q.get("code_challenge_method") != "S256"
                or not q.get("code_challenge")
            ):
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "challenge": q["code_challenge"],
                "nonce": q.get("nonce"),
                "redirect_uri": q["redirect_uri"],
            }
            back = {"code": code, "state": q.get("state", "")}
            return RedirectResponse(f"{q['redirect_uri']}?{urlencode(back)}", status_code=302)

        async def token(request: Request) -> Response:
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            self.seen.append({"endpoint": "token", **form})
            grant = self.codes.pop(str(form.get("code")), None)  # a code works once
            verifier = str(form.get("code_verifier", ""))
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if (
                grant is None
                or form.get("grant_type") != "authorization_code"
                or form.get("client_id") != self.client_id
                or form.get("redirect_uri") != grant["redirect_uri"]
                or challenge != grant["challenge"]
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            self.issued.append(self.id_token(grant["nonce"]))
            return JSONResponse(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "id_token": self.issued[-1],
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
            )

        async def jwks(request: Request) -> Response:
            return JSONResponse({"keys": [self.key.as_dict(private=False)]})

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
                Route("/jwks", jwks),
            ]
        )

    def start(self) -> str:
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app(), log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True).start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.issuer

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
