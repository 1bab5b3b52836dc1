"""Messages and conversations: validation, chronological order, windowing, file loading."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import InputError
from .normalise import normalised_text

if TYPE_CHECKING:
    from collections.abc import Callable

# One message above this is refused at the edge; the prompt truncates far earlier.
MAX_MESSAGE_BYTES = 256 * 1024
TRUNCATION_MARKER = " [… truncated by parley: {omitted} characters omitted]"

MAX_SENDER_CHARS = 64
_SENDER_UNSAFE = re.compile(r"[^\w.@ -]")
# A lone surrogate is not text: no store (SQLite, DynamoDB) and no service can encode it.
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")

Sender = Literal["buyer", "seller", "user", "assistant", "system", "unknown"]


class Message(BaseModel):
    """One message of a conversation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    conversation_id: str = Field(min_length=1, max_length=512)
    timestamp: datetime
    sender: str = Field("unknown", min_length=1, max_length=MAX_SENDER_CHARS)
    text: str

    @field_validator("timestamp")
    @classmethod
    def _timezone_aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("timestamp must carry a timezone (e.g. 2024-05-01T10:00:00Z)")
        return value.astimezone(UTC)

    @field_validator("sender")
    @classmethod
    def _plain_sender(cls, value: str) -> str:
        # Senders appear inside a prompt attribute: keep them to a plain alphabet.
        return _SENDER_UNSAFE.sub("_", value.strip()) or "unknown"

    @field_validator("text")
    @classmethod
    def _bounded_text(cls, value: str) -> str:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_MESSAGE_BYTES:
            raise ValueError(f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES}")
        return LONE_SURROGATE.sub("\ufffd", value)

    @property
    def iso_timestamp(self) -> str:
        """The sort-key form used by the stores: ISO-8601 UTC with microseconds."""
        return iso(self.timestamp)


