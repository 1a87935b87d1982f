"""The store's side of sync, without a service: migration 3, local ids that SQLite reuses, deletion detection."""

from __future__ import annotations

import sqlite3

from app.domain import Customer
from app.store import CUSTOMERS, CompanyStore, Filters, tables
from app.store.database import migrate, schema_version
from app.store.schema import MIGRATIONS
from app.store.sync_support import SyncSupport
from tests.sync.conftest import run


def pulled(store: CompanyStore, *names: str) -> list[Customer]:
    customers = [Customer(name=name, remote_id=f"r-{name}", payload_hash=f"h-{name}", remote_version=f"v-{name}")
                 for name in names]
    store.upsert_now(tables.CUSTOMERS, customers)
    return [store.get_by_remote_id(tables.CUSTOMERS, c.remote_id) for c in customers]


def test_a_version_2_file_gains_the_sync_tables(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    migrate(conn, path, MIGRATIONS[:2])
    conn.close()
    with CompanyStore.open(path) as store:
        assert store.writer.run(schema_version) == MIGRATIONS[-1].version >= 3
        tables_now = {r[0] for r in store.reader().execute("SELECT name FROM sqlite_master")}
        assert {"sync_seen", "sync_theirs", "sync_renumber", "customers_id_reused"} <= tables_now


def test_a_reused_local_id_does_not_take_over_the_deleted_records_edits(tmp_path):
    with CompanyStore.create(tmp_path / "c.sqlite") as store:
        first, newest = pulled(store, "Old Ltd", "Newest Ltd")
        store.delete(tables.CUSTOMERS, newest.local_id)  # its deletion waits to be sent
        again = store.save(tables.CUSTOMERS, Customer(name="Brand New Ltd"))
        assert again.local_id == newest.local_id  # SQLite hands the id out again...
        store.delete(tables.CUSTOMERS, again.local_id)  # ...and deleting the new one cancels only its own creation
        (waiting,) = store.outbox_entries()
        assert waiting.op == "delete" and waiting.edit["remote_id"] == "r-Newest Ltd" and waiting.record_id < 0
        assert store.record_state(tables.CUSTOMERS, first.local_id) is None


def test_deletion_detection_removes_only_unseen_rows_without_edits(tmp_path):
    with CompanyStore.create(tmp_path / "c.sqlite") as store:
        kept, gone, edited = pulled(store, "Kept", "Gone", "Edited")
        store.save(tables.CUSTOMERS, edited.model_copy(update={"phone": "mine"}))
        support = SyncSupport(store)

        async def relist():
            await support.start_full_list("customers")
            await support.mark_seen("customers", [kept.remote_id])
            return await support.remove_unseen("customers", tables.CUSTOMERS)
        assert run(relist()) == 1
        assert store.get(tables.CUSTOMERS, gone.local_id) is None
        assert store.get(tables.CUSTOMERS, edited.local_id).phone == "mine"
        theirs = support.theirs("customer", edited.local_id)
        assert theirs is not None and theirs.record is None  # deleted there: the push will raise it
        # The search index forgot the removed row.
        assert store.count(CUSTOMERS, Filters(text="Gone")) == 0
