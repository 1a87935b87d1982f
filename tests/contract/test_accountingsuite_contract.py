"""The AccountingSuite client against its sandbox over loopback HTTP.

One sandbox serves the module: database 1003 is a ``medium`` company (5,000 customers, about 49,500
invoices), listed once and compared field by field with the sandbox's own store; the writing tests use
databases 1001 and 1002 so the comparison is not disturbed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.domain import Customer, DocumentStatus, Invoice, InvoiceLine, Payment
from app.domain.parties import Address
from providers.accountingsuite import mapping
from providers.accountingsuite.capabilities import Unsupported
from providers.accountingsuite.client import Client
from providers.accountingsuite.signin import (
    companies_from_token_answer,
    exchange_code,
    grants_from_token_answer,
    single_database_id,
)
from providers.base import (
    AuthError,
    Conflict,
    Entity,
    NotFound,
    Operation,
    Provider,
    ProviderError,
    ReportRequest,
    UnknownOutcome,
    ValidationError,
)
from providers.decimal_json import loads
from providers.http import RetryPolicy
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread

SEED = 11
MEDIUM, SMALL, TINY, EMPTY = "1003", "1002", "1001", "1000"
FAST_RETRY = RetryPolicy(base=0.01, cap=0.2)


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def sandbox():
    return build_sandbox("accountingsuite", SandboxOptions(size="medium", seed=SEED))


@pytest.fixture(scope="module")
def server(sandbox):
    running = serve_in_thread(sandbox.stack.asgi)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_faults(request):
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").stack.faults.settings.update(
            latency_ms=0, error_rate=0.0, drop_before_rate=0.0, drop_after_rate=0.0, throttle_rate=0.0,
            truncate_rate=0.0,
        )


def key(sandbox, db: str) -> str:
    return sandbox.credentials()[f"apisecretkey.{db}"]


def client(sandbox, server, db: str = TINY, **kwargs) -> Client:
    return Client(server.url, key(sandbox, db), db, retry=kwargs.pop("retry", FAST_RETRY), **kwargs)


async def collect(provider: Client, entity: Entity, **kwargs):
    pages = [page async for page in provider.list(entity, **kwargs)]
    return pages, [item for page in pages for item in page.items]


def stored(sandbox, db: str, collection: str) -> list[dict]:
    return [loads(text) for text in sandbox.books.sorted_texts(db, collection)]


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------------- the medium company


@pytest.fixture(scope="module")
def listed(sandbox, server):
    async def go():
        async with client(sandbox, server, MEDIUM) as provider:
            customer_pages, customers = await collect(provider, Entity.CUSTOMERS)
            invoice_pages, invoices = await collect(provider, Entity.INVOICES)
            return customer_pages, customers, invoice_pages, invoices

    customer_pages, customers, invoice_pages, invoices = run(go())
    return {
        "customer_pages": customer_pages, "customers": customers,
        "invoice_pages": invoice_pages, "invoices": invoices,
        "companies": stored(sandbox, MEDIUM, "companies"),
        "records": stored(sandbox, MEDIUM, "invoices"),
    }


def test_client_is_a_provider(sandbox, server):
    provider = client(sandbox, server)
    assert isinstance(provider, Provider)
    run(provider.aclose())


def test_medium_customers_match_the_sandbox_field_by_field(listed):
    companies = listed["companies"]
    customers = {c.remote_id: c for c in listed["customers"]}
    wanted = [doc for doc in companies if doc["company_type"] in ("customer", "customer+vendor")]
    assert len(wanted) == 5_000 and len(companies) == 5_004  # four vendors left out
    assert set(customers) == {doc["api_code"] for doc in wanted}
    assert [p.total for p in listed["customer_pages"]] == [5_000] * 5
    assert [len(p.items) for p in listed["customer_pages"]] == [1_000] * 5
    for doc in wanted:
        customer = customers[doc["api_code"]]
        (address,) = doc["lines"]["addresses"]
        assert customer.name == doc["company_name"]
        assert customer.contact_name == " ".join(
            p for p in (address["first_name"], address["middle_name"], address["last_name"]) if p)
        assert customer.email == address["email"]
        assert customer.phone == address["phone"]
        assert customer.address == Address(line1=address["address_line1"], line2=address["address_line2"],
                                           town=address["city"], region=address["state"],
                                           postcode=address["zip"], country=address["country"])
        assert customer.currency == "USD"
        assert customer.payload_hash and customer.remote_version


def test_medium_invoices_match_the_sandbox_field_by_field_money_exact(listed):
    records = {r["api_code"]: r for r in listed["records"]}
    codes = {doc["api_code"]: doc for doc in listed["companies"]}
    invoices = listed["invoices"]
    assert len(invoices) == len(records) > 49_000
    assert {p.total for p in listed["invoice_pages"]} == {len(records)}
    assert all(len(p.items) == 1_000 for p in listed["invoice_pages"][:-1])
    for invoice in invoices:
        record = records[invoice.remote_id]
        assert isinstance(invoice, Invoice) and invoice.kind == "invoice"
        assert invoice.number == record["number"]
        assert invoice.customer_remote_id == record["customer"]
        assert invoice.customer_name == codes[record["customer"]]["company_name"]
        assert invoice.date.isoformat() == record["date"]
        assert invoice.due_date.isoformat() == record["due_date"]
        assert invoice.reference == record["ref_num"]
        assert invoice.currency == "USD"
        assert invoice.status is DocumentStatus.APPROVED
        totals = invoice.totals()
        # Money exact: the domain's arithmetic lands on the service's own figures.
        assert totals.vat == Decimal(record["sales_tax_total"])
        assert totals.gross == Decimal(record["doc_total"])
        assert totals.net == Decimal(record["subtotal"]) + Decimal(record["shipping"])
        assert sum(line.vat_rate_key == mapping.UNLISTED for line in invoice.lines) == 1


def test_fetched_invoices_have_their_lines_and_agree_with_the_list(sandbox, server, listed):
    records = {r["api_code"]: r for r in listed["records"]}
    items = {doc["api_code"]: doc for doc in stored(sandbox, MEDIUM, "items")}
    sample = listed["invoices"][:: len(listed["invoices"]) // 40]

    async def go():
        async with client(sandbox, server, MEDIUM) as provider:
            return [await provider.get(Entity.INVOICES, invoice.remote_id) for invoice in sample]

    for summary, full in zip(sample, run(go()), strict=True):
        record = records[full.remote_id]
        item_lines = [line for line in full.lines if line.vat_rate_key not in mapping.MARKS]
        assert len(item_lines) == len(record["lines"])
        for line, raw in zip(item_lines, record["lines"], strict=True):
            assert line.item_code == items[raw["item"]]["item_code"]
            assert line.description == items[raw["item"]]["item_description"]
            assert (line.quantity, line.unit_price) == (Decimal(raw["quantity"]), Decimal(raw["price"]))
            assert line.net("USD") == Decimal(raw["line_total"])
        assert full.totals() == summary.totals()
        # A listed copy and a fetched copy of an unchanged invoice carry the same version.
        assert full.remote_version == summary.remote_version
        assert full.payload_hash != summary.payload_hash


def test_whole_lists_are_one_request_each(sandbox, server):
    log = sandbox.stack.requests
    log.clear()

    async def go():
        async with client(sandbox, server, SMALL, page_size=7) as provider:
            return await collect(provider, Entity.INVOICES)

    pages, invoices = run(go())
    assert len(pages) > 10 and len(invoices) == sum(len(p.items) for p in pages)
    lists = [(e.method, e.path) for e in log.entries if e.path in ("/invoices", "/companies")]
    assert lists == [("GET", "/invoices"), ("GET", "/companies")]


# ------------------------------------------------------------------------------------------ paging edges


@pytest.mark.parametrize("entity", [Entity.CUSTOMERS, Entity.INVOICES])
def test_paging_edges(sandbox, server, entity):
    async def go():
        async with client(sandbox, server, TINY) as provider:
            _, everything = await collect(provider, entity)
            total = len(everything)
            shapes = {}
            for size in (1, total - 1, total, total + 1, 10_000):
                pages, items = await collect(provider, entity, page_size=size)
                assert [i.remote_id for i in items] == [i.remote_id for i in everything]
                assert {p.total for p in pages} == {total} and all(p.cursor is None for p in pages)
                shapes[size] = [len(p.items) for p in pages]
            # ``since`` has nothing to narrow: the whole list comes again.
            _, again = await collect(provider, entity, since="2026-01-01T00:00:00Z")
            assert [i.remote_id for i in again] == [i.remote_id for i in everything]
            return total, shapes

    total, shapes = run(go())
    assert total > 2
    assert shapes[1] == [1] * total
    assert shapes[total - 1] == [total - 1, 1]
    assert shapes[total] == shapes[total + 1] == shapes[10_000] == [total]


def test_an_empty_database_lists_one_empty_page(sandbox, server):
    async def go():
        async with client(sandbox, server, EMPTY) as provider:
            return await collect(provider, Entity.CUSTOMERS), await collect(provider, Entity.INVOICES)

    for pages, items in run(go()):
        assert items == [] and len(pages) == 1 and pages[0].total == 0


# ------------------------------------------------------------------------------------ customers: CRUD


def new_customer(**changes) -> Customer:
    fields = dict(name=unique("Harbour Joinery"), contact_name="Ann Lee", email="ann@harbour.example",
                  phone="0117 496 0000", address=Address(line1="1 Main St", line2="Unit 4", town="Austin",
                                                         region="TX", postcode="78701", country="US"))
    return Customer(**{**fields, **changes})


def test_customer_create_get_update_delete(sandbox, server):
    async def go():
        async with client(sandbox, server, SMALL) as provider:
            created = await provider.create(Entity.CUSTOMERS, new_customer(), idempotency_key="c-1" + unique(""))
            fetched = await provider.get(Entity.CUSTOMERS, created.remote_id)
            assert fetched == created
            # Only the contact changes: the name is not sent (the service would refuse its own name).
            moved = created.model_copy(update={"email": "lee@harbour.example",
                                               "address": created.address.model_copy(update={"town": "Dallas"})})
            updated = await provider.update(Entity.CUSTOMERS, moved)
            assert (updated.email, updated.address.town, updated.name) == ("lee@harbour.example", "Dallas",
                                                                          created.name)
            assert updated.remote_version != created.remote_version
            unchanged = await provider.update(Entity.CUSTOMERS, updated)
            assert unchanged == updated
            renamed = await provider.update(Entity.CUSTOMERS, updated.model_copy(update={"name": unique("Elm")}))
            assert (await provider.get(Entity.CUSTOMERS, renamed.remote_id)).name == renamed.name
            await provider.delete(Entity.CUSTOMERS, renamed.remote_id)
            with pytest.raises(NotFound) as gone:
                await provider.get(Entity.CUSTOMERS, renamed.remote_id)
            assert gone.value.message == (
                "[api_code] : The company does not exist. Double check that the ID# is correct.")

    run(go())
    companies = stored(sandbox, SMALL, "companies")
    assert not any(doc["company_name"].startswith("Harbour Joinery") for doc in companies)


def test_customer_fields_reach_the_service_as_documented(sandbox, server):
    async def go():
        async with client(sandbox, server, SMALL) as provider:
            return await provider.create(Entity.CUSTOMERS, new_customer(contact_name="Mary Ann Lee"),
                                         idempotency_key=unique("k"))

    created = run(go())
    doc = sandbox.books.get(SMALL, "companies", created.remote_id)
    (address,) = doc["lines"]["addresses"]
    assert doc["company_type"] == "customer" and doc["notes"].startswith(mapping.KEY_PREFIX)
    assert (address["address_id"], address["default_billing"], address["default_shipping"]) == (
        "Primary", "true", "true")
    assert (address["first_name"], address["last_name"], address["city"], address["state"]) == (
        "Mary", "Ann Lee", "Austin", "TX")
    assert created.contact_name == "Mary Ann Lee"


def test_vendors_are_not_customers(sandbox, server, listed):
    vendor = next(doc for doc in listed["companies"] if doc["company_type"] == "vendor")

    async def go():
        async with client(sandbox, server, MEDIUM) as provider:
            await provider.get(Entity.CUSTOMERS, vendor["api_code"])

    with pytest.raises(NotFound, match="is a vendor in AccountingSuite"):
        run(go())


# ------------------------------------------------------------------------------------- invoices: CRUD


def first_customer_and_items(sandbox, db: str):
    company = next(d for d in stored(sandbox, db, "companies") if d["company_type"] == "customer")
    items = stored(sandbox, db, "items")
    return company, items


def new_invoice(company, items, **changes) -> Invoice:
    lines = [
        InvoiceLine(description="ignored", item_code=items[0]["item_code"], quantity=Decimal("2"),
                    unit_price=Decimal("350")),
        InvoiceLine(item_code=items[1]["item_code"], quantity=Decimal("1.5"), unit_price=Decimal("19.99"),
                    vat_rate=Decimal("8.25")),
    ]
    fields = dict(customer_remote_id=company["api_code"], date=dt.date(2026, 5, 24),
                  due_date=dt.date(2026, 6, 23), reference="PO 4471", lines=lines)
    return Invoice(**{**fields, **changes})


def test_invoice_create_get_update_delete(sandbox, server):
    company, items = first_customer_and_items(sandbox, SMALL)

    async def go():
        async with client(sandbox, server, SMALL) as provider:
            draft = new_invoice(company, items)
            created = await provider.create(Entity.INVOICES, draft, idempotency_key=unique("inv"))
            assert created.status is DocumentStatus.DRAFT and created.remote_id
            assert created.totals().gross == draft.totals().gross == Decimal("729.99") + Decimal("2.47")
            assert created.totals().vat == Decimal("2.47")
            fetched = await provider.get(Entity.INVOICES, created.remote_id)
            assert fetched.totals() == created.totals() and fetched.remote_version == created.remote_version
            assert [line.item_code for line in fetched.lines if line.item_code] == [
                items[0]["item_code"], items[1]["item_code"]]
            # Change a quantity, add shipping and a discount: they travel as document fields.
            lines = [*created.lines[:1],
                     created.lines[1].model_copy(update={"quantity": Decimal(3)}),
                     InvoiceLine(description="Shipping", unit_price=Decimal("12.5"),
                                 vat_rate_key=mapping.SHIPPING, vat_amount=Decimal(0)),
                     InvoiceLine(description="Discount", unit_price=Decimal("-20"),
                                 vat_rate_key=mapping.DISCOUNT, vat_amount=Decimal(0))]
            changed = created.model_copy(update={"lines": lines, "reference": "PO 4472"})
            updated = await provider.update(Entity.INVOICES, changed)
            assert updated.totals() == changed.totals()
            assert updated.status is DocumentStatus.DRAFT and updated.reference == "PO 4472"
            await provider.delete(Entity.INVOICES, updated.remote_id)
            with pytest.raises(NotFound):
                await provider.get(Entity.INVOICES, updated.remote_id)
            return created, updated

    created, updated = run(go())
    wire = sandbox.books.get(SMALL, "invoices", created.remote_id)
    assert wire is None  # deleted
    assert updated.totals().net == Decimal("700") + Decimal("59.97") + Decimal("12.5") - Decimal("20")


def test_invoice_as_the_service_stores_it(sandbox, server):
    company, items = first_customer_and_items(sandbox, SMALL)
    key = unique("inv")

    async def go():
        async with client(sandbox, server, SMALL) as provider:
            return await provider.create(Entity.INVOICES, new_invoice(company, items), idempotency_key=key)

    created = run(go())
    record = sandbox.books.get(SMALL, "invoices", created.remote_id)
    assert record["memo"] == mapping.KEY_PREFIX + key and record["ref_num"] == "PO 4471"
    assert record["posted"] is False
    assert (Decimal(record["doc_total"]), Decimal(record["sales_tax_total"])) == (Decimal("732.46"),
                                                                                   Decimal("2.47"))
    assert [(Decimal(line["quantity"]), Decimal(line["price"]), Decimal(line["line_total"]))
            for line in record["lines"]] == [(2, 350, 700), (Decimal("1.5"), Decimal("19.99"), Decimal("29.99"))]
    ship = next(a for a in company["lines"]["addresses"] if a["default_shipping"] == "true")
    assert record["ship_to"] == ship["api_code"]


def test_a_listed_invoice_must_be_fetched_before_it_is_changed(sandbox, server):
    async def go():
        async with client(sandbox, server, TINY) as provider:
            _, invoices = await collect(provider, Entity.INVOICES)
            await provider.update(Entity.INVOICES, invoices[0])

    with pytest.raises(ValidationError, match="listed without its lines"):
        run(go())


def test_posted_invoices_cannot_be_deleted(sandbox, server):
    posted = next(r for r in stored(sandbox, TINY, "invoices") if r["posted"])

    async def go():
        async with client(sandbox, server, TINY) as provider:
            await provider.delete(Entity.INVOICES, posted["api_code"])

    with pytest.raises(Conflict) as refused:
        run(go())
    assert refused.value.message == (
        "Failed to delete. Invoice must be unposted before deletion and/or other objects are linked to "
        "this sales invoice.")
    assert sandbox.books.get(TINY, "invoices", posted["api_code"]) is not None


def test_credit_notes_and_bank_data_are_not_offered(sandbox, server):
    async def go():
        async with client(sandbox, server) as provider:
            caps = provider.capabilities
            assert caps.reason(Entity.BANK_ACCOUNTS, Operation.LIST) == "AccountingSuite's API has no bank accounts."
            assert not caps.supports(Entity.BANK_TRANSACTIONS, Operation.LIST)
            assert not caps.supports(Entity.INVOICES, Operation.POST)
            assert "posted" in caps.reason(Entity.INVOICES, Operation.POST)
            assert not caps.supports(Entity.INVOICES, Operation.CHANGES)
            assert not caps.supports(Entity.CREDIT_NOTES, Operation.CREATE)
            for entity in Entity:
                assert not caps.supports(entity, Operation.REPORTS)
            for entity, operation in [(Entity.CUSTOMERS, o) for o in
                                      (Operation.LIST, Operation.GET, Operation.CREATE, Operation.UPDATE,
                                       Operation.DELETE)] + [(Entity.INVOICES, o) for o in
                                      (Operation.LIST, Operation.GET, Operation.CREATE, Operation.UPDATE,
                                       Operation.DELETE)]:
                assert caps.supports(entity, operation)
            with pytest.raises(Unsupported, match="no bank accounts"):
                await collect(provider, Entity.BANK_ACCOUNTS)
            with pytest.raises(Unsupported, match="no reports"):
                await provider.report(ReportRequest("profit_loss"))
            with pytest.raises(Unsupported, match="no credit notes"):
                await provider.create(Entity.INVOICES, Invoice.model_construct(kind="credit_note"),
                                      idempotency_key="x")

    run(go())


def test_cash_receipt_is_recorded_and_cannot_be_looked_up(sandbox, server):
    company, _ = first_customer_and_items(sandbox, SMALL)
    before = len(stored(sandbox, SMALL, "cashreceipts"))

    async def go():
        async with client(sandbox, server, SMALL) as provider:
            payment = Payment(party_remote_id=company["api_code"], date=dt.date(2026, 6, 1),
                              amount=Decimal("120.50"), reference="Cheque 1001")
            kept = await provider.create(Entity.PAYMENTS, payment, idempotency_key="receipt-1")
            assert kept.amount == Decimal("120.50") and kept.remote_id is None and kept.payload_hash
            with pytest.raises(Conflict, match="cannot list cash receipts"):
                await provider.find_created(Entity.PAYMENTS, "receipt-1")

    run(go())
    receipts = stored(sandbox, SMALL, "cashreceipts")
    assert len(receipts) == before + 1
    assert (receipts[-1]["customer"], Decimal(receipts[-1]["amount"]), receipts[-1]["ref_num"]) == (
        company["api_code"], Decimal("120.50"), "Cheque 1001")


# ---------------------------------------------------------------------------------- documented errors


def test_duplicate_company_is_refused_with_the_services_words(sandbox, server):
    existing = next(d for d in stored(sandbox, TINY, "companies") if d["company_type"] == "customer")

    async def go():
        async with client(sandbox, server, TINY) as provider:
            await provider.create(Entity.CUSTOMERS, new_customer(name=existing["company_name"].upper()),
                                  idempotency_key=unique("dup"))

    with pytest.raises(ValidationError) as refused:
        run(go())
    assert refused.value.message == "[company_name] : The company already exists."
    assert refused.value.detail["api_code"] == existing["api_code"]


def test_linked_company_cannot_be_deleted(sandbox, server):
    customer = sandbox.books.get(TINY, "invoices", stored(sandbox, TINY, "invoices")[0]["api_code"])["customer"]

    async def go():
        async with client(sandbox, server, TINY) as provider:
            await provider.delete(Entity.CUSTOMERS, customer)

    with pytest.raises(Conflict) as refused:
        run(go())
    assert refused.value.message == "Failed to delete. There are linked objects to this company."


async def raw(provider: Client, method: str, path: str, body=None):
    """A request through the client's own reading of answers (for refusals no domain call can provoke)."""
    return await provider._call(method, path, json=body)


