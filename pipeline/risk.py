"""A conversation's risk state: once flagged, flagged until a reviewer decides.

A window of a conversation is judged on its own, so a later window without the
request (the scammer kept talking) is judged clean. What the events report is the
conversation's state, which only moves up on a verdict and only comes down on a
reviewer's decision:

    clear ──flagged window──▶ flagged ──reviewer: scam──▶ confirmed
      ▲                          │
      └──(never)                 └──reviewer: not a scam──▶ lifted ──flagged window──▶ flagged

A clean window of a flagged or confirmed conversation is published as
`parley.conversation.held`, one of a lifted conversation as `parley.conversation.lifted`:
`cleared` is only ever said of a conversation that was never flagged (docs/stream.md
lists the events and their order). The state also keeps the timestamps of the messages
that carried the risk, so that later windows show them to the model (`pipeline.windows`).

The transitions are pure functions; the stores (SQLite beside the verdicts, a DynamoDB
table in AWS) write conditionally on a version number, and `update` retries a lost race.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from .conversation import iso
from .errors import ParleyError
from .history import connect_sqlite

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .verdict import Verdict

Level = Literal["clear", "flagged", "confirmed", "lifted"]
ReviewLabel = Literal["scam", "not_scam", "cannot_tell"]
# Risky messages kept in view: a few, the newest (each costs prompt tokens).
MAX_PINNED = 4
UPDATE_ATTEMPTS = 5
# A clean window scored at least this still pins its risky messages (no flag is raised).
PIN_SCORE = 0.5


class RiskConflict(ParleyError):
    """Another writer kept changing the state: retryable (the batch is redelivered)."""

    code = "RiskConflict"
    retryable = True


class RiskState(BaseModel):
    """Where a conversation stands, with the version its conditional writes check."""

    model_config = ConfigDict(frozen=True)

    conversation_id: str
    level: Level = "clear"
    flagged_at: datetime | None = None  # newest message of the window that raised the flag
    pinned: tuple[datetime, ...] = ()  # messages that carried the risk, oldest first
    version: int = 0  # 0: never written
    updated_at: datetime | None = None

    @property
    def standing(self) -> bool:
        """A flag stands: no verdict can lower it, only a reviewer."""
        return self.level in ("flagged", "confirmed")


def after_verdict(
    state: RiskState, verdict: Verdict, risky: Iterable[datetime] = (), now: datetime | None = None
) -> RiskState:
    """The state after a window's verdict: a flag raises it, nothing else lowers it.

    `risky` are the timestamps of the window's messages that carried the risk; they
    are pinned (the newest `MAX_PINNED` of them all) when the window is flagged, or
    scored at least `PIN_SCORE` without a flag (a model unsure of a request).
    """
    if not carries_risk(verdict):
        return state
    pinned = tuple(sorted({*state.pinned, *risky}))[-MAX_PINNED:]
    if not verdict.suspicious:
        if pinned == state.pinned:
            return state
        return state.model_copy(update={"pinned": pinned, "updated_at": now or datetime.now(UTC)})
    level: Level = "confirmed" if state.level == "confirmed" else "flagged"
    raised = not state.standing
    flagged_at = verdict.last_message_at if raised or state.flagged_at is None else state.flagged_at
    if (level, flagged_at, pinned) == (state.level, state.flagged_at, state.pinned):
        return state  # a redelivered or repeated flag: nothing to write
    return state.model_copy(
        update={
            "level": level,
            "flagged_at": flagged_at,
            "pinned": pinned,
            "updated_at": now or datetime.now(UTC),
        }
    )


def carries_risk(verdict: Verdict) -> bool:
    """A window whose messages later windows should keep in view."""
    if verdict.status != "scored":
        return False
    return verdict.suspicious is True or (verdict.score or 0.0) >= PIN_SCORE


def after_review(
    state: RiskState,
    label: ReviewLabel,
    now: datetime | None = None,
    at: datetime | None = None,
) -> RiskState:
    """The state after a reviewer's decision: a scam is confirmed, a non-scam lifted.

    `at` is the newest message of the verdict decided: where a confirmed scam's flag
    dates from when no verdict had raised one.
    """
    if label == "cannot_tell" or (label == "not_scam" and not state.standing):
        return state
    if label == "scam":
        update: dict[str, Any] = {"level": "confirmed", "flagged_at": state.flagged_at or at}
    else:
        # The reviewer read those messages and found no scam: no need to keep them in view.
        update = {"level": "lifted", "pinned": ()}
    return state.model_copy(update={**update, "updated_at": now or datetime.now(UTC)})


def after_undo(state: RiskState, now: datetime | None = None) -> RiskState:
    """A reviewer's decision withdrawn: a flag it confirmed or lifted stands again."""
    if state.level not in ("confirmed", "lifted") or state.flagged_at is None:
        return state
    return state.model_copy(update={"level": "flagged", "updated_at": now or datetime.now(UTC)})


def event_type(state: RiskState, verdict: Verdict) -> str:
    """The event a window's verdict is published as, given the state before it."""
    if verdict.event_type != CLEARED:
        return verdict.event_type
    if state.standing:
        return HELD
    return LIFTED if state.level == "lifted" else CLEARED


