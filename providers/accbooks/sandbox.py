"""AccBooks sandbox: the REST API of ``https://api.accbooks.co.uk/v1/`` for three demo companies.

What the document says, emulated: Bearer API keys scoped to one company with the permission table
(transactions, invoices, contacts, reports, journals, bank_accounts, company; read and write); HTTPS only;
``GET /v1/transactions?from=&to=&account_id=``; ``POST /v1/invoices`` with ``customer_id``, ``date``,
``due_date``, ``line_items[{description, quantity, unit_price, vat_rate, nominal_code}]``;
``GET /v1/reports/profit-loss?from=&to=&format=json`` (and balance-sheet, trial-balance); Starter 60/min +
10,000/day and Pro 300/min + 100,000/day; ``X-RateLimit-Limit/Remaining/Reset`` on every response;
``?page=&per_page=`` with ``{"data": [...], "meta": {"current_page", "total_pages", "total_records"}}``.

Where the document is silent, these are the choices (the client relies on them):

Wire and errors
- Paths: ``/v1/transactions`` (+ ``/{id}``), ``/v1/invoices`` (GET, POST; ``/{id}`` GET, PUT, DELETE),
  ``/v1/contacts`` (GET, POST; ``/{id}`` GET, PUT), ``/v1/journals`` (GET, POST; ``/{id}`` GET),
  ``/v1/bank_accounts`` (+ ``/{id}``), ``/v1/company``, ``/v1/reports/{profit-loss|balance-sheet|trial-balance}``.
  Writing transactions is in the permission table but has no documented body: not offered (405).
- Every error body is ``{"error": <code>, "message": <sentence>}`` (see ``errors.py``): plain HTTP 403
  ``https_required`` "HTTPS is required"; no or unknown key 401 ``unauthorized`` (with ``WWW-Authenticate:
  Bearer``); missing permission 403 ``forbidden``, message "This API key does not have the invoices:write
  permission" plus ``"permission": "invoices:write"``; 429 ``rate_limit_exceeded`` with ``Retry-After``;
  404 ``not_found``; 405 ``method_not_allowed`` (with ``Allow``); 400 ``invalid_json`` (body not a JSON
  object); 409 ``conflict`` (an invoice with payments, or a void one); 422 ``validation_failed`` with
  ``"errors": [{"field": "line_items[0].quantity", "message": "must be a number"}, ...]``, every problem
  at once; 500 ``internal_error`` if the sandbox itself fails. Checks run in this order: HTTPS, key,
  rate limit, route (404/405), permission, body.
- Plain HTTP is detected from the ASGI scheme, or ``X-Forwarded-Proto`` when a proxy sends it; it is
  allowed only when the sandbox is told it is on loopback (``options.loopback``).
- Ids are strings with a prefix: ``comp_…``, ``cust_N`` (customers) / ``supp_N`` (suppliers, one counter),
  ``inv_N``, ``jnl_N``, ``ba_N``; ledger lines ``txn_<source id>_<n>`` (``txn_inv_12_2``). Ids are never
  reused. Invoice numbers ``INV-000001`` are given by the service, in sequence.
- Money is a JSON number with two decimals (quantities and unit prices as sent, up to 4 decimals; either
  may be negative, for a refund or discount line). Numeric strings (``"2500.00"``) are accepted too.
  ``vat_rate`` is one of ``"20"``, ``"5"``, ``"0"``, ``"exempt"`` (numbers 20/5/0 are accepted and written
  back as those strings). A line may carry ``discount_percent`` (0-100, default 0).
- Timestamps ``created_at``/``updated_at`` are UTC ``YYYY-MM-DDTHH:MM:SSZ``; dates ``YYYY-MM-DD``.

Lists
- ``per_page`` defaults to 25, at most 100 (a larger value is lowered to 100, not refused); ``page`` from 1.
  A page past the end is 200 with ``"data": []``. No records: ``total_pages`` is 0. ``page``/``per_page``
  that are not whole numbers of 1 or more: 422. Order: invoices, contacts, journals and bank accounts in
  creation order (an edit keeps the place); transactions by date, then posting, then line.
- ``/v1/transactions`` lists ledger lines: ``{id, date, account_id, account_name, description, reference,
  debit, credit, source_type, source_id}``, ``source_type`` one of ``invoice``, ``receipt``, ``payment``,
  ``journal``. ``account_id`` is the nominal code (the chart has 1100 debtors, 1200/1210 bank, 2200 VAT,
  3000/3100 equity, 4000-4020 sales, 5000 and 6xxx costs); a code with no lines lists nothing.
  ``from``/``to`` are inclusive dates; a malformed date, or ``to`` before ``from``, is a 422.

Invoices
- Status is ``draft``, ``sent``, ``paid`` or ``void``; a part-paid invoice stays ``sent`` with
  ``totals.amount_paid`` > 0. ``overdue`` is not a stored status: ``due_date`` < today and ``amount_due`` > 0.
- Response: ``{id, number, customer_id, date, due_date, reference, currency, status, line_items[{description,
  quantity, unit_price, discount_percent, vat_rate, nominal_code, net, vat, total}], totals{net, vat, total,
  amount_paid, amount_due}, created_at, updated_at}``. Per line: net = quantity x unit_price (less the
  discount) rounded half-up to the penny; VAT = net x rate rounded half-up; totals are sums of the lines.
- POST: ``customer_id`` (a customer of this company), ``date`` and ``line_items`` (1-250) are required;
  ``due_date`` defaults to date + 30 days and may not be earlier than ``date``; ``status`` may be ``"draft"``
  or ``"sent"`` (default ``"sent"``); ``currency``, if sent, must be the company's; ``nominal_code`` must be
  a sales account (4xxx). Answer 201 with the invoice and ``Location``.
- A ``sent`` invoice is posted to the ledger at once (debtors 1100 debit gross; sales accounts credit net;
  VAT control 2200 credit VAT), so reports include it; a draft is not posted.
- PUT changes only the fields present (``line_items`` replaces all lines); read-only fields sent back
  (``id``, ``number``, ``totals``, line ``net``/``vat``/``total``...) are ignored. ``status`` may move between
  draft and sent. An invoice with payments (paid or part-paid) answers 409 to PUT and DELETE; a void one
  answers 409 to PUT. DELETE of anything else removes it and its ledger lines: 204, no body.
- Unknown fields in any write body are a 422 (a misspelt field is never silently dropped).

Contacts
- ``{id, type ("customer"|"supplier"), name, contact_name, email, phone, address{line1, line2, town, county,
  postcode, country}, vat_number, company_number, currency, archived, created_at, updated_at}``; absent
  values are ``null``. POST needs ``name``; PUT changes the fields present; ``type`` cannot change. No
  DELETE (the permission table lists none).

Journals
- POST ``{date, reference?, description?, lines: [{nominal_code, debit | credit, description?}]}``: at
  least two lines, each with either a debit or a credit (>= 0, two decimals), debits = credits (else 422
  on ``lines``). Answer 201 ``{id, date, reference, description, lines[{nominal_code, account_name,
  description, debit, credit}], total, created_at}``. Journals cannot be changed or deleted. Each demo
  company has ``jnl_1``, its opening balance.

Bank accounts, company, reports
- Bank account: ``{id, name, type, nominal_code, account_number, sort_code, iban, currency, balance}``;
  ``balance`` is the ledger balance of its nominal code (so a journal to 1200 moves it).
- Company: ``{id, name, legal_name, business_type, company_number, vat_number, currency, country,
  financial_year_end ("MM-DD"), plan ("starter"|"pro"), address, created_at}``.
- Reports: ``to`` defaults to today, ``from`` to the start of the financial year holding ``to``;
  ``format`` must be ``json``. Profit and loss for [from, to]; the balance sheet as at ``to`` with
  ``current_year_profit`` = profit for [from, to] and earlier profit in retained earnings; the trial
  balance as at ``to`` with income and expense accounts for [from, to] (earlier profit in retained
  earnings), so debits = credits. Accounts with nothing on them are left out. A section is
  ``{"accounts": [{"account_id", "name", "amount"}], "total"}``, amounts positive on their natural side.
  profit-loss: ``{company_id, report, from, to, currency, income, cost_of_sales (5xxx), gross_profit,
  expenses, net_profit}``; balance-sheet: ``{company_id, report, as_at, from, currency, assets, liabilities,
  net_assets, equity (+ "current_year_profit", inside its total), total_liabilities_and_equity}``;
  trial-balance: ``{company_id, report, from, to, currency, accounts: [{account_id, name, type, debit,
  credit}], totals: {debit, credit}}``.

Keys and limits
- Keys look like ``acb_`` + 40 hex digits, derived from the seed; ``credentials()`` lists them: one
  read-write key per company (``api_key:<company id>``, and ``api_key`` for the first), plus a read-only
  key (``read_only_api_key``) and a custom key (``custom_api_key``: contacts read+write, invoices read,
  transactions read) on the first company. ``Sandbox.create_api_key`` makes more (tests).
- Plans: the sole trader and the small firm are on Starter, the wholesaler on Pro.
  ``options.extra["rate_limits"] = {"starter": {"per_minute": 5, "per_day": 20}}`` overrides a plan.
  Fixed windows (clock minute, UTC day), counted per key; see ``gate.py`` for the header rules. With
  ``options.throttle`` false the headers are still sent but nothing is refused. ``Sandbox.clock`` (epoch
  seconds) may be replaced to move the windows in tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import ClassVar

from starlette.applications import Starlette
from starlette.middleware import Middleware

from app.domain.documents import DocumentStatus
from app.domain.generate import DemoCompany
from providers.accbooks.api import (
    BANK_ACCOUNTS,
    CONTACTS,
    INVOICES,
    JOURNALS,
    Api,
    journal_doc,
    method_not_allowed_handler,
    not_found_handler,
)
from providers.accbooks.gate import Gate, Plan, RateLimiter, plans_with
from providers.accbooks.invoices import invoice_posting
from providers.accbooks.keys import DEMO_CUSTOM, GLOBAL, READ_ONLY, READ_WRITE, KeyRing, demo_key
from providers.accbooks.ledger import Ledger
from providers.accbooks.sql import insert_texts
from providers.accbooks.wire import (
    blank_to_none,
    build_invoice,
    build_line,
    contact_doc,
    invoice_json,
    vat_rate_of,
)
from providers.decimal_json import dumps, loads
from providers.sandbox.base import ProviderSandbox, SandboxOptions

COMPANIES = "companies"
ACCOUNTS = "accounts"
_CREDENTIALS = "accbooks:credentials"
_STATUS = {DocumentStatus.DRAFT: "draft", DocumentStatus.APPROVED: "sent", DocumentStatus.POSTED: "sent",
           DocumentStatus.PAID: "paid", DocumentStatus.VOID: "void"}
_BATCH = 5_000

# (business type, legal name, company number, VAT number, year end, plan, address) per demo company.
_PROFILES = (
    ("sole_trader", "Eleanor Marsh", None, None, "03-31", "starter",
     {"line1": "Unit 4, Tannery Yard", "line2": "Walcot Street", "town": "Bath", "county": "Somerset",
      "postcode": "BA1 5BG", "country": "GB"}),
    ("llp", "Calder & Rowe Surveyors LLP", "OC412877", "GB284610937", "03-31", "starter",
     {"line1": "2nd Floor, 18 Northgate", "line2": None, "town": "Halifax", "county": "West Yorkshire",
      "postcode": "HX1 1UN", "country": "GB"}),
    ("limited_company", "Severnside Trade Supplies Ltd", "09318842", "GB219553074", "12-31", "pro",
     {"line1": "Avonmouth Way Trade Park", "line2": "Unit 11", "town": "Bristol", "county": None,
      "postcode": "BS11 8DD", "country": "GB"}),
)


class Sandbox(ProviderSandbox):
    provider = "accbooks"
    company_names: ClassVar[tuple[str, str, str]] = (
        "Eleanor Marsh Bookbinding", "Calder & Rowe Surveyors LLP", "Severnside Trade Supplies Ltd")

    def __init__(self, options: SandboxOptions | None = None):
        options = options or SandboxOptions()
        self.clock = time.time  # tests may replace it to move the rate-limit windows
        self.keys: KeyRing | None = None
        self.ledger: Ledger | None = None
        self._companies: dict[str, dict] = {}
        self._charts: dict[str, dict[str, tuple[str, str]]] = {}
        self.plans = plans_with(options.extra.get("rate_limits"))
        self.limiter = RateLimiter(lambda: self.clock())
        super().__init__(options)

    # --- lazily bound to the store the base class opens ---------------------------------------------
    def _ready(self) -> None:
        if self.ledger is None:
            self.ledger = Ledger(self.store)
            self.keys = KeyRing(self.store)

    def company_id(self, index: int) -> str:
        return "comp_" + hashlib.blake2b(f"accbooks:{self.options.seed}:{index}".encode(),
                                         digest_size=4).hexdigest()

    def company(self, company_id: str) -> dict:
        found = self._companies.get(company_id)
        if found is None:
            found = self._companies[company_id] = self.store.get(GLOBAL, COMPANIES, company_id)
        return found

    def chart(self, company_id: str) -> dict[str, tuple[str, str]]:
        """Nominal code -> (name, classification)."""
        found = self._charts.get(company_id)
        if found is None:
            found = self._charts[company_id] = {doc["id"]: (doc["name"], doc["type"])
                                                for doc in self.store.all(company_id, ACCOUNTS)}
        return found

    def account_names(self, company_id: str) -> dict[str, str]:
        return {code: name for code, (name, _kind) in self.chart(company_id).items()}

    def sales_codes(self, company_id: str) -> set[str]:
        return {code for code, (_name, kind) in self.chart(company_id).items() if kind == "revenue"}

    def plan_of(self, company_id: str) -> Plan:
        info = self.company(company_id) if company_id else None
        return self.plans[info["plan"] if info else "starter"]

    # --- ProviderSandbox ----------------------------------------------------------------------------
    def app(self) -> Starlette:
        self._ready()
        return Starlette(
            routes=Api(self).routes(),
            middleware=[Middleware(Gate, keys=self.keys, plan_of=self.plan_of, limiter=self.limiter,
                                   loopback=self.options.loopback, throttle=self.options.throttle)],
            exception_handlers={404: not_found_handler, 405: method_not_allowed_handler})

    def credentials(self) -> dict[str, str]:
        return loads(self.store.setting(_CREDENTIALS, "{}"))

    def companies(self) -> list[dict[str, str]]:
        return [{"id": doc["id"], "name": doc["name"]} for doc in self.store.all(GLOBAL, COMPANIES)]

    def create_api_key(self, company_id: str, permissions: tuple[str, ...] | list[str],
                       name: str = "Test key") -> str:
        """A new key for ``company_id`` (what Settings -> API -> Create key does); returns its text."""
        self._ready()
        key = "acb_" + hashlib.blake2b(f"{company_id}:{name}:{time.time_ns()}".encode(), digest_size=20).hexdigest()
        self.keys.add(key, name, company_id, permissions)
        return key

    def revoke_api_key(self, key: str) -> bool:
        self._ready()
        return self.keys.revoke(key)

    # --- seeding ------------------------------------------------------------------------------------
    def seed_company(self, company: DemoCompany) -> None:
        self._ready()
        index = self.company_names.index(company.name)
        cid = self.company_id(index)
        kind, legal, number, vat, year_end, plan, address = _PROFILES[index]
        self.store.put(GLOBAL, COMPANIES, cid, {
            "id": cid, "name": company.name, "legal_name": legal, "business_type": kind, "company_number": number,
            "vat_number": vat, "currency": company.currency, "country": "GB", "financial_year_end": year_end,
            "plan": plan, "address": address, "created_at": f"{company.as_of - dt.timedelta(days=800)}T09:00:00Z"})
        self.store.put_many(cid, ACCOUNTS, ((a.code, {"id": a.code, "name": a.name, "type": str(a.classification)},
                                             "") for a in company.accounts()))
        self._seed_contacts(cid, company)
        self._seed_bank_accounts(cid, company)
        names = self.account_names(cid)
        opening = company.as_of - dt.timedelta(days=760)
        self.store.put(cid, JOURNALS, "jnl_1", journal_doc(
            "jnl_1", opening.isoformat(), "OB", "Opening balance",
            [("1200", Decimal(25000), "Capital introduced"), ("3000", Decimal(-25000), "Capital introduced")],
            names, f"{opening}T09:00:00Z"))
        self.ledger.seed(cid, self._postings(cid, company, opening), names)
        self.store.set_counter(f"{cid}:jnl", 1)
        self._seed_keys(cid, index)

    def _seed_contacts(self, cid: str, company: DemoCompany) -> None:
        since = f"{company.as_of - dt.timedelta(days=790)}T09:00:00Z"
        count = 0

        def docs():
            nonlocal count
            for customer in company.customers():
                count += 1
                a = customer.address
                contact_id = f"cust_{customer.remote_id}"
                yield contact_id, contact_doc(
                    contact_id, "customer", customer.name, blank_to_none(customer.contact_name),
                    blank_to_none(customer.email), blank_to_none(customer.phone),
                    {"line1": blank_to_none(a.line1), "line2": blank_to_none(a.line2), "town": blank_to_none(a.town),
                     "county": blank_to_none(a.region), "postcode": blank_to_none(a.postcode),
                     "country": blank_to_none(a.country)},
                    blank_to_none(customer.vat_number), blank_to_none(customer.company_number), customer.currency,
                    customer.archived, since, since), since

        self.store.put_many(cid, CONTACTS, docs())
        self.store.set_counter(f"{cid}:contact", count)

    def _seed_bank_accounts(self, cid: str, company: DemoCompany) -> None:
        # ``bank_accounts()`` walks every invoice again to work out balances, which the sandbox takes from its
        # own ledger anyway; a one-invoice twin (same name and seed) draws the same names and numbers.
        twin = DemoCompany(company.name, 1, seed=company.seed, currency=company.currency, as_of=company.as_of,
                           id_offset=company.id_offset)
        self.store.put_many(cid, BANK_ACCOUNTS, (
            (f"ba_{n}", {"id": f"ba_{n}", "name": bank.name, "type": "current" if n == 1 else "savings",
                         "nominal_code": bank.account_code, "account_number": bank.account_number,
                         "sort_code": bank.sort_code, "iban": blank_to_none(bank.iban), "currency": bank.currency},
             "")
            for n, bank in enumerate(twin.bank_accounts(), start=1)))

    def _postings(self, cid: str, company: DemoCompany, opening: dt.date) -> Iterator[tuple]:
        """Every posting of the company in the generator's double entry, writing invoices on the way:
        the generator is walked once, because walking it is most of the cost of a big company."""
        yield "journal", "jnl_1", opening.isoformat(), "OB", [
            ("1200", Decimal(25000), "Opening balance"), ("3000", Decimal(-25000), "Opening balance")]
        rows: list[tuple[str, str, str]] = []
        count = 0
        for invoice in company.invoices():
            count += 1
            invoice_id = f"inv_{invoice.remote_id}"
            stamp = f"{invoice.date}T09:00:00Z"
            doc = build_invoice(
                invoice_id, invoice.number, f"cust_{invoice.customer_remote_id}", invoice.date.isoformat(),
                invoice.due_date.isoformat(), blank_to_none(invoice.reference), invoice.currency,
                _STATUS[invoice.status],
                [build_line(line.description, line.quantity, line.unit_price, line.discount_percent,
                            vat_rate_of(line.vat_rate_key), line.account_code) for line in invoice.lines],
                invoice.amount_paid, stamp, stamp)
            rows.append((invoice_id, stamp, invoice_json(doc)))
            if len(rows) >= _BATCH:
                insert_texts(self.store, cid, INVOICES, rows)
                rows = []
            if doc["status"] in ("sent", "paid"):
                yield "invoice", invoice_id, doc["date"], invoice.number, invoice_posting(doc)
            if invoice.amount_paid > 0:
                # The generator's own rule for when a customer paid (payments() would walk it again).
                paid_on = company._paid_on(invoice).isoformat()
                text = f"Receipt {invoice.number}"
                yield "receipt", f"rcpt_{invoice.remote_id}", paid_on, invoice.number, [
                    ("1200", invoice.amount_paid, text), ("1100", -invoice.amount_paid, text)]
        if rows:
            insert_texts(self.store, cid, INVOICES, rows)
        self.store.set_counter(f"{cid}:inv", count)
        self.store.set_counter(f"{cid}:invoice_number", count)
        for n, (day, description, account, amount) in enumerate(company.expenses(), start=1):
            yield "payment", f"pay_{n}", day.isoformat(), None, [
                (account, amount, description), ("1200", -amount, description)]

    def _seed_keys(self, cid: str, index: int) -> None:
        seed = self.options.seed
        credentials = self.credentials()
        key = demo_key(seed, index, "read-write")
        self.keys.add(key, "Demo integration (read-write)", cid, READ_WRITE)
        credentials[f"api_key:{cid}"] = key
        if index == 0:
            credentials["api_key"] = key
            read_only = demo_key(seed, index, "read-only")
            self.keys.add(read_only, "Dashboard (read-only)", cid, READ_ONLY)
            custom = demo_key(seed, index, "custom")
            self.keys.add(custom, "Invoicing add-on (custom)", cid, DEMO_CUSTOM)
            credentials["read_only_api_key"] = read_only
            credentials["custom_api_key"] = custom
        self.store.set_setting(_CREDENTIALS, dumps(credentials))