def test_documented_refusals_surface_verbatim(sandbox, server):
    company, items = first_customer_and_items(sandbox, SMALL)
    other = [d for d in stored(sandbox, SMALL, "companies") if d["company_type"] == "customer"][1]
    foreign_address = other["lines"]["addresses"][0]["api_code"]
    sale = {"customer_api_code": company["api_code"], "ship_to_api_code": foreign_address,
            "date": "2013-05-24", "due_date": "2013-05-24", "doc_total": 700,
            "lines": {"line_items": [{"api_code": items[0]["api_code"], "price": 350, "quantity": 2,
                                      "line_total": 700}]}}
    cases = [
        ("POST", "items", {"item_code": unique("X"), "item_description": "X", "item_category": "Nope"},
         ValidationError, "[item_category] : The category does not exist. You must create the item category first."),
        ("PUT", f"items/{items[0]['api_code']}", {"item_type": "product"},
         ValidationError, "[item_type] : Cannot change the item type."),
        ("POST", "invoices", sale, ValidationError,
         "[ship_to_api_code] : Shipping Address does not belong to the Company."),
        ("PUT", f"companies/{company['api_code']}", {"lines": {"addresses": [{"first_name": "No label"}]}},
         ValidationError, "[address.address_id] : This is required to create a new address. "
                          "[address.api_code] : This is required to update an existing address."),
        ("DELETE", f"items/{items[0]['api_code']}", None, Conflict,
         "Failed to delete. There are linked objects to this item."),
        ("GET", "invoices/not-a-uuid", None, NotFound,
         "[api_code] : The sales invoice does not exist. Double check that the ID# is correct."),
        ("GET", "bankaccounts", None, NotFound, "[path] : There is no such resource."),
        ("PATCH", "companies", {}, ValidationError, "[method] : This method is not allowed here."),
    ]

    async def go():
        async with client(sandbox, server, SMALL) as provider:
            outcomes = []
            for method, path, body, _, _ in cases:
                try:
                    await raw(provider, method, path, body)
                    outcomes.append(None)
                except ProviderError as error:
                    outcomes.append(error)
            return outcomes

    for (method, path, _, kind, message), error in zip(cases, run(go()), strict=True):
        assert type(error) is kind, (method, path, error)
        assert error.message == message


