"""What a review team needs: reason codes and policy, double review with Cohen's kappa
(checked against scikit-learn), senior decisions on disagreements, gold accuracy,
several queues with ages, the audit trail, waves of near-duplicates, wellbeing."""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score
from starlette.testclient import TestClient

from pipeline.history import SqliteHistory
from pipeline.sinks import SqliteVerdictSink, VerdictKey
from pipeline.verdict import Category
from review.agreement import cohen_kappa, kappa_interval, pairs_of
from review.app import create_app
from review.auth import LocalSignIn
from review.decisions import ReviewConflict
from review.policy import POLICY_FILE, reasons
from review.queue import QueueFilter
from review.queues import publish_ages
from review.team import TeamConfig
from tests.review_helpers import T0, conversation, local_service, verdict, write_verdict

REPO = Path(__file__).resolve().parent.parent
REVIEWERS = {"alice": 0.92, "bob": 0.8, "carol": 0.65}  # each one's chance of being right
CATEGORIES = ["advance_fee_deposit", "phishing_link", "off_platform_payment"]


def test_every_taxonomy_category_has_a_scam_reason_and_a_written_policy() -> None:
    table = (REPO / "docs" / "taxonomy.md").read_text()
    documented = set(re.findall(r"^\| `(\w+)` \|", table, re.M))
    assert documented == {c.value for c in Category}
    scam_reasons = {r.category for r in reasons() if r.label == "scam"}
    assert scam_reasons == documented
    assert all(r.policy and r.action for r in reasons())
    assert {r.label for r in reasons()} == {"scam", "not_scam", "cannot_tell"}
    assert POLICY_FILE.is_file()


def _seed(db: Path, n: int, rng: random.Random) -> dict[str, str]:
    """n flagged verdicts with history; returns the true label of each conversation."""
    history, sink = SqliteHistory(db), SqliteVerdictSink(db)
    truth = {}
    for i in range(n):
        cid = f"t{i:03d}"
        at = conversation(history, cid, [("seller", f"message {i}")], T0)
        category = CATEGORIES[i % len(CATEGORIES)]
        write_verdict(
            sink,
            verdict(cid, at, suspicious=True, score=0.9, categories=(category,)),
            created_at=T0 + timedelta(seconds=i),
        )
        truth[cid] = "scam" if rng.random() < 0.6 else "not_scam"
    return truth


def _answer(truth: str, reviewer: str, rng: random.Random) -> str:
    if rng.random() < REVIEWERS[reviewer]:
        return truth
    return rng.choice([x for x in ("scam", "not_scam", "cannot_tell") if x != truth])


@pytest.fixture
def run(tmp_path: Path) -> Any:
    """A seeded double-review run: three reviewers decide 120 items, then review a
    sampled share (and every gold item) a second time, blind."""
    rng = random.Random(7)
    db = tmp_path / "parley.db"
    truth = _seed(db, 120, rng)
    gold = {cid: label for cid, label in list(truth.items())[:24]}
    clock = [T0 + timedelta(hours=1)]
    service = local_service(db, clock=lambda: clock[0])
    service.team = TeamConfig(secret=b"k", double_rate=0.35, seniors=frozenset({"dana"}), gold=gold)
    names = list(REVIEWERS)
    for n, item in enumerate(service.page(QueueFilter(), "x", limit=200).items):
        who = names[n % 3]
        label = _answer(truth[item.key.pk], who, rng)
        cats = list(item.categories)
        service.decide(item.key, who, label, cats)  # type: ignore[arg-type]
        clock[0] += timedelta(seconds=5)
    for who in names:
        for task in service.second_tasks(who):
            # Another reviewer may have taken it meanwhile: only one second review each.
            if task.key in {t.key for t in service.second_tasks(who)}:
                label = _answer(truth[task.key.pk], who, rng)
                service.decide(task.key, who, label, list(task.first.categories), role="second")  # type: ignore[arg-type]
                clock[0] += timedelta(seconds=5)
    return service, truth, gold


def test_kappa_per_category_and_reviewer_matches_scikit_learn(run: Any) -> None:
    service, _truth, _gold = run
    every = service.decisions.all_decisions()
    pairs = pairs_of(every)
    assert len(pairs) >= 40  # 35 % of 120 and the gold items
    figures = service.figures()["double_review"]

    def reference(subset: list[Any]) -> float:
        return cohen_kappa_score([a.label for a, _ in subset], [b.label for _, b in subset])

    assert figures["overall"]["kappa"] == pytest.approx(reference(pairs), abs=1e-4)
    low, high = figures["overall"]["kappa_95"]
    assert low < figures["overall"]["kappa"] < high
    assert 0.1 < figures["overall"]["kappa"] < 0.9  # noisy raters: neither chance nor perfect
    for row in figures["by_category"]:
        subset = [p for p in pairs if p[0].categories[0].value == row["category"]]
        assert row["pairs"] == len(subset)
        assert row["kappa"] == pytest.approx(reference(subset), abs=1e-4)
    for row in figures["by_reviewer"]:
        subset = [p for p in pairs if row["reviewer"] in (p[0].reviewer, p[1].reviewer)]
        assert row["kappa"] == pytest.approx(reference(subset), abs=1e-4)
    assert {r["reviewer"] for r in figures["by_reviewer"]} == set(REVIEWERS)


