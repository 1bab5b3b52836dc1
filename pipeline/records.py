"""Stream input: DynamoDB Streams records and EventBridge Pipe arrays → messages or skips.

Pure and total: any input, however broken, becomes a `ParsedRecord` holding either a
`Message` or a `SkipReason`; nothing here raises. The marketplace table's items are
`Id` (S, or N converted to a string), `timestamp` (S, ISO-8601 with a timezone),
`message` (S) and an optional `sender` (S).

An INSERT is a new message. A MODIFY whose `message` text differs from its OldImage's
(or that has no OldImage to compare with) is an edited message, judged again; one that
leaves the text as it was (another attribute changed) is skipped: no model call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from .conversation import MAX_SENDER_CHARS, Message, bound_message_text, parse_timestamp
from .errors import InputError

# The Alexa skill keeps its sessions in the same table under this id prefix.
SKILL_PREFIX = "skill#"
MAX_ID_CHARS = 512
# The marketplace attributes; an image with none of the payload ones is another shape.
_PAYLOAD_FIELDS = ("message", "timestamp")


class SkipReason(StrEnum):
    """Why a record produced no message (counted and logged by id, never by text)."""

    NOT_INSERT = "not_insert"  # REMOVE, or an event name that is not INSERT/MODIFY
    NO_NEW_IMAGE = "no_new_image"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    BAD_TIMESTAMP = "bad_timestamp"
    TOO_LARGE = "too_large"
    UNKNOWN_SHAPE = "unknown_shape"
    SKILL_RECORD = "skill_record"
    UNCHANGED_TEXT = "unchanged_text"  # a MODIFY that left the message text as it was


@dataclass(frozen=True)
class ParsedRecord:
    """One input record: its identifiers, and a message or the reason there is none."""

    index: int
    item_id: str  # what a batch item failure names: the stream SequenceNumber, else the index
    event_id: str | None = None
    conversation_id: str | None = None
    message: Message | None = None
    skip: SkipReason | None = None
    size_bytes: int = 0
    edited: bool = False  # a MODIFY that changed the message text

    @property
    def usable(self) -> bool:
        return self.message is not None


class _Skip(Exception):
    """Internal: stops parsing one record with a reason."""

    def __init__(self, reason: SkipReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


def parse_stream_event(event: Any) -> list[ParsedRecord]:
    """Parse a DynamoDB Streams Lambda event (`{"Records": [...]}`); never raises."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        return []
    return [parse_stream_record(raw, index) for index, raw in enumerate(records)]


def parse_stream_record(raw: Any, index: int = 0) -> ParsedRecord:
    """Parse one DynamoDB Streams record; never raises."""
    if not isinstance(raw, dict):
        return ParsedRecord(index=index, item_id=str(index), skip=SkipReason.UNKNOWN_SHAPE)
    dynamodb = raw.get("dynamodb")
    sequence = dynamodb.get("SequenceNumber") if isinstance(dynamodb, dict) else None
    event_id = raw.get("eventID") if isinstance(raw.get("eventID"), str) else None
    base = ParsedRecord(
        index=index,
        item_id=sequence if isinstance(sequence, str) and sequence else str(index),
        event_id=event_id,
    )
    try:
        if not isinstance(dynamodb, dict) or not isinstance(raw.get("eventName"), str):
            raise _Skip(SkipReason.UNKNOWN_SHAPE)
        base = replace(base, conversation_id=_id_for_logs(dynamodb.get("Keys")))
        if raw["eventName"] not in ("INSERT", "MODIFY"):
            raise _Skip(SkipReason.NOT_INSERT)
        image = dynamodb.get("NewImage")
        if image is None:
            raise _Skip(SkipReason.NO_NEW_IMAGE)
        if not isinstance(image, dict):
            raise _Skip(SkipReason.UNKNOWN_SHAPE)
        fields = {name: _typed_value(value) for name, value in image.items()}
        base = replace(base, conversation_id=_id_for_logs(image) or base.conversation_id)
        message = _message(fields)
        edited = raw["eventName"] == "MODIFY"
        if edited and _same_text(image, dynamodb.get("OldImage")):
            raise _Skip(SkipReason.UNCHANGED_TEXT)
        size = dynamodb.get("SizeBytes")
        return replace(
            base,
            message=message,
            size_bytes=size if isinstance(size, int) else _size(message),
            edited=edited,
        )
    except _Skip as skip:
        return replace(base, skip=skip.reason)
    except Exception:  # totality: a shape not foreseen is a skip, never a crashed batch
        return replace(base, skip=SkipReason.UNKNOWN_SHAPE)


def parse_pipe_items(items: Any) -> list[ParsedRecord]:
    """Parse the array an EventBridge Pipe hands a Step Functions target, every element.

    Elements are flat items (`{"Id", "message", "timestamp", "sender"?}`, plain or
    DynamoDB-typed values) or whole stream records when the pipe has no input
    transformer. `item_id` is the element's index.
    """
    if not isinstance(items, list):
        return []
    parsed = []
    for index, raw in enumerate(items):
        if isinstance(raw, dict) and "dynamodb" in raw:
            record = parse_stream_record(raw, index)
            parsed.append(_with_item_id(record, str(index)))
        else:
            parsed.append(parse_flat_item(raw, index))
    return parsed