def test_a_wrong_key_is_an_auth_error_with_the_services_words(sandbox, server):
    async def go():
        async with Client(server.url, "not-the-key-at-all", TINY) as provider:
            await collect(provider, Entity.CUSTOMERS)

    sandbox.stack.requests.clear()
    with pytest.raises(AuthError) as refused:
        run(go())
    assert refused.value.message == "[apisecretkey] : The apisecretkey is not valid."
    assert refused.value.status == 401
    # The server thread logs a request after answering it, so an earlier test's last one may land late.
    entries = [(e.method, e.path, e.status) for e in sandbox.stack.requests.entries if e.status == 401]
    assert entries == [("GET", "/companies", 401)]  # not retried: only signing in again helps


def test_the_key_does_not_expire_so_a_list_is_never_renewed_midway(sandbox, server):
    """AccountingSuite keys have no lifetime and a list is one request: there is no session to renew.
    What the acceptance asks of a session that ends mid-list is met by the list being atomic: a key
    revoked between two lists fails the second one whole, as an AuthError."""
    books = sandbox.books
    db = books.database(TINY)

    async def go():
        async with client(sandbox, server, TINY) as provider:
            _, first = await collect(provider, Entity.INVOICES)
            books._by_key.pop(db.key)  # revoked inside AccountingSuite
            try:
                with pytest.raises(AuthError):
                    await collect(provider, Entity.INVOICES)
            finally:
                books._by_key[db.key] = db
            _, again = await collect(provider, Entity.INVOICES)
            return first, again

    first, again = run(go())
    assert [i.remote_id for i in first] == [i.remote_id for i in again]


