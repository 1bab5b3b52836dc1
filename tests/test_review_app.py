"""The review web app over HTTP (in-process ASGI): sign-in, CSRF, deciding, undo, events."""

from __future__ import annotations

import json
import logging
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from pipeline.sinks import EventBridgeSink
from review.app import create_app
from review.auth import LocalSignIn
from review.events import OVERTURN_WITHDRAWN, OVERTURNED, DecisionMetrics
from review.policy import ENFORCEMENT
from review.sessions import COOKIE, Sessions
from tests.review_helpers import T0, local_service, seed_marketplace

TOKEN = "local-token"


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    db = tmp_path / "parley.db"
    return db, seed_marketplace(db)


def _client(service: Any, reviewer: str = "alice") -> TestClient:
    client = TestClient(create_app(service, LocalSignIn(reviewer, TOKEN), secret="s3cret"))
    assert client.get(f"/login?token={TOKEN}").status_code == 200  # the session cookie
    return client


def _form(html: str) -> dict[str, str]:
    form = re.search(r'<form id="decide-form".*?</form>', html, re.S)
    assert form, "no decision form on the page"
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(0)))
    return {k: v for k, v in fields.items() if k in {"csrf_token", "pk", "sk", "pos"}}


def test_pages_need_a_signed_in_reviewer(seeded: Any) -> None:
    db, _ = seeded
    app = create_app(local_service(db), LocalSignIn("alice", TOKEN), secret="s")
    client = TestClient(app)
    assert client.get("/").status_code == 401
    assert client.get("/api/figures").status_code == 401
    assert client.get("/login?token=wrong", follow_redirects=False).status_code == 401
    login = client.get(f"/login?token={TOKEN}", follow_redirects=False)
    assert login.status_code == 303
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=28800" in cookie
    session = client.cookies.get(COOKIE)
    assert session and TOKEN not in session  # a session of its own, not the token
    assert client.get("/").status_code == 200  # the cookie now signs requests in
    # The token is exchanged once: the same link (from a history file, a screenshot) fails.
    assert TestClient(app).get(f"/login?token={TOKEN}").status_code == 401
    assert TestClient(app).get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401


