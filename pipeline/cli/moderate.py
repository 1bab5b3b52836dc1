"""`parley moderate`: judge conversations from a file or from the history store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..conversation import Conversation, load_conversations
from ..errors import ConfigError, InputError
from ..history import open_history
from ..models import resolve
from ..prompts import open_prompt_store
from ..windows import MAX_WINDOWS, assess_windows
from .common import (
    echo_json,
    history_option,
    json_option,
    model_option,
    prompt_option,
    settings_with,
    verdicts_option,
)
from .render import verdict_rows

if TYPE_CHECKING:
    from ..history import HistoryStore
    from ..risk import RiskState
    from ..settings import Settings
    from ..verdict import Verdict


@click.command()
@click.argument("source", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--id", "conversation_id", help="judge this conversation id from the history store")
@click.option(
    "--store",
    "store",
    is_flag=True,
    help="store the verdict (and, from a file, the messages) so that it is queued in"
    " `parley review`",
)
@model_option
@prompt_option
@history_option
@verdicts_option
@json_option
def moderate(
    source: Path | None,
    conversation_id: str | None,
    store: bool,
    model_ref: str | None,
    prompt_ref: str | None,
    history_location: str | None,
    verdicts_location: str | None,
    as_json: bool,
) -> None:
    """Judge a conversation: SOURCE is a .json/.jsonl file, or use --id with a store.

    The whole conversation is judged, in windows that together show every message
    (earlier risky messages stay in view); its verdict is the worst window's.

    \b
    Examples:
      parley moderate examples/deposit-before-visit.json
      parley moderate --id conv-42 --history sqlite:parley.db --json
      parley moderate --id conv-42 --store          # queue it for `parley review`
    """
    settings = settings_with(model=model_ref, prompt=prompt_ref, history=history_location)
    if (source is None) == (conversation_id is None):
        raise InputError("give either a conversation file or --id CONVERSATION_ID")
    if verdicts_location is not None and not store:
        raise InputError("--verdicts is where --store writes: give --store too")
    template = open_prompt_store(settings.prompts).get(settings.prompt)
    history = open_history(settings.history) if (store or source is None) else None
    if source is not None:
        conversations = load_conversations(source)
    else:
        assert conversation_id is not None and history is not None
        # Every message a `moderate` can judge: its windows' worth, newest kept.
        loaded = history.latest(conversation_id, MAX_WINDOWS * template.meta.history.messages)
        if not loaded.messages:
            raise InputError(f"no messages for conversation {conversation_id!r} in the store")
        conversations = [loaded]
    stored = _Storage(settings, verdicts_location, history) if store else None
    model = resolve(settings.model)
    results = []
    for conversation in conversations:
        state = stored.state(conversation.id) if stored else None
        judged = assess_windows(conversation, template, model, state)
        if judged.unseen:
            click.echo(
                f"warning: {conversation.id}: the oldest {judged.unseen} messages are past"
                f" {MAX_WINDOWS} windows and were not judged",
                err=True,
            )
        if stored is not None:
            stored.keep(conversation, judged.verdict, judged.state, from_file=source is not None)
        results.append((judged.verdict, len(judged.windows)))
    if as_json:
        echo_json([{**v.model_dump(mode="json"), "windows": n} for v, n in results])
    else:
        click.echo(verdict_rows([(v.conversation_id, v) for v, _ in results]))
        for v, n in results:
            if n > 1:
                click.echo(f"{v.conversation_id}: worst of {n} windows covering every message")
            if v.rationale:
                click.echo(f"{v.conversation_id}: {v.rationale}")
        if stored is not None:
            click.echo(f"stored {len(results)} verdict(s) in {stored.location}")


class _Storage:
    """Where `--store` writes: the verdicts the review queue reads, and risk states."""

    def __init__(self, settings: Settings, location: str | None, history: Any) -> None:
        from ..risk import DynamoRiskStore, SqliteRiskStore
        from ..sinks import VerdictPublisher, open_verdict_sink

        self.location = location or _default_verdicts(settings)
        kind, _, rest = self.location.partition(":")
        self.history: HistoryStore = history
        self.risk: Any
        if kind == "dynamodb":
            if not settings.risk_table:
                raise ConfigError("--store into DynamoDB needs PARLEY_RISK_TABLE as well")
            from .. import aws

            client = aws.client(
                "dynamodb", region_name=settings.region, endpoint_url=settings.aws_endpoint_url
            )
            self.publisher = VerdictPublisher(
                open_verdict_sink(self.location, dynamodb_client=client)
            )
            self.risk = DynamoRiskStore(settings.risk_table, client=client)
        else:
            self.publisher = VerdictPublisher(open_verdict_sink(self.location))
            self.risk = SqliteRiskStore(rest or ":memory:")

    def state(self, conversation_id: str) -> RiskState:
        state: RiskState = self.risk.get(conversation_id)
        return state

    def keep(
        self, conversation: Conversation, verdict: Verdict, after: RiskState, *, from_file: bool
    ) -> None:
        from ..risk import update

        if from_file:
            # The review page shows the judged window from the history store.
            for message in conversation.messages:
                self.history.append(message)
        self.publisher.deliver(verdict)
        update(self.risk, conversation.id, lambda current: _merged(current, after))


def _merged(current: RiskState, judged: RiskState) -> RiskState:
    # A flag raised by this run is added to what the store holds; nothing is lowered.
    from ..risk import MAX_PINNED

    if not judged.standing or current.level == "confirmed":
        return current
    pinned = tuple(sorted({*current.pinned, *judged.pinned}))
    return current.model_copy(
        update={
            "level": "flagged",
            "flagged_at": current.flagged_at if current.standing else judged.flagged_at,
            "pinned": pinned[-MAX_PINNED:],
            "updated_at": judged.updated_at,
        }
    )


def _default_verdicts(settings: Settings) -> str:
    # The same default as `parley review`: the stream job's verdicts.
    if settings.verdicts_table:
        return f"dynamodb:{settings.verdicts_table}"
    return f"sqlite:{settings.verdicts_sqlite or 'parley.db'}"
