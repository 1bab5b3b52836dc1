"""The Alexa skill end to end: real-shaped envelopes through the ask-sdk-core handlers.

Envelopes are tests/fixtures/alexa/*.json, adapted from `sam local generate-event
alexa-skills-kit` samples to this skill's intents. Every response must deserialize
with ask-sdk-model, as Alexa would read it.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ask_sdk_core.serialize import DefaultSerializer

from pipeline.emulator import ScriptedResponder
from pipeline.history import SqliteHistory
from pipeline.models.replay import ReplayModel
from pipeline.settings import Settings
from skill import handler, intents
from skill.handler import (
    ERROR_LINE,
    FALLBACK_LINE,
    GOODBYE_LINE,
    HELP_LINE,
    HOME_LINE,
    LAUNCH_LINE,
    NO_LINE,
    YES_LINE,
    ForeignSkillError,
    build_skill,
    handle_event,
    lambda_handler,
)
from tests.conftest import REPO, load_fixture

FIXTURE_SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"
PACKAGE = REPO / "skill" / "skill-package"


def alexa(name: str) -> dict[str, Any]:
    return load_fixture(f"alexa/{name}.json")  # type: ignore[no-any-return]


def with_attributes(event: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """What Alexa does between requests: echo the session attributes back."""
    event["session"]["attributes"] = response.get("sessionAttributes") or {}
    return event


def as_alexa_reads_it(response: dict[str, Any]) -> Any:
    envelope = DefaultSerializer().deserialize(
        json.dumps(response), "ask_sdk_model.ResponseEnvelope"
    )
    assert envelope.version == "1.0"
    return envelope.response


def speech_of(response: dict[str, Any]) -> str:
    ssml = as_alexa_reads_it(response).output_speech.ssml
    root = ET.fromstring(ssml)  # valid XML: nothing from the model broke the SSML
    assert root.tag == "speak"
    return "".join(root.itertext())


def make_skill(model: Any = None, history: Any = None, **settings: Any) -> Any:
    return build_skill(
        model=model or ReplayModel(default="Okay!"),
        history=history or SqliteHistory(),
        settings=Settings(**settings),
    )


@pytest.mark.parametrize(
    ("fixture", "line", "ends"),
    [
        ("launch", LAUNCH_LINE, False),
        ("intent-help", HELP_LINE, False),
        ("intent-cancel", GOODBYE_LINE, True),
        ("intent-stop", GOODBYE_LINE, True),
        ("intent-yes", YES_LINE, False),
        ("intent-no", NO_LINE, False),
        ("intent-fallback", FALLBACK_LINE, False),
        ("intent-navigate-home", HOME_LINE, False),
    ],
)
def test_built_in_requests_are_answered_locally(fixture: str, line: str, ends: bool) -> None:
    model = ReplayModel(default="never used")

    response = handle_event(make_skill(model), alexa(fixture))

    body = as_alexa_reads_it(response)
    assert speech_of(response) == line
    assert bool(body.should_end_session) is ends
    assert (body.reprompt is None) is ends, "an open session always reprompts"
    assert model.history == [], "built-in intents never call the model"


def test_session_ended_request_gets_an_empty_response() -> None:
    response = handle_event(make_skill(), alexa("session-ended"))

    body = as_alexa_reads_it(response)
    assert body.output_speech is None and body.reprompt is None


def test_chat_intent_answers_with_the_model_speech_reprompt_and_card() -> None:
    model = ReplayModel(["Coffee is for grown-ups! How about warm milk after lunch?"])

    response = handle_event(make_skill(model), alexa("intent-chat"))

    body = as_alexa_reads_it(response)
    assert speech_of(response) == "Coffee is for grown-ups! How about warm milk after lunch?"
    assert body.card.content == "Coffee is for grown-ups! How about warm milk after lunch?"
    assert body.reprompt.output_speech.ssml.startswith("<speak>")
    assert body.should_end_session is False
    assert "<child>a cup of coffee</child>" in model.history[0].user
    assert response["sessionAttributes"][handler.CALLS_ATTRIBUTE] == 1


def test_multi_turn_session_remembers_through_lambda_handler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the Lambda entry with the container's skill already built
    model = ReplayModel(["Coffee is for grown-ups!", "One biscuit after dinner."])
    monkeypatch.setattr(handler, "_skill", make_skill(model))

    # WHEN the child asks, then follows up in the same session
    first = lambda_handler(alexa("intent-chat"), None)
    second = lambda_handler(with_attributes(alexa("intent-chat-followup"), first), None)

    # THEN the second prompt carried the first turn, and the calls were counted
    prompt = model.history[1].user
    assert '<turn speaker="child">a cup of coffee</turn>' in prompt
    assert '<turn speaker="assistant">Coffee is for grown-ups!</turn>' in prompt
    assert "<child>a biscuit</child>" in prompt
    assert speech_of(second) == "One biscuit after dinner."
    assert second["sessionAttributes"][handler.CALLS_ATTRIBUTE] == 2


def test_lambda_handler_builds_the_skill_once_from_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(["Coffee is for grown-ups!", "One biscuit after dinner."]))
    database = tmp_path / "skill.db"
    monkeypatch.setenv("PARLEY_SKILL_MODEL", f"replay:{answers}")
    monkeypatch.setenv("PARLEY_SKILL_ID", FIXTURE_SKILL_ID)
    monkeypatch.setenv("PARLEY_HISTORY", f"sqlite:{database}")
    monkeypatch.setattr(handler, "_skill", None)

    first = lambda_handler(alexa("intent-chat"), None)
    built = handler.get_skill()
    second = lambda_handler(with_attributes(alexa("intent-chat-followup"), first), None)

    assert handler.get_skill() is built
    assert speech_of(first) == "Coffee is for grown-ups!"
    assert speech_of(second) == "One biscuit after dinner."
    stored = SqliteHistory(database).latest("skill#amzn1.echo-api.session.fixture-1", 10)
    assert [m.sender for m in stored.messages] == ["child", "assistant", "child", "assistant"]


def test_turns_are_stored_under_the_skill_prefix() -> None:
    history = SqliteHistory()
    handle_event(make_skill(ReplayModel(["Hi!"]), history), alexa("intent-chat"))

    assert history.conversation_ids() == ["skill#amzn1.echo-api.session.fixture-1"]
    senders = [
        m.sender for m in history.latest("skill#amzn1.echo-api.session.fixture-1", 5).messages
    ]
    assert senders == ["child", "assistant"]


def test_foreign_skill_id_is_refused_before_any_handler() -> None:
    model = ReplayModel(default="never used")
    skill = make_skill(model, skill_id="amzn1.ask.skill.11111111-1111-1111-1111-111111111111")

    with pytest.raises(ForeignSkillError):
        handle_event(skill, alexa("intent-chat"))
    with pytest.raises(ForeignSkillError):
        handle_event(skill, alexa("launch"))
    assert model.history == []


def test_own_skill_id_is_served() -> None:
    skill = make_skill(ReplayModel(["Hello!"]), skill_id=FIXTURE_SKILL_ID)

    assert speech_of(handle_event(skill, alexa("intent-chat"))) == "Hello!"


def test_hanging_model_gets_the_fallback_within_a_second(bedrock_emulator: Any) -> None:
    # GIVEN Bedrock (emulated) hanging for 30 s and a 0.5 s deadline
    from pipeline.models.bedrock import BedrockModel

    bedrock_emulator.configure(hang_rate=1.0, hang_s=30.0)
    client = bedrock_emulator.client(retries={"mode": "standard", "total_max_attempts": 1})
    model = BedrockModel("anthropic.claude-3-haiku-20240307-v1:0", client=client)
    skill = make_skill(model, model_deadline_s=0.5)

    # WHEN the child speaks
    started = time.perf_counter()
    response = handle_event(skill, alexa("intent-chat"))
    elapsed = time.perf_counter() - started

    # THEN the fallback is spoken in under a second (the guarantee) and the session stays open
    assert elapsed < 1.0
    assert "thinking cap" in speech_of(response)
    assert as_alexa_reads_it(response).should_end_session is False


def test_throttled_model_gets_a_fallback_and_the_session_stays_usable(
    bedrock_emulator: Any,
) -> None:
    from pipeline.models.bedrock import BedrockModel

    bedrock_emulator.configure(throttle_rate=1.0)
    client = bedrock_emulator.client(retries={"mode": "standard", "total_max_attempts": 1})
    skill = make_skill(BedrockModel("anthropic.claude-3-haiku-20240307-v1:0", client=client))

    first = handle_event(skill, alexa("intent-chat"))
    bedrock_emulator.configure(throttle_rate=0.0)
    bedrock_emulator.responder = ScriptedResponder(["Back again! Let's count to ten."])
    second = handle_event(skill, with_attributes(alexa("intent-chat-followup"), first))

    assert "So many friends" in speech_of(first)
    assert speech_of(second) == "Back again! Let's count to ten."


def test_model_markup_is_stripped_and_speech_is_valid_ssml() -> None:
    answer = 'Milk & <b>honey</b> <audio src="https://x.example/a.mp3"/> is 3 < 5 > 2!'

    response = handle_event(make_skill(ReplayModel([answer])), alexa("intent-chat"))

    ssml = as_alexa_reads_it(response).output_speech.ssml
    assert ssml == "<speak>Milk &amp; honey is 3 &lt; 5 &gt; 2!</speak>"
    assert speech_of(response) == "Milk & honey is 3 < 5 > 2!"


def test_answer_failing_the_screen_is_never_spoken() -> None:
    response = handle_event(
        make_skill(ReplayModel(["Call me on 555 012 3456, it's our secret!"])), alexa("intent-chat")
    )

    speech = speech_of(response)
    assert "555" not in speech and "secret" not in speech
    assert "something else" in speech
    assert as_alexa_reads_it(response).card.content == speech


def test_session_call_limit_ends_the_session_kindly() -> None:
    model = ReplayModel(default="Okay!")
    skill = make_skill(model, skill_max_calls_per_session=2)

    response: dict[str, Any] = {}
    for _ in range(2):
        response = handle_event(skill, with_attributes(alexa("intent-chat"), response))
    refused = handle_event(skill, with_attributes(alexa("intent-chat"), response))

    assert len(model.history) == 2
    assert "take a little break" in speech_of(refused)
    assert as_alexa_reads_it(refused).should_end_session is True


def test_forged_call_counter_is_not_trusted() -> None:
    model = ReplayModel(default="Okay!")
    event = alexa("intent-chat")
    event["session"]["attributes"] = {handler.CALLS_ATTRIBUTE: "-5"}

    response = handle_event(make_skill(model, skill_max_calls_per_session=1), event)

    assert speech_of(response) == "Okay!"
    assert response["sessionAttributes"][handler.CALLS_ATTRIBUTE] == 1


def test_unexpected_error_speaks_the_kind_exception_line() -> None:
    class BrokenTemplate:
        meta = SimpleNamespace(history=SimpleNamespace(messages=5))

        def render_conversation(self, *args: Any, **kwargs: Any) -> Any:
            raise KeyError("template exploded")

    skill = build_skill(
        model=ReplayModel(default="never"),
        history=SqliteHistory(),
        template=BrokenTemplate(),  # type: ignore[arg-type]
        settings=Settings(),
    )

    response = handle_event(skill, alexa("intent-chat"))

    assert speech_of(response) == ERROR_LINE
    assert as_alexa_reads_it(response).should_end_session is False


def test_a_session_logs_ids_and_sizes_never_words(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN the handler's JSON log output captured as Lambda would print it
    buffer = io.StringIO()
    json_handler = logging.StreamHandler(buffer)
    json_handler.setFormatter(handler.logger.registered_formatter)
    target = logging.getLogger(handler.logger.name)
    target.addHandler(json_handler)
    caplog.set_level(logging.DEBUG)
    words, answer = "a cup of coffee", "Secret Pip answer about warm milk"
    model = ReplayModel([answer, RuntimeError(f"failed on {words}")])
    skill = make_skill(model)
    try:
        # WHEN a whole session runs, with an answer, a model failure and the end
        first = handle_event(skill, alexa("launch"))
        response = handle_event(skill, with_attributes(alexa("intent-chat"), first))
        response = handle_event(skill, with_attributes(alexa("intent-chat"), response))
        handle_event(skill, alexa("session-ended"))
    finally:
        target.removeHandler(json_handler)

    # THEN the logs name requests and sizes, never the child's words or the answer
    logged = buffer.getvalue()
    records = [json.loads(line) for line in logged.splitlines()]
    assert {r.get("request_id") for r in records} >= {
        "amzn1.echo-api.request.launch-1",
        "amzn1.echo-api.request.chat-1",
    }
    chat_logs = [r for r in records if r.get("intent") == intents.CHAT]
    assert chat_logs[0]["utterance_chars"] == len(words)
    assert chat_logs[0]["speech_chars"] == len(answer)
    everything = logged + caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert words not in everything
    assert "warm milk" not in everything


def test_handler_import_stays_light() -> None:
    # Powertools itself imports the botocore package; no boto3, no client, no LangChain.
    code = (
        "import sys, skill.handler; "
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('langchain', 'langchain_aws', "
        "'langchain_core', 'boto3') or m == 'pipeline.models.bedrock']; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------ skill package


def test_skill_package_files_parse_and_match_the_code() -> None:
    manifest = json.loads((PACKAGE / "skill.json").read_text())["manifest"]
    language = json.loads((PACKAGE / "interactionModels/custom/en-US.json").read_text())[
        "interactionModel"
    ]["languageModel"]

    assert {i["name"] for i in language["intents"]} == set(intents.ALL_INTENTS)
    assert language["invocationName"] == intents.INVOCATION_NAME
    assert len(intents.INVOCATION_NAME.split()) == 2 and intents.INVOCATION_NAME.islower()
    privacy = manifest["privacyAndCompliance"]
    assert privacy["isChildDirected"] is True
    assert privacy["containsAds"] is False and privacy["usesPersonalInfo"] is False
    assert privacy["allowsPurchases"] is False and privacy["isExportCompliant"] is True
    assert manifest["publishingInformation"]["isAvailableWorldwide"] is False


def test_every_search_query_sample_has_a_carrier_phrase() -> None:
    language = json.loads((PACKAGE / "interactionModels/custom/en-US.json").read_text())[
        "interactionModel"
    ]["languageModel"]
    chat = next(i for i in language["intents"] if i["name"] == intents.CHAT)
    assert chat["slots"] == [{"name": intents.UTTERANCE_SLOT, "type": intents.UTTERANCE_SLOT_TYPE}]
    slot = "{" + intents.UTTERANCE_SLOT + "}"
    assert len(chat["samples"]) >= 6
    for sample in chat["samples"]:
        assert sample.count(slot) == 1, sample
        assert sample.replace(slot, "").strip(), f"{sample!r} has no carrier phrase"


def test_manifest_endpoint_is_a_placeholder_not_an_arn() -> None:
    text = (PACKAGE / "skill.json").read_text()
    manifest = json.loads(text)["manifest"]

    assert manifest["apis"]["custom"]["endpoint"]["uri"] == "${SKILL_ENDPOINT_ARN}"
    assert "arn:aws" not in text


# --------------------------------------------------------------------------- CLI


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from pipeline.cli import main

    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_runs_a_whole_session_with_memory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys, "skill", "simulate", "can I have a cup of coffee", "and a biscuit too", "--json"
    )

    assert code == 0
    data = json.loads(out)
    assert "canned" in data["model"] and "not an LLM" in data["model"]
    steps = data["steps"]
    types = [s["request"]["request"]["type"] for s in steps]
    assert types == ["LaunchRequest", "IntentRequest", "IntentRequest", "SessionEndedRequest"]
    assert (
        steps[1]["request"]["request"]["intent"]["slots"]["utterance"]["value"] == "a cup of coffee"
    )
    assert "Coffee" in steps[1]["speech"]
    assert "you asked for a cup of coffee too" in steps[2]["speech"], "memory of turn one"
    assert steps[2]["request"]["session"]["attributes"] == {handler.CALLS_ATTRIBUTE: 1}


def test_simulate_prints_what_alexa_would_say(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "skill", "simulate", "can I have a cup of coffee", "stop")

    assert code == 0
    assert "emulator: canned companion answers" in out
    assert "Alexa: Coffee is a grown-up drink" in out
    assert "reprompt:" in out and "card:" in out
    assert "[AMAZON.StopIntent]" in out and GOODBYE_LINE in out


def test_chat_reads_lines_until_stop(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sys, "stdin", io.StringIO("I want chocolate\nI want a cookie\nstop\nnever read\n")
    )

    code, out, _ = run_cli(capsys, "skill", "chat")

    assert code == 0
    assert "chocolate" in out
    assert "you asked for chocolate too" in out
    assert out.count("child:") == 4  # launch, two chats, stop
    assert "never read" not in out


def test_nlu_matches_carrier_phrases_built_ins_and_falls_back() -> None:
    from pipeline.cli.skill import NluModel

    nlu = NluModel.load()

    assert nlu.match("Can I have a cup of coffee?") == (
        intents.CHAT,
        {"utterance": "a cup of coffee"},
    )
    assert nlu.match("and a biscuit too") == (intents.CHAT, {"utterance": "a biscuit"})
    assert nlu.match("what can you do") == (intents.HELP, {})
    assert nlu.match("stop") == (intents.STOP, {})
    assert nlu.match("yes") == (intents.YES, {})
    assert nlu.match("blah") == (intents.FALLBACK, {})


def test_package_fills_the_endpoint(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:parley-skill"
    out_dir = tmp_path / "pkg"

    code, _, _ = run_cli(capsys, "skill", "package", "--endpoint", arn, "--out", str(out_dir))

    assert code == 0
    manifest = json.loads((out_dir / "skill.json").read_text())["manifest"]
    assert manifest["apis"]["custom"]["endpoint"]["uri"] == arn
    assert (out_dir / "interactionModels/custom/en-US.json").is_file()
    assert "${SKILL_ENDPOINT_ARN}" in (PACKAGE / "skill.json").read_text(), "source untouched"


def test_package_refuses_a_non_arn(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_cli(
        capsys, "skill", "package", "--endpoint", "https://evil.example", "--out", str(tmp_path)
    )

    assert code == 2
    assert "not a Lambda function ARN" in err
