"""A local Amazon Bedrock Runtime endpoint for tests, demos and benchmarks.

`BedrockEmulator` serves the Converse and InvokeModel REST-JSON wire protocol on
loopback, so a boto3 `bedrock-runtime` client (or langchain-aws
`ChatBedrockConverse`) given its `endpoint_url` works unchanged::

    with BedrockEmulator(ScriptedResponder(["0.12"])) as emulator:
        client = emulator.client()
        client.converse(modelId="amazon.nova-micro-v1:0", messages=[...])

What the model answers comes from a pluggable *responder*: any callable taking an
`EmulatorRequest` and returning an `EmulatorReply` (text, or a tool input dict
that the emulator wraps in a `toolUse` block). `FaultConfig` injects latency,
per-model rpm/tpm quotas, throttles, 5xx, timeouts, hangs and malformed or
truncated answers; a prompt containing a marker such as `[[emulator:throttle]]`
triggers one fault deterministically.

Prompt text is personal data: the emulator never logs requests or bodies.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import random
import re
import socket
import sys
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from .models.prompt_cache import CACHE_TTL_S, min_prefix_tokens
from .tokens import count_for_model

__all__ = [
    "DEFAULT_TOOL_INPUT",
    "ERROR_STATUS",
    "BedrockEmulator",
    "EchoResponder",
    "EmulatorReply",
    "EmulatorRequest",
    "EmulatorStats",
    "FaultConfig",
    "Responder",
    "ScriptedResponder",
    "contract_answer",
    "default_responder",
    "emulator_client",
    "estimate_tokens",
    "run_forever",
    "serve",
]

logger = logging.getLogger(__name__)

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
_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"

#: What the default responder answers to a forced tool (the verdict shape).
DEFAULT_TOOL_INPUT: dict[str, Any] = {
    "suspicious": False,
    "score": 0.0,
    "categories": [],
    "rationale": "emulator default",
}
#: Tokens reserved against tpm when a request sets no max tokens (Bedrock reserves
#: the model's maximum).
DEFAULT_RESERVED_MAX_TOKENS = 4096
MALFORMED_TEXT = "Sure! I think maybe"
DEFAULT_CLI_PORT = 8765

_MARKER = re.compile(r"\[\[emulator:([a-z0-9_]+)(?:=([A-Za-z]+))?\]\]")
_MARKER_FAULTS = frozenset({"throttle", "500", "503", "hang", "malformed", "truncated", "timeout"})
_GEO_PREFIXES = frozenset({"us", "eu", "apac", "jp", "au", "ca", "us-gov", "global"})
_ROUTE_MODEL = re.compile(r"^/model/([^/]+)/(converse|invoke)$")
_ROUTE_GUARDRAIL = re.compile(r"^/guardrail/([^/]+)/version/([^/]+)/apply$")


# --------------------------------------------------------------------------- data


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


@dataclass(frozen=True)
class FaultConfig:
    """Injected faults. Rates are probabilities per request and are exclusive of
    each other (one draw decides), so they must sum to at most 1.

    Quotas apply per model id over a sliding window of `quota_window_s` seconds
    (limits scale to `rpm * window / 60`); tpm counts estimated input tokens plus
    the request's max tokens, as Bedrock reserves them. Throttled requests are
    answered at once and not served.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rpm: int | None = None
    tpm: int | None = None
    throttle_rate: float = 0.0
    error_5xx_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_rate: float = 0.0
    hang_s: float = 30.0
    malformed_rate: float = 0.0
    truncated_rate: float = 0.0
    seed: int | None = None
    quota_window_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("latency_ms", "jitter_ms", "hang_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None")
        if self.quota_window_s <= 0:
            raise ValueError("quota_window_s must be > 0")
        rates = self._rates()
        if any(not 0.0 <= r <= 1.0 for r in rates.values()):
            raise ValueError("fault rates must be within [0, 1]")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates must sum to at most 1")

    def _rates(self) -> dict[str, float]:
        return {
            "throttle": self.throttle_rate,
            "5xx": self.error_5xx_rate,
            "timeout": self.timeout_rate,
            "hang": self.hang_rate,
            "malformed": self.malformed_rate,
            "truncated": self.truncated_rate,
        }

    def draw(self, rng: random.Random) -> str | None:
        """The fault for one request, or None; one uniform draw over the rates."""
        point = rng.random()
        for fault, rate in self._rates().items():
            if point < rate:
                return fault
            point -= rate
        return None


