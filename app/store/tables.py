"""Each synced table, declared once: its entity name, columns, and the row codec both ways.

Upserts, edits and reads are derived from these specs, so a new entity is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.domain import (
    Account,
    Allocation,
    BankAccount,
    BankTransaction,
    Customer,
    LedgerLine,
    Payment,
    Record,
)
from app.domain.documents import SalesDocument
from app.store import rows, search
from app.store.search import SearchSpec


@dataclass(frozen=True)
class SideTable:
    """Columns kept in a table of their own, keyed by the main row's id (see schema: invoice_lines)."""

    table: str
    key: str
    columns: tuple[str, ...]
    values: Callable[[Any], tuple]
    # Its one column already holds JSON text: handed to SQLite as JSON, not as a string of it
    # (escaping a document's lines a second time was a tenth of a pull's Python time).
    is_json: bool = False


@dataclass(frozen=True)
class TableSpec:
    entity: str
    table: str
    model: type[Record]
    columns: tuple[str, ...]
    to_row: Callable[[Any], tuple]
    from_row: Callable[[Any], Any]
    # SQL for a column's value when it is not simply its own parameter (numbered ?N, 1-based).
    value_sql: dict[str, str] | None = None
    search: SearchSpec | None = None
    side: SideTable | None = None

    def __post_init__(self) -> None:
        assert self.columns[0] == "remote_id", "upserts key on the first column"

    def select_sql(self) -> str:
        """One row by local id, with its side columns."""
        if self.side is None:
            return f"SELECT * FROM {self.table} WHERE id = ?"
        side = ", ".join(f"s.{c}" for c in self.side.columns)
        return (f"SELECT {self.table}.*, {side} FROM {self.table} "
                f"LEFT JOIN {self.side.table} s ON s.{self.side.key} = {self.table}.id WHERE {self.table}.id = ?")

    def values_clause(self) -> str:
        overrides = self.value_sql or {}
        return ", ".join(overrides.get(name, f"?{index}") for index, name in enumerate(self.columns, start=1))


CUSTOMERS = TableSpec("customer", "customers", Customer, rows.CUSTOMER_COLUMNS, rows.customer_row,
                      rows.customer_from_row, search=search.CUSTOMERS)
INVOICES = TableSpec(
    "invoice", "invoices", SalesDocument, rows.INVOICE_COLUMNS, rows.invoice_row, rows.invoice_from_row,
    # A pulled document names its customer by remote id; the store links the local row.
    value_sql={"customer_id": "coalesce(?4, (SELECT c.id FROM customers c WHERE c.remote_id = ?5))"},
    search=search.INVOICES,
    side=SideTable("invoice_lines", "invoice_id", ("lines",), lambda doc: (rows.lines_json(doc),), is_json=True))
BANK_ACCOUNTS = TableSpec("bank_account", "bank_accounts", BankAccount, rows.BANK_ACCOUNT_COLUMNS,
                          rows.bank_account_row, rows.bank_account_from_row)
BANK_TRANSACTIONS = TableSpec("bank_transaction", "bank_transactions", BankTransaction,
                              rows.BANK_TRANSACTION_COLUMNS, rows.bank_transaction_row, rows.bank_transaction_from_row)
PAYMENTS = TableSpec("payment", "payments", Payment, rows.PAYMENT_COLUMNS, rows.payment_row, rows.payment_from_row)
ALLOCATIONS = TableSpec("allocation", "allocations", Allocation, rows.ALLOCATION_COLUMNS, rows.allocation_row,
                        rows.allocation_from_row)
ACCOUNTS = TableSpec("account", "accounts", Account, rows.ACCOUNT_COLUMNS, rows.account_row, rows.account_from_row)
LEDGER_LINES = TableSpec("ledger_line", "ledger_lines", LedgerLine, rows.LEDGER_LINE_COLUMNS, rows.ledger_line_row,
                         rows.ledger_line_from_row)

ALL = (CUSTOMERS, INVOICES, BANK_ACCOUNTS, BANK_TRANSACTIONS, PAYMENTS, ALLOCATIONS, ACCOUNTS, LEDGER_LINES)
BY_ENTITY = {spec.entity: spec for spec in ALL}
