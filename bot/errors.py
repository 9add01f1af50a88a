"""The two kinds of failure every adapter translates its errors into (DESIGN principle 4)."""

from __future__ import annotations


class PressbotError(Exception):
    """Base class for pressbot's own errors."""


class TransientError(PressbotError):
    """Worth retrying later; `retry_after` is the wait (seconds) the remote asked for, if any."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(PressbotError):
    """Retrying will not help: record it and move on."""


class BadInput(PressbotError):
    """Input from a user or a file that cannot be used; the message names what is wrong."""
