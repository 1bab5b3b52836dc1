"""The one log-redaction helper: what a log may say about personal text is its size.

A child's speech, a marketplace message, a prompt or a model answer is personal
data. Code logs `describe_text(text)` instead of the text; `RedactFilter` is the
belt-and-braces for log calls that pass such text under a well-known field name.
"""

from __future__ import annotations

import logging
from typing import Any

# Log-record attributes (`extra=` keys) that hold personal text when they hold a string.
SENSITIVE_FIELDS = frozenset(
    {"text", "utterance", "speech", "reprompt", "answer", "prompt", "message_text", "body"}
)


def describe_text(text: str | None) -> dict[str, int]:
    """What may be logged about a personal text: its length in characters."""
    return {"chars": len(text) if text else 0}


class RedactFilter(logging.Filter):
    """Replaces string values of `SENSITIVE_FIELDS` on a log record by `describe_text`."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in SENSITIVE_FIELDS:
            value: Any = record.__dict__.get(name)
            if isinstance(value, str):
                record.__dict__[name] = describe_text(value)
        return True


def install_redaction(logger: logging.Logger | Any) -> None:
    """Add `RedactFilter` to a logger's handlers (records from child loggers pass there too)."""
    target = getattr(logger, "_logger", logger)  # a Powertools Logger wraps a stdlib one
    for handler in target.handlers:
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            handler.addFilter(RedactFilter())