class EmulatorStats:
    """Thread-safe counters. `served_times` holds `time.monotonic()` of served
    (200) answers, newest last, bounded to the last 100,000."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self.received = 0
            self.served = 0
            self.by_status: Counter[int] = Counter()
            self.by_error: Counter[str] = Counter()
            self.by_model: Counter[str] = Counter()
            self.input_tokens = 0
            self.output_tokens = 0
            self.cache_read_tokens = 0
            self.cache_write_tokens = 0
            self.served_times: deque[float] = deque(maxlen=100_000)

    def record_received(self, model_id: str) -> None:
        with self._lock:
            self.received += 1
            self.by_model[model_id] += 1

    def record_answer(
        self,
        status: int,
        error: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> None:
        with self._lock:
            self.by_status[status] += 1
            if error is not None:
                self.by_error[error] += 1
            if status == 200:
                self.served += 1
                self.input_tokens += input_tokens
                self.output_tokens += output_tokens
                self.cache_read_tokens += cache_read_tokens
                self.cache_write_tokens += cache_write_tokens
                self.served_times.append(time.monotonic())

    def served_since(self, since: float) -> int:
        """Served answers at or after monotonic time `since`."""
        with self._lock:
            return sum(1 for t in self.served_times if t >= since)

    def served_per_minute(self, window_s: float = 60.0) -> float:
        """Served answers over the last `window_s` seconds, scaled to a minute."""
        return self.served_since(time.monotonic() - window_s) * 60.0 / window_s

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of the counters (without the timestamps)."""
        with self._lock:
            return {
                "received": self.received,
                "served": self.served,
                "by_status": dict(self.by_status),
                "by_error": dict(self.by_error),
                "by_model": dict(self.by_model),
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "cache_read_tokens": self.cache_read_tokens,
                "cache_write_tokens": self.cache_write_tokens,
            }

    def summary(self) -> str:
        """One line for humans."""
        snap = self.snapshot()
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(snap["by_status"].items())) or "-"
        return (
            f"served {snap['served']}/{snap['received']} requests ({statuses}); "
            f"tokens in {snap['input_tokens']}, out {snap['output_tokens']}"
        )


# --------------------------------------------------------------------- responders


def estimate_tokens(text: str) -> int:
    """~4 characters a token, at least 1."""
    return max(1, math.ceil(len(text) / 4))


def example_for_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """A minimal object satisfying a simple JSON schema; DEFAULT_TOOL_INPUT's values
    are used for properties it names."""
    if not schema:
        return dict(DEFAULT_TOOL_INPUT)
    properties: Mapping[str, Any] = schema.get("properties") or {}
    if not properties:
        return dict(DEFAULT_TOOL_INPUT)
    defs: Mapping[str, Any] = schema.get("$defs") or schema.get("definitions") or {}
    return {name: _example_value(name, prop, defs) for name, prop in properties.items()}


def _example_value(name: str, prop: Mapping[str, Any], defs: Mapping[str, Any]) -> Any:
    ref = prop.get("$ref")
    if isinstance(ref, str):
        prop = defs.get(ref.rsplit("/", 1)[-1], {})
    if "const" in prop:
        return prop["const"]
    if prop.get("enum"):
        return prop["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if prop.get(key):
            return _example_value(name, prop[key][0], defs)
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if name in DEFAULT_TOOL_INPUT and kind in (None, _json_type(DEFAULT_TOOL_INPUT[name])):
        return DEFAULT_TOOL_INPUT[name]
    low = prop.get("minimum", 0)
    simple = {"string": "", "boolean": False, "array": [], "null": None}
    if kind in simple:
        return simple[kind]
    if kind == "integer":
        return int(low)
    if kind == "number":
        return float(low)
    if kind == "object":
        return example_for_schema(prop) if prop.get("properties") else {}
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, float):
        return "number"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "object"


