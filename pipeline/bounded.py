"""Reading an input file with a size bound: never more than the limit plus one byte.

A size check after `read_bytes()` comes too late: `/dev/zero` or a mistyped
multi-gigabyte path fills memory first. Reading limit + 1 bytes tells "too large"
apart from "exactly the limit" without reading the rest.
"""

from __future__ import annotations

from pathlib import Path

from .errors import InputError

# A conversations file for `parley moderate` (a dataset of thousands fits in this).
MAX_CONVERSATIONS_FILE_BYTES = 64 * 1024 * 1024
# A stream event for `parley stream replay`: Lambda's synchronous payload limit (6 MB).
MAX_EVENT_FILE_BYTES = 6 * 1024 * 1024


def read_bounded(path: Path, limit: int) -> bytes:
    """The file's bytes, or InputError if it is larger than `limit` or unreadable."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > limit:
        raise InputError(f"{path} is larger than {limit:,} bytes; split it")
    return data
