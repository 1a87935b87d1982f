"""Clear Books' wire shapes <-> Ledgerdesk's domain models, both ways, quirks included.

Reading: a page of wire dicts becomes domain dicts and then validated models in one pass of a
``TypeAdapter`` (one call into pydantic-core per page instead of one per record). Every record gets
``remote_id`` (the wire id as text), ``payload_hash`` (a hash of the record's own JSON text, see
``rawjson``) and ``remote_version``: Clear Books has no modification stamp, so the version is the payload
hash.

Writing: ``*_to_wire(record)`` is the whole body of a create. An update sends only what changed
(``changes(new_body, current_body)``): the service merges top-level fields, and a PATCH of a non-draft
invoice voids and reissues it even when nothing changed, so an edit that changes nothing sends nothing.

Where the domain and the wire do not line up (each choice keeps a read-then-write round trip lossless):
- Customers: ``contact_name`` is forenames + surname; the ``title`` is never read or written, so the
  service keeps it. The address's ``building`` is read into ``line1`` ("building, line1"); an address
  that is written goes out whole with ``building`` empty. ``county`` is the region. Customers have no
  currency at Clear Books: they read as the business's home currency and their currency is not written.
- Sales documents: ``number`` is ``formattedDocumentNumber`` (INV-000123); written back, the prefix and
  padding come off (``documentNumber`` "123"). Statuses draft, approved, paid, voided map to DRAFT,
  APPROVED, PAID, VOID; PAID is the service's to set (from allocations), so only draft/approved are
  written. ``amount_paid`` is gross - due (0 on drafts and voided documents). Every line carries the
  service's ``vatAmount`` as ``vat_amount``, so totals equal the service's; written back, a line's
  ``vatAmount`` goes out only when it differs from what the service would work out from the rate (else
  the service would keep a stale VAT after a price change). Lines have no discount at Clear Books: a
  discount is folded into the unit price on the way out. ``item_code`` is the stock item's id.
  The document's ``description`` (its "summary") is not part of the domain: a create writes the
  idempotency key there (``ledgerdesk:<key>``) so that ``find_created`` can find it; updates leave it be.
  ``vatTreatment`` is "standard" on create and left as it is on update; ``dateAccrual`` is left to the
  service (it follows ``date`` on create).
- Bank accounts: the wire has no balance; the client fills ``balance`` from the account balances of the
  bank's account code, and the payload hash covers it, so a changed balance is a changed record.
- Payments: money in is a positive amount, money out negative; the domain has ``direction`` and a
  positive amount. ``reference`` is the payment's ``description`` (required by the service: a blank
  one is written as "Receipt" or "Payment").
- Account codes: the id is the code. The classification comes from the heading's first digit
  (1 income, 2-6 expenses, 7 assets, 8 liabilities, 9 capital and reserves). A new account's heading
  comes from its code when that is a heading (4 digits) or an account code id (7 digits) whose first
  digit is its class's (1, 2, 7, 8, 9), else a default heading for its classification (another
  service's "6100 Rent" becomes an overhead under 2005). Clear Books has no archived flag.
- Ledger lines have no id: ``remote_id`` is ``<transactionId>:<n>``, n counting the transaction's lines in
  the order the list gives them (the client carries the count across pages).
- Bank transactions can only be sent (as bank statement lines): ``transactionId`` is the idempotency key,
  and the service ignores a line whose ``transactionId`` it already has.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import PrivateAttr, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from app.domain import (
    Account,
    BankAccount,
    BankTransaction,
    Classification,
    CreditNote,
    Customer,
    DocumentStatus,
    Invoice,
    InvoiceLine,
    LedgerLine,
    Payment,
    PaymentDirection,
    SalesDocument,
    readable_errors,
)
from providers.base import BadResponse, Entity, ValidationError
from providers.clearbooks.rawjson import digest

HOME_CURRENCY = "GBP"
ZERO = Decimal(0)
_PENNY = Decimal("0.01")
_HUNDRED = Decimal(100)
KEY_PREFIX = "ledgerdesk:"

# The VAT rate keys the service documents, as percentages. The service states each line's VAT, which is
# what totals use; the rate is for showing and for deciding whether a written line needs a stated VAT.
VAT_RATES: dict[str, Decimal] = {"standard": Decimal(20), "reduced": Decimal(5), "zero": ZERO, "exempt": ZERO,
                                 "outsideScope": ZERO, "reverseCharge": ZERO}

_STATUS_IN = {"draft": DocumentStatus.DRAFT, "approved": DocumentStatus.APPROVED, "paid": DocumentStatus.PAID,
              "voided": DocumentStatus.VOID}
DOCUMENT_PREFIXES = {"invoice": "INV-", "credit_note": "SCN-"}

# Heading first digit -> classification (sandbox docstring, "Ids").
_CLASS_BY_DIGIT = {"1": Classification.REVENUE, "2": Classification.EXPENSE, "3": Classification.EXPENSE,
                   "4": Classification.EXPENSE, "5": Classification.EXPENSE, "6": Classification.EXPENSE,
                   "7": Classification.ASSET, "8": Classification.LIABILITY, "9": Classification.EQUITY}
_HEADING_DIGITS = {Classification.REVENUE: "1", Classification.EXPENSE: "2", Classification.ASSET: "7",
                   Classification.LIABILITY: "8", Classification.EQUITY: "9"}
DEFAULT_HEADINGS = {Classification.REVENUE: 1001, Classification.EXPENSE: 2005, Classification.ASSET: 7001,
                    Classification.LIABILITY: 8001, Classification.EQUITY: 9002}


class WireError(Exception):
    """A wire record is not what the service documents (raised inside mapping, turned into BadResponse)."""


# --- reissued documents ------------------------------------------------------------------------------------

class ReissuedInvoice(Invoice):
    """An invoice the service voided and reissued: ``remote_id`` is the new id, ``previous_remote_id`` the
    one the caller asked about. A private attribute, so ``model_dump()`` is an invoice's and the store
    needs to know nothing of it."""

    _previous_remote_id: str | None = PrivateAttr(default=None)

    @property
    def previous_remote_id(self) -> str | None:
        return self._previous_remote_id


class ReissuedCreditNote(CreditNote):
    _previous_remote_id: str | None = PrivateAttr(default=None)

    @property
    def previous_remote_id(self) -> str | None:
        return self._previous_remote_id


def reissued(document: SalesDocument, previous_remote_id: str) -> SalesDocument:
    """``document`` marked as the reissue of ``previous_remote_id`` (unchanged when the id did not change)."""
    if document.remote_id == previous_remote_id:
        return document
    cls = ReissuedInvoice if document.kind == "invoice" else ReissuedCreditNote
    marked = cls.model_construct(_fields_set=document.model_fields_set, **document.__dict__)
    marked._previous_remote_id = previous_remote_id
    return marked


def previous_remote_id(record: Any) -> str | None:
    """The id a record had before the service reissued it, or None."""
    return getattr(record, "previous_remote_id", None)


# --- small helpers -----------------------------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WireError(f"expected text, got {type(value).__name__}")
    return value


def _id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(f"expected a numeric id, got {value!r}"[:200])
    return str(value)


def _opt_id(value: Any) -> str | None:
    return None if value is None else _id(value)


def _wire_id(value: str | None, what: str) -> int:
    if value is None or not str(value).isdigit():
        raise ValidationError(f"{what} is not a Clear Books id: {value!r}")
    return int(value)


def _number(value: Decimal) -> Decimal | int:
    """A Decimal as the wire shows it: whole numbers as ints, others with their own scale."""
    return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else value


def _round(amount: Decimal) -> Decimal:
    return amount.quantize(_PENNY, rounding=ROUND_HALF_UP)


def stamp(domain: dict, text: str) -> dict:
    """Set the sync fields every record carries, from the record's own JSON text."""
    domain["payload_hash"] = domain["remote_version"] = digest(text)
    return domain