def default_responder(request: EmulatorRequest) -> EmulatorReply:
    """For a forced tool, an input satisfying its schema (DEFAULT_TOOL_INPUT for the
    verdict schema); for a prompt asking for parley's text answer contract, the marked
    final line with the prompt's answer code and DEFAULT_TOOL_INPUT; else text "0"."""
    if request.forced_tool is not None:
        return EmulatorReply(tool_input=example_for_schema(request.tool_schema))
    if text := contract_answer(request.prompt_text, DEFAULT_TOOL_INPUT):
        return EmulatorReply(text=text)
    return EmulatorReply(text="0")


def contract_answer(prompt_text: str, verdict: Mapping[str, Any], preface: str = "") -> str | None:
    """A text answer by parley's text answer contract (pipeline.verdict), as a model
    following the prompt's instruction writes it: an optional preface, then the final
    line `VERDICT <answer code>: <verdict JSON>`. None when the prompt asks for none."""
    from .verdict import ANSWER_MARK, answer_nonce_in  # lazy: keeps the emulator light

    nonce = answer_nonce_in(prompt_text)
    if nonce is None:
        return None
    line = f"{ANSWER_MARK} {nonce}: {json.dumps(dict(verdict))}"
    return f"{preface}\n{line}" if preface else line


class EchoResponder:
    """Echoes the prompt text back (default_responder's tool input for forced tools)."""

    def __call__(self, request: EmulatorRequest) -> EmulatorReply:
        if request.forced_tool is not None:
            return default_responder(request)
        return EmulatorReply(text=request.prompt_text or "0")


