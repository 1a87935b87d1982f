"""What "the cache equals the service" means, record by record, for the fields both sides hold."""

from __future__ import annotations

import sqlite3
from typing import Any

from app.store import CompanyStore, tables

CUSTOMER_FIELDS = ("name", "contact_name", "email", "phone")
INVOICE_FIELDS = ("number", "customer_remote_id", "date", "due_date", "reference", "gross", "status")


def customer_view(customer: Any) -> tuple:
    return (*(getattr(customer, name) for name in CUSTOMER_FIELDS), customer.address.one_line())


def invoice_view(doc: Any) -> tuple:
    return tuple(getattr(doc, name) for name in INVOICE_FIELDS)


def stored(store: CompanyStore, spec) -> dict[str, Any]:
    conn = store.reader()
    ids = [r[0] for r in conn.execute(f"SELECT id FROM {spec.table} WHERE remote_id IS NOT NULL")]
    found = {}
    for local_id in ids:
        record = store.get(spec, local_id)
        found[record.remote_id] = record
    return found


def unsynced(store: CompanyStore) -> int:
    return len(store.outbox_entries())


def cache_matches(store: CompanyStore, customers: list, invoices: list) -> list[str]:
    """Differences between the cache and the service (empty: equal)."""
    problems = []
    for spec, remote, view in ((tables.CUSTOMERS, customers, customer_view), (tables.INVOICES, invoices, invoice_view)):
        here = stored(store, spec)
        there = {r.remote_id: r for r in remote}
        for missing in there.keys() - here.keys():
            problems.append(f"{spec.entity} {missing} is at the service, not in the cache")
        for extra in here.keys() - there.keys():
            problems.append(f"{spec.entity} {extra} is in the cache, not at the service")
        for remote_id in here.keys() & there.keys():
            if view(here[remote_id]) != view(there[remote_id]):
                problems.append(f"{spec.entity} {remote_id}: cache {view(here[remote_id])} != "
                                f"service {view(there[remote_id])}")
    local_only = store.reader().execute("SELECT count(*) FROM customers WHERE remote_id IS NULL").fetchone()[0]
    if local_only:
        problems.append(f"{local_only} customers never reached the service")
    return problems


def integrity(store: CompanyStore) -> None:
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


async def service_records(harness) -> tuple[list, list]:
    """The service's customers, and its invoices with its credit notes (one table here)."""
    from providers.base import Entity, Operation

    async with harness.client() as remote:
        customers = [c async for page in remote.list(Entity.CUSTOMERS) for c in page.items]
        documents = []
        for entity in (Entity.INVOICES, Entity.CREDIT_NOTES):
            if remote.capabilities.supports(entity, Operation.LIST):
                documents += [d async for page in remote.list(entity) for d in page.items]
    return customers, documents
