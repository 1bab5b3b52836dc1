"""`parley review serve|export|figures`: the human review queue and what comes of it.

`serve` runs the web app on loopback for one reviewer, signed in by a token printed at
start; `export` writes reviewed conversations as evaluation cases for `parley eval`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError, InputError
from .common import echo_json, history_option, settings_with, verdicts_option

# Connections served at once; uvicorn answers 503 beyond (one reviewer needs a few).
MAX_CONNECTIONS = 32


def _store_options(func: Any) -> Any:
    for option in reversed(
        [
            history_option,
            verdicts_option,
            click.option(
                "--decisions",
                "decisions_location",
                default=None,
                metavar="STORE",
                help="sqlite:<path> or dynamodb:<table>; default: $PARLEY_REVIEW_DECISIONS,"
                " else the verdicts' SQLite file",
            ),
        ]
    ):
        func = option(func)
    return func


def _service(
    history: str | None, verdicts: str | None, decisions: str | None, **review: Any
) -> Any:
    try:
        from review.wiring import build_service, get_review_settings
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"the review app needs {exc.name}: pip install 'parley[review]'"
        ) from None
    settings = settings_with(history=history)
    if verdicts is not None:
        kind, _, rest = verdicts.partition(":")
        if kind == "sqlite" and rest:
            settings = settings.model_copy(update={"verdicts_sqlite": rest, "verdicts_table": None})
        elif kind == "dynamodb" and rest:
            settings = settings.model_copy(update={"verdicts_table": rest, "verdicts_sqlite": None})
        else:
            raise InputError(f"--verdicts {verdicts!r}: use sqlite:<path> or dynamodb:<table>")
    changes = {k: v for k, v in {"decisions": decisions, **review}.items() if v is not None}
    review_settings = get_review_settings().model_copy(update=changes)
    service = build_service(settings, review_settings, require_verdicts_file=True)
    return service, review_settings


@click.group()
def review() -> None:
    """Review verdicts in the browser; export decisions as evaluation cases."""


@review.command()
@_store_options
@click.option("--reviewer", default=None, help="your name, stored with each decision")
@click.option("--host", default="127.0.0.1", show_default=True, help="a loopback address")
# 8766: `parley emulator` listens on 8765 by default, and the README starts both.
@click.option("--port", default=8766, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--sample-rate",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="share of cleared verdicts queued (default $PARLEY_REVIEW_SAMPLE_RATE or 0.05)",
)
def serve(
    history_location: str | None,
    verdicts_location: str | None,
    decisions_location: str | None,
    reviewer: str | None,
    host: str,
    port: int,
    sample_rate: float | None,
) -> None:
    """Serve the review queue on loopback; open the sign-in link it prints.

    \b
    Example (demo data first):
      parley stream replay tests/fixtures/streams/marketplace-burst.json \\
          --shadow-prompt suspicious-conversation@1
      parley review serve --reviewer alice
    """
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise InputError(f"--host {host}: the local server listens on loopback only")
    name = (reviewer or "").strip()
    if not name or len(name) > 128:
        raise InputError("--reviewer NAME is required (up to 128 characters)")
    service, review_settings = _service(
        history_location, verdicts_location, decisions_location, sample_rate=sample_rate
    )
    import uvicorn

    from review.app import create_app
    from review.auth import LocalSignIn

    token = secrets.token_urlsafe(24)
    app = create_app(service, LocalSignIn(name, token), secret=review_settings.secret)
    # Listen before printing the link: a port in use is one line, and port 0's link
    # names the port actually taken.
    sock = _listen(host, port)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL
    click.echo(f"review queue for {name}: http://{shown}:{port}/login?token={token}")
    click.echo("(the link signs you in once; stop with Ctrl-C)")
    # Access logs carry query strings (verdict keys, the sign-in token): keep them off.
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, limit_concurrency=MAX_CONNECTIONS
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: a normal stop, as uvicorn.run
        uvicorn.Server(config).run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


@review.command()
@_store_options
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="JSONL file to write (the evaluation dataset format)",
)
@click.option(
    "--redact",
    is_flag=True,
    help="replace contact details (e-mail addresses, spelt-out ones too, URLs, phone numbers,"
    " handles) and put pseudonyms for the reviewer and the conversation id",
)
@click.option("--split", default="test", show_default=True, help="split written on each case")
def export(
    history_location: str | None,
    verdicts_location: str | None,
    decisions_location: str | None,
    output: Path,
    redact: bool,
    split: str,
) -> None:
    """Write reviewed conversations as evaluation cases (label from the reviewer).

    \b
    Example (your reviewers' decisions, scored by the shipped suite):
      parley review export -o reviewed.jsonl --redact
      parley eval evals/reviewed.yaml --dataset reviewed.jsonl
    """
    from review.export import export_cases

    service, review_settings = _service(history_location, verdicts_location, decisions_location)
    try:
        with output.open("w", encoding="utf-8") as out:
            counts = export_cases(
                service.decisions.all_active(),
                service.history,
                out,
                window_of=service.window_of,
                redact=redact,
                split=split,
                # Pseudonyms stable across exports only when a secret is configured.
                pseudonym_key=(
                    f"parley-export\n{review_settings.secret}".encode()
                    if review_settings.secret
                    else None
                ),
            )
    except OSError as exc:
        raise InputError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(
        f"wrote {counts.written} case(s) to {output}; left out {counts.cannot_tell} "
        f"'cannot tell' and {counts.no_history} without stored history",
        file=sys.stdout,
    )


@review.command()
@_store_options
def figures(
    history_location: str | None, verdicts_location: str | None, decisions_location: str | None
) -> None:
    """Print the live quality figures (agreement, shadow against live) as JSON."""
    service, _ = _service(history_location, verdicts_location, decisions_location)
    echo_json(service.figures())


@review.command("demo")
@_store_options
@click.option("--conversations", default=60, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--shadow-prompt",
    default="suspicious-conversation@1",
    show_default=True,
    help="judged in shadow beside the live prompt, for the shadow figures",
)
@click.option(
    "--dataset",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="labelled conversations (JSONL) [default: evals/datasets/marketplace.jsonl]",
)
def demo_data(
    history_location: str | None,
    verdicts_location: str | None,
    decisions_location: str | None,
    conversations: int,
    shadow_prompt: str,
    dataset: Path | None,
) -> None:
    """Fill the local stores with labelled marketplace conversations, judged by the stream job.

    Runs the real stream handler (model: $PARLEY_MODEL or local:baseline) on stream
    records made from evals/datasets/marketplace.jsonl; prints counts, no text.
    """
    from review.demo import default_dataset, demo_records

    from ..stream import handler_from_settings
    from .stream import _run, _settings

    settings = _settings(None, None, history_location, shadow_prompt, verdicts_location, None)
    handler = handler_from_settings(settings, metrics=None)
    path = dataset or default_dataset()
    if not path.is_file():
        raise InputError(f"no dataset at {path}: give --dataset <file.jsonl>")
    records = demo_records(path, limit=conversations)
    from ..records import parse_stream_event

    for record in parse_stream_event({"Records": records}):
        if record.message is not None:
            handler.history.append(record.message)
    report = _run(handler, {"Records": records}, False)
    summary = report.summary()
    click.echo(
        f"{summary['conversations']} conversations judged: "
        + ", ".join(f"{n} {kind}" for kind, n in summary["verdicts"].items())
        + f"; {summary['shadow_verdicts']} shadow verdicts"
    )
