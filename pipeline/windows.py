"""Windows over a conversation: every message judged, risky ones kept in view.

A prompt shows a window of a conversation (its newest messages within a token budget).
Two rules keep a request from falling out of every window:

- the windows cover the conversation: every message is in at least one judged window
  (`cover`), and the conversation's verdict is its worst window's (`worst`);
- messages that carried the risk of a flagged window are pinned (`risky_messages`):
  later windows show them too, within the token budget (`prompts.fit_budget`).

The stream job (`pipeline.stream.job`) and `parley moderate` (`assess_windows`) use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .coalesce import plan_checkpoints
from .conversation import Conversation, cue_count
from .moderation import assess
from .normalise import normalised_text
from .prompts import HistoryWindow, fit_budget
from .risk import (
    MAX_PINNED,
    RiskState,
    after_verdict,
    carries_risk,
    mark_held,
    previously_flagged_note,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from datetime import datetime

    from .conversation import Message
    from .models import ChatModel
    from .prompts import PromptTemplate
    from .verdict import Verdict

# Of a window's token budget, the share its own messages may take when tiling: the rest
# is room for pinned messages, so that pinning never pushes a tiled message out.
OWN_SHARE = 0.75
# `parley moderate` of a very long conversation: at most this many windows.
MAX_WINDOWS = 50


def tiling_window(window: HistoryWindow) -> HistoryWindow:
    """The window the tiles are cut to: the prompt's, with room left for pins."""
    return window.model_copy(update={"token_budget": max(50, int(window.token_budget * OWN_SHARE))})


def cover(
    conversation: Conversation, window: HistoryWindow, max_windows: int = MAX_WINDOWS
) -> list[Conversation]:
    """Windows, oldest first, that together show every message of the conversation.

    The newest window ends at the newest message; each earlier one ends just before
    what the later ones show (`coalesce.plan_checkpoints`), and shows what comes before
    its end, as the stream's checkpoints do: the oldest is the conversation's opening.
    """
    if not conversation.messages:
        return []
    shrunk = tiling_window(window)

    def fit(c: Conversation) -> Conversation:
        return fit_budget(c, shrunk)

    empty = conversation.model_copy(update={"messages": ()})
    plan = plan_checkpoints(empty, conversation.messages, window.messages, max_windows, fit)
    return list(plan.windows)


def risky_messages(
    window: Conversation, match: Callable[[str], str] = normalised_text
) -> tuple[datetime, ...]:
    """The messages of a flagged window that carried its risk, by timestamp.

    Those with the most payment or contact cues (read on the normalised matching copy),
    at most `MAX_PINNED`; a flagged window without a cue pins its newest message.
    """
    counted = [(cue_count(m.text, match), i, m.timestamp) for i, m in enumerate(window.messages)]
    with_cues = sorted((c for c in counted if c[0]), key=lambda c: (-c[0], -c[1]))
    chosen = [stamp for _, _, stamp in with_cues[:MAX_PINNED]]
    if not chosen and window.messages:
        chosen = [window.messages[-1].timestamp]
    return tuple(sorted(chosen))


def with_pins(window: Conversation, pins: Iterable[Message]) -> Conversation:
    """The window with earlier pinned messages added (the window's own win a clash)."""
    by_stamp = {m.timestamp: m for m in pins}
    by_stamp.update({m.timestamp: m for m in window.messages})
    return window.model_copy(
        update={"messages": tuple(sorted(by_stamp.values(), key=lambda m: m.timestamp))}
    )


_RANK = {"flagged": 2, "undetermined": 1, "cleared": 0}


def worst(verdicts: Sequence[Verdict]) -> Verdict:
    """The conversation's verdict: its worst window's (flagged, then undetermined, then
    cleared; the highest score first, the newest on a tie)."""
    if not verdicts:
        raise ValueError("no verdicts")

    def rank(item: tuple[int, Verdict]) -> tuple[int, float, int]:
        index, verdict = item
        kind = (
            "undetermined"
            if verdict.suspicious is None or verdict.status != "scored"
            else ("flagged" if verdict.suspicious else "cleared")
        )
        return (_RANK[kind], verdict.score or 0.0, index)

    return max(enumerate(verdicts), key=rank)[1]


def judge_window(
    window: Conversation,
    pins: Iterable[Message],
    state: RiskState,
    template: PromptTemplate,
    model: ChatModel,
) -> Verdict:
    """One window judged with the state's pinned messages and its standing flag told."""
    shown = with_pins(window, pins)
    verdict = assess(
        shown,
        template,
        model,
        pinned=frozenset(state.pinned),
        risk_note=previously_flagged_note(state),
    )
    return mark_held(verdict, state)


@dataclass(frozen=True)
class Judged:
    """A whole conversation judged in windows."""

    verdict: Verdict  # the worst window's
    windows: list[Verdict]  # every window's, oldest first
    state: RiskState  # the risk state after the last window
    unseen: int = 0  # messages older than every window (past MAX_WINDOWS windows)


def assess_windows(
    conversation: Conversation,
    template: PromptTemplate,
    model: ChatModel,
    state: RiskState | None = None,
    max_windows: int = MAX_WINDOWS,
) -> Judged:
    """Judge a whole conversation in windows covering every message, oldest first.

    Risky messages of a flagged window stay pinned in the later ones, which are told
    of the flag. A conversation longer than `max_windows` windows leaves its oldest
    messages unjudged, counted in `unseen`.
    """
    state = state or RiskState(conversation_id=conversation.id)
    by_stamp = {m.timestamp: m for m in conversation.messages}
    windows = cover(conversation, template.meta.history, max_windows)
    verdicts = []
    for window in windows:
        pins = [by_stamp[t] for t in state.pinned if t in by_stamp]
        verdict = judge_window(window, pins, state, template, model)
        if carries_risk(verdict):
            state = after_verdict(state, verdict, risky_messages(with_pins(window, pins)))
        verdicts.append(verdict)
    oldest = windows[0].messages[0].timestamp
    unseen = sum(1 for m in conversation.messages if m.timestamp < oldest)
    return Judged(worst(verdicts), verdicts, state, unseen)
