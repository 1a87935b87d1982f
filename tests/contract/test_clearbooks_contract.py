"""The Clear Books client against its sandbox over loopback HTTP.

One sandbox serves the module, its throttle off (pacing is tested in ``test_clearbooks_tokens``):
business 184503 is a ``medium`` company, listed once (every entity) and compared field by field with the
sandbox's own store, money exact; the writing tests use 184501 and 184502 so the comparison is not
disturbed. Expected values are worked out here from the wire records, not from the client's mapping.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal

import httpx
import pytest

from app.domain import (
    Account,
    BankAccount,
    BankTransaction,
    Classification,
    CreditNote,
    Customer,
    DocumentStatus,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentDirection,
)
from app.domain.parties import Address
from providers.base import (
    AuthError,
    Conflict,
    Entity,
    NotFound,
    Operation,
    PermissionDenied,
    Provider,
    ProviderError,
    ReportRequest,
    UnknownOutcome,
    ValidationError,
)
from providers.clearbooks import mapping
from providers.clearbooks.client import Client
from providers.http import RateLimits, RetryPolicy
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread
from tests.sandbox.test_clearbooks_sandbox import sign_in

SEED = 5
TINY, SMALL, MEDIUM = "184501", "184502", "184503"
UNPACED = RateLimits(rate=None)
FAST_RETRY = RetryPolicy(base=0.01, cap=0.2)
CENT = Decimal("0.01")
STATUSES = {"draft": DocumentStatus.DRAFT, "approved": DocumentStatus.APPROVED, "paid": DocumentStatus.PAID,
            "voided": DocumentStatus.VOID}
CLASSES = {"1": Classification.REVENUE, "2": Classification.EXPENSE, "7": Classification.ASSET,
           "8": Classification.LIABILITY, "9": Classification.EQUITY}


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def sandbox():
    return build_sandbox("clearbooks", SandboxOptions(size="medium", seed=SEED, throttle=False))


@pytest.fixture(scope="module")
def server(sandbox):
    running = serve_in_thread(sandbox.stack.asgi)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def token(sandbox, server) -> str:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        return sign_in(http, sandbox.credentials())["access_token"]


@pytest.fixture(autouse=True)
def no_faults(request):
    yield
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").stack.faults.settings.update(
            latency_ms=0, error_rate=0.0, drop_before_rate=0.0, drop_after_rate=0.0, throttle_rate=0.0,
            truncate_rate=0.0)


@pytest.fixture(scope="module")
def connect(server, token):
    """``async with connect(business) as client``: a client made inside the test's own event loop."""
    def make(business: str | None = SMALL, **options) -> Client:
        options.setdefault("limits", UNPACED)
        options.setdefault("retry", FAST_RETRY)
        return Client(server.url + "/v1", business, options.pop("access_token", token), **options)
    return make


async def everything(client: Client, entity: Entity, **options) -> list:
    found = []
    async for page in client.list(entity, **options):
        found.extend(page.items)
    return found


def store(sandbox, business: str, collection: str) -> list[dict]:
    return sandbox.books.all(business, collection)


# --- the medium company, listed once and compared field by field ------------------------------------------------

@pytest.fixture(scope="module")
def listed(connect) -> dict[Entity, list]:
    async def go():
        async with connect(MEDIUM) as client:
            return {entity: await everything(client, entity) for entity in Entity
                    if client.capabilities.supports(entity, Operation.LIST)}
    return run(go())


def exact(amount: Decimal, wire) -> bool:
    """Equal, and written the same way (12.40 stays 12.40): nothing passed through float."""
    return amount == wire and str(amount) == str(wire)


def test_the_client_is_a_provider(connect):
    client = connect()
    run(client.aclose())
    assert isinstance(client, Provider)
    assert client.name == "clearbooks" and client.sign_in == "browser"
    assert not client.capabilities.supports(Entity.BANK_TRANSACTIONS, Operation.LIST)
    assert "no change feed" in client.capabilities.reason(Entity.INVOICES, Operation.CHANGES)


def test_companies_are_the_businesses_of_the_sign_in(connect, sandbox):
    async def go():
        async with connect() as client:
            return await client.companies()
    companies = run(go())
    assert [(c.id, c.name) for c in companies] == [(c["id"], c["name"]) for c in sandbox.companies()]
    assert companies[2].details["type"] == "LimitedCompany" and companies[0].currency == "GBP"


