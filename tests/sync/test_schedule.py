"""The scheduler: runs on start, on a timer, after edits (debounced), backs off while offline, stops cleanly."""

from __future__ import annotations

import asyncio

from app.store import tables
from app.sync.engine import SyncEngine
from app.sync.events import Collector, Hub, Scheduled, SyncResult
from app.sync.schedule import Scheduler
from tests.sync.conftest import run


class FakeEngine:
    """Records what it was asked to do; offline while ``down`` is true."""

    def __init__(self, down: bool = False, seconds: float = 0.0):
        self.company = "fake"
        self.hub = Hub()
        self.runs: list[tuple[str, bool]] = []
        self.down = down
        self.seconds = seconds
        self.cancelled = 0

    async def run_once(self, *, reason: str, pull: bool = True, push: bool = True, full: bool = False) -> SyncResult:
        self.runs.append((reason, pull))
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            return SyncResult(self.company, cancelled=True)
        return SyncResult(self.company, offline=self.down, error="down" if self.down else None)

    def cancel(self) -> None:
        self.cancelled += 1


def test_runs_on_start_on_the_timer_and_once_after_a_burst_of_edits():
    async def scenario():
        engine = FakeEngine()
        scheduler = Scheduler(engine, interval=0.3, debounce=0.05)
        scheduler.start()
        await asyncio.sleep(0.02)
        for _ in range(5):  # a burst of keystrokes: one push-only run after the last
            scheduler.edited()
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.12)
        after_edits = list(engine.runs)
        await asyncio.sleep(0.3)
        await scheduler.stop()
        return engine, after_edits
    engine, after_edits = run(scenario())
    assert after_edits == [("start", True), ("edit", False)]
    assert ("timer", True) in engine.runs


def test_backs_off_while_offline_and_resumes_when_reachable():
    async def scenario():
        engine = FakeEngine(down=True)
        seen = Collector(engine.hub)
        scheduler = Scheduler(engine, interval=10, debounce=0.01, backoff_min=0.04, backoff_max=0.16,
                              jitter=lambda: 1.0)
        scheduler.start()
        await asyncio.sleep(0.5)
        tries_offline = len(engine.runs)
        scheduler.edited()  # while offline an edit waits for the next try
        await asyncio.sleep(0.03)
        assert engine.runs[-1][0] != "edit"
        engine.down = False
        scheduler.online()
        await asyncio.sleep(0.05)
        await scheduler.stop()
        return engine, seen, tries_offline
    engine, seen, tries = run(scenario())
    # 0.04, 0.08, 0.16, 0.16 ...: a handful of tries in half a second, not hundreds.
    assert 3 <= tries <= 6
    delays = [e.next_run_in for e in seen.of(Scheduled) if e.state == "offline"]
    assert delays[:3] == [0.04, 0.08, 0.16] and max(delays) == 0.16
    assert engine.runs[-1] == ("online", True)
    assert [e.state for e in seen.of(Scheduled)][-2:] == ["idle", "stopped"]


def test_stop_cancels_a_running_sync_and_ends_the_loop():
    async def scenario():
        engine = FakeEngine(seconds=10)
        scheduler = Scheduler(engine)
        scheduler.start()
        await asyncio.sleep(0.02)
        await asyncio.wait_for(scheduler.stop(), 1)
        return engine, scheduler
    engine, scheduler = run(scenario())
    assert engine.cancelled == 1 and not scheduler.running


def test_an_offline_edit_goes_out_by_itself_when_the_service_answers_again(accountingsuite, store):
    harness = accountingsuite.company("1001")
    assert run(harness.sync(store)).ok
    harness.faults(error_rate=1.0)

    async def scenario():
        async with harness.client() as provider:
            engine = SyncEngine(store, provider)
            scheduler = Scheduler(engine, interval=60, debounce=0.01, backoff_min=0.05, backoff_max=0.1)
            scheduler.start()
            await asyncio.sleep(0.05)
            store.save(tables.CUSTOMERS, store.get(tables.CUSTOMERS, 8).model_copy(update={"phone": "by itself"}))
            scheduler.edited()
            for _ in range(250):
                await asyncio.sleep(0.02)
                if scheduler.failures >= 2:
                    break
            assert scheduler.failures >= 2 and store.outbox_counts()["pending"] == 1
            harness.faults()
            for _ in range(100):
                await asyncio.sleep(0.02)
                if not store.outbox_entries():
                    break
            await scheduler.stop()
    try:
        run(scenario())
    finally:
        harness.faults()
    assert store.outbox_entries() == []
