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
