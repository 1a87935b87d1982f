"""Sales and purchase documents and the allocations that settle them.

The rules the reference states: updating a non-draft invoice or credit note (bill, expense) voids it and
creates a copy with a new id, while a quote or draft is updated in place; reading a voided revision
answers a redirect to the current one; deleting voids a non-draft document and hard-deletes a draft or
quote. Totals are the sums of lines priced one by one (``sandbox_chart``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from starlette.responses import Response
from starlette.routing import Route

from providers.clearbooks.sandbox_api import API, Call, api_route, crud, list_records
from providers.clearbooks.sandbox_books import Books
from providers.clearbooks.sandbox_chart import HOME_CURRENCY, VAT_TREATMENTS, line_net, line_vat
from providers.clearbooks.sandbox_http import (
    ApiError,
    Fields,
    int_query,
    invalid,
    json_response,
    not_found,
    text_response,
)

ZERO = Decimal("0.00")
DEFAULT_TERMS_DAYS = 30
SUPERSEDED = "superseded"  # old revision id -> {"collection", "supersededBy"}

_COMMON_INPUTS = ("documentNumber", "date", "dateAccrual", "reference", "currency", "exchangeRate",
                  "description", "vatTreatment", "lineItems")


@dataclass(frozen=True)
class Kind:
    family: str  # "sales" | "purchases"
    type: str
    label: str
    prefix: str
    revisable: bool  # a non-draft update voids and reissues; otherwise updated in place
    posts: bool  # posts to the ledger once approved

    @property
    def collection(self) -> str:
        return f"{self.family}:{self.type}"

    @property
    def path(self) -> str:
        return f"/accounting/{self.family}/{self.type}"

    @property
    def sales(self) -> bool:
        return self.family == "sales"

    @property
    def contact_field(self) -> str:
        return "customerId" if self.sales else "supplierId"

    @property
    def contacts(self) -> str:
        return "customers" if self.sales else "suppliers"

    @property
    def is_credit(self) -> bool:
        return self.type == "creditNotes"

    @property
    def inputs(self) -> tuple[str, ...]:
        extra = ("displayBankAccountId", "internetPaymentAccountIds") if self.sales else ()
        return (*_COMMON_INPUTS, self.contact_field, "dateDue", *extra, "status")

    @property
    def sortable(self) -> tuple[str, ...]:
        return ("id", "documentNumber", "date", "dateAccrual", "datePaid", "dateDue", "reference", "currency",
                "status", "gross", "net", "vat", "due", "vatTreatment", self.contact_field)


KINDS = {kind.collection: kind for kind in (
    Kind("sales", "invoices", "Sales invoice", "INV-", True, True),
    Kind("sales", "creditNotes", "Sales credit note", "SCN-", True, True),
    Kind("sales", "quotes", "Quote", "QUO-", False, False),
    Kind("purchases", "bills", "Bill", "BILL-", True, True),
    Kind("purchases", "creditNotes", "Purchase credit note", "PCN-", True, True),
    Kind("purchases", "expenses", "Expense", "EXP-", True, True),
)}


def formatted_number(kind: Kind, number: str) -> str:
    return kind.prefix + (number.zfill(6) if number.isdigit() else number)


# --- reading a document body ------------------------------------------------------------------------------

def read_inputs(books: Books, biz: str, kind: Kind, data: dict) -> dict:
    """The document's own fields, checked; raises one 400 listing every problem."""
    f = Fields(data)
    values: dict = {"documentNumber": f.string("documentNumber", default=None, max_length=32)}
    date = values["date"] = f.date("date", required=True)
    values["dateAccrual"] = f.date("dateAccrual") or date
    values["reference"] = f.string("reference")
    currency = values["currency"] = f.string("currency", default=HOME_CURRENCY, max_length=3)
    rate = f.number("exchangeRate")
    values["description"] = f.string("description", max_length=2000)
    treatments = VAT_TREATMENTS[kind.family]
    treatment = values["vatTreatment"] = f.string("vatTreatment", required=True, default=None)
    if treatment and treatment not in treatments:
        f.fail("vatTreatment", f"must be one of: {', '.join(treatments)}")
    allowed_rates = treatments[treatment][1] if treatment in treatments else None
    lines = f.objects("lineItems", required=True)
    if lines == []:
        f.fail("lineItems", "must contain at least one line")
    values["lineItems"] = [_read_line(books, biz, line, allowed_rates, treatment) for line in lines or ()]
    contact = values[kind.contact_field] = f.integer(kind.contact_field, required=True)
    if contact is not None and not books.exists(biz, kind.contacts, contact):
        f.fail(kind.contact_field, f"there is no {kind.contacts[:-1]} {contact}")
    due = f.date("dateDue")
    if due is None and date is not None:
        due = (dt.date.fromisoformat(date) + dt.timedelta(days=DEFAULT_TERMS_DAYS)).isoformat()
    elif due is not None and date is not None and due < date:
        f.fail("dateDue", "must not be before date")
    values["dateDue"] = due
    if kind.sales:
        bank = values["displayBankAccountId"] = f.integer("displayBankAccountId")
        if bank is not None and not books.exists(biz, "bankAccounts", bank):
            f.fail("displayBankAccountId", f"there is no bank account {bank}")
        accounts = values["internetPaymentAccountIds"] = f.integers("internetPaymentAccountIds") or []
        for account in accounts:
            if not books.exists(biz, "bankAccounts", account):
                f.fail("internetPaymentAccountIds", f"there is no bank account {account}")
    values["status"] = f.string("status", default=None, choices=("draft", "approved"))
    f.check()
    if currency != HOME_CURRENCY:
        raise ApiError(400, "currencyNotEnabled", f"The currency {currency} is not enabled for this business")
    if rate is not None:
        raise invalid("exchangeRate: may only be set on a document in a foreign currency")
    return values


