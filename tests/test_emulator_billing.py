"""The emulator bills what Bedrock bills: the prompt, the tool definitions and the
tool-use system prompt of Anthropic models, per tool choice (pipeline.models.pricing)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.emulator import BedrockEmulator, ScriptedResponder
from pipeline.models.bedrock import tool_config
from pipeline.models.pricing import TOOL_USE_SYSTEM_TOKENS, tool_use_system_tokens
from pipeline.tokens import count_for_model
from pipeline.verdict import verdict_tool_schema

HAIKU_3 = "anthropic.claude-3-haiku-20240307-v1:0"
HAIKU_45 = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-micro-v1:0"
PROMPT = "Is this conversation a scam?"


@pytest.fixture(scope="module")
def client() -> Any:
    with BedrockEmulator(ScriptedResponder(fallback={"suspicious": False, "score": 0.1})) as emu:
        yield emu.client()


def _converse(client: Any, model: str, choice: str | None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "modelId": model,
        "messages": [{"role": "user", "content": [{"text": PROMPT}]}],
    }
    if choice is not None:
        request["toolConfig"] = tool_config(verdict_tool_schema(), choice)  # type: ignore[arg-type]
    return client.converse(**request)["usage"]


def _tools_tokens(model: str) -> int:
    tools = [t["toolSpec"] for t in tool_config(verdict_tool_schema(), "tool")["tools"]]
    return count_for_model(model, json.dumps(tools, separators=(",", ":")))


def test_without_tools_only_the_prompt_is_billed(client: Any) -> None:
    assert _converse(client, HAIKU_3, None)["inputTokens"] == count_for_model(HAIKU_3, PROMPT)


@pytest.mark.parametrize(
    ("model", "choice", "overhead"),
    [
        (HAIKU_3, "tool", 340),
        (HAIKU_3, "auto", 264),
        (HAIKU_45, "tool", 313),
        (HAIKU_45, "auto", 346),
    ],
)
def test_anthropic_bills_tools_and_its_tool_use_system_prompt(
    client: Any, model: str, choice: str, overhead: int
) -> None:
    expected = count_for_model(model, PROMPT) + _tools_tokens(model) + overhead
    assert _converse(client, model, choice)["inputTokens"] == expected


def test_nova_bills_the_tool_definitions_without_an_overhead(client: Any) -> None:
    usage = _converse(client, NOVA, "tool")
    assert _tools_tokens(NOVA) > 150  # the verdict tool is not free
    assert usage["inputTokens"] == count_for_model(NOVA, PROMPT) + _tools_tokens(NOVA)


def test_invoke_model_anthropic_bills_tools_too(client: Any) -> None:
    tool = {"name": "record_verdict", "description": "d", "input_schema": verdict_tool_schema()}
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": PROMPT}],
        "tools": [tool],
        "tool_choice": {"type": "any"},
    }
    response = client.invoke_model(modelId=HAIKU_3, body=json.dumps(body))
    usage = json.loads(response["body"].read())["usage"]
    tools_tokens = count_for_model(HAIKU_3, json.dumps([tool], separators=(",", ":")))
    assert usage["input_tokens"] == count_for_model(HAIKU_3, PROMPT) + tools_tokens + 340


def test_the_overhead_table_answers_per_choice_and_zero_where_none_is_published() -> None:
    assert tool_use_system_tokens(HAIKU_3, None) == 0
    assert tool_use_system_tokens(NOVA, "tool") == 0
    assert tool_use_system_tokens("eu.anthropic.claude-sonnet-4-20250514-v1:0", "any") == 313
    assert tool_use_system_tokens("anthropic.claude-3-5-haiku-20241022-v1:0", "auto") == 264
    assert all(auto > 0 and forced > 0 for auto, forced in TOOL_USE_SYSTEM_TOKENS.values())
