"""Amazon Bedrock through boto3's Converse API (and InvokeModel for the original models).

Like langchain-aws, the request and the result are built by pure module-level
converters (`build_converse_request`, `parse_converse_response`) around a single
`client.converse(...)` call, so they test on recorded bodies without a network.

Deadlines: with `deadline_s`, the call runs on a worker thread and the caller
stops waiting after `deadline_s` (a hard bound whatever the socket does). When
parley built the client itself, that worker uses a sibling client with one
attempt and `read_timeout` just under the deadline, so an abandoned call ends
about then too instead of retrying in the background (those clients are cached
per deadline bucket). An injected client keeps its own timeouts and retries:
the caller is still released at the deadline, the worker finishes later.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ..errors import ConfigError, DeadlineExceeded, ModelError, ThrottledError
from ..verdict import text_answer_instruction
from . import VERDICT_TOOL, ModelResult
from .invoke_bodies import build_invoke_body, invoke_family, parse_invoke_body
from .pricing import estimate_cost
from .prompt_cache import min_prefix_tokens

if TYPE_CHECKING:
    from ..prompts import Inference, RenderedPrompt

logger = logging.getLogger(__name__)
T = TypeVar("T")

TOOL_DESCRIPTION = "Record the verdict on the conversation."
_GEO_PREFIXES = frozenset({"us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"})

# --------------------------------------------------------------- capabilities

ToolChoice = Literal["tool", "any", "auto"]


@dataclass(frozen=True)
class Capabilities:
    """What a model accepts in Converse: a tool choice (None: no tool use), a system prompt."""

    tool_choice: ToolChoice | None
    system: bool

    @property
    def tools(self) -> bool:
        return self.tool_choice is not None


_FORCED = Capabilities("tool", system=True)
_AUTO = Capabilities("auto", system=True)
_TEXT_ONLY = Capabilities(None, system=True)
_NO_SYSTEM = Capabilities(None, system=False)

# Bare model id prefix -> capabilities; the longest matching prefix wins. From the
# Bedrock user guide, "Supported models and model features" (Converse).
CAPABILITIES: dict[str, Capabilities] = {
    "anthropic.claude": _FORCED,
    "amazon.nova": _FORCED,
    "mistral.mistral-large": Capabilities("any", system=True),
    "meta.llama3": _TEXT_ONLY,  # Llama 3.0 and the small 3.2 models have no tool use
    "meta.llama3-1": _AUTO,
    "meta.llama3-2-11b": _AUTO,
    "meta.llama3-2-90b": _AUTO,
    "meta.llama3-3": _AUTO,
    "amazon.titan-text": _NO_SYSTEM,
    # Mistral Instruct models take no system prompt in Converse either.
    "mistral.mistral-7b": _NO_SYSTEM,
    "mistral.mixtral": _NO_SYSTEM,
}
DEFAULT_CAPABILITIES = _TEXT_ONLY


def base_model_id(model_id: str) -> str:
    """The foundation-model id inside an ARN or a cross-region inference profile id
    ("arn:…/us.amazon.nova-micro-v1:0" -> "amazon.nova-micro-v1:0")."""
    name = model_id.rsplit("/", 1)[-1]
    head, dot, tail = name.partition(".")
    return tail if dot and tail and head in _GEO_PREFIXES else name


def known_capabilities(model_id: str) -> Capabilities | None:
    """The table's entry for a model, or None when the table does not know it."""
    bare = base_model_id(model_id)
    matches = [prefix for prefix in CAPABILITIES if bare.startswith(prefix)]
    return CAPABILITIES[max(matches, key=len)] if matches else None


def capabilities(model_id: str) -> Capabilities:
    """Tool use and system-prompt support of a model (text fallback when unknown)."""
    return known_capabilities(model_id) or DEFAULT_CAPABILITIES


# ------------------------------------------------------------ pure converters


