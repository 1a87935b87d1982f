"""Which store table each provider list fills, and which provider entity an outbox entry goes to.

Invoices and credit notes are two lists at a provider and one table here (``kind`` tells them apart),
so deletion detection of each list looks only at the rows of its own kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain import CreditNote, Invoice, Record
from app.store import tables
from app.store.tables import TableSpec
from providers.base import Entity


@dataclass(frozen=True)
class Target:
    entity: Entity
    spec: TableSpec
    kind: str | None = None  # the rows of the shared table that this list holds


# Pull order: parties and accounts before the documents and payments that name them, so that a
# document's customer is already stored when the document is (the store links them by remote id).
TARGETS: tuple[Target, ...] = (
    Target(Entity.ACCOUNTS, tables.ACCOUNTS),
    Target(Entity.CUSTOMERS, tables.CUSTOMERS),
    Target(Entity.BANK_ACCOUNTS, tables.BANK_ACCOUNTS),
    Target(Entity.INVOICES, tables.INVOICES, "invoice"),
    Target(Entity.CREDIT_NOTES, tables.INVOICES, "credit_note"),
    Target(Entity.PAYMENTS, tables.PAYMENTS),
    Target(Entity.BANK_TRANSACTIONS, tables.BANK_TRANSACTIONS),
    Target(Entity.LEDGER_LINES, tables.LEDGER_LINES),
)
BY_ENTITY = {target.entity: target for target in TARGETS}

# What a local edit of each table is sent as (invoices by their kind).
_PUSH_ENTITY = {
    tables.CUSTOMERS.entity: Entity.CUSTOMERS,
    tables.BANK_ACCOUNTS.entity: Entity.BANK_ACCOUNTS,
    tables.BANK_TRANSACTIONS.entity: Entity.BANK_TRANSACTIONS,
    tables.PAYMENTS.entity: Entity.PAYMENTS,
    tables.ACCOUNTS.entity: Entity.ACCOUNTS,
    tables.LEDGER_LINES.entity: Entity.LEDGER_LINES,
}


def push_entity(store_entity: str, edit: dict[str, Any] | None) -> Entity:
    if store_entity == tables.INVOICES.entity:
        return Entity.CREDIT_NOTES if (edit or {}).get("kind") == "credit_note" else Entity.INVOICES
    return _PUSH_ENTITY[store_entity]


def spec_of(store_entity: str) -> TableSpec:
    return tables.BY_ENTITY[store_entity]


def to_model(spec: TableSpec, data: dict[str, Any]) -> Record:
    """A record from an outbox entry's JSON (sales documents as their own kind, as clients expect)."""
    if spec is tables.INVOICES:
        return (CreditNote if data.get("kind") == "credit_note" else Invoice).model_validate(data)
    return spec.model.model_validate(data)


# Fields that say where a record lives, not what it says: never part of a comparison or a merge. A
# document's local customer id and customer name follow from its customer (the store fills the name in
# on save; some services list documents without it).
SYNC_FIELDS = frozenset({"local_id", "remote_id", "payload_hash", "remote_version", "customer_local_id",
                         "customer_name"})


def content(data: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (data or {}).items() if k not in SYNC_FIELDS}