def _read_line(books: Books, biz: str, line: Fields, allowed_rates, treatment) -> dict:
    item = {"description": line.string("description", max_length=2000),
            "unitPrice": line.number("unitPrice", required=True),
            "quantity": line.number("quantity", default=Decimal(1)),
            "accountCode": line.integer("accountCode", required=True),
            "vatRateKey": line.string("vatRateKey", required=True, default=None),
            "vatAmount": line.number("vatAmount", places=2),
            "stockItem": line.integer("stockItem")}
    if item["accountCode"] is not None and not books.exists(biz, "accountCodes", item["accountCode"]):
        line.fail("accountCode", f"there is no account code {item['accountCode']}")
    if item["vatRateKey"] and allowed_rates is not None and item["vatRateKey"] not in allowed_rates:
        line.fail("vatRateKey", f"is not a VAT rate of the VAT treatment {treatment}")
    if item["stockItem"] is not None and not books.exists(biz, "stockItems", item["stockItem"]):
        line.fail("stockItem", f"there is no stock item {item['stockItem']}")
    return item


def inputs_of(kind: Kind, doc: dict) -> dict:
    """A stored document as a body, so an update can say only what changes. A line's VAT that is just the
    rate applied is left out, so a changed price or rate is priced again rather than kept."""
    data = {name: doc[name] for name in kind.inputs if name in doc and name != "status"}
    lines = []
    for item in doc["lineItems"]:
        net = line_net(item["unitPrice"], item["quantity"])
        computed = line_vat(net, item["vatRateKey"])
        lines.append({k: v for k, v in item.items() if not (k == "vatAmount" and v == computed)})
    data["lineItems"] = lines
    return data


# --- making the wire document -----------------------------------------------------------------------------

def assemble(kind: Kind, ident: int, number: str, values: dict, status: str) -> dict:
    """The document as Clear Books answers it; ``status`` is draft, approved or voided (settle() then
    sets paid, due and datePaid from the allocations)."""
    items = []
    net_total = vat_total = ZERO
    for item in values["lineItems"]:
        net = line_net(item["unitPrice"], item["quantity"])
        vat = line_vat(net, item["vatRateKey"], item["vatAmount"])
        net_total += net
        vat_total += vat
        items.append({"description": item["description"], "unitPrice": item["unitPrice"],
                      "quantity": item["quantity"], "accountCode": item["accountCode"],
                      "vatRateKey": item["vatRateKey"], "vatAmount": vat, "stockItem": item["stockItem"]})
    gross = net_total + vat_total
    due = ZERO if status == "voided" or not kind.posts else gross
    doc = {"id": ident, "documentNumber": number, "formattedDocumentNumber": formatted_number(kind, number),
           "date": values["date"], "dateAccrual": values["dateAccrual"], "datePaid": None,
           "reference": values["reference"], "currency": values["currency"], "exchangeRate": None,
           "description": values["description"], "status": status, "gross": gross, "net": net_total,
           "vat": vat_total}
    if not kind.sales:
        doc["due"] = due
    doc["vatTreatment"] = values["vatTreatment"]
    doc["lineItems"] = items
    doc[kind.contact_field] = values[kind.contact_field]
    doc["dateDue"] = values["dateDue"]
    if kind.sales:
        doc["due"] = due
        doc["displayBankAccountId"] = values["displayBankAccountId"]
        doc["internetPaymentAccountIds"] = values["internetPaymentAccountIds"]
    return doc


