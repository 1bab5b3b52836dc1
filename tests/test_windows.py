"""Windows that keep the risk: floods, replays, split and padded requests, monotone state."""

import json
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.stream_throughput import stream_record
from bench.windows import flooded, split_last
from pipeline.conversation import (
    Conversation,
    Message,
    conversation_from_dict,
    load_conversations,
    truncate_text,
)
from pipeline.history import SqliteHistory
from pipeline.models import resolve
from pipeline.models.replay import ReplayModel
from pipeline.moderation import assess
from pipeline.normalise import normalised_text
from pipeline.prompts import open_prompt_store
from pipeline.risk import (
    HELD,
    DynamoRiskStore,
    RiskState,
    SqliteRiskStore,
    after_review,
    after_verdict,
    record_review,
    update,
)
from pipeline.settings import Settings
from pipeline.sinks import SqliteVerdictSink, VerdictPublisher, create_pk_sk_table
from pipeline.stream import build_handler
from pipeline.verdict import Verdict
from pipeline.windows import assess_windows, cover, worst
from tests.conftest import REPO
from tests.test_cli import run, write

STORE = open_prompt_store(str(REPO / "prompts"))
TEMPLATE = STORE.get("suspicious-conversation@2")
EXAMPLE = load_conversations(REPO / "examples" / "deposit-before-visit.json")[0]
FLAGGED = {"suspicious": True, "score": 0.93, "categories": ["advance_fee_deposit"],
           "rationale": "deposit before a visit"}  # fmt: skip
CLEARED = {"suspicious": False, "score": 0.04, "categories": [], "rationale": "ordinary"}
T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def messages(cid: str, texts: list[str], start: datetime = T0) -> list[Message]:
    return [
        Message(
            conversation_id=cid, timestamp=start + timedelta(minutes=i), sender="seller", text=t
        )
        for i, t in enumerate(texts)
    ]


def verdict(suspicious: bool | None, at: datetime = T0, score: float = 0.9) -> Verdict:
    return Verdict(
        conversation_id="c",
        last_message_at=at,
        suspicious=suspicious,
        score=score if suspicious is not None else None,
        status="scored" if suspicious is not None else "undetermined",
        model_id="replay",
        prompt="suspicious-conversation@2",
    )


# -- finding 3: the follow-up flood ----------------------------------------------------


def test_a_flood_of_follow_ups_is_still_flagged_by_moderate():
    conversation = flooded(EXAMPLE, 20)
    model = resolve("local:baseline")
    # GIVEN the control: the newest window alone no longer shows the request
    assert assess(conversation, TEMPLATE, model).suspicious is False
    # WHEN the whole conversation is judged in windows
    result = assess_windows(conversation, TEMPLATE, model)
    judged, windows, state = result.verdict, result.windows, result.state
    # THEN the windows show every message, and the verdict is the worst window's
    shown = {m.timestamp for w in cover(conversation, TEMPLATE.meta.history) for m in w.messages}
    assert shown == {m.timestamp for m in conversation.messages}
    assert len(windows) == 2 and judged.suspicious is True and state.level == "flagged"
    # the newest window flags too: the request is pinned into it
    assert [v.suspicious for v in windows] == [True, True]