_WHAT = {Customer: "a customer", Invoice: "an invoice", CreditNote: "a credit note", BankAccount: "a bank account",
         Payment: "a payment", Account: "an account code", LedgerLine: "a ledger line"}


def _unreadable(model: type, why: str, detail: Any = None) -> BadResponse:
    return BadResponse(f"Clear Books sent {_WHAT.get(model, 'a record')} that Ledgerdesk cannot read: {why}",
                       detail=detail)


def validate_page(adapter: TypeAdapter, dicts: list[dict], model: type) -> list:
    try:
        return adapter.validate_python(dicts)
    except PydanticValidationError as error:
        # Validated again alone, the first bad record's problems read as sentences about its fields.
        index = error.errors()[0]["loc"][0]
        try:
            model.model_validate(dicts[index] if isinstance(index, int) else {})
            sentences = readable_errors(error, model)
        except PydanticValidationError as alone:
            sentences = readable_errors(alone, model)
        record = dicts[index].get("remote_id") if isinstance(index, int) else None
        where = f" (id {record})" if record else ""
        raise _unreadable(model, "; ".join(sentences[:3]) + where, sentences) from None


Reader = Callable[[dict, str], dict]  # (wire record, its JSON text) -> domain dict


def read_page(items: list[Any], texts: list[str], to_domain: Reader, adapter: TypeAdapter, model: type) -> list:
    """Wire dicts -> validated domain models; anything malformed is a BadResponse, never a crash."""
    try:
        dicts = [to_domain(item, text) for item, text in zip(items, texts, strict=True)]
    except (WireError, KeyError, TypeError, AttributeError, ValueError, ArithmeticError) as error:
        why = f"{str(error)[:200]}" if isinstance(error, WireError) else f"{type(error).__name__}: {str(error)[:200]}"
        raise _unreadable(model, why) from None
    return validate_page(adapter, dicts, model)


