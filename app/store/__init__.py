"""One SQLite file per company: schema and migrations, bulk upserts, keyset-paged views, search, outbox."""

from app.store.database import CompanyExists, NewerSchema, StoreError
from app.store.queries import BANK_TRANSACTIONS, CUSTOMERS, INVOICES, Filters, Page, Sort
from app.store.store import CompanyStore

__all__ = ["BANK_TRANSACTIONS", "CUSTOMERS", "INVOICES", "CompanyExists", "CompanyStore", "Filters", "NewerSchema",
           "Page", "Sort", "StoreError"]
