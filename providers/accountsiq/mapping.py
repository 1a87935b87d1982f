"""AccountsIQ records <-> Ledgerdesk's domain models.

Reading (wire -> domain), from the members of each record element (``envelope.members``):

- Customer: ``remote_id`` is the customer ``Code`` (what GetCustomer, invoices' ``AccountCode`` and
  DeleteCustomerByCode use); ``archived`` is ``not IsActive``; the address is Address1/2, City,
  County_State, PostCode and the two-letter ``CountryCode``. AccountsIQ has no company-number member:
  Ledgerdesk keeps it in ``Notes`` as ``Company number <n>`` (the demo data does the same) and reads it
  back from there; any other Notes are left alone.
- Invoice / credit note (``Type`` Invoice / Note): ``Status`` Processed is a draft, Posted is posted
  (the ledger has it, nothing can change it). The shape has no due date: it is the invoice date plus
  the customer's credit term (``CreditTermID`` -> ``GetCreditTermList``; "end of month" terms count
  from the end of the invoice's month). It has no amount paid either (that lives on the posted
  transaction, listed as payments and ledger lines): ``amount_paid`` stays 0. Each line keeps the
  service's own tax code as ``vat_rate_key``, its rate, and its ``TaxAmount`` as ``vat_amount``
  (the service prices lines itself, half up per line; the domain's totals then land on its figures).
- References: a document Ledgerdesk created carries ``ld:<idempotency key>`` in ``ExternalReference``
  (what ``GetInvoicesByExternalReference`` finds, unique per entity), so the user's own reference for
  it travels in the header ``Notes``. For every other document ``reference`` is the
  ``ExternalReference`` (the demo's "PO 12345" style customer references).
- Versions: ``remote_version`` is the ``RowVersionNumber`` for customers and documents (it changes on
  every save and post, and a save that sends an older one is refused: ``OUTDATED_RECORD``), else the
  payload hash. ``payload_hash`` hashes the raw bytes of the record as the service sent them.
- Transactions (``GetTransactionsModifiedBy``) give ledger lines (debit positive, in base currency),
  bank transactions (those with a ``TransactionBankGLAccountNumber``: the bank line's amount, money
  in positive) and payments (``SR`` receipts from customers, ``PP`` payments to suppliers).

Writing (domain -> wire) changes a record element that was read from the service (a new one from
``GetNewSalesInvoice``/``GetNewCustomerFromDefaults``, an existing one from ``GetInvoice``/
``GetCustomer``) member by member and sends it back whole, because the service replaces a record with
what it is sent: members Ledgerdesk does not know go back exactly as they came.
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from xml.etree.ElementTree import Element, SubElement

from pydantic import ValidationError as PydanticError

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
    SalesDocument,
    payload_hash,
    readable_errors,
)
from app.domain.banking import PaymentDirection
from app.domain.money import minor_units
from app.domain.parties import Address
from providers.accountsiq.envelope import (
    NIL,
    Q,
    Unreadable,
    bool_of,
    date_of,
    date_text,
    decimal_of,
    decimal_text,
    int_of,
    local,
    members,
    text_of,
)

KEY_PREFIX = "ld:"
MAX_REFERENCE = 50  # the service's limit on ExternalReference
MAX_CODE = 20
COMPANY_NUMBER = re.compile(r"^Company number (\S+)$")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_STATUSES = {"Processed": DocumentStatus.DRAFT, "Draft": DocumentStatus.DRAFT, "Saved": DocumentStatus.DRAFT,
             "Pending": DocumentStatus.DRAFT, "Approved": DocumentStatus.APPROVED, "Posted": DocumentStatus.POSTED,
             "Cancelled": DocumentStatus.VOID, "Canceled": DocumentStatus.VOID, "Void": DocumentStatus.VOID}
_KINDS = {"Invoice": ("invoice", Invoice), "Note": ("credit_note", CreditNote)}
_CLASSES = {"A": Classification.ASSET, "L": Classification.LIABILITY, "C": Classification.EQUITY,
            "I": Classification.REVENUE, "E": Classification.EXPENSE}
_CLASS_WORDS = (("asset", Classification.ASSET), ("liabilit", Classification.LIABILITY),
                ("capital", Classification.EQUITY), ("equity", Classification.EQUITY),
                ("reserve", Classification.EQUITY), ("income", Classification.REVENUE),
                ("revenue", Classification.REVENUE), ("sales", Classification.REVENUE),
                ("expense", Classification.EXPENSE), ("cost", Classification.EXPENSE),
                ("overhead", Classification.EXPENSE))
COUNTRY_NAMES = {"GB": "United Kingdom", "IE": "Ireland", "US": "United States", "FR": "France",
                 "DE": "Germany", "ES": "Spain", "IT": "Italy", "NL": "Netherlands", "BE": "Belgium",
                 "PT": "Portugal", "CA": "Canada", "AU": "Australia", "NZ": "New Zealand"}
RECEIPTS = {"SR": PaymentDirection.RECEIVED, "PP": PaymentDirection.PAID}

# Catalogue order of the members Ledgerdesk writes, so a member a record lacks goes in its place.
INVOICE_ORDER = (
    "InvoiceID", "AccountID", "AreaID", "CurrencyCode", "CurrrencyCode", "AccountTaxCode", "PaymentMethodID",
    "ShipmentViaID", "InvoiceNumber", "ExternalReference", "CreationDate", "InvoiceDate", "ExternalApproverID",
    "DeliveryDate", "Status", "AccountName", "AccountAddress1", "AccountAddress2", "City", "County_State",
    "Country", "PostCode", "DeliveryAccountName", "DeliveryAccountAddress1", "DeliveryAccountAddress2",
    "DeliveryCity", "DeliveryCounty_State", "DeliveryCountry", "DeliveryPostCode", "Contact", "AuthorUserID",
    "Phone", "Notes", "DiscountRate", "ForCollection", "ExchangeRate", "UseAccountTaxCode", "OrderID",
    "OrderNumber", "DepartmentID", "Hold", "Ledger", "RowVersionNumber", "Lines", "IsPrinted", "AccountBranchID",
    "OrderDate", "ExcludeFromPrinting", "Type", "SalesRepresentativeID", "LockUser", "NetAmount", "TaxAmount",
    "GrossAmount", "BCNetAmount", "BCTaxAmount", "BCGrossAmount", "ApprovalStatusName", "AuthorUserName",
    "ExternalApproverName", "AccountCode",
)
LINE_ORDER = (
    "InvoiceItemID", "InvoiceID", "OrderItemID", "StockItemID", "StockItemDescription", "InvoicedQuantity",
    "DeliveredQuantity", "StockItemCost", "StockItemPrice", "DiscountRate", "ActualPrice", "TaxCode", "TaxRate",
    "NetAmount", "TaxAmount", "GrossAmount", "LocationID", "SublocationID", "CreationDate", "Notes", "Notes2",
    "AdditionalCost", "GLAccountCode", "OpeningStockGLAccountCode", "DeliveryItemID", "DepartmentID",
    "RowVersionNumber", "ProjectNumber",
)
CUSTOMER_ORDER = (
    "AccountID", "ExternalApproverID", "LedgerType", "Code", "CountryCode", "Name", "GroupID", "DefaultTaxCode",
    "AreaID", "BankAccountCode", "CountryID", "CreditTermID", "CurrencyCode", "PaymentMethodID", "AuthorUserID",
    "ShipViaID", "CreationDate", "Address1", "Address2", "City", "County_State", "Country", "PostCode",
    "DeliveryName", "DeliveryAddress1", "DeliveryAddress2", "DeliveryCity", "DeliveryCounty_State",
    "DeliveryCountry", "DeliveryPostCode", "DeliveryContact", "DeliveryPhone", "DeliveryFax", "Phone", "Fax",
    "Email", "WebAddress", "Contact", "VATRegistrationNumber", "VATExemptReference", "DiscountRate",
    "UseAccountTaxCode", "DefaultGLAccountCode", "ControlGLAccountCode", "IsActive", "Hold", "HeadOfficeAccountID",
    "Notes", "UseHeadOffice", "IsHeadOffice", "CreditLimit", "RegionID", "PriorityID", "DeliveryRouteID",
    "PriceCategoryID", "PriceListID", "DepartmentID", "InternationalBankAccountNumber", "BankSortCode", "BankCode",
    "BankSwiftCode", "AccountReferralID", "MobilePhone", "IsFranchise", "ContractorTaxCode", "RowVersionNumber",
    "EDICentralID", "EPaymentReference", "SalesRepresentativeID",
)
# The customer snapshot a document keeps: cleared when its customer changes, so the new one's is taken.
SNAPSHOT = ("AccountName", "AccountAddress1", "AccountAddress2", "City", "County_State", "Country", "PostCode",
            "Contact", "Phone", "AccountTaxCode")


class MappingProblem(ValueError):
    """A record the service sent that cannot be a domain model; ``remote_id`` names it."""

    def __init__(self, message: str, remote_id: str | None = None):
        super().__init__(message)
        self.remote_id = remote_id


Record = dict[str, str | None]
Terms = Callable[[str | None, int], "Term | None"]


class Term:
    """A credit term: days after the invoice date, or after the end of its month."""

    __slots__ = ("days", "end_of_month")

    def __init__(self, days: int, end_of_month: bool = False):
        self.days, self.end_of_month = days, end_of_month

    def due(self, day: dt.date) -> dt.date:
        if self.end_of_month:
            day = day.replace(day=calendar.monthrange(day.year, day.month)[1])
        return day + dt.timedelta(days=self.days)


# ------------------------------------------------------------------------------------------- hashing

def raw_hash(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def element_hash(element: Element) -> str:
    """For a record whose raw bytes could not be cut out of the answer: its members, nested."""
    return payload_hash(_tree(element))


def _tree(element: Element) -> Any:
    if len(element):
        return [[local(child.tag), _tree(child)] for child in element]
    return None if element.get(NIL) in ("true", "1") else (element.text or "")


def _problem(error: Exception, what: str, remote_id: str | None, model: type | None = None) -> MappingProblem:
    reason = " ".join(readable_errors(error, model)) if isinstance(error, PydanticError) else str(error)
    return MappingProblem(f"AccountsIQ sent a {what}{f' ({remote_id})' if remote_id else ''} that cannot be "
                          f"read: {reason}", remote_id)


# ------------------------------------------------------------------------------------------ customers

def customer_from_wire(record: Record, hashed: str, currency: str) -> Customer:
    code = text_of(record, "Code")
    try:
        if not code:
            raise Unreadable("it has no Code")
        notes = text_of(record, "Notes")
        number = COMPANY_NUMBER.match(notes)
        return Customer(
            remote_id=code, payload_hash=hashed, remote_version=text_of(record, "RowVersionNumber") or hashed,
            name=text_of(record, "Name"), contact_name=text_of(record, "Contact"), email=text_of(record, "Email"),
            phone=text_of(record, "Phone"),
            address=Address(line1=text_of(record, "Address1"), line2=text_of(record, "Address2"),
                            town=text_of(record, "City"), region=text_of(record, "County_State"),
                            postcode=text_of(record, "PostCode"), country=text_of(record, "CountryCode").upper()),
            vat_number=text_of(record, "VATRegistrationNumber"), company_number=number.group(1) if number else "",
            currency=text_of(record, "CurrencyCode") or currency,
            archived=not bool_of(record, "IsActive", default=True),
        )
    except (PydanticError, Unreadable, ValueError, TypeError, ArithmeticError) as error:
        raise _problem(error, "customer", code or None, Customer) from None


def customer_term(record: Record) -> str | None:
    return text_of(record, "CreditTermID") or None


def apply_customer(element: Element, customer: Customer, *, code: str | None = None,
                   version: str | None = None) -> None:
    """Write the domain's fields onto a customer element read from the service."""
    if code is not None:
        set_member(element, "Code", code, CUSTOMER_ORDER)
    address = customer.address
    for name, value in (("Name", customer.name), ("Contact", customer.contact_name), ("Email", customer.email),
                        ("Phone", customer.phone), ("Address1", address.line1), ("Address2", address.line2),
                        ("City", address.town), ("County_State", address.region), ("PostCode", address.postcode),
                        ("VATRegistrationNumber", customer.vat_number), ("CurrencyCode", customer.currency)):
        set_member(element, name, value or None, CUSTOMER_ORDER)
    country = address.country.upper()
    current = (member_text(element, "CountryCode") or "").upper()
    if country != current:
        set_member(element, "CountryCode", country or None, CUSTOMER_ORDER)
        set_member(element, "Country", COUNTRY_NAMES.get(country, country) or None, CUSTOMER_ORDER)
    notes = member_text(element, "Notes") or ""
    if customer.company_number:
        if not notes or COMPANY_NUMBER.match(notes):
            set_member(element, "Notes", f"Company number {customer.company_number}", CUSTOMER_ORDER)
    elif COMPANY_NUMBER.match(notes):
        set_member(element, "Notes", None, CUSTOMER_ORDER)
    set_member(element, "IsActive", "false" if customer.archived else "true", CUSTOMER_ORDER)
    if version:
        set_member(element, "RowVersionNumber", version, CUSTOMER_ORDER)


