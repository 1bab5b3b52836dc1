"""The run journal: each finished case of a run is appended as it completes, so a
run interrupted (Ctrl-C, a crash, a spent budget) continues where it stopped.

A run is identified by the fingerprint of its work (suite matrix + cases): running
the same suite again resumes the newest unfinished run with that fingerprint.
"""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime

from .results import CaseResult


def task_key(cell_key: str, case_id: str) -> str:
    return f"{cell_key}#{case_id}"


class RunJournal:
    """Append-only record of one run's finished cases. Use from one thread."""

    def __init__(self, db: sqlite3.Connection, run_id: str, resumed: bool) -> None:
        self.db = db
        self.run_id = run_id
        self.resumed = resumed

    @classmethod
    def open(
        cls, db: sqlite3.Connection, *, suite: str, fingerprint: str, total: int, resume: bool
    ) -> RunJournal:
        """Resume the newest unfinished run of this fingerprint, or start a new one.

        With `resume=False` unfinished runs of the fingerprint are abandoned.
        """
        row = db.execute(
            "SELECT run_id FROM runs WHERE fingerprint = ? AND status = 'running'"
            " ORDER BY started_at DESC, rowid DESC LIMIT 1",
            (fingerprint,),
        ).fetchone()
        if row is not None and resume:
            return cls(db, row[0], resumed=True)
        db.execute(
            "UPDATE runs SET status = 'abandoned' WHERE fingerprint = ? AND status = 'running'",
            (fingerprint,),
        )
        run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        db.execute(
            "INSERT INTO runs (run_id, suite, fingerprint, status, total, started_at)"
            " VALUES (?, ?, ?, 'running', ?, ?)",
            (run_id, suite, fingerprint, total, _now()),
        )
        return cls(db, run_id, resumed=False)

    def finished(self) -> dict[str, CaseResult]:
        """The results already journaled for this run, by task key."""
        rows = self.db.execute(
            "SELECT task, result FROM run_results WHERE run_id = ?", (self.run_id,)
        )
        return {task: CaseResult.model_validate_json(blob) for task, blob in rows}

    def append(self, result: CaseResult) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO run_results VALUES (?, ?, ?)",
            (self.run_id, task_key(result.cell, result.case_id), result.model_dump_json()),
        )

    def close(self, *, complete: bool) -> None:
        """Mark the run finished when every case is done; else it stays resumable."""
        if complete:
            self.db.execute(
                "UPDATE runs SET status = 'finished', finished_at = ? WHERE run_id = ?",
                (_now(), self.run_id),
            )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