def test_companies_can_be_listed_before_a_business_is_chosen(connect):
    async def go():
        async with connect(None) as client:
            found = await client.companies()
            with pytest.raises(ValidationError, match="Choose a Clear Books business first"):
                await client.get(Entity.CUSTOMERS, "1")
            return found
    assert len(run(go())) == 3


def test_medium_customers_match_the_store(listed, sandbox):
    wire = {str(c["id"]): c for c in store(sandbox, MEDIUM, "customers")}
    customers = listed[Entity.CUSTOMERS]
    assert len(customers) == len(wire) == 5000
    for customer in customers:
        w = wire[customer.remote_id]
        a = w["address"]
        assert customer.name == w["name"]
        assert customer.contact_name == " ".join(
            p for p in (w["contactName"]["forenames"], w["contactName"]["surname"]) if p)
        assert (customer.email, customer.phone, customer.vat_number, customer.company_number, customer.archived) \
            == (w["email"], w["phone"], w["vatNumber"], w["companyNumber"], w["archived"])
        assert customer.address == Address(line1=", ".join(p for p in (a["building"], a["line1"]) if p),
                                           line2=a["line2"], town=a["town"], region=a["county"],
                                           postcode=a["postcode"], country=a["countryCode"])
        assert customer.currency == "GBP" and customer.payload_hash == customer.remote_version


def test_medium_invoices_match_the_store_money_exact(listed, sandbox):
    wire = {str(d["id"]): d for d in store(sandbox, MEDIUM, "sales:invoices")}
    invoices = listed[Entity.INVOICES]
    assert len(invoices) == len(wire) == 50_000
    assert len({i.payload_hash for i in invoices}) == 50_000
    for invoice in invoices:
        w = wire[invoice.remote_id]
        assert isinstance(invoice, Invoice)
        assert invoice.number == w["formattedDocumentNumber"]
        assert invoice.customer_remote_id == str(w["customerId"])
        assert invoice.date.isoformat() == w["date"] and invoice.due_date.isoformat() == w["dateDue"]
        assert invoice.reference == w["reference"] and invoice.currency == w["currency"]
        assert invoice.status is STATUSES[w["status"]]
        totals = invoice.totals()
        assert exact(totals.net, w["net"]) and exact(totals.vat, w["vat"]) and exact(totals.gross, w["gross"])
        if w["status"] in ("approved", "paid"):
            assert exact(totals.amount_due, w["due"])
            assert invoice.amount_paid == w["gross"] - w["due"]
        else:
            assert invoice.amount_paid == 0
        assert len(invoice.lines) == len(w["lineItems"])
        for line, item in zip(invoice.lines, w["lineItems"], strict=True):
            assert line.description == item["description"]
            assert exact(line.unit_price, item["unitPrice"]) and exact(line.quantity, item["quantity"])
            assert exact(line.vat_amount, item["vatAmount"])
            assert line.account_code == str(item["accountCode"]) and line.vat_rate_key == item["vatRateKey"]
            assert line.item_code == ("" if item["stockItem"] is None else str(item["stockItem"]))
            assert line.discount_percent == 0


def test_medium_payments_bank_accounts_and_accounts_match_the_store(listed, sandbox):
    wire = {str(p["id"]): p for p in store(sandbox, MEDIUM, "payments")}
    payments = listed[Entity.PAYMENTS]
    assert len(payments) == len(wire) > 40_000
    for payment in payments:
        w = wire[payment.remote_id]
        assert exact(payment.amount, abs(w["amount"]))
        assert payment.direction is (PaymentDirection.RECEIVED if w["amount"] > 0 else PaymentDirection.PAID)
        assert (payment.party_remote_id, payment.bank_account_remote_id, payment.date.isoformat(),
                payment.reference) == (str(w["contactId"]), str(w["bankAccountId"]), w["date"], w["description"])
    balances = sandbox.books.ledger(MEDIUM).balances("1900-01-01", "2099-12-31")
    banks = {str(b["id"]): b for b in store(sandbox, MEDIUM, "bankAccounts")}
    assert len(listed[Entity.BANK_ACCOUNTS]) == len(banks) == 2
    for bank in listed[Entity.BANK_ACCOUNTS]:
        w = banks[bank.remote_id]
        assert (bank.name, bank.account_number, bank.sort_code, bank.iban, bank.account_code) == (
            w["name"], w["accountNumber"], w["sortCode"], w["iban"], str(w["accountCode"]))
        assert bank.balance == Decimal(balances.get(w["accountCode"], 0)).scaleb(-2)
    codes = {str(a["id"]): a for a in store(sandbox, MEDIUM, "accountCodes")}
    assert {a.code for a in listed[Entity.ACCOUNTS]} == set(codes)
    for account in listed[Entity.ACCOUNTS]:
        assert account.name == codes[account.code]["name"]
        assert account.classification is CLASSES[str(codes[account.code]["heading"])[0]]


