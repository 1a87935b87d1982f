"""A stand-in for issue 6's sync behind the window's ``SyncControl`` seam: it records what the window asks and
lets a test play the states a real sync goes through (online, offline, progress, finished)."""

from __future__ import annotations

from collections.abc import Callable

from app.store import CompanyStore
from app.store.outbox import mark
from ui.context import SyncState


class FakeSync:
    reason = ""

    def __init__(self, store: CompanyStore | None = None):
        self.store = store
        self.current = SyncState(online=True)
        self.subscribers: list[Callable[[SyncState], None]] = []
        self.asked: list[tuple] = []

    @property
    def available(self) -> bool:
        return True

    def state(self) -> SyncState:
        return self.current

    def subscribe(self, callback: Callable[[SyncState], None]) -> Callable[[], None]:
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def play(self, state: SyncState) -> None:
        self.current = state
        for callback in list(self.subscribers):
            callback(state)

    def sync_now(self) -> None:
        self.asked.append(("sync_now",))

    def cancel(self) -> None:
        self.asked.append(("cancel",))

    def edited(self) -> None:
        self.asked.append(("edited",))

    async def retry(self, entry_id: int) -> None:
        self.asked.append(("retry", entry_id))
        if self.store is not None:
            self.store.writer.run(lambda conn: mark(conn, entry_id, "pending", "retry asked", attempt=False))

    async def discard(self, entry_id: int) -> None:
        self.asked.append(("discard", entry_id))

    async def resolve(self, entry_id: int, record: dict) -> None:
        self.asked.append(("resolve", entry_id, record))
