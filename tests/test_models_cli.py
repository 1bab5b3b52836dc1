"""`parley models`: the configured models with Bedrock's lifecycle status, answered by
the emulator's GetFoundationModel (the same call and shape as Bedrock's control plane)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from pipeline.cli import main
from pipeline.emulator import BedrockEmulator
from pipeline.models.lifecycle import ConfiguredModel, lifecycle_status


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _control_client(emulator: BedrockEmulator) -> Any:
    return boto3.client("bedrock", region_name="us-east-1", endpoint_url=emulator.endpoint_url)


def test_the_emulator_answers_get_foundation_model(bedrock_emulator: BedrockEmulator) -> None:
    client = _control_client(bedrock_emulator)
    assert lifecycle_status(client, "anthropic.claude-haiku-4-5-20251001-v1:0") == "ACTIVE"
    assert lifecycle_status(client, "anthropic.claude-3-haiku-20240307-v1:0") == "LEGACY"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_foundation_model(modelIdentifier="no.such-model-v1:0")


def test_a_profile_id_is_looked_up_as_its_foundation_model() -> None:
    entry = ConfiguredModel("x", "bedrock:us.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert entry.bedrock_id == "anthropic.claude-haiku-4-5-20251001-v1:0"
    assert ConfiguredModel("x", "local:baseline").bedrock_id is None


def test_parley_models_lists_defaults_as_active(
    bedrock_emulator: BedrockEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(
        capsys, "models", "--endpoint-url", bedrock_emulator.endpoint_url, "--json"
    )
    assert code == 0
    rows = {row["where"]: row for row in json.loads(out)}
    # every default is ACTIVE or local ...
    for where in ("PARLEY_MODEL", "PARLEY_LANGCHAIN_MODEL", "prompt companion@1",
                  "prompt companion@2", "prompt suspicious-conversation@2"):  # fmt: skip
        assert rows[where]["status"] in ("ACTIVE", "local"), rows[where]
    # ... and the one LEGACY model is the original design's, kept for comparison, warned about
    legacy = [row for row in rows.values() if row["status"] == "LEGACY"]
    assert [row["where"] for row in legacy] == ["prompt suspicious-conversation@1"]
    assert "amazon.titan-text-lite-v1" in err and "LEGACY" in err


def test_parley_models_without_an_endpoint_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = _run(capsys, "models", "--endpoint-url", "http://127.0.0.1:9")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")


LEGACY_HAIKU = "bedrock:anthropic.claude-3-haiku-20240307-v1:0"
ACTIVE_HAIKU = "bedrock:us.anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.fixture
def fresh_statuses(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.models import lifecycle

    monkeypatch.setattr(lifecycle, "_statuses", {})  # one lookup per process: per test here


@pytest.mark.parametrize(("model", "warned"), [(LEGACY_HAIKU, True), (ACTIVE_HAIKU, False)])
def test_the_stream_job_warns_at_start_about_a_legacy_model(
    bedrock_emulator: BedrockEmulator,
    fresh_statuses: None,
    tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    model: str,
    warned: bool,
) -> None:
    from pipeline.settings import Settings
    from pipeline.stream import handler_from_settings

    settings = Settings(
        model=model,
        bedrock_endpoint_url=bedrock_emulator.endpoint_url,
        model_lifecycle_check=True,
        verdicts_sqlite=str(tmp_path / "v.db"),
        history=f"sqlite:{tmp_path / 'h.db'}",
    )
    handler_from_settings(settings)
    lines = [r.getMessage() for r in caplog.records if "LEGACY" in r.getMessage()]
    emf = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if "LegacyModel" in line
    ]
    assert bool(lines) is warned and bool(emf) is warned
    if warned:
        assert emf[0]["service"] == "parley-stream" and emf[0]["LegacyModel"] == [1.0]
        assert "anthropic.claude-3-haiku-20240307-v1:0" in lines[0]


def test_the_skill_warns_at_start_about_a_legacy_model(
    bedrock_emulator: BedrockEmulator,
    fresh_statuses: None,
    tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipeline.settings import Settings
    from skill.handler import build_companion

    settings = Settings(
        skill_model=LEGACY_HAIKU,
        bedrock_endpoint_url=bedrock_emulator.endpoint_url,
        model_lifecycle_check=True,
        history=f"sqlite:{tmp_path / 'h.db'}",
    )
    build_companion(settings)
    assert any("is LEGACY" in r.getMessage() for r in caplog.records)
    assert '"service":"parley-skill"' in capsys.readouterr().out


def test_the_check_is_off_unless_configured(
    fresh_statuses: None, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # No endpoint at all: with the check off (the local default) nothing is asked.
    from pipeline.settings import Settings
    from pipeline.stream import handler_from_settings

    settings = Settings(
        model=LEGACY_HAIKU,
        bedrock_endpoint_url="http://127.0.0.1:9",
        verdicts_sqlite=str(tmp_path / "v.db"),
        history=f"sqlite:{tmp_path / 'h.db'}",
    )
    handler_from_settings(settings)
    assert not [r for r in caplog.records if "LEGACY" in r.getMessage()]


def test_parley_eval_warns_about_the_redteam_suites_legacy_model(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    fresh_statuses: None,
    tmp_path: Any,
) -> None:
    from tests.conftest import REPO

    code, _, err = _run(
        capsys, "eval", str(REPO / "evals" / "redteam.yaml"), "--output", str(tmp_path / "r")
    )
    assert code == 0
    # The warning is logged (a plain CLI run prints it on stderr: logging's last resort)
    assert any(
        "amazon.titan-text-lite-v1 (suite redteam) is LEGACY" in r.getMessage()
        for r in caplog.records
    )
    assert '"LegacyModel"' in err  # the EMF record, on stderr for the CLI