def test_moderate_cli_flags_the_flood_and_stores_it_for_review(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = {"id": "flood-1", "messages": [
        {"sender": m.sender, "text": m.text, "timestamp": m.iso_timestamp}
        for m in flooded(EXAMPLE, 20).messages
    ]}  # fmt: skip
    path = write(tmp_path, "flood.json", data)
    db = tmp_path / "review.db"
    code, out, err = run(
        capsys, "moderate", path, "--store", "--verdicts", f"sqlite:{db}",
        "--history", f"sqlite:{db}", "--json",
    )  # fmt: skip
    assert code == 0, err
    printed = json.loads(out)
    assert printed[0]["suspicious"] is True and printed[0]["windows"] == 2
    stored = SqliteVerdictSink(str(db)).all()
    assert [s.verdict.suspicious for s in stored] == [True]
    assert SqliteRiskStore(str(db)).get("flood-1").level == "flagged"
    # the review page reads the judged window from the history store
    assert len(SqliteHistory(str(db)).latest("flood-1", 100).messages) == 22

    # WHEN the same conversation is judged again by id: the stored flag is told
    code, out, err = run(
        capsys, "moderate", "--id", "flood-1", "--history", f"sqlite:{db}", "--json"
    )
    assert code == 0 and json.loads(out)[0]["suspicious"] is True


@pytest.mark.parametrize(
    "argv",
    [
        ("--verdicts", "sqlite:x.db"),  # --verdicts without --store
        ("--store", "--verdicts", "redis:nowhere"),  # not a verdict store
        ("--store", "--verdicts", "sqlite:/no/such/dir/v.db"),  # cannot be opened
    ],
)
def test_moderate_store_bad_settings_are_one_line_and_exit_2(tmp_path, capsys, argv):
    path = write(tmp_path, "ok.json", {"id": "x", "messages": [{"text": "hello"}]})
    code, _, err = run(capsys, "moderate", path, "--model", "local:baseline", *argv)
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1


# -- finding 3 in the stream: a flag stands until a reviewer decides --------------------


def stream_handler(model: Any, history: SqliteHistory, events: list, risk: Any) -> Any:
    class Events:
        def publish(self, envelopes: list[dict[str, Any]]) -> None:
            events.extend(envelopes)

    return build_handler(
        model=model,
        history=history,
        publisher=VerdictPublisher(SqliteVerdictSink(":memory:"), Events()),
        settings=Settings(max_concurrency=1, min_remaining_ms=0),
        risk=risk,
        metrics=None,
    )


def replay(handler: Any, history: SqliteHistory, batch: list[Message], start: int) -> Any:
    for m in batch:
        history.append(m)
    return handler.run({"Records": [stream_record(m, start + i) for i, m in enumerate(batch)]})


@pytest.mark.parametrize("with_risk", [True, False])
def test_a_checkpoint_flag_is_never_followed_by_cleared(with_risk):
    # GIVEN a flood of 25 new messages in one batch (two checkpoints) and a model that
    # flags the first checkpoint and clears the next
    history, events = SqliteHistory(":memory:"), []
    model = ReplayModel([FLAGGED, CLEARED], default=CLEARED)
    risk = SqliteRiskStore(":memory:") if with_risk else None
    handler = stream_handler(model, history, events, risk)
    flood = messages("conv-57", ["send me the 5000 dollar deposit now", *["ok"] * 24])
    report = replay(handler, history, flood, 1)
    types = [e["type"] for e in events]
    if not with_risk:  # the control: the defect as it was
        assert types == ["parley.conversation.flagged", "parley.conversation.cleared"]
        return
    # THEN the second window is held, told of the flag, and shows the request pinned
    assert types == ["parley.conversation.flagged", HELD]
    second = model.history[1]
    assert "previously flagged" in second.user
    assert "send me the 5000 dollar deposit now" in second.user
    assert second.conversation is not None and len(second.conversation.messages) == 21

    counts = report.counts()
    assert (counts["VerdictsFlagged"], counts["VerdictsHeld"], counts["VerdictsCleared"]) == (
        1,
        1,
        0,
    )

    # WHEN later messages arrive one by one: still held
    replay(handler, history, messages("conv-57", ["bye"], T0 + timedelta(hours=1)), 100)
    assert events[-1]["type"] == HELD

    # WHEN a reviewer finds no scam, the flag comes down: a clean window is lifted,
    # never cleared (cleared is said only of a conversation never flagged)
    assert record_review(risk, "conv-57", "not_scam").level == "lifted"
    replay(handler, history, messages("conv-57", ["thanks"], T0 + timedelta(hours=2)), 200)
    assert events[-1]["type"] == "parley.conversation.lifted"
    assert "parley.conversation.cleared" not in [e["type"] for e in events]


def test_a_request_split_one_word_per_message_is_judged_whole():
    conversation = split_last(EXAMPLE)
    assert len(conversation.messages) == 10
    model = ReplayModel(default=CLEARED)
    assess_windows(conversation, TEMPLATE, model)
    # every word of the request is in the one window the model saw
    shown = model.history[-1].user
    assert all(w in shown for w in EXAMPLE.last.text.split())
    judged = assess_windows(conversation, TEMPLATE, resolve("local:baseline"))
    assert judged.verdict.suspicious is True and judged.unseen == 0


# -- finding 2: the long-message cut reads the normalised copy ----------------------------

# Friendly padding that no repeat-collapsing shortens: every sentence differs.
PAD = " ".join(f"Day {i} of the trip was sunny and the garden looked lovely." for i in range(80))
SMALL_CAPS = str.maketrans("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnoprstuvwyz")


def fold_small_caps_and_marks(text: str) -> str:
    """A normaliser that folds what pipeline.normalise does not yet (small capitals,
    combining accents), on top of it: the cut must read cues through what it is given."""
    text = normalised_text(text).translate(SMALL_CAPS)
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@pytest.mark.parametrize(
    "word",
    ["ᴅᴇᴘᴏꜱɪᴛ", "d\u0301e\u0301p\u0301o\u0301s\u0301i\u0301t\u0301"],
    ids=["small", "accents"],
)
def test_the_cut_finds_the_request_through_the_normaliser_it_is_given(word):
    text = f"{PAD}Send the {word} to reserve it. {PAD}"
    assert len(text) > 9000
    # control: matched as written, the request is cut away
    assert "Send the" not in truncate_text(text, 2000, match=lambda t: t)
    # read through a normaliser that folds the rewrite, it is kept
    kept = truncate_text(text, 2000, match=fold_small_caps_and_marks)
    assert "Send the " in kept and " to reserve it" in kept


REWRITES = {
    "zero-width": "d\u200be\u200bp\u200bo\u200bs\u200bi\u200bt",
    "fullwidth": "ｄｅｐｏｓｉｔ",
    "cyrillic-in-latin": "dеpоsit",  # е and о are Cyrillic
    "small-capitals": "ᴅᴇᴘᴏꜱɪᴛ",  # folded once pipeline.normalise maps small capitals
}


@pytest.mark.parametrize("name", sorted(REWRITES))
def test_a_padded_request_stays_in_the_rendered_prompt_when_normalisation_reads_it(name):
    # the rewritten word is the request's only cue
    text = f"{PAD}Please send the {REWRITES[name]} today. {PAD}"
    rendered = TEMPLATE.render_conversation(
        conversation_from_dict({"id": "p", "messages": [{"sender": "seller", "text": text}]})
    ).user
    reads = "deposit" in normalised_text(REWRITES[name]).lower()
    if name != "small-capitals":
        assert reads  # today's normalisation folds these
    # the cut keeps the request exactly when the normaliser reads it as one
    assert ("Please send the" in rendered) == reads


# -- the risk state ----------------------------------------------------------------------


def test_the_state_is_monotone_and_only_a_reviewer_lowers_it():
    state = RiskState(conversation_id="c")
    assert after_verdict(state, verdict(False)) == state
    flagged = after_verdict(state, verdict(True), [T0])
    assert flagged.level == "flagged" and flagged.pinned == (T0,) and flagged.flagged_at == T0
    # clean and undetermined windows leave the flag standing
    assert after_verdict(flagged, verdict(False, T0 + timedelta(hours=1))) == flagged
    assert after_verdict(flagged, verdict(None, T0 + timedelta(hours=1))) == flagged
    assert after_review(flagged, "cannot_tell") == flagged
    assert after_review(flagged, "scam").level == "confirmed"
    lifted = after_review(flagged, "not_scam")
    assert lifted.level == "lifted" and not lifted.standing and lifted.pinned == ()
    again = after_verdict(lifted, verdict(True, T0 + timedelta(days=1)))
    assert again.level == "flagged" and again.flagged_at == T0 + timedelta(days=1)


def test_a_high_score_without_a_flag_pins_but_raises_nothing():
    state = RiskState(conversation_id="c")
    unsure = verdict(False, score=0.6)
    pinned = after_verdict(state, unsure, [T0])
    assert pinned.level == "clear" and pinned.pinned == (T0,) and not pinned.standing
    assert after_verdict(state, verdict(False, score=0.2), [T0]) == state


def test_worst_verdict_prefers_flagged_then_undetermined():
    clean, unsure, flag = verdict(False, score=0.1), verdict(None), verdict(True, score=0.7)
    assert worst([clean, unsure, flag]) is flag
    assert worst([clean, unsure]) is unsure
    assert worst([verdict(False, score=0.1), verdict(False, score=0.3)]).score == 0.3


def check_conditional_store(store: Any) -> None:
    before = store.get("c")
    assert before.version == 0 and before.level == "clear"
    flagged = after_verdict(before, verdict(True)).model_copy(update={"version": 1})
    assert store.put(flagged, 0) is True
    assert store.put(flagged, 0) is False  # a second first write loses
    assert store.get("c").level == "flagged"
    stale = flagged.model_copy(update={"level": "lifted", "version": 2})
    assert store.put(stale, 5) is False  # the version moved on: refused
    _, after = update(store, "c", lambda s: after_review(s, "scam"))
    assert after.version == 2 and store.get("c").level == "confirmed"


def test_sqlite_risk_store_writes_conditionally(tmp_path):
    check_conditional_store(SqliteRiskStore(str(tmp_path / "risk.db")))


def test_dynamodb_risk_store_writes_conditionally(aws_client):
    client = aws_client("dynamodb")
    create_pk_sk_table(client, "risk-test")
    check_conditional_store(DynamoRiskStore("risk-test", client=client))


def test_a_lost_race_is_retried_on_the_new_state(tmp_path):
    store = SqliteRiskStore(str(tmp_path / "risk.db"))
    raced = []

    def change(state: RiskState) -> RiskState:
        if not raced:  # another writer flags the conversation between our read and write
            raced.append(1)
            other = after_verdict(state, verdict(True)).model_copy(update={"version": 1})
            assert store.put(other, 0)
        return after_review(state, "scam")

    _, after = update(store, "c", change)
    assert after.version == 2 and after.level == "confirmed" and len(raced) == 1


def test_pins_stay_within_the_token_budget_and_push_no_message_out():
    from pipeline.prompts import fit_budget, message_tokens
    from pipeline.windows import tiling_window

    long = "word " * 1600  # about 2,000 characters shown: about 500 tokens each
    conversation = Conversation(id="b", messages=tuple(messages("b", [long] * 12)))
    window = TEMPLATE.meta.history
    pin = conversation.messages[0]
    # GIVEN the window a checkpoint tiles (room kept for pins) and an earlier pinned message
    tile = fit_budget(conversation, tiling_window(window))
    assert pin not in tile.messages
    shown = fit_budget(
        tile.model_copy(update={"messages": (pin, *tile.messages)}), window, {pin.timestamp}
    )
    # THEN the pin is shown with every tiled message, within the budget
    assert shown.messages == (pin, *tile.messages)
    assert sum(message_tokens(m, window) for m in shown.messages) <= window.token_budget
    # and without the reserve a pin is left out rather than push a message out
    full = fit_budget(conversation, window)
    crowded = fit_budget(
        full.model_copy(update={"messages": (pin, *full.messages)}), window, {pin.timestamp}
    )
    assert crowded.messages == full.messages


# -- the reviewer is the one who lowers a flag ---------------------------------------------


def test_a_reviewers_decision_lowers_the_flag_and_an_undo_raises_it_again(tmp_path):
    from tests.review_helpers import local_service

    db = tmp_path / "parley.db"
    history, events = SqliteHistory(str(db)), []

    class Events:
        def publish(self, envelopes: list[dict[str, Any]]) -> None:
            events.extend(envelopes)

    # GIVEN the stream job and the review app on one SQLite file, as `parley` sets them up
    risk = SqliteRiskStore(str(db))
    handler = build_handler(
        model=ReplayModel([FLAGGED], default=CLEARED),
        history=history,
        publisher=VerdictPublisher(SqliteVerdictSink(str(db)), Events()),
        settings=Settings(max_concurrency=1, min_remaining_ms=0),
        risk=risk,
        metrics=None,
    )
    replay(handler, history, messages("conv-r", ["pay the deposit by wire"]), 1)
    replay(handler, history, messages("conv-r", ["ok"], T0 + timedelta(hours=1)), 10)
    assert [e["type"] for e in events] == ["parley.conversation.flagged", HELD]
    service = local_service(db)
    flagged = next(
        s for s in SqliteVerdictSink(str(db)).all() if s.verdict.event_type.endswith("flagged")
    )

    # WHEN a reviewer finds no scam, the flag is lifted
    service.open(flagged.key, "ana@example.com")
    decision = service.decide(flagged.key, "ana@example.com", "not_scam", [])
    assert risk.get("conv-r").level == "lifted"
    # and an undo puts the flag back: the stream holds the next clean window again
    service.undo(flagged.key, decision.decision_id, "ana@example.com")
    assert risk.get("conv-r").level == "flagged"
    replay(handler, history, messages("conv-r", ["bye"], T0 + timedelta(hours=2)), 20)
    assert events[-1]["type"] == HELD
    # a scam decision confirms it; the model is told so
    service.open(flagged.key, "ana@example.com")
    service.decide(flagged.key, "ana@example.com", "scam", ["advance_fee_deposit"])
    assert risk.get("conv-r").level == "confirmed"


def test_the_deployed_job_keeps_risk_state_beside_its_verdicts(tmp_path, aws_client):
    from pipeline.stream import handler_from_settings

    local = Settings(history=f"sqlite:{tmp_path / 'h.db'}", verdicts_sqlite=str(tmp_path / "v.db"))
    handler = handler_from_settings(local)
    assert isinstance(handler.risk, SqliteRiskStore) and handler.risk.path == str(tmp_path / "v.db")
    client = aws_client("dynamodb")
    create_pk_sk_table(client, "risk-deployed")
    create_pk_sk_table(client, "verdicts-deployed")
    deployed = Settings(
        history=f"sqlite:{tmp_path / 'h.db'}",
        verdicts_table="verdicts-deployed",
        risk_table="risk-deployed",
    )
    handler = handler_from_settings(deployed, clients={"dynamodb": client})
    assert isinstance(handler.risk, DynamoRiskStore) and handler.risk.table == "risk-deployed"


def test_a_conversation_past_the_window_bound_counts_what_was_not_judged():
    conversation = flooded(EXAMPLE, 20)  # 22 messages: two windows of 20
    model = ReplayModel(default=CLEARED)
    assert assess_windows(conversation, TEMPLATE, model).unseen == 0
    capped = assess_windows(conversation, TEMPLATE, model, max_windows=1)
    assert capped.unseen == 2 and len(capped.windows) == 1


def test_a_request_split_one_word_per_message_is_one_window_in_the_stream():
    history, events = SqliteHistory(":memory:"), []
    model = ReplayModel(default=CLEARED)
    handler = stream_handler(model, history, events, SqliteRiskStore(":memory:"))
    words = ["Send", "me", "a", "5000", "dollar", "deposit", "before", "the", "visit"]
    replay(handler, history, messages("conv-split", ["Can we fix a visit?", *words]), 1)
    # one batch, one checkpoint: every word of the request in the window judged
    assert len(model.history) == 1
    assert all(f"\n{w}\n" in model.history[0].user for w in words)
    # and through the baseline it is flagged
    flagged: list = []
    baseline = stream_handler(resolve("local:baseline"), SqliteHistory(":memory:"), flagged, None)
    replay(baseline, baseline.history, messages("conv-split", ["Can we fix a visit?", *words]), 1)
    assert [e["type"] for e in flagged] == ["parley.conversation.flagged"]


def test_the_short_form_of_the_measurement_meets_the_targets():
    # `python -m bench windows --quick`: the first 15 test-split scams (RELIABILITY.md)
    from bench.windows import run as measure

    rows = {name: value for name, value, _ in measure(quick=True)}
    assert rows["flood_moderate_missed"] == 0
    assert rows["replay_flagged_to_cleared"] == 0
    for rewrite in ("zero-width", "fullwidth", "cyrillic-in-latin"):
        assert rows[f"padded_kept_{rewrite}"] == 1.0


def test_filler_with_weak_cues_does_not_outrank_the_request():
    # "now" is a cue, and friendly filler says it: a passage of filler with two of them
    # must not take the place of the one passage with money and a payment channel
    filler = " ".join(
        f"Day {i} the garden looks much brighter now, and the kids play outside now."
        for i in range(60)
    )
    request = "Give the 900 euros to my cousin before Friday."
    text = f"{filler} {request} {filler}"
    kept = truncate_text(text, 2000)
    assert "900 euros to my cousin" in kept
    # control: the request is really in the middle, beyond what the two ends keep
    assert request not in text[:700] + text[-700:]
