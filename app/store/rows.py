"""Domain records to table rows and back. Each table's columns are declared once, here.

This is the hot path of a pull (a million invoices): row building avoids pydantic round-trips and
computes document totals in one pass over the lines.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.domain import (
    Account,
    Address,
    Allocation,
    BankAccount,
    BankTransaction,
    Customer,
    InvoiceLine,
    LedgerLine,
    Payment,
    SalesDocument,
    from_minor,
    minor_units,
    to_minor,
)
from app.domain.documents import CreditNote, Invoice

_dumps_str = json.JSONEncoder(ensure_ascii=False).encode


def _iso(day: dt.date | None) -> str:
    return day.isoformat() if day is not None else ""


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


# --- customers ---------------------------------------------------------------------------------

CUSTOMER_COLUMNS = ("remote_id", "name", "contact_name", "email", "phone", "address", "vat_number",
                    "company_number", "currency", "archived", "payload_hash", "remote_version")


def customer_row(c: Customer) -> tuple:
    a = c.address
    address = _dumps_str({"line1": a.line1, "line2": a.line2, "town": a.town, "region": a.region,
                          "postcode": a.postcode, "country": a.country})
    return (c.remote_id, c.name, c.contact_name, c.email, c.phone, address, c.vat_number, c.company_number,
            c.currency, int(c.archived), c.payload_hash, c.remote_version)


def customer_from_row(row: Any) -> Customer:
    return Customer(local_id=row["id"], remote_id=row["remote_id"], name=row["name"],
                    contact_name=row["contact_name"], email=row["email"], phone=row["phone"],
                    address=Address(**json.loads(row["address"])), vat_number=row["vat_number"],
                    company_number=row["company_number"], currency=row["currency"],
                    archived=bool(row["archived"]), payload_hash=row["payload_hash"],
                    remote_version=row["remote_version"])


# --- invoices and credit notes -----------------------------------------------------------------

INVOICE_COLUMNS = ("remote_id", "kind", "number", "customer_id", "customer_remote_id", "customer_name", "date",
                   "due_date", "reference", "currency", "exchange_rate", "status", "net", "vat", "gross",
                   "amount_due", "amount_paid", "rounding", "payload_hash", "remote_version")

# Lines are stored as positional JSON arrays in this order (half the size of objects: a document row
# stays clear of overflow pages). Decimals are JSON strings, so no float ever parses them.
LINE_FIELDS = ("description", "item_code", "quantity", "unit_price", "discount_percent", "vat_rate_key",
               "vat_rate", "vat_amount", "account_code")


@functools.lru_cache(maxsize=4096)
def _line_head(description: str, item_code: str) -> str:
    return f"[{_dumps_str(description)},{_dumps_str(item_code)},"


@functools.lru_cache(maxsize=4096)
def _line_tail(vat_rate_key: str, vat_rate: Decimal, account_code: str) -> tuple[str, str]:
    return f',{_dumps_str(vat_rate_key)},"{vat_rate}",', f",{_dumps_str(account_code)}]"


def lines_json(doc: SalesDocument) -> str:
    """The lines as positional JSON arrays (LINE_FIELDS). The parts that repeat from line to line of a
    catalogue (descriptions, codes, rates) are encoded once and remembered."""
    parts = []
    # str(), not an f-string field, for each Decimal: formatting goes through Decimal.__format__, four
    # times slower, and this runs for every line of every document of a pull.
    for line in doc.lines:
        middle, end = _line_tail(line.vat_rate_key, line.vat_rate, line.account_code)
        vat_amount = line.vat_amount
        parts.append(_line_head(line.description, line.item_code) + '"' + str(line.quantity) + '","'
                     + str(line.unit_price) + '","' + str(line.discount_percent) + '"' + middle
                     + ("null" if vat_amount is None else '"' + str(vat_amount) + '"') + end)
    return "[" + ",".join(parts) + "]"


def invoice_row(doc: SalesDocument) -> tuple:
    currency = doc.currency
    totals = doc.totals()
    scale = 10 ** minor_units(currency)
    return (doc.remote_id, doc.kind, doc.number, doc.customer_local_id, doc.customer_remote_id, doc.customer_name,
            doc.date.isoformat(), _iso(doc.due_date), doc.reference, currency, str(doc.exchange_rate),
            str(doc.status), int(totals.net * scale), int(totals.vat * scale), int(totals.gross * scale),
            int((totals.amount_due * scale).to_integral_value(ROUND_HALF_UP)), str(doc.amount_paid),
            str(doc.rounding), doc.payload_hash, doc.remote_version)


def invoice_from_row(row: Any) -> SalesDocument:
    model = CreditNote if row["kind"] == "credit_note" else Invoice
    lines = [InvoiceLine(**dict(zip(LINE_FIELDS, item, strict=True))) for item in json.loads(row["lines"])]
    return model(local_id=row["id"], remote_id=row["remote_id"], number=row["number"],
                 customer_local_id=row["customer_id"], customer_remote_id=row["customer_remote_id"],
                 customer_name=row["customer_name"], date=_date(row["date"]), due_date=_date(row["due_date"]),
                 reference=row["reference"], currency=row["currency"], exchange_rate=row["exchange_rate"],
                 status=row["status"], lines=lines, amount_paid=row["amount_paid"], rounding=row["rounding"],
                 payload_hash=row["payload_hash"], remote_version=row["remote_version"])


# --- banking, payments, ledger ------------------------------------------------------------------

BANK_ACCOUNT_COLUMNS = ("remote_id", "name", "account_number", "sort_code", "iban", "currency", "balance",
                        "account_code", "payload_hash", "remote_version")


def bank_account_row(b: BankAccount) -> tuple:
    return (b.remote_id, b.name, b.account_number, b.sort_code, b.iban, b.currency, to_minor(b.balance, b.currency),
            b.account_code, b.payload_hash, b.remote_version)


def bank_account_from_row(row: Any) -> BankAccount:
    return BankAccount(local_id=row["id"], remote_id=row["remote_id"], name=row["name"],
                       account_number=row["account_number"], sort_code=row["sort_code"], iban=row["iban"],
                       currency=row["currency"], balance=from_minor(row["balance"], row["currency"]),
                       account_code=row["account_code"], payload_hash=row["payload_hash"],
                       remote_version=row["remote_version"])


BANK_TRANSACTION_COLUMNS = ("remote_id", "bank_account_remote_id", "date", "description", "reference", "amount",
                            "currency", "reconciled", "payload_hash", "remote_version")


def bank_transaction_row(t: BankTransaction) -> tuple:
    return (t.remote_id, t.bank_account_remote_id, t.date.isoformat(), t.description, t.reference,
            to_minor(t.amount, t.currency), t.currency, int(t.reconciled), t.payload_hash, t.remote_version)


def bank_transaction_from_row(row: Any) -> BankTransaction:
    return BankTransaction(local_id=row["id"], remote_id=row["remote_id"],
                           bank_account_remote_id=row["bank_account_remote_id"], date=_date(row["date"]),
                           description=row["description"], reference=row["reference"],
                           amount=from_minor(row["amount"], row["currency"]), currency=row["currency"],
                           reconciled=bool(row["reconciled"]), payload_hash=row["payload_hash"],
                           remote_version=row["remote_version"])


PAYMENT_COLUMNS = ("remote_id", "direction", "party_remote_id", "bank_account_remote_id", "date", "amount",
                   "currency", "reference", "payload_hash", "remote_version")


def payment_row(p: Payment) -> tuple:
    return (p.remote_id, str(p.direction), p.party_remote_id, p.bank_account_remote_id, p.date.isoformat(),
            to_minor(p.amount, p.currency), p.currency, p.reference, p.payload_hash, p.remote_version)


def payment_from_row(row: Any) -> Payment:
    return Payment(local_id=row["id"], remote_id=row["remote_id"], direction=row["direction"],
                   party_remote_id=row["party_remote_id"], bank_account_remote_id=row["bank_account_remote_id"],
                   date=_date(row["date"]), amount=from_minor(row["amount"], row["currency"]),
                   currency=row["currency"], reference=row["reference"], payload_hash=row["payload_hash"],
                   remote_version=row["remote_version"])


ALLOCATION_COLUMNS = ("remote_id", "payment_remote_id", "document_remote_id", "amount", "payload_hash",
                      "remote_version")


def allocation_row(a: Allocation) -> tuple:
    return (a.remote_id, a.payment_remote_id, a.document_remote_id, str(a.amount), a.payload_hash, a.remote_version)


def allocation_from_row(row: Any) -> Allocation:
    return Allocation(local_id=row["id"], remote_id=row["remote_id"], payment_remote_id=row["payment_remote_id"],
                      document_remote_id=row["document_remote_id"], amount=row["amount"],
                      payload_hash=row["payload_hash"], remote_version=row["remote_version"])


ACCOUNT_COLUMNS = ("remote_id", "code", "name", "classification", "archived", "payload_hash", "remote_version")


def account_row(a: Account) -> tuple:
    return (a.remote_id, a.code, a.name, str(a.classification), int(a.archived), a.payload_hash, a.remote_version)


def account_from_row(row: Any) -> Account:
    return Account(local_id=row["id"], remote_id=row["remote_id"], code=row["code"], name=row["name"],
                   classification=row["classification"], archived=bool(row["archived"]),
                   payload_hash=row["payload_hash"], remote_version=row["remote_version"])


LEDGER_LINE_COLUMNS = ("remote_id", "transaction_id", "date", "account_code", "amount", "currency", "description",
                       "payload_hash", "remote_version")


def ledger_line_row(line: LedgerLine) -> tuple:
    return (line.remote_id, line.transaction_id, line.date.isoformat(), line.account_code, to_minor(line.amount, line.currency),
            line.currency, line.description, line.payload_hash, line.remote_version)


def ledger_line_from_row(row: Any) -> LedgerLine:
    return LedgerLine(local_id=row["id"], remote_id=row["remote_id"], transaction_id=row["transaction_id"],
                      date=_date(row["date"]), account_code=row["account_code"], amount=from_minor(row["amount"], row["currency"]),
                      currency=row["currency"], description=row["description"],
                      payload_hash=row["payload_hash"], remote_version=row["remote_version"])
