"""`parley stream replay|watch`: run the stream moderation job on one machine.

`replay` feeds a file of stream records (or a Pipe array) to the real handler;
`watch` polls a DynamoDB table's stream (moto's server locally, DynamoDB in AWS).
Output shows ids, counts and verdicts, never message text.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import InputError
from .common import (
    echo_json,
    history_option,
    json_option,
    model_option,
    prompt_option,
    verdicts_option,
)
from .common import settings_with as _settings_with
from .render import verdict_label

if TYPE_CHECKING:
    from ..settings import Settings
    from ..stream import BatchReport, StreamHandler

# A local run is not bounded by Lambda's 15 minutes, but the handler wants a budget.
LOCAL_BUDGET_MS = 3_600_000


@dataclass
class LocalContext:
    """A stand-in for the Lambda context: an id and a generous, fixed remaining time."""

    function_name: str = "parley-stream-local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = LOCAL_BUDGET_MS

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@click.group()
def stream() -> None:
    """Run the stream moderation job locally: replay a file, or watch a table's stream."""


def _common_options(func: Any) -> Any:
    options: list[Callable[[Any], Any]] = [
        model_option,
        prompt_option,
        history_option,
        click.option(
            "--shadow-prompt",
            default=None,
            metavar="ID@VERSION",
            help="also judge with this prompt; stored apart, never published",
        ),
        verdicts_option,
        click.option(
            "--bus",
            default=None,
            metavar="NAME",
            help="EventBridge bus for verdict events; default: $PARLEY_EVENT_BUS",
        ),
        click.option("--verbose", "-v", is_flag=True, help="show the handler's JSON logs"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@stream.command()
@click.argument("events", type=click.Path(path_type=Path, dir_okay=False))
@_common_options
@click.option(
    "--seed-history/--no-seed-history",
    default=None,
    help="append the INSERT images to the history store first (default: on for sqlite)",
)
@json_option
def replay(
    events: Path,
    model_ref: str | None,
    prompt_ref: str | None,
    history_location: str | None,
    shadow_prompt: str | None,
    verdicts_location: str | None,
    bus: str | None,
    verbose: bool,
    seed_history: bool | None,
    as_json: bool,
) -> None:
    """Run the stream handler on EVENTS: a Lambda event ({"Records": [...]}) or a Pipe array.

    \b
    Example:
      parley stream replay tests/fixtures/streams/marketplace-burst.json --verdicts sqlite:v.db
    """
    settings = _settings(
        model_ref, prompt_ref, history_location, shadow_prompt, verdicts_location, bus
    )
    event = _read_event(events)
    handler = _handler(settings)
    if seed_history if seed_history is not None else settings.history.startswith("sqlite:"):
        _seed(handler, event)
    report = _run(handler, event, verbose)
    if as_json:
        echo_json({**report.summary(), "response": report.response})
        return
    click.echo(summary_table(report))
    for line in verdict_lines(report):
        click.echo(line)


@stream.command()
@click.option("--table", required=True, help="the conversations table whose stream to poll")
@click.option("--endpoint-url", default=None, help="DynamoDB endpoint (e.g. moto's server)")
@click.option(
    "--local",
    is_flag=True,
    help="start a local DynamoDB (moto's server, from the test extra) on loopback with the "
    "table and its stream, and dummy credentials; prints how to add messages",
)
@click.option(
    "--iterations", type=int, default=None, help="polls before stopping (default: run on)"
)
@click.option(
    "--interval", type=float, default=1.0, show_default=True, help="seconds between polls"
)
@click.option(
    "--from",
    "position",
    type=click.Choice(["latest", "trim-horizon"]),
    default="latest",
    show_default=True,
    help="start at new records or at the oldest kept",
)
@_common_options
def watch(
    table: str,
    endpoint_url: str | None,
    local: bool,
    iterations: int | None,
    interval: float,
    position: str,
    model_ref: str | None,
    prompt_ref: str | None,
    history_location: str | None,
    shadow_prompt: str | None,
    verdicts_location: str | None,
    bus: str | None,
    verbose: bool,
) -> None:
    """Poll TABLE's stream and judge each new batch; one line per verdict (ids only).

    History defaults to the table itself (dynamodb:<table>).
    """
    settings = _settings(
        model_ref,
        prompt_ref,
        history_location or f"dynamodb:{table}",
        shadow_prompt,
        verdicts_location,
        bus,
    )
    if local:
        if endpoint_url:
            raise InputError("give --local or --endpoint-url, not both")
        endpoint_url = _local_dynamodb(table)
    if endpoint_url:
        settings = settings.model_copy(update={"aws_endpoint_url": endpoint_url})
    handler = _handler(settings)
    poller = StreamPoller(
        _client("dynamodbstreams", settings), _client("dynamodb", settings), table, position
    )
    count = 0
    while iterations is None or count < iterations:
        count += 1
        for batch in poller.poll():
            report = _run(handler, {"Records": batch}, verbose)
            for line in verdict_lines(report):
                click.echo(line)
            poller.redeliver(batch, report.failed_item_ids)
        if iterations is None or count < iterations:
            time.sleep(interval)


def _local_dynamodb(table: str) -> str:
    """moto's server on a free loopback port, with `table` and its stream; its URL.

    Dummy credentials go into this process's environment (moto accepts any); the server
    stops with the process.
    """
    import os

    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        raise InputError("--local needs moto's server: pip install 'parley[test]'") from None
    from ..history import create_conversations_table
    from ..settings import Settings

    for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local")):
        os.environ.setdefault(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    client = _client("dynamodb", Settings(aws_endpoint_url=url))
    create_conversations_table(client, table, stream=True)
    click.echo(f"local DynamoDB at {url}: table {table} with its stream. Add messages with")
    click.echo(
        f"  PARLEY_AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
        f"parley history add conv-1 'Is the bike still available?' --history dynamodb:{table}"
    )
    return url


class StreamPoller:
    """Reads a table's stream shard by shard, as the Lambda event source mapping would."""

    def __init__(self, streams: Any, dynamodb: Any, table: str, position: str) -> None:
        arn = dynamodb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
        if not arn:
            raise InputError(f"table {table!r} has no stream: enable one (NEW_IMAGE)")
        self.streams = streams
        self.arn = arn
        self.start = "LATEST" if position == "latest" else "TRIM_HORIZON"
        self.iterators: dict[str, str | None] = {}
        self.pending: list[dict[str, Any]] = []
        self.attempts: dict[str, int] = {}

    def poll(self) -> list[list[dict[str, Any]]]:
        """New records since the last poll, one list per shard (failed ones first, again)."""
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        for shard in shards:
            if shard["ShardId"] not in self.iterators:
                self.iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                    StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType=self.start
                )["ShardIterator"]
        batches = []
        if self.pending:
            batches.append(self.pending)
            self.pending = []
        for shard_id, iterator in self.iterators.items():
            if iterator is None:
                continue  # a closed shard
            page = self.streams.get_records(ShardIterator=iterator, Limit=100)
            self.iterators[shard_id] = page.get("NextShardIterator")
            records = [self._lambda_shape(r) for r in page.get("Records", [])]
            if records:
                batches.append(records)
        return batches

    def redeliver(self, batch: list[dict[str, Any]], failed: list[str], limit: int = 3) -> None:
        """Queue failed records for the next poll, like Lambda's retries, at most `limit` times."""
        for record in batch:
            item = record.get("dynamodb", {}).get("SequenceNumber")
            if item in failed:
                self.attempts[item] = self.attempts.get(item, 0) + 1
                if self.attempts[item] < limit:
                    self.pending.append(record)
                else:
                    click.echo(f"gave up on record {item} after {limit} attempts", err=True)

    def _lambda_shape(self, record: dict[str, Any]) -> dict[str, Any]:
        # get_records omits the ARN that Lambda adds (and Powertools' parser requires).
        shaped = {**record, "eventSourceARN": self.arn}
        stamp = shaped.get("dynamodb", {}).get("ApproximateCreationDateTime")
        if hasattr(stamp, "timestamp"):  # boto3 parsed it; Lambda delivers epoch seconds
            shaped["dynamodb"] = {
                **shaped["dynamodb"],
                "ApproximateCreationDateTime": int(stamp.timestamp()),
            }
        return shaped


def summary_table(report: BatchReport) -> str:
    """Records, skips by reason, conversations, verdicts by type, failures."""
    summary = report.summary()
    rows: list[tuple[str, Any]] = [("records", summary["records"])]
    rows.append(("skipped", sum(summary["skipped"].values())))
    rows += [(f"  {reason}", n) for reason, n in summary["skipped"].items()]
    rows.append(("conversations", summary["conversations"]))
    rows.append(("verdicts", sum(summary["verdicts"].values())))
    rows += [(f"  {kind}", n) for kind, n in summary["verdicts"].items()]
    rows.append(("  new", summary["new_verdicts"]))
    rows.append(("  already stored", summary["already_done"]))
    rows.append(("shadow verdicts", summary["shadow_verdicts"]))
    rows.append(("model calls", summary["model_calls"]))
    rows.append(("failed records", summary["failed_records"]))
    rows += [("  conversation", cid) for cid in summary["failed_conversations"]]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def verdict_lines(report: BatchReport) -> list[str]:
    """One line per conversation: id, verdict, score, prompt, records covered; no text."""
    lines = []
    for outcome in report.outcomes:
        records = f"{len(outcome.item_ids)} record(s)"
        if outcome.verdict is not None and outcome.ok:
            v = outcome.verdict
            score = "-" if v.score is None else f"{v.score:.2f}"
            state = "new" if outcome.status == "judged" and not outcome.duplicate else "stored"
            lines.append(
                f"{v.conversation_id}  {verdict_label(v)}  {score}  {v.prompt}  {records}  {state}"
            )
        else:
            lines.append(f"{outcome.conversation_id}  FAILED ({outcome.error})  {records}")
    return lines


def _settings(
    model: str | None,
    prompt: str | None,
    history: str | None,
    shadow_prompt: str | None,
    verdicts: str | None,
    bus: str | None,
) -> Settings:
    settings = _settings_with(
        model=model, prompt=prompt, history=history, shadow_prompt=shadow_prompt, event_bus=bus
    )
    if verdicts is None and not (settings.verdicts_table or settings.verdicts_sqlite):
        verdicts = "sqlite:parley.db"
    if verdicts is not None:
        kind, _, rest = verdicts.partition(":")
        if kind == "sqlite":
            update = {"verdicts_sqlite": rest or ":memory:", "verdicts_table": None}
        elif kind == "dynamodb" and rest:
            update = {"verdicts_table": rest, "verdicts_sqlite": None}
        else:
            raise InputError(f"--verdicts {verdicts!r}: use sqlite:<path> or dynamodb:<table>")
        settings = settings.model_copy(update=update)
    return settings


def _handler(settings: Settings) -> StreamHandler:
    from ..stream import handler_from_settings

    # The CLI reports in its own words: metrics are the deployed handler's business.
    return handler_from_settings(settings, metrics=None)


def _client(service: str, settings: Settings) -> Any:
    import boto3
    from botocore.config import Config

    # An endpoint that does not answer is reported in seconds, not after minutes of retries.
    config = Config(connect_timeout=5, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client(
        service, region_name=settings.region, endpoint_url=settings.aws_endpoint_url, config=config
    )


def _read_event(path: Path) -> Any:
    from ..bounded import MAX_EVENT_FILE_BYTES, read_bounded

    raw = read_bounded(path, MAX_EVENT_FILE_BYTES)
    try:
        event = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path} is not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})") from None
    return _checked_event(event, path)


def _checked_event(event: Any, path: Path) -> Any:
    """A Lambda event {"Records": [objects]} or a Pipe array of objects, else InputError."""
    records = event if isinstance(event, list) else None
    if isinstance(event, dict):
        records = event.get("Records")
        if records is None:
            raise InputError(f'{path}: no "Records" (a stream event is {{"Records": [...]}})')
    if not isinstance(records, list):
        raise InputError(f"{path}: the records are not a list of stream records")
    if not all(isinstance(record, dict) for record in records):
        raise InputError(f"{path}: every stream record must be a JSON object")
    return event


def _seed(handler: StreamHandler, event: Any) -> None:
    from ..records import parse_pipe_items, parse_stream_event

    parsed = parse_pipe_items(event) if isinstance(event, list) else parse_stream_event(event)
    for record in parsed:
        if record.message is not None:
            handler.history.append(record.message)


def _run(handler: StreamHandler, event: Any, verbose: bool) -> BatchReport:
    from ..stream import logger

    previous = logger.log_level
    # The summary tells the story; --verbose adds the handler's JSON logs (on stderr).
    logger.setLevel("INFO" if verbose else "WARNING")
    try:
        return handler.run(event, LocalContext())
    finally:
        logger.setLevel(previous)
