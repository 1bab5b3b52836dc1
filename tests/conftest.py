"""Shared fixtures. Tests reach only loopback: moto's server for DynamoDB, S3 and
EventBridge, and parley's own Bedrock emulator for model calls."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent

# The reliability harness in bench/ asserts too: give its failures pytest's detail.
pytest.register_assert_rewrite("bench.hostile", "bench.reliability")

pytest_plugins = (
    ["tests.emulator_fixtures"] if (Path(__file__).parent / "emulator_fixtures.py").exists() else []
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow", action="store_true", help="also run the long load runs (marked slow)"
    )
    parser.addoption(
        "--skip-wheel",
        action="store_true",
        help="skip building and installing the wheel in a fresh venv (marked wheel)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # CI builds and installs the wheel; locally --skip-wheel saves its ~40 s.
    if config.getoption("--skip-wheel"):
        skip_wheel = pytest.mark.skip(reason="--skip-wheel")
        for item in items:
            if "wheel" in item.keywords:
                item.add_marker(skip_wheel)
    # CI runs the short versions; the long ones run with --run-slow or via python -m bench.
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="long load run: use --run-slow, or python -m bench")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def load_fixture(name: str) -> Any:
    """A JSON fixture from tests/fixtures/."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test runs with dummy credentials and no profile: real AWS is unreachable."""
    for key in list(os.environ):
        if key.startswith("AWS_") or key.startswith("PARLEY_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("PARLEY_HISTORY", f"sqlite:{tmp_path / 'parley.db'}")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "parley")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "parley-test")
    from pipeline.settings import get_settings

    get_settings.cache_clear()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto in server mode on loopback, one per test session; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_client(moto_server: str) -> Any:
    """Factory of boto3 clients pointed at the moto server."""
    import boto3

    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=moto_server,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make


@pytest.fixture
def conversations_table(aws_client: Any, request: pytest.FixtureRequest) -> str:
    """A fresh conversations table with the original schema (Id, timestamp) and a stream."""
    import uuid

    from pipeline.history import create_conversations_table

    name = f"conversations-{uuid.uuid4().hex[:8]}"
    client = aws_client("dynamodb")
    create_conversations_table(client, name, stream=True)
    request.addfinalizer(lambda: client.delete_table(TableName=name))
    return name
