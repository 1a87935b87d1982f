"""Keyset-paged, filtered, sorted reads for the views: a million rows cost what fifty do.

A page continues from the last row seen, ``(sort value, id)``, in two index seeks: first the rest
of the rows that share the last sort value (in id order, which each single-column index gives since
SQLite appends the rowid), then the rows past it. Neither seek depends on how deep the user scrolled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from app.domain.money import from_minor
from app.store import search


@dataclass(frozen=True)
class Filters:
    text: str = ""
    status: str | None = None
    kind: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    customer_id: int | None = None
    overdue_on: dt.date | None = None  # documents due before this day with money still owed
    archived: bool | None = None
    bank_account_remote_id: str | None = None


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool = False


class Page(NamedTuple):
    rows: list[Any]
    after: tuple[Any, int] | None  # pass back to get the next page; None when this was the last


class InvoiceRow(NamedTuple):
    id: int
    remote_id: str | None
    kind: str
    number: str
    customer_name: str
    date: str
    due_date: str
    status: str
    currency: str
    net: Any
    vat: Any
    gross: Any
    amount_due: Any
    pending: bool


class CustomerRow(NamedTuple):
    id: int
    remote_id: str | None
    name: str
    contact_name: str
    email: str
    phone: str
    balance: Any
    currency: str
    vat_number: str
    archived: bool
    pending: bool


class BankTransactionRow(NamedTuple):
    id: int
    remote_id: str | None
    date: str
    description: str
    reference: str
    amount: Any
    currency: str
    reconciled: bool


@dataclass(frozen=True)
class View:
    entity: str
    table: str
    sorts: dict[str, str]  # sort key -> column
    select: str
    make_row: Callable[[tuple], Any]
    fts: str | None = None

    def sort_column(self, sort: Sort) -> str:
        try:
            return self.sorts[sort.key]
        except KeyError:
            raise ValueError(f"{self.entity} lists cannot be sorted by {sort.key!r}") from None


def _pending(entity: str, table: str) -> str:
    return (f"EXISTS (SELECT 1 FROM outbox o WHERE o.entity = '{entity}' AND o.record_id = {table}.id "
            "AND o.state != 'done')")


def _invoice_row(r: tuple) -> InvoiceRow:
    currency = r[8]
    return InvoiceRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], currency, from_minor(r[9], currency),
                      from_minor(r[10], currency), from_minor(r[11], currency), from_minor(r[12], currency),
                      bool(r[13]))


def _customer_row(r: tuple) -> CustomerRow:
    return CustomerRow(r[0], r[1], r[2], r[3], r[4], r[5], from_minor(r[6], r[7]), r[7], r[8], bool(r[9]),
                       bool(r[10]))


def _bank_transaction_row(r: tuple) -> BankTransactionRow:
    return BankTransactionRow(r[0], r[1], r[2], r[3], r[4], from_minor(r[5], r[6]), r[6], bool(r[7]))


INVOICES = View(
    entity="invoice", table="invoices",
    sorts={key: key for key in ("number", "customer_name", "date", "due_date", "status", "net", "vat", "gross",
                                "amount_due")},
    select="id, remote_id, kind, number, customer_name, date, due_date, status, currency, net, vat, gross, "
           f"amount_due, {_pending('invoice', 'invoices')}",
    make_row=_invoice_row, fts="invoices_fts")

CUSTOMERS = View(
    entity="customer", table="customers",
    sorts={key: key for key in ("name", "contact_name", "email", "balance")},
    select="id, remote_id, name, contact_name, email, phone, balance, currency, vat_number, archived, "
           f"{_pending('customer', 'customers')}",
    make_row=_customer_row, fts="customers_fts")

BANK_TRANSACTIONS = View(
    entity="bank_transaction", table="bank_transactions",
    sorts={"date": "date"},
    select="id, remote_id, date, description, reference, amount, currency, reconciled",
    make_row=_bank_transaction_row)

# Up to this many matches, a search fetches its rows by id and sorts them (10k in about 15 ms): walking
# the sort index instead could pass most of the table before it met them (the matches of "INV-00" are
# the first numbers, so the last in a newest-first list).
_FEW_MATCHES = 10_000
# Past that, if at least this share of rows matches, a page walks the sort order in chunks and keeps the
# rows the search index confirms by rowid (about 25 us a row): the cost follows the page, not the
# matches. Below it, the matches are listed once (about 0.25 us each) and the sort index walked against
# that list, which is cheaper than confirming the many rows a sparse match needs walking past.
_WALK_DENSITY = 0.1
_FIRST_CHUNK = 16  # small: the first chunk also measures what a confirmation costs here
_MAX_CHUNK = 2000
# A walk that would take longer than this starts over by the listed matches (the matches are sparse
# early in this order, as oak tables among the smallest totals; or the index is in many segments, left
# by incremental pulls, and each confirmation seeks through all of them).
_WALK_BUDGET_S = 0.02


def _plan(conn: sqlite3.Connection, view: View, filters: Filters) -> search.Match | None:
    if not (view.fts and filters.text):
        return None
    return search.plan(conn, view.fts, filters.text, _FEW_MATCHES)


def _where(conn: sqlite3.Connection, view: View, filters: Filters) -> tuple[list[str], list[Any]]:
    """The WHERE clauses (ANDed) and their parameters for ``filters`` on ``view``."""
    return _clauses(view, filters, _plan(conn, view, filters))


def _clauses(view: View, filters: Filters, match: search.Match | None) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if filters.text and not view.fts:
        clauses.append("(description LIKE ? OR reference LIKE ?)")
        params += [f"%{filters.text}%"] * 2
    elif match is not None:
        if match.query is None:
            clauses.append("0")
        else:
            # The unary + keeps SQLite from driving a many-match query by id: it walks the sort index.
            clauses.append(f"{'' if match.few is not None else '+'}id IN "
                           f"(SELECT rowid FROM {view.fts} WHERE {view.fts} MATCH ?)")
            params.append(match.query)
    if filters.status:
        clauses.append("status = ?")
        params.append(filters.status)
    if filters.kind:
        clauses.append("kind = ?")
        params.append(filters.kind)
    if filters.date_from:
        clauses.append("date >= ?")
        params.append(filters.date_from.isoformat())
    if filters.date_to:
        clauses.append("date <= ?")
        params.append(filters.date_to.isoformat())
    if filters.customer_id is not None:
        clauses.append("customer_id = ?")
        params.append(filters.customer_id)
    if filters.overdue_on:
        clauses.append("amount_due > 0 AND due_date != '' AND due_date < ? AND status NOT IN ('draft', 'void')")
        params.append(filters.overdue_on.isoformat())
    if filters.archived is not None:
        clauses.append("archived = ?")
        params.append(int(filters.archived))
    if filters.bank_account_remote_id is not None:
        clauses.append("bank_account_remote_id = ?")
        params.append(filters.bank_account_remote_id)
    return clauses, params


@contextlib.contextmanager
def _snapshot(conn: sqlite3.Connection) -> Iterator[None]:
    """One read transaction around a page's statements, so they all see the same commit."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def _ordered(conn: sqlite3.Connection, select: str, view: View, column: str, clauses: list[str],
             params: list[Any], descending: bool, after: tuple[Any, int] | None, limit: int) -> list[tuple]:
    """Up to ``limit`` rows in ``(column, id)`` order that come after ``after``, in at most two index seeks."""
    direction, beyond = ("DESC", "<") if descending else ("ASC", ">")
    base = f"SELECT {select} FROM {view.table} WHERE " + " AND ".join(clauses or ["1"])
    if after is None:
        return conn.execute(f"{base} ORDER BY {column} {direction}, id {direction} LIMIT ?",
                            (*params, limit)).fetchall()
    value, last_id = after
    raw = conn.execute(f"{base} AND {column} = ? AND id {beyond} ? ORDER BY id {direction} LIMIT ?",
                       (*params, value, last_id, limit)).fetchall()
    if len(raw) < limit:
        raw += conn.execute(f"{base} AND {column} {beyond} ? ORDER BY {column} {direction}, id {direction} "
                            "LIMIT ?", (*params, value, limit - len(raw))).fetchall()
    return raw


