"""Malformed answers: every one ends in a typed ``ProviderError`` subclass, never another exception.

The answers come from a transport that replies with canned bytes, under the real client code path (the
shared HTTP layer, the client, the mapping). The well-formed originals are real sandbox answers; the
corpus cuts them short, changes their types, swaps them for HTML pages, empties them, inflates them to
10 MB, and breaks the redirects, one-element arrays and token answers the client relies on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.domain import Customer
from providers.base import Entity, ProviderError, ReportRequest
from providers.clearbooks.client import Client
from providers.clearbooks.oauth import RefreshGrant
from providers.decimal_json import dumps, loads
from providers.http import RateLimits, RetryPolicy
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread
from tests.sandbox.test_clearbooks_sandbox import Api, sign_in

QUICK = RetryPolicy(attempts=2, base=0.001, cap=0.001)
MB10 = 10 * 1024 * 1024
HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
JSON_TYPE = {"content-type": "application/json"}


class Canned(httpx.AsyncBaseTransport):
    """Answers every request with the same status, headers and bytes."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str] | None = None):
        self.status, self.body = status, body
        self.headers = {**JSON_TYPE, **(headers or {})}
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        await request.aread()
        return httpx.Response(self.status, headers=self.headers, stream=httpx.ByteStream(self.body),
                              request=request)


@pytest.fixture(scope="module")
def originals() -> dict[str, bytes]:
    """Real answers of the sandbox: a page of invoices, one invoice, one account code (an array)."""
    sandbox = build_sandbox("clearbooks", SandboxOptions(size="tiny", seed=4, throttle=False))
    server = serve_in_thread(sandbox.stack.asgi)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        api = Api(http, sign_in(http, sandbox.credentials())["access_token"], 184501)
        page = api.get("/v1/accounting/sales/invoices", params={"limit": 3}).content
        invoice = api.get(f"/v1/accounting/sales/invoices/{loads(page)[0]['id']}").content
        account = api.get("/v1/accounting/accountCodes/1001001").content
        customers = api.get("/v1/accounting/customers", params={"limit": 2}).content
    server.stop()
    return {"page": page, "invoice": invoice, "account": account, "customers": customers}


Action = Callable[[Client], Awaitable[Any]]


async def list_invoices(client: Client) -> Any:
    return [page async for page in client.list(Entity.INVOICES)]


async def get_invoice(client: Client) -> Any:
    return await client.get(Entity.INVOICES, "12")


async def get_account(client: Client) -> Any:
    return await client.get(Entity.ACCOUNTS, "1001001")


async def create_customer(client: Client) -> Any:
    return await client.create(Entity.CUSTOMERS, Customer(name="Robust Ltd"), idempotency_key="r1")


async def companies(client: Client) -> Any:
    return await client.companies()


async def report(client: Client) -> Any:
    return await client.report(ReportRequest("trial_balance", date_to=dt.date(2026, 1, 1)))


ACTIONS = [list_invoices, get_invoice, get_account, create_customer, companies, report]


def outcome(transport: Canned, action: Action) -> BaseException | None:
    async def go():
        async with Client("http://127.0.0.1/v1", "184501", "token-for-robustness", transport=transport,
                          limits=RateLimits(rate=None), retry=QUICK) as client:
            await action(client)

    try:
        asyncio.run(go())
    except BaseException as error:  # the test decides what was acceptable
        return error
    return None


def assert_typed(error: BaseException | None) -> None:
    assert error is not None, "a malformed answer was accepted"
    assert isinstance(error, ProviderError) and type(error) is not ProviderError, repr(error)
    assert isinstance(error.message, str) and error.message


def mutate(data: bytes, change: Callable[[Any], Any]) -> bytes:
    value = loads(data)
    change(value)
    return dumps(value).encode()


