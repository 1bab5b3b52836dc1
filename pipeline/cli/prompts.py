"""`parley prompts`: list the prompt templates and show exactly what a model receives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..conversation import load_conversations
from ..errors import InputError
from ..prompts import open_prompt_store
from .common import echo_json, json_option, settings_with


@click.group()
def prompts() -> None:
    """List and render prompt templates."""


@prompts.command("list")
@json_option
def list_prompts(as_json: bool) -> None:
    """List every prompt id@version with its purpose."""
    metas = open_prompt_store(settings_with().prompts).list()
    if as_json:
        echo_json([m.model_dump() for m in metas])
        return
    for meta in metas:
        click.echo(f"{meta.ref:<28} {meta.output:<8} {meta.model:<36} {meta.purpose[:60]}")


@prompts.command("render")
@click.argument("prompt_ref")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--utterance", help="the child's words, for the companion prompt")
@json_option
def render(prompt_ref: str, source: Path, utterance: str | None, as_json: bool) -> None:
    """Render PROMPT_REF (id@version) over the conversation in SOURCE, exactly as sent."""
    template = open_prompt_store(settings_with().prompts).get(prompt_ref)
    conversations = load_conversations(source)
    if len(conversations) != 1:
        raise InputError(f"{source} holds {len(conversations)} conversations; give one")
    extra: dict[str, Any] = {"utterance": utterance} if utterance is not None else {}
    rendered = template.render_conversation(conversations[0], **extra)
    if as_json:
        echo_json(
            {
                "prompt": rendered.ref,
                "system": rendered.system,
                "user": rendered.user,
                "inference": rendered.inference.model_dump(),
                "messages_shown": rendered.messages_shown,
            }
        )
        return
    if rendered.system:
        click.echo("=== system ===")
        click.echo(rendered.system)
    click.echo("=== user ===")
    click.echo(rendered.user)