def changes(new: dict, current: dict) -> dict:
    """The fields of ``new`` whose value differs from ``current``: an update's body."""
    return {key: value for key, value in new.items() if current.get(key, _MISSING) != value}


_MISSING = object()


# --- customers ---------------------------------------------------------------------------------------------

def customer_domain(wire: dict, text: str) -> dict:
    person = wire["contactName"] or {}
    address = wire["address"] or {}
    line1 = ", ".join(part for part in (_text(address.get("building")), _text(address.get("line1"))) if part)
    return stamp({
        "remote_id": _id(wire["id"]), "name": wire["name"],
        "contact_name": " ".join(p for p in (_text(person.get("forenames")), _text(person.get("surname"))) if p),
        "email": _text(wire.get("email")), "phone": _text(wire.get("phone")),
        "address": {"line1": line1, "line2": _text(address.get("line2")), "town": _text(address.get("town")),
                    "region": _text(address.get("county")), "postcode": _text(address.get("postcode")),
                    "country": _text(address.get("countryCode"))},
        "vat_number": _text(wire.get("vatNumber")), "company_number": _text(wire.get("companyNumber")),
        "currency": HOME_CURRENCY, "archived": wire.get("archived") or False,
    }, text)


def customer_to_wire(customer: Customer) -> dict:
    forenames, _, surname = customer.contact_name.rpartition(" ")
    a = customer.address
    return {"name": customer.name, "contactName": {"forenames": forenames, "surname": surname},
            "email": customer.email, "phone": customer.phone,
            "address": {"building": "", "line1": a.line1, "line2": a.line2, "town": a.town, "county": a.region,
                        "postcode": a.postcode, "countryCode": a.country},
            "vatNumber": customer.vat_number, "companyNumber": customer.company_number,
            "archived": customer.archived}


# --- sales documents ---------------------------------------------------------------------------------------

def _line_domain(item: dict) -> dict:
    # The hot path of a sync (about 5 lines an invoice): text and amounts go to pydantic as they came
    # and are checked there; only the ids, which change type on the way, are checked here.
    stock = item.get("stockItem")
    code = item["accountCode"]
    key = item["vatRateKey"]
    if type(code) is not int or not (stock is None or type(stock) is int):
        raise WireError("a line's accountCode or stockItem is not a numeric id")
    return {"description": item.get("description") or "", "item_code": "" if stock is None else str(stock),
            "quantity": item["quantity"], "unit_price": item["unitPrice"], "vat_rate_key": key,
            "vat_rate": VAT_RATES.get(key, ZERO), "vat_amount": item.get("vatAmount"), "account_code": str(code)}


def document_domain(wire: dict, text: str, kind: str) -> dict:
    status = _STATUS_IN.get(wire["status"])
    if status is None:
        raise WireError(f"unknown document status {wire['status']!r}"[:200])
    domain = {
        "remote_id": _id(wire["id"]), "kind": kind,
        "number": wire.get("formattedDocumentNumber") or wire.get("documentNumber") or "",
        "customer_remote_id": _id(wire["customerId"]), "date": wire["date"], "due_date": wire.get("dateDue"),
        "reference": wire.get("reference") or "", "currency": wire.get("currency") or HOME_CURRENCY,
        "status": status, "lines": [_line_domain(item) for item in wire["lineItems"]],
    }
    rate = wire.get("exchangeRate")
    if rate is not None:
        domain["exchange_rate"] = rate
    if status is DocumentStatus.APPROVED or status is DocumentStatus.PAID:
        domain["amount_paid"] = wire["gross"] - wire["due"]
    return stamp(domain, text)


def invoice_domain(wire: dict, text: str) -> dict:
    return document_domain(wire, text, "invoice")


def credit_note_domain(wire: dict, text: str) -> dict:
    return document_domain(wire, text, "credit_note")


