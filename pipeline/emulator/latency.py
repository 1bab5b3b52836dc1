"""A model's latency as a distribution, for benchmarks of what a slow model does.

`LatencyProfile(p50_s=2, p95_s=7)` draws each call's whole latency from the log-normal
distribution with that median and 95th percentile. `first_token_share` says how much
of it passes before the first word: a plain Converse call answers after the whole
latency; ConverseStream sends its first words after that share and the rest spread
over the remainder (a model writes at a pace; queueing delays the start).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

_Z95 = 1.6448536269514722  # the standard normal's 95th percentile


@dataclass(frozen=True)
class LatencyProfile:
    """Whole-call latency: log-normal by its median and 95th percentile (seconds)."""

    p50_s: float
    p95_s: float
    first_token_share: float = 0.3

    def __post_init__(self) -> None:
        if not 0 < self.p50_s <= self.p95_s:
            raise ValueError("latency profile needs 0 < p50_s <= p95_s")
        if not 0.0 <= self.first_token_share <= 1.0:
            raise ValueError("first_token_share must be within [0, 1]")

    @property
    def sigma(self) -> float:
        return math.log(self.p95_s / self.p50_s) / _Z95

    def draw(self, rng: random.Random) -> float:
        """One call's whole latency in seconds."""
        return math.exp(rng.normalvariate(math.log(self.p50_s), self.sigma))

    def share_over(self, seconds: float) -> float:
        """The share of calls slower than `seconds` (the distribution's tail)."""
        z = (math.log(seconds) - math.log(self.p50_s)) / self.sigma
        return 0.5 * math.erfc(z / math.sqrt(2))