# ------------------------------------------------------------------------------------------------ faults


def fault_mix(sandbox, seed: int) -> None:
    sandbox.stack.faults.reseed(seed)
    sandbox.stack.faults.settings.update(error_rate=0.2, drop_before_rate=0.05, drop_after_rate=0.05,
                                         throttle_rate=0.1, seed=seed)


def test_full_medium_lists_complete_under_faults(sandbox, server, listed):
    fault_mix(sandbox, 4)

    async def go():
        async with client(sandbox, server, MEDIUM) as provider:
            runs = []
            for _ in range(1):
                _, customers = await collect(provider, Entity.CUSTOMERS)
                _, invoices = await collect(provider, Entity.INVOICES)
                runs.append((customers, invoices))
            return runs

    for customers, invoices in run(go()):
        assert [(c.remote_id, c.payload_hash) for c in customers] == [
            (c.remote_id, c.payload_hash) for c in listed["customers"]]
        assert [(i.remote_id, i.payload_hash) for i in invoices] == [
            (i.remote_id, i.payload_hash) for i in listed["invoices"]]


def test_many_full_lists_complete_under_every_kind_of_fault(sandbox, server):
    async def lists(provider):
        return [(await collect(provider, entity))[1] for entity in (Entity.CUSTOMERS, Entity.INVOICES)]

    async def go():
        async with client(sandbox, server, SMALL) as provider:
            clean = await lists(provider)
            fault_mix(sandbox, 21)
            sandbox.stack.faults.injected.clear()
            faulty = [await lists(provider) for _ in range(15)]
            return clean, faulty

    clean, faulty = run(go())
    assert set(sandbox.stack.faults.injected) == {"error", "drop_before", "drop_after", "throttle"}
    for customers, invoices in faulty:
        assert [c.payload_hash for c in customers] == [c.payload_hash for c in clean[0]]
        assert [i.payload_hash for i in invoices] == [i.payload_hash for i in clean[1]]


