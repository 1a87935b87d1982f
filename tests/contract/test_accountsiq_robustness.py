"""Malformed answers: every one ends in a typed ``ProviderError`` subclass, never another exception.

The answers come from a transport that replies by SOAPAction with canned bytes, under the real client
code path (the shared HTTP layer, the envelope reader, the client, the mapping). The well-formed
originals are real sandbox answers; the corpus cuts them short, changes their members' types, breaks
their SOAP structure, swaps them for HTML pages and other statuses, empties them, inflates them to
10 MB, and replaces them with XML bombs and external entities. The methods an action needs besides the
one under test get their good originals. No case may end in the client's last-resort conversion of an
unexpected exception (``detail["internal"]``): that would be a gap in the reading code.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from app.domain import Invoice, InvoiceLine
from providers.accountsiq.client import Client
from providers.base import Entity, ProviderError, ReportRequest
from providers.http import RateLimits, RetryPolicy
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread
from tests.sandbox.test_accountsiq_sandbox import Aiq

SAME_PAGE = "x-test-same-page"
QUICK = RetryPolicy(attempts=2, base=0.001, cap=0.001)
MB10 = 10 * 1024 * 1024
XML = {"content-type": "text/xml; charset=utf-8"}
ENTITY = "laganvalley"
CLIENT_ID = "6f0c3b2e-8d4a-4e71-9b5c-2a7d1e9f4c83"
_ALL_TIME = ("<FromDate>0001-01-01T00:00:00</FromDate><ToDate>9999-12-31T23:59:59</ToDate>"
             "<FromCreationDate>0001-01-01T00:00:00</FromCreationDate>"
             "<ToCreationDate>9999-12-31T23:59:59</ToCreationDate>")


class Routed(httpx.AsyncBaseTransport):
    """Answers by SOAPAction: the good originals for the helpers, the case under test for the rest. A
    transaction page asked for past the first is empty, as the service's would be (unless the case is a
    service that ignores Skip)."""

    def __init__(self, helpers: dict[str, bytes], status: int, body: bytes, headers: dict[str, str]):
        self.same_page = headers.get(SAME_PAGE) is not None
        headers = {name: value for name, value in headers.items() if name != SAME_PAGE}
        self.helpers, self.status, self.body, self.headers = helpers, status, body, {**XML, **headers}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        action = request.headers.get("soapaction", "").rsplit("/", 1)[-1]
        skip = re.search(rb"<Skip>(\d+)</Skip>", request.content)
        if action == "GetTransactionsModifiedBy" and skip and int(skip.group(1)) and not self.same_page:
            return httpx.Response(200, headers=XML, content=_skipped(self.body, int(skip.group(1))), request=request)
        if action in self.helpers:
            return httpx.Response(200, headers=XML, content=self.helpers[action], request=request)
        return httpx.Response(self.status, headers=self.headers, stream=httpx.ByteStream(self.body), request=request)


@pytest.fixture(scope="module")
def originals() -> dict[str, bytes]:
    sandbox = build_sandbox("accountsiq", SandboxOptions(size="small", seed=4, throttle=False))
    server = serve_in_thread(sandbox.stack.asgi)
    try:
        aiq = Aiq(server.url, sandbox.credentials())
        asked = {
            "GetInvoicesBy": "<query><Skip>0</Skip><Limit>3</Limit></query>",
            "GetInvoice": "<invoiceID>1</invoiceID>", "GetCustomerList": "", "GetCustomer": "<customerCode>C0001"
            "</customerCode>", "GetCreditTermList": "", "GetTrialBalanceForPeriod": "<dateInPeriod>2026-01-15"
            "</dateInPeriod>", "GetEntitiesByToken": "", "GetBankList": "", "GetChartOfAccounts": "",
            "GetBankAccountBalance": "<GLAccountCode>1200</GLAccountCode><pointInTime>2026-01-15</pointInTime>",
            "GetNewSalesInvoice": "<customerCode>C0001</customerCode>",
            "GetTransactionsModifiedBy": f"<query>{_ALL_TIME}<TransactionIDsFilter><int>2</int><int>3</int>"
                                         "</TransactionIDsFilter></query>",
        }
        found = {method: aiq.post(method, body).content for method, body in asked.items()}
        credentials = sandbox.credentials()
        found["TokenGet"] = aiq.post("TokenGet", f"<clientId>{credentials['client_id']}</clientId><clientSecret>"
                                     f"{credentials['client_secret']}</clientSecret>", entity=None, token=None).content
        for method, body in found.items():
            assert b"<Status>Success</Status>" in body, (method, body[:300])
        return found
    finally:
        server.stop()


# --- actions: what the client is asked, and which methods it needs answered well ----------------------------

Action = Callable[[Client], Awaitable[Any]]


async def list_invoices(client: Client) -> Any:
    return [page async for page in client.list(Entity.INVOICES)]


async def get_invoice(client: Client) -> Any:
    return await client.get(Entity.INVOICES, "1")


async def list_customers(client: Client) -> Any:
    return [page async for page in client.list(Entity.CUSTOMERS)]


async def get_customer(client: Client) -> Any:
    return await client.get(Entity.CUSTOMERS, "C0001")


async def list_ledger(client: Client) -> Any:
    return [page async for page in client.list(Entity.LEDGER_LINES)]


async def trial_balance(client: Client) -> Any:
    return await client.report(ReportRequest("trial_balance"))


async def companies(client: Client) -> Any:
    return await client.companies()


async def bank_accounts(client: Client) -> Any:
    return [page async for page in client.list(Entity.BANK_ACCOUNTS)]


async def create_invoice(client: Client) -> Any:
    invoice = Invoice(customer_remote_id="C0001", date="2026-01-15",
                      lines=[InvoiceLine(description="x", quantity=1, unit_price=10, vat_rate_key="S")])
    return await client.create(Entity.INVOICES, invoice, idempotency_key="robust-1")


async def sign_in(client: Client) -> Any:
    return await client.get(Entity.CUSTOMERS, "C0001")


TARGET = {list_invoices: "GetInvoicesBy", get_invoice: "GetInvoice", list_customers: "GetCustomerList",
          get_customer: "GetCustomer", list_ledger: "GetTransactionsModifiedBy",
          trial_balance: "GetTrialBalanceForPeriod", companies: "GetEntitiesByToken", bank_accounts: "GetBankList",
          create_invoice: "SaveInvoiceGetBackInvoiceID", sign_in: "TokenGet"}
HELPERS = ("GetCreditTermList", "GetCustomer", "GetCustomerList", "GetBankAccountBalance", "GetNewSalesInvoice",
           "GetInvoice", "TokenGet")


def outcome(originals: dict[str, bytes], action: Action, status: int, body: bytes, headers: dict) -> BaseException | None:
    target = TARGET[action]
    helpers = {name: originals[name] for name in HELPERS if name != target}

    async def go():
        token = None if action is sign_in else "robustness-access-token"
        async with Client("http://127.0.0.1", CLIENT_ID, "robustness-secret", ENTITY, access_token=token,
                          transport=Routed(helpers, status, body, headers), limits=RateLimits(rate=None),
                          retry=QUICK) as client:
            await action(client)

    try:
        asyncio.run(go())
    except BaseException as error:  # the test decides what was acceptable
        return error
    return None


# --- the corpus -------------------------------------------------------------------------------------------

def member(body: bytes, name: str, value: str | None, occurrence: int = 0) -> bytes:
    """The ``occurrence``-th ``<name>...</name>`` (or ``<name />``) with new text, or left out (None)."""
    pattern = re.compile(rb"<" + name.encode() + rb"(?: /|>[^<]*</" + name.encode() + rb")>")
    found = list(pattern.finditer(body))
    assert len(found) > occurrence, (name, body[:200])
    hit = found[occurrence]
    text = b"" if value is None else f"<{name}>{value}</{name}>".encode()
    return body[:hit.start()] + text + body[hit.end():]


def soap(inner: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
            f'envelope/"><soap:Body>{inner}</soap:Body></soap:Envelope>').encode()


NS = "http://www.visorsoftware.com/visor/accountsiq/dashboard/Integration/"


def _skipped(page: bytes, skip: int) -> bytes:
    """A transaction page less its first ``skip`` records, as the service would answer the next Skip."""
    tag = b"<WSChangedTransactionSummary>"
    first = page.find(tag)
    if first == -1:
        return page
    end = page.rindex(b"</WSChangedTransactionSummary>") + len(b"</WSChangedTransactionSummary>")
    records = [tag + part for part in page[first:end].split(tag)[1:]]
    return page[:first] + b"".join(records[skip:]) + page[end:]


HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
BOMBS = {
    "billion laughs": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;'
                      b'&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'
                      b'&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'
                      b'&lol3;">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
                      b'&lol4;</soap:Body></soap:Envelope>',
    "quadratic blowup": b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "' + b"x" * 100_000 + b'">]><q>'
                        + b"&a;" * 10_000 + b"</q>",
    "external entity": b'<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><foo>&xxe;'
                       b"</foo>",
    "external dtd": b'<?xml version="1.0"?><!DOCTYPE foo SYSTEM "http://127.0.0.1:9/evil.dtd"><foo/>',
    "parameter entity": b'<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd">%p;]>'
                        b"<foo/>",
    "utf-16 bomb": '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE l [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;">]>'
                   "<l>&l2;</l>".encode("utf-16"),
    "undeclared entity": soap("<x>&nbsp;</x>"),
    "bad character reference": soap("<x>&#0;</x>"),
}


def corpus(o: dict[str, bytes]) -> list[tuple[str, int, bytes, dict, list[Action]]]:
    """(name, status, body, headers, actions): at least 100 answers, each to be refused with a typed error."""
    cases: list[tuple[str, int, bytes, dict, list[Action]]] = []

    def add(name, body, actions, status=200, headers=None):
        cases.append((name, status, body, headers or {}, actions))

    # Cut short anywhere (a proxy or a dropped connection that still said how long the body was).
    for method, action in (("GetInvoicesBy", list_invoices), ("GetInvoice", get_invoice),
                           ("GetCustomerList", list_customers), ("GetTransactionsModifiedBy", list_ledger),
                           ("GetTrialBalanceForPeriod", trial_balance), ("GetEntitiesByToken", companies),
                           ("TokenGet", sign_in)):
        body = o[method]
        for tenth in range(1, 10):
            add(f"{method} cut at {tenth}0%", body[: len(body) * tenth // 10], [action])
    for cut in (1, 2, -1, -2):
        add(f"invoice page cut to {cut} bytes", o["GetInvoicesBy"][:cut], [list_invoices])
        add(f"customer cut to {cut} bytes", o["GetCustomer"][:cut], [get_customer])
    # Not XML, or not the answer asked for.
    page = o["GetInvoicesBy"]
    for name, status, body, headers in (
        ("HTML page", 200, HTML, {"content-type": "text/html"}), ("HTML labelled text/xml", 200, HTML, {}),
        ("404 page", 404, HTML, {"content-type": "text/html"}), ("500 page", 500, HTML, {"content-type": "text/html"}),
        ("502 page", 502, HTML, {"content-type": "text/html"}),
        ("503 page", 503, HTML, {"content-type": "text/html", "retry-after": "0"}),
        ("empty 200", 200, b"", {}), ("empty 500", 500, b"", {}), ("whitespace", 200, b"  \n\t ", {}),
        ("JSON", 200, b'{"Status": "Success", "Result": []}', {"content-type": "application/json"}),
        ("plain text", 200, b"OK", {"content-type": "text/plain"}), ("binary", 200, b"\x00\xff\xfe" * 300, {}),
        ("unknown encoding", 200, page.replace(b'encoding="utf-8"', b'encoding="klingon"'), {}),
        ("bad utf-8", 200, page.replace(b"Invoice>", b"Invoice\xff>", 1), {}),
        ("processing instruction only", 200, b'<?xml version="1.0"?>', {}),
        ("root is not an envelope", 200, b"<Envelope><Body/></Envelope>", {}),
        ("envelope without body", 200, b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"/>', {}),
        ("empty body", 200, soap(""), {}),
        ("another method's answer", 200, page.replace(b"GetInvoicesByRes", b"GetCustomerListRes"), {}),
        ("no method result", 200, soap(f'<GetInvoicesByResponse xmlns="{NS}"/>'), {}),
        ("no status", 200, soap(f'<GetInvoicesByResponse xmlns="{NS}"><GetInvoicesByResult><ErrorCode>SUCCESS'
                                "</ErrorCode></GetInvoicesByResult></GetInvoicesByResponse>"), {}),
        ("another namespace", 200, page.replace(NS.encode(), b"http://example.com/other/"), {}),
        ("client fault", 500, soap("<soap:Fault><faultcode>soap:Client</faultcode><faultstring>Server was unable "
                                   "to read request.</faultstring></soap:Fault>"), {}),
        ("server fault", 500, soap("<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Object reference "
                                   "not set to an instance of an object.</faultstring></soap:Fault>"), {}),
        ("fault without words", 500, soap("<soap:Fault/>"), {}),
        ("failure without words", 200, soap(f'<GetInvoicesByResponse xmlns="{NS}"><GetInvoicesByResult><Status>'
                                            "Failure</Status></GetInvoicesByResult></GetInvoicesByResponse>"), {}),
        ("redirect", 301, b"", {"location": "http://127.0.0.1/login"}), ("401", 401, b"", {}), ("403", 403, b"", {}),
        ("413", 413, b"Request Entity Too Large", {}), ("415", 415, b"Unsupported Media Type", {}),
        ("418", 418, b"I'm a teapot", {}), ("429", 429, b"", {"retry-after": "0"}),
        ("gzip that is not", 200, page, {"content-encoding": "gzip"}),
        ("gzip of a cut answer", 200, gzip.compress(page[: len(page) // 2]), {"content-encoding": "gzip"}),
    ):
        add(name, body, [list_invoices, get_customer], status, headers)
    # XML bombs and external entities: refused before anything is expanded or fetched.
    for name, body in BOMBS.items():
        add(name, body, [list_invoices, companies, sign_in])
    # 10 MB.
    add("10 MB of noise", b"x" * MB10, [list_invoices])
    add("10 MB of nesting", b"<a>" * (MB10 // 3), [list_invoices])
    add("10 MB refusal", member(page, "Status", "Failure").replace(
        b"<ErrorCode>SUCCESS</ErrorCode>", b"<ErrorCode>X</ErrorCode><ErrorMessage>" + b"y" * MB10
        + b"</ErrorMessage>"), [list_invoices])
    invoice = page[page.index(b"<Invoice>"):page.index(b"</Invoice>") + len(b"</Invoice>")]
    many = invoice * (MB10 // len(invoice)) + member(invoice, "InvoiceID", "last-one")
    add("10 MB page, the last record broken", page.replace(page[page.index(b"<Result>") + 8:page.index(
        b"</Result>")], many), [list_invoices])
    # Wrong types, one member at a time.
    for name, value in (("InvoiceID", "abc"), ("InvoiceID", "-3"), ("InvoiceID", None), ("InvoiceDate", "yesterday"),
                        ("InvoiceDate", "2026-02-30T00:00:00"), ("InvoiceDate", None), ("Status", "Banana"),
                        ("Type", "Quote"), ("InvoicedQuantity", "ten"), ("StockItemPrice", "NaN"),
                        ("StockItemPrice", "Infinity"), ("TaxRate", "-20"),
                        ("TaxAmount", "1,000.00"), ("ExchangeRate", "abc"), ("CurrencyCode", "POUNDS")):
        add(f"invoice {name}={value}", member(page, name, value), [list_invoices])
        add(f"one invoice {name}={value}", member(o["GetInvoice"], name, value), [get_invoice])
    add("invoice of no customer", member(member(page, "AccountCode", None), "AccountID", "x"), [list_invoices])
    add("line discount over 100%", member(page, "DiscountRate", "150", occurrence=1), [list_invoices])
    for name, value in (("Name", ""), ("Email", "not-an-email"), ("Code", None), ("IsActive", "maybe"),
                        ("CurrencyCode", "12")):
        add(f"customer {name}={value}", member(o["GetCustomer"], name, value), [get_customer])
        add(f"customer list {name}={value}", member(o["GetCustomerList"], name, value), [list_customers])
    ledger = o["GetTransactionsModifiedBy"]
    add("a service that ignores Skip", ledger, [list_ledger], headers={SAME_PAGE: "1"})
    for name, value in (("TransactionID", "x"), ("TransactionDate", "no"), ("BCAmount", "abc"), ("BCAmount", "1e")):
        add(f"transaction {name}={value}", member(ledger, name, value), [list_ledger])
    add("trial balance amount", member(o["GetTrialBalanceForPeriod"], "OverallBalance", "abc"), [trial_balance])
    add("trial balance without result", member(o["GetTrialBalanceForPeriod"], "PeriodNumber", "x"), [trial_balance])
    add("entity without id", member(o["GetEntitiesByToken"], "EntityID", None), [companies])
    add("bank without code", member(o["GetBankList"], "Code", None), [bank_accounts])
    token = o["TokenGet"]
    add("token answer without a token", token.replace(b"AccessToken>", b"Other>"), [sign_in])
    add("token refused", member(token, "Status", "Failure"), [sign_in])
    # A write whose answer is unreadable: done or not, nobody knows.
    save = soap(f'<SaveInvoiceGetBackInvoiceIDResponse xmlns="{NS}"><SaveInvoiceGetBackInvoiceIDResult><Status>'
                "Success</Status><ErrorCode>SUCCESS</ErrorCode></SaveInvoiceGetBackInvoiceIDResult><invoiceID>abc"
                "</invoiceID></SaveInvoiceGetBackInvoiceIDResponse>")
    add("saved invoice id not a number", save, [create_invoice])
    add("save answer cut", save[: len(save) // 2], [create_invoice])
    return cases


def test_the_corpus_has_at_least_100_answers(originals):
    assert len(corpus(originals)) >= 100


@pytest.fixture(scope="module")
def cases(originals):
    return corpus(originals)


def test_every_malformed_answer_ends_in_a_typed_error(cases, originals):
    failures = []
    for name, status, body, headers, actions in cases:
        for action in actions:
            error = outcome(originals, action, status, body, headers)
            if error is None:
                failures.append(f"{name} / {action.__name__}: accepted")
            elif not isinstance(error, ProviderError) or type(error) is ProviderError:
                failures.append(f"{name} / {action.__name__}: {type(error).__name__}: {error}")
            elif not isinstance(error.message, str) or not error.message:
                failures.append(f"{name} / {action.__name__}: no message")
            elif isinstance(error.detail, dict) and error.detail.get("internal"):
                failures.append(f"{name} / {action.__name__}: reached the last resort: {error.message}")
    assert not failures, "\n".join(failures)


def test_the_good_originals_are_read(originals):
    """The corpus is worth something only if the same path reads the unbroken answers."""
    for action in (list_invoices, get_invoice, list_customers, get_customer, list_ledger, trial_balance, companies,
                   bank_accounts, sign_in):
        assert outcome(originals, action, 200, originals[TARGET[action]], {}) is None, action.__name__


@pytest.mark.parametrize("name", list(BOMBS)[:6])
def test_a_bomb_is_refused_for_safety_quickly(originals, name):
    started = time.perf_counter()
    error = outcome(originals, list_invoices, 200, BOMBS[name], {})
    assert isinstance(error, ProviderError) and "refused for safety" in error.message
    assert time.perf_counter() - started < 2