def inference_config(inference: Inference) -> dict[str, Any]:
    """Converse `inferenceConfig`; `maxTokens` is always set (Bedrock reserves it
    against the tokens-per-minute quota at the start of a call)."""
    config: dict[str, Any] = {
        "maxTokens": inference.max_tokens,
        "temperature": inference.temperature,
    }
    if inference.top_p is not None:
        config["topP"] = inference.top_p
    if inference.stop_sequences:
        config["stopSequences"] = list(inference.stop_sequences)
    return config


def tool_config(schema: dict[str, Any], choice: ToolChoice) -> dict[str, Any]:
    """Converse `toolConfig` offering the verdict tool with the given tool choice."""
    tool_choice: dict[str, Any] = (
        {"tool": {"name": VERDICT_TOOL}} if choice == "tool" else {choice: {}}
    )
    return {
        "tools": [
            {
                "toolSpec": {
                    "name": VERDICT_TOOL,
                    "description": TOOL_DESCRIPTION,
                    "inputSchema": {"json": schema},
                }
            }
        ],
        "toolChoice": tool_choice,
    }


def answer_instruction(schema: dict[str, Any], caps: Capabilities, nonce: str | None) -> str | None:
    """The text answer contract's instruction for this model, or None when it answers
    only through the tool: models without tool use always get it, models that may
    ignore the offered tool (`auto`) get it when the prompt has an answer code."""
    if not caps.tools:
        return text_answer_instruction(schema, nonce)
    if caps.tool_choice == "auto" and nonce is not None:
        return text_answer_instruction(schema, nonce, tool_offered=True)
    return None


def guardrail_config(guardrail: dict[str, Any]) -> dict[str, Any]:
    """Converse `guardrailConfig` from {"guardrailIdentifier", "guardrailVersion"[, "trace"]}."""
    missing = {"guardrailIdentifier", "guardrailVersion"} - guardrail.keys()
    if missing:
        raise ConfigError(f"guardrail config needs {', '.join(sorted(missing))}")
    return {"trace": "disabled", **guardrail}


