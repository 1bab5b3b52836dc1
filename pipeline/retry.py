"""Being a good client of a quota: retries with exponential backoff and full jitter
inside a time budget, and a pacer that spaces calls to a configured rate."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from .errors import ModelError, ThrottledError

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


def full_jitter_delay(
    attempt: int, *, base_s: float = 0.25, cap_s: float = 8.0, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number `attempt` (0-based): uniform in [0, min(cap, base·2^n)].

    Full jitter spreads the retries of many callers that failed together (AWS
    Architecture Blog, "Exponential Backoff and Jitter").
    """
    ceiling = min(cap_s, base_s * (2 ** max(0, attempt)))
    return (rng or random).uniform(0.0, ceiling)


@dataclass
class RetryStats:
    """What one retried call went through."""

    calls: int = 0
    retries: int = 0
    throttles: int = 0


def call_with_retries(
    call: Callable[[], T],
    *,
    time_left_s: Callable[[], float],
    max_attempts: int = 4,
    base_s: float = 0.25,
    cap_s: float = 8.0,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    stats: RetryStats | None = None,
    backoff_on_throttle: bool = True,
) -> T:
    """Call, retrying retryable `ModelError`s while attempts and time remain.

    `time_left_s()` is the budget still available for waiting and calling (the caller
    subtracts its reserve); a wait that would exhaust it is not started and the last
    error is raised instead. Non-retryable errors are raised at once. With
    `backoff_on_throttle=False` a throttled call is retried without a wait of its
    own: for calls that already wait for a `Pacer` slot, which is the spacing.
    """
    stats = stats if stats is not None else RetryStats()
    attempt = 0
    while True:
        stats.calls += 1
        try:
            return call()
        except ModelError as exc:
            if is_throttle(exc):
                stats.throttles += 1
            if not exc.retryable or attempt + 1 >= max_attempts:
                raise
            paced = is_throttle(exc) and not backoff_on_throttle
            delay = (
                0.0 if paced else full_jitter_delay(attempt, base_s=base_s, cap_s=cap_s, rng=rng)
            )
            if time_left_s() - delay <= 0:
                raise
            stats.retries += 1
            attempt += 1
            if delay:
                sleep(delay)


def is_throttle(error: BaseException) -> bool:
    """A refusal for quota (as opposed to a failure of the service or the request)."""
    code = getattr(error, "code", "")
    return isinstance(error, ThrottledError) or (isinstance(code, str) and "Throttl" in code)


class Pacer:
    """Spaces calls `60 / per_minute` seconds apart across threads, allowing at most
    `burst` calls at once after idle time (the GCRA form of a token bucket).

    A quota enforced over any short window is then not exceeded by this caller, so
    the quota can be used in full without the throttles that make an adaptive
    client back off.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.interval = 60.0 / per_minute
        self.tolerance = (burst - 1) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._due = 0.0  # when the next call is due at the steady rate
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until this caller's slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._due - self.tolerance)
            self._due = max(self._due, slot) + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return delay