def test_medium_ledger_lines_match_the_ledger(listed, sandbox):
    lines = listed[Entity.LEDGER_LINES]
    ledger = sandbox.books.ledger(MEDIUM).lines()
    assert len(lines) == len(ledger) > 250_000
    for line, (txn, date, account, pence, index) in zip(lines, ledger, strict=True):
        assert line.remote_id == f"{txn}:{index + 1}" and line.transaction_id == str(txn)
        assert (line.date.isoformat(), line.account_code) == (date, str(account))
        assert line.amount == Decimal(pence).scaleb(-2)
    assert sum((line.amount for line in lines), Decimal(0)) == 0


# --- paging edges ----------------------------------------------------------------------------------------------

def test_paging_edges(connect, sandbox):
    sandbox.stack.requests.clear()

    async def go():
        async with connect(SMALL) as client:
            whole = await everything(client, Entity.CUSTOMERS)
            one_by_one = await everything(client, Entity.CUSTOMERS, page_size=1)
            exact_fit = [page async for page in client.list(Entity.CUSTOMERS, page_size=len(whole))]
            clamped = [page async for page in client.list(Entity.INVOICES, page_size=10_000)]
            empty = [page async for page in client.list(Entity.CREDIT_NOTES)]
            return whole, one_by_one, exact_fit, clamped, empty

    whole, one_by_one, exact_fit, clamped, empty = run(go())
    assert [c.remote_id for c in one_by_one] == [c.remote_id for c in whole] and len(whole) == 40
    assert len(exact_fit) == 1 and exact_fit[0].total == 40  # the last page is not followed by an empty one
    assert [len(p.items) for p in clamped] == [200, 200] and clamped[0].total == 400
    assert len(empty) == 1 and empty[0].items == [] and empty[0].total == 0
    queries = [e.query for e in sandbox.stack.requests.entries if e.path.endswith("/sales/invoices")]
    assert queries == ["page=1&limit=200", "page=2&limit=200"]
    assert all(e.headers.get("x-business-id") for e in sandbox.stack.requests.entries)


# --- create, update, delete, read back -------------------------------------------------------------------------

def new_customer(**changes) -> Customer:
    return Customer(name=f"Contract Test {uuid.uuid4().hex[:8]} Ltd", contact_name="Ada Lovelace",
                    email="ada@example.com", phone="01632 960123",
                    address=Address(line1="1 Test Street", town="Bath", postcode="BA1 1AA", country="GB"),
                    vat_number="GB123456789", **changes)


def account_of(sandbox, business: str, heading: int) -> str:
    return str(next(a["id"] for a in store(sandbox, business, "accountCodes") if a["heading"] == heading))


def new_invoice(customer: str, account: str, cls=Invoice, **changes) -> Invoice:
    lines = [InvoiceLine(description="Survey", quantity=Decimal(2), unit_price=Decimal("450.00"),
                         vat_rate_key="standard", vat_rate=Decimal(20), account_code=account),
             InvoiceLine(description="Catalogue", quantity=Decimal("1.5"), unit_price=Decimal("12.33"),
                         vat_rate_key="zero", account_code=account)]
    return cls(customer_remote_id=customer, date=dt.date(2026, 10, 1), due_date=dt.date(2026, 10, 31),
               reference="PO 1234", lines=lines, **changes)


