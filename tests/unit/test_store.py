"""The company store: repeatable upserts, keyset pages, filters, search, edits with their outbox entries."""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import Customer, Invoice, InvoiceLine, payload_hash
from app.domain.documents import CreditNote
from app.domain.generate import DemoCompany
from app.store import CUSTOMERS, INVOICES, CompanyExists, CompanyStore, Filters, Sort, tables

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def company():
    return DemoCompany("Store Test Ltd", 3000, seed=11)


@pytest.fixture(scope="module")
def filled(tmp_path_factory, company):
    path = tmp_path_factory.mktemp("store") / "filled.sqlite"
    store = CompanyStore.create(path)
    store.upsert_now(tables.CUSTOMERS, company.customers())
    assert store.begin_bulk_load()
    invoices = list(company.invoices())
    for start in range(0, len(invoices), 700):
        store.upsert_now(tables.INVOICES, invoices[start:start + 700])
    store.end_bulk_load()
    yield store
    store.close()


@pytest.fixture
def store(tmp_path):
    with CompanyStore.create(tmp_path / "company.sqlite") as store:
        yield store


def all_rows(store, view, filters, sort, limit):
    rows, after = [], None
    while True:
        page = store.page(view, filters, sort, after=after, limit=limit)
        rows += page.rows
        if page.after is None:
            return rows
        after = page.after


def test_creating_a_company_never_overwrites_a_file(tmp_path):
    path = tmp_path / "precious.sqlite"
    path.write_bytes(b"someone's data")
    with pytest.raises(CompanyExists):
        CompanyStore.create(path)
    assert path.read_bytes() == b"someone's data"


