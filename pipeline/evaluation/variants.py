"""Conversation variants: what the model is shown of each labelled conversation.

Each variant is a pure function Conversation -> Conversation. Together they replay
the original lesson: a request can be innocent alone and a scam in context, and the
order of the messages matters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..conversation import Conversation, last_message_only, reversed_order
from ..errors import ConfigError

_WINDOW = re.compile(r"^window:(\d+)$")
NAMES = ("full", "last_message", "reversed", "window:N", "with_history", "without_history")
#: Variants of a generative case's earlier turns (the child's new turn is always shown).
GENERATIVE = ("with_history", "without_history")


@dataclass(frozen=True)
class Variant:
    """A named view of a conversation."""

    name: str
    apply: Callable[[Conversation], Conversation]


def full_history(conversation: Conversation) -> Conversation:
    """Every message, in chronological order (what a moderator should see)."""
    return conversation


def window_of(size: int) -> Callable[[Conversation], Conversation]:
    """The newest `size` messages, in order."""

    def window(conversation: Conversation) -> Conversation:
        return conversation.window(size)

    return window


def no_history(conversation: Conversation) -> Conversation:
    """No earlier turn: the new turn alone (does the answer need the memory?)."""
    return conversation.model_copy(update={"messages": ()})


def parse_variant(name: str) -> Variant:
    """`full`, `last_message`, `reversed`, `window:N` (N >= 1), and for generative
    suites `with_history` / `without_history`."""
    text = name.strip()
    if text == "with_history":
        return Variant("with_history", full_history)
    if text == "without_history":
        return Variant("without_history", no_history)
    if text == "full":
        return Variant("full", full_history)
    if text == "last_message":
        return Variant("last_message", last_message_only)
    if text == "reversed":
        return Variant("reversed", reversed_order)
    match = _WINDOW.match(text)
    if match and int(match.group(1)) >= 1:
        return Variant(f"window:{int(match.group(1))}", window_of(int(match.group(1))))
    raise ConfigError(f"unknown variant {name!r}; use one of {', '.join(NAMES)}")