def test_customers_create_read_update_delete(connect, sandbox):
    async def go():
        async with connect(TINY) as client:
            made = await client.create(Entity.CUSTOMERS, new_customer(), idempotency_key="c1")
            read = await client.get(Entity.CUSTOMERS, made.remote_id)
            changed = await client.update(Entity.CUSTOMERS, read.model_copy(update={
                "email": "ada@lovelace.example", "address": Address(line1="2 New Road", town="Leeds")}))
            again = await client.get(Entity.CUSTOMERS, made.remote_id)
            await client.delete(Entity.CUSTOMERS, made.remote_id)
            with pytest.raises(NotFound) as gone:
                await client.get(Entity.CUSTOMERS, made.remote_id)
            return made, read, changed, again, gone.value

    made, read, changed, again, gone = run(go())
    assert read == made and made.contact_name == "Ada Lovelace" and made.address.town == "Bath"
    assert changed == again and again.email == "ada@lovelace.example" and again.address.line1 == "2 New Road"
    assert again.remote_version != made.remote_version and again.vat_number == "GB123456789"
    assert gone.message == f"Customer {made.remote_id} was not found"


def test_an_update_keeps_what_the_domain_does_not_hold(connect, sandbox):
    """A contact's title and the address's building survive an edit of something else."""
    books = sandbox.books
    with books.lock:
        target = store(sandbox, TINY, "customers")[0]
        books.put(TINY, "customers", {**target, "contactName": {**target["contactName"], "title": "Dr"},
                                      "address": {**target["address"], "building": "Rose House"}})

    async def go():
        async with connect(TINY) as client:
            current = await client.get(Entity.CUSTOMERS, str(target["id"]))
            return current, await client.update(Entity.CUSTOMERS, current.model_copy(update={"phone": "0123"}))

    current, updated = run(go())
    assert current.address.line1.startswith("Rose House, ")
    after = books.get(TINY, "customers", target["id"])
    assert after["contactName"]["title"] == "Dr" and after["address"]["building"] == "Rose House"
    assert after["phone"] == "0123" and updated.address == current.address


def test_an_update_that_changes_nothing_sends_nothing(connect, sandbox):
    invoice_id = next(str(d["id"]) for d in store(sandbox, SMALL, "sales:invoices") if d["status"] == "approved")

    async def go():
        async with connect(SMALL) as client:
            current = await client.get(Entity.INVOICES, invoice_id)
            sandbox.stack.requests.clear()
            return current, await client.update(Entity.INVOICES, current)

    current, same = run(go())
    assert same.remote_id == invoice_id == current.remote_id  # an approved invoice was not reissued
    assert [e.method for e in sandbox.stack.requests.entries] == ["GET"]


def test_invoices_draft_approve_reissue_void(connect, sandbox):
    customer = str(store(sandbox, TINY, "customers")[0]["id"])
    account = account_of(sandbox, TINY, 1001)

    async def go():
        async with connect(TINY) as client:
            draft = await client.create(Entity.INVOICES, new_invoice(customer, account, status="draft"),
                                        idempotency_key="inv-1")
            edited = await client.update(Entity.INVOICES, draft.model_copy(update={"reference": "PO 99"}))
            approved = await client.update(Entity.INVOICES, edited.model_copy(update={"status": "approved"}))
            lines = [*approved.lines, InvoiceLine(description="Extra", unit_price=Decimal("10.00"),
                                                  vat_rate_key="standard", vat_rate=Decimal(20), account_code=account)]
            reissued = await client.update(Entity.INVOICES, approved.model_copy(update={"lines": lines}))
            followed = await client.get(Entity.INVOICES, approved.remote_id)
            await client.delete(Entity.INVOICES, reissued.remote_id)
            voided = await client.get(Entity.INVOICES, reissued.remote_id)
            return draft, edited, approved, reissued, followed, voided

    draft, edited, approved, reissued, followed, voided = run(go())
    assert draft.status is DocumentStatus.DRAFT and draft.number.startswith("INV-")
    assert draft.totals().gross == Decimal("1098.50")  # 900 + 180 VAT + 18.50 zero-rated (12.33 x 1.5, half up)
    assert edited.remote_id == draft.remote_id == approved.remote_id  # drafts change in place
    assert edited.reference == "PO 99" and approved.status is DocumentStatus.APPROVED
    assert mapping.previous_remote_id(approved) is None
    assert reissued.remote_id != approved.remote_id and mapping.previous_remote_id(reissued) == approved.remote_id
    assert reissued.number == approved.number and reissued.totals().gross == Decimal("1110.50")
    assert followed.remote_id == reissued.remote_id and followed.previous_remote_id == approved.remote_id
    assert followed.model_dump() == reissued.model_dump()
    assert voided.status is DocumentStatus.VOID and voided.totals().amount_due == 0
    wire = sandbox.books.get(TINY, "sales:invoices", int(draft.remote_id))
    assert wire is None  # the superseded revision left the lists
    assert sandbox.books.get(TINY, "sales:invoices", int(reissued.remote_id))["description"] == "ledgerdesk:inv-1"


