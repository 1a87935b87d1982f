"""The AccountsIQ client against its sandbox over loopback HTTP.

One sandbox serves the module: entity ``mournefoods`` is a ``medium`` company (5,000 customers, about
49,500 invoices), listed once and compared field by field with the sandbox's own data (its ledger lines
are compared in ``test_accountsiq_ledger``, to keep each file within a minute); ``laganvalley`` (small)
serves the read-mostly tests, ``dohertyjoinery`` (tiny) the writes. Sign-in renewal runs against small
sandboxes of their own whose tokens live a second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from decimal import Decimal

import httpx
import pytest

from app.domain import CreditNote, Customer, DocumentStatus, Invoice, InvoiceLine
from app.domain.parties import Address
from providers.accountsiq import mapping
from providers.accountsiq.capabilities import Unsupported
from providers.accountsiq.client import Client, endpoint
from providers.accountsiq.sandbox_data import (
    I_CODE,
    I_DATE,
    I_EXT,
    I_GROSS,
    I_HEAD,
    I_KIND,
    I_LINES,
    I_NET,
    I_NUMBER,
    I_STATUS,
    I_TAX,
    I_VERSION,
    L_DESC,
    L_DISCOUNT,
    L_GL,
    L_NET,
    L_PRICE,
    L_QTY,
    L_RATE,
    L_STOCK,
    L_TAX,
    L_TAXCODE,
    T_LINES,
)
from providers.accountsiq.sandbox_reference import GL_ACCOUNTS
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
from providers.http import RetryPolicy
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread

SEED = 11
MEDIUM, SMALL, TINY = "mournefoods", "laganvalley", "dohertyjoinery"
FAST_RETRY = RetryPolicy(base=0.01, cap=0.2)
TODAY = dt.date.today()


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def sandbox():
    return build_sandbox("accountsiq", SandboxOptions(size="medium", seed=SEED))


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
            truncate_rate=0.0)


def client(sandbox, server, entity: str = TINY, **kwargs) -> Client:
    credentials = sandbox.credentials()
    return Client(server.url, credentials["client_id"], credentials["client_secret"], entity,
                  retry=kwargs.pop("retry", FAST_RETRY), **kwargs)


async def collect(provider: Client, entity: Entity, **kwargs):
    pages = [page async for page in provider.list(entity, **kwargs)]
    return pages, [item for page in pages for item in page.items]


def entity_of(sandbox, name: str):
    found = next(e for e in sandbox.entities() if e.id == name)
    found.ensure_loaded()
    return found


def key() -> str:
    return uuid.uuid4().hex


def line(description: str = "Oak worktop", quantity: str = "2", price: str = "149.99", tax: str = "S",
         gl: str = "4000", discount: str = "0") -> InvoiceLine:
    return InvoiceLine(description=description, quantity=Decimal(quantity), unit_price=Decimal(price),
                       discount_percent=Decimal(discount), vat_rate_key=tax,
                       vat_rate=Decimal({"S": 20, "R": 5}.get(tax, 0)), account_code=gl)


def draft(customer: str = "C0001", *lines: InvoiceLine, kind=Invoice, **fields) -> Invoice:
    return kind(customer_remote_id=customer, date=fields.pop("date", TODAY), lines=list(lines) or [line()],
                **fields)


# --------------------------------------------------------------------------------- the medium company


@pytest.fixture(scope="module")
def listed(sandbox, server):
    async def go():
        async with client(sandbox, server, MEDIUM) as provider:
            _, customers = await collect(provider, Entity.CUSTOMERS)
            invoice_pages, invoices = await collect(provider, Entity.INVOICES)
            _, accounts = await collect(provider, Entity.ACCOUNTS)
            _, banks = await collect(provider, Entity.BANK_ACCOUNTS)
            _, notes = await collect(provider, Entity.CREDIT_NOTES)
            return customers, invoice_pages, invoices, accounts, banks, notes

    customers, invoice_pages, invoices, accounts, banks, notes = run(go())
    entity = entity_of(sandbox, MEDIUM)
    # The sandbox's own data, copied now: later tests change the medium entity.
    return {
        "customers": customers, "invoice_pages": invoice_pages, "invoices": invoices, "accounts": accounts,
        "banks": banks, "notes": notes,
        "stored_customers": {code: dict(record) for code, record in entity.customers.items()},
        "stored_invoices": {i: list(entity.invoice(i)) for i, row in entity.invoices.items()},
        "bank_balances": {code: sum((row.bank_amount for row in entity.txns.values()
                                     if row.bank_gl == code and row.date <= TODAY), Decimal(0))
                          for code in ("1200", "1210")},
    }


def test_client_is_a_provider(sandbox, server):
    provider = client(sandbox, server)
    assert isinstance(provider, Provider)
    assert provider.sign_in == "client_credentials"
    run(provider.aclose())


def test_endpoint_per_region():
    assert endpoint("uk1") == "https://uk1.accountsiq.com/system/dashboard/integration/integration_2_0.asmx"
    with pytest.raises(ValidationError, match="not an AccountsIQ region"):
        endpoint("mars1")


def test_companies_are_the_entities_of_the_sign_in(sandbox, server):
    async def go():
        async with client(sandbox, server, SMALL) as provider:
            return await provider.companies()

    companies = run(go())
    assert [(c.id, c.name, c.currency) for c in companies] == [
        (e["id"], e["name"], "GBP") for e in sandbox.companies()]


def test_medium_customers_match_the_sandbox_field_by_field(listed):
    stored = listed["stored_customers"]
    customers = {c.remote_id: c for c in listed["customers"]}
    assert len(customers) == len(listed["customers"]) == len(stored) == 5_000
    for code, record in stored.items():
        customer = customers[code]
        assert customer.name == record["Name"]
        assert customer.contact_name == (record.get("Contact") or "")
        assert customer.email == (record.get("Email") or "")
        assert customer.phone == (record.get("Phone") or "")
        assert customer.address == Address(line1=record.get("Address1") or "", line2=record.get("Address2") or "",
                                           town=record.get("City") or "", region=record.get("County_State") or "",
                                           postcode=record.get("PostCode") or "",
                                           country=record.get("CountryCode") or "")
        assert customer.vat_number == (record.get("VATRegistrationNumber") or "")
        notes = record.get("Notes") or ""
        assert customer.company_number == notes.removeprefix("Company number ")
        assert customer.currency == record["CurrencyCode"]
        assert customer.archived is (not record["IsActive"])
        assert customer.remote_version == record["RowVersionNumber"] and customer.payload_hash


def test_medium_invoices_match_the_sandbox_field_by_field_money_exact(listed):
    stored = {i: r for i, r in listed["stored_invoices"].items() if r[I_KIND] == "Invoice"}
    invoices = listed["invoices"]
    assert len(invoices) == len(stored) > 49_000
    assert len({invoice.remote_id for invoice in invoices}) == len(invoices)  # each once, none twice
    # Each page after the first is asked for with a small overlap, so it brings a few less new ones.
    assert all(990 <= len(page.items) <= 1_000 for page in listed["invoice_pages"][:-1])
    assert listed["notes"] == []  # the demo has no credit notes
    for invoice in invoices:
        record = stored[int(invoice.remote_id)]
        assert isinstance(invoice, Invoice) and invoice.kind == "invoice"
        assert invoice.number == record[I_NUMBER]
        assert invoice.customer_remote_id == record[I_CODE]
        assert invoice.customer_name == record[I_HEAD]["AccountName"]
        assert invoice.date.isoformat() == record[I_DATE][:10]
        assert invoice.due_date == invoice.date + dt.timedelta(days=30)  # credit term 1: 30 days
        assert invoice.reference == record[I_EXT]
        assert invoice.status is {"Posted": DocumentStatus.POSTED, "Processed": DocumentStatus.DRAFT}[record[I_STATUS]]
        assert invoice.remote_version == record[I_VERSION]
        assert invoice.currency == "GBP" and invoice.exchange_rate == Decimal(record[I_HEAD].get("ExchangeRate", 1))
        assert len(invoice.lines) == len(record[I_LINES])
        for got, item in zip(invoice.lines, record[I_LINES], strict=True):
            assert got.description == (item[L_DESC] or "") and got.item_code == (item[L_STOCK] or "")
            assert (got.quantity, got.unit_price, got.discount_percent) == (
                Decimal(item[L_QTY]), Decimal(item[L_PRICE]), Decimal(item[L_DISCOUNT]))
            assert (got.vat_rate_key, got.vat_rate, got.account_code) == (
                item[L_TAXCODE], Decimal(item[L_RATE]), item[L_GL])
            assert got.net("GBP") == Decimal(item[L_NET]) and got.vat_amount == Decimal(item[L_TAX])
        totals = invoice.totals()
        # Money exact: the domain's arithmetic lands on the service's own figures.
        assert (totals.net, totals.vat, totals.gross) == (
            Decimal(record[I_NET]), Decimal(record[I_TAX]), Decimal(record[I_GROSS]))


def test_medium_accounts_and_bank_accounts(listed):
    accounts = {a.remote_id: a for a in listed["accounts"]}
    assert set(accounts) == set(GL_ACCOUNTS)
    for code, account in GL_ACCOUNTS.items():
        assert (accounts[code].code, accounts[code].name, accounts[code].classification) == (
            code, account.name, account.classification)
    banks = {b.remote_id: b for b in listed["banks"]}
    assert set(banks) == {"1200", "1210"}
    for code, balance in listed["bank_balances"].items():
        assert banks[code].balance == balance and banks[code].account_code == code
    assert banks["1200"].name == "Current account" and banks["1200"].sort_code.startswith("98-")


def test_a_fetched_record_agrees_with_the_listed_one(sandbox, server, listed):
    sample = listed["invoices"][:: len(listed["invoices"]) // 25]
    customers = listed["customers"][::500]

    async def go():
        async with client(sandbox, server, MEDIUM) as provider:
            return ([await provider.get(Entity.INVOICES, i.remote_id) for i in sample],
                    [await provider.get(Entity.CUSTOMERS, c.remote_id) for c in customers])

    invoices, fetched = run(go())
    for listed_one, got in zip(sample, invoices, strict=True):
        if got.remote_version == listed_one.remote_version:  # not changed by a later test meanwhile
            assert got == listed_one  # payload hash included: the same record bytes, list or get
    for listed_one, got in zip(customers, fetched, strict=True):
        assert got == listed_one


# --------------------------------------------------------------------------- the small company, read


def test_small_bank_transactions_and_payments_match_the_ledger(sandbox, server):
    async def go():
        async with client(sandbox, server, SMALL) as provider:
            return (await collect(provider, Entity.BANK_TRANSACTIONS))[1], \
                (await collect(provider, Entity.PAYMENTS))[1]

    bank, payments = run(go())
    entity = entity_of(sandbox, SMALL)
    with_bank = {row.id: row for row in entity.txns.values() if row.bank_gl}
    assert {int(b.remote_id) for b in bank} == set(with_bank)
    for item in bank:
        row = with_bank[int(item.remote_id)]
        lines = entity.txn(row.id)[T_LINES]
        assert item.bank_account_remote_id == row.bank_gl and item.date == row.date
        assert item.amount == sum(Decimal(amount) for code, amount, *_ in lines if code == row.bank_gl)
        assert item.amount == row.bank_amount and item.reconciled is row.reconciled
    receipts = {row.id: row for row in entity.txns.values() if row.type == "SR"}
    assert {int(p.remote_id) for p in payments} == set(receipts)
    for payment in payments:
        row = receipts[int(payment.remote_id)]
        assert payment.amount == -row.control and payment.party_remote_id == row.code
        assert payment.direction == "received" and payment.bank_account_remote_id == "1200"


def test_reports_are_the_ledger_s_figures(sandbox, server):
    async def go():
        async with client(sandbox, server, SMALL) as provider:
            kinds = ("trial_balance", "profit_loss", "balance_sheet", "aged_receivables", "account_balances")
            found = {kind: await provider.report(ReportRequest(kind, date_to=TODAY)) for kind in kinds}
            found["customer_statement"] = await provider.report(
                ReportRequest("customer_statement", customer_remote_id="C0002", date_to=TODAY))
            return found

    found = run(go())
    entity = entity_of(sandbox, SMALL)
    trial = found["trial_balance"]
    expected = {code: (movement, balance) for code, movement, balance in
                entity.trial_balance(entity.period_for(TODAY))}
    assert {row["account_code"]: (row["movement"], row["balance"]) for row in trial["rows"]} == expected
    assert trial["totals"]["balance"] == 0 and trial["totals"]["debit"] == trial["totals"]["credit"] > 0
    assert found["balance_sheet"]["balanced"] is True
    profit = found["profit_loss"]
    assert profit["net_profit"] == profit["total_income"] - profit["total_expenses"]
    assert found["balance_sheet"]["current_year_result"] == profit["net_profit"]  # Jan..today, both
    owed = sum((row.outstanding for row in entity.txns.values() if row.ledger == "Sales" and row.date <= TODAY),
               Decimal(0))
    assert found["aged_receivables"]["totals"]["balance"] == owed
    balances = {row["customer_code"]: row["balance"] for row in found["account_balances"]["accounts"]}
    statement = found["customer_statement"]
    assert statement["closing_balance"] == balances["C0002"]
    assert statement["transactions"] and statement["credit_limit"] is not None


def test_paging_edges(sandbox, server):
    async def go(size):
        async with client(sandbox, server, SMALL) as provider:
            return await collect(provider, Entity.INVOICES, page_size=size)

    expected = sorted(row.id for row in entity_of(sandbox, SMALL).invoices.values() if row.kind == "Invoice")
    count = len(expected)
    for size in (2, count - 1, count, count + 1, 1_000, 50_000):
        pages, items = run(go(size))
        assert sorted(int(i.remote_id) for i in items) == expected, size
        assert all(0 < len(page.items) <= min(size, 1_000) for page in pages)
        assert len({page.cursor for page in pages}) == 1


def test_an_empty_list_is_one_empty_page_with_a_cursor(sandbox, server):
    async def go():
        async with client(sandbox, server, SMALL) as provider:
            return await collect(provider, Entity.CREDIT_NOTES)

    pages, items = run(go())
    assert items == [] and len(pages) == 1 and pages[0].cursor


def test_get_of_everything_else(sandbox, server):
    entity = entity_of(sandbox, SMALL)
    receipt = next(row for row in entity.txns.values() if row.type == "SR")

    async def go():
        async with client(sandbox, server, SMALL) as provider:
            return (await provider.get(Entity.BANK_ACCOUNTS, "1200"), await provider.get(Entity.ACCOUNTS, "4000"),
                    await provider.get(Entity.PAYMENTS, str(receipt.id)),
                    await provider.get(Entity.BANK_TRANSACTIONS, str(receipt.id)),
                    await provider.get(Entity.LEDGER_LINES, f"{receipt.id}.2"))

    bank, account, payment, bank_line, ledger_line = run(go())
    assert (bank.name, account.code, payment.amount, bank_line.amount) == (
        "Current account", "4000", -receipt.control, -receipt.control)
    assert ledger_line.transaction_id == str(receipt.id) and ledger_line.account_code == "1200"


def test_a_posted_invoice_has_a_pdf(sandbox, server):
    async def go():
        async with client(sandbox, server, SMALL) as provider:
            return await provider.pdf(Entity.INVOICES, "1")

    assert run(go()).startswith(b"%PDF")


# ---------------------------------------------------------------------------------------------- writing


def test_customer_create_update_delete(sandbox, server):
    async def go():
        async with client(sandbox, server, TINY) as provider:
            made = await provider.create(Entity.CUSTOMERS, Customer(
                name="Ballymena Bakes Ltd", contact_name="Úna Nic Giolla", email="una@ballymenabakes.example",
                phone="028 2564 1100", address=Address(line1="3 Mill Row", town="Ballymena", region="County Antrim",
                                                       postcode="BT43 5AA", country="GB"),
                vat_number="GB 123 4567 89", company_number="NI654321"), idempotency_key=key())
            read = await provider.get(Entity.CUSTOMERS, made.remote_id)
            changed = await provider.update(Entity.CUSTOMERS, read.model_copy(update={
                "email": "orders@ballymenabakes.example", "address": read.address.model_copy(update={"country": "IE"}),
                "archived": True}))
            stale = read.model_copy(update={"phone": "028 0000 0000"})
            with pytest.raises(Conflict, match="has been changed since it was read"):
                await provider.update(Entity.CUSTOMERS, stale)
            await provider.delete(Entity.CUSTOMERS, made.remote_id)
            with pytest.raises(NotFound, match="does not exist"):
                await provider.get(Entity.CUSTOMERS, made.remote_id)
            return made, read, changed

    made, read, changed = run(go())
    assert made == read and made.remote_id.startswith("BALLYMEN-") and len(made.remote_id) <= 20
    assert (read.name, read.contact_name, read.company_number, read.address.town) == (
        "Ballymena Bakes Ltd", "Úna Nic Giolla", "NI654321", "Ballymena")
    assert (changed.email, changed.address.country, changed.archived) == (
        "orders@ballymenabakes.example", "IE", True)
    assert changed.remote_version != read.remote_version and changed.phone == read.phone


def test_invoice_draft_update_post_then_posted_is_a_conflict(sandbox, server):
    async def go():
        async with client(sandbox, server, TINY) as provider:
            made = await provider.create(Entity.INVOICES, draft("C0002", line(), line("Fitting", "3.5", "42.50",
                                                                                      tax="R", discount="10"),
                                                              reference="PO 777"), idempotency_key=key())
            edited = await provider.update(Entity.INVOICES, made.model_copy(update={
                "lines": [line("Oak worktop", "3", "149.99")], "reference": "PO 778"}))
            posted = await provider.update(Entity.INVOICES, edited.model_copy(update={"status": DocumentStatus.POSTED}))
            with pytest.raises(Conflict, match="has been posted and can no longer be changed") as refused:
                await provider.update(Entity.INVOICES, posted.model_copy(update={"lines": [line(quantity="9")]}))
            again = await provider.update(Entity.INVOICES, posted)  # nothing to change: no call that fails
            return made, edited, posted, refused.value, again

    made, edited, posted, refused, again = run(go())
    assert made.status is DocumentStatus.DRAFT and made.number.startswith("INV-")
    assert made.reference == "PO 777" and made.customer_remote_id == "C0002"
    # The service priced the lines (half up per line): 2 x 149.99 at 20%, 3.5 x 42.50 less 10% at 5%.
    assert made.totals().net == Decimal("299.98") + Decimal("133.88")
    assert made.totals().vat == Decimal("60.00") + Decimal("6.69")
    assert edited.reference == "PO 778" and edited.totals().gross == Decimal("539.96")
    assert edited.remote_version != made.remote_version
    assert posted.status is DocumentStatus.POSTED and posted.remote_id == made.remote_id
    assert refused.detail["code"] == "TRANSACTION_IS_NOT_EDITABLE"
    assert again == posted


def test_credit_note_created_posted_and_found(sandbox, server):
    idempotency_key = key()

    async def go():
        async with client(sandbox, server, TINY) as provider:
            made = await provider.create(Entity.CREDIT_NOTES, draft("C0003", line(quantity="1"), kind=CreditNote,
                                                                   status=DocumentStatus.POSTED),
                                         idempotency_key=idempotency_key)
            found = await provider.find_created(Entity.CREDIT_NOTES, idempotency_key)
            with pytest.raises(NotFound):
                await provider.get(Entity.INVOICES, made.remote_id)
            return made, found, await provider.pdf(Entity.CREDIT_NOTES, made.remote_id)

    made, found, pdf = run(go())
    assert isinstance(made, CreditNote) and made.status is DocumentStatus.POSTED and made.number.startswith("CRN-")
    assert found == made and pdf.startswith(b"%PDF")


def test_find_created_by_idempotency_key(sandbox, server):
    invoice_key, customer_key = key(), key()

    async def go():
        async with client(sandbox, server, TINY) as provider:
            invoice = await provider.create(Entity.INVOICES, draft(), idempotency_key=invoice_key)
            customer = await provider.create(Entity.CUSTOMERS, Customer(name="Found Later"),
                                             idempotency_key=customer_key)
            return (invoice, customer, await provider.find_created(Entity.INVOICES, invoice_key),
                    await provider.find_created(Entity.CUSTOMERS, customer_key),
                    await provider.find_created(Entity.INVOICES, key()),
                    await provider.find_created(Entity.CUSTOMERS, key()))

    invoice, customer, found_invoice, found_customer, no_invoice, no_customer = run(go())
    assert found_invoice == invoice and found_customer == customer
    assert no_invoice is None and no_customer is None
    stored = entity_of(sandbox, TINY).invoice(int(invoice.remote_id))
    assert stored[I_EXT] == mapping.key_reference(invoice_key)  # the key travels in ExternalReference


def test_a_create_sent_twice_with_one_key_makes_one_record(sandbox, server):
    idempotency_key, customer_key = key(), key()

    async def go():
        async with client(sandbox, server, TINY) as provider:
            first = await provider.create(Entity.INVOICES, draft(), idempotency_key=idempotency_key)
            second = await provider.create(Entity.INVOICES, draft(), idempotency_key=idempotency_key)
            one = await provider.create(Entity.CUSTOMERS, Customer(name="Twice"), idempotency_key=customer_key)
            two = await provider.create(Entity.CUSTOMERS, Customer(name="Twice"), idempotency_key=customer_key)
            return first, second, one, two

    first, second, one, two = run(go())
    assert first.remote_id == second.remote_id and one.remote_id == two.remote_id
    refs = entity_of(sandbox, TINY).invoice_refs[("Invoice", mapping.key_reference(idempotency_key))]
    assert len(refs) == 1


class DropAfter(httpx.AsyncBaseTransport):
    """Sends each request on, but loses the answer of the first ``times`` calls of ``method``: the
    service did the work, the client never hears so."""

    def __init__(self, method: str, times: int = 1):
        self.inner = httpx.AsyncHTTPTransport()
        self.method, self.left = method, times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.headers.get("soapaction", "").endswith("/" + self.method) and self.left > 0:
            self.left -= 1
            await response.aread()
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body",
                                            request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("method", ["SaveInvoiceGetBackInvoiceID", "PostInvoiceGetBackTransactionID",
                                    "UpdateCustomerGetbackCustomerCode"])
def test_a_create_whose_answer_is_lost_is_not_duplicated(sandbox, server, method):
    idempotency_key = key()
    entity = entity_of(sandbox, TINY)
    before = len(entity.invoices), len(entity.customers)

    async def go():
        async with client(sandbox, server, TINY, transport=DropAfter(method)) as provider:
            if method.startswith("UpdateCustomer"):
                return await provider.create(Entity.CUSTOMERS, Customer(name="Lost Answer"),
                                             idempotency_key=idempotency_key)
            return await provider.create(Entity.INVOICES, draft(status=DocumentStatus.POSTED),
                                         idempotency_key=idempotency_key)

    made = run(go())
    if method.startswith("UpdateCustomer"):
        assert (len(entity.invoices), len(entity.customers)) == (before[0], before[1] + 1)
        assert made.name == "Lost Answer"
    else:
        assert (len(entity.invoices), len(entity.customers)) == (before[0] + 1, before[1])
        assert made.status is DocumentStatus.POSTED
        assert len(entity.invoice_refs[("Invoice", mapping.key_reference(idempotency_key))]) == 1


# ------------------------------------------------------------------------------------ documented errors


def _errors():
    missing_customer = draft("NOSUCH")
    bad_tax = draft("C0001", line(tax="Q"))
    control_gl = draft("C0001", line(gl="1100"))
    old = draft("C0001", date=dt.date(1999, 1, 1))
    full_discount = draft("C0001", line(discount="100"))
    return [
        ("get invoice", lambda p: p.get(Entity.INVOICES, "999999"), NotFound, "There is no invoice with ID 999999."),
        ("get invoice as credit note", lambda p: p.get(Entity.CREDIT_NOTES, "1"), NotFound, "is not a credit note"),
        ("get customer", lambda p: p.get(Entity.CUSTOMERS, "NOSUCH"), NotFound,
         "The customer code NOSUCH does not exist."),
        ("get bank", lambda p: p.get(Entity.BANK_ACCOUNTS, "9999"), NotFound, "There is no bank account 9999"),
        ("invoice for unknown customer", lambda p: p.create(Entity.INVOICES, missing_customer, idempotency_key=key()),
         ValidationError, "The customer code NOSUCH does not exist."),
        ("unknown tax code", lambda p: p.create(Entity.INVOICES, bad_tax, idempotency_key=key()), ValidationError,
         "The tax code Q does not exist."),
        ("line on a control account", lambda p: p.create(Entity.INVOICES, control_gl, idempotency_key=key()),
         ValidationError, "lines post to posting accounts only"),
        ("date out of range", lambda p: p.create(Entity.INVOICES, old, idempotency_key=key()), ValidationError,
         "is outside the financial periods of this entity"),
        ("100% discount", lambda p: p.create(Entity.INVOICES, full_discount, idempotency_key=key()), ValidationError,
         "the discount must be below 100%"),
        ("customer with documents", lambda p: p.delete(Entity.CUSTOMERS, "C0001"), Conflict,
         "has transactions or documents and cannot be deleted"),
        ("update of a missing invoice", lambda p: p.update(Entity.INVOICES, draft().model_copy(
            update={"remote_id": "999999"})), NotFound, "There is no invoice with ID 999999."),
        ("delete an invoice", lambda p: p.delete(Entity.INVOICES, "1"), Unsupported, "cannot delete an invoice"),
        ("record a receipt", lambda p: p.create(Entity.PAYMENTS, None, idempotency_key=key()), Unsupported,
         "does not record receipts"),
        ("unknown report", lambda p: p.report(ReportRequest("cash_flow")), Unsupported, "no “cash_flow” report"),
        ("a cursor not ours", lambda p: _drain(p.list(Entity.INVOICES, since="yesterday")), ValidationError,
         "is not a change cursor"),
    ]


async def _drain(pages):
    return [page async for page in pages]


@pytest.mark.parametrize(("name", "action", "error", "message"), _errors(), ids=[e[0] for e in _errors()])
def test_each_documented_error_is_typed_with_the_service_s_words(sandbox, server, name, action, error, message):
    async def go():
        async with client(sandbox, server, TINY) as provider:
            await action(provider)

    with pytest.raises(error) as raised:
        run(go())
    assert message in raised.value.message
    assert type(raised.value) is error


@pytest.mark.parametrize(("credentials", "entity", "error", "message"), [
    ({"client_secret": "not-the-secret"}, TINY, AuthError, "The client secret is not correct."),
    ({"client_id": "not-a-guid"}, TINY, AuthError, "is not a GUID"),
    ({"client_id": "00000000-0000-4000-8000-000000000000"}, TINY, AuthError, "No integration application"),
    ({}, "nosuchentity", NotFound, "There is no entity 'nosuchentity' for this client."),
])
def test_sign_in_and_entity_refusals(sandbox, server, credentials, entity, error, message):
    given = {**sandbox.credentials(), **credentials}

    async def go():
        async with Client(server.url, given["client_id"], given["client_secret"], entity, retry=FAST_RETRY) as p:
            await p.get(Entity.CUSTOMERS, "C0001")

    with pytest.raises(error, match=message):
        run(go())


def test_capabilities_say_why(sandbox, server):
    provider = client(sandbox, server)
    capabilities = provider.capabilities
    for entity, operation in ((Entity.INVOICES, Operation.DELETE), (Entity.INVOICES, Operation.VOID),
                              (Entity.BANK_ACCOUNTS, Operation.CREATE), (Entity.PAYMENTS, Operation.CREATE),
                              (Entity.LEDGER_LINES, Operation.UPDATE), (Entity.ACCOUNTS, Operation.CHANGES)):
        assert not capabilities.supports(entity, operation)
        assert "AccountsIQ" in capabilities.reason(entity, operation)
    for entity, operation in ((Entity.INVOICES, Operation.CREATE), (Entity.INVOICES, Operation.POST),
                              (Entity.INVOICES, Operation.CHANGES), (Entity.CUSTOMERS, Operation.DELETE),
                              (Entity.CREDIT_NOTES, Operation.PDF), (Entity.LEDGER_LINES, Operation.CHANGES)):
        assert capabilities.supports(entity, operation)
    run(provider.aclose())


# ------------------------------------------------------------------------------------ the change feed


def test_an_incremental_sync_of_10_changed_invoices_is_quick(sandbox, server, listed):
    drafts = [i for i in listed["invoices"] if i.status is DocumentStatus.DRAFT][:10]
    assert len(drafts) == 10

    async def go():
        async with client(sandbox, server, MEDIUM) as provider:
            # A cursor now (from an empty list: the same server clock as any GetInvoicesBy).
            cursor = (await collect(provider, Entity.CREDIT_NOTES))[0][0].cursor
            for invoice in drafts:
                first = invoice.lines[0]
                await provider.update(Entity.INVOICES, invoice.model_copy(update={"lines": [
                    first.model_copy(update={"quantity": first.quantity + 1, "vat_amount": None}),
                    *invoice.lines[1:]]}))
        async with client(sandbox, server, MEDIUM) as provider:  # a fresh client, as after a restart
            started = time.perf_counter()
            pages, items = await collect(provider, Entity.INVOICES, since=cursor)
            return cursor, pages, items, time.perf_counter() - started

    cursor, pages, items, elapsed = run(go())
    assert {i.remote_id for i in items} == {d.remote_id for d in drafts}
    assert all(i.totals().net > d.totals().net for i, d in zip(
        sorted(items, key=lambda i: int(i.remote_id)), sorted(drafts, key=lambda d: int(d.remote_id)), strict=True))
    assert pages[-1].cursor >= cursor  # whole seconds: a quick test may see the same one
    assert elapsed <= 2.0, f"{elapsed:.2f} s"


def test_changed_customers_since_a_cursor(sandbox, server):
    async def go():
        async with client(sandbox, server, SMALL) as provider:
            cursor = (await collect(provider, Entity.CUSTOMERS))[0][0].cursor
            await asyncio.sleep(0)
            current = await provider.get(Entity.CUSTOMERS, "C0007")
            await provider.update(Entity.CUSTOMERS, current.model_copy(update={"phone": "028 9000 0007"}))
            return await collect(provider, Entity.CUSTOMERS, since=cursor)

    _, changed = run(go())
    assert "C0007" in {c.remote_id for c in changed} and len(changed) < 40


# ------------------------------------------------------------------------------------------ sign-in


def _short_lived(access: float, refresh: float = 14 * 24 * 3600):
    sandbox = build_sandbox("accountsiq", SandboxOptions(size="small", seed=SEED, extra={
        "access_token_lifetime": access, "refresh_token_lifetime": refresh}))
    return sandbox, serve_in_thread(sandbox.stack.asgi)


def _token_calls(sandbox) -> list[str]:
    return [e.headers.get("soapaction", "").rsplit("/", 1)[-1].strip('"') for e in sandbox.stack.requests.entries
            if "Token" in e.headers.get("soapaction", "")]


@pytest.mark.parametrize("refresh_lifetime", [14 * 24 * 3600, 1.0])
def test_a_token_that_expires_mid_list_is_renewed_and_the_list_completes(refresh_lifetime):
    sandbox, server = _short_lived(1.0, refresh_lifetime)
    saved = []
    try:
        async def go():
            async with client(sandbox, server, SMALL, on_tokens=lambda a, r: saved.append((a, r))) as provider:
                items, slept = [], False
                async for page in provider.list(Entity.INVOICES, page_size=50):
                    items.extend(page.items)
                    if len(items) >= 100 and not slept:
                        slept = True
                        await asyncio.sleep(1.3)  # the access token (and the refresh token) run out here
                return items, provider.tokens.renewals

        items, renewals = run(go())
    finally:
        server.stop()
    expected = sorted(r.id for r in entity_of(sandbox, SMALL).invoices.values() if r.kind == "Invoice")
    assert sorted(int(i.remote_id) for i in items) == expected
    assert renewals == len(saved) >= 2
    calls = _token_calls(sandbox)
    if refresh_lifetime > 1:
        assert calls[:2] == ["TokenGet", "TokenRefresh"]
    else:  # the refresh token had run out too: signed in again with the client credentials
        assert calls[:3] == ["TokenGet", "TokenRefresh", "TokenGet"]


def test_a_token_refused_again_after_renewal_is_an_auth_error():
    sandbox, server = _short_lived(0.0)
    try:
        async def go():
            async with client(sandbox, server, SMALL) as provider:
                await provider.get(Entity.CUSTOMERS, "C0001")

        with pytest.raises(AuthError, match="The access token has expired"):
            run(go())
    finally:
        server.stop()


# ------------------------------------------------------------------------------------------- pacing


def test_pacing_keeps_a_burst_within_100_requests_a_second(sandbox, server):
    async def go():
        async with client(sandbox, server, SMALL) as provider:
            started = time.perf_counter()
            found = await asyncio.gather(*(provider.get(Entity.CUSTOMERS, f"C{n % 40 + 1:04d}") for n in range(250)))
            return found, time.perf_counter() - started, provider.http.stats

    found, elapsed, stats = run(go())
    assert len(found) == 250
    assert stats.throttled == 0, stats  # paced below the service's sliding window of one second
    assert elapsed >= 2.4  # not faster than the limit allows: 250 requests at (a little under) 100 a second


# ------------------------------------------------------------------------------------------- faults


def _faulty(sandbox, seed: int):
    sandbox.stack.faults.settings.update(error_rate=0.2, drop_before_rate=0.05, drop_after_rate=0.05,
                                         throttle_rate=0.1, seed=seed)
    sandbox.stack.faults.reseed(seed)


def test_with_faults_a_full_list_completes_and_is_complete(sandbox, server):
    async def lists():
        async with client(sandbox, server, SMALL) as provider:
            return ((await collect(provider, Entity.CUSTOMERS, page_size=10))[1],
                    (await collect(provider, Entity.INVOICES, page_size=25))[1],
                    (await collect(provider, Entity.LEDGER_LINES))[1], provider.http.stats)

    clean = run(lists())
    _faulty(sandbox, seed=7)
    faulty = run(lists())
    injected = dict(sandbox.stack.faults.injected)
    for before, after in zip(clean[:3], faulty[:3], strict=True):
        assert sorted(x.remote_id for x in after) == sorted(x.remote_id for x in before)
        assert {x.remote_id: x.payload_hash for x in after} == {x.remote_id: x.payload_hash for x in before}
    assert faulty[3].retries > 5 and {"error", "throttle"} <= set(injected)


def test_with_faults_creates_are_not_duplicated(sandbox, server):
    keys = [key() for _ in range(4)]
    _faulty(sandbox, seed=3)

    async def go():
        made = []
        async with client(sandbox, server, TINY) as provider:
            for idempotency_key in keys:
                for _attempt in range(10):  # as the sync engine does: an unknown outcome is looked up first
                    try:
                        made.append(await provider.create(Entity.INVOICES, draft(status=DocumentStatus.POSTED),
                                                          idempotency_key=idempotency_key))
                        break
                    except UnknownOutcome:
                        found = await provider.find_created(Entity.INVOICES, idempotency_key)
                        if found is not None and found.status is DocumentStatus.POSTED:
                            made.append(found)
                            break
        return made

    made = run(go())
    sandbox.stack.faults.settings.update(error_rate=0.0, drop_before_rate=0.0, drop_after_rate=0.0, throttle_rate=0.0)
    entity = entity_of(sandbox, TINY)
    assert len(made) == len(keys)
    for idempotency_key, invoice in zip(keys, made, strict=True):
        assert entity.invoice_refs[("Invoice", mapping.key_reference(idempotency_key))] == {int(invoice.remote_id)}


# ------------------------------------------------------------------------------------------- secrets


def test_no_token_or_secret_appears_in_any_log_line(sandbox, caplog):
    small, server = _short_lived(1.0)
    seen: list[str] = []
    try:
        async def go():
            credentials = small.credentials()
            async with Client(server.url, credentials["client_id"], credentials["client_secret"], SMALL,
                              retry=FAST_RETRY, on_tokens=lambda a, r: seen.extend((a, r))) as provider:
                await collect(provider, Entity.CUSTOMERS)
                await asyncio.sleep(1.2)
                await collect(provider, Entity.INVOICES, page_size=200)
                await provider.create(Entity.CUSTOMERS, Customer(name="Logged Ltd"), idempotency_key=key())
                with pytest.raises(ProviderError):
                    await provider.get(Entity.INVOICES, "999999")

        with caplog.at_level(logging.DEBUG):
            run(go())
    finally:
        server.stop()
    secrets = [small.credentials()["client_secret"], *seen]
    assert len(seen) >= 4 and caplog.records
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in secrets:
        assert secret not in text
