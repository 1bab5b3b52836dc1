"""`parley history`: add and show messages in the history store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from ..conversation import Message, load_conversations, parse_timestamp
from ..errors import InputError
from ..history import open_history
from .common import echo_json, history_option, json_option, settings_with


@click.group()
def history() -> None:
    """Add messages to, and read them from, the conversation history store."""


@history.command("add")
@click.argument("conversation_id", required=False)
@click.argument("text", required=False)
@click.option("--sender", default="unknown", show_default=True, help="buyer, seller, …")
@click.option("--at", "timestamp", help="ISO-8601 timestamp with timezone; default: now")
@click.option(
    "--file",
    "source",
    type=click.Path(path_type=Path, dir_okay=False),
    help="add every message of a .json/.jsonl conversation file instead",
)
@history_option
def add(
    conversation_id: str | None,
    text: str | None,
    sender: str,
    timestamp: str | None,
    source: Path | None,
    history_location: str | None,
) -> None:
    """Append one message (CONVERSATION_ID TEXT) or a whole file (--file)."""
    store = open_history(settings_with(history=history_location).history)
    if source is not None:
        count = 0
        for conversation in load_conversations(source):
            for message in conversation.messages:
                store.append(message)
                count += 1
        click.echo(f"added {count} messages")
        return
    if not conversation_id or text is None:
        raise InputError("give CONVERSATION_ID and TEXT, or --file")
    try:
        message = Message(
            conversation_id=conversation_id,
            timestamp=parse_timestamp(timestamp) if timestamp else datetime.now(UTC),
            sender=sender,
            text=text,
        )
    except ValueError as exc:
        raise InputError(str(exc).splitlines()[-1].strip()) from None
    store.append(message)
    click.echo(f"added message to {conversation_id} at {message.iso_timestamp}")


@history.command("show")
@click.argument("conversation_id")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@history_option
@json_option
def show(conversation_id: str, limit: int, history_location: str | None, as_json: bool) -> None:
    """Show the newest LIMIT messages of a conversation, oldest first."""
    store = open_history(settings_with(history=history_location).history)
    conversation = store.latest(conversation_id, limit)
    if as_json:
        echo_json(conversation.model_dump(mode="json"))
        return
    if not conversation.messages:
        raise InputError(f"no messages for conversation {conversation_id!r}")
    for m in conversation.messages:
        click.echo(f"{m.iso_timestamp}  {m.sender:>8}  {m.text}")