def test_credit_notes_create_update_delete(connect, sandbox):
    customer = str(store(sandbox, TINY, "customers")[1]["id"])
    account = account_of(sandbox, TINY, 1001)

    async def go():
        async with connect(TINY) as client:
            made = await client.create(Entity.CREDIT_NOTES, new_invoice(customer, account, cls=CreditNote, status="approved"),
                                       idempotency_key="cn-1")
            changed = await client.update(Entity.CREDIT_NOTES, made.model_copy(update={"reference": "Refund"}))
            listed = await everything(client, Entity.CREDIT_NOTES)
            await client.delete(Entity.CREDIT_NOTES, changed.remote_id)
            return made, changed, listed, await client.get(Entity.CREDIT_NOTES, changed.remote_id)

    made, changed, listed, deleted = run(go())
    assert isinstance(made, CreditNote) and made.number.startswith("SCN-")
    assert changed.previous_remote_id == made.remote_id and changed.reference == "Refund"
    assert [c.remote_id for c in listed] == [changed.remote_id]
    assert deleted.status is DocumentStatus.VOID


def test_bank_accounts_create_read_update_delete(connect, sandbox):
    async def go():
        async with connect(TINY) as client:
            made = await client.create(Entity.BANK_ACCOUNTS, BankAccount(
                name="Savings", account_number="12345678", sort_code="12-34-56"), idempotency_key="b1")
            read = await client.get(Entity.BANK_ACCOUNTS, made.remote_id)
            renamed = await client.update(Entity.BANK_ACCOUNTS, read.model_copy(update={"name": "Reserve"}))
            code = await client.get(Entity.ACCOUNTS, renamed.account_code)
            await client.delete(Entity.BANK_ACCOUNTS, made.remote_id)
            with pytest.raises(NotFound):
                await client.get(Entity.BANK_ACCOUNTS, made.remote_id)
            return made, read, renamed, code

    made, read, renamed, code = run(go())
    assert read == made and made.balance == 0 and made.sort_code == "12-34-56"  # read from a one-element array
    assert renamed.name == "Reserve" == code.name and code.classification is Classification.ASSET


def test_payments_create_update_delete(connect, sandbox):
    customer = str(store(sandbox, TINY, "customers")[2]["id"])
    bank = str(store(sandbox, TINY, "bankAccounts")[0]["id"])

    async def go():
        async with connect(TINY) as client:
            made = await client.create(Entity.PAYMENTS, Payment(
                party_remote_id=customer, bank_account_remote_id=bank, date=dt.date(2026, 10, 2),
                amount=Decimal("125.40"), reference="Deposit"), idempotency_key="p1")
            changed = await client.update(Entity.PAYMENTS, made.model_copy(update={"amount": Decimal("99.99")}))
            paid_out = await client.create(Entity.PAYMENTS, Payment(
                direction="paid", party_remote_id=customer, bank_account_remote_id=bank, date=dt.date(2026, 10, 3),
                amount=Decimal("5.00")), idempotency_key="p2")
            await client.delete(Entity.PAYMENTS, made.remote_id)
            await client.delete(Entity.PAYMENTS, paid_out.remote_id)
            return made, changed, paid_out

    made, changed, paid_out = run(go())
    assert made.amount == Decimal("125.40") and made.reference == "Deposit" and made.direction == "received"
    assert changed.remote_id == made.remote_id and changed.amount == Decimal("99.99")
    assert paid_out.direction == "paid" and paid_out.amount == Decimal("5.00") and paid_out.reference == "Payment"
    assert sandbox.books.get(TINY, "payments", int(made.remote_id)) is None


