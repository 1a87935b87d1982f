"""The columns of each list, declared once: titles, formats, and which store sort each header click asks for."""

from __future__ import annotations

from app.store import BANK_TRANSACTIONS, CUSTOMERS, INVOICES, CompanyStore, Sort
from ui.models.paged import Column, PagedTableModel
from ui.models.source import StoreSource

_PENDING = Column("pending", "", kind="marker", tooltip="A clock marks a change not yet sent to the service.")

INVOICE_COLUMNS = [
    _PENDING,
    Column("number", "Number", sort="number", sample="INV-000000"),
    Column("customer_name", "Customer", sort="customer_name", stretch=True, sample="Bridgewater Architects Ltd"),
    Column("date", "Date", kind="date", sort="date", sample="30/12/2026"),
    Column("due_date", "Due", kind="due", sort="due_date", sample="30/12/2026"),
    Column("status", "Status", kind="status", sort="status", sample="Approved"),
    Column("net", "Net", kind="money", sort="net", sample="£888,888.88"),
    Column("vat", "VAT", kind="money", sort="vat", sample="£88,888.88"),
    Column("gross", "Total", kind="money", sort="gross", sample="£888,888.88"),
    Column("amount_due", "Amount due", kind="money", sort="amount_due", sample="£888,888.88"),
]

CUSTOMER_COLUMNS = [
    _PENDING,
    Column("name", "Name", sort="name", stretch=True, sample="Bridgewater Architects Ltd"),
    Column("contact_name", "Contact", sort="contact_name", sample="Siobhán Kowalski"),
    Column("email", "Email", sort="email", sample="siobhan@bridgewaterarchi.example"),
    Column("phone", "Phone", sample="01234 567890"),
    Column("balance", "Balance owed", kind="money", sort="balance", sample="£8,888,888.88"),
    Column("vat_number", "VAT number", sample="GB999999999"),
    Column("archived", "Archived", kind="yesno", sample="Archived"),
]

BANK_TRANSACTION_COLUMNS = [
    Column("date", "Date", kind="date", sort="date", sample="30/12/2026"),
    Column("description", "Description", stretch=True, sample="Receipt INV-000000 and more"),
    Column("reference", "Reference", sample="INV-000000"),
    Column("amount", "Amount", kind="money", sample="-£88,888.88"),
    Column("reconciled", "Reconciled", kind="yesno", sample="Reconciled"),
]


def invoice_model(store: CompanyStore, provider_name: str = "the service") -> PagedTableModel:
    return PagedTableModel(StoreSource(store, INVOICES), INVOICE_COLUMNS, Sort("date", descending=True),
                           pending_tip=f"Changed here and not yet sent to {provider_name}.")


def customer_model(store: CompanyStore, provider_name: str = "the service") -> PagedTableModel:
    return PagedTableModel(StoreSource(store, CUSTOMERS), CUSTOMER_COLUMNS, Sort("name"),
                           pending_tip=f"Changed here and not yet sent to {provider_name}.")


def bank_transaction_model(store: CompanyStore) -> PagedTableModel:
    return PagedTableModel(StoreSource(store, BANK_TRANSACTIONS), BANK_TRANSACTION_COLUMNS,
                           Sort("date", descending=True))
