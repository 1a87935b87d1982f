"""The sync engine against the AccountingSuite sandbox over loopback, through the real client.

AccountingSuite has no change feed and no paging: every pull is a whole re-list, compared by payload
hash, with deletion detection. Each test uses its own database of the module's sandbox or makes its
own records, so tests do not depend on each other's order.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from app.domain import Customer, Invoice, InvoiceLine
from app.store import CompanyStore, tables
from app.sync.conflicts import Conflicts
from app.sync.engine import SyncEngine
from app.sync.events import Collector, Finished, Hub, Progress, Started
from providers.base import Entity
from tests.sync.compare import cache_matches, integrity, stored
from tests.sync.conftest import run

TINY, SMALL = "1001", "1002"


@pytest.fixture
def tiny(accountingsuite):
    accountingsuite.faults()
    yield accountingsuite.company(TINY)
    accountingsuite.faults()


@pytest.fixture
def small(accountingsuite):
    accountingsuite.faults()
    yield accountingsuite.company(SMALL)
    accountingsuite.faults()


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def service(harness) -> tuple[list, list]:
    return run(harness.everything(Entity.CUSTOMERS)), run(harness.everything(Entity.INVOICES))


def customer_named(store: CompanyStore, name: str) -> Customer:
    row = store.reader().execute("SELECT id FROM customers WHERE name = ?", (name,)).fetchone()
    assert row is not None, name
    return store.get(tables.CUSTOMERS, row[0])


async def remote_create_customer(harness, name: str) -> Customer:
    async with harness.client() as remote:
        return await remote.create(Entity.CUSTOMERS, Customer(name=name, phone="1"),
                                   idempotency_key=uuid.uuid4().hex)


async def remote_update_customer(harness, remote_id: str, **changes) -> Customer:
    async with harness.client() as remote:
        current = await remote.get(Entity.CUSTOMERS, remote_id)
        return await remote.update(Entity.CUSTOMERS, current.model_copy(update=changes))


async def remote_delete(harness, entity: Entity, remote_id: str) -> None:
    async with harness.client() as remote:
        await remote.delete(entity, remote_id)


async def an_item_code(harness) -> str:
    async with harness.client() as remote:
        async for page in remote.list(Entity.INVOICES):
            document = await remote.get(Entity.INVOICES, page.items[0].remote_id)
            return next(line.item_code for line in document.lines if line.item_code)
    raise AssertionError("no invoices")


# --- pull ----------------------------------------------------------------------------------------------

def test_a_full_pull_equals_the_sandbox(small, store):
    hub = Hub()
    seen = Collector(hub)
    result = run(small.sync(store, hub))
    assert result.ok and result.pushed == 0
    customers, invoices = service(small)
    assert len(customers) == 40 and len(invoices) >= 390
    assert result.received == len(customers) + len(invoices)
    assert cache_matches(store, customers, invoices) == []
    # Every document is linked to its customer's row.
    assert store.reader().execute("SELECT count(*) FROM invoices WHERE customer_id IS NULL").fetchone()[0] == 0
    # Progress per list, a start and a result.
    progress = seen.of(Progress)
    assert {p.entity for p in progress} == {"customers", "invoices"}
    assert progress[-1].done == progress[-1].total == len(invoices) and progress[-1].rate > 0
    assert len(seen.of(Started)) == 1 and seen.of(Finished)[0].result is result
    integrity(store)


def test_a_second_pull_writes_nothing_and_a_remote_change_only_that(tiny, store):
    assert run(tiny.sync(store)).ok
    again = run(tiny.sync(store))
    assert again.ok and again.pulled == 0
    name = store.get(tables.CUSTOMERS, 1).remote_id
    run(remote_update_customer(tiny, name, phone="0161 496 0000"))
    changed = run(tiny.sync(store))
    assert changed.pulled == 1 and store.get(tables.CUSTOMERS, 1).phone == "0161 496 0000"


def test_deletions_at_the_service_are_detected(tiny, store):
    doomed = run(remote_create_customer(tiny, unique("Doomed Ltd")))
    assert run(tiny.sync(store)).ok
    assert store.get_by_remote_id(tables.CUSTOMERS, doomed.remote_id) is not None
    run(remote_delete(tiny, Entity.CUSTOMERS, doomed.remote_id))
    result = run(tiny.sync(store))
    assert result.deleted == 1
    assert store.get_by_remote_id(tables.CUSTOMERS, doomed.remote_id) is None
    assert cache_matches(store, *service(tiny)) == []


# --- push ----------------------------------------------------------------------------------------------

def test_an_offline_edit_is_pushed_exactly_once(tiny, store):
    assert run(tiny.sync(store)).ok
    customer = store.get(tables.CUSTOMERS, 2)
    store.save(tables.CUSTOMERS, customer.model_copy(update={"email": "accounts@offline.example"}))
    puts_before = len(tiny.requests("PUT", customer.remote_id))
    result = run(tiny.sync(store))
    assert result.ok and result.pushed == 1
    assert run(tiny.sync(store)).pushed == 0
    assert len(tiny.requests("PUT", customer.remote_id)) == puts_before + 1
    assert store.outbox_counts() == {"pending": 0, "failed": 0, "conflict": 0}
    assert cache_matches(store, *service(tiny)) == []


def test_creates_updates_and_deletes_reach_the_service_in_order(tiny, store):
    assert run(tiny.sync(store)).ok
    item = run(an_item_code(tiny))
    name = unique("Fresh Customer")
    customer = store.save(tables.CUSTOMERS, Customer(name=name, email="fresh@example.com"))
    # The document names a customer that is not at the service yet: it waits for its creation.
    invoice = store.save(tables.INVOICES, Invoice(customer_local_id=customer.local_id, date=dt.date(2026, 10, 1),
                                                  reference="first", lines=[InvoiceLine(item_code=item, quantity=2,
                                                                                        unit_price="12.50")]))
    store.save(tables.INVOICES, store.get(tables.INVOICES, invoice.local_id).model_copy(update={"reference": "second"}))
    throwaway = store.save(tables.CUSTOMERS, Customer(name=unique("Throwaway")))
    result = run(tiny.sync(store))
    assert result.ok and result.pushed == 4, result
    store.delete(tables.CUSTOMERS, throwaway.local_id)
    assert run(tiny.sync(store)).pushed == 1
    customers, invoices = service(tiny)
    assert [c.name for c in customers].count(name) == 1
    mine = [d for d in invoices if d.reference == "second" and d.customer_remote_id ==
            store.get(tables.CUSTOMERS, customer.local_id).remote_id]
    assert len(mine) == 1 and mine[0].gross == 25  # AccountingSuite's tax is per document: none here
    assert not [c for c in customers if c.name == throwaway.name]
    assert cache_matches(store, customers, invoices) == []


def test_a_refusal_fails_the_entry_with_the_services_words_and_keeps_the_edit(tiny, store):
    assert run(tiny.sync(store)).ok
    taken = store.get(tables.CUSTOMERS, 3).name
    store.save(tables.CUSTOMERS, store.get(tables.CUSTOMERS, 4).model_copy(update={"name": taken}))
    result = run(tiny.sync(store))
    assert result.failures == 1 and result.pushed == 0
    (entry,) = store.outbox_entries()
    assert entry.state == "failed" and entry.message == "[company_name] : The company already exists."
    assert store.get(tables.CUSTOMERS, 4).name == taken  # the user's edit is kept
    # A later edit of the record supersedes the refused one.
    store.save(tables.CUSTOMERS, store.get(tables.CUSTOMERS, 4).model_copy(update={"name": unique("Renamed")}))
    fixed = run(tiny.sync(store))
    assert fixed.pushed == 1 and store.outbox_entries() == []
    assert cache_matches(store, *service(tiny)) == []


# --- conflicts -----------------------------------------------------------------------------------------

def test_an_edit_against_a_remotely_changed_record_is_a_conflict_with_both_versions(tiny, store):
    assert run(tiny.sync(store)).ok
    local = store.get(tables.CUSTOMERS, 5)
    store.save(tables.CUSTOMERS, local.model_copy(update={"phone": "mine 1"}))
    run(remote_update_customer(tiny, local.remote_id, phone="theirs 1"))
    result = run(tiny.sync(store))
    assert result.conflicts == 1 and result.pushed == 0
    (case,) = Conflicts(store).cases()
    assert case.mine["phone"] == "mine 1" and case.theirs["phone"] == "theirs 1"
    assert case.base["phone"] == local.phone
    assert [(f.name, f.mine, f.theirs, f.base) for f in case.fields] == [("phone", "mine 1", "theirs 1", local.phone)]
    # The pull kept the user's edit in the row, the service's copy beside it.
    assert store.get(tables.CUSTOMERS, 5).phone == "mine 1"
    assert store.record_state(tables.CUSTOMERS, 5) == "conflict"


@pytest.mark.parametrize("choice", ["mine", "theirs", "merge"])
def test_conflicts_resolve(tiny, store, choice):
    assert run(tiny.sync(store)).ok
    local = store.get(tables.CUSTOMERS, 6)
    store.save(tables.CUSTOMERS, local.model_copy(update={"phone": f"mine {choice}", "email": "mine@example.com"}))
    run(remote_update_customer(tiny, local.remote_id, phone=f"theirs {choice}"))
    assert run(tiny.sync(store)).conflicts == 1
    (case,) = Conflicts(store).cases()
    conflicts = Conflicts(store)
    if choice == "mine":
        run(conflicts.keep_mine(case.entry.id))
        expected = (f"mine {choice}", "mine@example.com")
    elif choice == "theirs":
        run(conflicts.take_theirs(case.entry.id))
        expected = (f"theirs {choice}", local.email)
        assert store.get(tables.CUSTOMERS, 6).phone == f"theirs {choice}"  # at once, before any sync
    else:
        with pytest.raises(ValueError, match="Phone"):
            run(conflicts.merge(case.entry.id, {}))  # changed on both sides: must be chosen
        run(conflicts.merge(case.entry.id, {"phone": "theirs"}))  # the e-mail, changed here only, stays mine
        expected = (f"theirs {choice}", "mine@example.com")
    result = run(tiny.sync(store))
    assert result.ok and result.conflicts == 0 and store.outbox_entries() == []
    customers, invoices = service(tiny)
    there = next(c for c in customers if c.remote_id == local.remote_id)
    assert (there.phone, there.email) == expected
    assert cache_matches(store, customers, invoices) == []


def test_a_local_delete_of_a_remotely_changed_record_is_a_conflict(tiny, store):
    victim = run(remote_create_customer(tiny, unique("Contested")))
    assert run(tiny.sync(store)).ok
    local = store.get_by_remote_id(tables.CUSTOMERS, victim.remote_id)
    store.delete(tables.CUSTOMERS, local.local_id)
    run(remote_update_customer(tiny, victim.remote_id, phone="changed there"))
    result = run(tiny.sync(store))
    assert result.conflicts == 1
    # The pull did not bring the deleted row back while its deletion waits.
    assert store.get_by_remote_id(tables.CUSTOMERS, victim.remote_id) is None
    (case,) = Conflicts(store).cases()
    assert case.mine is None and case.theirs["phone"] == "changed there"
    run(Conflicts(store).take_theirs(case.entry.id))
    assert store.get_by_remote_id(tables.CUSTOMERS, victim.remote_id).phone == "changed there"
    assert run(tiny.sync(store)).ok and store.outbox_entries() == []
    assert cache_matches(store, *service(tiny)) == []


def test_an_edit_of_a_record_deleted_at_the_service_is_a_conflict_and_keep_mine_recreates_it(tiny, store):
    victim = run(remote_create_customer(tiny, unique("Vanishing")))
    assert run(tiny.sync(store)).ok
    local = store.get_by_remote_id(tables.CUSTOMERS, victim.remote_id)
    store.save(tables.CUSTOMERS, local.model_copy(update={"phone": "still mine"}))
    run(remote_delete(tiny, Entity.CUSTOMERS, victim.remote_id))
    result = run(tiny.sync(store))
    assert result.conflicts == 1 and result.deleted == 0  # the row with an open edit stays
    (case,) = Conflicts(store).cases()
    assert case.theirs is None and case.mine["phone"] == "still mine"
    run(Conflicts(store).keep_mine(case.entry.id))
    assert run(tiny.sync(store)).pushed == 1
    customers, invoices = service(tiny)
    again = [c for c in customers if c.name == victim.name]
    assert len(again) == 1 and again[0].phone == "still mine" and again[0].remote_id != victim.remote_id
    assert cache_matches(store, customers, invoices) == []


# --- faults and crashes --------------------------------------------------------------------------------

def test_a_create_whose_connection_drops_after_commit_is_not_duplicated(tiny, store):
    assert run(tiny.sync(store)).ok
    name = unique("Dropped Answer")
    store.save(tables.CUSTOMERS, Customer(name=name))
    # Every answer is lost: the create happens, its look-up cannot get through, the run stops offline.
    tiny.faults(drop_after_rate=1.0)
    result = run(tiny.sync(store))
    assert result.offline and result.pushed == 0
    (entry,) = store.outbox_entries()
    assert entry.state == "in_flight"
    tiny.faults()
    posts = len(tiny.requests("POST", "companies"))
    result = run(tiny.sync(store))
    assert result.ok and result.pushed == 1
    assert len(tiny.requests("POST", "companies")) == posts  # found by its key, not sent again
    customers, invoices = service(tiny)
    assert [c.name for c in customers].count(name) == 1
    assert cache_matches(store, customers, invoices) == []


def test_under_random_faults_every_edit_lands_exactly_once(tiny, store):
    assert run(tiny.sync(store)).ok
    names = [unique("Faulty") for _ in range(12)]
    for name in names:
        store.save(tables.CUSTOMERS, Customer(name=name))
    for local_id in (1, 2, 3):
        store.save(tables.CUSTOMERS, store.get(tables.CUSTOMERS, local_id).model_copy(update={"phone": f"f{local_id}"}))
    tiny.sandbox.stack.faults.reseed(7)
    tiny.faults(error_rate=0.2, drop_after_rate=0.15, drop_before_rate=0.05, throttle_rate=0.1)
    for _ in range(30):
        run(tiny.sync(store))
        if not store.outbox_entries():
            break
    tiny.faults()
    assert run(tiny.sync(store)).ok and store.outbox_entries() == []
    customers, invoices = service(tiny)
    for name in names:
        assert [c.name for c in customers].count(name) == 1
    for local_id in (1, 2, 3):
        assert store.get(tables.CUSTOMERS, local_id).phone == f"f{local_id}"
    assert cache_matches(store, customers, invoices) == []


def test_an_entry_left_in_flight_by_a_crash_is_looked_up_before_anything_is_sent(tiny, tmp_path):
    path = tmp_path / "crashed.sqlite"
    with CompanyStore.create(path) as store:
        assert run(tiny.sync(store)).ok
        name = unique("Crashed Mid-Send")
        store.save(tables.CUSTOMERS, Customer(name=name))
        (entry,) = store.outbox_entries()

        async def send_then_crash():
            # What a process killed between the service's answer and the store's record leaves behind.
            async with tiny.client() as provider:
                engine = SyncEngine(store, provider)
                await engine.support.claim(entry.id)
                await provider.create(Entity.CUSTOMERS, Customer(name=name), idempotency_key=entry.idempotency_key)
        run(send_then_crash())
    with CompanyStore.open(path) as store:  # the restart
        posts = len(tiny.requests("POST", "companies"))
        result = run(tiny.sync(store))
        assert result.ok and result.pushed == 1
        assert len(tiny.requests("POST", "companies")) == posts
        assert stored(store, tables.CUSTOMERS)  # and the created record is one row, under its remote id
        rows = store.reader().execute("SELECT count(*) FROM customers WHERE name = ?", (name,)).fetchone()[0]
        assert rows == 1
        assert cache_matches(store, *service(tiny)) == []


def test_offline_the_run_stops_at_once_and_loses_nothing(tiny, store):
    assert run(tiny.sync(store)).ok
    store.save(tables.CUSTOMERS, store.get(tables.CUSTOMERS, 7).model_copy(update={"phone": "queued"}))
    tiny.faults(error_rate=1.0)
    result = run(tiny.sync(store))
    assert result.offline and result.error and result.pushed == 0
    assert [e.state for e in store.outbox_entries()] == ["pending"]
    tiny.faults()
    assert run(tiny.sync(store)).pushed == 1


def test_a_run_can_be_cancelled_and_the_next_one_finishes_the_work(small, store):
    async def cancel_midway():
        async with small.client() as provider:
            engine = SyncEngine(store, provider, page_size=50)
            hub = engine.hub
            hub.subscribe(lambda event: engine.cancel() if isinstance(event, Progress) and event.done >= 100 else None)
            return await engine.run_once()
    result = run(cancel_midway())
    assert result.cancelled
    again = run(small.sync(store))
    assert again.ok
    assert cache_matches(store, *service(small)) == []
    integrity(store)


def test_two_runs_at_once_share_one(tiny, store):
    async def both():
        async with tiny.client() as provider:
            engine = SyncEngine(store, provider)
            return await asyncio.gather(engine.run_once(), engine.run_once())
    first, second = run(both())
    assert first is second