def test_kappa_edge_cases_and_the_interval_narrows_with_more_pairs() -> None:
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["scam"] * 4, ["scam"] * 4) is None  # chance agreement is total
    assert cohen_kappa(["scam", "not_scam"], ["not_scam", "scam"]) == pytest.approx(
        cohen_kappa_score(["scam", "not_scam"], ["not_scam", "scam"])
    )
    rng = random.Random(1)
    a = [rng.choice(["scam", "not_scam"]) for _ in range(400)]
    b = [x if rng.random() < 0.8 else rng.choice(["scam", "not_scam"]) for x in a]
    small, large = kappa_interval(a[:40], b[:40]), kappa_interval(a, b)
    assert small and large and (large[1] - large[0]) < (small[1] - small[0])
    assert kappa_interval(a[:3], b[:3]) is None


def test_gold_accuracy_per_reviewer_matches_scikit_learn(run: Any) -> None:
    service, _truth, gold = run
    rows = {r["reviewer"]: r for r in service.figures()["gold"]}
    assert set(rows) == set(REVIEWERS)
    for reviewer, row in rows.items():
        mine = [
            d
            for d in service.decisions.all_active()
            if d.reviewer == reviewer and d.pk in gold and d.label != "cannot_tell"
        ]
        expected = accuracy_score([gold[d.pk] for d in mine], [d.label for d in mine])
        assert row["gold_decided"] == len(mine)
        assert row["accuracy"] == pytest.approx(expected, abs=1e-4)
    # Every gold item was reviewed twice (gold is always double-reviewed).
    second = {d.pk for d in service.decisions.all_active() if d.role == "second"}
    assert set(gold) <= second


def test_second_review_is_blind_and_disagreements_go_to_a_senior(run: Any) -> None:
    service, _truth, _gold = run
    every = service.decisions.all_decisions()
    pairs = pairs_of(every)
    disagreeing = [(a, b) for a, b in pairs if a.label != b.label]
    assert disagreeing
    assert service.figures()["double_review"]["disagreements"] == len(disagreeing)
    assert service.senior_tasks("alice") == []  # not a senior
    tasks = service.senior_tasks("dana")
    assert {t.key for t in tasks} == {a.verdict_key for a, _ in disagreeing}
    # Nobody reviews their own decision a second time.
    first = next(d for d in every if d.role == "first")
    with pytest.raises(ReviewConflict):
        service.decide(first.key, first.reviewer, "scam", [], role="second")
    # The senior decides; the first decision is overturned when they differ.
    first_of_task = tasks[0].first
    other = "not_scam" if first_of_task.label == "scam" else "scam"
    service.decide(tasks[0].key, "dana", other, [], role="senior")  # type: ignore[arg-type]
    assert service.figures()["overturned_by_seniors"] == 1
    assert tasks[0].key not in {t.key for t in service.senior_tasks("dana")}

    # A second review's page shows no one's decision; a senior's shows both.
    client = TestClient(create_app(service, LocalSignIn("alice", "t"), secret="s"))
    client.get("/login?token=t")
    service.team = TeamConfig(secret=b"k", double_rate=1.0, seniors=frozenset({"dana"}))
    waiting = service.second_tasks("alice")
    assert waiting
    task = waiting[0]
    query = urlencode({"pk": task.key.pk, "sk": task.key.sk, "role": "second"})
    blind = client.get(f"/item?{query}").text
    assert 'id="decide-form"' in blind and 'name="role" value="second"' in blind
    assert "Decided by" not in blind and "History of this item" not in blind
    assert task.first.reviewer not in blind.replace("Reviewer: <strong>alice", "")
    audit = client.get("/audit").text
    assert "by a senior" in audit and "dana" in audit and "second" in audit


def test_queues_report_the_oldest_items_age_against_the_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "parley.db"
    _seed(db, 6, random.Random(0))
    now = T0 + timedelta(hours=5)
    service = local_service(db, clock=lambda: now)
    service.team = TeamConfig(max_age_minutes=240)
    rows = {r["name"]: r for r in service.queue_ages()}
    assert rows["all"]["waiting"] == 6 and rows["flagged"]["waiting"] == 6
    assert rows["all"]["oldest_age_s"] == 5 * 3600 and rows["all"]["over_bound"]
    assert rows["phishing_link"]["waiting"] == 2
    assert rows["undetermined"]["waiting"] == 0 and not rows["undetermined"]["over_bound"]
    oldest = service.page(QueueFilter(), "x", limit=10).items
    service.decide(min(oldest, key=lambda i: i.created_at).key, "alice", "scam", [])
    assert {r["name"]: r for r in service.queue_ages()}["all"]["waiting"] == 5
    service.team = TeamConfig(max_age_minutes=600)
    assert not {r["name"]: r for r in service.queue_ages()}["all"]["over_bound"]
    publish_ages(service.queue_ages())
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    alarm = [e["OldestQueueItemAgeMinutes"] for e in emf if "OldestQueueItemAgeMinutes" in e]
    assert alarm == [[round((5 * 3600 - 1) / 60, 2)]]
    assert {e["queue"] for e in emf if "queue" in e} >= {"all", "phishing_link"}