def test_account_codes_create_update_delete(connect, sandbox):
    async def go():
        async with connect(TINY) as client:
            made = await client.create(Entity.ACCOUNTS, Account(code="new", name="Software subscriptions",
                                                                classification="expense"), idempotency_key="a1")
            income = await client.create(Entity.ACCOUNTS, Account(code="1002", name="Grants",
                                                                  classification="revenue"), idempotency_key="a2")
            renamed = await client.update(Entity.ACCOUNTS, made.model_copy(update={"name": "Software"}))
            await client.delete(Entity.ACCOUNTS, made.remote_id)
            await client.delete(Entity.ACCOUNTS, income.remote_id)
            return made, income, renamed

    made, income, renamed = run(go())
    assert made.code.startswith("2005") and made.classification is Classification.EXPENSE
    assert income.code.startswith("1002") and income.classification is Classification.REVENUE
    assert renamed.code == made.code and renamed.name == "Software"


def test_bank_statement_lines_are_sent_once_per_key(connect, sandbox):
    bank = str(store(sandbox, TINY, "bankAccounts")[0]["id"])
    line = BankTransaction(bank_account_remote_id=bank, date=dt.date(2026, 10, 5), description="Card payment",
                           reference="REF1", amount=Decimal("-12.50"))

    async def go():
        async with connect(TINY) as client:
            first = await client.create(Entity.BANK_TRANSACTIONS, line, idempotency_key="stmt-1")
            again = await client.create(Entity.BANK_TRANSACTIONS, line, idempotency_key="stmt-1")
            return first, again, await client.find_created(Entity.BANK_TRANSACTIONS, "stmt-1")

    first, again, found = run(go())
    assert first.remote_id == again.remote_id == "stmt-1" and found is None
    statements = sandbox.store.all(TINY, "bankStatements")
    sent = [item for s in statements for item in s["lines"] if item["transactionId"] == "stmt-1"]
    assert sent == [{"transactionId": "stmt-1", "transactionDate": "2026-10-05",
                     "description": "Card payment (REF1)", "amount": Decimal("-12.50")}]


def test_a_ledger_line_can_be_read_alone(listed, connect):
    line = listed[Entity.LEDGER_LINES][12345]

    async def go():
        async with connect(MEDIUM) as client:
            return await client.get(Entity.LEDGER_LINES, line.remote_id)

    assert run(go()) == line


def test_reports_are_worked_out_from_the_balances(connect, sandbox):
    async def go():
        async with connect(SMALL) as client:
            return [await client.report(ReportRequest(kind, date_from=dt.date(2025, 1, 1),
                                                      date_to=dt.date(2025, 12, 31)))
                    for kind in ("profit_loss", "balance_sheet", "trial_balance")]

    pl, bs, tb = run(go())
    ledger = sandbox.books.ledger(SMALL)
    in_year = ledger.balances("2025-01-01", "2025-12-31")
    income = -sum(p for a, p in in_year.items() if str(a)[0] == "1")
    expenses = sum(p for a, p in in_year.items() if str(a)[0] == "2")
    assert pl["totals"] == {"income": Decimal(income).scaleb(-2), "expenses": Decimal(expenses).scaleb(-2),
                            "net_profit": Decimal(income - expenses).scaleb(-2)}
    assert bs["totals"]["balanced"] and tb["totals"]["balanced"] and tb["totals"]["debit"] > 0
    to_date = ledger.balances("1900-01-01", "2025-12-31")
    assert {r["account_code"]: r["balance"] for r in tb["rows"]} == {
        str(a): Decimal(p).scaleb(-2) for a, p in to_date.items()}


# --- idempotency keys and unknown outcomes ---------------------------------------------------------------------

def test_find_created_finds_a_create_by_its_key(connect, sandbox):
    customer = str(store(sandbox, TINY, "customers")[3]["id"])
    account = account_of(sandbox, TINY, 1001)
    record = new_customer()

    async def go():
        async with connect(TINY) as client:
            invoice = await client.create(Entity.INVOICES, new_invoice(customer, account), idempotency_key="k-inv")
            made = await client.create(Entity.CUSTOMERS, record, idempotency_key="k-cus")
            found = (await client.find_created(Entity.INVOICES, "k-inv"),
                     await client.find_created(Entity.INVOICES, "k-none"),
                     await client.find_created(Entity.CUSTOMERS, "k-cus"))
        async with connect(TINY) as restarted:  # no memory of the create: the record is passed
            later = await restarted.find_created(Entity.CUSTOMERS, "k-cus", record=record)
            with pytest.raises(ProviderError, match="pass the record"):
                await restarted.find_created(Entity.CUSTOMERS, "k-cus")
        return invoice, made, found, later

    invoice, made, (found_invoice, nothing, found_customer), later = run(go())
    assert found_invoice == invoice and nothing is None
    assert found_customer == made == later


