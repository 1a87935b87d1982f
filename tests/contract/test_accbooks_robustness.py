"""A corpus of malformed AccBooks answers, each served through the client's real code path (an httpx
transport that returns the bytes), must end in a typed ``ProviderError``: never another exception."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal

import httpx
import pytest

from app.domain import DocumentStatus, InvoiceLine, SalesDocument
from providers.accbooks.client import Client
from providers.base import BadResponse, Entity, ProviderError, ReportRequest
from providers.http import RetryPolicy, limits_for
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox

COMPANY = {"id": "comp_1", "name": "Test Ltd", "currency": "GBP", "plan": "starter"}


def _good() -> dict[str, bytes]:
    """Real answers of the sandbox, to break in every way."""
    sandbox = build_sandbox("accbooks", SandboxOptions(size="tiny", seed=5, throttle=False))
    cid = sandbox.companies()[0]["id"]
    key = sandbox.credentials()["api_key"]

    async def fetch():
        async with httpx.AsyncClient(transport=sandbox.stack.transport(), base_url="http://127.0.0.1/v1/",
                                     headers={"Authorization": f"Bearer {key}"}) as http:
            paths = {"invoices": "invoices?per_page=3", "contacts": "contacts?per_page=3",
                     "transactions": "transactions?per_page=3", "invoice": "invoices/inv_1",
                     "bank_accounts": "bank_accounts", "company": "company"}
            return {name: (await http.get(path)).content for name, path in paths.items()}

    found = asyncio.run(fetch())
    assert cid
    return found


GOOD = _good()


def page_with(item: dict | list | str | int | None, meta: dict | None = None) -> bytes:
    return json.dumps({"data": [item], "meta": meta or {"current_page": 1, "total_pages": 1,
                                                        "total_records": 1}}).encode()


def first(name: str) -> dict:
    return json.loads(GOOD[name])["data"][0]


def broken(source: str, /, **changes) -> bytes:
    item = first(source)
    for path, value in changes.items():
        target = item
        parts = path.split("__")
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = int(parts[-1]) if isinstance(target, list) else parts[-1]
        if value is _DROP:
            del target[last]
        else:
            target[last] = value
    return page_with(item)


class _Missing:
    def __repr__(self) -> str:
        return "missing"


_DROP = _Missing()
HTML = (b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
        b"</center><hr><center>cloudflare</center></body></html>")
SIGN_IN = b"<!DOCTYPE html><html><head><title>Sign in - AccBooks</title></head><body><form></form></body></html>"

# (name, operation, status, content type, body)
CASES: list[tuple[str, str, int, str, bytes]] = []


def case(name: str, operation: str, body: bytes, status: int = 200, content_type: str = "application/json"):
    CASES.append((name, operation, status, content_type, body))


# truncated bodies: every page and record cut at several places
for source, operation in (("invoices", "list_invoices"), ("contacts", "list_customers"),
                          ("transactions", "list_ledger"), ("invoice", "get_invoice"),
                          ("company", "companies"), ("bank_accounts", "list_banks")):
    body = GOOD[source]
    for cut in (1, 2, len(body) // 5, len(body) // 3, len(body) // 2, len(body) - 40, len(body) - 2, len(body) - 1):
        case(f"truncated-{source}-{cut}", operation, body[:cut])

# empty, blank and non-JSON bodies
for operation in ("list_invoices", "get_invoice", "companies", "create_invoice", "list_ledger", "report"):
    case(f"empty-{operation}", operation, b"")
    case(f"blank-{operation}", operation, b"   \n")
    case(f"text-{operation}", operation, b"OK", content_type="text/plain")
    case(f"html-200-{operation}", operation, SIGN_IN, content_type="text/html")
    case(f"html-502-{operation}", operation, HTML, status=502, content_type="text/html")
    case(f"bad-utf8-{operation}", operation, b'{"data": ["\xff\xfe"], "meta": {}}')
    case(f"nan-{operation}", operation, b'{"data": [], "meta": {"total_pages": NaN, "total_records": 0}}')

# error pages and odd statuses
for status in (400, 401, 403, 404, 405, 409, 418, 422, 429, 500, 503):
    case(f"html-{status}", "list_invoices", HTML, status=status, content_type="text/html")
case("json-418", "get_invoice", b'{"error": "teapot", "message": "I am a teapot"}', status=418)
case("empty-404", "get_invoice", b"", status=404)
case("error-body-not-object", "create_invoice", b'["bad"]', status=422)
case("redirect-without-location", "list_invoices", b"", status=302)
case("no-content-for-a-page", "list_invoices", b"", status=204)
case("created-array", "create_invoice", b"[]", status=201)

# wrong shapes of a page
case("page-is-array", "list_invoices", b"[]")
case("page-is-string", "list_invoices", b'"data"')
case("page-is-null", "list_invoices", b"null")
case("page-no-meta", "list_invoices", b'{"data": []}')
case("page-no-data", "list_invoices", b'{"meta": {"current_page": 1, "total_pages": 1, "total_records": 0}}')
case("page-data-object", "list_invoices", b'{"data": {}, "meta": {"total_pages": 1, "total_records": 0}}')
case("page-pages-string", "list_invoices", b'{"data": [], "meta": {"total_pages": "1", "total_records": 0}}')
case("page-pages-negative", "list_invoices", b'{"data": [], "meta": {"total_pages": -1, "total_records": 0}}')
case("page-pages-bool", "list_invoices", b'{"data": [], "meta": {"total_pages": true, "total_records": 0}}')
case("page-item-not-object", "list_invoices", page_with("inv_1"))
case("page-item-number", "list_ledger", page_with(5))
case("page-item-null", "list_customers", page_with(None))
case("page-trailing-garbage", "list_invoices", GOOD["invoices"] + b" x")
case("page-two-documents", "list_invoices", GOOD["invoices"] + GOOD["invoices"])
case("page-too-many-items", "list_invoices", json.dumps({"data": [first("invoices")] * 200, "meta": {
    "current_page": 1, "total_pages": 1, "total_records": 200}}).encode())
case("deep-nesting", "list_invoices", b'{"data": ' + b"[" * 200_000 + b"]" * 200_000 + b', "meta": {}}')

# wrong types inside an invoice
for field, value in (("line_items", "none"), ("line_items", None), ("line_items__0__quantity", "abc"),
                     ("line_items__0__quantity", True), ("line_items__0__unit_price", None),
                     ("line_items__0__unit_price", [1]), ("line_items__0__vat_rate", "17.5"),
                     ("line_items__0__vat_rate", 20), ("line_items__0__vat", "1e999999"),
                     ("line_items__0__discount_percent", 150), ("line_items__0", "line"),
                     ("line_items__0__description", 7), ("status", "overdue"), ("status", None),
                     ("date", "2026-13-45"), ("date", 20260101), ("due_date", "1999-01-01"),
                     ("totals", None), ("totals__amount_paid", "lots"), ("customer_id", None),
                     ("customer_id", 12), ("currency", "POUNDS"), ("number", 1), ("reference", {"a": 1}),
                     ("id", _DROP), ("totals", _DROP), ("line_items__0__vat", _DROP), ("date", _DROP)):
    case(f"invoice-{field}-{value!r}"[:80], "list_invoices", broken("invoices", **{field: value}))
    case(f"one-invoice-{field}-{value!r}"[:80], "get_invoice", json.dumps(json.loads(
        broken("invoices", **{field: value}))["data"][0]).encode())

# wrong types inside a contact, a ledger line, a bank account
for field, value in (("name", None), ("name", ""), ("email", "not-an-email"), ("archived", "yes"),
                     ("address", ["Bristol"]), ("address__country", "GBR"), ("currency", 44), ("name", _DROP)):
    case(f"contact-{field}-{value!r}"[:80], "list_customers", broken("contacts", **{field: value}))
for field, value in (("debit", "x"), ("credit", None), ("date", "yesterday"), ("account_id", None),
                     ("source_id", 3), ("debit", "1e30"), ("id", _DROP)):
    case(f"line-{field}-{value!r}"[:80], "list_ledger", broken("transactions", **{field: value}))
for field, value in (("name", None), ("balance", "plenty"), ("currency", "pounds")):
    case(f"bank-{field}-{value!r}"[:80], "list_banks", broken("bank_accounts", **{field: value}))
case("company-without-id", "companies", b'{"name": "x"}')
case("company-is-list", "companies", b"[]")
case("report-is-list", "report", b"[1, 2]")

# big answers
case("ten-mb-garbage", "list_invoices", b"x" * 10_000_000)
case("ten-mb-string", "list_invoices", b'{"data": ["' + b"a" * 10_000_000 + b'"], "meta": {}}')
case("ten-mb-json-of-junk-items", "list_ledger", json.dumps({"data": [{"junk": "y" * 100}] * 100, "meta": {
    "current_page": 1, "total_pages": 1, "total_records": 1}}).encode() + b" " * 10_000_000 + b"!")
case("over-the-cap", "list_invoices", b'{"data": [], "meta": {}}' + b" " * (51 * 1024 * 1024))


def invoice() -> SalesDocument:
    return SalesDocument(customer_remote_id="cust_1", date=dt.date(2026, 10, 1), status=DocumentStatus.APPROVED,
                         lines=[InvoiceLine(description="x", quantity=Decimal(1), unit_price=Decimal(1),
                                            vat_rate_key="standard", vat_rate=Decimal(20), account_code="4000")])


OPERATIONS = {
    "list_invoices": ("invoices", lambda c: _drain(c, Entity.INVOICES)),
    "list_customers": ("contacts", lambda c: _drain(c, Entity.CUSTOMERS)),
    "list_ledger": ("transactions", lambda c: _drain(c, Entity.LEDGER_LINES)),
    "list_banks": ("bank_accounts", lambda c: _drain(c, Entity.BANK_ACCOUNTS)),
    "get_invoice": ("invoices/inv_1", lambda c: c.get(Entity.INVOICES, "inv_1")),
    "create_invoice": ("invoices", lambda c: c.create(Entity.INVOICES, invoice(), idempotency_key="k")),
    "companies": ("company", lambda c: c.companies()),
    "report": ("reports/profit-loss", lambda c: c.report(ReportRequest("profit_loss"))),
}


async def _drain(client: Client, entity: Entity) -> None:
    async for _page in client.list(entity):
        pass


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 100
    assert len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize(("name", "operation", "status", "content_type", "body"), CASES,
                         ids=[name for name, *_ in CASES])
def test_malformed_answer_is_a_typed_error(name, operation, status, content_type, body):
    target, call = OPERATIONS[operation]

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1/")
        if path == target or (operation == "create_invoice" and request.method == "POST"):
            return httpx.Response(status, headers={"content-type": content_type}, content=body)
        if path == "company":
            return httpx.Response(200, json=COMPANY)
        # find_created's look-up after a lost create (there is none here: every other path is empty)
        return httpx.Response(200, json={"data": [], "meta": {"current_page": 1, "total_pages": 0,
                                                               "total_records": 0}})

    async def nap(_seconds: float) -> None:
        await asyncio.sleep(0)

    async def go():
        async with Client("https://api.accbooks.test/v1/", "acb_" + "1" * 40, transport=httpx.MockTransport(handler),
                          limits=limits_for("accbooks", rate=None, headers=False),
                          retry=RetryPolicy(attempts=2), sleep=nap) as client:
            await call(client)

    with pytest.raises(ProviderError) as caught:
        asyncio.run(go())
    assert caught.value.message and "Traceback" not in caught.value.message
    if status < 300 and content_type == "application/json" and operation.startswith("list"):
        assert isinstance(caught.value, BadResponse)
