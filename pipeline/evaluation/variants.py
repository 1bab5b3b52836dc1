"""Conversation variants: what the model is shown of each labelled conversation.

Each variant is a pure function Conversation -> Conversation. Together they replay
the original lesson: a request can be innocent alone and a scam in context, and the
order of the messages matters. `attack:<strategy>` (or `attack:<strategy>:<seed>`)
shows the conversation as an attacker rewrote it (attacks.py); `gen:<family>` (or
`gen:<family>:<seed>`) as the attack generator rewrote it (attackgen.py), on the
messages the case's `request:N` tags name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..conversation import Conversation, last_message_only, reversed_order
from ..errors import ConfigError
from . import attackgen
from .attacks import STRATEGIES, attack, known

_WINDOW = re.compile(r"^window:(\d+)$")
_ATTACK = re.compile(r"^attack:([a-z][a-z0-9_+]*)(?::(\d+))?$")
_GENERATED = re.compile(r"^gen:([a-z][a-z0-9_+]*)(?::(\d+))?$")
NAMES = (
    "full",
    "last_message",
    "reversed",
    "window:N",
    "attack:STRATEGY[:SEED]",
    "gen:FAMILY[:SEED]",
    "with_history",
    "without_history",
)
#: Variants of a generative case's earlier turns (the child's new turn is always shown).
GENERATIVE = ("with_history", "without_history")


@dataclass(frozen=True)
class Variant:
    """A named view of a conversation."""

    name: str
    apply: Callable[[Conversation], Conversation]
    # Variants that need the case's tags (where its request is): generated attacks.
    tagged: Callable[[Conversation, tuple[str, ...]], Conversation] | None = None

    def view(self, conversation: Conversation, tags: tuple[str, ...] = ()) -> Conversation:
        """The conversation as this variant shows it, given the case's tags."""
        return self.apply(conversation) if self.tagged is None else self.tagged(conversation, tags)


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
    match = _ATTACK.match(text)
    if match and known(match.group(1)):
        return attack_variant(match.group(1), int(match.group(2) or 0))
    if match:
        names = ", ".join(STRATEGIES)
        raise ConfigError(f"unknown attack strategy {match.group(1)!r}; known: {names}")
    match = _GENERATED.match(text)
    if match and attackgen.known(match.group(1)):
        return generated_variant(match.group(1), int(match.group(2) or 0))
    if match:
        names = ", ".join(attackgen.FAMILIES)
        raise ConfigError(f"unknown attack family {match.group(1)!r}; known: {names}")
    raise ConfigError(f"unknown variant {name!r}; use one of {', '.join(NAMES)}")


def attack_variant(strategy: str, seed: int = 0) -> Variant:
    """The conversation with one attack strategy applied to its request."""
    name = f"attack:{strategy}" if seed == 0 else f"attack:{strategy}:{seed}"

    def attacked(conversation: Conversation) -> Conversation:
        return attack(conversation, strategy, seed)

    return Variant(name, attacked)


def generated_variant(family: str, seed: int = 0) -> Variant:
    """The conversation with one generated attack family applied to its request."""
    name = f"gen:{family}" if seed == 0 else f"gen:{family}:{seed}"

    def attacked(conversation: Conversation, tags: tuple[str, ...] = ()) -> Conversation:
        return attackgen.generate(conversation, family, seed, tags).conversation

    return Variant(name, attacked, tagged=attacked)


def attack_of(variant: str) -> str | None:
    """The strategy an `attack:` variant applies, or None for any other variant."""
    match = _ATTACK.match(variant)
    return match.group(1) if match else None


def generated_of(variant: str) -> tuple[str, int] | None:
    """The family and seed a `gen:` variant applies, or None for any other variant."""
    match = _GENERATED.match(variant)
    return (match.group(1), int(match.group(2) or 0)) if match else None