def customer_code(name: str, idempotency_key: str) -> str:
    """A new customer's code (AccountsIQ makes none up): up to 8 letters of the name, then 8 characters
    from the idempotency key, so a create sent twice asks for the same code and the service refuses the
    second (``ACCOUNT_CODE_ALREADY_IN_USE``) instead of making a duplicate."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    prefix = re.sub(r"[^A-Z0-9]", "", folded)[:8] or "CUST"
    return f"{prefix}-{key_suffix(idempotency_key)}"


def key_suffix(idempotency_key: str) -> str:
    digest = hashlib.blake2b(idempotency_key.encode(), digest_size=10).digest()
    return base64.b32encode(digest).decode()[:8]


# ------------------------------------------------------------------------------------------ documents

def key_reference(idempotency_key: str) -> str:
    """The ExternalReference a create carries: ``ld:`` and the key (hashed when it would not fit)."""
    key = idempotency_key.strip()
    if len(KEY_PREFIX) + len(key) > MAX_REFERENCE or not re.fullmatch(r"[A-Za-z0-9._:\-]+", key):
        key = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
    return KEY_PREFIX + key


def is_key_reference(reference: str) -> bool:
    return reference.startswith(KEY_PREFIX)


def document_from_wire(record: Record, lines: Iterable[Record], hashed: str, *, customer_code_of: Callable[[int], str | None],
                       term_of: Callable[[str], Term | None], currency: str) -> SalesDocument:
    remote_id = text_of(record, "InvoiceID")
    try:
        kind_name = text_of(record, "Type") or "Invoice"
        known = _KINDS.get(kind_name)
        if known is None:
            raise Unreadable(f"its Type is {kind_name[:40]!r}")
        kind, model = known
        status_text = text_of(record, "Status")
        status = _STATUSES.get(status_text)
        if status is None:
            raise Unreadable(f"its Status is {status_text[:40]!r}")
        if int_of(record, "InvoiceID") <= 0:
            raise Unreadable("its InvoiceID is not a positive number")
        day = date_of(record, "InvoiceDate")
        code = text_of(record, "AccountCode") or customer_code_of(int_of(record, "AccountID", 0))
        if not code:
            raise Unreadable(f"its customer (AccountID {record.get('AccountID')}) is not known")
        external = text_of(record, "ExternalReference")
        reference = text_of(record, "Notes") if is_key_reference(external) else external
        term = term_of(code)
        rate = decimal_of(record, "ExchangeRate", _ZERO)
        return model(
            remote_id=remote_id, payload_hash=hashed, remote_version=text_of(record, "RowVersionNumber") or hashed,
            kind=kind, number=text_of(record, "InvoiceNumber"), customer_remote_id=code,
            customer_name=text_of(record, "AccountName"), date=day,
            due_date=term.due(day) if term is not None else None, reference=reference,
            currency=text_of(record, "CurrencyCode") or text_of(record, "CurrrencyCode") or currency,
            exchange_rate=rate if rate > 0 else Decimal(1), status=status, lines=[_line(line) for line in lines],
        )
    except MappingProblem:
        raise
    except (PydanticError, Unreadable, ValueError, TypeError, ArithmeticError) as error:
        raise _problem(error, "document", remote_id or None, SalesDocument) from None


def _line(record: Record) -> InvoiceLine:
    values = dict(
        description=text_of(record, "StockItemDescription"), item_code=text_of(record, "StockItemID"),
        quantity=decimal_of(record, "InvoicedQuantity", _ZERO), unit_price=decimal_of(record, "StockItemPrice", _ZERO),
        discount_percent=decimal_of(record, "DiscountRate", _ZERO), vat_rate_key=text_of(record, "TaxCode"),
        vat_rate=decimal_of(record, "TaxRate", _ZERO), vat_amount=decimal_of(record, "TaxAmount", _ZERO),
        account_code=text_of(record, "GLAccountCode"),
    )
    if 0 <= values["discount_percent"] <= 100 and 0 <= values["vat_rate"] <= 100:
        return _checked_line(values)
    return InvoiceLine(**values)  # out of range: the model's own validation says what is wrong


# InvoiceLine's validators, which ``_checked_line``'s callers apply themselves (a test holds this list to
# the model's, so that a validator added there cannot be skipped here unnoticed).
LINE_VALIDATORS = frozenset({"_discount_is_a_percentage", "_rate_is_sane"})


def _checked_line(values: dict[str, Any]) -> InvoiceLine:
    """An InvoiceLine from values already of its fields' types (stripped text, finite Decimals) with the
    rates checked against ``LINE_VALIDATORS``: pydantic's validation of 5,000 lines a page, each
    checking again what ``envelope`` just read, was a quarter of the cost of turning a page into models."""
    line = _new_object(InvoiceLine)
    _set_attribute(line, "__dict__", values)
    _set_attribute(line, "__pydantic_fields_set__", set(values))
    _set_attribute(line, "__pydantic_extra__", None)
    _set_attribute(line, "__pydantic_private__", None)
    return line


_new_object = object.__new__
_set_attribute = object.__setattr__


def line_records(element: Element) -> list[Record]:
    holder = element.find(Q + "Lines")
    if holder is None:
        return []
    return [members(line) for line in holder if line.tag == Q + "InvoiceLine"]


def apply_document(element: Element, document: SalesDocument, *, external_reference: str | None,
                   customer: tuple[int, str] | None, version: str | None) -> None:
    """Write the domain's fields onto a document element read from the service.

    ``external_reference``: what ExternalReference must say (a create's key reference, or for a
    document not created by Ledgerdesk its reference); None leaves it as it is. ``customer``: (AccountID,
    Code) when the customer changes (the customer snapshot is then cleared so the service takes the new
    one's)."""
    order = INVOICE_ORDER
    set_member(element, "InvoiceDate", date_text(document.date), order)
    if member_text(element, "InvoiceID") in (None, "", "0"):
        set_member(element, "DeliveryDate", date_text(document.date), order)
    if document.number:
        set_member(element, "InvoiceNumber", document.number, order)
    current_reference = member_text(element, "ExternalReference") or ""
    if external_reference is not None:
        set_member(element, "ExternalReference", external_reference or None, order)
        current_reference = external_reference
    if is_key_reference(current_reference):
        set_member(element, "Notes", document.reference or None, order)
    elif external_reference is None:
        set_member(element, "ExternalReference", document.reference or None, order)
    set_member(element, "CurrencyCode", document.currency, order)
    set_member(element, "CurrrencyCode", document.currency, order)
    set_member(element, "ExchangeRate", decimal_text(document.exchange_rate), order)
    if customer is not None:
        account_id, code = customer
        set_member(element, "AccountID", str(account_id), order)
        set_member(element, "AccountCode", code, order)
        for name in SNAPSHOT:
            set_member(element, name, None, order)
    if version:
        set_member(element, "RowVersionNumber", version, order)
    _apply_lines(element, document)
    totals = document.totals()
    for prefix in ("", "BC"):
        set_member(element, prefix + "NetAmount", decimal_text(totals.net), order)
        set_member(element, prefix + "TaxAmount", decimal_text(totals.vat), order)
        set_member(element, prefix + "GrossAmount", decimal_text(totals.gross), order)


def _apply_lines(element: Element, document: SalesDocument) -> None:
    holder = element.find(Q + "Lines")
    if holder is None:
        holder = Element(Q + "Lines")
        _insert(element, holder, INVOICE_ORDER)
    old = [line for line in holder if line.tag == Q + "InvoiceLine"]
    for child in list(holder):
        holder.remove(child)
    quantum = Decimal(1).scaleb(-minor_units(document.currency))
    invoice_id = member_text(element, "InvoiceID") or "0"
    for index, line in enumerate(document.lines):
        target = old[index] if index < len(old) else _new_line(invoice_id)
        holder.append(target)
        net, vat = line.amounts(quantum, str(document.rounding))
        price = line.unit_price
        actual = price * (_HUNDRED - line.discount_percent) / _HUNDRED if line.discount_percent else price
        for name, value in (
            ("StockItemID", line.item_code or None), ("StockItemDescription", line.description or None),
            ("InvoicedQuantity", decimal_text(line.quantity)), ("DeliveredQuantity", decimal_text(line.quantity)),
            ("StockItemPrice", decimal_text(price)), ("DiscountRate", decimal_text(line.discount_percent)),
            ("ActualPrice", decimal_text(actual.quantize(Decimal("0.0001"), ROUND_HALF_UP))),
            ("TaxCode", line.vat_rate_key or None), ("TaxRate", decimal_text(line.vat_rate)),
            ("NetAmount", decimal_text(net)), ("TaxAmount", decimal_text(vat)), ("GrossAmount", decimal_text(net + vat)),
            ("GLAccountCode", line.account_code or None),
        ):
            set_member(target, name, value, LINE_ORDER)


def _new_line(invoice_id: str) -> Element:
    line = Element(Q + "InvoiceLine")
    for name, value in (("InvoiceItemID", "0"), ("InvoiceID", invoice_id), ("StockItemCost", "0"),
                        ("AdditionalCost", "false")):
        SubElement(line, Q + name).text = value
    for name in ("OrderItemID", "DeliveryItemID"):
        _insert(line, _nil(name), LINE_ORDER)
    return line


def _nil(name: str) -> Element:
    node = Element(Q + name)
    node.set(NIL, "true")
    return node


def same_document(a: SalesDocument, b: SalesDocument) -> bool:
    """Whether two documents say the same (ids, hashes and versions aside)."""
    skip = {"local_id", "remote_id", "payload_hash", "remote_version", "customer_local_id", "customer_name",
            "due_date", "amount_paid", "status"}
    return a.model_dump(exclude=skip) == b.model_dump(exclude=skip)


# ------------------------------------------------------------------------------ editing record elements

def member_text(element: Element, name: str) -> str | None:
    child = element.find(Q + name)
    if child is None or child.get(NIL) in ("true", "1"):
        return None
    return child.text or ""


def set_member(element: Element, name: str, value: str | None, order: tuple[str, ...]) -> None:
    """Set a simple member (None: leave it out, which the service reads as null)."""
    child = element.find(Q + name)
    if value is None:
        if child is not None:
            element.remove(child)
        return
    if child is None:
        child = Element(Q + name)
        _insert(element, child, order)
    child.attrib.pop(NIL, None)
    for grandchild in list(child):
        child.remove(grandchild)
    child.text = value


def _insert(element: Element, child: Element, order: tuple[str, ...]) -> None:
    name = local(child.tag)
    rank = {member: index for index, member in enumerate(order)}
    mine = rank.get(name, len(order))
    for position, existing in enumerate(element):
        if rank.get(local(existing.tag), len(order)) > mine:
            element.insert(position, child)
            return
    element.append(child)


# ---------------------------------------------------------------------------------------- transactions

def transaction_lines(element: Element) -> list[Record]:
    holder = element.find(Q + "LineDetails")
    if holder is None:
        return []
    return [members(line) for line in holder if line.tag == Q + "WSTransactionDetail"]


def ledger_lines(record: Record, lines: list[Record], hashed: str, currency: str) -> list[LedgerLine]:
    txn = text_of(record, "TransactionID")
    try:
        if int_of(record, "TransactionID") <= 0:
            raise Unreadable("its TransactionID is not a positive number")
        day = date_of(record, "TransactionDate")
        fallback = text_of(record, "InternalNumber")
        out = []
        for number, line in enumerate(lines, start=1):
            version = raw_hash(f"{hashed}#{number}".encode())
            amount = decimal_of(line, "BCAmount", None) if line.get("BCAmount") else decimal_of(line, "Amount")
            out.append(LedgerLine(
                remote_id=f"{txn}.{number}", payload_hash=version, remote_version=version, transaction_id=txn,
                date=date_of(line, "TransactionDate", required=False) or day,
                account_code=text_of(line, "GLAccountCode"), amount=amount, currency=currency,
                description=text_of(line, "Description") or fallback,
            ))
        return out
    except (PydanticError, Unreadable, ValueError, TypeError, ArithmeticError) as error:
        raise _problem(error, "transaction", txn or None, LedgerLine) from None


def bank_transaction(record: Record, lines: list[Record], hashed: str, currency: str) -> BankTransaction | None:
    """The bank side of a transaction, or None when it touches no bank account."""
    bank = text_of(record, "TransactionBankGLAccountNumber")
    if not bank:
        return None
    txn = text_of(record, "TransactionID")
    try:
        on_bank = [line for line in lines if text_of(line, "GLAccountCode") == bank]
        amount = sum((decimal_of(line, "Amount") for line in on_bank), _ZERO)
        description = next((text_of(line, "Description") for line in on_bank if text_of(line, "Description")), "")
        return BankTransaction(
            remote_id=txn, payload_hash=hashed, remote_version=hashed, bank_account_remote_id=bank,
            date=date_of(record, "TransactionDate"), description=description,
            reference=text_of(record, "ExternalReference") or text_of(record, "InternalNumber"), amount=amount,
            currency=text_of(record, "CurrencyCode") or currency,
            reconciled=any(bool_of(line, "IsReconciled", default=False) for line in on_bank),
        )
    except (PydanticError, Unreadable, ValueError, TypeError, ArithmeticError) as error:
        raise _problem(error, "bank transaction", txn or None, BankTransaction) from None


def payment(record: Record, hashed: str, currency: str) -> Payment | None:
    """A receipt (SR) or supplier payment (PP); None for other transactions, or one of no amount."""
    direction = RECEIPTS.get(text_of(record, "TransactionType"))
    if direction is None:
        return None
    txn = text_of(record, "TransactionID")
    try:
        amount = abs(decimal_of(record, "ControlAmount"))
        if not amount:
            return None
        return Payment(
            remote_id=txn, payload_hash=hashed, remote_version=hashed, direction=direction,
            party_remote_id=text_of(record, "AccountCode") or None,
            bank_account_remote_id=text_of(record, "TransactionBankGLAccountNumber") or None,
            date=date_of(record, "TransactionDate"), amount=amount,
            currency=text_of(record, "CurrencyCode") or currency,
            reference=text_of(record, "ExternalReference") or text_of(record, "InternalNumber"),
        )
    except (PydanticError, Unreadable, ValueError, TypeError, ArithmeticError) as error:
        raise _problem(error, "payment", txn or None, Payment) from None


# ------------------------------------------------------------------------------ chart, banks, companies

def account_from_wire(record: Record, hashed: str) -> Account:
    code = text_of(record, "Code")
    try:
        classification = _CLASSES.get(text_of(record, "GLCategoryTypeID").upper())
        if classification is None:
            words = " ".join((text_of(record, "GLCategoryTypeDescription"), text_of(record, "GLCategory"))).lower()
            classification = next((kind for word, kind in _CLASS_WORDS if word in words), None)
        if classification is None:
            raise Unreadable("its category says neither asset, liability, capital, income nor expense")
        return Account(remote_id=code, payload_hash=hashed, remote_version=hashed, code=code,
                       name=text_of(record, "Description") or code, classification=classification,
                       archived=not bool_of(record, "IsActive", default=True))
    except (PydanticError, Unreadable, ValueError, TypeError) as error:
        raise _problem(error, "GL account", code or None, Account) from None


def bank_account_from_wire(record: Record, balance: Decimal, hashed: str, currency: str) -> BankAccount:
    code = text_of(record, "Code")
    try:
        if not code:
            raise Unreadable("it has no GL account code")
        return BankAccount(remote_id=code, payload_hash=hashed, remote_version=hashed,
                           name=text_of(record, "Name") or code, account_number=text_of(record, "BankAccountCode"),
                           sort_code=text_of(record, "SortCode"), iban=text_of(record, "InternationalBankAccountNumber"),
                           currency=text_of(record, "CurrencyCode") or currency, balance=balance, account_code=code)
    except (PydanticError, Unreadable, ValueError, TypeError) as error:
        raise _problem(error, "bank account", code or None, BankAccount) from None


def term_from_wire(record: Record) -> tuple[str, Term]:
    ident = text_of(record, "ID") or text_of(record, "Code")
    if not ident:
        raise MappingProblem("AccountsIQ sent a credit term without an ID")
    try:
        return ident, Term(int_of(record, "CreditDays", 0), bool_of(record, "EndOfMonth", default=False))
    except Unreadable as error:
        raise MappingProblem(f"AccountsIQ sent a credit term ({ident}) that cannot be read: {error}", ident) from None
