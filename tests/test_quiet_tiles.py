"""The wake-up worker judges every message of a quiet period, however many came in it:
tiles anchored at the conversation's first message, each judged once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipeline.conversation import Conversation, Message
from pipeline.emulator import BedrockEmulator
from pipeline.group import GROUP_PROMPT
from pipeline.history import SqliteHistory
from pipeline.models import resolve
from pipeline.models.local import baseline_responder
from pipeline.models.replay import ReplayModel
from pipeline.prompts import DirectoryPromptStore
from pipeline.quiet import WakeUp, anchored_tiles
from pipeline.quiet_worker import QuietWorker
from pipeline.settings import REPO_ROOT, Settings
from pipeline.sinks import SqliteVerdictSink, VerdictPublisher
from pipeline.stream import build_handler

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
CLEARED = {"suspicious": False, "score": 0.05, "categories": [], "rationale": ""}
NOVA = "amazon.nova-micro-v1:0"


def messages(cid: str, n: int, start: int = 0) -> list[Message]:
    return [
        Message(
            conversation_id=cid,
            timestamp=T0 + timedelta(seconds=10 * i),
            sender="buyer" if i % 2 else "seller",
            text=f"Message {i}: is the bike still there, and does it come with lights?",
        )
        for i in range(start, start + n)
    ]


def keep_newest(k: int) -> Any:
    return lambda c: c.model_copy(update={"messages": c.messages[-k:]})


def test_tiles_cover_every_message_once_and_keep_their_bounds_as_the_conversation_grows() -> None:
    conversation = Conversation(id="A", messages=messages("A", 45))
    tiles = anchored_tiles(conversation, 20, keep_newest(20))
    assert [len(t.messages) for t in tiles] == [20, 20, 5]
    shown = [m.timestamp for t in tiles for m in t.messages]
    assert shown == [m.timestamp for m in conversation.messages]  # each once, in order
    grown = Conversation(id="A", messages=messages("A", 52))
    later = anchored_tiles(grown, 20, keep_newest(20))
    assert later[:2] == tiles[:2] and later[2].digest() != tiles[2].digest()
    # A prompt budget that keeps fewer makes smaller tiles, never a gap
    small = anchored_tiles(conversation, 20, keep_newest(7))
    assert [m.timestamp for t in small for m in t.messages] == shown
    assert max(len(t.messages) for t in small) == 7


class Rig:
    def __init__(self, model: Any, group: Any = None) -> None:
        self.history = SqliteHistory(":memory:")
        self.store = SqliteVerdictSink(":memory:")
        handler = build_handler(
            model=model,
            history=self.history,
            publisher=VerdictPublisher(self.store, None),
            settings=Settings(min_remaining_ms=0),
            metrics=None,
            sleep=lambda s: None,
        )
        self.worker = QuietWorker(handler.runner, self.history, group_template=group)

    def quiet_period(self, new: list[Message]) -> Any:
        self.history.append_many(new)
        body = WakeUp(new[-1].conversation_id, new[-1].timestamp).body()
        return self.worker.run({"Records": [{"messageId": f"w{len(new)}", "body": body}]})


def shown_by(model: ReplayModel) -> list[datetime]:
    return [m.timestamp for p in model.history for m in p.conversation.messages]


def test_more_than_a_window_of_messages_in_one_quiet_period_are_all_judged() -> None:
    model = ReplayModel(default=CLEARED)
    rig = Rig(model)
    flood = messages("A", 45)
    report = rig.quiet_period(flood)
    assert (report.judged, report.failed) == (1, [])
    # every message inside a judged window (the newest 20 alone would leave 25 unjudged)
    assert set(shown_by(model)) == {m.timestamp for m in flood}
    assert len(shown_by(model)) == 45  # and none twice
    stamps = sorted(v.verdict.last_message_at for v in rig.store.all())
    assert stamps == [flood[19].timestamp, flood[39].timestamp, flood[44].timestamp]


def test_a_later_quiet_period_judges_only_the_tile_still_filling() -> None:
    model = ReplayModel(default=CLEARED)
    rig = Rig(model)
    rig.quiet_period(messages("A", 45))
    calls = len(model.history)
    more = messages("A", 3, start=45)
    rig.quiet_period(more)
    assert len(model.history) == calls + 1  # the two full tiles cost no second call
    newest = model.history[-1].conversation.messages
    assert [m.timestamp for m in newest] == [m.timestamp for m in messages("A", 8, start=40)]
    # a repeated wake-up finds every tile stored
    again = rig.quiet_period(more[-1:])
    assert again.judged == 1 and len(model.history) == calls + 1


@pytest.fixture
def emulated(bedrock_emulator: BedrockEmulator, emulator_client: Any) -> Any:
    bedrock_emulator.responder = baseline_responder()
    return resolve(f"bedrock:{NOVA}", client=emulator_client)


def test_the_group_path_judges_every_tile_of_a_flood_each_under_its_own_ref(
    emulated: Any, bedrock_emulator: BedrockEmulator
) -> None:
    template = DirectoryPromptStore(REPO_ROOT / "prompts").get(GROUP_PROMPT)
    rig = Rig(emulated, group=template)
    flood = messages("A", 45)
    other = messages("B", 3)
    rig.history.append_many(other)
    b_wake = {"messageId": "b", "body": WakeUp("B", other[-1].timestamp).body()}
    rig.history.append_many(flood)
    a_wake = {"messageId": "a", "body": WakeUp("A", flood[-1].timestamp).body()}
    report = rig.worker.run({"Records": [a_wake, b_wake]})
    assert (report.judged, report.failed, bedrock_emulator.stats.served) == (2, [], 1)
    stamps = sorted((v.verdict.conversation_id, v.verdict.last_message_at) for v in rig.store.all())
    assert stamps == [
        ("A", flood[19].timestamp),
        ("A", flood[39].timestamp),
        ("A", flood[44].timestamp),
        ("B", other[-1].timestamp),
    ]
