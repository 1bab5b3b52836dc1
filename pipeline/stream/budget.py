"""Time left in an invocation: the Lambda context's clock, or Lambda's maximum without one."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

# Without a Lambda context (Step Functions tests, CLI), a batch gets Lambda's maximum time.
DEFAULT_BUDGET_MS = 900_000


def remaining_ms(context: Any) -> Callable[[], float]:
    """A clock of the milliseconds left in this invocation."""
    get = getattr(context, "get_remaining_time_in_millis", None)
    if callable(get):
        return lambda: float(get())
    started = time.monotonic()
    return lambda: DEFAULT_BUDGET_MS - (time.monotonic() - started) * 1000
