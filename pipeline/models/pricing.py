"""The one price table: USD per 1,000 tokens, on-demand, us-east-1, and the tokens a
model bills beyond the prompt's own text (tool definitions, a tool-use system prompt).

Figures from the public Amazon Bedrock pricing page; update them here only.
Longest matching prefix wins, so regional inference-profile ids (`us.…`) match too.

Sources, read on PRICES_AS_OF:
- prices: aws.amazon.com/bedrock/pricing (Nova Micro $0.035/$0.14 per million, as quoted
  in techdailyfeed.com's reading of it); Claude Haiku 4.5 $1/$5, Claude 3.5 Haiku
  $0.80/$4, Claude 3 Haiku $0.25/$1.25 per million, cache writes 1.25x and reads 0.1x
  input (platform.claude.com/docs/about-claude/pricing; Bedrock bills Claude at the
  same rates, clauder-navi.com/en/bedrock-claude-cost);
- tool-use system prompt: docs.anthropic.com/en/docs/tool-use-pricing-and-tokens
  (Claude 3 Opus, Sonnet, Haiku); Claude 3.7 Sonnet and the Claude 4 family (Haiku 4.5,
  Sonnet 4, Opus 4) add 346 tokens with tool choice auto or none and 313 with any or
  tool (the same page's current table, quoted in
  claudecodeguides.com/claude-tool-definitions-346-tokens-per-call); Claude 3.5 Haiku
  is taken as Claude 3 Haiku's 264/340 and 3.5 Sonnet as 294/261 (the current table;
  not in the stored copy read here). Amazon publishes no such figure for Nova: its
  tool definitions are billed, no overhead is added.
"""

from __future__ import annotations

#: When the figures of this module were last read from their sources.
PRICES_AS_OF = "2026-12-06"

# model id prefix -> (input USD / 1k tokens, output USD / 1k tokens)
PRICES: dict[str, tuple[float, float]] = {
    "amazon.titan-text-lite": (0.00015, 0.0002),
    "amazon.titan-text-express": (0.0002, 0.0006),
    "amazon.nova-micro": (0.000035, 0.00014),
    "amazon.nova-lite": (0.00006, 0.00024),
    "amazon.nova-pro": (0.0008, 0.0032),
    "anthropic.claude-3-haiku": (0.00025, 0.00125),
    "anthropic.claude-3-5-haiku": (0.0008, 0.004),
    "anthropic.claude-haiku-4-5": (0.001, 0.005),
    "anthropic.claude-3-5-sonnet": (0.003, 0.015),
    "anthropic.claude-3-7-sonnet": (0.003, 0.015),
    "anthropic.claude-sonnet-4": (0.003, 0.015),
    "mistral.mistral-7b-instruct": (0.00015, 0.0002),
    "mistral.mixtral-8x7b-instruct": (0.00045, 0.0007),
    "mistral.mistral-large": (0.004, 0.012),
    "meta.llama3-8b-instruct": (0.0003, 0.0006),
    "meta.llama3-1-8b-instruct": (0.00022, 0.00022),
    "local": (0.0, 0.0),
}

# model id prefix -> (cache read USD / 1k tokens, cache write USD / 1k tokens), for the
# models that take a cache point (pipeline/models/prompt_cache.py). Claude: reads at a
# tenth of input, writes at 1.25x; Nova: reads at a quarter of input, writes at input.
CACHE_PRICES: dict[str, tuple[float, float]] = {
    "amazon.nova-micro": (0.00000875, 0.000035),
    "amazon.nova-lite": (0.000015, 0.00006),
    "amazon.nova-pro": (0.0002, 0.0008),
    "anthropic.claude-3-5-haiku": (0.00008, 0.001),
    "anthropic.claude-haiku-4-5": (0.0001, 0.00125),
    "anthropic.claude-3-7-sonnet": (0.0003, 0.00375),
    "anthropic.claude-sonnet-4": (0.0003, 0.00375),
}


# model id prefix -> tokens of the tool-use system prompt Anthropic adds to a request
# that offers tools: (tool choice auto or none, tool choice any or tool).
TOOL_USE_SYSTEM_TOKENS: dict[str, tuple[int, int]] = {
    "anthropic.claude-3-haiku": (264, 340),
    "anthropic.claude-3-sonnet": (159, 235),
    "anthropic.claude-3-opus": (530, 281),
    "anthropic.claude-3-5-haiku": (264, 340),
    "anthropic.claude-3-5-sonnet": (294, 261),
    "anthropic.claude-3-7-sonnet": (346, 313),
    "anthropic.claude-haiku-4": (346, 313),
    "anthropic.claude-sonnet-4": (346, 313),
    "anthropic.claude-opus-4": (346, 313),
}


def tool_use_system_tokens(model_id: str, tool_choice: str | None) -> int:
    """Tokens a model bills for its tool-use system prompt: 0 without tools (None) or
    for models that publish none. `tool_choice` is "auto", "none", "any" or "tool"."""
    if tool_choice is None:
        return 0
    bare = _strip_region(model_id.rsplit("/", 1)[-1])
    matches = [prefix for prefix in TOOL_USE_SYSTEM_TOKENS if bare.startswith(prefix)]
    if not matches:
        return 0
    auto, forced = TOOL_USE_SYSTEM_TOKENS[max(matches, key=len)]
    return forced if tool_choice in ("any", "tool") else auto


def _strip_region(model_id: str) -> str:
    # Inference profiles prefix the id with a geography: us., eu., apac., global.
    head, _, tail = model_id.partition(".")
    return tail if head in {"us", "eu", "apac", "global", "us-gov"} and tail else model_id


def _lookup(table: dict[str, tuple[float, float]], model_id: str) -> tuple[float, float] | None:
    bare = _strip_region(model_id.rsplit("/", 1)[-1])
    matches = [prefix for prefix in table if bare.startswith(prefix)]
    return table[max(matches, key=len)] if matches else None


def price_of(model_id: str) -> tuple[float, float] | None:
    """(input, output) USD per 1k tokens, or None when the model is not in the table."""
    return _lookup(PRICES, model_id)


def cache_price_of(model_id: str) -> tuple[float, float] | None:
    """(cache read, cache write) USD per 1k tokens, or None without prompt caching."""
    return _lookup(CACHE_PRICES, model_id)


def estimate_cost(
    model_id: str,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float:
    """Cost in USD of one call; 0.0 for unknown models (reported as such, never guessed).

    Input tokens exclude cached ones, as Bedrock reports them; cache tokens of a model
    without cache prices are billed as input.
    """
    price = price_of(model_id)
    if price is None:
        return 0.0
    read, write = cache_price_of(model_id) or (price[0], price[0])
    return (
        input_tokens * price[0]
        + output_tokens * price[1]
        + cache_read_tokens * read
        + cache_write_tokens * write
    ) / 1000.0
