"""Privacy (issue 7, part 6): no log line holds message text, a child's words, an e-mail
address or a phone number.

Everything a log could carry is captured while the four front doors work on texts
holding distinctive sentinels: every log record that reaches the root logger (message
and every attribute, so `extra=` fields count), the JSON lines the Powertools loggers
write (what CloudWatch would get), and all output on file descriptors 1 and 2 (EMF
metrics, warnings, the CLI). Parley's own loggers run at DEBUG. Third-party loggers
keep their default level: botocore's DEBUG log prints request bodies, so it must stay
off in production (RELIABILITY.md).
"""

from __future__ import annotations

import copy
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.emulator import BedrockEmulator, EmulatorReply, FaultConfig
from pipeline.errors import ModelError
from pipeline.history import SqliteHistory
from pipeline.models.bedrock import BedrockModel
from pipeline.models.replay import ReplayModel
from pipeline.settings import Settings
from pipeline.sinks import SqliteVerdictSink, VerdictPublisher
from pipeline.stream import build_handler
from pipeline.stream import logger as stream_logger
from pipeline.stream import metrics as stream_metrics
from skill.handler import ForeignSkillError, InvalidEnvelopeError, build_skill, handle_event
from skill.handler import logger as skill_logger
from tests.conftest import load_fixture

MESSAGE_SENTINEL = "Quokka-Zanzibar-7731"
CHILD_WORDS = "purple dinosaur cake for Wobblebottom"
EMAIL = "mia.parent@example.com"
PHONE = "+44 20 7946 0958"
SECRETS = [MESSAGE_SENTINEL, CHILD_WORDS, "Wobblebottom", EMAIL, "mia.parent", PHONE, "7946 0958"]
SCAM = f"{MESSAGE_SENTINEL}: send the deposit to {EMAIL} or call {PHONE} before the visit"
FIXTURE_SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"


