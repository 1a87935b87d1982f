"""A killed writer loses no committed edit and leaves no half-written one; migrations back up and roll back."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.store import CompanyStore, NewerSchema, tables
from app.store.database import backup_path, migrate, schema_version
from app.store.schema import MIGRATIONS, Migration

WRITER = textwrap.dedent("""
    import sys
    from decimal import Decimal
    from app.domain import Customer, Invoice, InvoiceLine
    from app.store import CompanyStore, tables
    import datetime as dt
    store = CompanyStore.open(sys.argv[1])
    n = 0
    while True:
        n += 1
        customer = store.save(tables.CUSTOMERS, Customer(name=f"Client {n}", email=f"c{n}@example.com"))
        store.save(tables.INVOICES, Invoice(customer_local_id=customer.local_id, date=dt.date(2026, 1, 1),
                   number=f"N-{n}", lines=[InvoiceLine(description="x" * 2000, quantity=n, unit_price="1.10",
                                                       vat_rate=20)] * 5))
        print(customer.local_id, flush=True)  # printed only after both edits committed
""")


@pytest.mark.parametrize(("edits_before_kill", "extra_delay"), [(1, 0.0), (25, 0.003), (120, 0.011)])
def test_a_killed_writer_loses_no_committed_edit(tmp_path, edits_before_kill, extra_delay):
    path = tmp_path / "crash.sqlite"
    CompanyStore.create(path).close()
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                               cwd=Path(__file__).resolve().parents[2])
    committed = [int(process.stdout.readline()) for _ in range(edits_before_kill)]
    time.sleep(extra_delay)  # land somewhere inside a later edit's transaction
    os.kill(process.pid, signal.SIGKILL)  # no chance to flush, close or clean up
    rest, _ = process.communicate()
    committed += [int(line) for line in rest.split()]
    assert process.returncode == -signal.SIGKILL

    with CompanyStore.open(path) as store:
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for customer_id in committed:
            assert store.get(tables.CUSTOMERS, customer_id) is not None
        # Every row has exactly its outbox entry, and every entry its row: nothing half-written.
        customers = {r[0] for r in conn.execute("SELECT id FROM customers")}
        invoices = {r[0] for r in conn.execute("SELECT id FROM invoices")}
        entries = conn.execute("SELECT entity, record_id, op FROM outbox").fetchall()
        assert {(e, i) for e, i, _ in entries} == {("customer", c) for c in customers} | \
            {("invoice", i) for i in invoices}
        assert len(entries) == len(customers) + len(invoices)
        assert all(op == "create" for _, _, op in entries)
        assert len(customers) - len(invoices) in (0, 1)  # at most the last customer's invoice was cut off
        lines = {r[0] for r in conn.execute("SELECT invoice_id FROM invoice_lines")}
        assert lines == invoices
        assert len(committed) <= len(customers)


def _old_file(path: Path) -> None:
    """A company file as schema version 1 wrote it, with data in it."""
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, path, MIGRATIONS[:1])
    conn.execute("INSERT INTO customers (remote_id, name, currency) VALUES ('c1', 'Old Customer', 'GBP')")
    conn.close()


def test_an_old_file_is_upgraded_with_a_backup(tmp_path):
    path = tmp_path / "old.sqlite"
    _old_file(path)
    with CompanyStore.open(path) as store:
        assert store.get_by_remote_id(tables.CUSTOMERS, "c1").name == "Old Customer"
        assert store.writer.run(schema_version) == MIGRATIONS[-1].version
        assert store.writer.run(lambda c: c.execute("SELECT count(*) FROM sync_state").fetchone()[0]) == 0
    backup = sqlite3.connect(backup_path(path, 1))
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 1
    assert backup.execute("SELECT name FROM customers").fetchall() == [("Old Customer",)]


def test_a_migration_that_fails_midway_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "old.sqlite"
    _old_file(path)
    before = path.read_bytes()
    broken = [*MIGRATIONS[:1], Migration(2, "half of it works", "CREATE TABLE extra (x);\nINSERT INTO nowhere VALUES (1);")]
    conn = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, path, broken)
    assert schema_version(conn) == 1
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'extra'").fetchone() is None
    assert conn.execute("SELECT name FROM customers").fetchall() == [("Old Customer",)]
    conn.close()
    assert backup_path(path, 1).exists()
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(path.read_bytes()) == len(before)


def test_a_file_from_a_newer_version_is_refused_untouched(tmp_path):
    path = tmp_path / "newer.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {MIGRATIONS[-1].version + 5}")
    conn.close()
    with pytest.raises(NewerSchema, match="newer Ledgerdesk"):
        CompanyStore.open(path)
