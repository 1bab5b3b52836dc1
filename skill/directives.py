"""Alexa progressive responses: "let me think" while the answer is on its way.

A progressive response is a `VoicePlayer.Speak` directive sent through Alexa's
directive service (`POST {apiEndpoint}/v1/directives`, bearer `apiAccessToken`, the
request's id in the header) before the skill's full response. ask-sdk-core's
`DirectiveServiceClient` builds that call; it sends it through the skill builder's
`ApiClient`. The SDK's `DefaultApiClient` waits without a timeout, so parley gives it
`BoundedApiClient`: one attempt, a short timeout, HTTPS only (plain HTTP on loopback
only when the test stand-in asks for it). Nothing here logs the words or the token.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ask_sdk_model.services import ApiClient, ApiClientResponse

from pipeline.screen import ssml_escape

if TYPE_CHECKING:
    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model.services import ApiClientRequest

# Alexa asks a progressive response to arrive well within the 8 s of the turn.
DIRECTIVE_TIMEOUT_S = 1.0


class DirectiveError(Exception):
    """The Alexa API could not be reached or refused the call (message: no content)."""


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class BoundedApiClient(ApiClient):  # type: ignore[misc]  # the SDK's class is untyped
    """An ask-sdk `ApiClient` with a timeout, on the standard library's HTTP client."""

    def __init__(
        self, timeout_s: float = DIRECTIVE_TIMEOUT_S, *, allow_loopback_http: bool = False
    ) -> None:
        self.timeout_s = timeout_s
        self.allow_loopback_http = allow_loopback_http

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        url = urlsplit(request.url or "")
        plain_ok = self.allow_loopback_http and url.scheme == "http" and _loopback(url.hostname)
        if url.scheme != "https" and not plain_ok:
            raise DirectiveError("the Alexa API is called over HTTPS only")
        headers = dict(request.headers or [])
        body = request.body
        data = None
        if body is not None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
        call = urllib.request.Request(
            request.url, data=data, headers=headers, method=request.method or "POST"
        )
        try:
            with urllib.request.urlopen(call, timeout=self.timeout_s) as response:
                text = response.read().decode("utf-8", "replace")
                status, reply_headers = response.status, list(response.headers.items())
        except urllib.error.HTTPError as exc:
            text, status, reply_headers = "", exc.code, list(exc.headers.items())
        except (OSError, ValueError) as exc:
            raise DirectiveError(f"Alexa API call failed ({type(exc).__name__})") from None
        return ApiClientResponse(headers=reply_headers, status_code=status, body=text)


def progressive_sender(handler_input: HandlerInput) -> Callable[[str], None] | None:
    """A function that speaks a line as a progressive response for this request, or
    None when the request carries no API endpoint and token (or the skill no client)."""
    from ask_sdk_model.services.directive import Header, SendDirectiveRequest, SpeakDirective

    factory = handler_input.service_client_factory
    envelope = handler_input.request_envelope
    system = getattr(getattr(envelope, "context", None), "system", None)
    request_id = getattr(envelope.request, "request_id", None)
    if factory is None or system is None or not request_id:
        return None
    if not system.api_endpoint or not system.api_access_token:
        return None

    def send(line: str) -> None:
        directive = SendDirectiveRequest(
            header=Header(request_id=request_id),
            directive=SpeakDirective(speech=f"<speak>{ssml_escape(line)}</speak>"),
        )
        factory.get_directive_service().enqueue(directive)

    return send


def speak_directive_body(request_id: str, line: str) -> dict[str, Any]:
    """The JSON body Alexa expects for a progressive response (for tests and docs)."""
    return {
        "header": {"requestId": request_id},
        "directive": {"type": "VoicePlayer.Speak", "speech": f"<speak>{ssml_escape(line)}</speak>"},
    }
