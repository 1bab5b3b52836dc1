"""Bedrock's ConverseStream for a `BedrockModel`: the answer's text as it is generated.

The request is the one `converse` would send (`build_converse_request`); the events
are read from the `application/vnd.amazon.eventstream` body that botocore decodes. Only
text deltas, the stop reason and the usage matter to a voice turn. A streamed error
event and a botocore error become the same parley errors as `converse`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

from .bedrock import BedrockModel, build_converse_request, map_client_error

if TYPE_CHECKING:
    from ..prompts import RenderedPrompt

_ERROR_EVENTS = (
    "internalServerException",
    "modelStreamErrorException",
    "validationException",
    "throttlingException",
    "serviceUnavailableException",
)
_ERROR_CODES = {
    "internalServerException": "InternalServerException",
    "modelStreamErrorException": "ModelStreamErrorException",
    "validationException": "ValidationException",
    "throttlingException": "ThrottlingException",
    "serviceUnavailableException": "ServiceUnavailableException",
}


@dataclass(frozen=True)
class StreamEvent:
    """One thing the stream said: a text delta, or the end (stop reason, usage)."""

    text: str = ""
    stop_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


def supports_streaming(model: Any) -> TypeGuard[BedrockModel]:
    """Whether `stream_text` can stream this model (Converse on Bedrock)."""
    return isinstance(model, BedrockModel) and model.api == "converse"


def stream_text(
    model: BedrockModel, prompt: RenderedPrompt, deadline_s: float | None = None
) -> Iterator[StreamEvent]:
    """Call ConverseStream and yield its text deltas, then its stop reason and usage.

    Raises the parley `ModelError` family (throttled, retryable, …) like `generate`.
    The caller bounds the time: it reads from a worker thread and stops waiting. With
    `deadline_s`, a client parley built makes one attempt with a read timeout near it
    (as `generate` does), so a throttle is reported, not retried past the deadline.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    request = build_converse_request(
        model.model_id, prompt, None, model.capabilities, model.guardrail
    )
    client = model._client_for(deadline_s)  # the model's own deadline clients
    try:
        response = client.converse_stream(**request)
        for event in response["stream"]:
            yield from _events(model.model_id, event)
    except (ClientError, BotoCoreError) as exc:
        raise map_client_error(exc, model.model_id) from None


def _events(model_id: str, event: dict[str, Any]) -> Iterator[StreamEvent]:
    from botocore.exceptions import ClientError

    delta = (event.get("contentBlockDelta") or {}).get("delta") or {}
    if isinstance(delta.get("text"), str) and delta["text"]:
        yield StreamEvent(text=delta["text"])
    if "messageStop" in event:
        yield StreamEvent(stop_reason=event["messageStop"].get("stopReason"))
    if "metadata" in event:
        usage = event["metadata"].get("usage") or {}
        yield StreamEvent(
            input_tokens=int(usage.get("inputTokens") or 0),
            output_tokens=int(usage.get("outputTokens") or 0),
        )
    for name in _ERROR_EVENTS:
        if name in event:  # an error after the 200: the same mapping as a ClientError
            code = _ERROR_CODES[name]
            error = ClientError({"Error": {"Code": code}}, "ConverseStream")
            raise map_client_error(error, model_id)
