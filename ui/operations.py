"""The small operations the widgets call. Each runs its store work off the UI thread (an edit on the store's
writer thread, a read on a worker) and returns the result to the loop; the widget refreshes from it.

Widgets import this module, never sqlite3: what a view may do to a company is all here.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from app.domain import BankAccount, Customer, Record
from app.domain.documents import SalesDocument
from app.domain.money import from_minor
from app.store import CUSTOMERS, INVOICES, CompanyStore, Filters, Sort, tables
from app.store.outbox import OutboxEntry
from app.store.queries import CustomerRow
from ui.context import CompanyContext
from ui.tasks import off_thread

R = TypeVar("R", bound=Record)


async def save(context: CompanyContext, spec: tables.TableSpec, record: R) -> R:
    """One durable transaction with its outbox entry (the store's ``save``); then sync is told."""
    saved = await context.store.save_async(spec, record)
    context.sync.edited()
    return saved


async def delete(context: CompanyContext, spec: tables.TableSpec, local_id: int) -> None:
    # A write: it waits for the store's writer thread, so it does not hold one of the window's readers.
    await asyncio.to_thread(context.store.delete, spec, local_id)
    context.sync.edited()


async def customer(store: CompanyStore, local_id: int) -> Customer | None:
    return await off_thread(store.get, tables.CUSTOMERS, local_id)


async def document(store: CompanyStore, local_id: int) -> SalesDocument | None:
    return await off_thread(store.get, tables.INVOICES, local_id)


async def record_now(store: CompanyStore, entry: OutboxEntry) -> dict[str, Any] | None:
    """The record an outbox entry is about, as it is here now (with every later edit of it), or None if it
    was deleted here: what "yours" means when a conflict is settled."""
    spec = tables.BY_ENTITY.get(entry.entity)
    if spec is None:
        return dict(entry.edit)
    record = await off_thread(store.get, spec, entry.record_id)
    return None if record is None else record.model_dump(mode="json")


async def find_customers(store: CompanyStore, text: str, limit: int = 30) -> list[CustomerRow]:
    """Customers whose name, contact, email or numbers match ``text`` (all when empty), by name."""
    page = await off_thread(store.page, CUSTOMERS, Filters(text=text, archived=False), Sort("name"), None, limit)
    return page.rows


async def largest_balances(store: CompanyStore, limit: int = 10) -> list[CustomerRow]:
    """The customers who owe the most (the store keeps each balance, sorted by its index)."""
    page = await off_thread(store.page, CUSTOMERS, Filters(), Sort("balance", descending=True), None, limit)
    return page.rows


async def record_state(store: CompanyStore, spec: tables.TableSpec, local_id: int) -> str | None:
    return await off_thread(store.record_state, spec, local_id)


async def outbox_counts(store: CompanyStore) -> dict[str, int]:
    return await off_thread(store.outbox_counts)


async def outbox_entries(store: CompanyStore) -> list[OutboxEntry]:
    return await off_thread(store.outbox_entries)


async def count(store: CompanyStore, view: Any, filters: Filters) -> int:
    return await off_thread(store.count, view, filters)


# --- reads the store has no method for yet -----------------------------------------------------
# Small lists (a company has a handful of bank accounts and a chart of a few hundred codes). They belong
# in CompanyStore (``bank_accounts()``, ``chart()``); until then they read through its reader connection.


@dataclass(frozen=True)
class AccountCode:
    code: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"


def _bank_accounts(store: CompanyStore) -> list[BankAccount]:
    ids = [r[0] for r in store.reader().execute("SELECT id FROM bank_accounts ORDER BY name, id")]
    return [account for account in (store.get(tables.BANK_ACCOUNTS, i) for i in ids) if account is not None]


async def bank_accounts(store: CompanyStore) -> list[BankAccount]:
    return await off_thread(_bank_accounts, store)


def _chart(store: CompanyStore) -> list[AccountCode]:
    try:
        rows = store.reader().execute("SELECT code, name FROM accounts WHERE archived = 0 ORDER BY code").fetchall()
    except sqlite3.OperationalError:
        return []
    return [AccountCode(code, name) for code, name in rows]


async def chart(store: CompanyStore) -> list[AccountCode]:
    return await off_thread(_chart, store)


def _status_counts(store: CompanyStore, today) -> dict[str, int]:
    counts = {status: store.count(INVOICES, Filters(status=status))
              for status in ("draft", "approved", "posted", "paid", "void")}
    counts["overdue"] = store.count(INVOICES, Filters(overdue_on=today))
    counts["all"] = store.count(INVOICES, Filters())
    return counts


async def status_counts(store: CompanyStore, today) -> dict[str, int]:
    return await off_thread(_status_counts, store, today)


# A credit note's amount due counts against what the customer owes.
_SIGNED = "CASE kind WHEN 'credit_note' THEN -amount_due ELSE amount_due END"


@dataclass(frozen=True)
class Receivable:
    currency: str
    owed: Decimal
    overdue: Decimal
    documents: int


def _receivables(store: CompanyStore, today: str) -> list[Receivable]:
    """Money owed and how much of it is overdue, per currency, summed inside SQLite (minor units)."""
    rows = store.reader().execute(
        f"SELECT currency, sum({_SIGNED}), sum(CASE WHEN due_date != '' AND due_date < ? THEN {_SIGNED} "
        "ELSE 0 END), count(*) FROM invoices WHERE amount_due > 0 AND status NOT IN ('draft', 'void') "
        f"GROUP BY currency ORDER BY sum({_SIGNED}) DESC", (today,)).fetchall()
    return [Receivable(currency, from_minor(owed, currency), from_minor(overdue, currency), n)
            for currency, owed, overdue, n in rows]


async def receivables(store: CompanyStore, today: str) -> list[Receivable]:
    return await off_thread(_receivables, store, today)


AGE_BANDS = ("Not yet due", "1–30 days", "31–60 days", "61–90 days", "Over 90 days")


def _aged(store: CompanyStore, today: str) -> dict[str, list[Decimal]]:
    """Aged receivables: what is owed per currency, by how long past its due date, summed inside SQLite."""
    rows = store.reader().execute(
        "SELECT currency, CASE WHEN due_date = '' OR due_date >= ?1 THEN 0 "
        "WHEN julianday(?1) - julianday(due_date) <= 30 THEN 1 WHEN julianday(?1) - julianday(due_date) <= 60 THEN 2 "
        f"WHEN julianday(?1) - julianday(due_date) <= 90 THEN 3 ELSE 4 END AS band, sum({_SIGNED}) "
        "FROM invoices WHERE amount_due > 0 AND status NOT IN ('draft', 'void') GROUP BY currency, band",
        (today,)).fetchall()
    aged: dict[str, list[Decimal]] = {}
    for currency, band, owed in rows:
        aged.setdefault(currency, [Decimal(0)] * len(AGE_BANDS))[band] = from_minor(owed, currency)
    return aged


async def aged_receivables(store: CompanyStore, today: str) -> dict[str, list[Decimal]]:
    return await off_thread(_aged, store, today)
