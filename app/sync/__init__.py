"""Sync between a company's store and its provider: pull, push the outbox exactly once, conflicts, progress.

No Qt here: the UI subscribes to ``events.Hub`` and drives ``schedule.Scheduler`` from its own loop.
"""

from app.sync.conflicts import ConflictCase, Conflicts
from app.sync.engine import SyncEngine
from app.sync.events import Finished, Hub, Progress, Scheduled, Started, SyncResult

__all__ = ["ConflictCase", "Conflicts", "Finished", "Hub", "Progress", "Scheduled", "Started", "SyncEngine",
           "SyncResult"]