class Conversation(BaseModel):
    """A conversation's messages, always kept in chronological order."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    messages: tuple[Message, ...]

    @field_validator("messages")
    @classmethod
    def _chronological(cls, value: tuple[Message, ...]) -> tuple[Message, ...]:
        # sorted() is stable: messages with equal timestamps keep their given order.
        return tuple(sorted(value, key=lambda m: m.timestamp))

    @property
    def last(self) -> Message:
        if not self.messages:
            raise InputError(f"conversation {self.id!r} has no messages")
        return self.messages[-1]

    def window(self, limit: int) -> Conversation:
        """The newest `limit` messages, still in chronological order."""
        return self.model_copy(update={"messages": self.messages[-limit:] if limit else ()})

    def digest(self) -> str:
        """A short hash of what these messages say (timestamps, senders, texts).

        Part of a verdict's idempotency key: the same messages cost one judgement,
        whatever the redeliveries; an edited text is a new judgement.
        """
        shown = [[m.iso_timestamp, m.sender, m.text] for m in self.messages]
        data = json.dumps(shown, ensure_ascii=False).encode("utf-8", "surrogatepass")
        return hashlib.sha256(data).hexdigest()[:16]

    def message_digests(self) -> tuple[str, ...]:
        """A short hash per message (timestamp, sender, text), in order: stored with a
        verdict, it tells a reviewer which message was edited after the judgement."""
        return tuple(
            hashlib.sha256(
                json.dumps([m.iso_timestamp, m.sender, m.text], ensure_ascii=False).encode(
                    "utf-8", "surrogatepass"
                )
            ).hexdigest()[:12]
            for m in self.messages
        )


def iso(ts: datetime) -> str:
    """ISO-8601 in UTC with a fixed width, so that string order is time order."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(value: str) -> datetime:
    """Parse an ISO-8601 timestamp; naive ones are refused."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError) as exc:
        raise InputError(f"not an ISO-8601 timestamp: {str(value)[:40]!r}") from exc
    if parsed.tzinfo is None:
        raise InputError(f"timestamp has no timezone: {value[:40]!r}")
    return parsed.astimezone(UTC)


def truncate_text(
    text: str, max_chars: int, *, match: Callable[[str], str] = normalised_text
) -> str:
    """Cut an over-long message to its start and its end, with a marker the model sees.

    Padding written around a request, to push it out of the prompt, must not hide it:
    repeated filler is collapsed first; then the start and the end are kept, and from
    the part in between, the passages that carry payment or contact cues (a cut
    keeping only the start let padded scams through; one keeping both ends lost a
    request padded on both sides). The text kept is the text given (the prompt gives
    the form a person reads, nothing folded); cues are looked for in `match` of each
    passage, the normalised matching copy: a cue spelt with hidden, look-alike or
    decorated letters is still a cue, whatever the normaliser changes in the text's
    length.
    """
    if len(text) <= max_chars:
        return text
    text = collapse_repeats(text)
    if len(text) <= max_chars:
        return text
    kept = _cue_pieces(text, max_chars // 3, skip=max_chars // 3, match=match)
    room = max_chars - sum(len(piece) for piece in kept)
    head = room // 2
    tail = room - head
    omitted = len(text) - max_chars
    start, end = text[:head], text[len(text) - tail :]
    if not kept:
        return f"{start}{TRUNCATION_MARKER.format(omitted=omitted)} {end}"
    middle = " […] ".join(piece.strip() for piece in kept)
    return f"{start}{CUE_MARKER.format(omitted=omitted)} {middle} […] {end}"


CUE_MARKER = (
    " [… truncated by parley: {omitted} characters omitted;"
    " what follows up to the next […] are passages of them with payment or contact cues]"
)
# What a scam asks for has to be said: money, a payment channel, a way to get in touch.
_CUE = re.compile(
    r"https?://|\bwww\.|\S@\S|[$€£¥]\s?\d|\d[\d ,.]*\s?(?:k\b|usd|eur|gbp|dollars?|euros?|pounds?)"
    r"|\d{3}[\s.-]?\d{3}[\s.-]?\d{3,4}"
    r"|\b(?:pay|paid|payment|deposit|wire|transfer|bank|account|iban|swift|card|gift ?cards?"
    r"|crypto|bitcoin|btc|usdt|wallet|paypal|zelle|venmo|cash ?app|western union|moneygram"
    r"|money|cash|fee|escrow|courier|whatsapp|telegram|signal|e-?mail|phone|password|code|verify"
    r"|link|click|log ?in|sign ?in|refund|overpaid|urgent|now"
    # the same in Spanish, French, German, Portuguese and Italian
    r"|pago|pagar|pagamento|dep[oó]sito|transferencia|transfer[eê]ncia|tarjeta|dinero|cuenta"
    r"|banco|adelanto|anticipo|se[nñ]al|paiement|payer|virement|acompte|argent|compte|banque"
    r"|zahlung|zahlen|[uü]berweisung|anzahlung|konto|geld|cart[aã]o|dinheiro|conta|pix"
    r"|bonifico|acconto|soldi|conto)\b",
    re.IGNORECASE,
)
_PIECE_CHARS = 300
# Overlapping passages: a cue of up to 225 characters is whole in one, and among the
# passages with the most cues the one that centres them is kept (the request's words
# on both sides of its cue).
_PIECE_STRIDE = _PIECE_CHARS // 4


def cue_count(text: str, match: Callable[[str], str] = normalised_text) -> int:
    """Payment or contact cues in a text, read on its normalised matching copy."""
    return len(_CUE.findall(match(text)))


def _cue_pieces(
    text: str, budget: int, *, skip: int, match: Callable[[str], str] = normalised_text
) -> list[str]:
    """Passages of the text's middle with payment or contact cues, the densest first
    within the budget, returned in their order.

    The first and last `skip` characters are left out: the cut keeps about that much of
    each end anyway. The middle is read in half-overlapping passages of 300 characters,
    each matched on `match(passage)`: a normaliser that changes lengths (entities,
    decorated letters) needs no map back to the text. Linear in the text's length.
    """
    low, high = skip, len(text) - skip
    scored = []
    for offset in range(low, max(low + 1, high - _PIECE_STRIDE), _PIECE_STRIDE):
        piece = text[offset : min(high, offset + _PIECE_CHARS)]
        hits = _cue_weight(match(piece))
        if hits:
            scored.append((hits, -_off_centre(piece), offset, piece))
    chosen: list[tuple[int, str]] = []
    used = 0
    for _hits, _centred, offset, piece in sorted(
        scored, key=lambda item: (-item[0], -item[1], item[2])
    ):
        if any(abs(offset - other) < _PIECE_CHARS for other, _ in chosen):
            continue  # overlaps a passage already kept
        if used + len(piece) + 6 <= budget:  # 6: the " […] " between pieces
            chosen.append((offset, piece))
            used += len(piece) + 6
    return [piece for _offset, piece in sorted(chosen)]


# Words that filler says too ("looks brighter now", "I have a code for the gate"):
# a passage with them alone ranks below any with money, payment or contact cues.
_WEAK_CUE = frozenset({"now", "urgent", "code", "link", "click", "phone", "money"})


def _cue_weight(text: str) -> int:
    """A passage's cues, strong ones counted three times the weak ones."""
    return sum(1 if m.group(0).lower() in _WEAK_CUE else 3 for m in _CUE.finditer(text))


def strong_cue_count(text: str, match: Callable[[str], str] = normalised_text) -> int:
    """Money, payment or contact cues in a text (not the weak ones filler says too),
    read on its normalised matching copy."""
    return sum(m.group(0).lower() not in _WEAK_CUE for m in _CUE.finditer(match(text)))