def corpus(o: dict[str, bytes]) -> list[tuple[str, int, bytes, dict, list[Action]]]:
    """(name, status, body, headers, actions): at least 100 answers, each to be refused with a typed error."""
    page, invoice, account = o["page"], o["invoice"], o["account"]
    cases: list[tuple[str, int, bytes, dict, list[Action]]] = []

    def add(name, body, actions, status=200, headers=None):
        cases.append((name, status, body, headers or {}, actions))

    # Cut short anywhere: every tenth of the page, and single-character cuts at the edges.
    for n in range(1, 10):
        add(f"page cut at {n}0%", page[: len(page) * n // 10], [list_invoices])
        add(f"invoice cut at {n}0%", invoice[: len(invoice) * n // 10], [get_invoice])
    for cut in (1, 2, len(page) - 1, len(page) - 2):
        add(f"page cut to {cut} bytes", page[:cut], [list_invoices])
    # Wrong types, one field at a time, in a list page and in a single record.
    first = lambda value: value[0]  # noqa: E731
    changes: dict[str, Callable[[dict], Any]] = {
        "id as text": lambda d: d.update(id="12"), "id null": lambda d: d.update(id=None),
        "id true": lambda d: d.update(id=True), "gross as text": lambda d: d.update(gross="a lot"),
        "due as list": lambda d: d.update(due=[1]), "date not a date": lambda d: d.update(date="2024-13-45"),
        "date a number": lambda d: d.update(date=20240101), "status unknown": lambda d: d.update(status="lost"),
        "status a number": lambda d: d.update(status=3), "customer null": lambda d: d.update(customerId=None),
        "customer text": lambda d: d.update(customerId="C1"), "lines null": lambda d: d.update(lineItems=None),
        "lines an object": lambda d: d.update(lineItems={"a": 1}), "line a string": lambda d: d.update(lineItems=["x"]),
        "line price text": lambda d: d["lineItems"][0].update(unitPrice="ten"),
        "line quantity bool": lambda d: d["lineItems"][0].update(quantity=True),
        "line account text": lambda d: d["lineItems"][0].update(accountCode="sales"),
        "line vat key a list": lambda d: d["lineItems"][0].update(vatRateKey=["standard"]),
        "line description a number": lambda d: d["lineItems"][0].update(description=5),
        "line missing price": lambda d: d["lineItems"][0].pop("unitPrice"),
        "missing id": lambda d: d.pop("id"), "missing date": lambda d: d.pop("date"),
        "due date before date": lambda d: d.update(dateDue="1999-01-01"),
        "currency too long": lambda d: d.update(currency="POUNDS"),
        "reference an object": lambda d: d.update(reference={"po": 1}),
    }
    for name, change in changes.items():
        add(f"page: {name}", mutate(page, lambda value, c=change: c(first(value))), [list_invoices])
        add(f"invoice: {name}", mutate(invoice, change), [get_invoice])
    # Not a list, or not records.
    for name, body in {"an object": b'{"data": []}', "a number": b"42", "a string": b'"[]"', "null": b"null",
                       "numbers": b"[1, 2, 3]", "nulls": b"[null]", "nested lists": b"[[{}]]",
                       "NaN": b'[{"id": NaN}]', "Infinity": b'[{"id": 1, "gross": Infinity}]',
                       "trailing garbage": page + b"}", "two documents": page + page,
                       "deep nesting": b"[" * 100_000 + b"]" * 100_000, "byte order mark": b"\xef\xbb\xbf" + page,
                       "not utf-8": b'[{"name": "\xff\xfe"}]', "single quotes": b"[{'id': 1}]"}.items():
        add(f"list is {name}", body, [list_invoices])
    # HTML where JSON was expected, at every status the client meets.
    for status in (200, 201, 400, 401, 403, 404, 409, 422, 500, 502, 503):
        add(f"HTML page with {status}", HTML, ACTIONS if status == 200 else [list_invoices, create_customer],
            status=status, headers={"content-type": "text/html"})
    add("HTML labelled as JSON", b"<!DOCTYPE html><html><body>Maintenance</body></html>", ACTIONS)
    # Empty bodies.
    for status in (200, 201, 400, 404, 500):
        add(f"empty body with {status}", b"", [list_invoices, get_invoice, create_customer], status=status)
    add("whitespace only", b"   \n ", ACTIONS)
    # Ten megabytes.
    add("10 MB of garbage", b"x" * MB10, [list_invoices, get_invoice])
    add("10 MB string", b'"' + b"a" * MB10 + b'"', [list_invoices, companies])
    add("10 MB of nulls", b"[" + b"null," * (MB10 // 5) + b"null]", [list_invoices])
    add("10 MB cut short", b'[{"id": 1, "name": "' + b"n" * MB10, [list_invoices, get_account])
    add("declares more than may be read", b"[]", [list_invoices], headers={"content-length": str(6 * MB10)})
    add("gzip that is not gzip", b"\x1f\x8b\x08garbage", [list_invoices], headers={"content-encoding": "gzip"})
    add("gzip of garbage", gzip.compress(b"{{{{"), [list_invoices], headers={"content-encoding": "gzip"})
    # The one-element arrays.
    add("account: empty array", b"[]", [get_account])
    add("account: two elements", b"[" + account[1:-1] + b"," + account[1:-1] + b"]", [get_account])
    add("account: heading text", mutate(account, lambda v: v[0].update(heading="income")), [get_account])
    add("account: heading of no class", mutate(account, lambda v: v[0].update(heading=0)), [get_account])
    # Redirects the client must not follow.
    add("redirect without a location", b"", [get_invoice], status=302)
    add("redirect to another host", b"", [get_invoice], status=302,
        headers={"location": "https://elsewhere.example/v1/accounting/sales/invoices/13"})
    add("redirect outside the API", b"", [get_invoice], status=302, headers={"location": "/admin/13"})
    add("redirect loop", b"", [get_invoice], status=302,
        headers={"location": "http://127.0.0.1/v1/accounting/sales/invoices/12"})
    add("redirect to a bad address", b"", [get_invoice], status=302, headers={"location": "http://[::1"})
    # Errors in shapes we cannot read.
    for name, body in {"codes are numbers": b'[{"errorCode": 1, "errorMessage": 2}]', "errors a string":
                       b'{"errors": "bad"}', "not json": b"Bad Request", "an empty array": b"[]"}.items():
        add(f"400 whose {name}", body, [create_customer], status=400)
    # Statuses that make no sense here.
    for status in (204, 304, 418, 451):
        add(f"status {status}", b"", [list_invoices, get_invoice], status=status)
    add("the same page for ever", page, [list_invoices], headers={"x-pagination-total-pages": "100000"})
    add("businesses that are not businesses", b'[{"id": "one", "name": 3}]', [companies])
    add("balances that are not amounts", b'[{"accountCodeId": 1001001, "balance": "12.00"}]', [report])
    add("balances without ids", b'[{"balance": 1}]', [report])
    return cases


def test_the_corpus_is_large_and_the_originals_are_readable(originals):
    cases = corpus(originals)
    assert sum(len(actions) for *_rest, actions in cases) >= 100 and len(cases) >= 100
    assert outcome(Canned(200, originals["page"]), list_invoices) is None
    assert outcome(Canned(200, originals["invoice"]), get_invoice) is None
    assert outcome(Canned(200, originals["account"]), get_account) is None


def test_every_malformed_answer_is_a_typed_error(originals):
    failures = []
    for name, status, body, headers, actions in corpus(originals):
        for action in actions:
            error = outcome(Canned(status, body, headers), action)
            try:
                assert_typed(error)
            except AssertionError as problem:
                failures.append(f"{name} / {action.__name__}: {problem}")
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("status, body", [
    (200, b"{}"), (200, b'{"access_token": 5, "refresh_token": "r"}'), (200, b'{"access_token": "a"}'),
    (200, b"<html><title>Login</title></html>"), (200, b'{"access_token": "a", "refresh_token": '),
    (200, b""), (400, b'{"error": "invalid_grant"}'), (400, b"nope"), (401, b'{"error": "invalid_client"}'),
    (500, HTML), (302, b""), (200, b"[]"), (200, b'{"access_token": "", "refresh_token": ""}'),
])
def test_a_malformed_token_answer_is_a_typed_error(status, body):
    async def go():
        grant = RefreshGrant("http://127.0.0.1/oauth/token", "id", "secret-xyz", "refresh-xyz",
                             lambda pair: None, transport=Canned(status, body))
        grant._session.retry = QUICK
        try:
            await grant()
        finally:
            await grant.aclose()

    with pytest.raises(ProviderError) as caught:
        asyncio.run(go())
    assert type(caught.value) is not ProviderError


def test_money_never_passes_through_float(originals):
    """A fractional amount stays exact text to Decimal, however many digits it has."""
    value = loads(originals["invoice"])
    value["lineItems"][0]["unitPrice"] = Decimal("0.1000000000000000055511151231257827")
    body = dumps(value).encode()
    assert b'"unitPrice":0.1000000000000000055511151231257827' in body

    async def go():
        async with Client("http://127.0.0.1/v1", "1", "token-xyz-123", transport=Canned(200, body),
                          limits=RateLimits(rate=None)) as client:
            return await client.get(Entity.INVOICES, "12")

    line = asyncio.run(go()).lines[0]
    assert str(line.unit_price) == "0.1000000000000000055511151231257827"
