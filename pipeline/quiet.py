"""Judge a conversation once it has gone quiet, or at once when a new message is risky.

A conversation's messages arrive seconds to minutes apart. Judging it at every batch
pays for its whole window again and again; judging it once it has been quiet for
`quiet_s` seconds pays once for the same messages. The stream handler splits each
batch's conversations (`QuietPolicy.split`): a risky one (a payment or contact cue in
a new message, or the local tier scoring the new messages high) is judged at once; the
others get a *wake-up* on a delay queue (SQS `DelaySeconds`). The wake-up worker
(`pipeline.quiet_worker`) drops a wake-up when the conversation has a newer message
(that message's own wake-up comes later), and otherwise judges the conversation.

Nothing is lost: a wake-up is sent before the stream records are acknowledged (a send
that fails fails the conversation's records, which the stream redelivers), and a
wake-up whose judgement fails goes back to the queue. Nothing is judged twice: the
verdict key holds the digest of the texts judged (pipeline.sinks), so a second wake-up
for the same newest message finds the stored verdict and makes no model call.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from .conversation import Conversation, Message, iso, parse_timestamp
from .errors import InputError

if TYPE_CHECKING:
    from .coalesce import ConversationJob

#: SQS's longest message delay.
MAX_DELAY_S = 900
DEFAULT_QUIET_S = 5

# Cues of the scams that cost money at once: a payment outside the platform, or a move
# to another channel. Checked on normalised lower-case text of the new messages only.
_PAYMENT = re.compile(
    r"\b(gift ?cards?|wire|western union|moneygram|bank transfer|iban|crypto|bitcoin|usdt|"
    r"deposit|upfront|advance fee|paypal friends|zelle|cash ?app|venmo|verification code|"
    r"code you received|pay outside|off the site|not through the site)\b|[$€£]\s?\d"
)
_CONTACT = re.compile(
    r"\b(whats ?app|telegram|signal|wechat|text me|call me|my number|e-?mail me)\b|"
    r"https?://|www\.|\b[\w.+-]+@[\w-]+\.[a-z]{2,}\b|\+?\d[\d\s().-]{7,}\d"
)


def has_cue(text: str) -> bool:
    """Whether a message carries a payment or contact cue."""
    lowered = text.lower()
    return bool(_PAYMENT.search(lowered) or _CONTACT.search(lowered))


@dataclass(frozen=True)
class WakeUp:
    """A delayed request to judge a conversation at its newest message so far."""

    conversation_id: str
    newest_at: datetime

    def body(self) -> str:
        return json.dumps({"conversation_id": self.conversation_id, "at": iso(self.newest_at)})

    @classmethod
    def from_body(cls, body: str) -> WakeUp:
        """Parse a queue message body; InputError when it is not a wake-up."""
        try:
            data = json.loads(body)
            return cls(str(data["conversation_id"]), parse_timestamp(str(data["at"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError("not a wake-up message") from exc

    def is_stale(self, newest_stored: datetime | None) -> bool:
        """A newer message is stored: its own wake-up will judge the conversation."""
        return newest_stored is not None and newest_stored > self.newest_at


class WakeUpQueue(Protocol):
    def send(self, wake: WakeUp, delay_s: int) -> None: ...


class SqsWakeUpQueue:
    """Wake-ups on an SQS queue, delayed per message."""

    def __init__(self, queue_url: str, client: Any) -> None:
        self.queue_url = queue_url
        self.client = client

    def send(self, wake: WakeUp, delay_s: int) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=wake.body(),
            DelaySeconds=max(0, min(MAX_DELAY_S, int(delay_s))),
        )


Scorer = Callable[[Conversation], float]


class QuietPolicy:
    """Which of a batch's conversations to judge now; wake-ups for the others."""

    def __init__(
        self,
        queue: WakeUpQueue,
        quiet_s: int = DEFAULT_QUIET_S,
        *,
        scorer: Scorer | None = None,
        risky_score: float = 0.5,
    ) -> None:
        if not 0 < quiet_s <= MAX_DELAY_S:
            raise ValueError(f"quiet_s must be within 1..{MAX_DELAY_S}")
        self.queue = queue
        self.quiet_s = quiet_s
        self.scorer = scorer
        self.risky_score = risky_score

    def is_risky(self, messages: Sequence[Message]) -> bool:
        """A cue in a new message, or the local tier scoring the new messages high."""
        if any(has_cue(m.text) for m in messages):
            return True
        if self.scorer is None or not messages:
            return False
        conversation = Conversation(id=messages[0].conversation_id, messages=list(messages))
        return self.scorer(conversation) >= self.risky_score

    def split(
        self, jobs: Sequence[ConversationJob]
    ) -> tuple[list[ConversationJob], list[ConversationJob], list[ConversationJob]]:
        """(judge now, deferred with a wake-up sent, wake-up not sent: fail their records)."""
        now: list[ConversationJob] = []
        deferred: list[ConversationJob] = []
        unsent: list[ConversationJob] = []
        for job in jobs:
            if job.edited or self.is_risky(job.messages):
                now.append(job)
                continue
            try:
                self.queue.send(WakeUp(job.conversation_id, job.newest.timestamp), self.quiet_s)
            except Exception:  # the stream redelivers the records: nothing is lost
                unsent.append(job)
            else:
                deferred.append(job)
        return now, deferred, unsent


