"""The full-text index beside each searchable table, kept in step in the same transaction as its rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.domain import Customer
from app.domain.documents import SalesDocument


@dataclass(frozen=True)
class SearchSpec:
    fts: str
    columns: tuple[str, ...]
    values: Callable[[Any], tuple]  # the record's text for each column

    def insert_sql(self) -> str:
        marks = ", ".join("?" * (len(self.columns) + 1))
        return f"INSERT INTO {self.fts}(rowid, {', '.join(self.columns)}) VALUES ({marks})"


CUSTOMERS = SearchSpec(
    "customers_fts", ("name", "contact_name", "email", "vat_number", "company_number"),
    lambda c: (c.name, c.contact_name, c.email, c.vat_number, c.company_number))

INVOICES = SearchSpec(
    "invoices_fts", ("number", "customer_name", "reference", "descriptions"),
    # Each distinct description once: the index only needs to know a word is there.
    lambda d: (d.number, d.customer_name, d.reference, " ".join(dict.fromkeys(line.description for line in d.lines))))

FOR_MODEL: list[tuple[type, SearchSpec]] = [(Customer, CUSTOMERS), (SalesDocument, INVOICES)]


def index(conn: sqlite3.Connection, spec: SearchSpec, items: Iterable[tuple[int, tuple]], *, replace: bool) -> None:
    """Index ``(rowid, values)`` pairs; with ``replace``, drop what was indexed for those rows first."""
    items = list(items)
    if replace:
        conn.executemany(f"DELETE FROM {spec.fts} WHERE rowid = ?", [(rowid,) for rowid, _ in items])
    conn.executemany(spec.insert_sql(), [(rowid, *values) for rowid, values in items])


def unindex(conn: sqlite3.Connection, spec: SearchSpec, rowid: int) -> None:
    conn.execute(f"DELETE FROM {spec.fts} WHERE rowid = ?", (rowid,))
