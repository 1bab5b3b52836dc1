"""Bedrock prompt caching: which models take a cache point, and from what length.

A `cachePoint` block after the stable part of a prompt (the system text) lets
Bedrock bill that prefix as a cache write once, then as cheap cache reads for five
minutes after each use. Below a model's minimum prefix length the request still
succeeds and nothing is cached. Figures from the Bedrock user guide, "Prompt
caching" (supported models, minimum tokens per cache checkpoint); Nova models
cache the system prompt and messages, not tools.
"""

from __future__ import annotations

# Bare model id prefix -> minimum tokens before a cache checkpoint.
MIN_PREFIX_TOKENS: dict[str, int] = {
    "amazon.nova-micro": 1000,
    "amazon.nova-lite": 1000,
    "amazon.nova-pro": 1000,
    "amazon.nova-premier": 1000,
    "anthropic.claude-3-5-haiku": 2048,
    "anthropic.claude-3-7-sonnet": 1024,
    "anthropic.claude-sonnet-4": 1024,
}
#: Seconds a cached prefix lives after its last use (Bedrock's default TTL).
CACHE_TTL_S = 300.0
_GEO_PREFIXES = frozenset({"us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"})


def min_prefix_tokens(model_id: str) -> int | None:
    """The minimum cacheable prefix of a model, or None when it takes no cache point."""
    name = model_id.rsplit("/", 1)[-1]
    head, dot, tail = name.partition(".")
    bare = tail if dot and head in _GEO_PREFIXES else name
    matches = [prefix for prefix in MIN_PREFIX_TOKENS if bare.startswith(prefix)]
    return MIN_PREFIX_TOKENS[max(matches, key=len)] if matches else None
