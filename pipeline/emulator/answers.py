"""The answer on the wire per operation: a reply shaped by faults into a
Converse, InvokeModel (per model family) or ApplyGuardrail response body."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..tokens import count_for_model
from .billing import billed_input_tokens, usage_body
from .calls import EmulatorReply, EmulatorRequest, base_model_id, block_texts
from .faults import MALFORMED_TEXT


@dataclass(frozen=True)
class Answer:
    """A reply after fault shaping: what goes on the wire, model-format independent."""

    text: str | None
    tool_name: str | None
    tool_input: dict[str, Any] | None
    stop_reason: Literal["end_turn", "tool_use", "max_tokens"]
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_point: bool = False  # the request had one: usage reports the cache fields


def shape_answer(
    request: EmulatorRequest, reply: EmulatorReply, fault: str | None = None
) -> Answer:
    """Apply token defaults and a `malformed` / `truncated` fault to a reply."""
    text, tool_input = reply.text, reply.tool_input
    tool_name = request.forced_tool or request.tool_name
    if tool_input is not None and tool_name is None:  # no tool offered: answer JSON text
        text, tool_input = (text or "") + json.dumps(tool_input), None
    stop: Literal["end_turn", "tool_use", "max_tokens"] = "end_turn"
    if fault == "malformed":
        text, tool_input = MALFORMED_TEXT, None
    elif fault == "truncated":
        full = (text or "") + (json.dumps(tool_input) if tool_input is not None else "")
        text, tool_input, stop = full[: len(full) // 2], None, "max_tokens"
    elif tool_input is not None:
        stop = "tool_use"
    produced = (text or "") + (json.dumps(tool_input) if tool_input is not None else "")
    output_tokens = reply.output_tokens
    if output_tokens is None or fault in ("malformed", "truncated"):
        output_tokens = count_for_model(request.model_id, produced)
        if fault == "truncated" and request.max_tokens is not None:
            output_tokens = request.max_tokens
    input_tokens = (
        reply.input_tokens if reply.input_tokens is not None else billed_input_tokens(request)
    )
    return Answer(
        text=text,
        tool_name=tool_name if tool_input is not None else None,
        tool_input=tool_input,
        stop_reason=stop,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
    )


def _tool_use_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def converse_body(answer: Answer, latency_ms: int) -> dict[str, Any]:
    """A Converse response body."""
    content: list[dict[str, Any]] = []
    if answer.text is not None:
        content.append({"text": answer.text})
    if answer.tool_input is not None:
        content.append(
            {
                "toolUse": {
                    "toolUseId": _tool_use_id("tooluse_"),
                    "name": answer.tool_name,
                    "input": answer.tool_input,
                }
            }
        )
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": answer.stop_reason,
        "usage": usage_body(answer),
        "metrics": {"latencyMs": latency_ms},
    }


def invoke_body(model_id: str, answer: Answer) -> dict[str, Any]:
    """An InvokeModel response body in the model family's native format."""
    model_id = base_model_id(model_id)
    truncated = answer.stop_reason == "max_tokens"
    text = answer.text or ""
    if answer.tool_input is not None and not model_id.startswith("anthropic."):
        text += json.dumps(answer.tool_input)
    if model_id.startswith("amazon.titan-text"):
        return {
            "inputTextTokenCount": answer.input_tokens,
            "results": [
                {
                    "tokenCount": answer.output_tokens,
                    "outputText": text,
                    "completionReason": "LENGTH" if truncated else "FINISH",
                }
            ],
        }
    if model_id.startswith("mistral."):
        return {"outputs": [{"text": text, "stop_reason": "length" if truncated else "stop"}]}
    content: list[dict[str, Any]] = []
    if answer.text is not None:
        content.append({"type": "text", "text": answer.text})
    if answer.tool_input is not None and model_id.startswith("anthropic."):
        content.append(
            {
                "type": "tool_use",
                "id": _tool_use_id("toolu_"),
                "name": answer.tool_name,
                "input": answer.tool_input,
            }
        )
    elif answer.tool_input is not None:
        content.append({"type": "text", "text": json.dumps(answer.tool_input)})
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model_id,
        "content": content,
        "stop_reason": answer.stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens},
    }


def guardrail_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """An ApplyGuardrail response that lets everything through (action NONE)."""
    chars = sum(len(t) for t in block_texts([c.get("text", {}) for c in body.get("content", [])]))
    units = max(1, math.ceil(chars / 1000))
    return {
        "usage": {
            "topicPolicyUnits": 0,
            "contentPolicyUnits": units,
            "wordPolicyUnits": 0,
            "sensitiveInformationPolicyUnits": 0,
            "sensitiveInformationPolicyFreeUnits": 0,
            "contextualGroundingPolicyUnits": 0,
        },
        "action": "NONE",
        "outputs": [],
        "assessments": [],
    }
