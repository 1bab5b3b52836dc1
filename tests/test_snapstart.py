"""SnapStart runtime hooks (pipeline/snapstart.py), run the way Lambda runs them.

`snapshot_restore_py` (the library Lambda's Python runtimes provide, installed from
PyPI for the tests) keeps the registered hooks; these tests call the hooks the handler
modules registered, before-snapshot ones in reverse order of registration and
after-restore ones in order, as the runtime does, against moto's server and the
Bedrock emulator.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from snapshot_restore_py import get_after_restore, get_before_snapshot

from pipeline import aws, snapstart
from pipeline.history import DynamoHistory
from tests.conftest import load_fixture
from tests.test_sinks import open_event_bus, open_verdicts_table
from tests.test_stream import FakeContext, seed_table

SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"


def take_snapshot(prime: Callable[[], Any]) -> None:
    """Run the before-snapshot hooks registered for `prime` (reverse registration order)."""
    hooks = [(f, a, k) for f, a, k in get_before_snapshot() if a == (prime,)]
    assert hooks, "no before-snapshot hook registered"
    for func, args, kwargs in reversed(hooks):
        func(*args, **kwargs)


def restore(rebuild: Callable[[], Any]) -> None:
    """Run the after-restore hooks registered for `rebuild` (registration order)."""
    hooks = [(f, a, k) for f, a, k in get_after_restore() if a == (rebuild,)]
    assert hooks, "no after-restore hook registered"
    for func, args, kwargs in hooks:
        func(*args, **kwargs)


@pytest.fixture
def event_bus(aws_client):
    with open_event_bus(aws_client) as bus:
        yield bus


@pytest.fixture
def verdicts_table(aws_client):
    with open_verdicts_table(aws_client) as name:
        yield name


def deployed_environment(monkeypatch, emulator, moto_server: str, **tables: str) -> None:
    """The variables the SAM template sets, with loopback endpoints."""
    values = {
        "PARLEY_MODEL": "bedrock:amazon.nova-micro-v1:0",
        "PARLEY_SKILL_MODEL": "bedrock:amazon.nova-micro-v1:0",
        "PARLEY_SKILL_ID": SKILL_ID,
        "PARLEY_BEDROCK_ENDPOINT_URL": emulator.endpoint_url,
        "PARLEY_AWS_ENDPOINT_URL": moto_server,
        "PARLEY_HISTORY": f"dynamodb:{tables['history']}",
    }
    if "verdicts" in tables:
        values["PARLEY_VERDICTS_TABLE"] = tables["verdicts"]
    if "bus" in tables:
        values["PARLEY_EVENT_BUS"] = tables["bus"]
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def test_the_handler_modules_register_their_hooks() -> None:
    import pipeline.stream as job
    import skill.handler as skill

    before = [a for _, a, _ in get_before_snapshot()]
    after = [a for _, a, _ in get_after_restore()]
    assert (job.lambda_handler.prime,) in before and (job.lambda_handler.rebuild,) in after
    assert (skill.prime_skill,) in before and (skill.rebuild_skill,) in after


def test_nothing_is_registered_without_the_runtime_library(monkeypatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "snapshot_restore_py", None)
    assert snapstart.register(lambda: None, lambda: None) is False


def test_stream_job_built_before_snapshot_and_renewed_after_restore(
    monkeypatch, bedrock_emulator, moto_server, aws_client, conversations_table, verdicts_table,
    event_bus,
) -> None:  # fmt: skip
    import pipeline.stream as job

    # GIVEN the deployed configuration and a container not built yet
    deployed_environment(
        monkeypatch,
        bedrock_emulator,
        moto_server,
        history=conversations_table,
        verdicts=verdicts_table,
        bus=event_bus.name,
    )
    monkeypatch.setattr(job.lambda_handler, "_handler", None)
    event = load_fixture("streams/marketplace-insert-modify-remove.json")
    seed_table(DynamoHistory(conversations_table, client=aws_client("dynamodb")), event)

    # WHEN Lambda takes the snapshot
    take_snapshot(job.lambda_handler.prime)

    # THEN the handler is built, its prompt compiled, and no model call was made
    built = job.lambda_handler._handler
    assert built is not None
    assert "_compiled" in vars(built.template)
    assert bedrock_emulator.stats.served == 0
    # the EventBridge client waits for the first publish
    assert built.publisher.events is not None and built.publisher.events._client is None

    # WHEN an environment is restored from the snapshot, with other credentials and
    # the snapshot's random state
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "after-restore")
    random.seed(1234)
    frozen = random.Random(1234).random()
    restore(job.lambda_handler.rebuild)

    # THEN the random state differs, the clients are new and resolve the new
    # credentials, and the templates loaded before the snapshot are kept
    assert random.random() != frozen
    renewed = job.lambda_handler._handler
    assert renewed is not None and renewed is not built
    assert renewed.template is built.template
    assert renewed.model.client is not built.model.client
    assert renewed.history.client is not built.history.client
    assert renewed.rng.getstate() != built.rng.getstate()
    assert aws.session().get_credentials().access_key == "after-restore"

    # THEN the first request after the restore is served: one model call, one event
    assert job.lambda_handler(event, FakeContext()) == {"batchItemFailures": []}
    assert bedrock_emulator.stats.served == 1
    assert len(event_bus.received()) == 1


def test_skill_built_before_snapshot_and_answers_after_restore(
    monkeypatch, bedrock_emulator, moto_server, conversations_table
) -> None:
    import skill.handler as skill

    # GIVEN the deployed configuration and a container not built yet
    deployed_environment(monkeypatch, bedrock_emulator, moto_server, history=conversations_table)
    monkeypatch.setattr(skill, "_skill", None)
    monkeypatch.setattr(skill, "_companion", None)

    # WHEN Lambda takes the snapshot, then restores an environment from it
    take_snapshot(skill.prime_skill)
    built, companion = skill._skill, skill._companion
    assert built is not None and companion is not None
    assert "_compiled" in vars(companion.template)
    assert bedrock_emulator.stats.served == 0
    restore(skill.rebuild_skill)

    # THEN the skill is built again on new clients, with the same prompt
    assert skill._skill is not built and skill._companion is not companion
    assert skill._companion is not None and skill._companion.template is companion.template
    assert skill._companion.model.client is not companion.model.client  # type: ignore[attr-defined]

    # THEN the first request after the restore is answered by the model
    response = skill.lambda_handler(load_fixture("alexa/intent-chat.json"), None)
    assert response["response"]["outputSpeech"]["ssml"].startswith("<speak>")
    assert bedrock_emulator.stats.served == 1


def test_refresh_closes_clients_and_keeps_the_parsed_service_models(monkeypatch) -> None:
    # GIVEN a session that resolved credentials (a session keeps the ones it resolved)
    aws.refresh()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "before")
    before = aws.client("dynamodb", region_name="us-east-1")
    loader = aws.session()._session.get_component("data_loader")
    assert aws.session().get_credentials().access_key == "before"

    # WHEN the credentials change and the process is refreshed
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "after")
    assert aws.refresh() >= 1

    # THEN new clients see the new credentials, on the loader that parsed the models

    after = aws.client("dynamodb", region_name="us-east-1")
    assert after is not before
    assert aws.session().get_credentials().access_key == "after"
    assert aws.session()._session.get_component("data_loader") is loader


def test_review_app_rebuilt_after_restore(monkeypatch, tmp_path) -> None:
    import importlib
    import sys

    from pipeline.settings import get_settings
    from review.wiring import get_review_settings
    from tests.test_review_app import _http_api_event

    # GIVEN the review function initialised (its init is what SnapStart snapshots)
    monkeypatch.setenv("PARLEY_VERDICTS_SQLITE", str(tmp_path / "verdicts.db"))
    monkeypatch.setenv("PARLEY_REVIEW_DECISIONS", f"sqlite:{tmp_path / 'decisions.db'}")
    monkeypatch.setenv("PARLEY_REVIEW_SECRET", "from-secrets-manager")
    monkeypatch.setenv("PARLEY_REVIEW_OIDC_ISSUER", "https://cognito-idp.us-east-1.amazonaws.com/x")
    monkeypatch.setenv("PARLEY_REVIEW_OIDC_CLIENT_ID", "client")
    monkeypatch.setenv("PARLEY_REVIEW_OIDC_REDIRECT_URI", "https://r.example.com/auth/callback")
    get_review_settings.cache_clear()
    monkeypatch.delitem(sys.modules, "review.lambda_handler", raising=False)
    module = importlib.import_module("review.lambda_handler")
    built = module._mangum

    # WHEN an environment is restored
    restore(module.rebuild)

    # THEN the app is built again and serves the queue
    assert module._mangum is not built
    from review.sessions import Sessions

    session = Sessions("from-secrets-manager").issue("rev@example.com")
    answer = module.lambda_handler(_http_api_event("GET", "/", cookie=session), None)
    assert answer["statusCode"] == 200
    get_settings.cache_clear()
    get_review_settings.cache_clear()
