"""The Bedrock emulator in a process of its own, for throughput benchmarks.

In the benchmark's own process the emulator's server threads would share one
interpreter lock with the clients they serve, so the figures would measure the
lock as much as the design. `EmulatorProcess` starts a `BedrockEmulator` in a
child process (spawned, not forked: no inherited threads or locks) and drives it
over a pipe: stats, reset, configure, stop.

Not a benchmark itself (no `run`): `python -m bench` skips it.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

from pipeline.emulator import emulator_client

_START_TIMEOUT_S = 60.0


def _serve(conn: Connection, responder: str, faults: dict[str, Any]) -> None:
    """Child process: serve until told to stop, answering control messages."""
    from pipeline.emulator import BedrockEmulator, FaultConfig

    answer = None
    if responder == "baseline":
        from pipeline.models.local import baseline_responder

        answer = baseline_responder()
    emulator = BedrockEmulator(answer, FaultConfig(**faults)).start()
    conn.send(emulator.endpoint_url)
    try:
        while True:
            command, args = conn.recv()
            if command == "stats":
                conn.send(emulator.stats.snapshot())
            elif command == "reset":
                emulator.reset_quotas()
                emulator.reset_stats()
                conn.send(None)
            elif command == "configure":
                emulator.configure(**args)
                conn.send(None)
            else:  # "stop", or anything unknown
                break
    except EOFError:  # the parent went away
        pass
    finally:
        emulator.stop()
        conn.close()


class EmulatorProcess:
    """A `BedrockEmulator` in a spawned child process.

    `responder` is "default" or "baseline" (the local classifier's judgement, as
    `parley emulator --responder baseline`); `faults` are `FaultConfig` fields.
    """

    def __init__(self, responder: str = "default", **faults: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, responder, faults), name="bedrock-emulator", daemon=True
        )
        self._process.start()
        child.close()
        try:
            if not self._conn.poll(_START_TIMEOUT_S):
                raise EOFError
            self.endpoint_url: str = self._conn.recv()
        except EOFError:
            self._process.kill()
            raise RuntimeError("the emulator process did not start") from None

    def _call(self, command: str, args: dict[str, Any] | None = None) -> Any:
        self._conn.send((command, args or {}))
        return self._conn.recv()

    def client(self, **config: Any) -> Any:
        """A boto3 `bedrock-runtime` client for this emulator."""
        return emulator_client(self.endpoint_url, **config)

    def stats(self) -> dict[str, Any]:
        """The emulator's counters (`EmulatorStats.snapshot()`)."""
        return self._call("stats")  # type: ignore[no-any-return]

    def reset(self) -> None:
        """Zero the counters and forget the quota windows."""
        self._call("reset")

    def configure(self, **changes: Any) -> None:
        """Change some fault fields, as `BedrockEmulator.configure`."""
        self._call("configure", changes)

    def stop(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(OSError):
                self._conn.send(("stop", {}))
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
        self._conn.close()

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
