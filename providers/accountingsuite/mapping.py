"""AccountingSuite's wire shapes <-> Ledgerdesk's domain models.

Customers are ``/companies`` entries whose ``company_type`` includes "customer" (vendors are not
customers); the domain ``Address``, contact, e-mail and phone come from the company's default billing
address. AccountingSuite has no currency, VAT number, registration number or archive flag on a company:
the currency is the database's (the client is told it), the others stay empty.

Invoices. AccountingSuite keeps a document's amounts at document level (line totals, a discount, shipping,
one sales-tax total, ``doc_total``) and trusts what it was sent; the domain works totals out from lines.
So an invoice maps to its item lines (tax-free: the tax is not per line) plus marked lines that carry the
document-level amounts: "Discount", "Shipping", "Sales tax" (its ``vat_amount`` is the tax) and, when
``doc_total`` disagrees with the rest, an "Adjustment". The domain's net, VAT and gross then equal
AccountingSuite's ``doc_total - sales_tax_total``, ``sales_tax_total`` and ``doc_total`` exactly. The marks
live in ``vat_rate_key`` (``MARKS``); writing folds those lines back into the document's fields. An
AccountingSuite line is an item (by api_code, found from the line's ``item_code``) with a price, quantity
and total: a line's description is the item's, a line discount cannot be written, and a document
discount goes back as an amount (its percentage is not kept). ``ref_num`` is the document's reference;
a create's idempotency key rides in the ``memo`` (``memo_key``), which Ledgerdesk neither shows nor changes.

The invoice list carries no lines (and no ``customer_api_code``: the client matches ``company_code``), so
a listed invoice has one marked line "Items" holding ``line_subtotal``; ``get`` gives the lines. Such an
invoice cannot be written back until its lines are loaded (``LinesNotLoaded``). ``remote_version`` is a
hash of the fields the list and a single invoice share, so a listed and a fetched copy of the same
invoice compare equal.

Status: the API creates invoices as drafts to be approved (posted) inside AccountingSuite, and nothing it
answers says whether one has been posted. A create answers ``DRAFT``; an update keeps the status the
record had; anything read answers ``APPROVED`` (issued, counts as owed), because receivables and ageing
leave drafts out and nearly every invoice of a live database has been posted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError as ModelError

from app.domain import (
    Address,
    Customer,
    DocumentStatus,
    Invoice,
    Payment,
    SalesDocument,
    quantize,
    readable_errors,
)

ZERO = Decimal(0)
ONE = Decimal(1)
CUSTOMER_TYPES = frozenset({"customer", "customer+vendor"})

# vat_rate_key marks of the lines that stand for document-level amounts.
UNLISTED = "accountingsuite:unlisted-lines"
DISCOUNT = "accountingsuite:discount"
SHIPPING = "accountingsuite:shipping"
SALES_TAX = "accountingsuite:sales-tax"
ADJUSTMENT = "accountingsuite:adjustment"
MARKS = frozenset({UNLISTED, DISCOUNT, SHIPPING, SALES_TAX, ADJUSTMENT})

# The keys a listed invoice and a fetched one both carry: what remote_version is made of.
SHARED_INVOICE_KEYS = (
    "api_code", "invoice_number", "company_code", "company_name", "date", "due_date", "ref_num", "memo",
    "doc_total", "sales_tax_total", "line_subtotal", "discount", "discount_percent", "subtotal",
    "shipping", "ship_to_address_id",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LARGEST_DIGITS = 15  # a quadrillion: more than any ledger, well inside Decimal's 28 digits
# An idempotency key rides in the memo as this prefix + key (see ``memo_key``).
KEY_PREFIX = "ledgerdesk:"


class MappingProblem(ValueError):
    """A wire record that cannot become a domain model; ``sentences`` say why."""

    def __init__(self, what: str, remote_id: str | None, sentences: list[str]):
        self.remote_id = remote_id
        self.sentences = sentences
        where = f" {remote_id}" if remote_id else ""
        super().__init__(f"AccountingSuite sent a {what}{where} that cannot be read: " + " ".join(sentences))


class LinesNotLoaded(ValueError):
    """The invoice came from the list, which has no lines: fetch it before changing it."""


# --- small readers --------------------------------------------------------------------------------


def flag(value: Any) -> bool:
    """Booleans arrive as the strings "true"/"false" (accept real ones too)."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    raise TypeError(f"expected text, got {type(value).__name__}")


