"""A company's sync as the window drives it: one object over the engine, its scheduler and its conflicts.

It has the shape of ``ui.context.SyncControl`` (the window's seam; ``app`` never imports ``ui``), and
turns the engine's events into one small state snapshot (``ControlState``, the same fields as the
window's ``SyncState``) for the status bar. Callbacks run on the loop's thread, which under qasync is
the UI thread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from app.sync.conflicts import Conflicts
from app.sync.engine import SyncEngine
from app.sync.events import Finished, Progress, Scheduled, Started
from app.sync.schedule import Scheduler

_ACTIVITY = {"push": "Sending changes", "pull": "Reading {entity}"}


@dataclass(frozen=True)
class ControlState:
    online: bool | None = None
    last_sync: dt.datetime | None = None
    running: bool = False
    activity: str = ""
    done: int = 0
    total: int | None = None
    message: str = ""


class EngineControl:
    available = True
    reason = ""

    def __init__(self, engine: SyncEngine, scheduler: Scheduler | None = None):
        self.engine = engine
        self.scheduler = scheduler or Scheduler(engine)
        self.conflicts = Conflicts(engine.store)
        self._state = ControlState()
        self._subscribers: list[Callable[[ControlState], None]] = []
        engine.hub.subscribe(self._on_event)

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()

    def state(self) -> ControlState:
        return self._state

    def subscribe(self, callback: Callable[[ControlState], None]) -> Callable[[], None]:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def sync_now(self) -> None:
        self.scheduler.sync_now()

    def cancel(self) -> None:
        self.engine.cancel()

    def edited(self) -> None:
        self.scheduler.edited()

    async def retry(self, entry_id: int) -> None:
        await self.engine.support.retry(entry_id)
        self.scheduler.edited()

    async def discard(self, entry_id: int) -> None:
        """Drop a refused edit (and the record's later ones): the row goes back to the service's copy."""
        await self.conflicts.discard(entry_id)

    async def resolve(self, entry_id: int, record: dict[str, Any]) -> None:
        await self.conflicts.resolve_with(entry_id, record)
        self.scheduler.edited()

    def _on_event(self, event: object) -> None:
        state = self._state
        if isinstance(event, Started):
            state = replace(state, running=True, activity="", done=0, total=None)
        elif isinstance(event, Progress):
            activity = _ACTIVITY.get(event.phase, event.phase).format(entity=event.entity.replace("_", " "))
            state = replace(state, running=True, activity=activity, done=event.done, total=event.total)
        elif isinstance(event, Finished):
            result = event.result
            online = state.online if result.cancelled else not result.offline
            state = replace(state, running=False, activity="", done=0, total=None, online=online,
                            last_sync=dt.datetime.now(dt.UTC) if result.ok else state.last_sync,
                            message=result.error or "; ".join(result.problems))
        elif isinstance(event, Scheduled) and event.state == "offline" and event.next_run_in is not None:
            state = replace(state, message=f"{state.message} Trying again in {event.next_run_in:.0f} s.".strip())
        else:
            return
        self._state = state
        for callback in list(self._subscribers):
            callback(state)
