"""The one log-redaction helper: what a log may say about personal text is its size.

A child's speech, a marketplace message, a prompt or a model answer is personal
data. Code logs `describe_text(text)` instead of the text; `RedactFilter` is the
belt-and-braces for log calls that pass such text under a well-known field name.
"""

from __future__ import annotations

import logging
import re
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


# Contact details in exported conversations (`parley review export --redact`): the shape of
# a scam (a link, "write to me at …") stays visible, the address itself does not.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)]"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|co|uk|de|fr|ru|info|biz|xyz|top|ly|me)\b(?:/\S*)?",
    re.IGNORECASE,
)
_PHONE = re.compile(r"(?<![\w])\+?\d[\d\s().-]{6,}\d(?![\w])")


def redact_contacts(text: str) -> str:
    """Replace e-mail addresses, URLs and phone numbers by `[email]`, `[url]`, `[phone]`."""
    text = _EMAIL.sub("[email]", text)
    text = _URL.sub("[url]", text)
    # Nine digits or more: a phone number; fewer (a price, a date) stays.
    return _PHONE.sub(lambda m: "[phone]" if sum(c.isdigit() for c in m[0]) >= 9 else m[0], text)
