"""Fuzzing the two front doors (issue 7, part 3): the stream handler and the Alexa skill
take arbitrary JSON-like input, and real-shaped events with fields replaced or deleted,
and answer each with a result or a clear error, never an unexpected exception.

Verdict parsing, record parsing and file parsing have their own properties in
test_properties.py and test_records.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from bench.hostile import (
    alexa_events,
    check_alexa_event,
    check_stream_event,
    fuzz_stream_handler,
    stream_events,
)
from pipeline.history import SqliteHistory
from pipeline.models.replay import ReplayModel
from pipeline.settings import Settings
from skill import handler as skill_handler
from skill.handler import InvalidEnvelopeError, build_skill, lambda_handler
from tests.conftest import load_fixture

FIXTURE_SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def stream_handler() -> Any:
    return fuzz_stream_handler()


@pytest.fixture(scope="module")
def skill() -> Any:
    return build_skill(
        model=ReplayModel(default="Okay, let's count to ten!"),
        history=SqliteHistory(),
        settings=Settings(skill_id=FIXTURE_SKILL_ID),
    )


@FUZZ
@given(event=stream_events())
def test_stream_handler_answers_any_event_and_loses_nothing(stream_handler: Any, event: Any):
    check_stream_event(stream_handler, event)


@FUZZ
@given(event=alexa_events())
def test_skill_answers_or_refuses_any_envelope_clearly(skill: Any, event: Any):
    check_alexa_event(skill, event)


def test_lambda_handler_refuses_what_is_not_an_envelope_without_quoting_it(
    skill: Any, monkeypatch: pytest.MonkeyPatch
):
    # The SDK's own error quotes the input, and Lambda logs an unhandled error's message.
    monkeypatch.setattr(skill_handler, "_skill", skill)
    event = load_fixture("alexa/intent-chat.json")
    event["context"]["AudioPlayer"]["playerActivity"] = "my secret words"
    with pytest.raises(InvalidEnvelopeError) as refused:
        lambda_handler(event, None)
    assert "secret" not in str(refused.value)
    for nothing in (None, [], "text", {"request": 5}):
        with pytest.raises(InvalidEnvelopeError):
            lambda_handler(nothing, None)  # type: ignore[arg-type]
    assert lambda_handler(load_fixture("alexa/launch.json"), None)["version"] == "1.0"


def test_skill_server_maps_a_bad_envelope_to_400(skill: Any):
    from skill.server import SkillServer

    server = SkillServer(skill, verifier=None)
    assert server.respond({}, b'{"request": {"type": 3}}')[0] == 400
    assert server.respond({}, b"null")[0] == 400