def document_number(number: str, kind: str) -> str:
    """INV-000123 -> "123": the service adds its prefix and padding itself."""
    bare = number.removeprefix(DOCUMENT_PREFIXES[kind])
    return (bare.lstrip("0") or "0") if bare.isdigit() else bare


def _line_to_wire(line: InvoiceLine, index: int) -> dict:
    price = line.unit_price
    if line.discount_percent:
        price = price * (_HUNDRED - line.discount_percent) / _HUNDRED
    account = line.account_code
    if not account.isdigit():
        raise ValidationError(f"Line {index + 1}: the account code {account!r} is not a Clear Books account "
                              "code (a number such as 1001001)")
    item: dict[str, Any] = {"description": line.description, "unitPrice": _number(price),
                            "quantity": _number(line.quantity), "accountCode": int(account),
                            "vatRateKey": line.vat_rate_key or "standard"}
    if line.vat_amount is not None:
        rate = VAT_RATES.get(item["vatRateKey"])
        worked_out = None if rate is None else _round(_round(price * line.quantity) * rate / _HUNDRED)
        if worked_out is None or worked_out != line.vat_amount:
            item["vatAmount"] = line.vat_amount
    if line.item_code:
        if not line.item_code.isdigit():
            raise ValidationError(f"Line {index + 1}: the item code {line.item_code!r} is not a Clear Books "
                                  "stock item id")
        item["stockItem"] = int(line.item_code)
    return item


def document_to_wire(doc: SalesDocument) -> dict:
    """The document's own fields as an update would send them (no summary, no VAT treatment)."""
    # Statuses compare with ==, not is: a record changed with model_copy holds the plain string.
    body: dict[str, Any] = {
        "date": doc.date.isoformat(), "dateDue": doc.due_date.isoformat() if doc.due_date else None,
        "reference": doc.reference, "currency": doc.currency,
        "customerId": _wire_id(doc.customer_remote_id, "The customer"),
        "lineItems": [_line_to_wire(line, n) for n, line in enumerate(doc.lines)],
    }
    if doc.number:
        body["documentNumber"] = document_number(doc.number, doc.kind)
    if doc.currency != HOME_CURRENCY and doc.exchange_rate != 1:
        body["exchangeRate"] = doc.exchange_rate
    if doc.status == DocumentStatus.DRAFT:
        body["status"] = "draft"
    elif doc.status in (DocumentStatus.APPROVED, DocumentStatus.POSTED):
        body["status"] = "approved"
    return body


def document_create_body(doc: SalesDocument, idempotency_key: str) -> dict:
    if doc.status == DocumentStatus.VOID:
        raise ValidationError("A document cannot be created void")
    body = document_to_wire(doc)
    if doc.status == DocumentStatus.PAID:
        body["status"] = "approved"  # paid is what allocations make it
    if body.get("dateDue") is None:
        body.pop("dateDue", None)
    return {**body, "vatTreatment": "standard", "description": KEY_PREFIX + idempotency_key}


def document_update_body(doc: SalesDocument, current: SalesDocument) -> dict:
    if doc.status == DocumentStatus.VOID and current.status != DocumentStatus.VOID:
        raise ValidationError("To void a document, delete it (Clear Books voids it and keeps it listed)")
    new, old = document_to_wire(doc), document_to_wire(current)
    if DocumentStatus.DRAFT not in (doc.status, current.status):
        # Only a draft's approval (or a wish to go back to draft, which the service refuses in its own
        # words) is a change of status: approved, posted and paid are one state to the service, and a
        # status sent to an approved invoice would void and reissue it for nothing.
        new.pop("status", None)
        old.pop("status", None)
    body = changes(new, old)
    if body.get("dateDue", "") is None:
        del body["dateDue"]  # clearing a due date is not something the service takes
    return body


# --- bank accounts -----------------------------------------------------------------------------------------

def bank_account_domain(wire: dict, text: str, balances: dict[int, Decimal]) -> dict:
    code = wire["accountCode"]
    balance = balances.get(code, ZERO)
    return stamp({
        "remote_id": _id(wire["id"]), "name": wire["name"], "account_number": _text(wire.get("accountNumber")),
        "sort_code": _text(wire.get("sortCode")), "iban": _text(wire.get("iban")),
        "currency": wire.get("currency") or HOME_CURRENCY, "balance": balance, "account_code": _id(code),
    }, f"{text}balance={balance}")


def bank_account_to_wire(account: BankAccount) -> dict:
    return {"name": account.name, "accountNumber": account.account_number, "sortCode": account.sort_code,
            "iban": account.iban}