#: The most messages of one conversation the wake-up worker reads to tile it (50 tiles
#: of 20): past it the oldest ones fall outside every tile, and the anchor moves.
MAX_TILED_MESSAGES = 1000


def anchored_tiles(
    conversation: Conversation, size: int, fit: Callable[[Conversation], Conversation]
) -> list[Conversation]:
    """The conversation cut into tiles from its first message on, oldest first.

    Each tile holds the next `size` messages, fewer when `fit` (what the prompt keeps of
    a window) would drop some, so every message is in exactly one tile. The boundaries
    depend only on the messages before them: a tile judged once has the same texts, and
    so the same verdict key, at every later quiet point, and costs no second call; only
    the newest tile, still filling, is judged again.
    """
    messages = conversation.messages
    tiles: list[Conversation] = []
    start = 0
    while start < len(messages):
        end = min(len(messages), start + max(1, size))
        while True:
            candidate = conversation.model_copy(update={"messages": messages[start:end]})
            shown = fit(candidate)
            if len(shown.messages) == end - start or end - start == 1:
                break
            end = start + max(1, len(shown.messages))
        tiles.append(shown)
        start = end
    return tiles


def window_mark(window: Conversation) -> str:
    """The digest an incremental window's verdict is stored under: of its newest message
    alone, so that the next quiet point finds where judging stopped by reading the key
    of each message back from the newest (`incremental_windows`)."""
    m = window.messages[-1]
    data = json.dumps(["judged-through", m.iso_timestamp, m.sender, m.text], ensure_ascii=False)
    return "t" + hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()[:15]


def incremental_windows(
    conversation: Conversation,
    judged_through: datetime | None,
    size: int,
    context: int,
    fit: Callable[[Conversation], Conversation],
) -> list[Conversation]:
    """Windows that show the messages after `judged_through`, each once, oldest first.

    The new messages are tiled (`anchored_tiles`, `size - context` at most each) and
    every tile is shown after the `context` messages before it, as the original design
    showed a message after the previous ones: a re-judge pays for what is new, not for
    the whole window again. Pinned messages are the caller's to add.
    """
    messages = conversation.messages
    start = 0
    if judged_through is not None:
        start = next(
            (i for i, m in enumerate(messages) if m.timestamp > judged_through), len(messages)
        )
    if start == len(messages):
        return []
    new = conversation.model_copy(update={"messages": messages[start:]})
    windows: list[Conversation] = []
    offset = start
    for tile in anchored_tiles(new, max(1, size - context), fit):
        before = messages[max(0, offset - context) : offset]
        windows.append(conversation.model_copy(update={"messages": (*before, *tile.messages)}))
        offset += len(tile.messages)
    return windows
