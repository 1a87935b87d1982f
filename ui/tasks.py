"""Background work started from widgets, kept alive and accounted for.

asyncio keeps only weak references to tasks, so a task nobody holds may vanish mid-flight; a failure
nobody awaits is only a log line. ``Tasks`` holds every task it starts, hands its result or its error to
the callbacks given, and cancels what is left when its owner goes away.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Tasks:
    def __init__(self, on_error: Callable[[BaseException], None] | None = None):
        self._running: set[asyncio.Task[Any]] = set()
        self._on_error = on_error
        self._closed = False

    def start(self, work: Coroutine[Any, Any, T], *, done: Callable[[T], None] | None = None,
              failed: Callable[[BaseException], None] | None = None, name: str | None = None) -> asyncio.Task[T] | None:
        if self._closed:
            work.close()  # its owner is gone: nothing to show the result in
            return None
        task = asyncio.ensure_future(work)
        if name:
            task.set_name(name)
        self._running.add(task)

        def finished(task: asyncio.Task[T]) -> None:
            self._running.discard(task)
            if task.cancelled() or self._closed:
                return
            error = task.exception()
            if error is not None:
                log.error("background task %s failed", task.get_name(), exc_info=error)
                handler = failed or self._on_error
                if handler is not None:
                    handler(error)
                return
            if done is not None:
                done(task.result())

        task.add_done_callback(finished)
        return task

    def cancel_all(self) -> None:
        for task in list(self._running):
            task.cancel()

    def close(self) -> None:
        """The owner is going away: cancel what runs, start nothing more, deliver no more results."""
        self._closed = True
        self.cancel_all()

    @property
    def busy(self) -> bool:
        return bool(self._running)

    async def wait(self) -> None:
        """For tests and shutdown: until every task started so far has finished."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)


# The window's reads run on these two threads only. The store keeps a read connection per thread, each with
# its own page cache and memory map; the loop's default executor would spread reads over up to ten threads
# (ten connections, hundreds of MB more). Two keep a page read from waiting behind a slow count.
_READERS = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="ledgerdesk-read")


# Reads still running on those threads. A cancelled task does not stop its read (SQLite is mid-step): a
# store must not be closed under it, so whoever closes one first waits for this to reach zero.
_in_flight = 0
_idle = threading.Condition()


def _finished(_future: concurrent.futures.Future) -> None:
    # Called when the read ran, failed, or was cancelled before it started (a task cancelled while it
    # waited for a free thread): every way out counts.
    global _in_flight
    with _idle:
        _in_flight -= 1
        _idle.notify_all()


async def off_thread(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking store work (a page, a count) on a reader thread; the loop, and so the UI, stays free."""
    global _in_flight
    with _idle:
        _in_flight += 1
    try:
        future = _READERS.submit(fn, *args)
    except BaseException:
        with _idle:
            _in_flight -= 1
        raise
    future.add_done_callback(_finished)
    return await asyncio.wrap_future(future)


def reads_finished(timeout: float = 10.0) -> bool:
    """Block until no window read is running (before closing a store). False if they outlast ``timeout``."""
    with _idle:
        return _idle.wait_for(lambda: _in_flight == 0, timeout)


async def reads_done(timeout: float = 10.0) -> bool:
    """``reads_finished`` without blocking the loop."""
    deadline = asyncio.get_running_loop().time() + timeout
    while _in_flight and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.005)
    return not _in_flight