def _off_centre(piece: str) -> int:
    """How far the cues seen as written sit from the passage's middle (0 when only the
    normalised copy shows them: no position to go by)."""
    spots = [(m.start() + m.end()) // 2 for m in _CUE.finditer(piece)]
    if not spots:
        return 0
    return abs(sum(spots) // len(spots) - len(piece) // 2)


REPEAT_MARKER = " [… repeated {times} times]"
# A sentence or line with what ends it; the last piece may have no end.
_UNIT = re.compile(r"[^.!?\n]*[.!?\n]+\s*|[^.!?\n]+")
# The same word five times or more in a row; the same character 32 times or more.
_WORD_RUN = re.compile(r"\b(\w+)(?:\s+\1\b){4,}")
_CHAR_RUN = re.compile(r"(.)\1{31,}", re.DOTALL)


def collapse_repeats(text: str) -> str:
    """Filler repeated in a row, kept once with a marker the model sees.

    Sentences or lines said three times or more, words five times or more, and runs of
    one character. Linear in the text's length (no backtracking over long spans).
    """
    text = _CHAR_RUN.sub(lambda m: m.group(1) + REPEAT_MARKER.format(times=len(m.group(0))), text)
    text = _WORD_RUN.sub(
        lambda m: m.group(1) + REPEAT_MARKER.format(times=len(m.group(0).split())), text
    )
    out: list[str] = []
    units = _UNIT.findall(text)
    i = 0
    while i < len(units):
        j = i + 1
        while j < len(units) and units[j].strip() == units[i].strip():
            j += 1
        if j - i >= 3:
            out.append(units[i].rstrip() + REPEAT_MARKER.format(times=j - i) + " ")
        else:
            out.extend(units[i:j])
        i = j
    return "".join(out)


# Characters kept of a message over MAX_MESSAGE_BYTES: at 4 bytes a character at most,
# the cut text and its marker always fit.
_STORED_KEEP_CHARS = MAX_MESSAGE_BYTES // 4 - 64


def bound_message_text(text: str) -> str:
    """A stored or streamed message's text, cut with the marker if over MAX_MESSAGE_BYTES.

    Used where the text comes from the table, not from a caller: refusing it there
    would let one oversized message skip moderation or fail every later judgement
    of its conversation.
    """
    if len(text.encode("utf-8", "surrogatepass")) <= MAX_MESSAGE_BYTES:
        return text
    return truncate_text(text, _STORED_KEEP_CHARS)


def conversation_from_dict(data: Any, *, default_id: str = "conversation") -> Conversation:
    """Build a conversation from the JSON form used by files and datasets.

    Accepted: {"id", "messages": [{"sender", "text", "timestamp"?}]}. Messages without
    timestamps get one a minute apart, in the order given.
    """
    if not isinstance(data, dict):
        raise InputError("a conversation must be a JSON object with 'messages'")
    raw_messages = data.get("messages")
    if not isinstance(raw_messages, list):
        raise InputError("a conversation needs a 'messages' list")
    if not raw_messages:
        raise InputError("the conversation is empty: it has no messages")
    conversation_id = str(data.get("id") or data.get("conversation_id") or default_id)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    messages = []
    for index, raw in enumerate(raw_messages):
        if not isinstance(raw, dict):
            raise InputError(f"message {index} must be an object with 'text'")
        text = raw.get("text", raw.get("message"))
        if not isinstance(text, str):
            raise InputError(f"message {index} has no 'text' string")
        stamp = raw.get("timestamp")
        try:
            messages.append(
                Message(
                    conversation_id=conversation_id,
                    timestamp=parse_timestamp(stamp)
                    if isinstance(stamp, str)
                    else start + timedelta(minutes=index),
                    sender=str(raw.get("sender") or "unknown"),
                    text=text,
                )
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InputError(f"message {index}: {first['msg']}") from None
    return Conversation(id=conversation_id, messages=tuple(messages))


def load_conversations(path: Path) -> list[Conversation]:
    """Read conversations from a .json file (one object or a list) or a .jsonl file."""
    from .bounded import MAX_CONVERSATIONS_FILE_BYTES, read_bounded

    raw = read_bounded(path, MAX_CONVERSATIONS_FILE_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not valid UTF-8 (byte {exc.start})") from None
    if path.suffix == ".jsonl":
        items = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                items.append(_json(line, f"{path}:{number}"))
    else:
        parsed = _json(text, str(path))
        items = parsed if isinstance(parsed, list) else [parsed]
    return [conversation_from_dict(item, default_id=path.stem) for item in items]


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: malformed JSON ({exc.msg} at line {exc.lineno})") from None


def last_message_only(conversation: Conversation) -> Conversation:
    """The conversation cut to its newest message (what a context-blind check sees)."""
    return conversation.window(1)


def reversed_order(conversation: Conversation) -> Conversation:
    """The same messages in reverse order, re-stamped so the reversal is what is shown."""
    stamps = [m.timestamp for m in conversation.messages]
    flipped = [
        m.model_copy(update={"timestamp": stamp})
        for m, stamp in zip(reversed(conversation.messages), stamps, strict=True)
    ]
    return conversation.model_copy(update={"messages": tuple(flipped)})
