"""The AccBooks client against its sandbox over loopback HTTP: a medium company listed whole and
compared field by field; create, update, delete and read back; each documented error as its typed
error with the service's words; paging edges and records that come or go mid-list; Starter-plan pacing
with no 429; faults (5xx, drops, throttling) with a complete list and no doubled create; no key in
any log line."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from decimal import Decimal

import pytest

from app.domain import Address, Customer, DocumentStatus, InvoiceLine, SalesDocument
from providers.accbooks import mapping
from providers.accbooks.client import Client
from providers.accbooks.client_errors import Unsupported
from providers.base import (
    AuthError,
    Conflict,
    Entity,
    NotFound,
    PermissionDenied,
    Provider,
    ProviderError,
    ReportRequest,
    UnknownOutcome,
    ValidationError,
)
from providers.http import InsecureURL, RetryPolicy, limits_for
from providers.sandbox.base import SandboxOptions
from providers.sandbox.faults import _collect, _drop
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread

SEED = 11
UNPACED = limits_for("accbooks", rate=None, headers=False)
QUICK = RetryPolicy(base=0.01, cap=0.2, attempts=12)
STATUS = {"draft": DocumentStatus.DRAFT, "sent": DocumentStatus.APPROVED, "paid": DocumentStatus.PAID,
          "void": DocumentStatus.VOID}
RATE_KEY = {"20": "standard", "5": "reduced", "0": "zero", "exempt": "exempt"}


def run(coro):
    return asyncio.run(coro)


def connect(url: str, key: str, **kwargs) -> Client:
    kwargs.setdefault("limits", UNPACED)
    kwargs.setdefault("retry", QUICK)
    return Client(f"{url}/v1/", key, **kwargs)


async def everything(client: Client, entity: Entity, **kwargs) -> list:
    found = []
    async for page in client.list(entity, **kwargs):
        found += page.items
    return found


# --- fixtures -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sandbox():
    return build_sandbox("accbooks", SandboxOptions(size="medium", seed=SEED, throttle=False))


@pytest.fixture(scope="module")
def server(sandbox):
    running = serve_in_thread(sandbox.stack.asgi)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def ids(sandbox) -> list[str]:
    return [company["id"] for company in sandbox.companies()]


@pytest.fixture(scope="module")
def keys(sandbox, ids) -> dict[str, str]:
    credentials = sandbox.credentials()
    return {"tiny": credentials[f"api_key:{ids[0]}"], "small": credentials[f"api_key:{ids[1]}"],
            "medium": credentials[f"api_key:{ids[2]}"], "read_only": credentials["read_only_api_key"],
            "custom": credentials["custom_api_key"]}


@pytest.fixture(autouse=True)
def no_faults(sandbox):
    yield
    sandbox.stack.faults.settings.update(latency_ms=0, error_rate=0.0, drop_before_rate=0.0, drop_after_rate=0.0,
                                         throttle_rate=0.0, truncate_rate=0.0)


@pytest.fixture(scope="module")
def medium(server, keys):
    """Everything of the medium company, listed once through the client (the slow part of this file)."""
    async def go():
        async with connect(server.url, keys["medium"]) as client:
            found = {"company": await client.companies()}
            totals = {}
            for entity in (Entity.CUSTOMERS, Entity.INVOICES, Entity.BANK_ACCOUNTS, Entity.LEDGER_LINES,
                           Entity.ACCOUNTS):
                found[entity] = []
                async for page in client.list(entity):
                    found[entity] += page.items
                    totals[entity] = page.total
            found["totals"] = totals
            found["requests"] = client.http.stats.requests
            return found

    return run(go())


# --- the medium company, field by field ---------------------------------------------------------------

def test_client_is_a_provider(server, keys):
    client = connect(server.url, keys["tiny"])
    assert isinstance(client, Provider)
    run(client.aclose())


def test_company(medium, sandbox, ids):
    [company] = medium["company"]
    doc = sandbox.company(ids[2])
    assert (company.id, company.name, company.currency) == (doc["id"], doc["name"], doc["currency"])
    assert company.details["plan"] == "pro" and company.details["financial_year_end"] == doc["financial_year_end"]


def test_medium_customers(medium, sandbox, ids):
    docs = [d for d in sandbox.store.all(ids[2], "contacts") if d["type"] == "customer"]
    got = medium[Entity.CUSTOMERS]
    assert len(got) == len(docs) == 5_000
    for customer, doc in zip(got, docs, strict=True):
        a = doc["address"]
        assert customer.remote_id == doc["id"] and customer.remote_version == doc["updated_at"]
        assert (customer.name, customer.contact_name or None, customer.email or None, customer.phone or None) == (
            doc["name"], doc["contact_name"], doc["email"], doc["phone"])
        assert (customer.address.line1 or None, customer.address.line2 or None, customer.address.town or None,
                customer.address.region or None, customer.address.postcode or None,
                customer.address.country or None) == (a["line1"], a["line2"], a["town"], a["county"],
                                                      a["postcode"], a["country"])
        assert (customer.vat_number or None, customer.company_number or None, customer.currency,
                customer.archived) == (doc["vat_number"], doc["company_number"], doc["currency"], doc["archived"])
        assert customer.payload_hash


def test_medium_invoices_money_exact(medium, sandbox, ids):
    docs = sandbox.store.all(ids[2], "invoices")
    got = medium[Entity.INVOICES]
    assert len(got) == len(docs) == 50_000 == medium["totals"][Entity.INVOICES]
    for invoice, doc in zip(got, docs, strict=True):
        assert invoice.remote_id == doc["id"] and invoice.number == doc["number"]
        assert invoice.remote_version == doc["updated_at"]
        assert invoice.customer_remote_id == doc["customer_id"]
        assert (invoice.date.isoformat(), invoice.due_date.isoformat()) == (doc["date"], doc["due_date"])
        assert (invoice.reference or None) == doc["reference"] and invoice.currency == doc["currency"]
        assert invoice.status is STATUS[doc["status"]]
        assert len(invoice.lines) == len(doc["line_items"])
        for line, wire in zip(invoice.lines, doc["line_items"], strict=True):
            assert (line.description, line.quantity, line.unit_price, line.discount_percent,
                    line.vat_rate_key, line.account_code, line.vat_amount) == (
                wire["description"], wire["quantity"], wire["unit_price"], wire["discount_percent"],
                RATE_KEY[wire["vat_rate"]], wire["nominal_code"], wire["vat"])
            assert line.net(invoice.currency) == wire["net"]
        totals, wire = invoice.totals(), doc["totals"]
        # The domain's own line-level arithmetic lands on the service's figures to the penny.
        assert (totals.net, totals.vat, totals.gross, invoice.amount_paid, totals.amount_due) == (
            wire["net"], wire["vat"], wire["total"], wire["amount_paid"], wire["amount_due"])
        assert str(totals.gross) == str(wire["total"])  # exact, not merely equal in value
    assert {invoice.status for invoice in got} == set(DocumentStatus) - {DocumentStatus.POSTED}


def test_medium_bank_accounts(medium, sandbox, ids):
    got = medium[Entity.BANK_ACCOUNTS]
    docs = sandbox.store.all(ids[2], "bank_accounts")
    assert [b.remote_id for b in got] == [d["id"] for d in docs]
    for bank, doc in zip(got, docs, strict=True):
        assert (bank.name, bank.account_number, bank.sort_code, bank.account_code) == (
            doc["name"], doc["account_number"], doc["sort_code"], doc["nominal_code"])
        assert bank.balance == sandbox.ledger.balance(ids[2], doc["nominal_code"])


def test_medium_ledger_lines(medium, sandbox, ids):
    docs = {d["id"]: d for d in sandbox.store.all(ids[2], "transactions")}
    got = medium[Entity.LEDGER_LINES]
    assert len(got) == len(docs) == medium["totals"][Entity.LEDGER_LINES]
    assert len({line.remote_id for line in got}) == len(got)
    for line in got:
        doc = docs[line.remote_id]
        assert (line.date.isoformat(), line.account_code, line.description, line.transaction_id) == (
            doc["date"], doc["account_id"], doc["description"], doc["source_id"])
        assert line.amount == doc["debit"] - doc["credit"]
    assert [line.date for line in got] == sorted(line.date for line in got)
    by_transaction: dict[str, Decimal] = {}
    for line in got:
        by_transaction[line.transaction_id] = by_transaction.get(line.transaction_id, Decimal(0)) + line.amount
    assert set(by_transaction.values()) == {Decimal("0.00")}  # every posting balances


def test_bank_transactions_are_the_bank_lines(server, keys):
    async def go():
        async with connect(server.url, keys["small"]) as client:
            return (await everything(client, Entity.BANK_ACCOUNTS), await everything(client, Entity.LEDGER_LINES),
                    await everything(client, Entity.BANK_TRANSACTIONS))

    banks, lines, got = run(go())
    by_code = {bank.account_code: bank for bank in banks}
    bank_lines = {line.remote_id: line for line in lines if line.account_code in by_code}
    assert sorted(t.remote_id for t in got) == sorted(bank_lines) and got
    for transaction in got:
        line = bank_lines[transaction.remote_id]
        assert (transaction.amount, transaction.date, transaction.description) == (
            line.amount, line.date, line.description)
        assert transaction.bank_account_remote_id == by_code[line.account_code].remote_id
    for bank in banks:
        assert sum(t.amount for t in got if t.bank_account_remote_id == bank.remote_id) == bank.balance


def test_medium_accounts_from_the_trial_balance(medium):
    got = {a.code: a for a in medium[Entity.ACCOUNTS]}
    used = {line.account_code for line in medium[Entity.LEDGER_LINES]}
    assert set(got) == used
    assert got["1100"].name == "Trade debtors" and got["4000"].classification == "revenue"


def test_reports(server, keys, sandbox, ids):
    async def go():
        async with connect(server.url, keys["small"]) as client:
            request = ReportRequest("trial_balance", dt.date(2020, 1, 1), dt.date(2026, 11, 1))
            return (await client.report(request),
                    await client.report(ReportRequest("profit_loss", dt.date(2025, 4, 1), dt.date(2026, 3, 31))))

    trial, profit = run(go())
    assert trial["report"] == "trial-balance" and trial["totals"]["debit"] == trial["totals"]["credit"]
    assert isinstance(trial["totals"]["debit"], Decimal)
    assert profit["net_profit"] == profit["gross_profit"] - profit["expenses"]["total"]

    async def unsupported():
        async with connect(server.url, keys["small"]) as client:
            await client.report(ReportRequest("aged_receivables"))

    with pytest.raises(Unsupported):
        run(unsupported())


# --- create, update, delete, read back ----------------------------------------------------------------

def new_customer(name: str = "Harbour Joinery Ltd") -> Customer:
    return Customer(name=name, contact_name="Isla Byrne", email="isla@harbourjoinery.example", phone="0117 496 0000",
                    address=Address(line1="4 Quay Street", town="Bristol", region="Avon", postcode="BS1 4DB",
                                    country="GB"), vat_number="GB123456789", currency="GBP")


def new_invoice(customer_id: str, **changes) -> SalesDocument:
    fields = {"customer_remote_id": customer_id, "date": dt.date(2026, 10, 1), "due_date": dt.date(2026, 10, 31),
              "reference": "PO 4471", "status": DocumentStatus.APPROVED,
              "lines": [InvoiceLine(description="Site survey", quantity=Decimal("1.5"), unit_price=Decimal("450.00"),
                                    vat_rate_key="standard", vat_rate=Decimal(20), account_code="4010"),
                        InvoiceLine(description="Catalogue", quantity=Decimal(3), unit_price=Decimal("12.40"),
                                    discount_percent=Decimal(10), vat_rate_key="zero", account_code="4000")]}
    fields.update(changes)
    return SalesDocument(**fields)


def test_customer_create_update_read_back(server, keys, sandbox, ids):
    async def go():
        async with connect(server.url, keys["tiny"]) as client:
            created = await client.create(Entity.CUSTOMERS, new_customer(), idempotency_key="cust-key-1")
            fetched = await client.get(Entity.CUSTOMERS, created.remote_id)
            found = await client.find_created(Entity.CUSTOMERS, "cust-key-1")
            twin = await client.create(Entity.CUSTOMERS, new_customer(), idempotency_key="cust-key-2")
            assert twin.remote_id != created.remote_id  # the same content under a new key is a new contact
            assert (await client.find_created(Entity.CUSTOMERS, "cust-key-2")) == twin
            assert (await client.find_created(Entity.CUSTOMERS, "cust-key-1")) == created
            changed = created.model_copy(update={"email": "accounts@harbourjoinery.example", "archived": True,
                                                 "address": Address(line1="5 Quay Street", town="Bristol")})
            updated = await client.update(Entity.CUSTOMERS, changed)
            return created, fetched, found, updated, await client.get(Entity.CUSTOMERS, created.remote_id)

    created, fetched, found, updated, again = run(go())
    assert created.remote_id.startswith("cust_") and created == fetched == found
    assert created.address.region == "Avon" and created.remote_version
    assert updated == again and updated.email == "accounts@harbourjoinery.example" and updated.archived
    assert updated.address == Address(line1="5 Quay Street", town="Bristol")
    stored = sandbox.store.get(ids[0], "contacts", created.remote_id)
    assert stored["address"]["county"] is None and stored["type"] == "customer"


def test_invoice_create_update_delete_read_back(server, keys, sandbox, ids):
    async def go():
        async with connect(server.url, keys["tiny"]) as client:
            created = await client.create(Entity.INVOICES, new_invoice("cust_1"), idempotency_key="inv-key-1")
            fetched = await client.get(Entity.INVOICES, created.remote_id)
            found = await client.find_created(Entity.INVOICES, "inv-key-1")
            missing = await client.find_created(Entity.INVOICES, "never-sent")
            changed = created.model_copy(update={"reference": "PO 4472", "status": DocumentStatus.DRAFT,
                                                 "lines": created.lines[:1]})
            updated = await client.update(Entity.INVOICES, changed)
            await client.delete(Entity.INVOICES, created.remote_id)
            try:
                await client.get(Entity.INVOICES, created.remote_id)
            except NotFound as error:
                gone = error
            return created, fetched, found, missing, updated, gone

    created, fetched, found, missing, updated, gone = run(go())
    assert created == fetched == found and missing is None
    assert created.reference == "PO 4471"  # the duplicate guard's tag is the service's business only
    assert created.number.startswith("INV-") and created.status is DocumentStatus.APPROVED
    # 1.5 x 450.00 = 675.00 + VAT 135.00; 3 x 12.40 less 10% = 33.48, zero-rated
    assert (created.net, created.vat, created.gross) == (Decimal("708.48"), Decimal("135.00"), Decimal("843.48"))
    assert updated.status is DocumentStatus.DRAFT and updated.reference == "PO 4472" and len(updated.lines) == 1
    assert updated.gross == Decimal("810.00")
    assert gone.message == f"Invoice {created.remote_id} was not found"


def test_created_invoice_carries_its_tag_in_reference(server, keys, sandbox, ids):
    async def go():
        async with connect(server.url, keys["tiny"]) as client:
            return await client.create(Entity.INVOICES, new_invoice("cust_2", reference=""),
                                       idempotency_key="inv-key-tag")

    created = run(go())
    stored = sandbox.store.get(ids[0], "invoices", created.remote_id)
    assert stored["reference"] == f"[ld:{mapping.key_tag('inv-key-tag')}]" and created.reference == ""


def test_writes_the_service_does_not_offer(server, keys):
    async def go(call):
        async with connect(server.url, keys["tiny"]) as client:
            await call(client)

    with pytest.raises(Unsupported, match="archive"):
        run(go(lambda c: c.delete(Entity.CUSTOMERS, "cust_1")))
    with pytest.raises(Unsupported, match="credit notes"):
        run(go(lambda c: c.list(Entity.CREDIT_NOTES).__anext__()))
    with pytest.raises(ValidationError, match="credit notes"):
        run(go(lambda c: c.create(Entity.INVOICES, new_invoice("cust_1", kind="credit_note"),
                                  idempotency_key="x")))


# --- documented errors ------------------------------------------------------------------------------------

def raises(server, key, call, error_type):
    async def go():
        async with connect(server.url, key) as client:
            await call(client)

    with pytest.raises(error_type) as caught:
        run(go())
    assert isinstance(caught.value, ProviderError)
    return caught.value


def test_unknown_key_is_auth_error(server):
    error = raises(server, "acb_" + "0" * 40, lambda c: c.companies(), AuthError)
    assert error.message == "The API key is invalid or has been revoked" and error.status == 401


def test_missing_permission_names_it(server, keys):
    error = raises(server, keys["read_only"], lambda c: c.create(Entity.INVOICES, new_invoice("cust_1"),
                                                                 idempotency_key="k"), PermissionDenied)
    assert error.permission == "invoices:write"
    assert error.message == "This API key does not have the invoices:write permission"
    error = raises(server, keys["custom"], lambda c: c.report(ReportRequest("profit_loss")), PermissionDenied)
    assert error.permission == "reports:read"
    error = raises(server, keys["custom"], lambda c: everything(c, Entity.BANK_ACCOUNTS), PermissionDenied)
    assert error.permission == "bank_accounts:read"


def test_custom_key_without_company_read_still_has_its_company(server, keys, ids):
    async def go():
        async with connect(server.url, keys["custom"], company_id=ids[0]) as client:
            return await client.companies()

    [company] = run(go())
    assert company.id == ids[0]


def test_not_found_conflict_validation_verbatim(server, keys, sandbox, ids):
    error = raises(server, keys["tiny"], lambda c: c.get(Entity.INVOICES, "inv_999999"), NotFound)
    assert error.message == "Invoice inv_999999 was not found"
    paid = next(d for d in sandbox.store.all(ids[0], "invoices") if d["status"] == "paid")

    async def edit_paid(client):
        invoice = await client.get(Entity.INVOICES, paid["id"])
        await client.update(Entity.INVOICES, invoice.model_copy(update={"reference": "changed"}))

    error = raises(server, keys["tiny"], edit_paid, Conflict)
    assert error.message == f"Invoice {paid['number']} has payments against it and cannot be changed"
    error = raises(server, keys["tiny"], lambda c: c.create(Entity.INVOICES, new_invoice("cust_9999"),
                                                            idempotency_key="k2"), ValidationError)
    assert error.message == "Validation failed: customer_id cust_9999 is not a contact of this company"
    assert error.detail == [{"field": "customer_id", "message": "cust_9999 is not a contact of this company"}]
    bad_line = InvoiceLine(description="Rent", quantity=Decimal(1), unit_price=Decimal(1), account_code="6100",
                           vat_rate=Decimal("17.5"))
    error = raises(server, keys["tiny"], lambda c: c.create(Entity.INVOICES, new_invoice("cust_1", lines=[bad_line]),
                                                            idempotency_key="k3"), ValidationError)
    assert "line_items[0].nominal_code 6100 is not a sales account" in error.message
    assert 'line_items[0].vat_rate must be one of "20", "5", "0", "exempt"' in error.message


def test_plain_http_refused_by_client_and_service(sandbox):
    with pytest.raises(InsecureURL):
        Client("http://api.accbooks.co.uk/v1/", "acb_x")
    strict = build_sandbox("accbooks", SandboxOptions(size="tiny", seed=SEED, loopback=False))
    running = serve_in_thread(strict.stack.asgi)
    try:
        error = raises(running, strict.credentials()["api_key"], lambda c: c.companies(), InsecureURL)
        assert error.message == "HTTPS is required"
    finally:
        running.stop()


def test_revoked_key_mid_list_is_auth_error_not_a_partial_list(server, sandbox, ids):
    key = sandbox.create_api_key(ids[1], ["invoices:read"], name="revoked mid-list")

    async def go():
        seen = 0
        async with connect(server.url, key) as client:
            async for page in client.list(Entity.INVOICES, page_size=50):
                seen += len(page.items)
                if seen == 100:
                    sandbox.revoke_api_key(key)
        return seen

    with pytest.raises(AuthError):
        run(go())


# --- paging edges --------------------------------------------------------------------------------------

@pytest.mark.parametrize("page_size", [1, 7, 40, 100, 1000])
def test_paging_edges(server, keys, sandbox, ids, page_size):
    expected = [d["id"] for d in sandbox.store.all(ids[0], "invoices")]

    async def go():
        pages = []
        async with connect(server.url, keys["tiny"]) as client:
            async for page in client.list(Entity.INVOICES, page_size=page_size):
                pages.append([invoice.remote_id for invoice in page.items])
        return pages

    pages = run(go())
    assert [i for page in pages for i in page] == expected
    assert all(len(page) <= min(page_size, 100) for page in pages)
    assert len(pages) == -(-len(expected) // min(page_size, 100))


def test_an_empty_list(server, sandbox, ids):
    key = sandbox.create_api_key(ids[0], ["transactions:read"], name="empty")

    async def go():
        async with connect(server.url, key) as client:
            return [page async for page in client.list(Entity.LEDGER_LINES, since="2099-01-01")]

    pages = run(go())
    assert [page.items for page in pages] == [[]] and pages[0].total == 0


def test_change_feed_cursor(server, keys):
    async def go():
        async with connect(server.url, keys["small"]) as client:
            whole = await everything(client, Entity.LEDGER_LINES)
            cursor = None
            async for page in client.list(Entity.LEDGER_LINES):
                cursor = page.cursor
            later = await everything(client, Entity.LEDGER_LINES, since="2026-10-01")
            return whole, cursor, later

    whole, cursor, later = run(go())
    assert cursor == max(line.date for line in whole).isoformat()
    assert {line.remote_id for line in later} == {line.remote_id for line in whole
                                                  if line.date >= dt.date(2026, 10, 1)}


def test_records_added_and_removed_mid_list_are_neither_missed_nor_doubled(server, keys, sandbox, ids):
    async def go():
        seen, pages = [], 0
        async with connect(server.url, keys["small"]) as client, \
                connect(server.url, keys["small"]) as other:
            async for page in client.list(Entity.INVOICES, page_size=25):
                seen += [invoice.remote_id for invoice in page.items]
                pages += 1
                if pages == 3:  # two invoices near the start go, one arrives at the end
                    for invoice_id in ("inv_2", "inv_3"):
                        doc = sandbox.store.get(ids[1], "invoices", invoice_id)
                        if doc["totals"]["amount_paid"] == 0:
                            await other.delete(Entity.INVOICES, invoice_id)
                        else:
                            sandbox.store.delete(ids[1], "invoices", invoice_id)
                    await other.create(Entity.INVOICES, new_invoice("cust_1"), idempotency_key="mid-list")
        return seen

    seen = run(go())
    expected = [d["id"] for d in sandbox.store.all(ids[1], "invoices")]
    assert len(seen) == len(set(seen))
    assert set(expected) <= set(seen)  # nothing that is still there was skipped


# --- pacing ---------------------------------------------------------------------------------------------

class SharedClock:
    """A virtual clock the sandbox's rate limiter (in the server thread) and the client's pacer share."""

    def __init__(self):
        self.now = 1_790_000_017.0  # mid-minute: the first window is part-spent

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def test_starter_plan_full_list_without_a_429():
    """A small Starter company listed whole in pages of 20 (~150 requests, three windows at 60 a minute)
    with the service's limits on, its windows on a clock the client's waits move."""
    throttled = build_sandbox("accbooks", SandboxOptions(size="small", seed=SEED, throttle=True))
    clock = SharedClock()
    throttled.clock = clock.time
    cid = throttled.companies()[1]["id"]
    key = throttled.credentials()[f"api_key:{cid}"]
    running = serve_in_thread(throttled.stack.asgi)

    async def go():
        async with Client(f"{running.url}/v1/", key, clock=clock.time, wall=clock.time, sleep=clock.sleep) as client:
            counts = {}
            for entity in (Entity.CUSTOMERS, Entity.INVOICES, Entity.BANK_ACCOUNTS, Entity.LEDGER_LINES):
                counts[entity] = len(await everything(client, entity, page_size=20))
            return counts

    try:
        started = clock.now
        counts = run(go())
    finally:
        running.stop()
    statuses = throttled.stack.requests.statuses()
    minutes = (clock.now - started) / 60
    assert counts[Entity.INVOICES] == 400 and len(statuses) > 120  # more than two windows' worth
    assert 429 not in statuses
    assert len(statuses) / minutes >= 0.9 * 60  # and not needlessly slow
    print(f"\nStarter plan: {len(statuses)} requests in {minutes:.1f} virtual minutes, no 429")


# --- faults ---------------------------------------------------------------------------------------------

def test_full_list_completes_under_faults(server, keys, sandbox):
    async def listing():
        async with connect(server.url, keys["small"]) as client:
            return {entity: [r.remote_id for r in await everything(client, entity)]
                    for entity in (Entity.CUSTOMERS, Entity.INVOICES, Entity.BANK_ACCOUNTS, Entity.LEDGER_LINES)}

    clean = run(listing())
    faults = sandbox.stack.faults
    faults.reseed(21)
    faults.settings.update(error_rate=0.2, drop_before_rate=0.05, drop_after_rate=0.05, throttle_rate=0.1)
    faulty = run(listing())
    assert faulty == clean
    assert min(faults.injected.get(kind, 0) for kind in ("error", "drop_before", "drop_after", "throttle")) > 0


class DropFirstPost:
    """Lets the sandbox handle the first ``count`` POSTs (and commit), then cuts the connection."""

    def __init__(self, asgi, count: int = 1, before: bool = False):
        self.asgi, self.count, self.before, self.posts = asgi, count, before, 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            self.posts += 1
            if self.count > 0:
                self.count -= 1
                if not self.before:
                    await _collect(self.asgi, scope, receive)
                await _drop(send, "test drop")
        await self.asgi(scope, receive, send)


@pytest.mark.parametrize("before", [False, True], ids=["after-commit", "before-service"])
@pytest.mark.parametrize("entity", [Entity.INVOICES, Entity.CUSTOMERS])
def test_create_whose_connection_drops_is_done_exactly_once(sandbox, ids, keys, entity, before):
    dropper = DropFirstPost(sandbox.stack.asgi, before=before)
    running = serve_in_thread(dropper)
    key = f"drop-{entity.value}-{before}"
    record = new_invoice("cust_3", reference=key) if entity is Entity.INVOICES else new_customer(f"Dropped {key}")
    collection = "invoices" if entity is Entity.INVOICES else "contacts"
    count_before = sandbox.store.count(ids[0], collection)

    async def go():
        async with connect(running.url, keys["tiny"]) as client:
            return await client.create(entity, record, idempotency_key=key)

    try:
        created = run(go())
    finally:
        running.stop()
    assert sandbox.store.count(ids[0], collection) == count_before + 1
    assert dropper.posts == (2 if before else 1)  # resent only when the service never saw it
    assert sandbox.store.get(ids[0], collection, created.remote_id) is not None


def test_unknown_outcome_reaches_the_caller_when_the_look_up_fails_too(sandbox, keys):
    dropper = DropFirstPost(sandbox.stack.asgi)

    async def always_drop(scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "GET":
            await _drop(send, "no look-ups either")
        await dropper(scope, receive, send)

    running = serve_in_thread(always_drop)

    async def go():
        async with connect(running.url, keys["tiny"], retry=RetryPolicy(attempts=2, base=0.01)) as client:
            return await client.create(Entity.INVOICES, new_invoice("cust_3"), idempotency_key="lost-key")

    try:
        with pytest.raises(UnknownOutcome):
            run(go())
    finally:
        running.stop()
    assert dropper.posts == 1


# --- logs -----------------------------------------------------------------------------------------------

def test_no_key_in_any_log_line(server, keys, caplog):
    caplog.set_level(logging.DEBUG)

    async def go():
        async with connect(server.url, keys["tiny"]) as client:
            await client.companies()
            await everything(client, Entity.CUSTOMERS)
            created = await client.create(Entity.INVOICES, new_invoice("cust_1"), idempotency_key="log-key")
            await client.delete(Entity.INVOICES, created.remote_id)
        for bad in (keys["read_only"], "acb_" + "f" * 40):
            async with connect(server.url, bad) as client:
                try:
                    await client.create(Entity.INVOICES, new_invoice("cust_1"), idempotency_key="k")
                except ProviderError as error:
                    logging.getLogger("providers.accbooks.client").warning("failed: %s", error.message)

    run(go())
    text = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert "/v1/invoices" in text  # the requests were logged
    for key in (*keys.values(), "acb_" + "f" * 40):
        assert key not in text
