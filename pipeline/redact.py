"""The one log-redaction helper: what a log may say about personal text is its size.

A child's speech, a marketplace message, a prompt or a model answer is personal
data. Code logs `describe_text(text)` instead of the text; `RedactFilter` is the
belt-and-braces for log calls that pass such text under a well-known field name, and
for contact details (e-mail addresses, phone numbers) in a log line itself, say in an
id a client chose. `redact_contacts` matches on normalised text (`pipeline.normalise`),
so an address written with zero-width or look-alike characters is still found, and
replaces the original characters, hidden ones included.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from .normalise import find_spans, normalised_text

# Log-record attributes (`extra=` keys) that hold personal text when they hold a string.
SENSITIVE_FIELDS = frozenset(
    {"text", "utterance", "speech", "reprompt", "answer", "prompt", "message_text", "body"}
)


# An e-mail address; a phone number: "+" and 7 to 15 digits, or three or four groups of
# digits with separators (555-123-4567, (020) 7946 0958). A bare run of digits is left
# alone: in a log line it is more often an account id or a timestamp.
_CONTACT = re.compile(
    r"(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<phone>(?<![\w:/.+-])(?:\+\d(?:[ ().-]?\d){6,14}"
    r"|\(?\d{2,4}\)?[ .-]\d{2,4}[ .-]\d{3,5}(?:[ .-]\d{2,5})?)(?![\w/-]))"
)


def redact_contacts(text: str) -> str:
    """Text with each e-mail address and phone number replaced by `[email]` / `[phone]`."""
    spans = find_spans(_CONTACT, text)
    if not spans:
        return text
    out: list[str] = []
    last = 0
    for start, end in spans:
        kind = "email" if "@" in normalised_text(text[start:end]) else "phone"
        out.append(text[last:start])
        out.append(f"[{kind}]")
        last = end
    out.append(text[last:])
    return "".join(out)


def describe_text(text: str | None) -> dict[str, int]:
    """What may be logged about a personal text: its length in characters."""
    return {"chars": len(text) if text else 0}


class RedactFilter(logging.Filter):
    """Replaces string values of `SENSITIVE_FIELDS` on a log record by `describe_text`,
    and contact details in the log line by `redact_contacts`."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in SENSITIVE_FIELDS:
            value: Any = record.__dict__.get(name)
            if isinstance(value, str):
                record.__dict__[name] = describe_text(value)
        if isinstance(record.msg, str):
            line = record.getMessage()
            redacted = redact_contacts(line)
            if redacted != line:
                record.msg, record.args = redacted, None
        return True


def install_redaction(logger: logging.Logger | Any) -> None:
    """Add `RedactFilter` to a logger's handlers (records from child loggers pass there too)."""
    target = getattr(logger, "_logger", logger)  # a Powertools Logger wraps a stdlib one
    for handler in target.handlers:
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            handler.addFilter(RedactFilter())


# Contact details in exported conversations (`parley review export --redact`): the shape of
# a scam (a link, "write to me at …") stays visible, the address itself does not. Matched
# on normalised text like `redact_contacts`, so hidden or look-alike characters do not
# keep an address in an export.
_EXPORT = re.compile(
    r"(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<url>\b(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)]"
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|co|uk|de|fr|ru|info|biz|xyz|top|ly|me)\b"
    r"(?:/\S*)?)"
    r"|(?P<phone>(?<![\w])\+?\d[\d\s().-]{5,}\d(?![\w]))"
    # An address spelt out to slip past filters: "john at gmail dot com", "j (at) x [dot] io".
    # (Possessive `++`: a word that is not followed by "at" is not read again.)
    r"|(?P<spelt>\b[\w.+-]++(?:\s++|\s*+[(\[{]\s*+)at(?:\s++|\s*+[)\]}]\s*+)[\w-]++"
    r"(?:(?:\s++|\s*+[(\[{]\s*+)dot(?:\s++|\s*+[)\]}]\s*+)[\w-]++)+)"
    # A social-media handle: "@jane_doe" (not the middle of an e-mail address).
    r"|(?P<handle>(?<![\w.+-])@[A-Za-z0-9_][\w.]{0,29}[\w])",
    re.IGNORECASE,
)
# A date is not a phone number (2024-03-02, 02/03/2024, 2.3.2024).
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
_KIND = {"spelt": "email"}


def redact_for_export(text: str) -> str:
    """Replace e-mail addresses (spelt-out ones too), URLs, phone numbers and handles by
    `[email]`, `[url]`, `[phone]`, `[handle]`.

    A run of digits counts as a phone number from seven digits on (a local number);
    fewer (a price) stays, and so does a date.
    """
    out: list[str] = []
    last = 0
    for start, end in find_spans(_EXPORT, text):
        found = normalised_text(text[start:end])
        match = _EXPORT.fullmatch(found)
        kind = match.lastgroup if match else None
        if kind is None or (
            kind == "phone"
            and (sum(c.isdigit() for c in found) < 7 or _DATE.fullmatch(found.strip()))
        ):
            continue
        out.append(text[last:start])
        out.append(f"[{_KIND.get(kind, kind)}]")
        last = end
    out.append(text[last:])
    return "".join(out)
