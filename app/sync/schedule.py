"""When a company syncs by itself: on start, on a timer, shortly after edits, and when the service is back.

- After an edit, a push-only run follows ``debounce`` seconds after the last of a burst of edits, so
  typing a form does not send a request per keystroke.
- A run that finds the service unreachable (``offline``) backs off exponentially with jitter, from
  ``backoff_min`` to ``backoff_max`` (longer if the service asked, ``Retry-After``); edits made while
  offline wait for the next try rather than hammering. ``online()`` (the OS says the network is back, or
  the user presses Sync) tries at once. The first run that gets through returns to the normal timer.
- ``stop()`` cancels a running sync (nothing committed is lost; an entry being sent is looked up next
  time) and ends the loop: call it when the app quits or the company is closed.

The scheduler only awaits; it never blocks the loop, and knows nothing of Qt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

from app.sync.engine import SyncEngine
from app.sync.events import Scheduled, SyncResult

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, engine: SyncEngine, *, interval: float = 300.0, debounce: float = 2.0,
                 backoff_min: float = 5.0, backoff_max: float = 300.0, jitter: Callable[[], float] = random.random):
        self.engine = engine
        self.interval = interval
        self.debounce = debounce
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self._jitter = jitter
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._edit_due: float | None = None
        self._asked: str | None = None
        self.failures = 0
        self.last: SyncResult | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name=f"sync-{self.engine.company}")

    def edited(self) -> None:
        """A local edit was committed: push it soon."""
        self._edit_due = asyncio.get_running_loop().time() + self.debounce
        self._wake.set()

    def online(self) -> None:
        """The service may be reachable again (or the user asked): sync now, whatever the back-off."""
        self._asked = "online"
        self._wake.set()

    def sync_now(self) -> None:
        self._asked = "asked"
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self.engine.cancel()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.engine.hub.emit(Scheduled(self.engine.company, "stopped", None))

    async def _loop(self) -> None:
        reason = "start"
        while not self._stopping:
            try:
                result = await self.engine.run_once(reason=reason, pull=reason != "edit")
            except Exception:  # the engine reports its own failures; this is a bug, and must not end syncing
                log.exception("sync run of %s failed", self.engine.company)
                result = SyncResult(self.engine.company, error="internal error")
            self.last = result
            if self._stopping:
                break
            offline = result.offline
            if offline:
                self.failures += 1
                ceiling = min(self.backoff_max, self.backoff_min * 2 ** (self.failures - 1))
                delay = ceiling / 2 + self._jitter() * ceiling / 2
                if result.retry_after:
                    delay = max(delay, result.retry_after)
            else:
                self.failures = 0
                delay = self.interval
            self.engine.hub.emit(Scheduled(self.engine.company, "offline" if offline else "idle", delay))
            reason = await self._wait(delay, offline)

    async def _wait(self, delay: float, offline: bool) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while True:
            self._wake.clear()  # before looking, so that a wake-up arriving meanwhile is not lost
            if self._stopping:
                return "stop"
            if self._asked is not None:
                asked, self._asked = self._asked, None
                self._edit_due = None
                return asked
            now = loop.time()
            edit_due = None if offline else self._edit_due
            if edit_due is not None and now >= edit_due:
                self._edit_due = None
                return "edit"
            if now >= deadline:
                self._edit_due = None  # a whole run pushes the edits too
                return "retry" if offline else "timer"
            until = deadline if edit_due is None else min(deadline, edit_due)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), until - now)
