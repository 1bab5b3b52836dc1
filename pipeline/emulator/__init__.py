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

Modules, one concept each: `calls` (a request parsed, a reply, error codes),
`responders` (what the model says), `answers` (the response body per operation),
`billing` (tokens, usage, prompt cache), `faults`, `quotas`, `stats` and `server`
(HTTP, the `BedrockEmulator` and the CLI loop); `streaming` (ConverseStream's
eventstream framing), `latency` (a latency distribution), `guardrail` (ApplyGuardrail
enforcing a policy offline) and `companion` (the canned companion responder).

Prompt text is personal data: the emulator never logs requests or bodies.
"""

from __future__ import annotations

from .answers import Answer, converse_body, guardrail_body, invoke_body, shape_answer
from .billing import PromptCache, billed_input_tokens, estimate_tokens, usage_body
from .calls import (
    ERROR_STATUS,
    EmulatorReply,
    EmulatorRequest,
    Operation,
    ReplyLike,
    Responder,
    as_reply,
    base_model_id,
    cache_prefix,
    converse_request,
    invoke_request,
    validate_converse,
)
from .faults import MALFORMED_TEXT, EmulatorFault, FaultConfig, marker_fault
from .quotas import DEFAULT_RESERVED_MAX_TOKENS, QuotaWindows
from .responders import (
    DEFAULT_TOOL_INPUT,
    EchoResponder,
    ScriptedResponder,
    contract_answer,
    default_responder,
    example_for_schema,
)
from .server import DEFAULT_CLI_PORT, BedrockEmulator, emulator_client, run_forever, serve
from .stats import EmulatorStats

__all__ = [
    "DEFAULT_CLI_PORT",
    "DEFAULT_RESERVED_MAX_TOKENS",
    "DEFAULT_TOOL_INPUT",
    "ERROR_STATUS",
    "MALFORMED_TEXT",
    "Answer",
    "BedrockEmulator",
    "EchoResponder",
    "EmulatorFault",
    "EmulatorReply",
    "EmulatorRequest",
    "EmulatorStats",
    "FaultConfig",
    "Operation",
    "PromptCache",
    "QuotaWindows",
    "ReplyLike",
    "Responder",
    "ScriptedResponder",
    "as_reply",
    "base_model_id",
    "billed_input_tokens",
    "cache_prefix",
    "contract_answer",
    "converse_body",
    "converse_request",
    "default_responder",
    "emulator_client",
    "estimate_tokens",
    "example_for_schema",
    "guardrail_body",
    "invoke_body",
    "invoke_request",
    "marker_fault",
    "run_forever",
    "serve",
    "shape_answer",
    "usage_body",
    "validate_converse",
]