@pytest.mark.parametrize("entity", [Entity.CUSTOMERS, Entity.INVOICES, Entity.PAYMENTS])
def test_a_create_whose_answer_is_lost_is_not_duplicated(connect, sandbox, entity):
    customer = str(store(sandbox, TINY, "customers")[4]["id"])
    bank = str(store(sandbox, TINY, "bankAccounts")[0]["id"])
    record = {Entity.CUSTOMERS: new_customer(),
              Entity.INVOICES: new_invoice(customer, account_of(sandbox, TINY, 1001)),
              Entity.PAYMENTS: Payment(party_remote_id=customer, bank_account_remote_id=bank,
                                       date=dt.date(2026, 10, 9), amount=Decimal("77.70"),
                                       reference=f"Lost {uuid.uuid4().hex[:6]}")}[entity]
    collection = {Entity.CUSTOMERS: "customers", Entity.INVOICES: "sales:invoices",
                  Entity.PAYMENTS: "payments"}[entity]
    before = sandbox.store.count(TINY, collection)
    key = uuid.uuid4().hex

    async def go():
        async with connect(TINY) as client:
            sandbox.stack.faults.settings.update(drop_after_rate=1.0)
            with pytest.raises(UnknownOutcome):
                await client.create(entity, record, idempotency_key=key)
            sandbox.stack.faults.settings.update(drop_after_rate=0.0)
            found = await client.find_created(entity, key)
            if found is None:
                found = await client.create(entity, record, idempotency_key=key)
            return found

    found = run(go())
    assert found is not None and found.remote_id
    assert sandbox.store.count(TINY, collection) == before + 1


# --- faults ----------------------------------------------------------------------------------------------------

def test_a_full_list_completes_under_faults(connect, sandbox):
    async def listing():
        async with connect(SMALL) as client:
            found = {entity: await everything(client, entity, page_size=20)
                     for entity in (Entity.CUSTOMERS, Entity.INVOICES, Entity.PAYMENTS)}
            return found, client.http.stats

    clean, _ = run(listing())
    sandbox.stack.faults.reseed(20260)
    sandbox.stack.faults.settings.update(error_rate=0.2, drop_before_rate=0.05, drop_after_rate=0.05,
                                         throttle_rate=0.1)
    faulted, stats = run(listing())
    for entity, records in clean.items():
        assert [(r.remote_id, r.payload_hash) for r in faulted[entity]] == \
            [(r.remote_id, r.payload_hash) for r in records]
    assert stats.retries >= 5 and sum(sandbox.stack.faults.injected.values()) >= 5


# --- each documented error, typed, in the service's words -------------------------------------------------------

def error_of(connect, action, business: str = TINY, **options) -> ProviderError:
    async def go():
        async with connect(business, **options) as client:
            with pytest.raises(ProviderError) as caught:
                await action(client)
            return caught.value
    return run(go())


def test_validation_errors_are_the_services_words(connect, sandbox):
    customer = str(store(sandbox, TINY, "customers")[0]["id"])
    bad = new_invoice(customer, "9999999")
    error = error_of(connect, lambda c: c.create(Entity.INVOICES, bad, idempotency_key="x"))
    assert type(error) is ValidationError and error.status == 400
    assert error.message == "lineItems[0].accountCode: there is no account code 9999999; " \
                            "lineItems[1].accountCode: there is no account code 9999999"
    assert error.detail[0] == {"errorCode": "validationError",
                               "errorMessage": "lineItems[0].accountCode: there is no account code 9999999"}
    euro = new_invoice(customer, account_of(sandbox, TINY, 1001), currency="EUR", exchange_rate=Decimal("1.17"))
    error = error_of(connect, lambda c: c.create(Entity.INVOICES, euro, idempotency_key="y"))
    assert type(error) is ValidationError and error.message == "The currency EUR is not enabled for this business"
    error = error_of(connect, lambda c: c._call("GET", "/accounting/customers", params={"limit": 201}))
    assert type(error) is ValidationError and error.message == "limit must be between 1 and 200"


