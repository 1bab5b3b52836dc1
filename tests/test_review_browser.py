"""End to end in a real browser: headless Chromium (Debian's chromium and chromium-driver)
driven by Selenium against `parley review serve`'s app on loopback.

Open the queue, read an item, decide three items with the keyboard, undo one, export;
then check the decisions store and the exported file. Set REVIEW_SCREENSHOTS_DIR to a
directory to keep the screenshots (docs/review-queue.png and docs/review-item.png come
from this test).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from pipeline.cli import main
from pipeline.sinks import VerdictKey
from review.app import create_app
from review.auth import LocalSignIn
from tests.review_helpers import local_service

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)
TOKEN = "browser-test-token"


@pytest.fixture
def server(tmp_path: Path) -> Any:
    import uvicorn

    db = tmp_path / "parley.db"
    store = ["--verdicts", f"sqlite:{db}", "--history", f"sqlite:{db}"]
    main(["review", "demo", *store, "--conversations", "12"])
    service = local_service(db, sample_rate=1.0)
    service.decisions.lease_seconds = 3  # short: the tests wait past it
    app = create_app(service, LocalSignIn("alice", TOKEN), secret="browser-secret")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", service, db, store
    uv.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def browser(tmp_path: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1200,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _shot(driver: Any, tmp_path: Path, name: str) -> None:
    driver.save_screenshot(str(tmp_path / name))
    keep = os.environ.get("REVIEW_SCREENSHOTS_DIR")
    if keep:
        shutil.copy(tmp_path / name, Path(keep) / name)


def test_review_with_the_keyboard_in_chromium(server: Any, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, service, _db, store = server
    wait = WebDriverWait(browser, 10)

    # Open the queue (the sign-in link sets the cookie and lands on it).
    browser.get(f"{base}/login?token={TOKEN}")
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 12 and browser.find_element(By.TAG_NAME, "h1").text == "Review queue"
    _shot(browser, tmp_path, "review-queue.png")

    # Read an item: the window the model saw, the judged message marked.
    browser.find_element(By.LINK_TEXT, "Start reviewing").click()
    heading = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#item h1"))
    assert heading.text.startswith("Conversation demo-")
    judged = browser.find_element(By.CSS_SELECTOR, "li.msg.judged")
    assert judged.get_attribute("aria-current") == "true" and judged.text
    # The stream job's verdict carries its window's digests: the page shows it checked.
    assert browser.find_element(By.CSS_SELECTOR, ".check.verified").is_displayed()
    _shot(browser, tmp_path, "review-item.png")
    browser.execute_script("window.__sameDocument = true;")  # gone after a full reload

    def current() -> str:  # read in the page: the element is replaced on every swap
        return browser.execute_script(
            "const h = document.querySelector('#item h1'); return h ? h.textContent : ''"
        )

    # Decide three items with the keyboard: scam, not a scam, cannot tell.
    decided = []
    body = browser.find_element(By.TAG_NAME, "body")
    for key in ("s", "n", "c"):
        before = current()
        decided.append(before.removeprefix("Conversation "))
        body.send_keys(key)
        wait.until(lambda _, b=before: current() != b)
    status = browser.execute_script("return document.getElementById('status').textContent")
    assert status == "Decided: cannot tell."

    # Undo the last one: it comes back, with its decision form.
    body.send_keys("u")
    wait.until(lambda _: current() == f"Conversation {decided[2]}")
    assert browser.find_elements(By.ID, "decide-form")
    assert browser.execute_script("return window.__sameDocument === true")
    fetches = browser.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.initiatorType === 'fetch').map(e => e.name)"
    )
    assert [u.rsplit("/", 1)[1] for u in fetches] == ["decide", "decide", "decide", "undo"]

    # The decisions store: two active decisions and one withdrawn, by alice.
    active = {d.pk: d for d in service.decisions.all_active()}
    assert {pk: d.label for pk, d in active.items()} == {
        decided[0]: "scam",
        decided[1]: "not_scam",
    }
    withdrawn = [d for d in service.decisions.for_conversation(decided[2]) if d.undone_at]
    assert [(d.label, d.reviewer) for d in withdrawn] == [("cannot_tell", "alice")]

    # Export: the two decisions become evaluation cases with the reviewer's labels.
    out = tmp_path / "reviewed.jsonl"
    main(["review", "export", *store, "-o", str(out)])
    cases = [json.loads(line) for line in out.read_text().splitlines()]
    labels = {c["provenance"]["verdict_key"]["pk"]: c["label"] for c in cases}
    assert labels == {decided[0]: 1, decided[1]: 0}
    assert all(c["provenance"]["reviewer"] == "alice" and c["messages"] for c in cases)


def _current(browser: Any) -> str:
    # Read in the page: the element is replaced on every swap.
    return browser.execute_script(
        "const h = document.querySelector('#item h1'); return h ? h.textContent : ''"
    )


def test_browsing_holds_no_lease_and_a_lease_outlived_loses_no_decision(
    server: Any, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, service, _db, _store = server
    wait = WebDriverWait(browser, 10)
    leases = service.decisions.live_leases
    browser.get(f"{base}/login?token={TOKEN}")
    browser.get(f"{base}/item?pos=0")
    body = browser.find_element(By.TAG_NAME, "body")

    # Browse ten items with j: not one lease is taken.
    held_while_browsing = []
    for _ in range(10):
        before = _current(browser)
        body.send_keys("j")
        wait.until(lambda _, b=before: _current(browser) != b)
        held_while_browsing.append(leases(service.clock()))
    assert held_while_browsing == [0] * 10
    assert browser.current_url.startswith(f"{base}/item?pk=")

    # Start deciding: the lease is taken and its time left shown ...
    key = _key_on_page(browser)
    note = browser.find_element(By.ID, "note")
    note.send_keys("same deposit trick as last week")
    wait.until(lambda _: "left" in _text(browser, "#lease"))
    assert leases(service.clock()) == 1
    # ... and renewed while the page is open: wait past two lease lengths (3 s each).
    time.sleep(7)
    assert service.decisions.lease_of(key, service.clock())[0] == "alice"
    assert "left" in _text(browser, "#lease")
    before = _current(browser)
    browser.find_element(By.CSS_SELECTOR, '#decide-form button[value="scam"]').click()
    wait.until(lambda _: _current(browser) != before)
    decided = [d for d in service.decisions.all_active() if d.key == key]
    assert [(d.label, d.note) for d in decided] == [("scam", "same deposit trick as last week")]
    assert leases(service.clock()) == 0  # deciding freed it

    # Leaving an item one started to decide releases its lease at once.
    browser.find_element(By.ID, "note").send_keys("x")
    wait.until(lambda _: leases(service.clock()) == 1)
    before = _current(browser)
    browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
    wait.until(lambda _: _current(browser) != before)
    wait.until(lambda _: leases(service.clock()) == 0)


def _text(browser: Any, css: str) -> str:
    # Read in the page: a swap may replace the element between a find and a read.
    return browser.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent : ''", css
    )


def _key_on_page(browser: Any) -> VerdictKey:
    pk, sk = browser.execute_script(
        "const a = document.querySelector('article'); return [a.dataset.pk, a.dataset.sk]"
    )
    return VerdictKey(pk, sk)


def test_a_refused_decision_keeps_the_input_and_says_already_decided(
    server: Any, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, service, _db, _store = server
    wait = WebDriverWait(browser, 10)
    browser.get(f"{base}/login?token={TOKEN}")
    browser.get(f"{base}/item?pos=0")
    key = _key_on_page(browser)
    pk = key.pk
    # Bob decides the item while alice reads it (she holds no lease yet).
    service.decide(key, "bob", "not_scam", [])
    browser.find_element(By.ID, "note").send_keys("my careful note")
    browser.find_element(By.CSS_SELECTOR, '#decide-form button[value="scam"]').click()
    wait.until(lambda _: "already decided" in _text(browser, "#status"))
    assert "by bob" in _text(browser, "#status")
    assert browser.find_element(By.ID, "kept-note").get_attribute("value") == "my careful note"
    assert "/decide" not in browser.current_url and f"pk={pk}" in browser.current_url
    browser.refresh()  # the address bar reloads the item, not a Method Not Allowed
    assert _current(browser) == f"Conversation {pk}"
    before = _current(browser)
    browser.find_element(By.TAG_NAME, "body").send_keys("j")  # j still works
    wait.until(lambda _: _current(browser) != before)
    assert [(d.reviewer, d.label) for d in service.decisions.all_active()] == [("bob", "not_scam")]


def test_undo_is_reachable_from_the_items_history_and_sign_out_ends_the_session(
    server: Any, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, service, _db, _store = server
    wait = WebDriverWait(browser, 10)
    browser.get(f"{base}/login?token={TOKEN}")
    browser.get(f"{base}/item?pos=0")
    first = _current(browser)
    browser.find_element(By.TAG_NAME, "body").send_keys("s")
    wait.until(lambda _: _current(browser) != first)
    browser.find_element(By.TAG_NAME, "body").send_keys("n")  # the undo offer moves on
    wait.until(lambda _: len(service.decisions.all_decisions()) == 2)
    # Later: find it through "Your decisions", then undo it from its history.
    browser.get(f"{base}/mine")
    browser.find_element(By.LINK_TEXT, first.removeprefix("Conversation ")).click()
    wait.until(lambda d: d.find_element(By.ID, "trail-title"))
    browser.find_element(By.CSS_SELECTOR, ".undo-inline button").click()
    wait.until(lambda d: d.find_elements(By.ID, "decide-form"))
    trail = browser.find_element(By.CSS_SELECTOR, ".trail").text
    assert "undone at" in trail
    assert {d.pk for d in service.decisions.all_active()} == {
        d.pk for d in service.decisions.all_decisions() if d.undone_at is None
    }
    assert len(list(service.decisions.all_active())) == 1

    # Sign out: the session ends, the old cookie no longer works.
    browser.find_element(By.CSS_SELECTOR, "form.who button").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Signed out")
    browser.get(f"{base}/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not signed in"
    browser.get(f"{base}/login?token={TOKEN}")  # the link worked once
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not signed in"


def test_sign_in_through_the_oidc_flow_and_decide_in_chromium(tmp_path: Path, browser: Any) -> None:
    """The deployed sign-in, end to end: Chromium follows the app's redirect to the
    provider stand-in, back to /auth/callback, and decides an item in the session."""
    import uvicorn
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from review.oidc import OidcConfig, OidcSignIn
    from review.sessions import Sessions
    from tests.review_oidc_provider import OidcProvider

    db = tmp_path / "parley.db"
    store = ["--verdicts", f"sqlite:{db}", "--history", f"sqlite:{db}"]
    main(["review", "demo", *store, "--conversations", "3"])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # localhost: a potentially trustworthy origin, where Chromium keeps Secure cookies.
    base = f"http://localhost:{sock.getsockname()[1]}"
    idp = OidcProvider(
        client_id="review-app", redirect_uris=[f"{base}/auth/callback"], email="rev@example.com"
    )
    idp.start()
    config = OidcConfig(
        issuer=idp.issuer, client_id="review-app", redirect_uri=f"{base}/auth/callback"
    )
    service = local_service(db, sample_rate=1.0)
    app = create_app(
        service,
        OidcSignIn(config, secret="s"),
        secret="s",
        sessions=Sessions("s", secure=True),
    )
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not uv.started and time.monotonic() < deadline:
            time.sleep(0.05)
        wait = WebDriverWait(browser, 10)
        browser.get(f"{base}/")
        assert browser.find_element(By.TAG_NAME, "h1").text == "Not signed in"
        browser.find_element(By.LINK_TEXT, "Sign in").click()
        wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text == "Review queue")
        assert "rev@example.com" in browser.find_element(By.CSS_SELECTOR, ".who").text
        assert [s["endpoint"] for s in idp.seen] == ["authorize", "token"]
        cookie = browser.get_cookie("parley_session")
        assert cookie and cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
        browser.find_element(By.LINK_TEXT, "Start reviewing").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#item h1"))
        before = _current(browser)
        browser.find_element(By.TAG_NAME, "body").send_keys("s")
        wait.until(lambda _: _current(browser) != before)
        decided = list(service.decisions.all_active())
        assert [(d.pk, d.reviewer, d.label) for d in decided] == [
            (before.removeprefix("Conversation "), "rev@example.com", "scam")
        ]
    finally:
        uv.should_exit = True
        thread.join(timeout=5)
        idp.stop()


def test_team_pages_wellbeing_and_screenshots_in_chromium(
    server: Any, browser: Any, tmp_path: Path
) -> None:
    """Blurred texts revealed on request, the break reminder, and the team's pages
    (docs/review-*.png come from here with REVIEW_SCREENSHOTS_DIR set)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from pipeline.verdict import Category
    from review.queue import QueueFilter
    from review.team import TeamConfig

    base, service, _db, _store = server
    wait = WebDriverWait(browser, 10)
    service.team = TeamConfig(
        secret=b"k",
        double_rate=1.0,
        seniors=frozenset({"alice"}),
        blur_categories=frozenset(c.value for c in Category),
        break_minutes=0.05,  # three seconds, for the test
    )
    # A small double-reviewed history: bob decides, carol reviews again, blind.
    items = service.page(QueueFilter(), "bob", limit=12).items
    for n, item in enumerate(items[2:8]):  # the two top flags stay in the queue
        service.decide(item.key, "bob", "scam" if n % 2 else "not_scam", list(item.categories))
    for n, task in enumerate(service.second_tasks("carol")):
        label = "scam" if n % 3 else "not_scam"
        service.decide(task.key, "carol", label, list(task.first.categories), role="second")  # type: ignore[arg-type]

    browser.get(f"{base}/login?token={TOKEN}")
    flagged = next(i for i in service.page(QueueFilter(), "alice", limit=50).items if i.categories)
    query = urlencode({"pk": flagged.key.pk, "sk": flagged.key.sk})
    browser.get(f"{base}/item?{query}")
    text = browser.find_element(By.CSS_SELECTOR, "ol.window .text")
    filtered = browser.execute_script("return getComputedStyle(arguments[0]).filter", text)
    assert "blur" in filtered
    browser.find_element(By.CSS_SELECTOR, ".reveal-toggle").click()
    filtered = browser.execute_script("return getComputedStyle(arguments[0]).filter", text)
    assert filtered == "none"
    browser.find_element(By.TAG_NAME, "details").click()  # the written policy, opened
    _shot(browser, tmp_path, "review-item-policy.png")
    wait.until(lambda d: d.find_element(By.ID, "break").is_displayed())
    assert "Take a break" in browser.find_element(By.ID, "break").text
    for page, name in (
        ("/figures", "review-figures.png"),
        ("/queues", "review-queues.png"),
        ("/senior", "review-senior.png"),
        ("/audit", "review-audit.png"),
    ):
        browser.get(f"{base}{page}")
        assert browser.find_element(By.TAG_NAME, "h1").text
        browser.execute_script(  # the team's figures, not the model's, in the picture
            "const h = [...document.querySelectorAll('h2')]"
            ".find(e => e.textContent.includes('double review')); if (h) h.scrollIntoView()"
        )
        _shot(browser, tmp_path, name)
    browser.get(f"{base}/figures")
    assert "Cohen's kappa" in browser.find_element(By.TAG_NAME, "main").text
