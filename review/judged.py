"""The window a verdict judged, as far as today's history can show it.

History keeps a message's current text only, so the window rebuilt today may differ
from what the model saw: a text edited since, a message deleted. The verdict carries
the digest of its window (`window_digest`) and one per message (`message_digests`);
comparing them with today's messages tells the reviewer whether the page shows exactly
what was judged, and if not, which message changed. Pure: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pipeline.conversation import Conversation

if TYPE_CHECKING:
    from pipeline.conversation import Message
    from pipeline.verdict import Verdict

# How far back a verdict without per-message digests is searched for its window (the
# prompt's window may have changed size since).
SEARCH_LIMIT = 50

Check = Literal["verified", "changed", "unknown"]


@dataclass(frozen=True)
class JudgedMessage:
    message: Message
    edited: bool  # its text or sender is not what the model saw


@dataclass(frozen=True)
class JudgedWindow:
    messages: tuple[JudgedMessage, ...]
    check: Check  # verified: same digest; changed: it differs; unknown: no digest stored
    missing: int = 0  # judged messages no longer in history

    @property
    def edited(self) -> int:
        return sum(1 for m in self.messages if m.edited)

    def conversation(self, conversation_id: str) -> Conversation:
        return Conversation(id=conversation_id, messages=tuple(m.message for m in self.messages))


def judged_window(verdict: Verdict, stored: Conversation, window: int) -> JudgedWindow:
    """Today's messages at or before the verdict (`stored`, newest last, at least
    `window` of them when there are), checked against what the verdict judged."""
    if not verdict.window_digest:
        kept = stored.messages[-window:] if window else ()
        return JudgedWindow(tuple(JudgedMessage(m, False) for m in kept), "unknown")
    digests = verdict.message_digests
    if digests:
        kept = stored.messages[-len(digests) :]
        now = Conversation(id=stored.id, messages=kept).message_digests()
        if Conversation(id=stored.id, messages=kept).digest() == verdict.window_digest:
            return JudgedWindow(tuple(JudgedMessage(m, False) for m in kept), "verified")
        # Aligned from the newest: the judged message is the verdict's last one.
        marks = tuple(
            JudgedMessage(m, now[i] != digests[len(digests) - len(kept) + i])
            for i, m in enumerate(kept)
        )
        return JudgedWindow(marks, "changed", missing=len(digests) - len(kept))
    # An older verdict: only the window's digest. Try each window size.
    for size in range(1, min(len(stored.messages), SEARCH_LIMIT) + 1):
        kept = stored.messages[-size:]
        if Conversation(id=stored.id, messages=kept).digest() == verdict.window_digest:
            return JudgedWindow(tuple(JudgedMessage(m, False) for m in kept), "verified")
    kept = stored.messages[-window:] if window else ()
    return JudgedWindow(tuple(JudgedMessage(m, False) for m in kept), "changed")