CLEARED = "parley.conversation.cleared"
HELD = "parley.conversation.held"
LIFTED = "parley.conversation.lifted"


def mark_held(verdict: Verdict, state: RiskState) -> Verdict:
    """A clean verdict while a flag stands is held, after a reviewer's lift lifted: only
    a conversation never flagged is `cleared`."""
    published = event_type(state, verdict)
    if published == HELD:
        return verdict.model_copy(update={"held": True})
    if published == LIFTED:
        return verdict.model_copy(update={"lifted": True})
    return verdict


def previously_flagged_note(state: RiskState) -> str | None:
    """parley's line to the model about a standing flag (None when none stands)."""
    if not state.standing or state.flagged_at is None:
        return None
    how = "confirmed as a scam by a reviewer" if state.level == "confirmed" else "flagged"
    return (
        f"Note from parley: this conversation was previously {how} at the message of "
        f"{iso(state.flagged_at)}; it stays flagged until a reviewer decides."
    )


class RiskStore(Protocol):
    """Where risk states live; `put` writes only over the version it was read at."""

    def get(self, conversation_id: str) -> RiskState: ...

    def put(self, state: RiskState, expected_version: int) -> bool: ...


def update(
    store: RiskStore,
    conversation_id: str,
    change: Callable[[RiskState], RiskState],
    attempts: int = UPDATE_ATTEMPTS,
) -> tuple[RiskState, RiskState]:
    """Read, change and write conditionally, again on a lost race: (before, after)."""
    for _ in range(attempts):
        before = store.get(conversation_id)
        after = change(before)
        if after == before:
            return before, before
        written = after.model_copy(update={"version": before.version + 1})
        if store.put(written, before.version):
            return before, written
    raise RiskConflict(f"conversation {conversation_id}: risk state changed {attempts} times")


def record_review(
    store: RiskStore,
    conversation_id: str,
    label: ReviewLabel,
    now: datetime | None = None,
    at: datetime | None = None,
) -> RiskState:
    """A reviewer's decision on a conversation: the one way a flag comes down."""
    return update(store, conversation_id, lambda s: after_review(s, label, now, at))[1]


def withdraw_review(
    store: RiskStore, conversation_id: str, now: datetime | None = None
) -> RiskState:
    """A reviewer's decision undone: the flag it decided stands again."""
    return update(store, conversation_id, lambda s: after_undo(s, now))[1]


class SqliteRiskStore:
    """Risk states in SQLite (the verdicts' file in local runs); version-checked writes."""

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS risk_state (
        conversation_id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        state TEXT NOT NULL
    ) WITHOUT ROWID
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = connect_sqlite(self.path, self._SCHEMA)

    def get(self, conversation_id: str) -> RiskState:
        with self._lock:
            row = self._db.execute(
                "SELECT state FROM risk_state WHERE conversation_id = ?", (conversation_id,)
            ).fetchone()
        return (
            RiskState.model_validate_json(row[0])
            if row
            else RiskState(conversation_id=conversation_id)
        )

    def put(self, state: RiskState, expected_version: int) -> bool:
        data = state.model_dump_json()
        with self._lock:
            if expected_version == 0:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO risk_state VALUES (?, ?, ?)",
                    (state.conversation_id, state.version, data),
                )
            else:
                cursor = self._db.execute(
                    "UPDATE risk_state SET version = ?, state = ?"
                    " WHERE conversation_id = ? AND version = ?",
                    (state.version, data, state.conversation_id, expected_version),
                )
            return cursor.rowcount == 1

    def close(self) -> None:
        self._db.close()


class DynamoRiskStore:
    """Risk states in a DynamoDB table keyed by `pk` (conversation id) and `sk` ("state")."""

    SK = "state"

    def __init__(self, table: str, *, client: Any = None) -> None:
        if client is None:
            from . import aws

            client = aws.client("dynamodb")
        self.table = table
        self.client = client

    def get(self, conversation_id: str) -> RiskState:
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": conversation_id}, "sk": {"S": self.SK}},
            ConsistentRead=True,  # the state a window is judged against must be current
        ).get("Item")
        if not item:
            return RiskState(conversation_id=conversation_id)
        return RiskState.model_validate_json(item["state"]["S"])

    def put(self, state: RiskState, expected_version: int) -> bool:
        item = {
            "pk": {"S": state.conversation_id},
            "sk": {"S": self.SK},
            "version": {"N": str(state.version)},
            "level": {"S": state.level},
            "state": {"S": state.model_dump_json()},
        }
        if expected_version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected_version)}},
            }
        try:
            self.client.put_item(TableName=self.table, Item=item, **condition)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def open_risk_store(
    *, table: str | None, sqlite: str | None, client: Any = None
) -> RiskStore | None:
    """The risk store beside the verdicts: a DynamoDB table, or the verdicts' SQLite file."""
    if table:
        return DynamoRiskStore(table, client=client)
    if sqlite:
        return SqliteRiskStore(sqlite)
    return None