def bank_account_create_body(account: BankAccount) -> dict:
    return {**bank_account_to_wire(account), "currency": account.currency}


# --- payments ----------------------------------------------------------------------------------------------

def payment_domain(wire: dict, text: str) -> dict:
    amount = wire["amount"]
    return stamp({
        "remote_id": _id(wire["id"]),
        "direction": PaymentDirection.RECEIVED if amount > 0 else PaymentDirection.PAID,
        "party_remote_id": _opt_id(wire.get("contactId")), "bank_account_remote_id": _opt_id(wire.get("bankAccountId")),
        "date": wire["date"], "amount": -amount if amount < 0 else amount,
        "currency": wire.get("currency") or HOME_CURRENCY, "reference": _text(wire.get("description")),
    }, text)


def payment_to_wire(payment: Payment) -> dict:
    received = payment.direction == PaymentDirection.RECEIVED
    return {"date": payment.date.isoformat(),
            "description": payment.reference or ("Receipt" if received else "Payment"),
            "amount": payment.amount if received else -payment.amount,
            "contactId": _wire_id(payment.party_remote_id, "The customer or supplier"),
            "bankAccountId": _wire_id(payment.bank_account_remote_id, "The bank account")}


# --- account codes -----------------------------------------------------------------------------------------

def classification_of(heading: int) -> Classification:
    found = _CLASS_BY_DIGIT.get(str(heading)[:1])
    if found is None:
        raise WireError(f"account heading {heading!r} has no known classification")
    return found


def account_domain(wire: dict, text: str) -> dict:
    heading = wire["heading"]
    if isinstance(heading, bool) or not isinstance(heading, int):
        raise WireError(f"account heading {heading!r} is not a number"[:200])
    return stamp({"remote_id": _id(wire["id"]), "code": _id(wire["id"]), "name": wire["name"],
                  "classification": classification_of(heading), "archived": False}, text)


def heading_for(account: Account) -> int:
    code = account.code
    candidate = None
    if code.isdigit() and len(code) == 4:
        candidate = int(code)
    elif code.isdigit() and len(code) == 7:
        candidate = int(code) // 1000
    if candidate is not None and str(candidate)[0] == _HEADING_DIGITS[account.classification]:
        return candidate
    return DEFAULT_HEADINGS[account.classification]


def account_create_body(account: Account) -> dict:
    return {"name": account.name, "heading": heading_for(account)}


def account_to_wire(account: Account) -> dict:
    return {"name": account.name}


# --- ledger lines ------------------------------------------------------------------------------------------

class LineNumbers:
    """Numbers each transaction's lines as the list gives them, across pages."""

    def __init__(self) -> None:
        self.transaction: Any = None
        self.count = 0

    def ledger_line_domain(self, wire: dict, text: str) -> dict:
        txn = wire["transactionId"]
        if txn != self.transaction:
            self.transaction, self.count = txn, 0
        self.count += 1
        return stamp({"remote_id": f"{_id(txn)}:{self.count}", "transaction_id": _id(txn),
                      "date": wire["accountingDate"], "account_code": _id(wire["accountCodeId"]),
                      "amount": wire["amount"], "currency": HOME_CURRENCY, "description": ""}, text)


# --- bank transactions (statement lines) -------------------------------------------------------------------

def statement_line(transaction: BankTransaction, transaction_id: str) -> dict:
    description = transaction.description or transaction.reference
    if transaction.description and transaction.reference:
        description = f"{transaction.description} ({transaction.reference})"
    return {"transactionId": transaction_id, "transactionDate": transaction.date.isoformat(),
            "description": description, "amount": transaction.amount}


# --- one adapter per model, made once ----------------------------------------------------------------------

ADAPTERS: dict[type, TypeAdapter] = {model: TypeAdapter(list[model]) for model in (
    Customer, Invoice, CreditNote, BankAccount, Payment, Account, LedgerLine)}

PAGE_MODELS: dict[Entity, type] = {
    Entity.CUSTOMERS: Customer, Entity.INVOICES: Invoice, Entity.CREDIT_NOTES: CreditNote,
    Entity.BANK_ACCOUNTS: BankAccount, Entity.PAYMENTS: Payment, Entity.ACCOUNTS: Account,
    Entity.LEDGER_LINES: LedgerLine,
}


def models(entity: Entity, items: list[Any], texts: list[str], to_domain: Reader) -> list:
    model = PAGE_MODELS[entity]
    return read_page(items, texts, to_domain, ADAPTERS[model], model)


def one(entity: Entity, item: Any, text: str, to_domain: Reader) -> Any:
    return models(entity, [item], [text], to_domain)[0]