def parse_flat_item(raw: Any, index: int = 0) -> ParsedRecord:
    """Parse one flat item `{"Id", "message", "timestamp", "sender"?}`; never raises."""
    ids: dict[str, Any] = {"index": index, "item_id": str(index)}
    try:
        if not isinstance(raw, dict):
            raise _Skip(SkipReason.UNKNOWN_SHAPE)
        fields = {name: _plain_value(value) for name, value in raw.items()}
        ids["conversation_id"] = _loggable_id(fields.get("Id"))
        message = _message(fields)
        return ParsedRecord(**ids, message=message, size_bytes=_size(message))
    except _Skip as skip:
        return ParsedRecord(**ids, skip=skip.reason)
    except Exception:  # totality, as above
        return ParsedRecord(**ids, skip=SkipReason.UNKNOWN_SHAPE)


def _with_item_id(record: ParsedRecord, item_id: str) -> ParsedRecord:
    return replace(record, item_id=item_id)


def _same_text(new_image: dict[str, Any], old_image: Any) -> bool:
    """Both images hold the same `message` string (an edit of another attribute)."""
    if not isinstance(old_image, dict):
        return False  # no OldImage (a NEW_IMAGE stream): judge it; the key dedupes repeats
    new, old = _typed_value(new_image.get("message")), _typed_value(old_image.get("message"))
    return new.tag == old.tag == "S" and isinstance(new.value, str) and new.value == old.value


class _Typed:
    """A DynamoDB attribute value reduced to (type tag, value); bad wrappers are `None`."""

    __slots__ = ("tag", "value")

    def __init__(self, tag: str | None, value: Any) -> None:
        self.tag = tag
        self.value = value


def _typed_value(value: Any) -> _Typed:
    # DynamoDB JSON: exactly one type key, e.g. {"S": "text"} or {"N": "101"}.
    if isinstance(value, dict) and len(value) == 1:
        tag, inner = next(iter(value.items()))
        return _Typed(tag if isinstance(tag, str) else None, inner)
    return _Typed(None, value)


def _plain_value(value: Any) -> _Typed:
    # Pipe items usually carry plain JSON values; accept the typed form too.
    if isinstance(value, dict):
        return _typed_value(value)
    if isinstance(value, str):
        return _Typed("S", value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _Typed("N", str(value))
    return _Typed(None, value)


def _message(fields: dict[str, _Typed]) -> Message:
    key = fields.get("Id")
    if key is not None and isinstance(key.value, str) and key.value.startswith(SKILL_PREFIX):
        raise _Skip(SkipReason.SKILL_RECORD)
    if not any(name in fields for name in _PAYLOAD_FIELDS):
        raise _Skip(SkipReason.UNKNOWN_SHAPE)
    for name in ("Id", *_PAYLOAD_FIELDS):
        if name not in fields:
            raise _Skip(SkipReason.MISSING_FIELD)
    conversation_id = _conversation_id(fields["Id"])
    # An oversized message is judged on its cut text (the model sees the marker), never
    # skipped: padding a scam past the limit must not take it out of moderation.
    text = bound_message_text(_string(fields["message"]))
    stamp = _string(fields["timestamp"])
    try:
        timestamp = parse_timestamp(stamp)
    except InputError:
        raise _Skip(SkipReason.BAD_TIMESTAMP) from None
    sender = fields.get("sender")
    # The sender only labels a message: a strange one becomes "unknown", the message stays.
    sender_text = (
        sender.value if sender and sender.tag == "S" and isinstance(sender.value, str) else ""
    )
    try:
        return Message(
            conversation_id=conversation_id,
            timestamp=timestamp,
            sender=sender_text.strip()[:MAX_SENDER_CHARS] or "unknown",
            text=text,
        )
    except ValidationError:
        raise _Skip(SkipReason.WRONG_TYPE) from None


def _string(field: _Typed) -> str:
    if field.tag != "S" or not isinstance(field.value, str):
        raise _Skip(SkipReason.WRONG_TYPE)
    return field.value


def _conversation_id(field: _Typed) -> str:
    if field.tag not in ("S", "N") or not isinstance(field.value, str):
        raise _Skip(SkipReason.WRONG_TYPE)
    value = field.value.strip()
    if not value:
        raise _Skip(SkipReason.MISSING_FIELD)
    if len(value) > MAX_ID_CHARS:
        raise _Skip(SkipReason.TOO_LARGE)
    return value


def _id_for_logs(image: Any) -> str | None:
    if not isinstance(image, dict):
        return None
    return _loggable_id(_typed_value(image.get("Id")))


def _loggable_id(field: Any) -> str | None:
    # Ids are logged, so only a plain, bounded string qualifies.
    if isinstance(field, _Typed) and field.tag in ("S", "N") and isinstance(field.value, str):
        return field.value[:MAX_ID_CHARS] or None
    return None


def _size(message: Message) -> int:
    return len(message.text.encode("utf-8", "surrogatepass"))
