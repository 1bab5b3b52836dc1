"""Thread-safe counters of what the emulator received, served and billed."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any


class EmulatorStats:
    """Thread-safe counters. `served_times` holds `time.monotonic()` of served
    (200) answers, newest last, bounded to the last 100,000."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self.received = 0
            self.served = 0
            self.by_status: Counter[int] = Counter()
            self.by_error: Counter[str] = Counter()
            self.by_model: Counter[str] = Counter()
            self.input_tokens = 0
            self.output_tokens = 0
            self.cache_read_tokens = 0
            self.cache_write_tokens = 0
            self.served_times: deque[float] = deque(maxlen=100_000)

    def record_received(self, model_id: str) -> None:
        with self._lock:
            self.received += 1
            self.by_model[model_id] += 1

    def record_answer(
        self,
        status: int,
        error: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> None:
        with self._lock:
            self.by_status[status] += 1
            if error is not None:
                self.by_error[error] += 1
            if status == 200:
                self.served += 1
                self.input_tokens += input_tokens
                self.output_tokens += output_tokens
                self.cache_read_tokens += cache_read_tokens
                self.cache_write_tokens += cache_write_tokens
                self.served_times.append(time.monotonic())

    def served_since(self, since: float) -> int:
        """Served answers at or after monotonic time `since`."""
        with self._lock:
            return sum(1 for t in self.served_times if t >= since)

    def served_per_minute(self, window_s: float = 60.0) -> float:
        """Served answers over the last `window_s` seconds, scaled to a minute."""
        return self.served_since(time.monotonic() - window_s) * 60.0 / window_s

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of the counters (without the timestamps)."""
        with self._lock:
            return {
                "received": self.received,
                "served": self.served,
                "by_status": dict(self.by_status),
                "by_error": dict(self.by_error),
                "by_model": dict(self.by_model),
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "cache_read_tokens": self.cache_read_tokens,
                "cache_write_tokens": self.cache_write_tokens,
            }

    def summary(self) -> str:
        """One line for humans."""
        snap = self.snapshot()
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(snap["by_status"].items())) or "-"
        return (
            f"served {snap['served']}/{snap['received']} requests ({statuses}); "
            f"tokens in {snap['input_tokens']}, out {snap['output_tokens']}"
        )
