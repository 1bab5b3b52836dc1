"""Lambda SnapStart runtime hooks shared by parley's functions.

With SnapStart, Lambda runs a function's init once when a version is published,
snapshots the memory, and starts every later execution environment from that
snapshot. Work done before the snapshot is free at every restore; anything unique or
time-bound captured in it is shared by every environment restored from it.

Each handler module calls `register(prime, rebuild)`:

- before the snapshot, `prime()` builds the handler as the first request would
  (imports, prompt templates compiled, the baseline artifact if the model uses it,
  boto3 clients: no request is sent);
- after a restore, the process state is refreshed first (`refresh_process()`: every
  client made so far is closed, so pooled connections opened before the snapshot are
  dropped, and the next clients come from a new boto3 session that resolves
  credentials again; `random` is reseeded from the OS), then `rebuild()` makes the
  handler's clients, pacer and random generator again, keeping what was loaded.

The hooks come from `snapshot_restore_py`, which Lambda's Python managed runtimes
provide; where it is not importable (local runs, the CLI) nothing is registered.
Restore hooks must finish within Lambda's 10 s: the only network call in them is the
review app's one GetSecretValue (its secret is read again after each restore).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from . import aws


def refresh_process() -> int:
    """Process-wide state a snapshot freezes: clients, credentials, the random seed.

    Returns how many boto3 clients were closed.
    """
    closed = aws.refresh()
    # Every environment restored from one snapshot starts with the same `random`
    # state (botocore's retry jitter draws from it); seed it from the OS again.
    random.seed()
    return closed


def before_snapshot(prime: Callable[[], Any]) -> None:
    """The before-snapshot hook: what the first request would load, without a request."""
    # The first connection encodes its host name with the idna codec (a lazy import).
    "localhost".encode("idna")
    prime()


def after_restore(rebuild: Callable[[], Any]) -> None:
    """The after-restore hook: the process state first, then the handler's own."""
    refresh_process()
    rebuild()


def register(prime: Callable[[], Any], rebuild: Callable[[], Any]) -> bool:
    """Register `before_snapshot(prime)` and `after_restore(rebuild)` with the runtime.

    Returns False when `snapshot_restore_py` is not importable (not on Lambda).
    """
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(before_snapshot, prime)
    register_after_restore(after_restore, rebuild)
    return True
