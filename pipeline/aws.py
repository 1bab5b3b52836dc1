"""One boto3 session per process, and the clients made from it.

Every boto3 session has its own loader, so each new session reads the endpoint,
partition and service-model files again (tens of milliseconds a client on a cold
start). parley's clients all come from one session, so those files are read once;
client creation is serialised because boto3 sessions are not thread-safe.

After a SnapStart restore (`pipeline.snapstart`), `refresh()` closes every client
made so far (their pooled connections were opened before the snapshot) and starts a
new session, so that credentials are resolved again, while keeping the loader and the
service models it has already parsed.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

_lock = threading.Lock()
_session: Any = None
_loader: Any = None  # botocore's data loader, kept across refresh()
# Clients made from the current session, so that refresh() can close their connections.
_clients: weakref.WeakSet[Any] = weakref.WeakSet()


def session() -> Any:
    """The process's boto3 session (created on first use)."""
    global _session, _loader
    with _lock:
        if _session is None:
            import boto3
            import botocore.session

            core = botocore.session.get_session()
            if _loader is None:
                _loader = core.get_component("data_loader")
            else:  # after refresh(): the service models parsed so far stay parsed
                core.register_component("data_loader", _loader)
            _session = boto3.session.Session(botocore_session=core)
        return _session


def client(service: str, **options: Any) -> Any:
    """A boto3 client of the shared session; options as for `Session.client`."""
    shared = session()
    with _lock:
        made = shared.client(service, **options)
        _clients.add(made)
        return made


def reset() -> None:
    """Forget the session and its loader (the next client starts from nothing)."""
    global _session, _loader
    with _lock:
        _session = _loader = None


def refresh() -> int:
    """Close every client made so far and start a new session on the same loader.

    The next session resolves credentials again; the loader keeps the service models
    already parsed, so the clients built next read no files. Returns how many clients
    were closed. Clients made before the refresh must not be used again.
    """
    global _session
    with _lock:
        _session = None
        closed = list(_clients)
        _clients.clear()
    for made in closed:
        made.close()  # drops the urllib3 pools: their sockets predate the snapshot
    return len(closed)
