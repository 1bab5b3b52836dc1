"""Pytest fixtures for parley's local Bedrock emulator (loaded from tests/conftest.py).

`bedrock_emulator`: a started `BedrockEmulator` with no faults and the default
responder; set `.responder` / `.faults` / `.configure(...)` in the test.
`emulator_client`: a boto3 bedrock-runtime client for it that never retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pipeline.emulator import BedrockEmulator


@pytest.fixture
def bedrock_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[BedrockEmulator]:
    """A Bedrock emulator on loopback for one test; stopped afterwards."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    emulator = BedrockEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def emulator_client(bedrock_emulator: BedrockEmulator) -> Any:
    """A boto3 bedrock-runtime client for `bedrock_emulator` that never retries.

    botocore's `retries["max_attempts"]` counts retries (1 means two attempts), so
    this uses `total_max_attempts=1`.
    """
    return bedrock_emulator.client(retries={"mode": "standard", "total_max_attempts": 1})
