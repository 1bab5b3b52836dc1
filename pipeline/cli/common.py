"""Options and builders shared by the command modules."""

from __future__ import annotations

import json
from typing import Any

import click

from ..settings import get_settings


def model_option(func: Any) -> Any:
    return click.option(
        "--model",
        "model_ref",
        default=None,
        metavar="REF",
        help="model reference (bedrock:<id>, local:baseline, cascade:a>b, …); "
        "default: $PARLEY_MODEL or local:baseline",
    )(func)


def prompt_option(func: Any) -> Any:
    return click.option(
        "--prompt",
        "prompt_ref",
        default=None,
        metavar="ID@VERSION",
        help="prompt to use; default: $PARLEY_PROMPT or suspicious-conversation@2",
    )(func)


def history_option(func: Any) -> Any:
    return click.option(
        "--history",
        "history_location",
        default=None,
        metavar="STORE",
        help="sqlite:<path>, sqlite::memory: or dynamodb:<table>; default: $PARLEY_HISTORY",
    )(func)


def verdicts_option(func: Any) -> Any:
    return click.option(
        "--verdicts",
        "verdicts_location",
        default=None,
        metavar="STORE",
        help="sqlite:<path> or dynamodb:<table>; default: $PARLEY_VERDICTS_TABLE,"
        " $PARLEY_VERDICTS_SQLITE, else sqlite:parley.db",
    )(func)


def json_option(func: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")(
        func
    )


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def settings_with(**overrides: Any) -> Any:
    """The settings, with the CLI's non-empty options taking precedence."""
    settings = get_settings()
    changes = {k: v for k, v in overrides.items() if v is not None}
    return settings.model_copy(update=changes) if changes else settings
