"""ConverseStream on the wire: events in the `application/vnd.amazon.eventstream` framing.

Each event is one binary message, as botocore's `EventStream` decodes it: a prelude
(total length, headers length, CRC32 of the two), headers (`:message-type` event,
`:event-type` e.g. contentBlockDelta, `:content-type` application/json; string values
of type 7), a JSON payload of the event's members, and a CRC32 of the whole message.

`stream_frames` turns an answer into the events Bedrock sends (messageStart, one
contentBlockDelta per few words, contentBlockStop, messageStop, metadata) and paces
the deltas over `spread_s` seconds, so a slow model's words arrive as it writes them.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from .answers import Answer
from .billing import usage_body

CONTENT_TYPE = "application/vnd.amazon.eventstream"
WORDS_PER_DELTA = 3
_STRING = 7  # eventstream header value type: string
_TOKEN = re.compile(r"\S+\s*")


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        struct.pack("!B", len(raw_name))
        + raw_name
        + struct.pack("!BH", _STRING, len(raw_value))
        + raw_value
    )


def encode_event(event_type: str, payload: dict[str, Any]) -> bytes:
    """One eventstream message carrying `payload` as the `event_type` event."""
    headers = (
        _header(":event-type", event_type)
        + _header(":content-type", "application/json")
        + _header(":message-type", "event")
    )
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack("!II", total, len(headers))
    prelude += struct.pack("!I", zlib.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack("!I", zlib.crc32(message))


def text_deltas(text: str, words: int = WORDS_PER_DELTA) -> list[str]:
    """The text in pieces of a few words each (spaces kept, so they join back exactly)."""
    tokens = _TOKEN.findall(text)
    lead = text[: len(text) - len(text.lstrip())]
    pieces = ["".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]
    if pieces and lead:
        pieces[0] = lead + pieces[0]
    return pieces or ([text] if text else [])


def stream_frames(
    answer: Answer,
    latency_ms: int,
    *,
    spread_s: float = 0.0,
    sleep: Callable[[float], None] | None = None,
) -> Iterator[bytes]:
    """The encoded events of one streamed answer; deltas paced over `spread_s`."""
    yield encode_event("messageStart", {"role": "assistant"})
    deltas = text_deltas(answer.text or "")
    pause = spread_s / len(deltas) if deltas and spread_s > 0 else 0.0
    for piece in deltas:
        if pause and sleep is not None:
            sleep(pause)
        yield encode_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
    yield encode_event("contentBlockStop", {"contentBlockIndex": 0})
    yield encode_event("messageStop", {"stopReason": answer.stop_reason})
    yield encode_event(
        "metadata",
        {"usage": usage_body(answer), "metrics": {"latencyMs": latency_ms + int(spread_s * 1000)}},
    )