def page(conn: sqlite3.Connection, view: View, filters: Filters, sort: Sort,
         after: tuple[Any, int] | None = None, limit: int = 100) -> Page:
    column = view.sort_column(sort)
    select = f"{view.select}, {column}"
    with _snapshot(conn):
        match = _plan(conn, view, filters)
        if match is not None and match.few is None and match.density >= _WALK_DENSITY:
            raw = _walk(conn, view, filters, sort, column, match, after, limit)
        else:
            clauses, params = _clauses(view, filters, match)
            raw = _ordered(conn, select, view, column, clauses, params, sort.descending, after, limit)
    rows = [view.make_row(r) for r in raw]
    cursor = (raw[-1][-1], raw[-1][0]) if len(raw) == limit else None
    return Page(rows, cursor)


def _walk(conn: sqlite3.Connection, view: View, filters: Filters, sort: Sort, column: str, match: search.Match,
          after: tuple[Any, int] | None, limit: int) -> list[tuple]:
    """The page of a search that many rows match: walk the sort order (with the other filters) in
    chunks and keep the rows whose rowid the search index confirms, until the page is full. Returns
    exactly the rows, in the same order, that the plain query would."""
    assert view.fts and match.query
    others, params = _clauses(view, dataclasses.replace(filters, text=""), None)
    confirm = f"SELECT rowid FROM {view.fts} WHERE {view.fts} MATCH ? AND rowid IN "
    started, start = time.perf_counter(), after
    kept: list[int] = []
    density, walked, hits, size = match.density, 0, 0, _FIRST_CHUNK
    while True:
        keys = _ordered(conn, f"id, {column}", view, column, others, params, sort.descending, after, size)
        found = {rowid for (rowid,) in conn.execute(confirm + f"({','.join('?' * len(keys))})",
                                                    (match.query, *(key[0] for key in keys)))} if keys else set()
        for key in keys:
            after = (key[1], key[0])
            if key[0] in found:
                kept.append(key[0])
                if len(kept) == limit:
                    break
        if len(kept) == limit or len(keys) < size:
            break
        walked += len(keys)
        hits += len(found)
        density = max(hits / walked, density / 4)
        wanted = limit - len(kept)
        spent = time.perf_counter() - started
        per_row = max(spent / walked, 1e-7)  # a coarse clock may read no time at all
        if spent + per_row * wanted / density > _WALK_BUDGET_S:
            # Confirming the rest would cost more than listing the matches (the matches are sparse this
            # early in the order, or the index is slow to seek): the plain query, by the list.
            clauses, list_params = _clauses(view, filters, match)
            return _ordered(conn, f"{view.select}, {column}", view, column, clauses, list_params,
                            sort.descending, start, limit)
        # Enough rows to fill the page at the density seen so far, but never more than the budget left.
        size = min(int(wanted / density * 1.25) + 16, int((_WALK_BUDGET_S - spent) / per_row) + 1, _MAX_CHUNK)
    return _rows_by_id(conn, view, column, kept)


def _rows_by_id(conn: sqlite3.Connection, view: View, column: str, ids: list[int]) -> list[tuple]:
    if not ids:
        return []
    found = {r[0]: r for r in conn.execute(
        f"SELECT {view.select}, {column} FROM {view.table} WHERE id IN ({','.join('?' * len(ids))})", ids)}
    return [found[i] for i in ids]


def count(conn: sqlite3.Connection, view: View, filters: Filters) -> int:
    with _snapshot(conn):
        match = _plan(conn, view, filters)
        if match is not None and filters == Filters(text=filters.text):
            # Text alone: the search index counts its own matches, no table row is read.
            if match.query is None or match.few is not None:
                return len(match.few or [])
            return conn.execute(f"SELECT count(*) FROM {view.fts} WHERE {view.fts} MATCH ?",
                                (match.query,)).fetchone()[0]
        clauses, params = _clauses(view, filters, match)
        return conn.execute(f"SELECT count(*) FROM {view.table} WHERE " + " AND ".join(clauses or ["1"]),
                            params).fetchone()[0]
