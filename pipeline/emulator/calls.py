"""One model call as the emulator sees it: the request parsed from a Converse or
InvokeModel body, the reply a responder gives, and Bedrock's error codes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Operation = Literal["converse", "invoke"]

#: Bedrock error code -> HTTP status, as in the botocore service model.
ERROR_STATUS: dict[str, int] = {
    "ThrottlingException": 429,
    "ModelNotReadyException": 429,
    "ModelTimeoutException": 408,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
    "ValidationException": 400,
    "ServiceQuotaExceededException": 400,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "ModelErrorException": 424,
    "UnknownOperationException": 404,
}

_GEO_PREFIXES = frozenset({"us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"})


@dataclass(frozen=True)
class EmulatorRequest:
    """One model call as the responder sees it.

    `prompt_text` joins all text of the system prompt and messages (Converse) or of
    `inputText` / `prompt` / `system` + `messages` (InvokeModel). `tool_schema` is
    the JSON schema of the tool the answer should use (the forced tool, else the
    first one); `forced_tool` names the tool when toolChoice is `tool` or `any`.
    """

    model_id: str
    operation: Operation
    body: dict[str, Any]
    prompt_text: str = ""
    tool_name: str | None = None
    tool_schema: dict[str, Any] | None = None
    forced_tool: str | None = None
    max_tokens: int | None = None
    cache_prefix: str | None = None  # text before the last cachePoint block (Converse)
    tools_text: str = ""  # the tool definitions as sent (names, descriptions, schemas)
    tool_choice: str | None = None  # "auto", "any" or "tool" when tools are offered


@dataclass(frozen=True)
class EmulatorReply:
    """What the model answers: `text`, a `tool_input` dict, or both (text first).

    Token counts default to an estimate (~4 characters a token). `error` names a
    Bedrock error code (e.g. "ModelErrorException") to answer instead.
    """

    text: str | None = None
    tool_input: dict[str, Any] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if self.text is None and self.tool_input is None and self.error is None:
            raise ValueError("EmulatorReply needs text, tool_input or error")
        if self.error is not None and self.error not in ERROR_STATUS:
            raise ValueError(f"unknown Bedrock error code {self.error!r}")


Responder = Callable[[EmulatorRequest], EmulatorReply]
ReplyLike = EmulatorReply | str | Mapping[str, Any]


def as_reply(value: ReplyLike) -> EmulatorReply:
    """A reply from shorthand: a str is text, a mapping is a tool input."""
    if isinstance(value, EmulatorReply):
        return value
    if isinstance(value, str):
        return EmulatorReply(text=value)
    return EmulatorReply(tool_input=dict(value))


def block_texts(blocks: Any) -> list[str]:
    """Text of Converse/Anthropic content blocks (or a plain string)."""
    if isinstance(blocks, str):
        return [blocks]
    texts: list[str] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        guard = block.get("guardContent")
        if isinstance(guard, dict):
            texts.extend(block_texts([guard.get("text", {})]))
        for key in ("toolResult", "tool_result"):
            if isinstance(block.get(key), dict):
                texts.extend(block_texts(block[key].get("content", [])))
        if block.get("type") == "tool_result":
            texts.extend(block_texts(block.get("content", [])))
    return texts


def _messages_text(system: Any, messages: Any) -> str:
    parts = block_texts(system) if system else []
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict):
            parts.extend(block_texts(message.get("content", [])))
    return "\n".join(parts)


def converse_request(model_id: str, body: dict[str, Any]) -> EmulatorRequest:
    """An EmulatorRequest from a Converse body (already validated)."""
    tools = [t.get("toolSpec", {}) for t in (body.get("toolConfig") or {}).get("tools", [])]
    tools = [t for t in tools if isinstance(t, dict) and t.get("name")]
    choice = (body.get("toolConfig") or {}).get("toolChoice") or {}
    forced: str | None = None
    if isinstance(choice.get("tool"), dict):
        forced = choice["tool"].get("name")
    elif "any" in choice and tools:
        forced = tools[0]["name"]
    spec = next((t for t in tools if t["name"] == forced), tools[0] if tools else None)
    max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
    kind = next((k for k in ("tool", "any", "auto") if k in choice), "auto")
    return EmulatorRequest(
        model_id=model_id,
        operation="converse",
        body=body,
        prompt_text=_messages_text(body.get("system"), body.get("messages")),
        tool_name=spec["name"] if spec else None,
        tool_schema=(spec.get("inputSchema") or {}).get("json") if spec else None,
        forced_tool=forced,
        max_tokens=max_tokens if isinstance(max_tokens, int) else None,
        cache_prefix=cache_prefix(body.get("system"), body.get("messages")),
        tools_text=json.dumps(tools, separators=(",", ":")) if tools else "",
        tool_choice=kind if tools else None,
    )


def cache_prefix(system: Any, messages: Any) -> str | None:
    """The prompt text before the last `cachePoint` block (system first, then the
    messages in order), or None when the request has no cache point."""
    blocks: list[Any] = list(system) if isinstance(system, list) else []
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            blocks.extend(message["content"])
    prefix: str | None = None
    texts: list[str] = []
    for block in blocks:
        if isinstance(block, dict) and isinstance(block.get("cachePoint"), dict):
            prefix = "\n".join(texts)
        else:
            texts.extend(block_texts([block]))
    return prefix


def invoke_request(model_id: str, body: dict[str, Any]) -> EmulatorRequest:
    """An EmulatorRequest from an InvokeModel body (Titan, Mistral/Llama, Anthropic, Nova)."""
    if isinstance(body.get("inputText"), str):
        text = body["inputText"]
    elif isinstance(body.get("prompt"), str):
        text = body["prompt"]
    else:
        text = _messages_text(body.get("system"), body.get("messages"))
    max_tokens = next(
        (
            v
            for v in (
                (body.get("textGenerationConfig") or {}).get("maxTokenCount"),
                body.get("max_tokens"),
                body.get("max_gen_len"),
                (body.get("inferenceConfig") or {}).get("max_new_tokens"),
            )
            if isinstance(v, int)
        ),
        None,
    )
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")]
    choice = body.get("tool_choice") or {}
    forced: str | None = None
    if choice.get("type") == "tool":
        forced = choice.get("name")
    elif choice.get("type") == "any" and tools:
        forced = tools[0]["name"]
    spec = next((t for t in tools if t["name"] == forced), tools[0] if tools else None)
    return EmulatorRequest(
        model_id=model_id,
        operation="invoke",
        body=body,
        prompt_text=text,
        tool_name=spec["name"] if spec else None,
        tool_schema=spec.get("input_schema") if spec else None,
        forced_tool=forced,
        max_tokens=max_tokens,
        tools_text=json.dumps(tools, separators=(",", ":")) if tools else "",
        tool_choice=(choice.get("type") or "auto") if tools else None,
    )


def validate_converse(body: Mapping[str, Any]) -> str | None:
    """Bedrock-like light validation; the ValidationException message, or None."""
    messages = body.get("messages")
    if messages is None:
        return (
            "1 validation error detected: Value null at 'messages' failed to satisfy "
            "constraint: Member must not be null"
        )
    if not isinstance(messages, list) or not messages:
        return "The messages field must be a non-empty list."
    first = messages[0]
    if not isinstance(first, dict) or first.get("role") != "user":
        return (
            "A conversation must start with a user message. "
            "Try again with a conversation that starts with a user message."
        )
    max_tokens = (body.get("inferenceConfig") or {}).get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        return (
            f"1 validation error detected: Value '{max_tokens}' at 'inferenceConfig.maxTokens' "
            "failed to satisfy constraint: Member must have value greater than or equal to 1"
        )
    return None


def base_model_id(model_id: str) -> str:
    """The foundation model id inside an ARN or cross-region profile id
    ("arn:…/us.amazon.titan-text-lite-v1" -> "amazon.titan-text-lite-v1")."""
    name = model_id.rsplit("/", 1)[-1]
    prefix, dot, rest = name.partition(".")
    return rest if dot and prefix in _GEO_PREFIXES else name
