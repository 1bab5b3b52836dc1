"""Per-model rpm/tpm quotas over a sliding window, as Bedrock throttles them."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

from .billing import billed_input_tokens
from .calls import EmulatorRequest
from .faults import EmulatorFault, FaultConfig

#: Tokens reserved against tpm when a request sets no max tokens (Bedrock reserves
#: the model's maximum).
DEFAULT_RESERVED_MAX_TOKENS = 4096


class QuotaWindows:
    """Requests and reserved tokens per model over the last window, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, deque[tuple[float, int]]] = {}
        self._window_tokens: Counter[str] = Counter()

    def reset(self) -> None:
        """Forget every window."""
        with self._lock:
            self._windows.clear()
            self._window_tokens.clear()

    def admit(self, request: EmulatorRequest, faults: FaultConfig) -> None:
        """Count the request against its model's rpm/tpm window, or throttle it."""
        if faults.rpm is None and faults.tpm is None:
            return
        window = faults.quota_window_s
        reserved = billed_input_tokens(request) + (
            request.max_tokens if request.max_tokens is not None else DEFAULT_RESERVED_MAX_TOKENS
        )
        now = time.monotonic()
        with self._lock:
            entries = self._windows.setdefault(request.model_id, deque())
            while entries and entries[0][0] <= now - window:
                self._window_tokens[request.model_id] -= entries.popleft()[1]
            if faults.rpm is not None and len(entries) >= faults.rpm * window / 60.0:
                raise EmulatorFault(
                    "ThrottlingException", "Too many requests, please wait before trying again."
                )
            if (
                faults.tpm is not None
                and self._window_tokens[request.model_id] + reserved > faults.tpm * window / 60.0
            ):
                raise EmulatorFault(
                    "ThrottlingException", "Too many tokens, please wait before trying again."
                )
            entries.append((now, reserved))
            self._window_tokens[request.model_id] += reserved