def test_answers_cut_short_are_asked_for_again_before_any_record_is_handed_on(sandbox, server):
    async def go():
        async with client(sandbox, server, SMALL) as provider:
            clean = [(await collect(provider, e))[1] for e in (Entity.CUSTOMERS, Entity.INVOICES)]
            sandbox.stack.faults.reseed(5)
            sandbox.stack.faults.settings.update(truncate_rate=0.2)
            sandbox.stack.faults.injected.clear()
            cut = [[(await collect(provider, e))[1] for e in (Entity.CUSTOMERS, Entity.INVOICES)]
                   for _ in range(8)]
            return clean, cut

    clean, cut = run(go())
    assert sandbox.stack.faults.injected.get("truncate", 0) >= 3
    for lists in cut:
        for got, wanted in zip(lists, clean, strict=True):
            assert [r.payload_hash for r in got] == [r.payload_hash for r in wanted]


class DropWrites:
    """Loopback ASGI in front of the sandbox that cuts the connection of the next POSTs only (before or
    after the service handled them), so the reads a create makes first are not disturbed."""

    def __init__(self, asgi):
        from providers.sandbox.faults import FaultInjector, FaultSettings

        self.asgi = asgi
        self.after = FaultInjector(asgi, FaultSettings(drop_after_rate=1.0))
        self.before = FaultInjector(asgi, FaultSettings(drop_before_rate=1.0))
        self.mode: str | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST" and self.mode:
            await (self.after if self.mode == "after" else self.before)(scope, receive, send)
        else:
            await self.asgi(scope, receive, send)


