"""Signing in to the deployed review app: the OIDC authorisation-code flow with PKCE
against a local provider stand-in (tests/review_oidc_provider.py) over loopback.

The app runs in-process; the provider is a real HTTP server, since Authlib fetches its
discovery document, token and keys over HTTP as it would from Cognito.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc.jwk import RSAKey
from starlette.testclient import TestClient

from review.app import create_app
from review.oidc import FLOW_COOKIE, OidcConfig, OidcSignIn
from review.sessions import COOKIE, Sessions
from tests.review_helpers import local_service, seed_marketplace
from tests.review_oidc_provider import OidcProvider

APP = "https://review.example.com"
CALLBACK = f"{APP}/auth/callback"


@pytest.fixture
def provider() -> Any:
    idp = OidcProvider(client_id="review-app", redirect_uris=[CALLBACK], email="rev@example.com")
    idp.start()
    yield idp
    idp.stop()


@pytest.fixture
def app(tmp_path: Path, provider: OidcProvider) -> Any:
    db = tmp_path / "parley.db"
    seed_marketplace(db)
    config = OidcConfig(
        issuer=provider.issuer,
        client_id="review-app",
        redirect_uri=CALLBACK,
        logout_url=f"{provider.issuer}/logout",
    )
    sessions = Sessions("secret", secure=True)
    return create_app(
        local_service(db),
        OidcSignIn(config, secret="secret"),
        secret="secret",
        sessions=sessions,
    )


def _sign_in(client: TestClient, *, tamper: Any = None) -> httpx.Response:
    """The browser's part: app → provider → app, each redirect followed by hand (the
    test client reaches only the app; the provider is a real loopback server)."""
    start = client.get("/auth/login", follow_redirects=False)
    assert start.status_code == 302, start.text
    to_provider = start.headers["location"]
    if tamper:
        to_provider = tamper(to_provider)
    back = httpx.get(to_provider, follow_redirects=False)
    assert back.status_code == 302, back.text
    callback = urlsplit(back.headers["location"])
    return client.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def test_the_code_flow_with_pkce_opens_the_apps_own_session(
    app: Any, provider: OidcProvider
) -> None:
    client = TestClient(app, base_url=APP)
    assert client.get("/").status_code == 401
    assert 'href="/auth/login"' in client.get("/").text
    done = _sign_in(client)
    assert done.status_code == 303 and done.headers["location"] == "/"
    cookies = done.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{COOKIE}="))
    low = session.lower()
    assert "httponly" in low and "secure" in low and "samesite=lax" in low
    # No token of the provider reaches the browser: the app keeps its own session only.
    assert provider.issued and all(
        part not in c for c in cookies for part in provider.issued[0].split(".")
    )
    page = client.get("/")
    assert page.status_code == 200 and "rev@example.com" in page.text
    # PKCE as specified: S256 challenge at /authorize, the matching verifier at /token.
    asked = next(s for s in provider.seen if s["endpoint"] == "authorize")
    exchanged = next(s for s in provider.seen if s["endpoint"] == "token")
    digest = hashlib.sha256(exchanged["code_verifier"].encode()).digest()
    assert asked["code_challenge"] == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert asked["code_challenge_method"] == "S256" and asked["nonce"] and asked["state"]
    assert "openid" in asked["scope"].split()
    # Sign-out: the session ends here, then at the provider (Cognito's /logout).
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    target = urlsplit(out.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{provider.issuer}/logout"
    assert parse_qs(target.query) == {
        "client_id": ["review-app"],
        "logout_uri": [f"{APP}/signed-out"],
    }
    assert client.get("/").status_code == 401


def test_a_forged_state_is_refused(app: Any) -> None:
    client = TestClient(app, base_url=APP)

    def forge(url: str) -> str:
        return url.replace("state=", "state=forged")

    assert _sign_in(client, tamper=forge).status_code == 401
    assert client.get("/").status_code == 401


def test_a_callback_without_the_flows_cookie_is_refused(app: Any) -> None:
    client = TestClient(app, base_url=APP)
    start = client.get("/auth/login", follow_redirects=False)
    back = httpx.get(start.headers["location"], follow_redirects=False)
    stranger = TestClient(app, base_url=APP)  # another browser: a login CSRF attempt
    callback = urlsplit(back.headers["location"])
    assert stranger.get(f"{callback.path}?{callback.query}").status_code == 401
    assert FLOW_COOKIE not in stranger.cookies or not stranger.cookies[FLOW_COOKIE]


def test_an_id_token_signed_by_another_key_or_for_another_client_is_refused(
    app: Any, provider: OidcProvider
) -> None:
    provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    assert _sign_in(TestClient(app, base_url=APP)).status_code == 401
    provider.signing_key = provider.key
    provider.audience = "another-client"
    assert _sign_in(TestClient(app, base_url=APP)).status_code == 401
    provider.audience = "review-app"
    assert _sign_in(TestClient(app, base_url=APP)).status_code == 303  # the control


def test_a_wrong_code_verifier_is_refused_by_the_provider(app: Any, provider: OidcProvider) -> None:
    client = TestClient(app, base_url=APP)

    def other_challenge(url: str) -> str:
        query = parse_qs(urlsplit(url).query)
        wrong = base64.urlsafe_b64encode(hashlib.sha256(b"x").digest()).decode().rstrip("=")
        return url.replace(query["code_challenge"][0], wrong)

    assert _sign_in(client, tamper=other_challenge).status_code == 401


def test_a_provider_that_is_down_is_one_clear_answer(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    seed_marketplace(db)
    sock_port = _free_port()
    config = OidcConfig(
        issuer=f"http://127.0.0.1:{sock_port}", client_id="c", redirect_uri=CALLBACK
    )
    app = create_app(local_service(db), OidcSignIn(config, secret="s"), secret="s")
    answer = TestClient(app, base_url=APP).get("/auth/login", follow_redirects=False)
    assert answer.status_code == 503 and "cannot be reached" in answer.text


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
