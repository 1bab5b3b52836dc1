"""Injected faults: the random rates of a FaultConfig and the prompt markers
(`[[emulator:throttle]]`, `[[emulator:error=Code]]`) that trigger one deterministically."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from .calls import ERROR_STATUS

MALFORMED_TEXT = "Sure! I think maybe"

_MARKER = re.compile(r"\[\[emulator:([a-z0-9_]+)(?:=([A-Za-z]+))?\]\]")
_MARKER_FAULTS = frozenset({"throttle", "500", "503", "hang", "malformed", "truncated", "timeout"})


class EmulatorFault(Exception):
    """Answer with a Bedrock error (`code` is a key of ERROR_STATUS)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FaultConfig:
    """Injected faults. Rates are probabilities per request and are exclusive of
    each other (one draw decides), so they must sum to at most 1.

    Quotas apply per model id over a sliding window of `quota_window_s` seconds
    (limits scale to `rpm * window / 60`); tpm counts estimated input tokens plus
    the request's max tokens, as Bedrock reserves them. Throttled requests are
    answered at once and not served.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rpm: int | None = None
    tpm: int | None = None
    throttle_rate: float = 0.0
    error_5xx_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_rate: float = 0.0
    hang_s: float = 30.0
    malformed_rate: float = 0.0
    truncated_rate: float = 0.0
    seed: int | None = None
    quota_window_s: float = 60.0

    def __post_init__(self) -> None:
        for name in ("latency_ms", "jitter_ms", "hang_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1 or None")
        if self.quota_window_s <= 0:
            raise ValueError("quota_window_s must be > 0")
        rates = self._rates()
        if any(not 0.0 <= r <= 1.0 for r in rates.values()):
            raise ValueError("fault rates must be within [0, 1]")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates must sum to at most 1")

    def _rates(self) -> dict[str, float]:
        return {
            "throttle": self.throttle_rate,
            "5xx": self.error_5xx_rate,
            "timeout": self.timeout_rate,
            "hang": self.hang_rate,
            "malformed": self.malformed_rate,
            "truncated": self.truncated_rate,
        }

    def draw(self, rng: random.Random) -> str | None:
        """The fault for one request, or None; one uniform draw over the rates."""
        point = rng.random()
        for fault, rate in self._rates().items():
            if point < rate:
                return fault
            point -= rate
        return None


def marker_fault(prompt_text: str) -> tuple[str | None, str | None]:
    """The fault a prompt marker asks for and, for `error=Code`, its code."""
    if "[[emulator:" not in prompt_text:
        return None, None
    match = _MARKER.search(prompt_text)
    if match is None:
        return None, None
    name, code = match.group(1), match.group(2)
    if name == "error":
        if code not in ERROR_STATUS:
            return None, None
        return "error", code
    return (name if name in _MARKER_FAULTS else None), None