@pytest.fixture(scope="module")
def dropping(sandbox):
    front = DropWrites(sandbox.stack.asgi)
    running = serve_in_thread(front)
    yield front, running
    running.stop()


@pytest.mark.parametrize("entity", [Entity.CUSTOMERS, Entity.INVOICES])
def test_a_create_dropped_after_commit_is_found_not_doubled(sandbox, dropping, entity):
    company, items = first_customer_and_items(sandbox, SMALL)
    record = new_customer() if entity is Entity.CUSTOMERS else new_invoice(company, items)
    key = unique("drop")
    front, server = dropping

    async def go():
        async with client(sandbox, server, SMALL) as provider:
            front.mode = "after"
            try:
                with pytest.raises(UnknownOutcome):
                    await provider.create(entity, record, idempotency_key=key)
            finally:
                front.mode = None
            found = await provider.find_created(entity, key)
            assert found is not None and found.remote_id
            # The sync engine's rule: found, so not sent again.
            assert await provider.find_created(entity, unique("never-sent")) is None
            return found

    found = run(go())
    collection, field = ("companies", "notes") if entity is Entity.CUSTOMERS else ("invoices", "memo")
    marked = [doc for doc in stored(sandbox, SMALL, collection) if doc.get(field) == mapping.KEY_PREFIX + key]
    assert [doc["api_code"] for doc in marked] == [found.remote_id]
    if entity is Entity.INVOICES:
        assert found.status is DocumentStatus.DRAFT and found.totals() == record.totals()


