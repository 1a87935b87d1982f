"""The sync engine of one company: push the outbox, then pull the service's changes, reporting as it goes.

Push comes first: an entry left ``in_flight`` by a crash is resolved (looked up) before a pull could
store the record its lost answer created as a second row, and a pull that follows a push leaves the
cache as the service now is. A run that finds the service unreachable stops at once, loses nothing,
and says so in its result (``offline``); the scheduler (``schedule``) backs off and tries again.

One run at a time per company: ``run_once`` while a run is going waits for it and returns its result.
``cancel`` stops a run at its next await; whatever was committed stays committed, and an entry that
was being sent stays ``in_flight`` to be looked up next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Iterable

from app.store import CompanyStore
from app.store.sync_support import SyncSupport
from app.sync.events import Finished, Hub, Started, SyncResult
from app.sync.outcomes import StopRun
from app.sync.pull import FULL_EVERY, Puller
from app.sync.push import Pusher
from providers.base import Entity, Provider

log = logging.getLogger(__name__)

_start_up_frozen = False


def freeze_start_up_objects() -> None:
    """Once per process, before the first run: move every object made so far (modules, the window, the
    workspace; in a benchmark, an in-process sandbox's data) out of the cyclic collector's way. A pull
    makes objects by the hundred thousand, so the collector runs full passes during it, and each one
    walked the whole heap while holding the GIL: 80 to 300 ms in which the window's loop could not run.
    Frozen objects are still freed when their last reference goes; only cycles among them would stay."""
    global _start_up_frozen
    if not _start_up_frozen:
        _start_up_frozen = True
        gc.freeze()


class SyncEngine:
    def __init__(self, store: CompanyStore, provider: Provider, *, company: str = "", hub: Hub | None = None,
                 entities: Iterable[Entity] | None = None, concurrency: int = 8, full_every: float = FULL_EVERY,
                 page_size: int | None = None):
        self.store = store
        self.provider = provider
        self.company = company or store.path.stem
        self.hub = hub or Hub()
        self.support = SyncSupport(store)
        self.entities = None if entities is None else tuple(entities)
        self.concurrency = concurrency
        self.full_every = full_every
        self.page_size = page_size
        self._running: asyncio.Task[SyncResult] | None = None

    @property
    def running(self) -> bool:
        return self._running is not None and not self._running.done()

    async def run_once(self, *, reason: str = "asked", pull: bool = True, push: bool = True,
                       full: bool = False) -> SyncResult:
        if self.running:
            assert self._running is not None
            return await asyncio.shield(self._running)
        self._running = asyncio.create_task(self._run(reason, pull, push, full))
        try:
            return await asyncio.shield(self._running)
        except asyncio.CancelledError:
            # The caller was cancelled: the run goes with it (cancel() is the way to stop it for everyone).
            self._running.cancel()
            raise

    def cancel(self) -> None:
        if self._running is not None:
            self._running.cancel()

    async def wait(self) -> None:
        if self._running is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(self._running, return_exceptions=True)

    async def _run(self, reason: str, pull: bool, push: bool, full: bool) -> SyncResult:
        result = SyncResult(self.company)
        started = time.monotonic()
        freeze_start_up_objects()
        self.hub.emit(Started(self.company, reason))
        try:
            if push:
                await Pusher(self.provider, self.support, self.hub, result, concurrency=self.concurrency).run()
            if pull:
                await Puller(self.provider, self.support, self.hub, result, entities=self.entities,
                             full_every=self.full_every, force_full=full, page_size=self.page_size).run()
        except StopRun as stop:
            result.offline = stop.offline
            result.error = stop.message
            result.retry_after = stop.retry_after
        except asyncio.CancelledError:
            # Ours to cancel (cancel(), or a caller that went away): the run ends with what it has done.
            result.cancelled = True
            result.error = "The sync was cancelled; nothing was lost and it will go on next time."
        except Exception as error:
            log.exception("sync of %s failed", self.company)
            result.error = f"The sync stopped: {error}"
        result.seconds = time.monotonic() - started
        self.hub.emit(Finished(result))
        return result
