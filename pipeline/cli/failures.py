"""Errors from outside parley that a setting or the environment causes, as one line.

`main()` asks `one_line()` about any exception a command lets through: settings that
fail validation (`PARLEY_MODEL_RPM=-1`), AWS without a region or credentials, an
endpoint that does not answer, a table that does not exist, credentials AWS refuses.
Each is the user's to fix, so it gets one line and exit code 2 like any bad input;
anything else is a bug and keeps its traceback. botocore and pydantic are looked up
only if already imported: `parley --help` loads neither.
"""

from __future__ import annotations

import sys
from typing import Any

# AWS error codes that mean "your setting is wrong", not "try again".
SETTING_ERROR_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "ExpiredTokenException",
        "NoSuchBucket",
    }
)
_MAX_VALUE_CHARS = 40
# Settings classes by their validation error's title, with their environment prefix.
SETTINGS_PREFIXES = {"Settings": "PARLEY_", "ReviewSettings": "PARLEY_REVIEW_"}


def one_line(exc: BaseException) -> str | None:
    """The message to print for `exc`, or None if it is not the user's to fix."""
    return _pydantic_line(exc) or _botocore_line(exc)


def _pydantic_line(exc: BaseException) -> str | None:
    # Only the settings: other models validate input, which parley reports as InputError.
    pydantic_core = sys.modules.get("pydantic_core")
    if pydantic_core is None or not isinstance(exc, pydantic_core.ValidationError):
        return None
    errors = exc.errors(include_url=False)
    prefix = SETTINGS_PREFIXES.get(exc.title)
    if prefix is None or not errors:
        return None
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{_setting(prefix, first)}: {first['msg']}{more}"


def _setting(prefix: str, error: Any) -> str:
    """`PARLEY_MODEL_RPM='-1'`: the variable and, if short, the value it had."""
    name = prefix + "_".join(str(part) for part in error.get("loc", ())).upper()
    value = error.get("input")
    if isinstance(value, str):
        shown = value if len(value) <= _MAX_VALUE_CHARS else value[:_MAX_VALUE_CHARS] + "…"
        return f"{name}={shown!r}"
    return name


def _botocore_line(exc: BaseException) -> str | None:
    if "botocore" not in sys.modules:
        return None
    from botocore import exceptions as boto

    if isinstance(exc, boto.NoRegionError):
        return "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region)"
    if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
        return (
            "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (any values for a local endpoint such as moto)"
        )
    if isinstance(exc, boto.ProfileNotFound):
        return str(exc)
    if isinstance(exc, boto.EndpointConnectionError | boto.ConnectTimeoutError):
        endpoint = exc.kwargs.get("endpoint_url", "the AWS endpoint")
        return f"cannot reach {endpoint}: is the service running and the URL right?"
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        if code in SETTING_ERROR_CODES:
            message = " ".join(str(error.get("Message") or code).split())
            return f"{exc.operation_name}: {code}: {message}"
    return None
