"""Prompt caching: cache points in Converse requests, the emulator's cache billing as
Bedrock's, cache prices, and the family token counts the emulator reports."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.emulator import BedrockEmulator, ScriptedResponder
from pipeline.emulator import billing as emulator_billing
from pipeline.models.bedrock import parse_converse_response
from pipeline.models.pricing import estimate_cost
from pipeline.models.prompt_cache import min_prefix_tokens
from pipeline.tokens import count_for_model, count_tokens, family_of

NOVA = "amazon.nova-micro-v1:0"
HAIKU_3 = "anthropic.claude-3-haiku-20240307-v1:0"
# About 1,300 tokens of stable instructions: above Nova's 1,000-token minimum.
LONG_SYSTEM = " ".join(
    f"Rule {i}: a deposit before a viewing is a warning sign." for i in range(130)
)


def call(client: Any, model: str, system: str, user: str = "judge this") -> dict[str, Any]:
    return client.converse(  # type: ignore[no-any-return]
        modelId=model,
        system=[{"text": system}, {"cachePoint": {"type": "default"}}],
        messages=[{"role": "user", "content": [{"text": user}]}],
        inferenceConfig={"maxTokens": 5},
    )


@pytest.fixture()
def client(bedrock_emulator: BedrockEmulator, emulator_client: Any) -> Any:
    bedrock_emulator.responder = ScriptedResponder(fallback="0")
    return emulator_client


def test_a_long_prefix_is_written_once_then_read(client: Any) -> None:
    prefix = count_for_model(NOVA, LONG_SYSTEM)
    assert prefix >= 1000
    first = call(client, NOVA, LONG_SYSTEM)["usage"]
    second = call(client, NOVA, LONG_SYSTEM, "judge that")["usage"]
    assert first["cacheWriteInputTokens"] == prefix and first["cacheReadInputTokens"] == 0
    assert second["cacheReadInputTokens"] == prefix and second["cacheWriteInputTokens"] == 0
    # inputTokens excludes the cached prefix; the total counts it.
    full = count_for_model(NOVA, LONG_SYSTEM + "\njudge that")
    assert second["inputTokens"] == full - prefix
    assert second["totalTokens"] == full + second["outputTokens"]


def test_a_prefix_below_the_minimum_is_not_cached(client: Any) -> None:
    for _ in range(2):
        usage = call(client, NOVA, "You judge marketplace conversations.")["usage"]
        assert usage["cacheReadInputTokens"] == usage["cacheWriteInputTokens"] == 0


def test_a_model_without_prompt_caching_ignores_the_point(client: Any) -> None:
    assert min_prefix_tokens(HAIKU_3) is None
    for _ in range(2):
        usage = call(client, HAIKU_3, LONG_SYSTEM)["usage"]
        assert usage["cacheReadInputTokens"] == usage["cacheWriteInputTokens"] == 0


def test_an_expired_prefix_is_written_again(client: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(emulator_billing, "CACHE_TTL_S", 0.0)
    call(client, NOVA, LONG_SYSTEM)
    again = call(client, NOVA, LONG_SYSTEM)["usage"]
    assert again["cacheWriteInputTokens"] > 0 and again["cacheReadInputTokens"] == 0


def test_cache_stats_and_cost(client: Any, bedrock_emulator: BedrockEmulator) -> None:
    bedrock_emulator.reset_stats()
    call(client, NOVA, LONG_SYSTEM)
    response = call(client, NOVA, LONG_SYSTEM)
    snapshot = bedrock_emulator.stats.snapshot()
    prefix = count_for_model(NOVA, LONG_SYSTEM)
    assert snapshot["cache_write_tokens"] == snapshot["cache_read_tokens"] == prefix
    result = parse_converse_response(NOVA, response, 10.0)
    assert result.cache_read_tokens == prefix and result.cache_write_tokens == 0
    uncached = estimate_cost(NOVA, result.input_tokens + prefix, result.output_tokens)
    assert result.cost_usd == pytest.approx(
        estimate_cost(NOVA, result.input_tokens, result.output_tokens, cache_read_tokens=prefix)
    )
    assert result.cost_usd < uncached


def test_cache_prices() -> None:
    # Claude reads at a tenth of input, writes at 1.25x.
    sonnet = "anthropic.claude-3-7-sonnet-20250219-v1:0"
    assert estimate_cost(sonnet, 0, 0, cache_read_tokens=1000) == pytest.approx(0.0003)
    assert estimate_cost(sonnet, 0, 0, cache_write_tokens=1000) == pytest.approx(0.00375)
    # A model without cache prices bills cache tokens as input.
    assert estimate_cost(HAIKU_3, 0, 0, cache_read_tokens=1000) == estimate_cost(HAIKU_3, 1000, 0)


def test_token_families() -> None:
    assert family_of("mistral.mistral-7b-instruct-v0:2") == "sp32k"
    assert family_of("us.amazon.nova-micro-v1:0") == "bpe100k"
    assert family_of("arn:aws:bedrock:us-east-1:123456789012:foo/amazon.titan-text-lite-v1") == (
        "bpe100k"
    )
    # SentencePiece-32k splits digits one by one; large BPEs group them by three.
    assert count_tokens("5000", "sp32k") == 4
    assert count_tokens("5000", "bpe100k") == 2
    assert count_tokens("", "bpe100k") == 1
    text = "Send me a 5000 dollar deposit before the visit"
    assert count_tokens(text + " " + text) <= 2 * count_tokens(text) + 1
