"""The evaluation database on disk: a response cache and the run journal.

One SQLite file (default `evals/.cache/eval.db`, ignored by git) with numbered
migrations, like simonw/llm's `m001_initial`: each runs once, in order, and is
recorded in `_migrations`. Responses are keyed by the sha256 of everything that
decides the answer: the model's identity, the rendered prompt, the output schema
and the inference parameters. Only successful answers are stored; errors never.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..models import ModelResult

if TYPE_CHECKING:
    from ..prompts import RenderedPrompt

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(func: Migration) -> Migration:
    """Register a migration; they run in the order they are defined."""
    MIGRATIONS.append((func.__name__, func))
    return func


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE responses ("
        " key TEXT PRIMARY KEY, model_id TEXT NOT NULL, result TEXT NOT NULL,"
        " created_at TEXT NOT NULL)"
    )


@migration
def m002_run_journal(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE runs ("
        " run_id TEXT PRIMARY KEY, suite TEXT NOT NULL, fingerprint TEXT NOT NULL,"
        " status TEXT NOT NULL, total INTEGER NOT NULL, started_at TEXT NOT NULL,"
        " finished_at TEXT)"
    )
    db.execute("CREATE INDEX runs_by_fingerprint ON runs (fingerprint, status)")
    db.execute(
        "CREATE TABLE run_results ("
        " run_id TEXT NOT NULL REFERENCES runs(run_id), task TEXT NOT NULL,"
        " result TEXT NOT NULL, PRIMARY KEY (run_id, task))"
    )


def open_db(path: Path | str) -> sqlite3.Connection:
    """Open (creating if needed) the evaluation database and bring it up to date."""
    target = Path(path)
    if str(path) != ":memory:":
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create cache directory {target.parent}: {exc}") from None
    try:
        # Two runs may share the cache (a suite and its smoke form): a writer waits for
        # the other's write instead of failing with "database is locked".
        db = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable enough, no fsync per row
        migrate(db)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"cannot open evaluation database {path}: {exc}") from None
    return db


BUSY_TIMEOUT_S = 60.0


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations not yet applied; returns their names."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    applied = []
    for name, func in MIGRATIONS:
        if name in done:
            continue
        db.execute("BEGIN")
        try:
            func(db)
            db.execute("INSERT INTO _migrations VALUES (?, ?)", (name, _now()))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def cache_key(model_identity: str, prompt: RenderedPrompt, schema: dict[str, Any] | None) -> str:
    """sha256 of the model identity, the rendered prompt, the schema and the parameters."""
    shown = prompt.conversation.messages if prompt.conversation is not None else ()
    material = [
        model_identity,
        prompt.system,
        prompt.user,
        prompt.output,
        # Models that read messages, not text (the local baseline), see the senders too.
        [[m.sender, m.text] for m in shown],
        _schema_digest(json.dumps(schema, sort_keys=True)) if schema is not None else None,
        prompt.inference.model_dump(),
    ]
    blob = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=32)
def _schema_digest(schema_json: str) -> str:
    return hashlib.sha256(schema_json.encode("utf-8")).hexdigest()


class ResponseCache:
    """Successful model results by cache key. Use from one thread.

    With a `ttl`, an answer stored longer ago than that is a miss (and is replaced
    by the fresh answer): models behind an id change, and answers should too.
    """

    def __init__(self, db: sqlite3.Connection, ttl: timedelta | None = None) -> None:
        self.db = db
        self.ttl = ttl
        self.hits = 0
        self.misses = 0
        self.expired = 0

    def get(self, key: str) -> ModelResult | None:
        row = self.db.execute(
            "SELECT result, created_at FROM responses WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            self.misses += 1
            return None
        if self.ttl is not None and _older_than(row[1], self.ttl):
            self.misses += 1
            self.expired += 1
            return None
        self.hits += 1
        return ModelResult(**json.loads(row[0]))

    def put(self, key: str, result: ModelResult) -> None:
        """Store a successful result (callers never pass errors: they are not results)."""
        blob = json.dumps(asdict(result), ensure_ascii=False, default=str)
        self.db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
            (key, result.model_id, blob, _now()),
        )

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM responses").fetchone()[0])


def _older_than(stamp: str, age: timedelta) -> bool:
    try:
        created = datetime.fromisoformat(stamp)
    except ValueError:
        return True  # an unreadable date is not trusted to be fresh
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return datetime.now(UTC) - created > age


def clear_cache(db: sqlite3.Connection, older_than: timedelta | None = None) -> dict[str, int]:
    """Delete cached answers (all, or those stored longer ago than `older_than`);
    without `older_than` the run journal goes too. Returns the rows deleted."""
    deleted = {"responses": 0, "runs": 0, "run_results": 0}
    db.execute("BEGIN")
    try:
        if older_than is None:
            deleted["responses"] = db.execute("DELETE FROM responses").rowcount
            deleted["run_results"] = db.execute("DELETE FROM run_results").rowcount
            deleted["runs"] = db.execute("DELETE FROM runs").rowcount
        else:
            cutoff = (datetime.now(UTC) - older_than).isoformat(timespec="seconds")
            deleted["responses"] = db.execute(
                "DELETE FROM responses WHERE created_at < ?", (cutoff,)
            ).rowcount
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("VACUUM")
    return deleted
