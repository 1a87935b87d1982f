"""Malformed answers: every one ends in a typed ProviderError from the real client code path.

A transport stands in for the service and answers the request under test with the malformed bytes
(status, headers and body exactly as given); the other requests an operation makes first (the customer
of an invoice, the items) get well-formed answers. Everything from the Client down (``HttpSession``,
retries, size cap, parsing, the service's refusal shapes, mapping) is the code the app runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import Customer, Invoice, InvoiceLine, Payment
from providers.accountingsuite.client import Client
from providers.base import BadResponse, Entity, ProviderError, RateLimited
from providers.decimal_json import dumps
from providers.http import RetryPolicy

COMPANY_ID = "6318247f-400d-11e3-827d-af4343366b37"
INVOICE_ID = "bfab0c24-77d6-11e3-8058-e3003205b13a"
ITEM_ID = "cf02f093-2861-11e3-b6b3-c6f64a6bdc57"
ADDRESS = {
    "address_id": "primary", "address_line1": "", "address_line2": "", "phone": "", "last_name": "Aldo",
    "country": "", "cell": "", "default_shipping": "true", "zip": "", "sales_tax_code": "", "notes": "",
    "first_name": "Jane", "middle_name": "", "default_billing": "true", "email": "", "city": "",
    "address_code": "00012", "api_code": "63182480-400d-11e3-827d-af4343366b37", "state": "",
}
COMPANY = {"lines": {"addresses": [ADDRESS]}, "company_code": "00009", "company_name": "LA times",
           "company_type": "customer", "notes": "", "api_code": COMPANY_ID}
INVOICE = {
    "lines": {"line_items": [{"price": 350, "item_description": "Frigidaire", "quantity": 2, "api_code": ITEM_ID,
                              "line_total": 700, "item_code": "FrigidaireDF28"}]},
    "company_code": "00009", "doc_total": 900, "memo": "magento_sale", "due_date": "2013-05-24",
    "date": "2013-05-24", "sales_tax_total": 0, "customer_api_code": COMPANY_ID, "company_name": "LA times",
    "invoice_number": "000004", "ship_to_address_id": "SFO warehouse", "ref_num": "trx0023487",
    "ship_to_api_code": ADDRESS["api_code"], "api_code": INVOICE_ID,
}
SUMMARY = {key: value for key, value in INVOICE.items() if key not in ("lines", "customer_api_code",
                                                                      "ship_to_api_code")}
ITEMS = {"items": [{"item_code": "FrigidaireDF28", "item_description": "Frigidaire", "api_code": ITEM_ID}]}

WELL_FORMED: dict[tuple[str, str], Any] = {
    ("GET", "/companies"): {"companies": [COMPANY]},
    ("GET", f"/companies/{COMPANY_ID}"): COMPANY,
    ("GET", "/items"): ITEMS,
    ("GET", "/invoices"): {"cash_sales": [SUMMARY]},
    ("GET", f"/invoices/{INVOICE_ID}"): INVOICE,
}

# What each operation does, and the request of it that gets the malformed answer.
OPERATIONS = {
    "list customers": ("GET", "/companies"),
    "list invoices": ("GET", "/invoices"),
    "get customer": ("GET", f"/companies/{COMPANY_ID}"),
    "get invoice": ("GET", f"/invoices/{INVOICE_ID}"),
    "create customer": ("POST", "/companies"),
    "update customer": ("PUT", f"/companies/{COMPANY_ID}"),
    "create invoice": ("POST", "/invoices"),
    "update invoice": ("PUT", f"/invoices/{INVOICE_ID}"),
    "delete invoice": ("DELETE", f"/invoices/{INVOICE_ID}"),
    "delete customer": ("DELETE", f"/companies/{COMPANY_ID}"),
    "find created invoice": ("GET", "/invoices"),
    "record receipt": ("POST", "/cashreceipts"),
    "companies of an invoice list": ("GET", "/companies"),
}


class Canned(httpx.AsyncBaseTransport):
    """Answers ``target`` with the malformed answer, other known requests well-formed, the rest 404."""

    def __init__(self, target: tuple[str, str], status: int, headers: dict[str, str], body: bytes):
        self.target, self.status, self.headers, self.body = target, status, headers, body
        self.seen: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        where = (request.method, request.url.path)
        self.seen.append(where)
        if where == self.target:
            # A stream, as from a socket: decoding (gzip) happens where the client reads, not here.
            headers = {**self.headers, "content-length": str(len(self.body))}
            return httpx.Response(self.status, headers=headers, stream=httpx.ByteStream(self.body))
        if where in WELL_FORMED:
            return httpx.Response(200, headers={"content-type": "application/json"},
                                  content=dumps(WELL_FORMED[where]).encode())
        return httpx.Response(404, json={"status": "error", "message": "[path] : There is no such resource."})


def customer() -> Customer:
    return Customer(remote_id=COMPANY_ID, name="LA times (renamed)", contact_name="Jane Aldo")


def invoice() -> Invoice:
    return Invoice(remote_id=INVOICE_ID, customer_remote_id=COMPANY_ID, date=dt.date(2013, 5, 24),
                   lines=[InvoiceLine(item_code="FrigidaireDF28", quantity=Decimal(2), unit_price=Decimal(350))])


async def perform(operation: str, provider: Client) -> Any:
    if operation in ("list customers", "list invoices"):
        entity = Entity.CUSTOMERS if operation == "list customers" else Entity.INVOICES
        return [page async for page in provider.list(entity)]
    if operation == "companies of an invoice list":
        # The invoice list answers well, naming a company the client does not know yet.
        return [page async for page in provider.list(Entity.INVOICES)]
    if operation == "get customer":
        return await provider.get(Entity.CUSTOMERS, COMPANY_ID)
    if operation == "get invoice":
        return await provider.get(Entity.INVOICES, INVOICE_ID)
    if operation == "create customer":
        return await provider.create(Entity.CUSTOMERS, customer(), idempotency_key="k1")
    if operation == "update customer":
        return await provider.update(Entity.CUSTOMERS, customer())
    if operation == "create invoice":
        return await provider.create(Entity.INVOICES, invoice(), idempotency_key="k2")
    if operation == "update invoice":
        return await provider.update(Entity.INVOICES, invoice())
    if operation == "delete invoice":
        return await provider.delete(Entity.INVOICES, INVOICE_ID)
    if operation == "delete customer":
        return await provider.delete(Entity.CUSTOMERS, COMPANY_ID)
    if operation == "find created invoice":
        return await provider.find_created(Entity.INVOICES, "k3")
    if operation == "record receipt":
        payment = Payment(party_remote_id=COMPANY_ID, date=dt.date(2014, 1, 2), amount=Decimal("10.00"))
        return await provider.create(Entity.PAYMENTS, payment, idempotency_key="k4")
    raise AssertionError(operation)


def outcome(operation: str, status: int, headers: dict[str, str], body: bytes) -> tuple[Any, Canned]:
    transport = Canned(OPERATIONS[operation], status, headers, body)
    if operation == "companies of an invoice list":
        WELL_FORMED[("GET", "/invoices")] = {"cash_sales": [{**SUMMARY, "company_code": "99999"}]}

    async def go():
        async with Client("http://127.0.0.1:9", "robustness-key-0001", "1", transport=transport,
                          retry=RetryPolicy(attempts=2, base=0.0, cap=0.0, max_wait=5)) as provider:
            try:
                return await perform(operation, provider)
            except ProviderError as error:
                return error

    try:
        return asyncio.run(go()), transport
    finally:
        WELL_FORMED[("GET", "/invoices")] = {"cash_sales": [SUMMARY]}


JSON = {"content-type": "application/json"}
HTML = {"content-type": "text/html; charset=utf-8"}
PAGE = (b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
        b"<hr><center>nginx</center></body></html>")
TEN_MB = 10 * 1024 * 1024


def valid_answer(operation: str) -> bytes:
    method, path = OPERATIONS[operation]
    if method == "DELETE":
        return dumps({"message": "Invoice # 000002 from 5/24/2013 12:00:00 AM has been deleted.",
                      "status": "success"}).encode()
    if (method, path) in WELL_FORMED:
        return dumps(WELL_FORMED[(method, path)]).encode()
    return dumps(INVOICE if "invoices" in path else COMPANY).encode()


def truncations() -> list[tuple[str, str, int, dict, bytes]]:
    cases = []
    for operation in ("list customers", "list invoices", "get customer", "get invoice", "create customer",
                      "create invoice", "update invoice", "delete invoice"):
        whole = valid_answer(operation)
        for fraction in (0.0, 0.02, 0.25, 0.5, 0.75, 0.97):
            cut = whole[: int(len(whole) * fraction)] if fraction else whole[:1]
            cases.append((f"truncated {operation} at {fraction:.0%}", operation, 200, JSON, cut))
        cases.append((f"{operation} missing its last byte", operation, 200, JSON, whole[:-1]))
    return cases


def wrong_types() -> list[tuple[str, str, int, dict, bytes]]:
    def j(value: Any) -> bytes:
        return dumps(value).encode()

    company = dict(COMPANY)
    summary = dict(SUMMARY)
    full = dict(INVOICE)
    shapes = [
        ("list customers", b"[]"), ("list customers", b"{}"), ("list customers", b"null"),
        ("list customers", b'"companies"'), ("list customers", b"42"), ("list customers", b"true"),
        ("list customers", j({"companies": {}})), ("list customers", j({"companies": "all"})),
        ("list customers", j({"companies": [1, 2]})), ("list customers", j({"companies": [None]})),
        ("list customers", j({"companies": [{"company_name": "No id"}]})),
        ("list customers", j({"companies": [{**company, "api_code": 5}]})),
        ("list customers", j({"companies": [{**company, "api_code": ""}]})),
        ("list customers", j({"companies": [{**company, "lines": "x"}]})),
        ("list customers", j({"companies": [{**company, "lines": {"addresses": "x"}}]})),
        ("list customers", j({"companies": [{**company, "lines": {"addresses": [{**ADDRESS, "city": {}}]}}]})),
        ("list customers", j({"companies": [{**company, "company_name": ""}]})),
        ("list customers", j({"companies": [{**company, "company_name": None}]})),
        ("list customers", j({"companies": [{**company, "company_name": ["LA"]}]})),
        ("list customers", j({"companies": [{**company, "company_name": "L" * 300}]})),
        ("list customers", j({"customers": [company]})),
        ("list invoices", j({"sales_invoices": [summary]})),
        ("list invoices", j({"cash_sales": {"0": summary}})),
        ("list invoices", j({"cash_sales": [{**summary, "doc_total": "nine hundred"}]})),
        ("list invoices", j({"cash_sales": [{**summary, "doc_total": True}]})),
        ("list invoices", j({"cash_sales": [{**summary, "doc_total": Decimal("1e999999")}]})),
        ("list invoices", j({"cash_sales": [{**summary, "sales_tax_total": [1]}]})),
        ("list invoices", j({"cash_sales": [{**summary, "date": "2013-13-45"}]})),
        ("list invoices", j({"cash_sales": [{**summary, "date": 20130524}]})),
        ("list invoices", j({"cash_sales": [{**summary, "date": None}]})),
        ("list invoices", j({"cash_sales": [{**summary, "due_date": "2012-01-01"}]})),
        ("list invoices", j({"cash_sales": [{**summary, "line_subtotal": "1,2,3"}]})),
        ("list invoices", j({"cash_sales": [{**summary, "invoice_number": {"n": 4}}]})),
        ("get invoice", j([full])),
        ("get invoice", j({**full, "api_code": None})),
        ("get invoice", j({**full, "lines": []})),
        ("get invoice", j({**full, "lines": {"line_items": "x"}})),
        ("get invoice", j({**full, "lines": {"line_items": [1]}})),
        ("get invoice", j({**full, "lines": {"line_items": [{"price": "abc", "quantity": 1}]}})),
        ("get invoice", j({**full, "lines": {"line_items": [{"price": 1, "quantity": Decimal("1e40")}]}})),
        ("get invoice", b'{"api_code": "x", "doc_total": NaN}'),
        ("get invoice", b'{"api_code": "x", "doc_total": Infinity}'),
        ("get invoice", b'{"api_code": "x", "doc_total": 1' + b"0" * 5000 + b"}"),
        ("get customer", j({**company, "company_type": "customer", "lines": {"addresses": [7]}})),
        ("get customer", j(["LA times"])),
        ("create customer", j({"status": "ok"})),
        ("create customer", j({"status": "error"})),
        ("create customer", j({"status": "error", "message": 5})),
        ("create customer", j({"status": "error", "message1": "[a] : One.", "message2": "[b] : Two."})),
        ("update customer", j({**company, "api_code": []})),
        ("delete invoice", j({"status": "ok"})),
        ("delete invoice", j({"message": "gone"})),
        ("delete invoice", j([])),
        ("delete customer", j({"status": "error", "message": "Failed to delete. There are linked objects."})),
        ("create invoice", j({"status": "success", "message": "created"})),
        ("update invoice", j({**full, "date": "24/05/2013"})),
        ("find created invoice", j({"cash_sales": [{"memo": "ledgerdesk:k3"}]})),
        ("record receipt", j({"status": "error", "message": "[company_name] : This is a required field."})),
        ("record receipt", b"{"),
        ("companies of an invoice list", j({"companies": [{"company_code": 5}]})),
    ]
    return [(f"wrong shape {n}: {op}", op, 200, JSON, body) for n, (op, body) in enumerate(shapes, start=1)]


def html_pages() -> list[tuple[str, str, int, dict, bytes]]:
    cases = []
    for status in (200, 400, 401, 403, 404, 405, 409, 500, 502, 503, 504):
        for operation in ("list invoices", "create invoice"):
            cases.append((f"HTML {status} page for {operation}", operation, status, HTML, PAGE))
    cases.append(("HTML page labelled JSON", "get invoice", 200, JSON, b"<!DOCTYPE html><html><body>Hi</body></html>"))
    return cases


def empty_bodies() -> list[tuple[str, str, int, dict, bytes]]:
    cases = []
    for status in (200, 201, 202, 204, 400, 401, 403, 404, 500, 503):
        operation = "get customer" if status != 204 else "delete invoice"
        cases.append((f"empty {status} for {operation}", operation, status, JSON, b""))
    cases.append(("whitespace 200 for list customers", "list customers", 200, JSON, b" \r\n\t "))
    cases.append(("empty 200 for create invoice", "create invoice", 200, JSON, b""))
    cases.append(("empty 500 for record receipt", "record receipt", 500, JSON, b""))
    return cases


def odd_transport() -> list[tuple[str, str, int, dict, bytes]]:
    return [
        ("redirect 301", "list customers", 301, {"location": "https://elsewhere.example/companies"}, b""),
        ("redirect 302 to http", "get invoice", 302, {"location": "http://evil.example/"}, b""),
        ("429 with a day's Retry-After", "list invoices", 429, {"retry-after": "86400"}, b"Too Many Requests"),
        ("429 until the tries run out", "get customer", 429, {"retry-after": "0"}, b""),
        ("gzip that is not gzip", "list customers", 200, {**JSON, "content-encoding": "gzip"}, b"not gzip at all"),
        ("gzip cut short", "get invoice", 200, {**JSON, "content-encoding": "gzip"},
         gzip.compress(dumps(INVOICE).encode())[:40]),
        ("invalid UTF-8", "list customers", 200, JSON, b'{"companies": [{"company_name": "\xff\xfe"}]}'),
        ("UTF-16 bytes of a wrong shape", "list customers", 200, JSON, '{"companies": 5}'.encode("utf-16")),
        ("a NUL-filled body", "get customer", 200, JSON, b"\x00" * 1024),
        ("XML instead of JSON", "get invoice", 200, {"content-type": "application/xml"},
         b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "bb">]><a>&b;</a>'),
        ("JSON with a BOM and a wrong shape", "list invoices", 200, JSON, b"\xef\xbb\xbf[]"),
    ]


def huge_bodies() -> list[tuple[str, str, int, dict, bytes]]:
    name = b"N" * TEN_MB
    return [
        ("10 MB of garbage", "list customers", 200, JSON, b"x" * TEN_MB),
        ("10 MB of nesting", "list invoices", 200, JSON, b"[" * TEN_MB),
        ("10 MB of numbers in the wrapper", "list customers", 200, JSON,
         b'{"companies": [' + b"1," * (TEN_MB // 2) + b"1]}"),
        ("10 MB company name", "list customers", 200, JSON,
         b'{"companies": [{"api_code": "a", "company_name": "' + name + b'"}]}'),
        ("10 MB truncated list", "list invoices", 200, JSON,
         (b'{"cash_sales": [' + dumps(SUMMARY).encode() + b",") * (TEN_MB // 400)),
        ("10 MB HTML error page", "get customer", 503, HTML, b"<html><title>Down</title>" + b"x" * TEN_MB),
    ]


CORPUS = truncations() + wrong_types() + html_pages() + empty_bodies() + odd_transport() + huge_bodies()


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 100
    assert len({case[0] for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("operation", "status", "headers", "body"),
                         [pytest.param(*case[1:], id=case[0]) for case in CORPUS])
def test_a_malformed_answer_is_a_typed_error(operation, status, headers, body):
    result, transport = outcome(operation, status, headers, body)
    assert isinstance(result, ProviderError), (result, transport.seen)
    assert result.message and isinstance(result.message, str)
    assert OPERATIONS[operation] in transport.seen  # the malformed answer was really read


def test_the_well_formed_answers_are_accepted():
    """The corpus's baseline: the same operations with the document's own answers succeed."""
    for operation in OPERATIONS:
        if operation == "companies of an invoice list":
            continue
        body = b"" if operation == "record receipt" else valid_answer(operation)
        result, _ = outcome(operation, 200, JSON, body)
        assert not isinstance(result, ProviderError), (operation, result)


def test_a_huge_day_long_retry_after_is_rate_limited_with_the_wait():
    result, _ = outcome("list invoices", 429, {"retry-after": "86400"}, b"")
    assert isinstance(result, RateLimited) and result.retry_after == pytest.approx(86400, abs=5)


def test_an_unreadable_list_names_the_record():
    body = dumps({"companies": [COMPANY, {**COMPANY, "api_code": "bad-one", "company_name": ""}]}).encode()
    result, _ = outcome("list customers", 200, JSON, body)
    assert isinstance(result, BadResponse) and result.detail == {"api_code": "bad-one"}
    assert "bad-one" in result.message and "Name" in result.message


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.text(max_size=12)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(["api_code", "company_name", "company_code", "company_type", "lines", "doc_total",
                          "date", "due_date", "sales_tax_total", "line_subtotal", "shipping", "discount",
                          "invoice_number", "ref_num", "memo", "customer_api_code"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operation=st.sampled_from(["list customers", "list invoices", "get invoice", "get customer"]),
       changes=st.dictionaries(FIELDS, JSON_VALUES, max_size=5))
def test_any_field_of_any_type_is_read_or_refused_typed(operation, changes):
    base = {"list customers": {"companies": [{**COMPANY, **changes}]},
            "list invoices": {"cash_sales": [{**SUMMARY, **changes}]},
            "get invoice": {**INVOICE, **changes},
            "get customer": {**COMPANY, **changes}}[operation]
    result, _ = outcome(operation, 200, JSON, dumps(base).encode())
    if not isinstance(result, ProviderError):  # read: then it is a valid domain model
        records = [item for page in result for item in page.items] if isinstance(result, list) else [result]
        for record in records:
            type(record).model_validate(record.model_dump())
