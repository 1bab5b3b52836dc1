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
from pipeline.quiet import WakeUp, anchored_tiles, incremental_windows, window_mark
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
        self.handler = handler = build_handler(
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
    rig.worker = QuietWorker(rig.worker.runner, rig.history, group_template=template, context=None)
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


def test_incremental_windows_show_each_new_message_once_after_a_short_context() -> None:
    conversation = Conversation(id="A", messages=messages("A", 30))
    first = incremental_windows(conversation, None, 20, 5, keep_newest(20))
    assert [len(w.messages) for w in first] == [15, 5 + 15]  # tiles of 15, 5 before each
    later = incremental_windows(
        conversation, conversation.messages[26].timestamp, 20, 5, keep_newest(20)
    )
    assert [m.timestamp for m in later[0].messages] == [
        m.timestamp for m in conversation.messages[22:30]
    ]
    assert (
        incremental_windows(
            conversation, conversation.messages[-1].timestamp, 20, 5, keep_newest(20)
        )
        == []
    )
    # the key of a window is its newest message's: a later quiet point finds it from
    # that message alone
    window = Conversation(id="A", messages=conversation.messages[10:13])
    alone = Conversation(id="A", messages=conversation.messages[12:13])
    assert window_mark(window) == window_mark(alone) != window_mark(first[0])


def incremental_rig(model: Any, context: int = 5) -> Rig:
    template = DirectoryPromptStore(REPO_ROOT / "prompts").get(GROUP_PROMPT)
    rig = Rig(model, group=template)
    rig.worker = QuietWorker(
        rig.worker.runner, rig.history, group_template=template, context=context
    )
    return rig


class GroupRecorder:
    """Answers every group block as cleared, and records what each call showed."""

    model_id = "bedrock:test"

    def __init__(self) -> None:
        self.calls: list[list[tuple[str, datetime]]] = []

    def generate(self, prompt: Any, **_: Any) -> Any:
        import re

        from pipeline.models import ModelResult

        shown = []
        answers = []
        for ref, block in re.findall(
            r'<conversation ref="([0-9a-f]+)"[^>]*>(.*?)</conversation>', prompt.user, re.S
        ):
            answers.append({"ref": ref, "suspicious": False, "score": 0.05, "categories": []})
            shown += [(ref, at) for at in re.findall(r'at="([^"]+)"', block)]
        self.calls.append(shown)
        return ModelResult(model_id=self.model_id, structured={"verdicts": answers})


def test_an_incremental_quiet_point_shows_only_the_new_messages_after_five_before() -> None:
    model = GroupRecorder()
    rig = incremental_rig(model)
    first = messages("A", 8)
    rig.quiet_period(first)
    assert len(model.calls) == 1 and len(model.calls[0]) == 8
    more = messages("A", 2, start=8)
    rig.quiet_period(more)
    # 5 messages of context and the 2 new ones: not the whole window again
    assert len(model.calls) == 2 and len(model.calls[1]) == 7
    again = rig.quiet_period(more[-1:])  # a repeated wake-up: found by its key
    assert again.judged == 1 and len(model.calls) == 2
    flood = messages("A", 45, start=10)
    rig.quiet_period(flood)
    shown = [at for call in model.calls[2:] for _, at in call]
    new = {m.iso_timestamp[5:16] for m in flood}
    assert new <= set(shown)  # every new message of the flood judged
    stamps = [v.verdict.last_message_at for v in rig.store.all()]
    assert len(stamps) == len(set(stamps))  # no window published twice


def test_incremental_group_flags_only_the_scam_and_judges_every_message(
    emulated: Any, bedrock_emulator: BedrockEmulator
) -> None:
    rig = incremental_rig(emulated)
    honest = [messages(f"h{i}", 4) for i in range(3)]
    scam = [
        Message(
            conversation_id="s", timestamp=T0 + timedelta(seconds=10 * i), sender="seller", text=t
        )
        for i, t in enumerate(
            [
                "Hello, the flat is free for a visit.",
                "Send me a 500 dollar deposit before the visit, other buyers are waiting.",
                "Pay by gift card or wire transfer, not through the site.",
            ]
        )
    ]
    records = []
    for i, conv in enumerate([*honest, scam]):
        rig.history.append_many(conv)
        body = WakeUp(conv[-1].conversation_id, conv[-1].timestamp).body()
        records.append({"messageId": f"m{i}", "body": body})
    report = rig.worker.run({"Records": records})
    assert (report.judged, report.failed, bedrock_emulator.stats.served) == (4, [], 1)
    flagged = {v.verdict.conversation_id for v in rig.store.all() if v.verdict.suspicious}
    assert flagged == {"s"}


class BothPrompts(GroupRecorder):
    """Answers the stream job's own prompt as cleared, and group calls as GroupRecorder."""

    def generate(self, prompt: Any, **kwargs: Any) -> Any:
        from pipeline.models import ModelResult

        if "<conversation ref=" in prompt.user:
            return super().generate(prompt, **kwargs)
        return ModelResult(model_id=self.model_id, structured=CLEARED)


def test_a_quiet_point_starts_after_what_the_stream_job_judged_at_once() -> None:
    from bench.stream_throughput import stream_record

    model = BothPrompts()
    rig = incremental_rig(model)
    first = messages("A", 15)
    rig.history.append_many(first)
    records = [stream_record(m, i + 1) for i, m in enumerate(first)]
    rig.handler({"Records": records}, None)  # judged at once (say, risky) at message 15
    assert model.calls == []
    more = messages("A", 3, start=15)
    rig.quiet_period(more)
    # the worker shows the 3 new messages after 5 earlier ones, not 15 + 3 again
    assert len(model.calls) == 1 and len(model.calls[0]) == 8
    stamps = [v.verdict.last_message_at for v in rig.store.all()]
    assert sorted(stamps) == [first[-1].timestamp, more[-1].timestamp]  # none twice


class DropsFirstBlockOnce(GroupRecorder):
    """Leaves the first block of its first call unanswered."""

    def generate(self, prompt: Any, **kwargs: Any) -> Any:
        result = super().generate(prompt, **kwargs)
        if len(self.calls) == 1:
            result.structured["verdicts"] = result.structured["verdicts"][1:]
        return result


def test_no_window_is_published_past_an_older_one_left_unanswered() -> None:
    model = DropsFirstBlockOnce()
    rig = incremental_rig(model)
    flood = messages("A", 25)  # two windows: 15 new messages, then 10
    failed = rig.quiet_period(flood)
    assert len(failed.failed) == 1 and rig.store.all() == []  # the newer one held back
    retried = rig.quiet_period(flood[-1:])  # the wake-up comes back
    assert retried.failed == [] and retried.judged == 1
    stamps = sorted(v.verdict.last_message_at for v in rig.store.all())
    assert stamps == [flood[14].timestamp, flood[24].timestamp]
