"""The local Bedrock emulator, exercised over real HTTP with boto3 and langchain-aws.

Fixtures `bedrock_emulator` and `emulator_client` come from tests/emulator_fixtures.py.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from pipeline.emulator import (
    DEFAULT_TOOL_INPUT,
    ERROR_STATUS,
    MALFORMED_TEXT,
    BedrockEmulator,
    EchoResponder,
    EmulatorReply,
    EmulatorRequest,
    FaultConfig,
    ScriptedResponder,
    base_model_id,
    example_for_schema,
)
from pipeline.tokens import count_for_model

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU_ARN = f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}"
VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "suspicious": {"type": "boolean"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "categories": {"type": "array", "items": {"type": "string"}},
        "rationale": {"type": "string"},
    },
    "required": ["suspicious", "score", "categories", "rationale"],
}
TOOL_CONFIG: dict[str, Any] = {
    "tools": [
        {"toolSpec": {"name": "other_tool", "inputSchema": {"json": {"type": "object"}}}},
        {"toolSpec": {"name": "record_verdict", "inputSchema": {"json": VERDICT_SCHEMA}}},
    ],
    "toolChoice": {"tool": {"name": "record_verdict"}},
}


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def converse(client: Any, text: str = "hi", model: str = HAIKU, **kwargs: Any) -> dict[str, Any]:
    return client.converse(modelId=model, messages=user(text), **kwargs)


def error_code(call: Any) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"]


# ------------------------------------------------------------------ converse


def test_converse_text_reply_with_arn_model_id(
    bedrock_emulator: BedrockEmulator, emulator_client: Any
) -> None:
    script = ScriptedResponder(["0.87"])
    bedrock_emulator.responder = script
    response = emulator_client.converse(
        modelId=HAIKU_ARN,
        system=[{"text": "You are a classifier."}],
        messages=user("is this a scam?"),
        inferenceConfig={"maxTokens": 5},
    )
    assert response["output"]["message"] == {"role": "assistant", "content": [{"text": "0.87"}]}
    assert response["stopReason"] == "end_turn"
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/json"
    (request,) = script.requests
    assert request.model_id == HAIKU_ARN
    assert request.operation == "converse"
    assert request.prompt_text == "You are a classifier.\nis this a scam?"
    assert request.max_tokens == 5
    assert request.forced_tool is None and request.tool_schema is None


def test_usage_and_metrics(bedrock_emulator: BedrockEmulator, emulator_client: Any) -> None:
    bedrock_emulator.responder = ScriptedResponder(
        [EmulatorReply(text="x" * 40), EmulatorReply(text="y", input_tokens=7, output_tokens=3)]
    )
    text = "Send me a 5000 dollar deposit before the visit, other buyers are waiting."
    first = converse(emulator_client, text)
    tokens_in, tokens_out = count_for_model(HAIKU, text), count_for_model(HAIKU, "x" * 40)
    assert first["usage"] == {
        "inputTokens": tokens_in,
        "outputTokens": tokens_out,
        "totalTokens": tokens_in + tokens_out,
    }
    assert isinstance(first["metrics"]["latencyMs"], int)
    second = converse(emulator_client)
    assert second["usage"] == {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10}


def test_forced_tool_returns_tool_use_with_scripted_input(
    bedrock_emulator: BedrockEmulator, emulator_client: Any
) -> None:
    verdict = {"suspicious": True, "score": 0.93, "categories": ["deposit"], "rationale": "r"}
    script = ScriptedResponder([verdict])
    bedrock_emulator.responder = script
    response = converse(emulator_client, toolConfig=TOOL_CONFIG)
    (block,) = response["output"]["message"]["content"]
    assert block["toolUse"]["name"] == "record_verdict"
    assert block["toolUse"]["input"] == verdict
    assert block["toolUse"]["toolUseId"].startswith("tooluse_")
    assert response["stopReason"] == "tool_use"
    assert script.requests[0].forced_tool == "record_verdict"
    assert script.requests[0].tool_schema == VERDICT_SCHEMA


def test_default_responder_answers_zero_or_the_default_verdict(emulator_client: Any) -> None:
    text = converse(emulator_client)
    assert text["output"]["message"]["content"] == [{"text": "0"}]
    any_choice = {"tools": TOOL_CONFIG["tools"][1:], "toolChoice": {"any": {}}}
    tool = converse(emulator_client, toolConfig=any_choice)
    (block,) = tool["output"]["message"]["content"]
    assert block["toolUse"]["name"] == "record_verdict"
    assert block["toolUse"]["input"] == DEFAULT_TOOL_INPUT


def test_example_for_schema_fills_other_schemas() -> None:
    schema = {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": ["ok", "scam"]},
            "score": {"type": "number"},
            "count": {"type": "integer", "minimum": 1},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
    }
    assert example_for_schema(schema) == {"label": "ok", "score": 0.0, "count": 1, "note": ""}
    assert example_for_schema(VERDICT_SCHEMA) == DEFAULT_TOOL_INPUT


def test_scripted_rules_queue_and_fallback(
    bedrock_emulator: BedrockEmulator, emulator_client: Any
) -> None:
    bedrock_emulator.responder = ScriptedResponder(
        ["first", "second"],
        by_substring=[("deposit", "0.95"), ("gift card", "0.9")],
        fallback="fallback",
    )
    texts = [
        converse(emulator_client, msg)["output"]["message"]["content"][0]["text"]
        for msg in ["hello", "send a deposit", "hi", "hey", "gift card please"]
    ]
    assert texts == ["first", "0.95", "second", "fallback", "0.9"]


def test_echo_responder(bedrock_emulator: BedrockEmulator, emulator_client: Any) -> None:
    bedrock_emulator.responder = EchoResponder()
    assert converse(emulator_client, "parrot")["output"]["message"]["content"][0]["text"] == (
        "parrot"
    )


def test_validation_errors(bedrock_emulator: BedrockEmulator) -> None:
    raw = bedrock_emulator.client(
        retries={"mode": "standard", "total_max_attempts": 1}, parameter_validation=False
    )
    assert error_code(lambda: raw.converse(modelId=HAIKU)) == "ValidationException"
    bad_max = {"maxTokens": 0}
    call = lambda: converse(raw, inferenceConfig=bad_max)  # noqa: E731
    assert error_code(call) == "ValidationException"
    assert bedrock_emulator.stats.by_status[400] == 2
    assert bedrock_emulator.stats.served == 0


def test_unknown_route_is_404_json(bedrock_emulator: BedrockEmulator) -> None:
    request = urllib.request.Request(
        f"{bedrock_emulator.endpoint_url}/nope", data=b"{}", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 404
    assert "message" in json.loads(info.value.read())


def test_apply_guardrail_lets_everything_through(emulator_client: Any) -> None:
    response = emulator_client.apply_guardrail(
        guardrailIdentifier="gr-123",
        guardrailVersion="DRAFT",
        source="INPUT",
        content=[{"text": {"text": "hello"}}],
    )
    assert response["action"] == "NONE"
    assert response["outputs"] == []


# ------------------------------------------------------------------- invoke


def test_invoke_titan_body(bedrock_emulator: BedrockEmulator, emulator_client: Any) -> None:
    script = ScriptedResponder(["0.42"])
    bedrock_emulator.responder = script
    body = {"inputText": "classify this", "textGenerationConfig": {"maxTokenCount": 8}}
    response = emulator_client.invoke_model(
        modelId="amazon.titan-text-lite-v1", body=json.dumps(body), contentType="application/json"
    )
    assert response["contentType"] == "application/json"
    payload = json.loads(response["body"].read())
    titan = "amazon.titan-text-lite-v1"
    assert payload == {
        "inputTextTokenCount": count_for_model(titan, "classify this"),
        "results": [
            {
                "tokenCount": count_for_model(titan, "0.42"),
                "outputText": "0.42",
                "completionReason": "FINISH",
            }
        ],
    }
    assert script.requests[0].prompt_text == "classify this"
    assert script.requests[0].max_tokens == 8


def test_invoke_mistral_body(bedrock_emulator: BedrockEmulator, emulator_client: Any) -> None:
    script = ScriptedResponder(["0.1"])
    bedrock_emulator.responder = script
    body = {"prompt": "<s>[INST] hi [/INST]", "max_tokens": 5}
    response = emulator_client.invoke_model(
        modelId="mistral.mistral-7b-instruct-v0:2", body=json.dumps(body)
    )
    assert json.loads(response["body"].read()) == {
        "outputs": [{"text": "0.1", "stop_reason": "stop"}]
    }
    assert script.requests[0].prompt_text == "<s>[INST] hi [/INST]"


def test_invoke_anthropic_messages_body(
    bedrock_emulator: BedrockEmulator, emulator_client: Any
) -> None:
    script = ScriptedResponder(["hello"])
    bedrock_emulator.responder = script
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 10,
        "system": "be brief",
        "messages": [{"role": "user", "content": "hi"}],
    }
    response = emulator_client.invoke_model(modelId=f"us.{HAIKU}", body=json.dumps(body))
    payload = json.loads(response["body"].read())
    assert payload["content"] == [{"type": "text", "text": "hello"}]
    assert payload["usage"] == {
        "input_tokens": count_for_model(HAIKU, "be brief\nhi"),
        "output_tokens": count_for_model(HAIKU, "hello"),
    }
    assert script.requests[0].prompt_text == "be brief\nhi"
    assert base_model_id(f"arn:aws:bedrock:us-east-1:1:inference-profile/us.{HAIKU}") == HAIKU


# ------------------------------------------------------------------- errors


@pytest.mark.parametrize("code", sorted(set(ERROR_STATUS) - {"UnknownOperationException"}))
def test_error_code_reaches_botocore(
    bedrock_emulator: BedrockEmulator, emulator_client: Any, code: str
) -> None:
    bedrock_emulator.responder = ScriptedResponder([EmulatorReply(error=code)])
    with pytest.raises(ClientError) as info:
        converse(emulator_client)
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == ERROR_STATUS[code]
    # the marker form works for invoke_model too
    marker = json.dumps({"inputText": f"[[emulator:error={code}]]"})
    call = lambda: emulator_client.invoke_model(modelId="amazon.titan-text-lite-v1", body=marker)  # noqa: E731
    assert error_code(call) == code


def test_responder_crash_is_internal_server_error(
    bedrock_emulator: BedrockEmulator, emulator_client: Any
) -> None:
    def broken(request: EmulatorRequest) -> EmulatorReply:
        raise RuntimeError("boom")

    bedrock_emulator.responder = broken
    assert error_code(lambda: converse(emulator_client)) == "InternalServerException"


# ------------------------------------------------------------------- faults


def test_rpm_quota_throttles_past_the_limit(
    bedrock_emulator: BedrockEmulator, emulator_client: Any
) -> None:
    bedrock_emulator.configure(rpm=3)
    for _ in range(3):
        converse(emulator_client)
    assert error_code(lambda: converse(emulator_client)) == "ThrottlingException"
    converse(emulator_client, model="amazon.nova-micro-v1:0")  # quotas are per model
    stats = bedrock_emulator.stats
    assert (stats.served, stats.by_status[429], stats.by_error["ThrottlingException"]) == (4, 1, 1)


def test_tpm_quota_reserves_input_plus_max_tokens(
    bedrock_emulator: BedrockEmulator, emulator_client: Any
) -> None:
    bedrock_emulator.configure(tpm=100)
    converse(emulator_client, "x" * 40, inferenceConfig={"maxTokens": 60})  # 10 + 60
    call = lambda: converse(emulator_client, "x" * 40, inferenceConfig={"maxTokens": 30})  # noqa: E731
    assert error_code(call) == "ThrottlingException"
    converse(emulator_client, "x" * 40, inferenceConfig={"maxTokens": 20})  # 70 + 30 fits


def test_latency_is_applied_and_requests_run_concurrently(
    bedrock_emulator: BedrockEmulator,
) -> None:
    bedrock_emulator.faults = FaultConfig(latency_ms=300, jitter_ms=50, seed=1)
    client = bedrock_emulator.client(retries={"mode": "standard", "total_max_attempts": 1})
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda _: converse(client), range(10)))
    elapsed = time.perf_counter() - started
    assert 0.25 <= elapsed < 1.5, elapsed
    assert bedrock_emulator.stats.served == 10


def test_hang_is_released_by_stop() -> None:
    emulator = BedrockEmulator(faults=FaultConfig(hang_s=30)).start()
    client = emulator.client(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=60)
    outcome: list[BaseException | None] = []

    def call() -> None:
        try:
            converse(client, "[[emulator:hang]]")
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    deadline = time.monotonic() + 5
    while emulator.stats.received == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    started = time.perf_counter()
    emulator.stop()
    worker.join(timeout=5)
    assert time.perf_counter() - started < 2.0
    assert not worker.is_alive()
    assert outcome and outcome[0] is not None  # 503 or a closed connection, never a 200


def test_hang_trips_the_client_deadline(bedrock_emulator: BedrockEmulator) -> None:
    bedrock_emulator.configure(hang_rate=1.0, hang_s=10)
    client = bedrock_emulator.client(
        retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=0.3
    )
    started = time.perf_counter()
    with pytest.raises(ReadTimeoutError):
        converse(client)
    assert time.perf_counter() - started < 2.0


def test_marker_faults(bedrock_emulator: BedrockEmulator, emulator_client: Any) -> None:
    assert error_code(lambda: converse(emulator_client, "[[emulator:throttle]]")) == (
        "ThrottlingException"
    )
    assert error_code(lambda: converse(emulator_client, "x [[emulator:500]]")) == (
        "InternalServerException"
    )
    assert error_code(lambda: converse(emulator_client, "[[emulator:503]]")) == (
        "ServiceUnavailableException"
    )
    assert error_code(lambda: converse(emulator_client, "[[emulator:timeout]]")) == (
        "ModelTimeoutException"
    )
    malformed = converse(emulator_client, "[[emulator:malformed]]", toolConfig=TOOL_CONFIG)
    assert malformed["output"]["message"]["content"] == [{"text": MALFORMED_TEXT}]
    assert converse(emulator_client, "normal")["stopReason"] == "end_turn"


def test_malformed_and_truncated_rates(
    bedrock_emulator: BedrockEmulator, emulator_client: Any
) -> None:
    bedrock_emulator.responder = ScriptedResponder(fallback="abcdefghij")
    bedrock_emulator.configure(malformed_rate=1.0)
    malformed = converse(emulator_client, toolConfig=TOOL_CONFIG)
    assert malformed["output"]["message"]["content"] == [{"text": MALFORMED_TEXT}]
    assert malformed["stopReason"] == "end_turn"

    bedrock_emulator.configure(malformed_rate=0.0, truncated_rate=1.0)
    truncated = converse(emulator_client, inferenceConfig={"maxTokens": 3})
    assert truncated["output"]["message"]["content"] == [{"text": "abcde"}]
    assert truncated["stopReason"] == "max_tokens"
    assert truncated["usage"]["outputTokens"] == 3
    titan = emulator_client.invoke_model(
        modelId="amazon.titan-text-lite-v1", body=json.dumps({"inputText": "hi"})
    )
    result = json.loads(titan["body"].read())["results"][0]
    assert (result["outputText"], result["completionReason"]) == ("abcde", "LENGTH")


def test_5xx_and_timeout_rates_are_reproducible_with_a_seed(
    bedrock_emulator: BedrockEmulator, emulator_client: Any
) -> None:
    def codes() -> list[str]:
        out = []
        for _ in range(12):
            try:
                converse(emulator_client)
                out.append("ok")
            except ClientError as exc:
                out.append(exc.response["Error"]["Code"])
        return out

    bedrock_emulator.faults = FaultConfig(error_5xx_rate=0.5, timeout_rate=0.2, seed=7)
    first = codes()
    bedrock_emulator.faults = FaultConfig(error_5xx_rate=0.5, timeout_rate=0.2, seed=7)
    assert codes() == first
    assert {"ok", "InternalServerException", "ServiceUnavailableException"} <= set(first)


def test_fault_config_validation() -> None:
    with pytest.raises(ValueError):
        FaultConfig(throttle_rate=0.7, error_5xx_rate=0.5)
    with pytest.raises(ValueError):
        FaultConfig(latency_ms=-1)
    with pytest.raises(ValueError):
        FaultConfig(rpm=0)


# -------------------------------------------------------------------- stats


def test_stats_counting_and_reset(bedrock_emulator: BedrockEmulator, emulator_client: Any) -> None:
    bedrock_emulator.responder = ScriptedResponder(
        fallback=EmulatorReply(text="ok", output_tokens=5)
    )
    converse(emulator_client, "a" * 8)
    converse(emulator_client, "b" * 8, model="amazon.nova-micro-v1:0")
    with pytest.raises(ClientError):
        converse(emulator_client, "[[emulator:throttle]]")
    snap = bedrock_emulator.stats.snapshot()
    assert snap["received"] == 3 and snap["served"] == 2
    assert snap["by_status"] == {200: 2, 429: 1}
    assert snap["by_error"] == {"ThrottlingException": 1}
    assert snap["by_model"] == {HAIKU: 2, "amazon.nova-micro-v1:0": 1}
    assert (snap["input_tokens"], snap["output_tokens"]) == (4, 10)
    assert len(bedrock_emulator.stats.served_times) == 2
    assert bedrock_emulator.stats.served_per_minute(window_s=60) == 2
    assert "served 2/3" in bedrock_emulator.stats.summary()
    bedrock_emulator.reset_stats()
    assert bedrock_emulator.stats.snapshot()["received"] == 0
    assert not bedrock_emulator.stats.served_times


# ---------------------------------------------------------------- langchain


def test_chat_bedrock_converse_invoke_and_structured_output(
    bedrock_emulator: BedrockEmulator,
) -> None:
    from langchain_aws import ChatBedrockConverse
    from pydantic import BaseModel

    class Verdict(BaseModel):
        suspicious: bool
        score: float
        rationale: str

    bedrock_emulator.responder = ScriptedResponder(
        [
            EmulatorReply(text="hello from the emulator", input_tokens=3, output_tokens=4),
            {"suspicious": True, "score": 0.8, "rationale": "asks for a deposit"},
        ]
    )
    llm = ChatBedrockConverse(
        model=HAIKU,
        endpoint_url=bedrock_emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    message = llm.invoke("hi")
    assert message.content == "hello from the emulator"
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == 3
    assert message.usage_metadata["output_tokens"] == 4
    assert message.usage_metadata["total_tokens"] == 7

    verdict = llm.with_structured_output(Verdict).invoke("please send a deposit")
    assert verdict == Verdict(suspicious=True, score=0.8, rationale="asks for a deposit")


# ---------------------------------------------------------------- lifecycle


def test_keep_alive_reuses_one_connection(
    bedrock_emulator: BedrockEmulator, emulator_client: Any
) -> None:
    for _ in range(5):
        converse(emulator_client)
    assert bedrock_emulator.open_connections == 1


def test_run_forever_prints_url_and_summary() -> None:
    from pipeline.emulator import run_forever

    emulator = BedrockEmulator().start()
    lines: list[str] = []
    timer = threading.Timer(0.2, emulator.stop)
    timer.start()
    run_forever(emulator, echo=lines.append)
    timer.join()
    assert lines[0].startswith("Bedrock emulator listening on http://127.0.0.1:")
    assert lines[1].startswith("served 0/0 requests")
    assert not emulator.running
