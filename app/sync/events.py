"""What a sync tells whoever listens: progress while it runs, a result when it ends, its scheduling state.

Plain dataclasses and a tiny hub with no Qt: the UI subscribes and marshals onto its own thread (with
qasync the loop *is* the UI thread, so a subscriber may touch widgets directly). A subscriber that
raises is logged and dropped from that one emission; it never breaks a sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    company: str
    phase: str  # "push" (the outbox, in-flight entries after a crash looked up first), "pull"
    entity: str  # what is being worked on ("customers", "invoices", "outbox")
    done: int
    total: int | None  # None when the service does not say
    rate: float  # records (or entries) a second, in this phase and entity so far


@dataclass
class SyncResult:
    company: str
    pulled: int = 0  # rows written or removed by the pull (unchanged records are not counted)
    received: int = 0  # records the service sent
    deleted: int = 0  # rows removed because the service no longer has them
    pushed: int = 0  # outbox entries the service now has
    conflicts: int = 0  # entries that became conflicts in this run
    failures: int = 0  # entries the service refused in this run
    offline: bool = False  # the service could not be reached: the run stopped early, nothing lost
    cancelled: bool = False
    error: str | None = None  # a sentence for the user when the run stopped early
    retry_after: float | None = None  # the service asked to be left alone this long
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)  # lists that could not be read (the run went on)

    @property
    def ok(self) -> bool:
        return not (self.offline or self.cancelled or self.error)


@dataclass(frozen=True)
class Started:
    company: str
    reason: str  # "start", "timer", "edit", "online", "asked"


@dataclass(frozen=True)
class Finished:
    result: SyncResult


@dataclass(frozen=True)
class Scheduled:
    """What the scheduler will do next: for a status bar ("offline, retrying in 40 s")."""

    company: str
    state: str  # "idle", "offline", "stopped"
    next_run_in: float | None


Event = Progress | Started | Finished | Scheduled


class Hub:
    """Subscribe to events; ``emit`` calls every subscriber in order, on the emitter's thread."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Any], None]] = []

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)
        return unsubscribe

    def emit(self, event: Any) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("a sync event subscriber failed on %s", type(event).__name__)


class Collector:
    """Keeps every event: for tests and the headless command."""

    def __init__(self, hub: Hub | None = None) -> None:
        self.events: list[Any] = []
        if hub is not None:
            hub.subscribe(self.events.append)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]