def build_converse_request(
    model_id: str,
    prompt: RenderedPrompt,
    schema: dict[str, Any] | None = None,
    caps: Capabilities | None = None,
    guardrail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The keyword arguments of one `client.converse(...)` call.

    With a schema, models with tool use get the verdict tool (forced where they
    allow it); others get the text fallback: the text answer contract's instruction
    with the prompt's answer code (pipeline.verdict).
    Models without a system prompt get `prompt.as_text()` as the user message.
    """
    caps = caps or capabilities(model_id)
    user_text = prompt.user if caps.system else prompt.as_text()
    if schema is not None and (instruction := answer_instruction(schema, caps, prompt.nonce)):
        user_text = f"{user_text}\n\n{instruction}"
    request: dict[str, Any] = {
        "modelId": model_id,
        "messages": [{"role": "user", "content": [{"text": user_text}]}],
        "inferenceConfig": inference_config(prompt.inference),
    }
    if caps.system and prompt.system:
        request["system"] = [{"text": prompt.system}]
        if min_prefix_tokens(model_id) is not None:
            # The system text is the stable part; Bedrock ignores the point below the
            # model's minimum prefix, so it costs nothing where it cannot help.
            request["system"].append({"cachePoint": {"type": "default"}})
    if schema is not None and caps.tool_choice is not None:
        request["toolConfig"] = tool_config(schema, caps.tool_choice)
    if guardrail:
        request["guardrailConfig"] = guardrail_config(guardrail)
    return request


def parse_converse_response(
    model_id: str, response: dict[str, Any], latency_ms: float
) -> ModelResult:
    """A ModelResult from a Converse response body: text, the verdict tool's input, usage."""
    content = ((response.get("output") or {}).get("message") or {}).get("content") or []
    texts: list[str] = []
    structured: dict[str, Any] | None = None
    for block in content:
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        tool_use = block.get("toolUse")
        if isinstance(tool_use, dict) and structured is None:
            data = tool_use.get("input")
            if isinstance(data, dict):
                structured = data
            elif isinstance(data, str):  # some models send the input as a JSON string
                texts.append(data)
    usage = response.get("usage") or {}
    input_tokens = int(usage.get("inputTokens") or 0)
    output_tokens = int(usage.get("outputTokens") or 0)
    cache_read = int(usage.get("cacheReadInputTokens") or 0)
    cache_write = int(usage.get("cacheWriteInputTokens") or 0)
    stop_reason = response.get("stopReason")
    extra: dict[str, Any] = {"api": "converse"}
    if (server_ms := (response.get("metrics") or {}).get("latencyMs")) is not None:
        extra["server_latency_ms"] = server_ms
    if request_id := (response.get("ResponseMetadata") or {}).get("RequestId"):
        extra["request_id"] = request_id
    if stop_reason == "guardrail_intervened":
        extra["guardrail"] = True
    return ModelResult(
        model_id=model_id,
        text="".join(texts) if texts else None,
        structured=structured,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        latency_ms=round(latency_ms, 3),
        cost_usd=estimate_cost(model_id, input_tokens, output_tokens, cache_read, cache_write),
        stop_reason=stop_reason,
        extra=extra,
    )


def invoke_text(prompt: RenderedPrompt, schema: dict[str, Any] | None) -> str:
    """The whole text of an InvokeModel prompt (Titan and Mistral 7B have no tool use)."""
    text = prompt.as_text()
    if schema is not None:
        text = f"{text}\n\n{text_answer_instruction(schema, prompt.nonce)}"
    return text


def answer_nonce_extra(prompt: RenderedPrompt) -> dict[str, str]:
    """The answer code the request carried, kept on the result: a cached answer is read
    with the code its own request showed, not a later render's."""
    return {"answer_nonce": prompt.nonce} if prompt.nonce else {}


# --------------------------------------------------------------- error mapping

# botocore's retry modes do not retry ModelNotReadyException: as a retryable
# ThrottledError it is retried by the caller (pipeline.retry), with the others.
THROTTLE_CODES = frozenset(
    {"ThrottlingException", "ModelNotReadyException", "ServiceQuotaExceededException"}
)
RETRYABLE_CODES = frozenset(
    {"ModelTimeoutException", "InternalServerException", "ServiceUnavailableException"}
)


def map_client_error(
    exc: BaseException, model_id: str = "bedrock", *, deadline_s: float | None = None
) -> ModelError:
    """The parley error for a botocore error. The message names the error code and
    the model, never the server's message (it can echo request text)."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        meta = exc.response.get("ResponseMetadata") or {}
        code = str(error.get("Code") or "Unknown")
        message = f"bedrock {code} (HTTP {meta.get('HTTPStatusCode', '?')}) from {model_id}"
        if meta.get("RequestId"):
            message += f", request id {meta['RequestId']}"
        if code in THROTTLE_CODES:
            return ThrottledError(message, code=code)
        return ModelError(message, retryable=code in RETRYABLE_CODES, code=code)
    name = type(exc).__name__
    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        if deadline_s is not None:
            return DeadlineExceeded(f"bedrock {model_id}: no answer within {deadline_s:.2f} s")
        return ModelError(f"bedrock {model_id}: {name}", retryable=True, code=name)
    if isinstance(exc, EndpointConnectionError | ConnectionClosedError):
        return ModelError(f"bedrock {model_id}: {name}", retryable=True, code=name)
    if isinstance(exc, NoCredentialsError):
        return ModelError(
            f"bedrock {model_id}: no AWS credentials found", retryable=False, code=name
        )
    return ModelError(f"bedrock {model_id}: {name}", retryable=False, code=name)


# ------------------------------------------------------------------- deadlines

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _deadline_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="parley-model")
        return _executor


def call_with_deadline(call: Callable[[], T], deadline_s: float | None) -> T:
    """Run `call`; with a deadline, stop waiting after `deadline_s` (DeadlineExceeded).

    The call runs on a worker thread that cannot be interrupted: give it its own
    timeouts so that it ends soon after too.
    """
    if deadline_s is None:
        return call()
    if deadline_s <= 0:
        raise DeadlineExceeded("no time left for the model call")
    future = _deadline_executor().submit(call)
    done, _ = wait_for([future], timeout=deadline_s)
    if not done:
        future.cancel()  # if still queued, it never runs
        raise DeadlineExceeded(f"model call exceeded its deadline of {deadline_s:.2f} s")
    return future.result()


def deadline_bucket(deadline_s: float) -> int:
    """Deadlines share a client per bucket: 2**(bucket/8) seconds is at most ~8% under."""
    return math.floor(math.log2(max(deadline_s, 0.01)) * 8)


# ----------------------------------------------------------------------- model


class BedrockModel:
    """A Bedrock model called through Converse (or `api="invoke"` with the native
    Titan/Mistral bodies, to replay the original prompt faithfully)."""

    _MAX_DEADLINE_CLIENTS = 8

    def __init__(
        self,
        model_id: str,
        *,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        max_attempts: int = 6,
        retry_mode: str = "adaptive",
        read_timeout: float = 60.0,
        connect_timeout: float = 5.0,
        guardrail: dict[str, Any] | None = None,
        api: Literal["converse", "invoke"] = "converse",
    ) -> None:
        if not model_id:
            raise ConfigError("a Bedrock model needs a model id")
        if api not in ("converse", "invoke"):
            raise ConfigError(f"unknown Bedrock api {api!r}; use converse or invoke")
        self.model_id = model_id
        self.api = api
        self.base_id = base_model_id(model_id)
        if api == "invoke":
            invoke_family(self.base_id)  # fail at configuration, not at the first call
        self.capabilities = capabilities(model_id)
        self.guardrail = guardrail_config(guardrail) if guardrail else None
        self.region = region
        self.endpoint_url = endpoint_url
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._lock = threading.Lock()
        self._deadline_clients: dict[int, Any] = {}
        self.owns_client = client is None
        self.client = (
            client
            if client is not None
            else self._make_client(
                retries={"mode": retry_mode, "total_max_attempts": max_attempts},
                read_timeout=read_timeout,
                connect_timeout=connect_timeout,
            )
        )

    def __repr__(self) -> str:
        return f"BedrockModel({self.model_id!r}, api={self.api!r})"

    # ---- clients

    def _make_client(self, **config: Any) -> Any:
        from botocore.config import Config
        from botocore.exceptions import NoRegionError

        from .. import aws

        with self._lock:
            try:
                return aws.client(
                    "bedrock-runtime",
                    region_name=self.region,
                    endpoint_url=self.endpoint_url,
                    config=Config(tcp_keepalive=True, max_pool_connections=50, **config),
                )
            except NoRegionError:
                raise ConfigError("no AWS region: set PARLEY_REGION or AWS_REGION") from None

    def _client_for(self, deadline_s: float | None) -> Any:
        """The shared client, or for a deadline (on a client parley built) one with a
        single attempt and a read timeout just under the deadline."""
        if deadline_s is None or not self.owns_client:
            return self.client
        bucket = deadline_bucket(deadline_s)
        client = self._deadline_clients.get(bucket)
        if client is None:
            seconds = 2 ** (bucket / 8)
            client = self._make_client(
                retries={"mode": "standard", "total_max_attempts": 1},
                read_timeout=seconds,
                connect_timeout=min(self.connect_timeout, seconds),
            )
            with self._lock:
                if len(self._deadline_clients) >= self._MAX_DEADLINE_CLIENTS:
                    self._deadline_clients.pop(next(iter(self._deadline_clients)))
                self._deadline_clients[bucket] = client
        return client

    def _call(self, call: Callable[[Any], T], deadline_s: float | None) -> tuple[T, float]:
        """Run `call(client)` within the deadline; botocore errors become ModelErrors."""
        from botocore.exceptions import BotoCoreError, ClientError

        started = time.perf_counter()
        try:
            value = call_with_deadline(lambda: call(self._client_for(deadline_s)), deadline_s)
        except (ClientError, BotoCoreError) as exc:
            error = map_client_error(exc, self.model_id, deadline_s=deadline_s)
            logger.info(
                "bedrock call failed", extra={"model_id": self.model_id, "code": error.code}
            )
            raise error from None  # the botocore error's text may echo the request
        return value, (time.perf_counter() - started) * 1000

    # ---- ChatModel

    def generate(
        self,
        prompt: RenderedPrompt,
        *,
        schema: dict[str, Any] | None = None,
        deadline_s: float | None = None,
    ) -> ModelResult:
        """One model call: the verdict tool when `schema` is given, else text."""
        if self.api == "invoke":
            return self._generate_invoke(prompt, schema, deadline_s)
        request = build_converse_request(
            self.model_id, prompt, schema, self.capabilities, self.guardrail
        )
        response, latency_ms = self._call(lambda c: c.converse(**request), deadline_s)
        result = parse_converse_response(self.model_id, response, latency_ms)
        result = replace(result, extra={**result.extra, **answer_nonce_extra(prompt)})
        logger.debug(
            "bedrock converse",
            extra={
                "model_id": self.model_id,
                "input_tokens": result.input_tokens,
                "output_tokens": result.output_tokens,
                "latency_ms": result.latency_ms,
            },
        )
        return result

    def _generate_invoke(
        self, prompt: RenderedPrompt, schema: dict[str, Any] | None, deadline_s: float | None
    ) -> ModelResult:
        text = invoke_text(prompt, schema)
        body = build_invoke_body(self.base_id, text, prompt.inference)
        request: dict[str, Any] = {
            "modelId": self.model_id,
            "body": json.dumps(body),
            "contentType": "application/json",
            "accept": "application/json",
        }
        if self.guardrail:
            request["guardrailIdentifier"] = self.guardrail["guardrailIdentifier"]
            request["guardrailVersion"] = self.guardrail["guardrailVersion"]

        def invoke(client: Any) -> tuple[dict[str, Any], dict[str, str]]:
            response = client.invoke_model(**request)
            payload = json.loads(response["body"].read())  # read inside the deadline too
            return payload, response["ResponseMetadata"].get("HTTPHeaders", {})

        (payload, headers), latency_ms = self._call(invoke, deadline_s)
        answer = parse_invoke_body(self.base_id, payload, body.get("prompt", text), headers)
        extra: dict[str, Any] = {"api": "invoke", **answer_nonce_extra(prompt)}
        if answer.tokens_estimated:
            extra["tokens_estimated"] = True
        if payload.get("amazon-bedrock-guardrailAction") == "INTERVENED":
            extra["guardrail"] = True
        return ModelResult(
            model_id=self.model_id,
            text=answer.text,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            latency_ms=round(latency_ms, 3),
            cost_usd=estimate_cost(self.model_id, answer.input_tokens, answer.output_tokens),
            stop_reason=answer.stop_reason,
            extra=extra,
        )


_OPTIONS = frozenset(
    {
        "client",
        "region",
        "endpoint_url",
        "max_attempts",
        "retry_mode",
        "read_timeout",
        "connect_timeout",
        "guardrail",
    }
)


def from_reference(rest: str, **options: Any) -> BedrockModel:
    """`bedrock:<model-id>` (Converse) or `bedrock:invoke:<model-id>` (native body).

    Options: client, region, endpoint_url, max_attempts, retry_mode, read_timeout,
    connect_timeout, guardrail; region, endpoint and attempts default to settings.
    """
    from ..settings import get_settings

    unknown = options.keys() - _OPTIONS
    if unknown:
        raise ConfigError(f"unknown Bedrock model option(s): {', '.join(sorted(unknown))}")
    api: Literal["converse", "invoke"] = "converse"
    model_id = rest
    if rest.startswith("invoke:"):
        api, model_id = "invoke", rest.removeprefix("invoke:")
    if not model_id:
        raise ConfigError("bedrock: needs a model id, e.g. bedrock:amazon.nova-micro-v1:0")
    settings = get_settings()
    kwargs = {k: v for k, v in options.items() if v is not None}
    if kwargs.get("client") is None:
        kwargs.setdefault("region", settings.region)
        kwargs.setdefault("endpoint_url", settings.bedrock_endpoint_url)
    kwargs.setdefault("max_attempts", settings.max_attempts)
    return BedrockModel(model_id, api=api, **kwargs)