def allocation_collection(kind: Kind) -> str:
    return f"allocations:{kind.family}"


def allocations_of(books: Books, biz: str, kind: Kind, ident: int) -> list[dict]:
    """The allocations that settle this document (an invoice's from payments and credit notes, a credit
    note's to invoices)."""
    collection = allocation_collection(kind)
    by = books.values(biz, collection, "creditNoteId" if kind.is_credit else "invoiceId")
    return [books.get(biz, collection, alloc) for alloc, target in by.items() if target == ident]


def settle(books: Books, biz: str, kind: Kind, doc: dict) -> dict:
    """The document with due, status and datePaid as its allocations make them."""
    if not kind.posts or doc["status"] in ("draft", "voided"):
        return doc
    allocations = allocations_of(books, biz, kind, doc["id"])
    due = doc["gross"] - sum((a["amount"] for a in allocations), ZERO)
    paid = doc["gross"] != 0 and due == 0
    date_paid = max((_counterpart_date(books, biz, kind, a) for a in allocations), default=None) if paid else None
    return {**doc, "due": due, "status": "paid" if paid else "approved", "datePaid": date_paid}


def _counterpart_date(books: Books, biz: str, kind: Kind, allocation: dict) -> str:
    if kind.is_credit:
        invoice, _ = find_invoice(books, biz, kind.family, allocation["invoiceId"])
        return invoice["date"]
    if allocation["allocationType"] == "payment":
        return books.get(biz, "payments", allocation["paymentId"])["date"]
    return books.get(biz, f"{kind.family}:creditNotes", allocation["creditNoteId"])["date"]


def find_invoice(books: Books, biz: str, family: str, ident: int) -> tuple[dict | None, Kind | None]:
    """What an allocation's invoiceId may name: a sales invoice, or a bill or expense."""
    for kind in (KINDS["sales:invoices"],) if family == "sales" else (KINDS["purchases:bills"],
                                                                       KINDS["purchases:expenses"]):
        doc = books.get(biz, kind.collection, ident)
        if doc is not None:
            return doc, kind
    return None, None


def current_revision(books: Books, biz: str, collection: str, ident: int) -> int | None:
    """Where a voided revision's id now leads (following every later revision), or None."""
    pointer = books.get(biz, SUPERSEDED, ident)
    if pointer is None or pointer["collection"] != collection:
        return None
    while pointer is not None:
        ident = pointer["supersededBy"]
        pointer = books.get(biz, SUPERSEDED, ident)
    return ident


def drop_allocations(books: Books, biz: str, family: str, allocations: list[dict]) -> None:
    """Remove allocations and settle again whatever they touched."""
    collection = f"allocations:{family}"
    touched: dict[tuple[str, int], Kind] = {}
    for allocation in allocations:
        books.delete(biz, collection, allocation["id"])
        _invoice, kind = find_invoice(books, biz, family, allocation["invoiceId"])
        if kind is not None:
            touched[kind.collection, allocation["invoiceId"]] = kind
        if allocation["allocationType"] == "creditNote":
            touched[f"{family}:creditNotes", allocation["creditNoteId"]] = KINDS[f"{family}:creditNotes"]
    for (collection_name, ident), kind in touched.items():
        doc = books.get(biz, collection_name, ident)
        if doc is not None:
            books.put(biz, collection_name, settle(books, biz, kind, doc))


# --- handlers ---------------------------------------------------------------------------------------------

def list_documents(call: Call, kind: Kind) -> Response:
    return list_records(call, kind.collection, kind.sortable)


def create_document(call: Call, kind: Kind) -> Response:
    books = call.books
    values = read_inputs(books, call.biz, kind, call.json())
    status = values.pop("status") or "approved"
    number = values.pop("documentNumber") or str(books.store.next_id(f"docnum:{call.biz}:{kind.collection}"))
    doc = assemble(kind, books.next_id("txn"), number, values, status)
    books.put(call.biz, kind.collection, doc)
    return json_response(doc, 201)


def get_document(call: Call, kind: Kind) -> Response:
    ident = call.arg("id")
    text = call.books.text(call.biz, kind.collection, ident)
    if text is not None:
        return text_response(text)
    current = current_revision(call.books, call.biz, kind.collection, ident)
    if current is None:
        raise not_found(kind.label, ident)
    return Response(status_code=302, headers={"Location": call.absolute(f"{API}{kind.path}/{current}")})


