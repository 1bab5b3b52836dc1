"""One boto3 session per process, and the clients made from it.

Every boto3 session has its own loader, so each new session reads the endpoint,
partition and service-model files again (tens of milliseconds a client on a cold
start). parley's clients all come from one session, so those files are read once;
client creation is serialised because boto3 sessions are not thread-safe.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_session: Any = None


def session() -> Any:
    """The process's boto3 session (created on first use)."""
    global _session
    with _lock:
        if _session is None:
            import boto3

            _session = boto3.session.Session()
        return _session


def client(service: str, **options: Any) -> Any:
    """A boto3 client of the shared session; options as for `Session.client`."""
    shared = session()
    with _lock:
        return shared.client(service, **options)


def reset() -> None:
    """Forget the session (after a snapshot restore: credentials are read again)."""
    global _session
    with _lock:
        _session = None
