"""Errors are types: the CLI turns them into one-line messages, the stream job into
batch item failures, the skill into spoken fallbacks."""

from __future__ import annotations


class ParleyError(Exception):
    """Base of every error parley raises on purpose."""


class InputError(ParleyError):
    """The caller gave something parley cannot use (bad file, bad field, unknown id)."""


class ConfigError(ParleyError):
    """Configuration is missing or contradictory."""


class ModelError(ParleyError):
    """A model call failed. `retryable` says whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool, code: str = "ModelError") -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class ThrottledError(ModelError):
    """The provider refused the call for quota; retry after a pause."""

    def __init__(self, message: str, *, code: str = "ThrottlingException") -> None:
        super().__init__(message, retryable=True, code=code)


class DeadlineExceeded(ModelError):
    """The call did not finish inside the time it was given."""

    def __init__(self, message: str = "model call exceeded its deadline") -> None:
        super().__init__(message, retryable=True, code="DeadlineExceeded")