def _current(call: Call, kind: Kind, ident: int) -> dict:
    doc = call.books.get(call.biz, kind.collection, ident)
    if doc is None:
        current = current_revision(call.books, call.biz, kind.collection, ident)
        if current is not None:
            raise ApiError(400, "documentVoided", f"{kind.label} {ident} was voided and replaced by revision "
                           f"{current}; use that id")
        raise not_found(kind.label, ident)
    if doc["status"] == "voided":
        raise ApiError(400, "documentVoided", f"{kind.label} {ident} is void and cannot be changed")
    return doc


def update_document(call: Call, kind: Kind) -> Response:
    books, biz, ident = call.books, call.biz, call.arg("id")
    doc = _current(call, kind, ident)
    body = {name: value for name, value in call.json().items() if name in kind.inputs}
    if body.get("status") == doc["status"]:
        del body["status"]  # a document read and sent back whole says "paid": that is no change
    values = read_inputs(books, biz, kind, {**inputs_of(kind, doc), **body})
    requested = values.pop("status")
    number = values.pop("documentNumber") or doc["documentNumber"]
    if not kind.revisable or doc["status"] == "draft":
        updated = settle(books, biz, kind, assemble(kind, ident, number, values, requested or doc["status"]))
        books.put(biz, kind.collection, updated)
        return json_response(updated)
    if requested == "draft":
        raise ApiError(400, "invalidStatus", f"An approved {kind.label.lower()} cannot return to draft")
    allocations = allocations_of(books, biz, kind, ident)
    if allocations and values[kind.contact_field] != doc[kind.contact_field]:
        raise ApiError(400, "documentAllocated", f"{kind.label} {ident} has allocations, so its "
                       f"{kind.contact_field} cannot change")
    revision = assemble(kind, books.next_id("txn"), number, values, "approved")
    allocated = sum((a["amount"] for a in allocations), ZERO)
    if revision["gross"] < allocated:
        raise ApiError(400, "allocationsExceedTotal", f"The new total {revision['gross']} is less than the "
                       f"{allocated} already allocated to {kind.label.lower()} {ident}")
    moved = "creditNoteId" if kind.is_credit else "invoiceId"
    for allocation in allocations:
        books.put(biz, allocation_collection(kind), {**allocation, moved: revision["id"]})
    books.delete(biz, kind.collection, ident)
    books.put(biz, SUPERSEDED, {"id": ident, "collection": kind.collection, "supersededBy": revision["id"]})
    revision = settle(books, biz, kind, revision)
    books.put(biz, kind.collection, revision)
    return json_response(revision)


def delete_document(call: Call, kind: Kind) -> Response:
    books, biz, ident = call.books, call.biz, call.arg("id")
    doc = _current(call, kind, ident)
    if not kind.revisable or doc["status"] == "draft":
        books.delete(biz, kind.collection, ident)
    else:
        drop_allocations(books, biz, kind.family, allocations_of(books, biz, kind, ident))
        books.put(biz, kind.collection, {**doc, "status": "voided", "due": ZERO, "datePaid": None})
    return Response(status_code=204)


# --- allocations ------------------------------------------------------------------------------------------

ALLOCATION_SORTABLE = ("id", "invoiceId", "paymentId", "creditNoteId", "allocationType", "amount")


def list_allocations(call: Call, family: str) -> Response:
    collection = f"allocations:{family}"
    wanted = {name: int_query(call.params, name) for name in ("paymentId", "creditNoteId", "invoiceId")}
    kind_filter = call.params.get("allocationType")
    if kind_filter not in (None, "", "payment", "creditNote"):
        raise invalid("allocationType must be payment or creditNote", "invalidParameter")
    checks = [(call.books.values(call.biz, collection, name), value)
              for name, value in wanted.items() if value is not None]
    if kind_filter:
        checks.append((call.books.values(call.biz, collection, "allocationType"), kind_filter))
    keep = (lambda ident: all(values.get(ident) == value for values, value in checks)) if checks else None
    return list_records(call, collection, ALLOCATION_SORTABLE, keep)


def get_allocation(call: Call, family: str) -> Response:
    text = call.books.text(call.biz, f"allocations:{family}", call.arg("id"))
    if text is None:
        raise not_found("Allocation", call.arg("id"))
    return text_response(text)