def test_a_create_dropped_before_the_service_is_not_found_and_is_sent_once_more(sandbox, dropping):
    company, items = first_customer_and_items(sandbox, SMALL)
    key = unique("before")
    front, server = dropping

    async def go():
        async with client(sandbox, server, SMALL) as provider:
            front.mode = "before"
            try:
                with pytest.raises(UnknownOutcome):
                    await provider.create(Entity.INVOICES, new_invoice(company, items), idempotency_key=key)
            finally:
                front.mode = None
            assert await provider.find_created(Entity.INVOICES, key) is None
            return await provider.create(Entity.INVOICES, new_invoice(company, items), idempotency_key=key)

    created = run(go())
    marked = [r for r in stored(sandbox, SMALL, "invoices") if r["memo"] == mapping.KEY_PREFIX + key]
    assert [r["api_code"] for r in marked] == [created.remote_id]


# ----------------------------------------------------------------------------------------------- sign-in


def authorize(server_url: str, client_id: str, **form) -> str:
    """The browser's part: approve (as the demo login, or a posted login) and return the code."""
    query = {"response_type": "code", "client_id": client_id, "state": "s1",
             "redirect_uri": "http://127.0.0.1:53682/callback"}
    with httpx.Client(base_url=server_url) as browser:
        if form:
            answer = browser.post("/oauth/authorize", data={**query, **form})
        else:
            answer = browser.get("/oauth/authorize", params=query)
    assert answer.status_code == 302
    params = parse_qs(urlsplit(answer.headers["location"]).query)
    assert params["state"] == ["s1"]
    return params["code"][0]


