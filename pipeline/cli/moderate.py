"""`parley moderate`: judge conversations from a file or from the history store."""

from __future__ import annotations

from pathlib import Path

import click

from ..conversation import load_conversations
from ..errors import InputError
from ..history import open_history
from ..models import resolve
from ..moderation import assess
from ..prompts import open_prompt_store
from .common import (
    echo_json,
    history_option,
    json_option,
    model_option,
    prompt_option,
    settings_with,
)
from .render import verdict_rows


@click.command()
@click.argument("source", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--id", "conversation_id", help="judge this conversation id from the history store")
@model_option
@prompt_option
@history_option
@json_option
def moderate(
    source: Path | None,
    conversation_id: str | None,
    model_ref: str | None,
    prompt_ref: str | None,
    history_location: str | None,
    as_json: bool,
) -> None:
    """Judge a conversation: SOURCE is a .json/.jsonl file, or use --id with a store.

    \b
    Examples:
      parley moderate examples/deposit-before-visit.json
      parley moderate --id conv-42 --history sqlite:parley.db --json
    """
    settings = settings_with(model=model_ref, prompt=prompt_ref, history=history_location)
    if (source is None) == (conversation_id is None):
        raise InputError("give either a conversation file or --id CONVERSATION_ID")
    template = open_prompt_store(settings.prompts).get(settings.prompt)
    if source is not None:
        conversations = load_conversations(source)
    else:
        assert conversation_id is not None
        loaded = open_history(settings.history).latest(
            conversation_id, template.meta.history.messages
        )
        if not loaded.messages:
            raise InputError(f"no messages for conversation {conversation_id!r} in the store")
        conversations = [loaded]
    model = resolve(settings.model)
    verdicts = [assess(c, template, model) for c in conversations]
    if as_json:
        echo_json([v.model_dump(mode="json") for v in verdicts])
    else:
        click.echo(verdict_rows([(v.conversation_id, v) for v in verdicts]))
        for v in verdicts:
            if v.rationale:
                click.echo(f"{v.conversation_id}: {v.rationale}")
