"""A progress line with rate and ETA for long evaluation runs (written to stderr).

On a terminal the line is redrawn in place; elsewhere (CI logs) a line is written
at every tenth of the way. Only counts and money are shown, never case content.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts finished cases; `write` receives the rendered line(s)."""

    def __init__(
        self,
        total: int,
        write: Callable[[str], object],
        *,
        tty: bool = False,
        interval_s: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.write = write
        self.tty = tty
        self.interval_s = interval_s
        self.clock = clock
        self.started = clock()
        self.done = 0
        self.cached = 0
        self.spent_usd = 0.0
        self._skipped = 0  # already finished before this run (resumed): not in the rate
        self._last_draw = float("-inf")
        self._last_decile = -1

    def skip(self, count: int) -> None:
        """Cases finished by an earlier, interrupted run."""
        self._skipped += count
        self.done += count

    def advance(self, *, cached: bool = False, cost_usd: float = 0.0) -> None:
        self.done += 1
        self.cached += int(cached)
        self.spent_usd += cost_usd
        self._maybe_draw()

    def line(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        fresh = self.done - self._skipped
        rate = fresh / elapsed
        remaining = self.total - self.done
        eta = format_duration(remaining / rate) if rate > 0 else "?"
        percent = 100 * self.done / self.total if self.total else 100.0
        return (
            f"eval {self.done}/{self.total} ({percent:.0f}%) | {rate:.1f} cases/s | "
            f"ETA {eta} | cached {self.cached} | spent ${self.spent_usd:.4f}"
        )

    def _maybe_draw(self) -> None:
        now = self.clock()
        if self.tty:
            if now - self._last_draw >= self.interval_s or self.done >= self.total:
                self._last_draw = now
                self.write(f"\r{self.line()}\x1b[K")
            return
        decile = (10 * self.done) // self.total if self.total else 10
        if decile > self._last_decile:
            self._last_decile = decile
            self.write(self.line() + "\n")

    def finish(self) -> None:
        """End the in-place line."""
        if self.tty:
            self.write(f"\r{self.line()}\x1b[K\n")