def test_pragmas(filled):
    conn = sqlite3.connect(filled.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert filled.writer.run(lambda c: c.execute("PRAGMA foreign_keys").fetchone()[0]) == 1


def hashed(record):
    """As a client hands records over: with the hash of the service's payload."""
    return record.model_copy(update={"payload_hash": payload_hash(record.model_dump(mode="json"))})


def test_upsert_is_repeatable_and_writes_only_what_changed(store, company):
    customers = [hashed(c) for c in list(company.customers())[:50]]
    assert store.upsert_now(tables.CUSTOMERS, customers) == 50
    assert store.upsert_now(tables.CUSTOMERS, customers) == 0
    renamed = hashed(customers[7].model_copy(update={"name": "Renamed & Co"}))
    assert store.upsert_now(tables.CUSTOMERS, [renamed]) == 1
    assert store.get_by_remote_id(tables.CUSTOMERS, renamed.remote_id).name == "Renamed & Co"
    assert store.count(CUSTOMERS, Filters()) == 50
    assert [r.name for r in store.page(CUSTOMERS, Filters(text="renamed"), Sort("name")).rows] == ["Renamed & Co"]


def test_a_failed_page_stores_nothing(store, company):
    customers = list(company.customers())[:10]

    def broken():
        yield from customers[:5]
        raise RuntimeError("connection lost mid-page")

    with pytest.raises(RuntimeError):
        store.upsert_now(tables.CUSTOMERS, broken())
    assert store.count(CUSTOMERS, Filters()) == 0
    assert store.upsert_now(tables.CUSTOMERS, customers) == 10


def test_a_pull_never_overwrites_a_pending_edit(store, company):
    customers = list(company.customers())[:3]
    store.upsert_now(tables.CUSTOMERS, customers)
    mine = store.get_by_remote_id(tables.CUSTOMERS, customers[0].remote_id)
    store.save(tables.CUSTOMERS, mine.model_copy(update={"phone": "01234 567890"}))
    theirs = hashed(customers[0].model_copy(update={"phone": "09999 999999"}))
    assert store.upsert_now(tables.CUSTOMERS, [theirs]) == 0
    assert store.get(tables.CUSTOMERS, mine.local_id).phone == "01234 567890"


def test_edits_go_to_the_outbox_in_the_same_transaction(store, company):
    store.upsert_now(tables.CUSTOMERS, list(company.customers())[:2])
    created = store.save(tables.CUSTOMERS, Customer(name="New Client Ltd", email="ap@newclient.example"))
    assert created.local_id is not None and created.remote_id is None
    invoice = store.save(tables.INVOICES, Invoice(
        customer_local_id=created.local_id, date=AS_OF, due_date=AS_OF + dt.timedelta(days=30), number="D-1",
        status="approved",
        lines=[InvoiceLine(description="Survey", quantity=2, unit_price="150.00", vat_rate=20)]))
    assert invoice.customer_name == "New Client Ltd"
    edited = store.save(tables.CUSTOMERS, created.model_copy(update={"phone": "0117 000000"}))
    entries = store.outbox_entries()
    assert [(e.entity, e.op) for e in entries] == [("customer", "create"), ("invoice", "create"),
                                                    ("customer", "update")]
    assert entries[2].base["phone"] == "" and entries[2].edit["phone"] == "0117 000000"
    assert len({e.idempotency_key for e in entries}) == 3
    assert store.record_state(tables.CUSTOMERS, edited.local_id) == "pending"
    row = store.page(CUSTOMERS, Filters(text="new client"), Sort("name")).rows[0]
    assert row.pending and row.balance == Decimal("360.00")
    assert store.outbox_counts() == {"pending": 3, "failed": 0, "conflict": 0}


def test_deleting_an_unsent_record_cancels_its_creation(store):
    created = store.save(tables.CUSTOMERS, Customer(name="Typo Ltd"))
    store.delete(tables.CUSTOMERS, created.local_id)
    assert store.outbox_counts()["pending"] == 0
    assert store.get(tables.CUSTOMERS, created.local_id) is None
    assert store.count(CUSTOMERS, Filters(text="typo")) == 0


def test_deleting_a_synced_record_queues_the_deletion(store, company):
    store.upsert_now(tables.CUSTOMERS, list(company.customers())[:1])
    row = store.page(CUSTOMERS, Filters(), Sort("name")).rows[0]
    store.delete(tables.CUSTOMERS, row.id)
    (entry,) = store.outbox_entries()
    assert (entry.op, entry.edit["remote_id"], entry.base["name"]) == ("delete", row.remote_id, row.name)


@pytest.mark.parametrize("key", list(INVOICES.sorts))
@pytest.mark.parametrize("descending", [False, True])
def test_keyset_pages_walk_the_same_order_as_a_full_sort(filled, key, descending):
    got = all_rows(filled, INVOICES, Filters(), Sort(key, descending), limit=97)
    conn = sqlite3.connect(filled.path)
    direction = "DESC" if descending else "ASC"
    expected = [r[0] for r in conn.execute(f"SELECT id FROM invoices ORDER BY {key} {direction}, id {direction}")]
    assert [r.id for r in got] == expected


@settings(max_examples=25, deadline=None)
@given(status=st.sampled_from([None, "paid", "approved", "draft", "void"]),
       days=st.one_of(st.none(), st.integers(1, 800)), overdue=st.booleans(),
       text=st.sampled_from(["", "oak", "harbour", "INV-0001", "consult surv", "zzz-nothing", "\"'*(:"]),
       key=st.sampled_from(list(INVOICES.sorts)), descending=st.booleans())
def test_filters_pages_and_counts_agree(filled, company, status, days, overdue, text, key, descending):
    filters = Filters(status=status, date_from=AS_OF - dt.timedelta(days=days) if days else None,
                      overdue_on=AS_OF if overdue else None, text=text)
    rows = all_rows(filled, INVOICES, filters, Sort(key, descending), limit=250)
    assert len(rows) == filled.count(INVOICES, filters)
    words = [w.lower() for w in text.replace("-", " ").split() if w.isalnum()]
    for row in rows[:50]:
        assert status is None or row.status == status
        assert not days or row.date >= (AS_OF - dt.timedelta(days=days)).isoformat()
        assert not overdue or (row.amount_due > 0 and row.due_date < AS_OF.isoformat())
        if words:
            invoice = filled.get(tables.INVOICES, row.id)
            haystack = " ".join([invoice.number, invoice.customer_name, invoice.reference,
                                 *(line.description for line in invoice.lines)]).lower()
            assert all(any(token.startswith(w) for token in haystack.replace("-", " ").split()) for w in words)


def test_search_finds_customers_by_email_and_vat_number(filled, company):
    customer = next(c for c in company.customers() if c.vat_number)
    by_vat = filled.page(CUSTOMERS, Filters(text=customer.vat_number), Sort("name")).rows
    assert customer.remote_id in {r.remote_id for r in by_vat}
    by_email = filled.page(CUSTOMERS, Filters(text=customer.email.split("@")[1]), Sort("name")).rows
    assert customer.remote_id in {r.remote_id for r in by_email}


def test_balances_are_what_customers_owe(filled, company):
    owed: dict[str, Decimal] = {}
    for invoice in company.invoices():
        if invoice.status not in ("draft", "void"):
            owed[invoice.customer_remote_id] = owed.get(invoice.customer_remote_id, Decimal(0)) + invoice.amount_due
    top = filled.page(CUSTOMERS, Filters(), Sort("balance", descending=True), limit=5).rows
    for row in top:
        assert row.balance == owed[row.remote_id]


def test_balances_of_everyone_at_once_agree_with_one_customer_at_a_time(store, company):
    store.upsert_now(tables.CUSTOMERS, company.customers())
    invoices = list(itertools.islice(company.invoices(), 400))
    paid = next(i for i in invoices if i.status == "paid")
    credit = CreditNote(**{**paid.model_dump(exclude={"kind"}), "remote_id": "cn-1", "number": "CN-1",
                           "status": "approved", "amount_paid": Decimal(0)})
    store.upsert_now(tables.INVOICES, [*invoices, credit])
    read = "SELECT id, balance FROM customers ORDER BY id"
    store.refresh_balances()
    everyone = store.reader().execute(read).fetchall()
    store.writer.run(lambda conn: conn.execute("UPDATE customers SET balance = 12345"))
    store.refresh_balances([customer_id for customer_id, _ in everyone])
    assert store.reader().execute(read).fetchall() == everyone
    assert len({balance for _, balance in everyone}) > 5


def test_an_invoice_reads_back_exactly(filled, company):
    original = next(i for i in company.invoices() if i.remote_id == "42")
    back = filled.get_by_remote_id(tables.INVOICES, "42")
    assert back.model_dump(exclude={"local_id", "customer_local_id", "payload_hash"}) == \
        original.model_dump(exclude={"local_id", "customer_local_id", "payload_hash"})
    assert back.customer_local_id is not None


def test_readers_never_wait_for_the_writer(store, company):
    """While the writer holds a transaction open (a pull storing a page), a view still reads at once."""
    import threading
    import time

    store.upsert_now(tables.CUSTOMERS, list(company.customers())[:20])
    inside, release = threading.Event(), threading.Event()

    def long_write(conn):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE customers SET phone = 'changing'")
        inside.set()
        release.wait(10)
        conn.execute("COMMIT")

    pending = store.writer.submit(long_write)
    assert inside.wait(5)
    started = time.perf_counter()
    rows = store.page(CUSTOMERS, Filters(), Sort("name"), limit=5).rows
    waited = time.perf_counter() - started
    release.set()
    pending.result()
    assert len(rows) == 5 and all(r.phone != "changing" for r in rows)  # the last committed state
    assert waited < 5  # blocked, it would wait out the 10 s busy timeout: release comes only after


def test_async_upsert_runs_off_the_loop(store, company):
    import asyncio

    async def pull():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        changed = await store.upsert(tables.CUSTOMERS, list(company.customers()))
        task.cancel()
        return changed, ticks

    changed, ticks = asyncio.run(pull())
    assert changed == company.counts.customers
    assert ticks > 1  # the loop kept running while the page was stored


def _automerge(store):
    return store.reader().execute("SELECT v FROM invoices_fts_config WHERE k = 'automerge'").fetchone()[0]


def _triggers(store):
    return {r[0] for r in store.reader().execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}


def test_a_bulk_load_without_the_id_reuse_triggers_still_frees_reused_ids(tmp_path, company):
    path = tmp_path / "c.sqlite"
    with CompanyStore.create(path) as store:
        store.upsert_now(tables.CUSTOMERS, company.customers())
        invoices = list(itertools.islice(company.invoices(), 600))
        store.upsert_now(tables.INVOICES, invoices[:1])
        gone = store.get_by_remote_id(tables.INVOICES, invoices[0].remote_id)
        store.delete(tables.INVOICES, gone.local_id)  # its deletion waits to be sent
        assert store.begin_bulk_load()
        assert not _triggers(store) & {"invoices_id_reused", "customers_id_reused"}
        assert _automerge(store) == 0
        store.upsert_now(tables.INVOICES, invoices[1:])
        taker = store.get_by_remote_id(tables.INVOICES, invoices[1].remote_id)
        assert taker.local_id == gone.local_id  # SQLite handed the id out again...
        (waiting,) = store.outbox_entries()  # ...and the deletion still names the deleted record, not it
        assert waiting.op == "delete" and waiting.edit["remote_id"] == invoices[0].remote_id
        assert waiting.record_id < 0 and store.record_state(tables.INVOICES, taker.local_id) is None
        # Every new row has its lines and its search entry under its own id.
        for invoice in (invoices[1], invoices[300], invoices[-1]):
            row = store.get_by_remote_id(tables.INVOICES, invoice.remote_id)
            assert row.lines == invoice.lines
            assert row.local_id in {r.id for r in store.page(INVOICES, Filters(text=invoice.number), Sort("number")).rows}
    with CompanyStore.open(path) as store:  # a bulk load cut short: what it turned off comes back on opening
        assert {"invoices_id_reused", "customers_id_reused"} <= _triggers(store)
        assert _automerge(store) == 4
        store.end_bulk_load()
        assert {"invoices_id_reused", "customers_id_reused"} <= _triggers(store)
        assert _automerge(store) == 4