def test_sessions_expire_and_sign_out_ends_them(seeded: Any) -> None:
    db, _ = seeded
    sessions = Sessions("s", max_age_s=60, secure=True)
    app = create_app(local_service(db), LocalSignIn("alice", TOKEN), secret="s", sessions=sessions)
    client = TestClient(app, base_url="https://testserver")
    login = client.get(f"/login?token={TOKEN}", follow_redirects=False)
    assert "secure" in login.headers["set-cookie"].lower()
    client.get("/")
    copied = client.cookies.get(COOKIE)
    page = client.get("/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signed-out"
    assert client.get("/").status_code == 401
    # A copy of the cookie taken before signing out is dead too.
    stale = TestClient(app, base_url="https://testserver", cookies={COOKIE: copied})
    assert stale.get("/").status_code == 401
    assert "Signed out" in TestClient(app).get("/signed-out").text
    # An expired session: signed 61 s ago.
    import time

    real = time.time
    try:
        time.time = lambda: real() - 61  # type: ignore[assignment]
        old = sessions.issue("alice")
    finally:
        time.time = real  # type: ignore[assignment]
    assert TestClient(app, cookies={COOKIE: old}).get("/").status_code == 401
    assert TestClient(app, cookies={COOKIE: sessions.issue("alice")}).get("/").status_code == 200


def test_queue_page_lists_items_with_accessible_markup(seeded: Any) -> None:
    db, _ids = seeded
    page = _client(local_service(db)).get("/?status=flagged")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text and "<caption>" in page.text
    assert "conv-flag" in page.text and "conv-und" not in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_item_shows_the_window_with_the_judged_message_marked(seeded: Any) -> None:
    db, _ids = seeded
    page = _client(local_service(db)).get("/item?pos=0")
    assert "Conversation conv-flag" in page.text
    judged = re.search(r'<li class="msg judged" aria-current="true">(.*?)</li>', page.text, re.S)
    assert judged and "5000 dollar deposit" in judged.group(1)
    assert "I am interested in your house" in page.text
    assert "suspicious-conversation@1" in page.text  # the shadow verdict on the same window
    assert "test rationale" in page.text and "0.93" in page.text


def test_every_form_post_needs_a_valid_csrf_token(seeded: Any) -> None:
    db, _ = seeded
    client = _client(local_service(db))
    fields = _form(client.get("/item?pos=0").text)
    for bad in ({}, {"csrf_token": "forged"}, {"csrf_token": fields["csrf_token"] + "x"}):
        data = {**fields, "label": "scam", **bad}
        if not bad:
            data.pop("csrf_token")
        assert client.post("/decide", data=data).status_code == 403
        assert client.post("/undo", data={**data, "decision_id": "x"}).status_code == 403
    # A token issued to another reviewer does not work for this one.
    other = create_app(local_service(db), LocalSignIn("bob", "t2"), secret="s3cret")
    bob = TestClient(other)
    bob.get("/login?token=t2")
    assert bob.post("/decide", data={**fields, "label": "scam"}).status_code == 403
    for path in ("/lease", "/release", "/logout"):
        assert bob.post(path, data={**fields}).status_code == 403
        assert client.post(path, data={"pk": fields["pk"], "sk": fields["sk"]}).status_code == 403


def test_deciding_swaps_in_the_next_item_and_undo_brings_it_back(seeded: Any) -> None:
    db, ids = seeded
    service = local_service(db)
    client = _client(service)
    fields = _form(client.get("/item?pos=0").text)
    answer = client.post(
        "/decide",
        data={**fields, "label": "scam", "categories": "phishing_link", "note": "n"},
        headers={"X-Fragment": "1"},
    )
    assert answer.status_code == 200
    assert "<html" not in answer.text  # a fragment, for the page's script to swap in
    assert "Conversation conv-und" in answer.text and 'id="undo-form"' in answer.text
    decision = service.decisions.active(ids["flag"].key)
    assert (decision.reviewer, decision.label, decision.categories) == (
        "alice",
        "scam",
        ("phishing_link",),
    )
    undo = dict(
        re.findall(
            r'name="(\w+)" value="([^"]*)"',
            re.search(r'<form id="undo-form".*?</form>', answer.text, re.S).group(0),
        )
    )
    back = client.post("/undo", data=undo, headers={"X-Fragment": "1"})
    assert "Conversation conv-flag" in back.text and 'id="decide-form"' in back.text
    assert service.decisions.active(ids["flag"].key) is None
    # Without the script, the same form redirects to the next item.
    plain = client.post("/decide", data={**_form(back.text), "label": "not_scam"})
    assert plain.history and plain.history[0].status_code == 303
    assert "Conversation conv-und" in plain.text


def test_conflicts_and_bad_input_are_one_clear_answer(seeded: Any) -> None:
    db, _ids = seeded
    client = _client(local_service(db))
    fields = _form(client.get("/item?pos=0").text)
    assert client.post("/decide", data={**fields, "label": "maybe"}).status_code == 400
    assert client.get("/item?pk=conv-flag&sk=shadow%23x").status_code == 400
    assert client.get("/item?pk=nope&sk=nothing").status_code == 409
    client.post("/decide", data={**fields, "label": "scam"})
    again = client.post("/decide", data={**fields, "label": "scam"})
    assert again.status_code == 409


def _bus_with_queue(aws_client: Any) -> tuple[str, Any, str]:
    events, sqs = aws_client("events"), aws_client("sqs")
    bus = f"verdicts-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=bus)
    url = sqs.create_queue(QueueName=bus)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="review", EventBusName=bus, EventPattern=json.dumps({"source": ["parley"]})
    )
    events.put_targets(Rule="review", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return bus, sqs, url


def test_overturning_a_flag_puts_an_event_on_the_verdicts_bus(
    seeded: Any, aws_client: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    db, ids = seeded
    bus, sqs, url = _bus_with_queue(aws_client)
    service = local_service(
        db,
        clock=lambda: T0,
        events=EventBridgeSink(bus, client=aws_client("events")),
        metrics=DecisionMetrics(),
    )
    service.open(ids["flag"].key, "alice")
    decision = service.decide(ids["flag"].key, "alice", "not_scam", [])
    service.open(ids["und"].key, "alice")
    service.decide(ids["und"].key, "alice", "scam", [])  # not a flag: no event
    service.undo(ids["flag"].key, decision.decision_id, "alice")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    every = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
    bodies = [b for b in every if b["detail-type"] != ENFORCEMENT]
    assert sorted(b["detail-type"] for b in bodies) == sorted([OVERTURNED, OVERTURN_WITHDRAWN])
    # One enforcement event per decision, and its reversal on the undo.
    enforced = sorted(
        (b["detail"]["data"]["step"], b["detail"]["data"]["action"])
        for b in every
        if b["detail-type"] == ENFORCEMENT
    )
    assert enforced == [
        ("apply", "lift_restriction"),
        ("apply", "restrict_sender"),
        ("reverse", "lift_restriction"),
    ]
    detail = next(b["detail"] for b in bodies if b["detail-type"] == OVERTURNED)
    assert detail["data"]["verdict_key"] == {"pk": ids["flag"].key.pk, "sk": ids["flag"].key.sk}
    assert "reviewer" not in json.dumps(detail)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    # Powertools writes a metric's values as a list: one overturned flag, one reviewed.
    assert [e["FlagsOverturned"] for e in emf if "FlagsReviewed" in e] == [[1.0]]
    assert sum(len(e.get("ReviewDecisions", [])) for e in emf) == 2


def test_conversation_text_is_never_logged(seeded: Any, caplog: pytest.LogCaptureFixture) -> None:
    db, _ = seeded
    client = _client(local_service(db))
    with caplog.at_level(logging.DEBUG):
        fields = _form(client.get("/item?pos=0").text)
        client.post("/decide", data={**fields, "label": "scam", "note": "private note"})
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "conv-flag" in logged  # ids are logged ...
    for text in ("5000 dollar", "interested in your house", "private note"):
        assert text not in logged  # ... text is not


def test_figures_endpoint_reports_agreement_and_shadow_flips(seeded: Any) -> None:
    db, ids = seeded
    service = local_service(db, clock=lambda: T0)
    service.open(ids["flag"].key, "alice")
    service.decide(ids["flag"].key, "alice", "scam", ["advance_fee_deposit"])
    figures = _client(service).get("/api/figures").json()
    overall = figures["agreement"]["overall"][0]
    assert (overall["flags_reviewed"], overall["flag_precision"]) == (1, 1.0)
    shadow = figures["shadow"][0]
    assert (shadow["live_prompt"], shadow["shadow_prompt"]) == (
        "suspicious-conversation@2",
        "suspicious-conversation@1",
    )
    assert shadow["flips_to_clear"] == 1
    assert shadow["flips_reviewed"]["to_clear"]["scam"] == 1
    assert shadow["reviewers_sided_with"] == {"live": 1, "shadow": 0}
    assert "Shadow prompt against the live one" in _client(service).get("/figures").text


def _http_api_event(
    method: str, path: str, query: str = "", body: str = "", cookie: str = ""
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event; the app's session in the cookie."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {
            "host": "review.example.com",
            "content-type": "application/x-www-form-urlencoded",
            "x-fragment": "1",
        },
        "cookies": [f"{COOKIE}={cookie}"] if cookie else [],
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "sourceIp": "127.0.0.1",
                "protocol": "HTTP/1.1",
            },
            "requestId": "r",
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def test_lambda_function_reviews_dynamodb_verdicts(
    aws_client: Any, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib
    import sys
    from urllib.parse import urlencode

    from pipeline.history import DynamoHistory, create_conversations_table
    from pipeline.sinks import DynamoVerdictSink, create_verdicts_table, stored_verdict
    from review.decisions import create_decisions_table
    from tests.review_helpers import verdict

    dynamodb = aws_client("dynamodb")
    suffix = uuid.uuid4().hex[:8]
    names = {k: f"{k}-{suffix}" for k in ("conversations", "verdicts", "decisions")}
    create_conversations_table(dynamodb, names["conversations"])
    create_verdicts_table(dynamodb, names["verdicts"])
    create_decisions_table(dynamodb, names["decisions"])
    from pipeline.conversation import Message

    history = DynamoHistory(names["conversations"], client=dynamodb)
    history.append(Message(conversation_id="c1", timestamp=T0, sender="buyer", text="pay first"))
    sink = DynamoVerdictSink(names["verdicts"], client=dynamodb)
    sink.write(stored_verdict(verdict("c1", T0, suspicious=True, score=0.9), now=T0))
    sink.write(stored_verdict(verdict("c2", T0, suspicious=False, score=0.1), now=T0))
    for key, value in {
        "PARLEY_AWS_ENDPOINT_URL": moto_server,
        "PARLEY_HISTORY": f"dynamodb:{names['conversations']}",
        "PARLEY_VERDICTS_TABLE": names["verdicts"],
        "PARLEY_REVIEW_DECISIONS": f"dynamodb:{names['decisions']}",
        "PARLEY_REVIEW_SAMPLE_RATE": "0",
    }.items():
        monkeypatch.setenv(key, value)
    from pipeline.settings import get_settings
    from review.wiring import get_review_settings

    for cached in (get_settings, get_review_settings):
        cached.cache_clear()
    sys.modules.pop("review.lambda_handler", None)
    with pytest.raises(Exception, match=r"PARLEY_REVIEW_SECRET_ID .* is required"):
        importlib.import_module("review.lambda_handler")
    # As deployed: the secret's id in the environment, its value read from Secrets Manager.
    secrets = aws_client("secretsmanager")
    arn = secrets.create_secret(Name="review-secret", SecretString="from-secrets-manager")["ARN"]
    monkeypatch.setenv("PARLEY_REVIEW_SECRET_ID", arn)
    get_review_settings.cache_clear()
    sys.modules.pop("review.lambda_handler", None)
    with pytest.raises(Exception, match="PARLEY_REVIEW_OIDC_ISSUER"):
        importlib.import_module("review.lambda_handler")
    for key, value in {
        "PARLEY_REVIEW_OIDC_ISSUER": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
        "PARLEY_REVIEW_OIDC_CLIENT_ID": "client",
        "PARLEY_REVIEW_OIDC_REDIRECT_URI": "https://review.example.com/auth/callback",
    }.items():
        monkeypatch.setenv(key, value)
    get_review_settings.cache_clear()
    sys.modules.pop("review.lambda_handler", None)
    handler = importlib.import_module("review.lambda_handler").lambda_handler

    assert handler(_http_api_event("GET", "/"), None)["statusCode"] == 401
    # The session the OIDC callback opens (the flow itself: tests/test_review_oidc.py).
    session = Sessions("from-secrets-manager").issue("rev@example.com")
    queue = handler(_http_api_event("GET", "/", cookie=session), None)
    assert queue["statusCode"] == 200
    assert "c1" in queue["body"] and ">c2<" not in queue["body"]  # a clear, not sampled
    assert "rev@example.com" in queue["body"]  # the identity from the session
    item = handler(_http_api_event("GET", "/item", "pos=0", cookie=session), None)
    assert "pay first" in item["body"]
    fields = _form(item["body"])
    decided = handler(
        _http_api_event(
            "POST", "/decide", body=urlencode({**fields, "label": "scam"}), cookie=session
        ),
        None,
    )
    assert decided["statusCode"] == 200 and "End of the queue" in decided["body"]
    stored = list(_active_decisions(names["decisions"], dynamodb))
    assert [(d.pk, d.reviewer, d.label) for d in stored] == [("c1", "rev@example.com", "scam")]
    # The schedule's event: queue ages as metrics, nothing waiting now (c1 decided).
    ages = handler({"source": "aws.events", "detail-type": "Scheduled Event"}, None)
    assert ages["queues"] > 5 and ages["over_bound"] == 0
    get_settings.cache_clear()
    get_review_settings.cache_clear()


def _active_decisions(table: str, client: Any) -> Any:
    from review.decisions import DynamoDecisions

    return DynamoDecisions(table, client=client).all_active()


def test_conversation_text_is_escaped_in_pages(tmp_path: Path) -> None:
    from pipeline.history import SqliteHistory
    from pipeline.sinks import SqliteVerdictSink
    from tests.review_helpers import conversation, verdict, write_verdict

    db = tmp_path / "parley.db"
    attack = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    at = conversation(SqliteHistory(db), "conv-x", [("seller", attack)], T0)
    write_verdict(
        SqliteVerdictSink(db), verdict("conv-x", at, suspicious=True, score=0.9), created_at=T0
    )
    page = _client(local_service(db)).get("/item?pos=0").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page and "<img src=x" not in page


def test_the_secret_is_read_from_secrets_manager_at_each_build() -> None:
    from pipeline.errors import ConfigError
    from pipeline.settings import Settings
    from review.wiring import ReviewSettings, resolve_secret

    class Secrets:
        def __init__(self, value: str | None) -> None:
            self.value, self.asked = value, []

        def get_secret_value(self, SecretId: str) -> dict[str, Any]:
            self.asked.append(SecretId)
            return {"SecretString": self.value} if self.value else {"SecretBinary": b"x"}

    # GIVEN the deployed settings: only the secret's id in the environment
    review = ReviewSettings(secret_id="arn:aws:secretsmanager:us-east-1:123456789012:secret:r")
    client = Secrets("rotated-value")
    # WHEN built (at start, and again after a restore) THEN the value is read each time
    assert resolve_secret(review, Settings(), client).secret == "rotated-value"
    assert resolve_secret(review, Settings(), client).secret == "rotated-value"
    assert client.asked == [review.secret_id] * 2
    # a plain local secret needs no call; a secret without a string is refused
    assert resolve_secret(ReviewSettings(secret="local"), Settings(), client).secret == "local"
    with pytest.raises(ConfigError, match="no SecretString"):
        resolve_secret(review, Settings(), Secrets(None))
