"""`parley emulator`: help and option validation (the server itself is never left running)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["emulator", *args])


def test_help_lists_the_fault_options() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for option in (
        "--host",
        "--port",
        "--latency-ms",
        "--rpm",
        "--tpm",
        "--throttle-rate",
        "--error-rate",
        "--timeout-rate",
        "--malformed-rate",
        "--seed",
        "--responder",
    ):
        assert option in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--throttle-rate", "1.5"], "--throttle-rate"),
        (["--error-rate", "-0.1"], "--error-rate"),
        (["--rpm", "0"], "--rpm"),
        (["--port", "70000"], "--port"),
        (["--latency-ms", "-5"], "--latency-ms"),
        (["--responder", "gpt"], "--responder"),
        (["--throttle-rate", "0.6", "--error-rate", "0.6"], "sum to at most 1"),
    ],
)
def test_bad_options_are_usage_errors(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_serves_with_the_given_faults_and_prints_the_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pipeline.cli.emulator as command

    seen: dict[str, Any] = {}

    def run_once(server: Any, echo: Any) -> None:  # instead of serving until Ctrl-C
        seen["faults"], seen["url"] = server.faults, server.endpoint_url
        server.stop()

    monkeypatch.setattr(command, "run_forever", run_once)
    result = run("--port", "0", "--rpm", "30", "--throttle-rate", "0.25", "--seed", "7")
    assert result.exit_code == 0, result.output
    assert f"export PARLEY_BEDROCK_ENDPOINT_URL={seen['url']}" in result.output
    assert (seen["faults"].rpm, seen["faults"].throttle_rate, seen["faults"].seed) == (30, 0.25, 7)


def test_baseline_responder_answers_like_the_local_classifier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pipeline.cli.emulator as command
    from pipeline.emulator import EmulatorRequest, default_responder

    seen: dict[str, Any] = {}

    def run_once(server: Any, echo: Any) -> None:
        seen["responder"] = server.responder
        server.stop()

    monkeypatch.setattr(command, "run_forever", run_once)
    result = run("--port", "0", "--responder", "baseline")
    assert result.exit_code == 0, result.output
    assert "responder: baseline" in result.output
    assert seen["responder"] is not default_responder
    request = EmulatorRequest(
        model_id="amazon.nova-micro-v1:0",
        operation="converse",
        body={},
        prompt_text='<message index="1" sender="seller">Send me a 5000 dollar deposit '
        "by wire before the visit, other buyers are waiting</message>",
        forced_tool="record_verdict",
    )
    reply = seen["responder"](request)
    assert reply.tool_input is not None and set(reply.tool_input) >= {"suspicious", "score"}