def test_a_wave_of_near_duplicates_is_grouped_and_decided_at_once(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    history, sink = SqliteHistory(db), SqliteVerdictSink(db)
    wave = "Hello {}, send the 500 euro deposit to {} today and the flat is yours, call {}"
    for i, (name, mail, phone) in enumerate(
        [
            ("Ann", "a@x.com", "0612345678"),
            ("Bo", "b@y.org", "+44 7700 900456"),
            ("Cy", "c@z.net", "5551234"),
        ]
    ):
        at = conversation(history, f"w{i}", [("seller", wave.format(name, mail, phone))], T0)
        write_verdict(sink, verdict(f"w{i}", at, suspicious=True, score=0.8), created_at=T0)
    at = conversation(history, "lone", [("buyer", "is the bike still available?")], T0)
    write_verdict(sink, verdict("lone", at, suspicious=True, score=0.7), created_at=T0)
    service = local_service(db, clock=lambda: T0)
    client = TestClient(create_app(service, LocalSignIn("alice", "t"), secret="s"))
    client.get("/login?token=t")
    page = client.get("/waves").text
    items = re.findall(r'name="item" value="([^"]+)"', page)
    assert sorted(i.split("&#10;")[0] for i in items) == ["w0", "w1", "w2"]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(
        "/bulk",
        data={
            "csrf_token": csrf,
            "label": "scam",
            "reason": "SCAM-ADVANCE-FEE",
            "item": [i.replace("&#10;", "\n") for i in items],
        },
        follow_redirects=False,
    )
    assert done.headers["location"] == "/waves?decided=3&skipped=0"
    decided = {d.pk: d.reason for d in service.decisions.all_active()}
    assert decided == {"w0": "SCAM-ADVANCE-FEE", "w1": "SCAM-ADVANCE-FEE", "w2": "SCAM-ADVANCE-FEE"}
    bad = client.post(
        "/bulk", data={"csrf_token": csrf, "label": "scam", "reason": "OK-LEGITIMATE"}
    )
    assert bad.status_code == 400  # a reason that does not go with the label


def test_reason_codes_are_stored_checked_and_shown_beside_the_decision(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    _seed(db, 2, random.Random(0))
    service = local_service(db, clock=lambda: T0)
    client = TestClient(create_app(service, LocalSignIn("alice", "t"), secret="s"))
    client.get("/login?token=t")
    page = client.get("/item?pos=0").text
    assert "The written policy" in page and "SCAM-PHISHING" in page and "restrict sender" in page
    key = service.page(QueueFilter(), "alice").items[0].key
    with pytest.raises(ValueError):
        service.decide(key, "alice", "scam", [], reason="OK-LEGITIMATE")
    decision = service.decide(key, "alice", "not_scam", [], reason="OK-MODEL-MISREAD")
    assert service.decisions.active(key).reason == "OK-MODEL-MISREAD" == decision.reason
    other = service.page(QueueFilter(), "alice").items[0]
    auto = service.decide(other.key, "alice", "scam", list(other.categories))
    assert auto.reason.startswith("SCAM-")  # the category's reason when none was picked


def test_texts_of_sensitive_categories_are_blurred_until_revealed(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    history, sink = SqliteHistory(db), SqliteVerdictSink(db)
    at = conversation(history, "c-other", [("seller", "buy two gift cards")], T0)
    write_verdict(
        sink,
        verdict("c-other", at, suspicious=True, score=0.9, categories=("other",)),
        created_at=T0,
    )
    service = local_service(db)
    client = TestClient(create_app(service, LocalSignIn("alice", "t"), secret="s"))
    client.get("/login?token=t")
    page = client.get("/item?pos=0").text
    assert 'class="window blur"' in page and "reveal-toggle" in page
    service.team = TeamConfig(blur_categories=frozenset())
    assert 'class="window blur"' not in client.get("/item?pos=0").text  # the control


def test_second_review_keys_are_not_verdict_keys() -> None:
    from review.decisions import role_key

    key = VerdictKey("c", "2026-11-01T09:00:00.000000Z#p@1")
    assert role_key(key, "second").sk == f"second#{key.sk}"
    assert role_key(key, "first") == key


def test_ones_second_reviews_are_listed_and_open_from_your_decisions(run: Any) -> None:
    service, _truth, _gold = run
    second = next(d for d in service.decisions.all_active() if d.role == "second")
    client = TestClient(create_app(service, LocalSignIn(second.reviewer, "t"), secret="s"))
    client.get("/login?token=t")
    mine = client.get("/mine").text
    links = re.findall(r'href="(/item\?[^"]+role=second)"', mine)
    assert links and "(second review)" in mine
    page = client.get(links[0].replace("&amp;", "&"))
    assert page.status_code == 200 and "Second review: decide as if nobody had" in page.text