class ScriptedResponder:
    """Replies from a script. Per request, in order: the first `by_substring` rule
    whose substring occurs in the prompt text; else the next queued reply; else
    `fallback` (a reply, or a responder; default: `default_responder`).

    Replies may be shorthand: a str is text, a mapping is a tool input. `requests`
    records what was asked, for assertions (in memory only).
    """

    def __init__(
        self,
        replies: Iterable[ReplyLike] = (),
        *,
        by_substring: Sequence[tuple[str, ReplyLike]] | Mapping[str, ReplyLike] = (),
        fallback: Responder | ReplyLike | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._queue: deque[EmulatorReply] = deque(as_reply(r) for r in replies)
        rules = by_substring.items() if isinstance(by_substring, Mapping) else by_substring
        self.rules: list[tuple[str, EmulatorReply]] = [(s, as_reply(r)) for s, r in rules]
        if fallback is None:
            self.fallback: Responder = default_responder
        elif callable(fallback):
            self.fallback = fallback
        else:
            fixed = as_reply(fallback)
            self.fallback = lambda _request: fixed
        self.requests: list[EmulatorRequest] = []

    def push(self, *replies: ReplyLike) -> None:
        """Queue more replies."""
        with self._lock:
            self._queue.extend(as_reply(r) for r in replies)

    @property
    def remaining(self) -> int:
        """Queued replies not consumed yet."""
        return len(self._queue)

    def __call__(self, request: EmulatorRequest) -> EmulatorReply:
        with self._lock:
            self.requests.append(request)
            for substring, reply in self.rules:
                if substring in request.prompt_text:
                    return reply
            if self._queue:
                return self._queue.popleft()
        return self.fallback(request)


# ------------------------------------------------------------- request parsing


def _block_texts(blocks: Any) -> list[str]:
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
            texts.extend(_block_texts([guard.get("text", {})]))
        for key in ("toolResult", "tool_result"):
            if isinstance(block.get(key), dict):
                texts.extend(_block_texts(block[key].get("content", [])))
        if block.get("type") == "tool_result":
            texts.extend(_block_texts(block.get("content", [])))
    return texts


def _messages_text(system: Any, messages: Any) -> str:
    parts = _block_texts(system) if system else []
    for message in messages if isinstance(messages, list) else []:
        if isinstance(message, dict):
            parts.extend(_block_texts(message.get("content", [])))
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
            texts.extend(_block_texts([block]))
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


# -------------------------------------------------------------- response bodies


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
        reply.input_tokens
        if reply.input_tokens is not None
        else count_for_model(request.model_id, request.prompt_text)
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


def base_model_id(model_id: str) -> str:
    """The foundation model id inside an ARN or cross-region profile id
    ("arn:…/us.amazon.titan-text-lite-v1" -> "amazon.titan-text-lite-v1")."""
    name = model_id.rsplit("/", 1)[-1]
    prefix, dot, rest = name.partition(".")
    return rest if dot and prefix in _GEO_PREFIXES else name


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
    chars = sum(len(t) for t in _block_texts([c.get("text", {}) for c in body.get("content", [])]))
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


# ------------------------------------------------------------------ the server


class _Fault(Exception):
    """Answer with a Bedrock error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: BedrockEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Never print tracebacks (they could carry request data); note the type only."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            logger.warning("bedrock emulator: handler error %s", type(exc).__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "parley-bedrock-emulator"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections close after this
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: request lines and prompts are never logged."""

    def setup(self) -> None:
        super().setup()
        self.server.emulator._track(self.connection, add=True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.emulator._track(self.connection, add=False)

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        status, headers, payload = self.server.emulator._handle(method, self.path, raw)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.server.emulator._stopping.is_set():
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)


class BedrockEmulator:
    """A Bedrock Runtime endpoint on loopback, served from a daemon thread.

    `responder` and `faults` may be replaced at any time (`configure()` changes
    single fault fields). Use as a context manager or call `start()` / `stop()`.
    """

    def __init__(
        self,
        responder: Responder | None = None,
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.responder: Responder = responder or default_responder
        self.host = host
        self.port = port
        self.stats = EmulatorStats()
        self._lock = threading.Lock()
        self._faults = FaultConfig()
        self._rng = random.Random()
        self.faults = faults or FaultConfig()
        self._windows: dict[str, deque[tuple[float, int]]] = {}
        self._prompt_cache: dict[tuple[str, str], float] = {}  # (model, prefix) -> expiry
        self._window_tokens: Counter[str] = Counter()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._lifecycle = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- configuration

    @property
    def faults(self) -> FaultConfig:
        """The active FaultConfig; assigning one reseeds the random choices."""
        return self._faults

    @faults.setter
    def faults(self, value: FaultConfig) -> None:
        with self._lock:
            self._faults = value
            self._rng = random.Random(value.seed)

    def configure(self, **changes: Any) -> FaultConfig:
        """Change some fault fields, e.g. `configure(rpm=60, latency_ms=200)`."""
        self.faults = dataclasses.replace(self._faults, **changes)
        return self.faults

    def reset_stats(self) -> None:
        """Zero the stats counters."""
        self.stats.reset()

    def reset_quotas(self) -> None:
        """Forget the rpm/tpm windows."""
        with self._lock:
            self._windows.clear()
            self._window_tokens.clear()
            self._prompt_cache.clear()

    # ---- lifecycle

    @property
    def endpoint_url(self) -> str:
        """`http://HOST:PORT` once started."""
        if self._server is None:
            raise RuntimeError("emulator not started")
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        return f"http://{host}:{port}"

    @property
    def running(self) -> bool:
        """Whether start() was called and stop() not yet."""
        return self._server is not None

    @property
    def open_connections(self) -> int:
        """Client connections currently open (keep-alive ones included)."""
        with self._lock:
            return len(self._connections)

    def start(self) -> BedrockEmulator:
        """Bind and serve in a background daemon thread."""
        with self._lifecycle:
            if self._server is not None:
                raise RuntimeError("emulator already started")
            self._stopping.clear()
            self._server = _Server((self.host, self.port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="bedrock-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: release hanging requests and close open connections."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            if server is None:
                return
            self._stopping.set()
            server.shutdown()
            with self._lock:
                connections = list(self._connections)
            for conn in connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            server.server_close()
            if thread is not None:
                thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> BedrockEmulator:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, **config: Any) -> Any:
        """A boto3 `bedrock-runtime` client for this endpoint (see `emulator_client`)."""
        return emulator_client(self.endpoint_url, **config)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # ---- request handling

    def _handle(self, method: str, raw_path: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """Route one HTTP request; returns (status, headers, body)."""
        started = time.monotonic()
        path = urlsplit(raw_path).path
        model = _ROUTE_MODEL.match(path)
        guard = _ROUTE_GUARDRAIL.match(path)
        if method != "POST" or (model is None and guard is None):
            return self._error("UnknownOperationException", f"No route for {method} {path}")
        if self._stopping.is_set():
            return self._error("ServiceUnavailableException", "The emulator is shutting down.")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._error(
                "ValidationException", "Malformed input request: expected a JSON object."
            )
        if guard is not None:
            self.stats.record_received(f"guardrail:{unquote(guard.group(1))}")
            return self._ok(guardrail_body(body))
        model_id, operation = unquote(model.group(1)), model.group(2)  # type: ignore[union-attr]
        self.stats.record_received(model_id)
        try:
            if operation == "converse":
                problem = validate_converse(body)
                if problem is not None:
                    raise _Fault("ValidationException", problem)
                request = converse_request(model_id, body)
            else:
                request = invoke_request(model_id, body)
            return self._serve(request, started)
        except _Fault as fault:
            return self._error(fault.code, fault.message)

    def _serve(self, request: EmulatorRequest, started: float) -> tuple[int, dict[str, str], bytes]:
        faults = self._faults
        marker, marker_code = self._marker(request.prompt_text)
        with self._lock:
            fault = marker if marker is not None else faults.draw(self._rng)
            which_5xx = self._rng.random()
            jitter = (
                self._rng.uniform(-faults.jitter_ms, faults.jitter_ms) if faults.jitter_ms else 0.0
            )
        if fault == "error" and marker_code:
            raise _Fault(marker_code, f"Injected {marker_code} (emulator marker).")
        if fault == "throttle":
            raise _Fault(
                "ThrottlingException", "Too many requests, please wait before trying again."
            )
        self._admit(request, faults)
        if fault == "hang":
            self._sleep(faults.hang_s)
        self._sleep(max(0.0, faults.latency_ms + jitter) / 1000.0)
        if fault == "timeout":
            raise _Fault("ModelTimeoutException", "Model has timed out in processing the request.")
        if fault == "5xx" or fault in ("500", "503"):
            if fault == "503" or (fault == "5xx" and which_5xx >= 0.5):
                raise _Fault("ServiceUnavailableException", "Service temporarily unavailable.")
            raise _Fault("InternalServerException", "The server encountered an internal error.")
        try:
            reply = as_reply(self.responder(request))
        except Exception as exc:  # a broken responder is the emulator's 500, not a crash
            logger.warning("bedrock emulator: responder raised %s", type(exc).__name__)
            raise _Fault("InternalServerException", "Emulator responder failed.") from None
        if reply.error is not None:
            raise _Fault(reply.error, f"Scripted {reply.error}.")
        answer = shape_answer(
            request, reply, fault if fault in ("malformed", "truncated") else None
        )
        latency_ms = int((time.monotonic() - started) * 1000)
        if request.operation == "converse":
            answer = self._cached(request, answer)
            return self._ok(converse_body(answer, latency_ms), answer)
        headers = {
            "X-Amzn-Bedrock-Input-Token-Count": str(answer.input_tokens),
            "X-Amzn-Bedrock-Output-Token-Count": str(answer.output_tokens),
            "X-Amzn-Bedrock-Invocation-Latency": str(latency_ms),
        }
        return self._ok(invoke_body(request.model_id, answer), answer, headers)

    @staticmethod
    def _marker(prompt_text: str) -> tuple[str | None, str | None]:
        if "[[emulator:" not in prompt_text:
            return None, None
        match = _MARKER.search(prompt_text)
        if match is None:
            return None, None
        name, code = match.group(1), match.group(2)
        if name == "error":
            if code not in ERROR_STATUS:
                return None, None
            return "error", code
        return (name if name in _MARKER_FAULTS else None), None

    def _cached(self, request: EmulatorRequest, answer: Answer) -> Answer:
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
            hit = self._prompt_cache.get(key, 0.0) > now
            self._prompt_cache[key] = now + CACHE_TTL_S
        return dataclasses.replace(
            answer,
            input_tokens=max(0, answer.input_tokens - tokens),
            cache_read_tokens=tokens if hit else 0,
            cache_write_tokens=0 if hit else tokens,
            cache_point=True,
        )

    def _admit(self, request: EmulatorRequest, faults: FaultConfig) -> None:
        """Count the request against its model's rpm/tpm window, or throttle it."""
        if faults.rpm is None and faults.tpm is None:
            return
        window = faults.quota_window_s
        reserved = count_for_model(request.model_id, request.prompt_text) + (
            request.max_tokens if request.max_tokens is not None else DEFAULT_RESERVED_MAX_TOKENS
        )
        now = time.monotonic()
        with self._lock:
            entries = self._windows.setdefault(request.model_id, deque())
            while entries and entries[0][0] <= now - window:
                self._window_tokens[request.model_id] -= entries.popleft()[1]
            if faults.rpm is not None and len(entries) >= faults.rpm * window / 60.0:
                raise _Fault(
                    "ThrottlingException", "Too many requests, please wait before trying again."
                )
            if (
                faults.tpm is not None
                and self._window_tokens[request.model_id] + reserved > faults.tpm * window / 60.0
            ):
                raise _Fault(
                    "ThrottlingException", "Too many tokens, please wait before trying again."
                )
            entries.append((now, reserved))
            self._window_tokens[request.model_id] += reserved

    def _sleep(self, seconds: float) -> None:
        """Sleep, woken early by stop() (then answer 503)."""
        if seconds > 0 and self._stopping.wait(seconds):
            raise _Fault("ServiceUnavailableException", "The emulator is shutting down.")

    def _ok(
        self,
        body: dict[str, Any],
        answer: Answer | None = None,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        self.stats.record_answer(
            200,
            input_tokens=answer.input_tokens if answer else 0,
            output_tokens=answer.output_tokens if answer else 0,
            cache_read_tokens=answer.cache_read_tokens if answer else 0,
            cache_write_tokens=answer.cache_write_tokens if answer else 0,
        )
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
        headers.update(extra or {})
        return 200, headers, json.dumps(body).encode()

    def _error(self, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
        status = ERROR_STATUS[code]
        self.stats.record_answer(status, error=code)
        headers = {
            "Content-Type": "application/json",
            "x-amzn-RequestId": str(uuid.uuid4()),
            "x-amzn-ErrorType": code + _ERROR_TYPE_SUFFIX,
        }
        return status, headers, json.dumps({"message": message}).encode()


def emulator_client(endpoint_url: str, **config: Any) -> Any:
    """A boto3 `bedrock-runtime` client for an emulator at `endpoint_url` (dummy credentials).

    Keyword arguments go to `botocore.config.Config`; defaults: adaptive retries
    (3 attempts in all) and a pool of 50 connections. Note that in `retries`,
    botocore's `max_attempts` counts *retries*; `total_max_attempts` counts
    attempts (`{"mode": "standard", "total_max_attempts": 1}` never retries).
    """
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {
        "retries": {"mode": "adaptive", "total_max_attempts": 3},
        "max_pool_connections": 50,
    }
    options.update(config)
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**options),
    )


# ------------------------------------------------------------------------- CLI


def run_forever(emulator: BedrockEmulator, echo: Callable[[str], Any] = print) -> EmulatorStats:
    """Serve until Ctrl-C, printing the endpoint URL, then a one-line stats summary."""
    if not emulator.running:
        emulator.start()
    echo(f"Bedrock emulator listening on {emulator.endpoint_url}")
    try:
        while not emulator._stopping.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        echo(emulator.stats.summary())
    return emulator.stats


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_CLI_PORT,
    latency_ms: float = 0.0,
    jitter_ms: float = 0.0,
    rpm: int | None = None,
    tpm: int | None = None,
    throttle_rate: float = 0.0,
    error_5xx_rate: float = 0.0,
    timeout_rate: float = 0.0,
    hang_rate: float = 0.0,
    hang_s: float = 30.0,
    malformed_rate: float = 0.0,
    truncated_rate: float = 0.0,
    seed: int | None = None,
    responder: Responder | None = None,
    echo: Callable[[str], Any] = print,
) -> EmulatorStats:
    """Build an emulator from CLI options and run it until Ctrl-C."""
    faults = FaultConfig(
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        rpm=rpm,
        tpm=tpm,
        throttle_rate=throttle_rate,
        error_5xx_rate=error_5xx_rate,
        timeout_rate=timeout_rate,
        hang_rate=hang_rate,
        hang_s=hang_s,
        malformed_rate=malformed_rate,
        truncated_rate=truncated_rate,
        seed=seed,
    )
    return run_forever(BedrockEmulator(responder, faults, host=host, port=port), echo=echo)