def amount(value: Any, name: str) -> Decimal:
    """Numbers come as JSON numbers (parsed as Decimal); zero-padded strings are accepted too."""
    if value is None or value == "":
        return ZERO
    if isinstance(value, bool | float):
        raise TypeError(f"{name} is not an exact number")
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except ArithmeticError:
            raise TypeError(f"{name} ({value[:40]!r}) is not a number") from None
    else:
        raise TypeError(f"{name} is not a number")
    # Beyond this no book has an amount, and arithmetic to the minor unit would overflow the context.
    if not result.is_finite() or (result and result.adjusted() > _LARGEST_DIGITS):
        raise TypeError(f"{name} is not a plausible amount")
    return result


def day(value: Any, name: str, required: bool = True) -> dt.date | None:
    """A "yyyy-mm-dd" date, the only form the service writes (pydantic would take a number as Unix time)."""
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str) or not _DATE.match(value):
        raise TypeError(f"{name} is not a date in the form yyyy-mm-dd")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise TypeError(f"{name} ({value}) is not a date") from None


def fingerprint(value: Any) -> str:
    """The payload hash of a parsed wire record: its repr (keys in the service's order, Decimals exact)
    hashed. Four times cheaper than ``app.domain.payload_hash``'s sorted JSON, which matters at tens of
    thousands of records a list; the service writes its keys in a fixed order, so equal answers agree."""
    return hashlib.blake2b(repr(value).encode(), digest_size=16).hexdigest()


