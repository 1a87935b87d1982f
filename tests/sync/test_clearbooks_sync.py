"""The sync engine against the Clear Books sandbox: paged lists, no change feed, and re-keying.

Clear Books voids a non-draft invoice when it is changed and answers a copy with a NEW id; GET of the
old id redirects to the current revision. The engine must move the local row to the new id, never
keep a second row, and never make a second revision of one edit.
"""

from __future__ import annotations

import pytest

from app.store import CompanyStore, tables
from app.sync.conflicts import Conflicts
from providers.base import Entity
from tests.sync.compare import cache_matches, integrity, service_records
from tests.sync.conftest import run


@pytest.fixture
def cb(clearbooks):
    clearbooks.faults()
    yield clearbooks
    clearbooks.faults()


def service(harness):
    return run(service_records(harness))


def a_document(store: CompanyStore, status: str) -> int:
    return store.reader().execute("SELECT id FROM invoices WHERE status = ? AND kind = 'invoice' "
                                  "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.record_id = invoices.id) "
                                  "ORDER BY random() LIMIT 1", (status,)).fetchone()[0]


async def remote_edit(harness, remote_id: str, **changes):
    async with harness.client() as remote:
        current = await remote.get(Entity.INVOICES, remote_id)
        return await remote.update(Entity.INVOICES, current.model_copy(update=changes))


def test_a_full_pull_equals_the_sandbox(cb, store):
    result = run(cb.sync(store))
    assert result.ok and not result.problems, result
    customers, documents = service(cb)
    assert len(customers) == 40 and len(documents) >= 390
    assert cache_matches(store, customers, documents) == []
    integrity(store)


def test_an_edit_of_an_issued_invoice_re_keys_the_row(cb, store):
    assert run(cb.sync(store)).ok
    local_id = a_document(store, "approved")
    before = store.get(tables.INVOICES, local_id)
    store.save(tables.INVOICES, before.model_copy(update={"reference": "PO re-keyed"}))
    result = run(cb.sync(store))
    assert result.ok and result.pushed == 1
    after = store.get(tables.INVOICES, local_id)
    assert after.remote_id != before.remote_id and after.reference == "PO re-keyed"
    assert store.get_by_remote_id(tables.INVOICES, before.remote_id) is None
    customers, documents = service(cb)
    assert [d.remote_id for d in documents if d.reference == "PO re-keyed"] == [after.remote_id]
    assert cache_matches(store, customers, documents) == []
    # A later edit goes to the new id.
    store.save(tables.INVOICES, after.model_copy(update={"reference": "PO re-keyed twice"}))
    assert run(cb.sync(store)).pushed == 1
    assert [d.reference for d in service(cb)[1] if d.reference.startswith("PO re-keyed")] == ["PO re-keyed twice"]


def test_a_draft_is_changed_in_place(cb, store):
    assert run(cb.sync(store)).ok
    local_id = a_document(store, "draft")
    before = store.get(tables.INVOICES, local_id)
    store.save(tables.INVOICES, before.model_copy(update={"reference": "draft edit"}))
    assert run(cb.sync(store)).pushed == 1
    assert store.get(tables.INVOICES, local_id).remote_id == before.remote_id


def test_a_reissue_whose_answer_was_lost_is_found_not_made_twice(cb, store):
    assert run(cb.sync(store)).ok
    local_id = a_document(store, "approved")
    before = store.get(tables.INVOICES, local_id)
    store.save(tables.INVOICES, before.model_copy(update={"reference": "lost answer"}))
    # The PATCH is done (the invoice voided and reissued); its answer and every look-up are lost.
    cb.dropper.drop("PATCH", f"/sales/invoices/{before.remote_id}")
    cb.dropper.drop("GET", f"/sales/invoices/{before.remote_id}", times=50)
    result = run(cb.sync(store))
    cb.dropper.rules.clear()
    assert result.offline
    assert [e.state for e in store.outbox_entries()] == ["in_flight"]
    patches = len(cb.requests("PATCH", "/sales/invoices/"))
    result = run(cb.sync(store))
    assert result.ok and result.pushed == 1 and result.conflicts == 0
    assert len(cb.requests("PATCH", "/sales/invoices/")) == patches  # found through the redirect, not resent
    after = store.get(tables.INVOICES, local_id)
    customers, documents = service(cb)
    assert [d.remote_id for d in documents if d.reference == "lost answer"] == [after.remote_id]
    assert after.remote_id != before.remote_id
    assert cache_matches(store, customers, documents) == []


def test_a_reissue_at_the_service_against_a_local_edit_is_a_conflict(cb, store):
    assert run(cb.sync(store)).ok
    local_id = a_document(store, "approved")
    before = store.get(tables.INVOICES, local_id)
    store.save(tables.INVOICES, before.model_copy(update={"reference": "mine"}))
    theirs = run(remote_edit(cb, before.remote_id, reference="theirs"))
    assert theirs.remote_id != before.remote_id
    result = run(cb.sync(store))
    assert result.conflicts == 1
    (case,) = Conflicts(store).cases()
    assert case.mine["reference"] == "mine" and case.theirs["reference"] == "theirs"
    assert case.theirs["remote_id"] == theirs.remote_id
    # Nothing duplicated meanwhile: the reissue is not a second row beside ours.
    assert store.reader().execute("SELECT count(*) FROM invoices WHERE remote_id = ?",
                                  (theirs.remote_id,)).fetchone()[0] == 0
    run(Conflicts(store).keep_mine(case.entry.id))
    result = run(cb.sync(store))
    assert result.ok and result.pushed == 1 and store.outbox_entries() == []
    after = store.get(tables.INVOICES, local_id)
    customers, documents = service(cb)
    assert [d.remote_id for d in documents if d.reference in ("mine", "theirs")] == [after.remote_id]
    assert cache_matches(store, customers, documents) == []