class Spy(logging.Handler):
    """Keeps every record's message and all of its attributes, as text."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.__dict__!r}")


@pytest.fixture
def logs(capfd: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """A function returning everything logged or printed so far."""
    spy = Spy()
    root = logging.getLogger()
    root.addHandler(spy)
    buffers: list[io.StringIO] = []
    restore: list[tuple[Any, Any]] = []
    powertools = [stream_logger, skill_logger]
    levels = [(p, p.log_level) for p in powertools]
    stdlib = [logging.getLogger(n) for n in ("parley", "pipeline", "skill")]
    stdlib_levels = [(lg, lg.level) for lg in stdlib]
    for lg in stdlib:
        lg.setLevel(logging.DEBUG)
    for p in powertools:
        p.setLevel("DEBUG")
        target = p._logger
        if not target.propagate:
            target.addHandler(spy)
        for handler in target.handlers:
            if isinstance(handler, logging.StreamHandler) and handler is not spy:
                buffers.append(io.StringIO())
                restore.append((handler, handler.setStream(buffers[-1])))
    seen: list[str] = []

    def everything() -> str:
        out, err = capfd.readouterr()
        seen.append(out + err)
        return "\n".join([*spy.lines, *(b.getvalue() for b in buffers), *seen])

    try:
        yield everything
    finally:
        root.removeHandler(spy)
        for p in powertools:
            p._logger.removeHandler(spy)
        for handler, stream in restore:
            handler.setStream(stream)
        for p, level in levels:
            p.setLevel(level)
        for lg, level in stdlib_levels:
            lg.setLevel(level)


def assert_private(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} was logged"


def stream_event() -> dict[str, Any]:
    """The burst fixture with the sentinels in every message, plus an edit that keeps the
    text (skipped) and one that changes it (judged)."""
    event = load_fixture("streams/marketplace-burst.json")
    for i, record in enumerate(event["Records"]):
        record["dynamodb"]["NewImage"]["message"]["S"] = f"{SCAM} ({i})"
    edit = copy.deepcopy(event["Records"][0])
    edit["eventName"] = "MODIFY"
    edit["dynamodb"]["SequenceNumber"] = "9" * 28
    edit["dynamodb"]["OldImage"] = copy.deepcopy(edit["dynamodb"]["NewImage"])
    changed = copy.deepcopy(edit)
    changed["dynamodb"]["SequenceNumber"] = "9" * 27 + "8"
    changed["dynamodb"]["NewImage"]["message"]["S"] = f"{SCAM} (edited)"
    event["Records"] += [edit, changed]
    return event


def test_stream_job_logs_no_message_text(logs: Any):
    # a model that answers, then one that fails with the text in its error message
    event = stream_event()
    ok = build_handler(
        model=ReplayModel(default={"suspicious": True, "score": 0.9, "categories": [],
                                   "rationale": f"asked for {EMAIL}"}),
        history=SqliteHistory(),
        publisher=VerdictPublisher(SqliteVerdictSink(":memory:"), None),
        settings=Settings(),
        metrics=stream_metrics,
    )  # fmt: skip
    ok(event)
    failing = build_handler(
        model=ReplayModel(default=ModelError(f"refused: {SCAM}", retryable=True)),
        history=SqliteHistory(),
        publisher=VerdictPublisher(SqliteVerdictSink(":memory:"), None),
        settings=Settings(),
        metrics=None,
        sleep=lambda s: None,
    )
    failing(event)
    # Bedrock over the wire, answering by echoing the prompt (an unparseable answer)
    with BedrockEmulator(lambda r: EmulatorReply(text=r.prompt_text), FaultConfig()) as emulator:
        client = emulator.client(retries={"mode": "standard", "total_max_attempts": 1})
        echo = build_handler(
            model=BedrockModel("amazon.nova-micro-v1:0", client=client),
            history=SqliteHistory(),
            publisher=VerdictPublisher(SqliteVerdictSink(":memory:"), None),
            settings=Settings(),
            metrics=None,
        )
        assert all(v.status == "undetermined" for v in echo.run(event).verdicts)

    logged = logs()
    assert "batch done" in logged and "record skipped" in logged  # the capture works
    assert "conversation failed" in logged and "RecordsReceived" in logged
    assert_private(logged)


def with_words(name: str, words: str, session: str = "privacy-1") -> dict[str, Any]:
    event = load_fixture(f"alexa/{name}.json")
    event["session"]["sessionId"] = f"amzn1.echo-api.session.{session}"
    slots = event["request"].get("intent", {}).get("slots", {})
    if "utterance" in slots:
        slots["utterance"]["value"] = words
    return event


def test_skill_session_logs_no_childs_words(logs: Any):
    answers = [
        f"A {CHILD_WORDS}? Yummy! Let's ask a grown-up after lunch.",
        RuntimeError(f"model failed on {CHILD_WORDS}"),
        f"Call me on {PHONE} or write to {EMAIL}!",  # refused by the screen
        f"I love {CHILD_WORDS} too.",
    ]
    skill = build_skill(
        model=ReplayModel(answers, default="Okay!"),
        history=SqliteHistory(),
        settings=Settings(skill_id=FIXTURE_SKILL_ID, skill_user_memory=True),
    )
    said = f"I want a {CHILD_WORDS}, my mum is {EMAIL} and {PHONE}"
    response = handle_event(skill, load_fixture("alexa/launch.json"))
    for turn in range(4):
        event = with_words("intent-chat", said)
        event["session"]["attributes"] = response.get("sessionAttributes") or {}
        event["request"]["requestId"] = f"amzn1.echo-api.request.privacy-{turn}"
        response = handle_event(skill, event)
    handle_event(skill, load_fixture("alexa/session-ended.json"))
    # refused requests: another skill's id, and an envelope the SDK cannot read (whose
    # error message quotes the field)
    foreign = with_words("intent-chat", said)
    foreign["context"]["System"]["application"]["applicationId"] = "amzn1.ask.skill.other"
    with pytest.raises(ForeignSkillError):
        handle_event(skill, foreign)
    broken = with_words("intent-chat", said)
    broken["context"]["AudioPlayer"]["playerActivity"] = said
    with pytest.raises(InvalidEnvelopeError):
        handle_event(skill, broken)

    logged = logs()
    assert "alexa request" in logged and "utterance_chars" in logged  # the capture works
    assert "request refused" in logged
    assert_private(logged)


def test_cli_moderate_and_history_log_no_text(logs: Any, tmp_path: Path):
    path = tmp_path / "conversation.json"
    messages = [
        {"sender": "buyer", "text": f"Hi, is the flat free? I am {EMAIL}"},
        {"sender": "seller", "text": SCAM},
    ]
    path.write_text(json.dumps({"id": "conv-privacy", "messages": messages}), encoding="utf-8")
    db = tmp_path / "history.db"

    def cli(*args: str) -> None:
        try:
            main([*args])
        except SystemExit as exc:
            assert not exc.code, args

    cli("moderate", str(path))
    cli("moderate", str(path), "--json")
    cli("history", "add", "--file", str(path), "--history", f"sqlite:{db}")
    cli("moderate", "--id", "conv-privacy", "--history", f"sqlite:{db}")

    # The CLI's output is the verdicts (ids, scores, categories), never the messages.
    logged = logs()
    assert "conv-privacy" in logged  # the capture works
    assert_private(logged)


def test_eval_runner_logs_no_text(logs: Any, tmp_path: Path):
    dataset = tmp_path / "cases.jsonl"
    cases = [
        {"id": f"priv-{i}", "split": "test", "label": i % 2, "category": "other" if i % 2 else
         "none", "tags": [], "lang": "en", "messages": [
             {"sender": "buyer", "text": f"Hello, still for sale? {EMAIL}"},
             {"sender": "seller", "text": f"{SCAM} #{i}"}]}
        for i in range(6)
    ]  # fmt: skip
    dataset.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: privacy\n"
        "datasets: [{path: cases.jsonl}]\n"
        "prompts: [suspicious-conversation@2]\n"
        "models: [local:baseline, 'bedrock:amazon.nova-micro-v1:0']\n"
        "emulator: {start: true, latency_ms: 0, responder: baseline}\n"
        "bootstrap: 0\n",
        encoding="utf-8",
    )
    try:
        main(["eval", str(suite), "--output", str(tmp_path / "out"), "--quiet"])
    except SystemExit as exc:
        assert exc.code in (0, 1, None)  # a gate verdict, not a crash

    logged = logs()
    assert (tmp_path / "out" / "results.json").exists()
    assert_private(logged)
