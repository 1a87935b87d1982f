"""AccBooks wire dicts <-> domain models, both ways.

Reading: each record gets ``remote_id`` (the service's id), ``payload_hash`` (of the raw wire dict) and
``remote_version`` (``updated_at`` where the service keeps one: invoices and contacts; else the payload
hash). Anything the domain cannot accept raises ``BadResponse`` naming the record, never another error.

The service's quirks, and the choices made here:
- Contacts hold customers and suppliers in one list: only ``type == "customer"`` maps to ``Customer``;
  the address's ``county`` is the domain's ``region``; absent values are ``null`` on the wire, ``""`` here.
- Invoice status: ``draft`` <-> DRAFT, ``sent`` <-> APPROVED (a sent invoice is in the ledger; POSTED
  is written as ``sent`` too), ``paid`` <-> PAID, ``void`` <-> VOID. A part-paid invoice stays ``sent``
  with ``amount_paid``; ``overdue`` is computed, never stored. The API cannot void or mark paid.
- VAT: the wire's ``vat_rate`` strings ``"20"``, ``"5"``, ``"0"``, ``"exempt"`` are the domain's keys
  ``standard``, ``reduced``, ``zero``, ``exempt``; each line's ``vat`` is the service's own figure and
  becomes ``vat_amount``, so the domain's totals are the service's (line-level half-up rounding).
- The idempotency key of a create travels in the invoice's ``reference`` as a trailing tag
  ``[ld:<16 hex>]`` (a hash of the key): AccBooks has no duplicate guard, and ``reference`` is the one
  free-text field it keeps on an invoice (and on a journal). Reading strips the tag, so the user sees
  their own reference; an edit writes the reference without it.
- Ledger lines (``/v1/transactions``): ``amount`` = debit - credit; the transaction is the line's
  ``source_id`` (``inv_12``, ``rcpt_12``, ``pay_3``, ``jnl_1``: unique across kinds by their prefixes).
  A ledger line on a bank account's nominal code is also that account's bank transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pydantic

from app.domain import (
    Account,
    BankAccount,
    BankTransaction,
    Customer,
    DocumentStatus,
    LedgerLine,
    SalesDocument,
    payload_hash,
)
from app.domain.record import readable_errors
from providers.base import BadResponse, ValidationError

SERVICE = "AccBooks"
STATUS_IN = {"draft": DocumentStatus.DRAFT, "sent": DocumentStatus.APPROVED, "paid": DocumentStatus.PAID,
             "void": DocumentStatus.VOID}
STATUS_OUT = {DocumentStatus.DRAFT: "draft", DocumentStatus.APPROVED: "sent", DocumentStatus.POSTED: "sent"}
RATE_IN = {"20": ("standard", Decimal(20)), "5": ("reduced", Decimal(5)), "0": ("zero", Decimal(0)),
           "exempt": ("exempt", Decimal(0))}
RATE_OUT = {"standard": "20", "reduced": "5", "zero": "0", "exempt": "exempt"}
REFERENCE_LIMIT = 255
_TAG = re.compile(r"\s*\[ld:([0-9a-f]{16})\]\s*$")
_MAPPING_ERRORS = (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError)


# --- the idempotency tag ------------------------------------------------------------------------------

def key_tag(idempotency_key: str) -> str:
    return hashlib.blake2b(idempotency_key.encode(), digest_size=8).hexdigest()


def tagged_reference(reference: str, idempotency_key: str) -> str:
    tag = f"[ld:{key_tag(idempotency_key)}]"
    text = f"{reference.strip()} {tag}".strip()
    if len(text) > REFERENCE_LIMIT:
        room = REFERENCE_LIMIT - len(tag) - 1
        raise ValidationError(f"The reference is too long for AccBooks: at most {room} characters "
                              "(the rest of its 255 carry Ledgerdesk's duplicate guard)")
    return text


def split_reference(reference: str | None) -> tuple[str, str | None]:
    """(the user's reference, the tag or None)."""
    if not reference:
        return "", None
    found = _TAG.search(reference)
    if found is None:
        return reference, None
    return reference[:found.start()], found.group(1)


# --- reading ------------------------------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"expected text, found {type(value).__name__}")
    return value


_TOO_LARGE = Decimal(10) ** 15


def _required(value: Any) -> str:
    """An id or code the record cannot be without."""
    text = _text(value)
    if not text:
        raise ValueError("a required id or code is missing")
    return text


def _money(value: Any) -> Decimal:
    """A JSON number (Decimal or int, as decimal_json reads it) or a numeric string; never a float, and
    never one no ledger holds (``1e999999`` would poison every sum it joins)."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        result = Decimal(value)
    elif isinstance(value, str):
        result = Decimal(value.strip())
    else:
        raise TypeError(f"expected a number, found {type(value).__name__}")
    if not result.is_finite() or abs(result) >= _TOO_LARGE:
        raise ValueError(f"{value} is not an amount")
    return result


def _stamped(model: type[pydantic.BaseModel], fields: dict[str, Any], raw: dict, version: str | None,
             what: str, digest: str | None) -> Any:
    digest = digest or payload_hash(raw)
    fields.update(remote_id=_required(raw.get("id")), payload_hash=digest, remote_version=version or digest)
    try:
        return model.model_validate(fields)
    except pydantic.ValidationError as error:
        raise BadResponse(f"{SERVICE} sent {what} that cannot be read: " + " ".join(readable_errors(error, model)),
                          detail=raw.get("id")) from None


def read(kind: str, builder: Callable[..., Any], raw: Any, digest: str | None = None, **context: Any) -> Any:
    """``builder(raw, digest, **context)`` with every failure of an unexpected shape turned into
    ``BadResponse``. ``digest`` is the hash of the record's raw text, where the caller has it."""
    if not isinstance(raw, dict):
        raise BadResponse(f"{SERVICE} sent {kind} that is not an object")
    try:
        return builder(raw, digest, **context)
    except BadResponse:
        raise
    except _MAPPING_ERRORS as error:
        where = raw.get("id") if isinstance(raw.get("id"), str) else "?"
        raise BadResponse(f"{SERVICE} sent {kind} {where} that cannot be read ({type(error).__name__}: "
                          f"{str(error)[:200]})", detail=where) from None


def customer(raw: dict, digest: str | None = None) -> Customer:
    address = raw.get("address") or {}
    if not isinstance(address, dict):
        raise TypeError("address is not an object")
    fields = {
        "name": _text(raw["name"]), "contact_name": _text(raw.get("contact_name")), "email": _text(raw.get("email")),
        "phone": _text(raw.get("phone")),
        "address": {"line1": _text(address.get("line1")), "line2": _text(address.get("line2")),
                    "town": _text(address.get("town")), "region": _text(address.get("county")),
                    "postcode": _text(address.get("postcode")), "country": _text(address.get("country"))},
        "vat_number": _text(raw.get("vat_number")), "company_number": _text(raw.get("company_number")),
        "currency": _text(raw.get("currency")) or "GBP", "archived": raw.get("archived") is True,
    }
    if raw.get("archived") not in (True, False, None):
        raise TypeError("archived is not true or false")
    return _stamped(Customer, fields, raw, _text(raw.get("updated_at")) or None, "a contact", digest)


def invoice(raw: dict, digest: str | None = None) -> SalesDocument:
    lines = []
    items = raw["line_items"]
    if not isinstance(items, list):
        raise TypeError("line_items is not a list")
    for item in items:
        key, rate = RATE_IN[item["vat_rate"]]
        lines.append({"description": _text(item.get("description")), "quantity": _money(item["quantity"]),
                      "unit_price": _money(item["unit_price"]),
                      "discount_percent": _money(item.get("discount_percent") or 0), "vat_rate_key": key,
                      "vat_rate": rate, "vat_amount": _money(item["vat"]),
                      "account_code": _text(item.get("nominal_code"))})
    totals = raw["totals"]
    reference, _tag = split_reference(_text(raw.get("reference")))
    fields = {
        "kind": "invoice", "number": _text(raw.get("number")), "customer_remote_id": _required(raw["customer_id"]),
        "date": raw["date"], "due_date": raw.get("due_date"), "reference": reference,
        "currency": _text(raw.get("currency")) or "GBP", "status": STATUS_IN[raw["status"]], "lines": lines,
        "amount_paid": _money(totals["amount_paid"]),
    }
    return _stamped(SalesDocument, fields, raw, _text(raw.get("updated_at")) or None, "an invoice", digest)


def bank_account(raw: dict, digest: str | None = None) -> BankAccount:
    fields = {"name": _text(raw["name"]), "account_number": _text(raw.get("account_number")),
              "sort_code": _text(raw.get("sort_code")), "iban": _text(raw.get("iban")),
              "currency": _text(raw.get("currency")) or "GBP", "balance": _money(raw.get("balance") or 0),
              "account_code": _text(raw.get("nominal_code"))}
    return _stamped(BankAccount, fields, raw, None, "a bank account", digest)


def _signed(raw: dict) -> Decimal:
    return _money(raw["debit"]) - _money(raw["credit"])


def ledger_line(raw: dict, digest: str | None = None, *, currency: str = "GBP") -> LedgerLine:
    fields = {"transaction_id": _required(raw["source_id"]), "date": raw["date"],
              "account_code": _required(raw["account_id"]), "amount": _signed(raw), "currency": currency,
              "description": _text(raw.get("description"))}
    return _stamped(LedgerLine, fields, raw, None, "a ledger line", digest)


def bank_transaction(raw: dict, digest: str | None = None, *, bank_account_id: str | None = None,
                     currency: str = "GBP") -> BankTransaction:
    reference, _tag = split_reference(_text(raw.get("reference")))
    fields = {"bank_account_remote_id": bank_account_id, "date": raw["date"],
              "description": _text(raw.get("description")), "reference": reference, "amount": _signed(raw),
              "currency": currency, "reconciled": False}
    return _stamped(BankTransaction, fields, raw, None, "a bank transaction", digest)


def account(raw: dict, digest: str | None = None) -> Account:
    """A trial-balance row (``account_id``, ``name``, ``type``): the nearest AccBooks has to a chart."""
    fields = {"code": _text(raw["account_id"]), "name": _text(raw["name"]), "classification": raw["type"],
              "archived": False}
    digest = payload_hash({"account_id": raw["account_id"], "name": raw["name"], "type": raw["type"]})
    fields.update(remote_id=fields["code"], payload_hash=digest, remote_version=digest)
    try:
        return Account.model_validate(fields)
    except pydantic.ValidationError as error:
        raise BadResponse(f"{SERVICE} sent an account that cannot be read: "
                          + " ".join(readable_errors(error, Account))) from None


# --- writing ------------------------------------------------------------------------------------------

def _blank(value: str) -> str | None:
    value = value.strip()
    return value or None


def contact_body(record: Customer, *, creating: bool) -> dict:
    a = record.address
    body = {"name": record.name, "contact_name": _blank(record.contact_name), "email": _blank(record.email),
            "phone": _blank(record.phone),
            "address": {"line1": _blank(a.line1), "line2": _blank(a.line2), "town": _blank(a.town),
                        "county": _blank(a.region), "postcode": _blank(a.postcode),
                        "country": _blank(a.country)},
            "vat_number": _blank(record.vat_number), "company_number": _blank(record.company_number),
            "currency": record.currency, "archived": record.archived}
    if creating:
        body["type"] = "customer"
    return body


def _rate_out(line) -> str:
    key = RATE_OUT.get(line.vat_rate_key)
    if key is not None:
        return key
    rate = line.vat_rate.normalize()
    # Anything else goes as a number, for the service to accept or refuse in its own words.
    return str(rate) if rate != rate.to_integral_value() else str(int(rate))


def invoice_body(record: SalesDocument, *, idempotency_key: str | None = None, creating: bool = True) -> dict:
    """The POST (``creating``) or PUT body. An edit of a paid or void invoice leaves ``status`` out (the API
    cannot set those), so the service answers it in its own words (409: it has payments, or is void)."""
    if record.kind != "invoice":
        raise ValidationError("AccBooks' API has no credit notes: raise an invoice with negative lines instead")
    status = STATUS_OUT.get(record.status)
    if status is None and creating:
        raise ValidationError(f"AccBooks' API cannot create an invoice that is already {record.status.value}: "
                              "create it sent, then record the payment or void it in AccBooks")
    if not record.customer_remote_id:
        raise ValidationError("The customer has not reached AccBooks yet: sync the customer first")
    reference = (tagged_reference(record.reference, idempotency_key) if idempotency_key
                 else _blank(record.reference))
    body = {
        "customer_id": record.customer_remote_id, "date": record.date.isoformat(),
        "due_date": record.due_date.isoformat() if record.due_date else None, "reference": reference or None,
        "currency": record.currency, "status": status,
        "line_items": [{"description": line.description, "quantity": line.quantity,
                        "unit_price": line.unit_price, "discount_percent": line.discount_percent,
                        "vat_rate": _rate_out(line), "nominal_code": line.account_code}
                       for line in record.lines],
    }
    if status is None:
        del body["status"]
    return body


def date_text(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None
