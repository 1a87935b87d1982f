"""The Clear Books sandbox's plain resources: businesses, account codes, bank accounts, customers and
suppliers, stock items, payments, journals, and the read-only ledger, balances and VAT lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from starlette.responses import Response
from starlette.routing import Route

from providers.clearbooks.sandbox_api import Call, api_route, crud, list_records
from providers.clearbooks.sandbox_books import SERVICE
from providers.clearbooks.sandbox_chart import (
    BANK_HEADING,
    CREDITORS,
    DEBTORS,
    DEFAULT_TREATMENT,
    HEADINGS,
    HOME_CURRENCY,
    VAT_CONTROL,
    VAT_RATES,
    VAT_TREATMENTS,
    from_pence,
    next_code,
)
from providers.clearbooks.sandbox_documents import KINDS, ZERO, drop_allocations
from providers.clearbooks.sandbox_http import (
    ApiError,
    Fields,
    date_query,
    int_query,
    invalid,
    json_response,
    not_found,
    page_request,
    text_response,
)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
ADDRESS_FIELDS = ("building", "line1", "line2", "town", "county", "postcode", "countryCode")
BUSINESS_TYPES = ("LimitedCompany", "SoleTrader", "Partnership", "Charity", "Club", "Other")
PAYMENT_METHODS = ("Bank transfer", "Cheque")


def read_address(f: Fields, key: str, base: dict) -> dict:
    sub = f.object(key)
    if sub is None:
        return dict(base)
    address = {name: sub.string(name, default=base.get(name, "")) for name in ADDRESS_FIELDS}
    code = address["countryCode"]
    if code and not re.fullmatch(r"[A-Z]{2}", code):
        sub.fail("countryCode", "must be a two-letter ISO 3166 country code")
    return address


def empty_address() -> dict:
    return dict.fromkeys(ADDRESS_FIELDS, "")


# --- a plain resource: list, create, read, update, delete -------------------------------------------------

@dataclass(frozen=True)
class Resource:
    collection: str
    label: str
    path: str
    scope: str
    sortable: tuple[str, ...]
    build: Callable[[Call, dict | None, Fields], dict]  # (call, the stored record or None, body) -> record
    in_use: Callable[[Call, dict], str | None] = lambda call, doc: None
    removed: Callable[[Call, dict], None] = lambda call, doc: None
    one_element_array: bool = False  # the reference's GET of one account code or bank account is an array


def _stored(call: Call, resource: Resource) -> dict:
    doc = call.books.get(call.biz, resource.collection, call.arg("id"))
    if doc is None:
        raise not_found(resource.label, call.arg("id"))
    return doc


def _list(call: Call, resource: Resource) -> Response:
    return list_records(call, resource.collection, resource.sortable)


def _create(call: Call, resource: Resource) -> Response:
    f = Fields(call.json())
    doc = resource.build(call, None, f)
    f.check()
    call.books.put(call.biz, resource.collection, doc)
    return json_response(doc, 201)


def _get(call: Call, resource: Resource) -> Response:
    text = call.books.text(call.biz, resource.collection, call.arg("id"))
    if text is None:
        raise not_found(resource.label, call.arg("id"))
    return text_response(f"[{text}]" if resource.one_element_array else text)


def _update(call: Call, resource: Resource) -> Response:
    doc = _stored(call, resource)
    f = Fields(call.json())
    updated = resource.build(call, doc, f)
    f.check()
    call.books.put(call.biz, resource.collection, updated)
    return json_response(updated)


def _delete(call: Call, resource: Resource) -> Response:
    doc = _stored(call, resource)
    reason = resource.in_use(call, doc)
    if reason:
        raise ApiError(400, "inUse", f"{resource.label} {doc['id']} cannot be deleted: {reason}")
    call.books.delete(call.biz, resource.collection, doc["id"])
    resource.removed(call, doc)
    return Response(status_code=204)


def resource_routes(sandbox, resource: Resource) -> list[Route]:
    read, write = f"{resource.scope}:read", f"{resource.scope}:write"
    return [
        api_route(sandbox, resource.path, crud(read, write, get=partial(_list, resource=resource),
                                               post=partial(_create, resource=resource))),
        api_route(sandbox, resource.path + "/{id:int}", crud(
            read, write, get=partial(_get, resource=resource), patch=partial(_update, resource=resource),
            delete=partial(_delete, resource=resource))),
    ]


# --- account codes ----------------------------------------------------------------------------------------

def build_account_code(call: Call, doc: dict | None, f: Fields) -> dict:
    base = doc or {"name": "", "heading": None, "defaultVatRate": "", "sales": False, "purchases": False}
    name = f.string("name", required=doc is None, default=base["name"], blank=False)
    heading = f.integer("heading", required=doc is None, default=base["heading"])
    if heading is not None and heading not in HEADINGS:
        f.fail("heading", f"must be one of: {', '.join(map(str, HEADINGS))}")
    if doc is not None and heading != doc["heading"]:
        f.fail("heading", "cannot change: an account code's id is made from its heading")
    vat = f.string("defaultVatRate", default=base["defaultVatRate"])
    if vat and vat not in VAT_RATES:
        f.fail("defaultVatRate", f"must be one of: {', '.join(VAT_RATES)}")
    sales = f.boolean("sales", default=base["sales"])
    purchases = f.boolean("purchases", default=base["purchases"])
    ident = doc["id"] if doc is not None else None
    if ident is None and not f.problems:
        ident = next_account_code(call.books, call.biz, heading)
    return {"id": ident, "name": name, "heading": heading, "defaultVatRate": vat, "sales": sales,
            "purchases": purchases}


def next_account_code(books, biz: str, heading: int) -> int:
    ident = next_code(heading, books.ids(biz, "accountCodes"))
    if ident is None:
        raise ApiError(400, "headingFull", f"Heading {heading} has no free account codes")
    return ident


def account_code_in_use(call: Call, doc: dict) -> str | None:
    if doc["id"] in (DEBTORS, CREDITORS, VAT_CONTROL):
        return "it is a system account"
    if doc["id"] in call.books.values(call.biz, "bankAccounts", "accountCode").values():
        return "it belongs to a bank account"
    if call.books.ledger(call.biz).uses_account(doc["id"]):
        return "it has transactions"
    return None


ACCOUNT_CODES = Resource("accountCodes", "Account code", "/accounting/accountCodes", "accounting.account_codes",
                         ("id", "name", "heading", "defaultVatRate", "sales", "purchases"), build_account_code,
                         account_code_in_use, one_element_array=True)


# --- bank accounts ----------------------------------------------------------------------------------------

def build_bank_account(call: Call, doc: dict | None, f: Fields) -> dict:
    base = doc or {"name": "", "accountNumber": "", "sortCode": "", "iban": "", "swift": ""}
    values = {"name": f.string("name", required=doc is None, default=base["name"], blank=False)}
    for key in ("accountNumber", "sortCode", "iban", "swift"):
        values[key] = f.string(key, default=base[key], max_length=34)
    if doc is not None:
        if values["name"] != doc["name"] and not f.problems:
            code = call.books.get(call.biz, "accountCodes", doc["accountCode"])
            call.books.put(call.biz, "accountCodes", {**code, "name": values["name"]})
        return {**doc, **values}
    currency = f.string("currency", default=HOME_CURRENCY, max_length=3)
    if f.problems:
        return {}
    if currency != HOME_CURRENCY:
        raise ApiError(400, "currencyNotEnabled", f"The currency {currency} is not enabled for this business")
    return new_bank_account(call.books, call.biz, values)


def new_bank_account(books, biz: str, values: dict) -> dict:
    """A bank account with its own account code under the bank heading, and the usual payment methods."""
    code = next_account_code(books, biz, BANK_HEADING)
    books.put(biz, "accountCodes", {"id": code, "name": values["name"], "heading": BANK_HEADING,
                                    "defaultVatRate": "", "sales": False, "purchases": False})
    methods = [{"id": books.next_id("paymentMethod"), "name": name} for name in PAYMENT_METHODS]
    return {"id": books.next_id("bankAccount"), "accountCode": code, "name": values["name"],
            "accountNumber": values.get("accountNumber", ""), "sortCode": values.get("sortCode", ""),
            "iban": values.get("iban", ""), "swift": values.get("swift", ""), "currency": HOME_CURRENCY,
            "paymentMethods": methods}


def bank_account_in_use(call: Call, doc: dict) -> str | None:
    if doc["id"] in call.books.values(call.biz, "payments", "bankAccountId").values():
        return "it has payments"
    if call.books.ledger(call.biz).uses_account(doc["accountCode"]):
        return "it has transactions"
    return None


def bank_account_removed(call: Call, doc: dict) -> None:
    call.books.delete(call.biz, "accountCodes", doc["accountCode"])


BANK_ACCOUNTS = Resource("bankAccounts", "Bank account", "/accounting/bankAccounts", "accounting.bank_accounts",
                         ("id", "accountCode", "name", "accountNumber", "sortCode", "iban", "swift", "currency"),
                         build_bank_account, bank_account_in_use, bank_account_removed, one_element_array=True)


# --- customers and suppliers ------------------------------------------------------------------------------

def empty_contact() -> dict:
    return {"name": "", "contactName": {"title": "", "forenames": "", "surname": ""}, "email": "", "phone": "",
            "address": empty_address(), "vatNumber": "", "companyNumber": "", "archived": False}


def build_contact(call: Call, doc: dict | None, f: Fields) -> dict:
    base = doc or empty_contact()
    name = f.string("name", required=doc is None, default=base["name"], blank=False)
    person = f.object("contactName")
    contact_name = base["contactName"] if person is None else {
        key: person.string(key, default=base["contactName"][key]) for key in ("title", "forenames", "surname")}
    email = f.string("email", default=base["email"])
    if email and not _EMAIL.fullmatch(email):
        f.fail("email", "is not an email address")
    contact = {"id": doc["id"] if doc else None, "name": name, "contactName": contact_name, "email": email,
               "phone": f.string("phone", default=base["phone"]),
               "address": read_address(f, "address", base["address"]),
               "vatNumber": f.string("vatNumber", default=base["vatNumber"]),
               "companyNumber": f.string("companyNumber", default=base["companyNumber"]),
               "archived": f.boolean("archived", default=base["archived"])}
    return _with_id(call, contact, "contact", f)


def _with_id(call: Call, record: dict, sequence: str, f: Fields) -> dict:
    """A new record takes the next id only once it is known to be valid (a refused one burns none)."""
    if record["id"] is None and not f.problems:
        record["id"] = call.books.next_id(sequence)
    return record


def contact_in_use(call: Call, doc: dict, family: str) -> str | None:
    for kind in KINDS.values():
        if kind.family == family and doc["id"] in call.books.values(call.biz, kind.collection,
                                                                    kind.contact_field).values():
            return f"it has {kind.label.lower()}s; archive it instead"
    if doc["id"] in call.books.values(call.biz, "payments", "contactId").values():
        return "it has payments; archive it instead"
    return None


CONTACT_SORTABLE = ("id", "name", "email", "phone", "vatNumber", "companyNumber", "archived")
CUSTOMERS = Resource("customers", "Customer", "/accounting/customers", "accounting.customers", CONTACT_SORTABLE,
                     build_contact, partial(contact_in_use, family="sales"))
SUPPLIERS = Resource("suppliers", "Supplier", "/accounting/suppliers", "accounting.suppliers", CONTACT_SORTABLE,
                     build_contact, partial(contact_in_use, family="purchases"))


# --- stock items ------------------------------------------------------------------------------------------

def build_stock_item(call: Call, doc: dict | None, f: Fields) -> dict:
    base = doc or {"name": "", "sku": "", "type": None, "description": "", "salesUnitPrice": None,
                   "salesAccountCode": None, "salesVatRateKey": "", "salesQuantity": 0, "purchaseUnitPrice": None,
                   "purchaseAccountCode": None, "purchaseVatRateKey": "", "purchaseQuantity": 0,
                   "trackStock": False}
    item = {"id": doc["id"] if doc else None,
            "name": f.string("name", required=doc is None, default=base["name"], blank=False),
            "sku": f.string("sku", default=base["sku"]),
            "type": f.string("type", required=doc is None, default=base["type"], choices=("purchases", "sales", "both")),
            "description": f.string("description", default=base["description"], max_length=2000)}
    for side in ("sales", "purchase"):
        item[f"{side}UnitPrice"] = f.number(f"{side}UnitPrice", default=base[f"{side}UnitPrice"])
        code = item[f"{side}AccountCode"] = f.integer(f"{side}AccountCode", default=base[f"{side}AccountCode"])
        if code is not None and not call.books.exists(call.biz, "accountCodes", code):
            f.fail(f"{side}AccountCode", f"there is no account code {code}")
        rate = item[f"{side}VatRateKey"] = f.string(f"{side}VatRateKey", default=base[f"{side}VatRateKey"])
        if rate and rate not in VAT_RATES:
            f.fail(f"{side}VatRateKey", f"must be one of: {', '.join(VAT_RATES)}")
        item[f"{side}Quantity"] = f.integer(f"{side}Quantity", default=base[f"{side}Quantity"])
    item["trackStock"] = f.boolean("trackStock", default=base["trackStock"])
    return _with_id(call, item, "stockItem", f)


STOCK_ITEMS = Resource("stockItems", "Stock item", "/accounting/stockItems", "accounting.stock_items",
                       ("id", "name", "sku", "type", "salesUnitPrice", "purchaseUnitPrice", "trackStock"),
                       build_stock_item)


# --- payments ---------------------------------------------------------------------------------------------

def build_payment(call: Call, doc: dict | None, f: Fields) -> dict:
    books, biz = call.books, call.biz
    base = doc or {"date": None, "accountingDate": None, "description": "", "amount": None, "contactId": None,
                   "paymentMethodId": None, "bankAccountId": None}
    date = f.date("date", required=doc is None, default=base["date"])
    accounting = f.date("accountingDate", default=None)
    if accounting is None:
        # Left out on create it follows the bank date; left out on update it stays as it was.
        accounting = date if doc is None else base["accountingDate"]
    description = f.string("description", required=doc is None, default=base["description"], blank=False)
    amount = f.number("amount", required=doc is None, default=base["amount"], places=2)
    if amount is not None and amount == 0:
        f.fail("amount", "must not be zero")
    f.number("exchangeRate")
    if f.present("exchangeRate"):
        f.fail("exchangeRate", "may only be set when the bank account's currency differs from the business's")
    contact = f.integer("contactId", required=doc is None, default=base["contactId"])
    if contact is not None and not (books.exists(biz, "customers", contact) or books.exists(biz, "suppliers", contact)):
        f.fail("contactId", f"there is no customer or supplier {contact}")
    bank_id = f.integer("bankAccountId", required=doc is None, default=base["bankAccountId"])
    bank = books.get(biz, "bankAccounts", bank_id) if bank_id is not None else None
    if bank_id is not None and bank is None:
        f.fail("bankAccountId", f"there is no bank account {bank_id}")
    method = f.integer("paymentMethodId", default=base["paymentMethodId"])
    if method is not None and bank is not None and method not in [m["id"] for m in bank["paymentMethods"]]:
        f.fail("paymentMethodId", f"is not a payment method of bank account {bank_id}")
    if f.problems:
        return {}
    if doc is not None:
        _check_allocated(call, doc, amount, contact)
    return {"id": doc["id"] if doc else books.next_id("txn"), "date": date, "accountingDate": accounting,
            "description": description, "amount": amount, "currency": bank["currency"], "exchangeRate": None,
            "contactId": contact, "paymentMethodId": method, "bankAccountId": bank_id}


def payment_allocations(call: Call, payment_id: int) -> tuple[str, list[dict]]:
    for family in ("sales", "purchases"):
        collection = f"allocations:{family}"
        found = [call.books.get(call.biz, collection, a)
                 for a, p in call.books.values(call.biz, collection, "paymentId").items() if p == payment_id]
        if found:
            return family, found
    return "sales", []


def _check_allocated(call: Call, doc: dict, amount, contact: int) -> None:
    _family, allocations = payment_allocations(call, doc["id"])
    if not allocations:
        return
    allocated = sum((a["amount"] for a in allocations), ZERO)
    if contact != doc["contactId"]:
        raise ApiError(400, "paymentAllocated", f"Payment {doc['id']} is allocated, so its contact cannot change")
    if (amount > 0) != (doc["amount"] > 0) or abs(amount) < allocated:
        raise ApiError(400, "paymentAllocated", f"Payment {doc['id']} has {allocated} allocated: its amount "
                       "cannot be less than that or change direction")


def payment_removed(call: Call, doc: dict) -> None:
    family, allocations = payment_allocations(call, doc["id"])
    drop_allocations(call.books, call.biz, family, allocations)


PAYMENTS = Resource("payments", "Payment", "/accounting/payments", "accounting.payments",
                    ("id", "date", "accountingDate", "description", "amount", "contactId", "paymentMethodId",
                     "bankAccountId"), build_payment, removed=payment_removed)


# --- journals ---------------------------------------------------------------------------------------------

def create_journal(call: Call) -> Response:
    f = Fields(call.json())
    date = f.date("accountingDate", required=True)
    description = f.string("description", max_length=2000)
    lines = f.objects("lines", required=True) or []
    if f.present("lines") and len(lines) < 2:
        f.fail("lines", "must contain at least two lines")
    read = []
    for line in lines:
        account = line.integer("accountCodeId", required=True)
        if account is not None and not call.books.exists(call.biz, "accountCodes", account):
            line.fail("accountCodeId", f"there is no account code {account}")
        read.append({"accountCodeId": account, "amount": line.number("amount", required=True, places=2)})
    f.check()
    if sum(line["amount"] for line in read) != 0:
        raise ApiError(400, "journalNotBalanced", "The sum of amounts of all lines in the journal must add up to 0.")
    doc = {"id": call.books.next_id("txn"), "accountingDate": date, "description": description, "lines": read}
    call.books.put(call.biz, "journals", doc)
    return json_response(doc, 201)


# --- the ledger, read only ---------------------------------------------------------------------------------

_LINE_SORTS = {
    "transactionId": lambda line: (line[0], line[4]),
    "accountingDate": lambda line: (line[1], line[0], line[4]),
    "accountCodeId": lambda line: (line[2], line[0], line[4]),
    "amount": lambda line: (line[3], line[0], line[4]),
}


def _dates(call: Call) -> tuple[str | None, str | None]:
    return date_query(call.params, "accountingDateFrom"), date_query(call.params, "accountingDateTo")


def list_ledger_lines(call: Call) -> Response:
    request = page_request(call.params, tuple(_LINE_SORTS), "transactionId")
    date_from, date_to = _dates(call)
    txn, account = int_query(call.params, "transactionId"), int_query(call.params, "accountCodeId")
    ledger = call.books.ledger(call.biz)
    lines = ledger.lines() if request.sort_by == "transactionId" else \
        ledger.lines_sorted(request.sort_by, _LINE_SORTS[request.sort_by])
    if txn is not None or account is not None or date_from or date_to:
        lines = [line for line in lines
                 if (txn is None or line[0] == txn) and (account is None or line[2] == account)
                 and (date_from is None or line[1] >= date_from) and (date_to is None or line[1] <= date_to)]
    page = [{"transactionId": t, "accountingDate": d, "accountCodeId": a, "amount": from_pence(p)}
            for t, d, a, p, _i in request.window(lines)]
    return json_response(page, headers=request.headers(len(lines)))


def list_transactions(call: Call) -> Response:
    request = page_request(call.params, ("id", "accountingDate"))
    date_from, date_to = _dates(call)
    ledger = call.books.ledger(call.biz)
    ids = [t for t in ledger.transaction_ids()
           if (date_from is None or ledger.entries[t][0] >= date_from)
           and (date_to is None or ledger.entries[t][0] <= date_to)]
    if request.sort_by == "accountingDate":
        ids.sort(key=lambda t: (ledger.entries[t][0], t))
    page = [{"id": t, "accountingDate": ledger.entries[t][0],
             "lines": [{"accountCodeId": a, "amount": from_pence(p)} for a, p in ledger.entries[t][1]]}
            for t in request.window(ids)]
    return json_response(page, headers=request.headers(len(ids)))


def account_balances(call: Call) -> Response:
    date_from = date_query(call.params, "accountingDateFrom", required=True)
    date_to = date_query(call.params, "accountingDateTo", required=True)
    if date_from > date_to:
        raise invalid("accountingDateFrom must not be after accountingDateTo", "invalidParameter")
    totals = call.books.ledger(call.biz).balances(date_from, date_to)
    return json_response([{"accountCodeId": account, "balance": from_pence(totals[account])}
                          for account in sorted(totals)])


# --- VAT ---------------------------------------------------------------------------------------------------

def vat_treatments(call: Call, vat_type: str) -> Response:
    return json_response([{"key": key, "name": name} for key, (name, _rates) in VAT_TREATMENTS[vat_type].items()])


def vat_rates(call: Call, vat_type: str) -> Response:
    treatment = call.params.get("vatTreatment") or DEFAULT_TREATMENT
    if treatment not in VAT_TREATMENTS[vat_type]:
        raise invalid(f"vatTreatment must be one of: {', '.join(VAT_TREATMENTS[vat_type])}", "invalidParameter")
    date_query(call.params, "date")
    contact = int_query(call.params, "contactId")
    if contact is not None and not (call.books.exists(call.biz, "customers", contact)
                                    or call.books.exists(call.biz, "suppliers", contact)):
        raise invalid(f"contactId: there is no customer or supplier {contact}", "invalidParameter")
    return json_response([{"key": key, "name": VAT_RATES[key][0], "rate": VAT_RATES[key][1]}
                          for key in VAT_TREATMENTS[vat_type][treatment][1]])


# --- businesses ---------------------------------------------------------------------------------------------

def list_businesses(call: Call) -> Response:
    granted = set(call.token.businesses)
    return json_response([b for b in call.sandbox.businesses() if b["id"] in granted])


def _business(call: Call) -> dict:
    ident = call.arg("id")
    doc = call.books.store.get(SERVICE, "businesses", str(ident)) if ident in call.token.businesses else None
    if doc is None:
        raise not_found("Business", ident)
    return doc


def get_business(call: Call) -> Response:
    return json_response(_business(call))


def update_business(call: Call) -> Response:
    doc = _business(call)
    f = Fields(call.json())
    updated = {**doc, "name": f.string("name", default=doc["name"], blank=False),
               "type": f.string("type", default=doc["type"], choices=BUSINESS_TYPES),
               "address": read_address(f, "address", doc["address"])}
    f.check()
    call.books.store.put(SERVICE, "businesses", str(doc["id"]), updated)
    return json_response(updated)


def routes(sandbox) -> list[Route]:
    found = [
        api_route(sandbox, "/businesses", crud("businesses:read", "businesses:write", get=list_businesses),
                  business=False),
        api_route(sandbox, "/businesses/{id:int}", crud("businesses:read", "businesses:write",
                                                        get=get_business, patch=update_business), business=False),
        api_route(sandbox, "/accounting/journals", crud("", "accounting.journals:write", post=create_journal)),
        api_route(sandbox, "/accounting/transactions", crud("accounting.transactions:read", "",
                                                            get=list_ledger_lines)),
        api_route(sandbox, "/accounting/transactions/grouped", crud("accounting.transactions:read", "",
                                                                    get=list_transactions)),
        api_route(sandbox, "/accounting/accountBalances", crud("accounting.transactions:read", "",
                                                               get=account_balances)),
    ]
    for vat_type in ("sales", "purchases"):
        found += [
            api_route(sandbox, f"/accounting/vatTreatments/{vat_type}",
                      crud("accounting.vat:read", "", get=partial(vat_treatments, vat_type=vat_type))),
            api_route(sandbox, f"/accounting/vatRates/{vat_type}",
                      crud("accounting.vat:read", "", get=partial(vat_rates, vat_type=vat_type))),
        ]
    for resource in (ACCOUNT_CODES, BANK_ACCOUNTS, CUSTOMERS, SUPPLIERS, STOCK_ITEMS, PAYMENTS):
        found += resource_routes(sandbox, resource)
    return found
