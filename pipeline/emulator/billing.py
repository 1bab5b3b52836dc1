"""What a call costs in tokens, as Bedrock reports them: the estimate for
replies without counts, the usage block, and the prompt cache's writes and reads."""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from typing import TYPE_CHECKING

from ..models.pricing import tool_use_system_tokens
from ..models.prompt_cache import CACHE_TTL_S, min_prefix_tokens
from ..tokens import count_for_model
from .calls import EmulatorRequest, base_model_id

if TYPE_CHECKING:
    from .answers import Answer


def estimate_tokens(text: str) -> int:
    """~4 characters a token, at least 1."""
    return max(1, math.ceil(len(text) / 4))


def billed_input_tokens(request: EmulatorRequest) -> int:
    """Input tokens as Bedrock bills a call: the prompt's text, the tool definitions
    (names, descriptions, schemas) and the model's tool-use system prompt
    (pipeline.models.pricing, per model and tool choice)."""
    tokens = count_for_model(request.model_id, request.prompt_text)
    if request.tools_text:
        tokens += count_for_model(request.model_id, request.tools_text)
    return tokens + tool_use_system_tokens(request.model_id, request.tool_choice)


def usage_body(answer: Answer) -> dict[str, int]:
    """Converse `usage`: input tokens exclude those read from or written to the cache;
    the total counts them all."""
    usage = {
        "inputTokens": answer.input_tokens,
        "outputTokens": answer.output_tokens,
        "totalTokens": answer.input_tokens
        + answer.output_tokens
        + answer.cache_read_tokens
        + answer.cache_write_tokens,
    }
    if answer.cache_point:
        usage["cacheReadInputTokens"] = answer.cache_read_tokens
        usage["cacheWriteInputTokens"] = answer.cache_write_tokens
    return usage


class PromptCache:
    """Cached prompt prefixes per model with their expiry, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], float] = {}  # (model, prefix) -> expiry

    def reset(self) -> None:
        """Forget every cached prefix."""
        with self._lock:
            self._entries.clear()

    def bill(self, request: EmulatorRequest, answer: Answer) -> Answer:
        """Bill a cache point's prefix as Bedrock does: a write on a miss, a read on a
        hit within the TTL (renewed by each hit); nothing below the model's minimum."""
        if request.cache_prefix is None:
            return answer
        minimum = min_prefix_tokens(request.model_id)
        tokens = count_for_model(request.model_id, request.cache_prefix)
        if minimum is None or tokens < minimum:
            return dataclasses.replace(answer, cache_point=True)
        key = (base_model_id(request.model_id), request.cache_prefix)
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key, 0.0) > now
            self._entries[key] = now + CACHE_TTL_S
        return dataclasses.replace(
            answer,
            input_tokens=max(0, answer.input_tokens - tokens),
            cache_read_tokens=tokens if hit else 0,
            cache_write_tokens=0 if hit else tokens,
            cache_point=True,
        )