def text_hash(raw: str) -> str:
    """The payload hash of a record from its own JSON text, as the list carried it."""
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def _record_version(doc: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    return fingerprint([doc.get(key) for key in keys])


def wire_number(value: Decimal) -> Decimal:
    """What the API is sent: the exact decimal (decimal_json writes it as a bare JSON number)."""
    return value if value != value.to_integral_value() else value.quantize(ONE)


# --- customers ------------------------------------------------------------------------------------


def is_customer(doc: Mapping[str, Any]) -> bool:
    kind = doc.get("company_type", "customer")
    return isinstance(kind, str) and kind in CUSTOMER_TYPES


def default_address(doc: Mapping[str, Any], which: str = "default_billing") -> dict[str, Any]:
    """The company's default billing (or shipping) address; the first one if none is marked."""
    addresses = (doc.get("lines") or {}).get("addresses") or []
    if not isinstance(addresses, list) or not all(isinstance(a, dict) for a in addresses):
        raise TypeError("lines.addresses is not a list of addresses")
    for candidate in addresses:
        if flag(candidate.get(which)):
            return candidate
    return addresses[0] if addresses else {}


def customer_from_wire(doc: Mapping[str, Any], currency: str, hashed: str | None = None) -> Customer:
    """``hashed``: the payload hash when the caller has it (a list's record text); the version is the
    parsed record's, so a listed and a fetched copy agree."""
    remote_id = doc.get("api_code") if isinstance(doc.get("api_code"), str) else None
    try:
        version = fingerprint(doc)
        billing = default_address(doc)
        contact = " ".join(
            part for part in (text(billing.get(k)).strip() for k in ("first_name", "middle_name", "last_name"))
            if part
        )
        email = text(billing.get("email")).strip()
        country = text(billing.get("country")).strip().upper()
        return Customer(
            remote_id=remote_id,
            payload_hash=hashed or version,
            remote_version=version,
            name=text(doc.get("company_name")),
            contact_name=contact,
            # The service stores whatever it is given; an address the domain would refuse is left out
            # rather than making the whole customer list unreadable.
            email=email if _EMAIL.match(email) else "",
            phone=text(billing.get("phone")) or text(billing.get("cell")),
            address=Address(
                line1=text(billing.get("address_line1")),
                line2=text(billing.get("address_line2")),
                town=text(billing.get("city")),
                region=text(billing.get("state")),
                postcode=text(billing.get("zip")),
                country=country if len(country) == 2 and country.isalpha() else "",
            ),
            currency=currency,
        )
    except ModelError as error:
        raise MappingProblem("company", remote_id, readable_errors(error, Customer)) from None
    except (TypeError, AttributeError, ArithmeticError) as error:
        raise MappingProblem("company", remote_id, [str(error)]) from None


def _address_fields(customer: Customer) -> dict[str, Any]:
    first, _, last = customer.contact_name.partition(" ")
    return {
        "first_name": first,
        "middle_name": "",
        "last_name": last.strip(),
        "address_line1": customer.address.line1,
        "address_line2": customer.address.line2,
        "city": customer.address.town,
        "state": customer.address.region,
        "zip": customer.address.postcode,
        "country": customer.address.country,
        "phone": customer.phone,
        "email": customer.email,
    }


def customer_to_wire(customer: Customer) -> dict[str, Any]:
    """The body of ``POST /companies``: a customer with one "Primary" address, default for both roles."""
    address = {"address_id": "Primary", **_address_fields(customer), "default_billing": True,
               "default_shipping": True}
    return {"company_name": customer.name, "company_type": "customer", "lines": {"addresses": [address]}}


_ADDRESS_WIRE = {"line1": "address_line1", "line2": "address_line2", "town": "city", "region": "state",
                 "postcode": "zip", "country": "country"}


def customer_changes(customer: Customer, current: Mapping[str, Any]) -> dict[str, Any]:
    """The body of ``PUT /companies/{api_code}``: only what differs from ``current`` as Ledgerdesk reads it.
    The service refuses a ``company_name`` already in use, the company's own included, so the name goes
    only when it changes; the default billing address is updated in place by its api_code."""
    shown = customer_from_wire(current, customer.currency)
    body: dict[str, Any] = {}
    if customer.name != shown.name:
        body["company_name"] = customer.name
    wanted = _address_fields(customer)
    changed: dict[str, Any] = {}
    if customer.contact_name != shown.contact_name:
        changed.update({key: wanted[key] for key in ("first_name", "middle_name", "last_name")})
    for name in ("email", "phone"):
        if getattr(customer, name) != getattr(shown, name):
            changed[name] = wanted[name]
    for name, wire in _ADDRESS_WIRE.items():
        if getattr(customer.address, name) != getattr(shown.address, name):
            changed[wire] = wanted[wire]
    if changed:
        billing = default_address(current)
        if billing.get("api_code"):
            body["lines"] = {"addresses": [{"api_code": billing["api_code"], **changed}]}
        else:  # a company without any address: give it one, as the defaults
            body["lines"] = {"addresses": [{"address_id": "Primary", **wanted, "default_billing": True,
                                            "default_shipping": True}]}
    return body


# --- invoices -------------------------------------------------------------------------------------


def _marked(description: str, mark: str, price: Decimal, vat: Decimal = ZERO) -> dict[str, Any]:
    return {"description": description, "quantity": ONE, "unit_price": price, "vat_rate_key": mark,
            "vat_amount": vat}


def _document_lines(doc: Mapping[str, Any], item_lines: list[dict[str, Any]], items_net: Decimal,
                    currency: str) -> list[dict[str, Any]]:
    """Item lines plus the marked lines for discount, shipping, sales tax and any remaining difference."""
    discount = amount(doc.get("discount"), "discount")
    shipping = amount(doc.get("shipping"), "shipping")
    tax = amount(doc.get("sales_tax_total"), "sales_tax_total")
    total = amount(doc.get("doc_total"), "doc_total")
    lines = list(item_lines)
    if discount:
        percent = amount(doc.get("discount_percent"), "discount_percent")
        label = f"Discount ({percent.normalize():f}%)" if percent else "Discount"
        lines.append(_marked(label, DISCOUNT, -discount))
    if shipping:
        lines.append(_marked("Shipping", SHIPPING, shipping))
    if tax:
        lines.append(_marked("Sales tax", SALES_TAX, ZERO, tax))
    # Each marked line's net is its price, already in minor units as the service keeps them; a
    # difference smaller than a minor unit cannot be shown, so it is rounded like any line.
    rest = quantize(total - (items_net - discount + shipping + tax), currency)
    if rest:
        lines.append(_marked("Adjustment", ADJUSTMENT, rest))
    return lines


def _item_line(line: Mapping[str, Any], currency: str) -> tuple[dict[str, Any], Decimal]:
    quantity = amount(line.get("quantity"), "quantity")
    price = amount(line.get("price"), "price")
    return (
        {"description": text(line.get("item_description")), "item_code": text(line.get("item_code")),
         "quantity": quantity, "unit_price": price, "vat_amount": ZERO},
        quantize(quantity * price, currency),
    )


def invoice_from_wire(
    doc: Mapping[str, Any],
    currency: str,
    customer_for_code: Callable[[str], str | None] | None = None,
    status: DocumentStatus = DocumentStatus.APPROVED,
    hashed: str | None = None,
) -> Invoice:
    """A listed invoice (no lines: one "Items" line holds ``line_subtotal``) or a fetched one.
    ``customer_for_code`` finds a customer's api_code from its ``company_code`` (the list has no
    ``customer_api_code``). ``hashed``: the payload hash when the caller already has it."""
    remote_id = doc.get("api_code") if isinstance(doc.get("api_code"), str) else None
    try:
        customer = doc.get("customer_api_code")
        if not customer and customer_for_code is not None:
            customer = customer_for_code(text(doc.get("company_code")))
        container = doc.get("lines")
        if container is not None and not isinstance(container, dict):
            raise TypeError("lines is not an object")
        raw_lines = None if container is None else container.get("line_items")
        if container is not None and raw_lines is None:
            raise TypeError("lines has no line_items")
        if raw_lines is None:
            subtotal = amount(doc.get("line_subtotal"), "line_subtotal")
            items = [_marked("Items (open the invoice to see its lines)", UNLISTED, subtotal)]
            items_net = quantize(subtotal, currency)
        else:
            if not isinstance(raw_lines, list):
                raise TypeError("lines.line_items is not a list")
            items, items_net = [], ZERO
            for line in raw_lines:
                if not isinstance(line, dict):
                    raise TypeError("a line item is not an object")
                mapped, net = _item_line(line, currency)
                items.append(mapped)
                items_net += net
        return Invoice(
            remote_id=remote_id,
            payload_hash=hashed or fingerprint(doc),
            remote_version=_record_version(doc, SHARED_INVOICE_KEYS),
            number=text(doc.get("invoice_number")),
            customer_remote_id=customer or None,
            customer_name=text(doc.get("company_name")),
            date=day(doc.get("date"), "date"),
            due_date=day(doc.get("due_date"), "due_date", required=False),
            reference=text(doc.get("ref_num")),
            currency=currency,
            status=status,
            lines=_document_lines(doc, items, items_net, currency),
        )
    except ModelError as error:
        raise MappingProblem("sales invoice", remote_id, readable_errors(error, SalesDocument)) from None
    except (TypeError, AttributeError, ArithmeticError) as error:
        raise MappingProblem("sales invoice", remote_id, [str(error)]) from None


def memo_key(idempotency_key: str) -> str:
    return KEY_PREFIX + idempotency_key


def invoice_to_wire(
    invoice: SalesDocument,
    item_api_code: Callable[[str], str | None],
    ship_to: str,
    memo: str,
) -> dict[str, Any]:
    """The body of ``POST /invoices`` or ``PUT /invoices/{api_code}`` (a PUT replaces the whole document).

    ``item_api_code`` finds an item's api_code by its code (every AccountingSuite line is an item);
    ``ship_to`` is an address api_code of the customer; ``memo`` is kept from the service's copy (or
    carries the idempotency key of a create). Raises ``ValueError`` with a sentence for the user."""
    currency = invoice.currency
    lines, discount, shipping, tax = [], ZERO, ZERO, ZERO
    for position, line in enumerate(invoice.lines, start=1):
        net, vat = line.net(currency, invoice.rounding), line.vat(currency, invoice.rounding)
        mark = line.vat_rate_key
        if mark == UNLISTED:
            raise LinesNotLoaded(
                "This invoice was listed without its lines; open it so Ledgerdesk loads them, then change it."
            )
        if mark == DISCOUNT:
            discount -= net
        elif mark == SHIPPING:
            shipping += net
        elif mark == ADJUSTMENT:
            pass  # a difference the service had: kept by sending doc_total as the domain has it
        elif mark == SALES_TAX:
            tax += vat
            if net:
                raise ValueError(f"Line {position}: the sales tax line cannot have an amount before tax.")
            continue
        else:
            if not line.item_code:
                raise ValueError(f"Line {position}: AccountingSuite needs an item on every line; choose one.")
            api_code = item_api_code(line.item_code)
            if api_code is None:
                raise ValueError(f"Line {position}: there is no item “{line.item_code}” in AccountingSuite.")
            if line.discount_percent:
                raise ValueError(
                    f"Line {position}: AccountingSuite has no line discounts; lower the price instead."
                )
            lines.append({"api_code": api_code, "price": line.unit_price, "quantity": line.quantity,
                          "line_total": wire_number(net)})
        tax += vat
    if not lines:
        raise ValueError("An AccountingSuite invoice needs at least one line with an item.")
    if invoice.customer_remote_id is None:
        raise ValueError("Choose a customer that is in AccountingSuite for this invoice.")
    gross = invoice.totals().gross
    body: dict[str, Any] = {
        "customer_api_code": invoice.customer_remote_id,
        "ship_to_api_code": ship_to,
        "date": invoice.date.isoformat(),
        "due_date": (invoice.due_date or invoice.date).isoformat(),
        "ref_num": invoice.reference,
        "memo": memo,
        "doc_total": wire_number(gross),
        "sales_tax_total": wire_number(tax),
        "lines": {"line_items": lines},
    }
    if discount:
        body["discount"] = wire_number(discount)
    if shipping:
        body["shipping"] = wire_number(shipping)
    return body


# --- cash receipts --------------------------------------------------------------------------------


def receipt_to_wire(payment: Payment, company_name: str, idempotency_key: str) -> dict[str, Any]:
    """``POST /cashreceipts``: the customer goes by name; the reference in ``ref_num`` and the key in the
    memo, as on invoices."""
    return {
        "company_name": company_name,
        "date": payment.date.isoformat(),
        "amount": wire_number(payment.amount),
        "ref_num": payment.reference,
        "memo": memo_key(idempotency_key),
    }
