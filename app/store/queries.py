"""Keyset-paged, filtered, sorted reads for the views: a million rows cost what fifty do.

A page continues from the last row seen, ``(sort value, id)``, in two index seeks: first the rest
of the rows that share the last sort value (in id order, which each single-column index gives since
SQLite appends the rowid), then the rows past it. Neither seek depends on how deep the user scrolled.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from app.domain.money import from_minor


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

# What the index's tokenizer (unicode61) counts as a word: letters and digits; all else separates.
_WORD = re.compile(r"[^\W_]+")


def fts_query(text: str) -> str:
    """User text to an FTS5 query: every word must match; the last as a prefix (the user may still be
    typing it), the others whole (a prefix of a common word would merge huge lists). Words are split
    as the index splits them (so "INV-0042" is two words) and quoted, so no input is a syntax error."""
    words = ['"' + word.replace('"', '""') + '"' for word in _WORD.findall(text)]
    if words:
        words[-1] += "*"
    return " ".join(words)


# Up to this many matches, a search fetches its rows by id and sorts them; past it, it walks the
# sort's index and keeps the rows that match (cost follows the page, not the matches).
_FEW_MATCHES = 2000


def _match_count(conn: sqlite3.Connection, fts: str, query: str, limit: int) -> int:
    return conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH ? LIMIT ?)",
                        (query, limit)).fetchone()[0]


def _where(conn: sqlite3.Connection, view: View, filters: Filters) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if filters.text:
        query = fts_query(filters.text)
        if not view.fts:
            clauses.append("(description LIKE ? OR reference LIKE ?)")
            params += [f"%{filters.text}%"] * 2
        elif query:
            few = _match_count(conn, view.fts, query, _FEW_MATCHES + 1) <= _FEW_MATCHES
            # The unary + keeps SQLite from driving the query by id: it walks the sort index instead.
            clauses.append(f"{'' if few else '+'}id IN (SELECT rowid FROM {view.fts} WHERE {view.fts} MATCH ?)")
            params.append(query)
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


def page(conn: sqlite3.Connection, view: View, filters: Filters, sort: Sort,
         after: tuple[Any, int] | None = None, limit: int = 100) -> Page:
    column = view.sort_column(sort)
    clauses, params = _where(conn, view, filters)
    direction, beyond, id_beyond = ("DESC", "<", "<") if sort.descending else ("ASC", ">", ">")
    base = f"SELECT {view.select}, {column} FROM {view.table} WHERE " + " AND ".join(clauses or ["1"])
    raw: list[tuple] = []
    if after is not None:
        value, last_id = after
        raw = conn.execute(f"{base} AND {column} = ? AND id {id_beyond} ? ORDER BY id {direction} LIMIT ?",
                           (*params, value, last_id, limit)).fetchall()
        if len(raw) < limit:
            raw += conn.execute(f"{base} AND {column} {beyond} ? ORDER BY {column} {direction}, id {direction} "
                                "LIMIT ?", (*params, value, limit - len(raw))).fetchall()
    else:
        raw = conn.execute(f"{base} ORDER BY {column} {direction}, id {direction} LIMIT ?",
                           (*params, limit)).fetchall()
    rows = [view.make_row(r) for r in raw]
    cursor = (raw[-1][-1], raw[-1][0]) if len(raw) == limit else None
    return Page(rows, cursor)


def count(conn: sqlite3.Connection, view: View, filters: Filters) -> int:
    if view.fts and filters.text and filters == Filters(text=filters.text):
        # Text alone: the search index counts its own matches, no table row is read.
        query = fts_query(filters.text)
        if not query:
            return count(conn, view, Filters())
        return conn.execute(f"SELECT count(*) FROM {view.fts} WHERE {view.fts} MATCH ?", (query,)).fetchone()[0]
    clauses, params = _where(conn, view, filters)
    return conn.execute(f"SELECT count(*) FROM {view.table} WHERE " + " AND ".join(clauses or ["1"]),
                        params).fetchone()[0]
