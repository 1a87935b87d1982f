"""The window's handle on sync: a status snapshot from the engine's events, and the outbox actions."""

from __future__ import annotations

import asyncio

from app.store import tables
from app.sync.control import EngineControl
from app.sync.engine import SyncEngine
from app.sync.schedule import Scheduler
from providers.base import Entity
from tests.sync.conftest import run


def test_the_status_follows_a_run_and_edits_go_out_by_themselves(accountingsuite, store):
    harness = accountingsuite.company("1001")
    harness.faults()

    async def scenario():
        async with harness.client() as provider:
            engine = SyncEngine(store, provider)
            control = EngineControl(engine, Scheduler(engine, interval=60, debounce=0.01))
            states = []
            control.subscribe(states.append)
            control.start()
            for _ in range(1000):
                await asyncio.sleep(0.01)
                if control.state().last_sync:
                    break
            customer = store.get(tables.CUSTOMERS, 1)
            store.save(tables.CUSTOMERS, customer.model_copy(update={"phone": "via the control"}))
            control.edited()
            for _ in range(1000):
                await asyncio.sleep(0.01)
                # the run that sends the edit goes on to pull; stopping mid-pull would report a cancel
                if not store.outbox_entries() and not control.state().running:
                    break
            await control.stop()
            return states
    states = run(scenario())
    assert store.outbox_entries() == []
    assert any(s.running and s.activity == "Reading invoices" for s in states)
    assert states[-1].online is True and not states[-1].running and states[-1].message == ""


def test_discard_puts_back_the_services_copy_and_resolve_sends_the_chosen_version(accountingsuite, store):
    harness = accountingsuite.company("1001")
    harness.faults()
    assert run(harness.sync(store)).ok
    taken = store.get(tables.CUSTOMERS, 3).name
    before = store.get(tables.CUSTOMERS, 4)
    store.save(tables.CUSTOMERS, before.model_copy(update={"name": taken}))  # refused: a duplicate name
    assert run(harness.sync(store)).failures == 1

    async def act(method, *args):
        async with harness.client() as provider:
            engine = SyncEngine(store, provider)
            await getattr(EngineControl(engine), method)(*args)
    (refused,) = store.outbox_entries()
    run(act("discard", refused.id))
    assert store.outbox_entries() == [] and store.get(tables.CUSTOMERS, 4).name == before.name

    local = store.get(tables.CUSTOMERS, 5)
    store.save(tables.CUSTOMERS, local.model_copy(update={"phone": "mine", "email": "mine@example.com"}))

    async def theirs():
        async with harness.client() as remote:
            current = await remote.get(Entity.CUSTOMERS, local.remote_id)
            await remote.update(Entity.CUSTOMERS, current.model_copy(update={"phone": "theirs"}))
    run(theirs())
    assert run(harness.sync(store)).conflicts == 1
    (conflict,) = store.outbox_entries()
    chosen = {**store.get(tables.CUSTOMERS, 5).model_dump(mode="json"), "phone": "theirs", "email": "both@example.com"}
    run(act("resolve", conflict.id, chosen))
    assert run(harness.sync(store)).pushed == 1 and store.outbox_entries() == []
    there = next(c for c in run(harness.everything(Entity.CUSTOMERS)) if c.remote_id == local.remote_id)
    assert (there.phone, there.email) == ("theirs", "both@example.com")
