"""One writer per company file: a dedicated thread that owns the only read-write connection.

Every change to a company goes through here, one job at a time, so SQLite never sees two writers
and the UI thread never waits on a bulk write (WAL lets readers go on while a page is stored).
Callers on the asyncio loop ``await`` a job; scripts and tests may block on it instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from app.store.database import open_company_file

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], T]


class Writer:
    def __init__(self, path: Path, *, create: bool = False):
        self.path = path
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self._conn: sqlite3.Connection | None = None
        # Open (and migrate) on the writer thread itself: the connection never leaves it.
        self._executor.submit(self._open, create).result()

    def _open(self, create: bool) -> None:
        self._conn = open_company_file(self.path, create=create)
        self._thread = threading.current_thread()

    def submit(self, job: Job[T]) -> concurrent.futures.Future[T]:
        return self._executor.submit(self._run, job)

    def _run(self, job: Job[T]) -> T:
        assert self._conn is not None
        return job(self._conn)

    def run(self, job: Job[T]) -> T:
        """Run a job and wait for it (scripts, tests, and work already off the UI thread)."""
        return self.submit(job).result()

    async def run_async(self, job: Job[T]) -> T:
        return await asyncio.wrap_future(self.submit(job))

    def close(self) -> None:
        def _close(conn: sqlite3.Connection) -> None:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")
            conn.close()

        if self._conn is not None:
            self.submit(_close).result()
            self._conn = None
        self._executor.shutdown(wait=True)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error.

    ``durable`` edits are fsynced at commit (synchronous=FULL): a user's edit survives power loss.
    Bulk pages from a pull use NORMAL: WAL keeps them safe from a crash, and a page lost to a power
    cut is simply pulled again.
    """
    conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
