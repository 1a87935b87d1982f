"""Sync between a company's store and its provider: pull, push the outbox exactly once, conflicts, progress.

No Qt here: the UI subscribes to ``events.Hub`` (or drives ``control.EngineControl``, which has the shape
of the window's ``SyncControl``), and ``schedule.Scheduler`` runs the engine on the loop it is given.
"""

from app.sync.conflicts import ConflictCase, Conflicts
from app.sync.control import ControlState, EngineControl
from app.sync.engine import SyncEngine
from app.sync.events import Finished, Hub, Progress, Scheduled, Started, SyncResult
from app.sync.schedule import Scheduler

__all__ = ["ConflictCase", "Conflicts", "ControlState", "EngineControl", "Finished", "Hub", "Progress",
           "Scheduled", "Scheduler", "Started", "SyncEngine", "SyncResult"]
