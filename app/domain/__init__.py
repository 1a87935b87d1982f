"""The shared language of Ledgerdesk: pydantic models with exact Decimal money. Imports nothing else of ours."""

from app.domain.banking import Allocation, BankAccount, BankTransaction, Payment, PaymentDirection
from app.domain.documents import CreditNote, DocumentStatus, Invoice, InvoiceLine, SalesDocument, Totals
from app.domain.ledger import Account, Classification, LedgerLine
from app.domain.money import Amount, Rounding, from_minor, minor_units, quantize, to_minor
from app.domain.parties import Address, Customer
from app.domain.record import Record, payload_hash, readable_errors

__all__ = [
    "Account", "Address", "Allocation", "Amount", "BankAccount", "BankTransaction", "Classification",
    "CreditNote", "Customer", "DocumentStatus", "Invoice", "InvoiceLine", "LedgerLine", "Payment",
    "PaymentDirection", "Record", "Rounding", "SalesDocument", "Totals", "from_minor", "minor_units",
    "payload_hash", "quantize", "readable_errors", "to_minor",
]
