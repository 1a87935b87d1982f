"""How a provider's typed errors steer a push: stop the run, refuse the edit, or look the outcome up."""

from __future__ import annotations

from providers.base import (
    AuthError,
    BadResponse,
    ProviderError,
    RateLimited,
    Unavailable,
    UnknownOutcome,
)


class StopRun(Exception):
    """Nothing more can be sent in this run; every entry keeps its state (an ``in_flight`` one is
    looked up first next time)."""

    def __init__(self, message: str, *, offline: bool, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.offline = offline
        self.retry_after = retry_after


def stop_for(error: BaseException) -> StopRun | None:
    """The run-stopping meaning of an error, or None if it concerns this one entry only."""
    if isinstance(error, RateLimited):
        return StopRun(error.message, offline=True, retry_after=error.retry_after)
    if isinstance(error, UnknownOutcome):
        return None
    if isinstance(error, Unavailable):
        return StopRun(error.message, offline=True)
    if isinstance(error, AuthError):
        return StopRun(f"{error.message} Sign in again to go on syncing.", offline=False)
    return None


def unknown_outcome(error: BaseException) -> bool:
    """A write whose answer was lost or unreadable: it may have happened."""
    return isinstance(error, UnknownOutcome | BadResponse)


def refusal(error: BaseException) -> str | None:
    """The service's own sentence when it refused the edit (kept on the entry for the user)."""
    if isinstance(error, ProviderError) and not isinstance(error, Unavailable | RateLimited | AuthError | BadResponse):
        return error.message or str(error)
    return None