def test_browser_sign_in_gives_one_company_per_database(sandbox, server):
    creds = sandbox.credentials()

    async def go():
        code = authorize(server.url, creds["client_id"])
        grants = await exchange_code(server.url + "/oauth", client_id=creds["client_id"],
                                     client_secret=creds["client_secret"], code=code,
                                     redirect_uri="http://127.0.0.1:53682/callback")
        with pytest.raises(AuthError, match="Authorization code does not exist"):
            await exchange_code(server.url + "/oauth", client_id=creds["client_id"],
                                client_secret=creds["client_secret"], code=code)
        grant = next(g for g in grants if g.company.id == TINY)
        async with Client(server.url, grant.apisecretkey, grant.company.id,
                          company_name=grant.company.name) as provider:
            assert [c.name for c in await provider.companies()] == [grant.company.name]
            _, customers = await collect(provider, Entity.CUSTOMERS)
        return grants, customers

    grants, customers = run(go())
    assert [(g.company.id, g.company.name) for g in grants] == [
        (c["id"], c["name"]) for c in sandbox.companies()]
    assert all(g.apisecretkey == key(sandbox, g.company.id) for g in grants)
    assert all(g.apisecretkey not in repr(g) for g in grants)
    assert len(customers) == 8


def test_single_database_login_and_token_answers(sandbox, server):
    creds = sandbox.credentials()
    owner = next(login.email for login in sandbox.books.registry.logins if login.email.startswith("owner@"))

    async def go():
        code = authorize(server.url, creds["client_id"], email=owner, password="demo", decision="allow")
        return await exchange_code(server.url + "/oauth", client_id=creds["client_id"],
                                   client_secret=creds["client_secret"], code=code)

    (grant,) = run(go())
    assert grant.company.id == single_database_id(grant.apisecretkey) and grant.company.name == "AccountingSuite"
    answer = [{"token_type": "bearer", "access_token": "k" * 20, "database_id": "1", "database_name": "A"},
              {"token_type": "bearer", "access_token": "j" * 20, "database_id": 2, "database_name": ""}]
    assert [(c.id, c.name) for c in companies_from_token_answer(answer)] == [("1", "A"), ("2", "AccountingSuite")]
    with pytest.raises(ProviderError):
        grants_from_token_answer([{"token_type": "bearer"}])
    with pytest.raises(ProviderError):
        grants_from_token_answer([])


def test_bad_client_credentials_are_an_auth_error(sandbox, server):
    creds = sandbox.credentials()

    async def go():
        await exchange_code(server.url + "/oauth", client_id=creds["client_id"], client_secret="wrong-secret",
                            code="whatever")

    with pytest.raises(AuthError, match=r"Client authentication failed\."):
        run(go())


# ------------------------------------------------------------------------------------------- redaction


def test_no_key_or_secret_appears_in_any_log_line(sandbox, server, caplog):
    creds = sandbox.credentials()
    secrets = [key(sandbox, db) for db in (TINY, SMALL, MEDIUM, EMPTY)] + [creds["client_secret"]]
    company, items = first_customer_and_items(sandbox, TINY)
    # The browser's half of the sign-in is the system browser's business, not Ledgerdesk's logs.
    code = authorize(server.url, creds["client_id"])
    secrets.append(code)
    caplog.set_level(logging.DEBUG)

    async def go():
        await exchange_code(server.url + "/oauth", client_id=creds["client_id"],
                            client_secret=creds["client_secret"], code=code)
        async with client(sandbox, server, TINY) as provider:
            sandbox.stack.faults.settings.update(error_rate=0.3, throttle_rate=0.1, seed=9)
            await collect(provider, Entity.CUSTOMERS)
            await collect(provider, Entity.INVOICES)
            sandbox.stack.faults.settings.update(error_rate=0.0, throttle_rate=0.0)
            created = await provider.create(Entity.INVOICES, new_invoice(company, items),
                                            idempotency_key=unique("log"))
            await provider.delete(Entity.INVOICES, created.remote_id)
        async with Client(server.url, "wrong-key-123456", TINY) as provider:
            with pytest.raises(AuthError) as refused:
                await collect(provider, Entity.CUSTOMERS)
            logging.getLogger("providers.accountingsuite.client").exception("refused", exc_info=refused.value)

    run(go())
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "GET" in caplog.text  # the HTTP layer did log at DEBUG
    for secret in [*secrets, "wrong-key-123456"]:
        assert secret not in text