def delete_allocation(call: Call, family: str) -> Response:
    allocation = call.books.get(call.biz, f"allocations:{family}", call.arg("id"))
    if allocation is None:
        raise not_found("Allocation", call.arg("id"))
    drop_allocations(call.books, call.biz, family, [allocation])
    return Response(status_code=204)


def create_allocation(call: Call, family: str) -> Response:
    books, biz = call.books, call.biz
    f = Fields(call.json())
    kind_name = f.string("allocationType", required=True, default=None, choices=("payment", "creditNote"))
    invoice_id = f.integer("invoiceId", required=True)
    source_field = "creditNoteId" if kind_name == "creditNote" else "paymentId"
    source_id = f.integer(source_field, required=True)
    amount = f.number("amount", required=True, places=2)
    if amount is not None and amount <= 0:
        f.fail("amount", "must be more than zero")
    f.check()
    invoice, invoice_kind = find_invoice(books, biz, family, invoice_id)
    if invoice is None:
        raise invalid(f"invoiceId: there is no {'sales invoice' if family == 'sales' else 'bill'} {invoice_id}")
    if invoice["status"] != "approved":
        raise ApiError(400, "invalidStatus", f"{invoice_kind.label} {invoice_id} is {invoice['status']}: only "
                       "an approved document with an amount due takes allocations")
    contact = invoice[invoice_kind.contact_field]
    if kind_name == "payment":
        source = books.get(biz, "payments", source_id)
        if source is None:
            raise invalid(f"paymentId: there is no payment {source_id}")
        if (source["amount"] > 0) != (family == "sales"):
            raise ApiError(400, "paymentDirection", "A sales invoice takes money received (a positive payment); "
                           "a bill takes money paid out (a negative payment)")
        source_contact, available = source["contactId"], abs(source["amount"])
    else:
        credit_kind = KINDS[f"{family}:creditNotes"]
        source = books.get(biz, credit_kind.collection, source_id)
        if source is None:
            raise invalid(f"creditNoteId: there is no {credit_kind.label.lower()} {source_id}")
        if source["status"] != "approved":
            raise ApiError(400, "invalidStatus", f"{credit_kind.label} {source_id} is {source['status']}")
        source_contact, available = source[credit_kind.contact_field], source["gross"]
    if source_contact != contact:
        raise ApiError(400, "contactMismatch", f"The {kind_name} belongs to contact {source_contact}, the "
                       f"invoice to contact {contact}")
    collection = f"allocations:{family}"
    sources = books.values(biz, collection, source_field)
    amounts = books.values(biz, collection, "amount")
    available -= sum((amounts[a] for a, s in sources.items() if s == source_id), ZERO)
    if amount > invoice["due"]:
        raise ApiError(400, "allocationExceedsDue", f"{amount} is more than the {invoice['due']} due on "
                       f"{invoice_kind.label.lower()} {invoice_id}")
    if amount > available:
        raise ApiError(400, "allocationExceedsAvailable", f"{amount} is more than the {available} of the "
                       f"{kind_name} left to allocate")
    doc = {"id": books.next_id("allocation"), "invoiceId": invoice_id, source_field: source_id,
           "allocationType": kind_name, "amount": amount}
    books.put(biz, collection, doc)
    books.put(biz, invoice_kind.collection, settle(books, biz, invoice_kind, invoice))
    if kind_name == "creditNote":
        credit_kind = KINDS[f"{family}:creditNotes"]
        books.put(biz, credit_kind.collection, settle(books, biz, credit_kind, source))
    return json_response(doc, 201)


def routes(sandbox) -> list[Route]:
    found = []
    for kind in KINDS.values():
        read, write = f"accounting.{kind.family}:read", f"accounting.{kind.family}:write"
        found += [
            api_route(sandbox, kind.path, crud(read, write, get=partial(list_documents, kind=kind),
                                               post=partial(create_document, kind=kind))),
            api_route(sandbox, kind.path + "/{id:int}", crud(
                read, write, get=partial(get_document, kind=kind), patch=partial(update_document, kind=kind),
                delete=partial(delete_document, kind=kind))),
        ]
    for family in ("sales", "purchases"):
        read, write = "accounting.allocations:read", "accounting.allocations:write"
        found += [
            api_route(sandbox, f"/accounting/allocations/{family}", crud(
                read, write, get=partial(list_allocations, family=family),
                post=partial(create_allocation, family=family))),
            api_route(sandbox, f"/accounting/allocations/{family}/{{id:int}}", crud(
                read, write, get=partial(get_allocation, family=family),
                delete=partial(delete_allocation, family=family))),
        ]
    return found