def test_not_found_and_state_conflicts(connect, sandbox):
    error = error_of(connect, lambda c: c.get(Entity.INVOICES, "99999999"))
    assert type(error) is NotFound and error.message == "Sales invoice 99999999 was not found"
    busy = next(c["id"] for c in store(sandbox, SMALL, "customers")
                if c["id"] in sandbox.books.values(SMALL, "sales:invoices", "customerId").values())
    error = error_of(connect, lambda c: c.delete(Entity.CUSTOMERS, str(busy)), SMALL)
    assert type(error) is Conflict
    assert error.message == f"Customer {busy} cannot be deleted: it has sales invoices; archive it instead"
    voided = next(str(d["id"]) for d in store(sandbox, SMALL, "sales:invoices") if d["status"] == "voided")
    error = error_of(connect, lambda c: c.delete(Entity.INVOICES, voided), SMALL)
    assert type(error) is Conflict and error.message == f"Sales invoice {voided} is void and cannot be changed"

    async def back_to_draft(client):
        approved = next(str(d["id"]) for d in store(sandbox, SMALL, "sales:invoices") if d["status"] == "approved")
        current = await client.get(Entity.INVOICES, approved)
        await client.update(Entity.INVOICES, current.model_copy(update={"status": "draft"}))

    error = error_of(connect, back_to_draft, SMALL)
    assert type(error) is Conflict and error.message == "An approved sales invoice cannot return to draft"


def test_allocated_documents_and_payments_refuse_changes(connect, sandbox):
    allocations = store(sandbox, SMALL, "allocations:sales")
    allocated = allocations[0]
    partly = next(a for a in allocations if sandbox.books.get(SMALL, "sales:invoices", a["invoiceId"])["status"]
                  == "approved")

    async def cheaper(client):
        current = await client.get(Entity.INVOICES, str(partly["invoiceId"]))
        line = current.lines[0].model_copy(update={"unit_price": Decimal("0.01"), "quantity": Decimal(1),
                                                   "vat_amount": None})
        await client.update(Entity.INVOICES, current.model_copy(update={"lines": [line]}))

    error = error_of(connect, cheaper, SMALL)
    assert type(error) is Conflict and error.detail[0]["errorCode"] == "allocationsExceedTotal"

    async def moved(client):
        current = await client.get(Entity.INVOICES, str(partly["invoiceId"]))
        other = next(str(c["id"]) for c in store(sandbox, SMALL, "customers")
                     if str(c["id"]) != current.customer_remote_id)
        await client.update(Entity.INVOICES, current.model_copy(update={"customer_remote_id": other}))

    error = error_of(connect, moved, SMALL)
    assert type(error) is Conflict and error.message == (
        f"Sales invoice {partly['invoiceId']} has allocations, so its customerId cannot change")

    async def smaller(client):
        current = await client.get(Entity.PAYMENTS, str(allocated["paymentId"]))
        await client.update(Entity.PAYMENTS, current.model_copy(update={"amount": Decimal("0.01")}))

    error = error_of(connect, smaller, SMALL)
    assert type(error) is Conflict and error.message == (
        f"Payment {allocated['paymentId']} has {allocated['amount']} allocated: its amount cannot be less than "
        "that or change direction")


def test_authorisation_and_business_errors(connect):
    error = error_of(connect, lambda c: c.get(Entity.CUSTOMERS, "1"), access_token="not-a-real-token")
    assert type(error) is AuthError and error.message == "The access token is invalid"
    error = error_of(connect, lambda c: c.get(Entity.CUSTOMERS, "1"), business="999999")
    assert type(error) is PermissionDenied and error.message == "This authorisation does not cover business 999999"
    assert error.permission == "access to this business"
    error = error_of(connect, lambda c: c.get(Entity.CUSTOMERS, "1"), business="abc")
    assert type(error) is ValidationError and error.message == "X-Business-ID must be the numeric ID of a business"


def test_unsupported_operations_say_why(connect):
    error = error_of(connect, lambda c: c.get(Entity.BANK_TRANSACTIONS, "1"))
    assert type(error) is ProviderError and "bank statement lines" in error.message
    error = error_of(connect, lambda c: c.report(ReportRequest("aged_receivables")))
    assert "from the invoices" in error.message
