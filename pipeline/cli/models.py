"""`parley models`: the configured models and their Bedrock lifecycle status."""

from __future__ import annotations

import click

from ..models.lifecycle import LEGACY, configured_models, lifecycle_status
from ..prompts import open_prompt_store
from .common import echo_json, json_option, settings_with


@click.command()
@click.option(
    "--endpoint-url",
    default=None,
    help="Bedrock control-plane endpoint (default: $PARLEY_BEDROCK_ENDPOINT_URL, else AWS); "
    "`parley emulator` serves GetFoundationModel too",
)
@json_option
def models(endpoint_url: str | None, as_json: bool) -> None:
    """List the configured models with their lifecycle status (GetFoundationModel).

    Needs AWS credentials and bedrock:GetFoundationModel, or the emulator's endpoint.
    A LEGACY model also gets a warning line on stderr.
    """
    from .. import aws
    from ..models.lifecycle import legacy_warning

    settings = settings_with()
    store = open_prompt_store(settings.prompts)
    prompt_models = {meta.ref: meta.model for meta in store.list() if meta.model}
    client = aws.client(
        "bedrock",
        region_name=settings.region,
        endpoint_url=endpoint_url or settings.bedrock_endpoint_url,
    )
    rows = []
    for entry in configured_models(settings, prompt_models):
        model_id = entry.bedrock_id
        status = "local" if model_id is None else lifecycle_status(client, model_id)
        rows.append({"where": entry.where, "model": entry.reference, "status": status})
    if as_json:
        echo_json(rows)
    else:
        width = max(len(r["where"]) for r in rows)
        for row in rows:
            click.echo(f"{row['where']:<{width}}  {row['status']:<8}  {row['model']}")
    for row in rows:
        if row["status"] == LEGACY:
            click.echo(legacy_warning(row["model"], row["where"]), err=True)
