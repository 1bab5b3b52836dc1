"""One queue item as a reviewer sees it: the verdict and the window the model saw.

The window is rebuilt from history as of the verdict's last message: the newest N
messages at or before it (N from the prompt's front matter, or the number the verdict
judged), a bounded read whatever the conversation's length, then checked against the
verdict's digests (judged.py) so that a later edit is marked, never passed off as what
the model saw. Earlier decisions on the same conversation come along, so
that a conversation judged again after review shows what a reviewer said before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipeline.conversation import Conversation
from pipeline.errors import ParleyError
from pipeline.sinks import StoredVerdict, VerdictKey
from pipeline.verdict import Verdict

from .decisions import Decision, DecisionStore
from .judged import SEARCH_LIMIT, JudgedWindow, judged_window
from .queue import kind_of

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from pipeline.history import HistoryStore

DEFAULT_WINDOW = 20


@dataclass(frozen=True)
class ItemView:
    stored: StoredVerdict
    window: Conversation
    shadows: list[Verdict]
    decision: Decision | None  # the active decision on this verdict
    earlier: list[Decision]  # decisions on the conversation's other verdicts
    trail: list[Decision] = field(default_factory=list)  # every decision on this verdict
    judged: JudgedWindow | None = None  # the window checked against the verdict's digests
    lease: tuple[str, datetime] | None = None  # who is deciding it now, until when

    @property
    def verdict(self) -> Verdict:
        return self.stored.verdict

    @property
    def kind(self) -> str:
        return kind_of(self.stored.verdict)


def window_size(prompt_ref: str, sizes: Callable[[str], int | None]) -> int:
    """The prompt's history window, or the default when the prompt is not in the store."""
    return sizes(prompt_ref) or DEFAULT_WINDOW


def load_item(
    stored: StoredVerdict,
    history: HistoryStore,
    decisions: DecisionStore,
    *,
    shadows: list[Verdict],
    window: int,
    lease: tuple[str, datetime] | None = None,
) -> ItemView:
    verdict = stored.verdict
    wanted = len(verdict.message_digests) or window
    if verdict.window_digest and not verdict.message_digests:
        wanted = max(window, SEARCH_LIMIT)  # an older verdict: search the window's size
    stored_window = history.latest(verdict.conversation_id, wanted, until=verdict.last_message_at)
    judged = judged_window(verdict, stored_window, window)
    conversation = judged.conversation(verdict.conversation_id)
    past = decisions.for_conversation(verdict.conversation_id)
    current = next((d for d in past if d.key == stored.key and d.undone_at is None), None)
    earlier = [
        d for d in past if d.verdict_key != stored.key and d.role == "first" and d.undone_at is None
    ]
    trail = [d for d in past if d.verdict_key == stored.key]  # second and senior ones too
    return ItemView(
        stored, conversation, shadows, current, earlier, trail=trail, lease=lease, judged=judged
    )


def parse_key(pk: str, sk: str) -> VerdictKey:
    """A verdict key from a request; shadow keys are not reviewable."""
    if not pk or not sk or len(pk) > 512 or len(sk) > 512 or sk.startswith("shadow#"):
        raise ParleyError("not a reviewable verdict key")
    return VerdictKey(pk, sk)
