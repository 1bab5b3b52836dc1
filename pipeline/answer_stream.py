"""A model answer arriving on a worker thread, read by the voice turn as it grows.

`AnswerStream.start(events)` runs `events()` (ConverseStream's text deltas, or one
event holding a whole `generate` answer) on a daemon thread and collects it. The turn
waits on it with `wait(timeout)` and, at its deadline, takes what has arrived: the
complete sentences (`pipeline.screen.complete_sentences`) are all it may speak, and
only after they pass the same screen and guardrail as a whole answer.

A daemon thread, not a pool: a hung call must neither hold a pool slot nor keep the
process from exiting. Nothing here logs text.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models.bedrock_stream import StreamEvent


class AnswerStream:
    """The text so far, whether it ended, how (stop reason, error) and its usage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[str] = []
        self._done = threading.Event()
        self.error: BaseException | None = None
        self.stop_reason: str | None = None
        self.input_tokens = 0
        self.output_tokens = 0
        self.first_text_at: float | None = None  # time.perf_counter() of the first delta

    @classmethod
    def start(cls, events: Callable[[], Iterable[StreamEvent]]) -> AnswerStream:
        """Collect `events()` on a daemon thread; returns at once."""
        stream = cls()
        threading.Thread(
            target=stream._collect, args=(events,), name="parley-answer-stream", daemon=True
        ).start()
        return stream

    def _collect(self, events: Callable[[], Iterable[StreamEvent]]) -> None:
        import time

        try:
            for event in events():
                with self._lock:
                    if event.text:
                        if self.first_text_at is None:
                            self.first_text_at = time.perf_counter()
                        self._parts.append(event.text)
                    if event.stop_reason is not None:
                        self.stop_reason = event.stop_reason
                    if event.input_tokens is not None:
                        self.input_tokens = event.input_tokens
                    if event.output_tokens is not None:
                        self.output_tokens = event.output_tokens
        except BaseException as exc:  # handed to the reader, never raised on this thread
            with self._lock:
                self.error = exc
        finally:
            self._done.set()

    def wait(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for the end; True when the stream has ended."""
        return self._done.wait(max(0.0, timeout_s))

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def text(self) -> str:
        """Everything received so far."""
        with self._lock:
            return "".join(self._parts)
