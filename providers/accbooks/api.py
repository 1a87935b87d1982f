"""The ``/v1`` endpoints. Each handler runs after the gate (HTTPS, key, rate limit) and checks its own
permission, so an unknown path or method answers 404/405 before a permission is asked for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from providers.accbooks import sql
from providers.accbooks import validation as check
from providers.accbooks.errors import (
    Invalid,
    error,
    forbidden,
    invalid,
    json_response,
    not_found,
    text_response,
)
from providers.accbooks.invoices import invoice_fields, invoice_posting, locked
from providers.accbooks.ledger import Ledger
from providers.accbooks.reports import BUILDERS, year_start
from providers.accbooks.wire import (
    ZERO,
    address_doc,
    blank_to_none,
    build_invoice,
    contact_doc,
    invoice_json,
    utc_stamp,
)
from providers.decimal_json import JSONDecodeError, dumps, loads

if TYPE_CHECKING:
    from providers.accbooks.sandbox import Sandbox

PER_PAGE_DEFAULT = 25
PER_PAGE_MAX = 100
INVOICES, CONTACTS, JOURNALS, BANK_ACCOUNTS = "invoices", "contacts", "journals", "bank_accounts"

Handler = Callable[..., Awaitable[Response]]  # (api, request, company id)


class BadBody(Exception):
    pass


def needs(permission: str) -> Callable[[Handler], Handler]:
    def wrap(handler: Handler):
        async def run(self, request: Request) -> Response:
            key = request.state.key
            if not key.allows(permission):
                return forbidden(permission)
            try:
                return await handler(self, request, key.company_id)
            except Invalid as problems:
                return invalid(problems.problems)
            except BadBody as why:
                return error(400, "invalid_json", str(why))
        return run
    return wrap


async def json_body(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        raise BadBody("The request body is empty; send a JSON object")
    try:
        body = loads(raw)
    except JSONDecodeError:
        raise BadBody("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadBody("The request body must be a JSON object")
    return body


def page_text(texts: list[str], page: int, per_page: int, total: int) -> Response:
    pages = -(-total // per_page)
    return text_response(f'{{"data":[{",".join(texts)}],"meta":{{"current_page":{page},'
                         f'"total_pages":{pages},"total_records":{total}}}}}')


class Api:
    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.store = sandbox.store
        self.ledger: Ledger = sandbox.ledger

    def routes(self) -> list[Route]:
        return [
            Route("/v1/transactions", self.list_transactions, methods=["GET"]),
            Route("/v1/transactions/{item_id}", self.get_transaction, methods=["GET"]),
            Route("/v1/invoices", self.list_invoices, methods=["GET"]),
            Route("/v1/invoices", self.create_invoice, methods=["POST"]),
            Route("/v1/invoices/{item_id}", self.get_invoice, methods=["GET"]),
            Route("/v1/invoices/{item_id}", self.update_invoice, methods=["PUT"]),
            Route("/v1/invoices/{item_id}", self.delete_invoice, methods=["DELETE"]),
            Route("/v1/contacts", self.list_contacts, methods=["GET"]),
            Route("/v1/contacts", self.create_contact, methods=["POST"]),
            Route("/v1/contacts/{item_id}", self.get_contact, methods=["GET"]),
            Route("/v1/contacts/{item_id}", self.update_contact, methods=["PUT"]),
            Route("/v1/journals", self.list_journals, methods=["GET"]),
            Route("/v1/journals", self.create_journal, methods=["POST"]),
            Route("/v1/journals/{item_id}", self.get_journal, methods=["GET"]),
            Route("/v1/bank_accounts", self.list_bank_accounts, methods=["GET"]),
            Route("/v1/bank_accounts/{item_id}", self.get_bank_account, methods=["GET"]),
            Route("/v1/company", self.get_company, methods=["GET"]),
            Route("/v1/reports/{name}", self.get_report, methods=["GET"]),
        ]

    # --- shared -------------------------------------------------------------------------------------
    def _list(self, request: Request, company: str, collection: str) -> Response:
        problems = check.Problems()
        page, per_page = check.page_params(request.query_params, problems, PER_PAGE_DEFAULT, PER_PAGE_MAX)
        problems.raise_any()
        total = self.store.count(company, collection)
        texts = sql.page_by_seq(self.store, company, collection, (page - 1) * per_page, per_page) \
            if (page - 1) * per_page < total else []
        return page_text(texts, page, per_page, total)

    def _one(self, company: str, collection: str, item_id: str, what: str) -> Response:
        found = self.store.get_text(company, collection, item_id)
        return not_found(f"{what} {item_id}") if found is None else text_response(found)

    # --- transactions (ledger lines) ----------------------------------------------------------------
    @needs("transactions:read")
    async def list_transactions(self, request: Request, company: str) -> Response:
        query = request.query_params
        problems = check.Problems()
        page, per_page = check.page_params(query, problems, PER_PAGE_DEFAULT, PER_PAGE_MAX)
        date_from = check.date(query.get("from"), "from", problems, required=False)
        date_to = check.date(query.get("to"), "to", problems, required=False)
        if date_from and date_to and date_to < date_from:
            problems.add("to", "must be on or after from")
        account = query.get("account_id") or None  # a code with no lines (the document's 1001) lists nothing
        problems.raise_any()
        texts, total = self.ledger.page(company, date_from, date_to, account, (page - 1) * per_page, per_page)
        return page_text(texts, page, per_page, total)

    @needs("transactions:read")
    async def get_transaction(self, request: Request, company: str) -> Response:
        item_id = request.path_params["item_id"]
        found = self.ledger.get_text(company, item_id)
        return not_found(f"Transaction {item_id}") if found is None else text_response(found)

    # --- invoices -----------------------------------------------------------------------------------
    @needs("invoices:read")
    async def list_invoices(self, request: Request, company: str) -> Response:
        return self._list(request, company, INVOICES)

    @needs("invoices:read")
    async def get_invoice(self, request: Request, company: str) -> Response:
        return self._one(company, INVOICES, request.path_params["item_id"], "Invoice")

    @needs("invoices:write")
    async def create_invoice(self, request: Request, company: str) -> Response:
        body = await json_body(request)
        fields = invoice_fields(self.sandbox, company, body, current=None)
        invoice_id = f"inv_{self.store.next_id(f'{company}:inv')}"
        number = f"INV-{self.store.next_id(f'{company}:invoice_number'):06d}"
        now = utc_stamp()
        doc = build_invoice(invoice_id, number, fields["customer_id"], fields["date"], fields["due_date"],
                            fields["reference"], fields["currency"], fields["status"], fields["line_items"],
                            ZERO, now, now)
        self.store.put(company, INVOICES, invoice_id, doc, now)
        if doc["status"] == "sent":
            self._post_invoice(company, doc, replace=False)
        return text_response(invoice_json(doc), 201, headers={"Location": f"/v1/invoices/{invoice_id}"})

    @needs("invoices:write")
    async def update_invoice(self, request: Request, company: str) -> Response:
        invoice_id = request.path_params["item_id"]
        current = self.store.get(company, INVOICES, invoice_id)
        if current is None:
            return not_found(f"Invoice {invoice_id}")
        body = await json_body(request)
        refused = locked(current, "changed")
        if refused is not None:
            return refused
        fields = invoice_fields(self.sandbox, company, body, current=current)
        doc = build_invoice(invoice_id, current["number"], fields["customer_id"], fields["date"],
                            fields["due_date"], fields["reference"], fields["currency"], fields["status"],
                            fields["line_items"], ZERO, current["created_at"], utc_stamp())
        self.store.put(company, INVOICES, invoice_id, doc, doc["updated_at"])
        if doc["status"] == "sent":
            self._post_invoice(company, doc, replace=True)
        elif current["status"] == "sent":
            self.ledger.unpost(company, invoice_id)
        return text_response(invoice_json(doc))

    @needs("invoices:write")
    async def delete_invoice(self, request: Request, company: str) -> Response:
        invoice_id = request.path_params["item_id"]
        current = self.store.get(company, INVOICES, invoice_id)
        if current is None:
            return not_found(f"Invoice {invoice_id}")
        refused = locked(current, "deleted", void_ok=True)
        if refused is not None:
            return refused
        self.store.delete(company, INVOICES, invoice_id)
        self.ledger.unpost(company, invoice_id)
        return Response(status_code=204)

    def _post_invoice(self, company: str, doc: dict, replace: bool) -> None:
        self.ledger.post(company, "invoice", doc["id"], doc["date"], doc["number"], invoice_posting(doc),
                         self.sandbox.account_names(company), replace=replace)

    # --- contacts -----------------------------------------------------------------------------------
    @needs("contacts:read")
    async def list_contacts(self, request: Request, company: str) -> Response:
        return self._list(request, company, CONTACTS)

    @needs("contacts:read")
    async def get_contact(self, request: Request, company: str) -> Response:
        return self._one(company, CONTACTS, request.path_params["item_id"], "Contact")

    @needs("contacts:write")
    async def create_contact(self, request: Request, company: str) -> Response:
        body = await json_body(request)
        problems = check.Problems()
        fields = check.contact_fields(body, problems, partial=False)
        problems.raise_any()
        kind = fields.get("type", "customer")
        contact_id = f"{'cust' if kind == 'customer' else 'supp'}_{self.store.next_id(f'{company}:contact')}"
        now = utc_stamp()
        doc = contact_doc(contact_id, kind, fields["name"], fields.get("contact_name"), fields.get("email"),
                          fields.get("phone"), fields.get("address") or {}, fields.get("vat_number"),
                          fields.get("company_number"), fields.get("currency", self.sandbox.company(company)
                                                                   ["currency"]),
                          fields.get("archived", False), now, now)
        self.store.put(company, CONTACTS, contact_id, doc, now)
        return json_response(doc, 201, headers={"Location": f"/v1/contacts/{contact_id}"})

    @needs("contacts:write")
    async def update_contact(self, request: Request, company: str) -> Response:
        contact_id = request.path_params["item_id"]
        current = self.store.get(company, CONTACTS, contact_id)
        if current is None:
            return not_found(f"Contact {contact_id}")
        body = await json_body(request)
        problems = check.Problems()
        fields = check.contact_fields(body, problems, partial=True)
        if fields.get("type", current["type"]) != current["type"]:
            problems.add("type", "cannot be changed once a contact exists")
        problems.raise_any()
        doc = {**current, **fields, "updated_at": utc_stamp()}
        if "address" in fields:
            doc["address"] = address_doc(fields["address"])
        self.store.put(company, CONTACTS, contact_id, doc, doc["updated_at"])
        return json_response(doc)

    # --- journals -----------------------------------------------------------------------------------
    @needs("journals:read")
    async def list_journals(self, request: Request, company: str) -> Response:
        return self._list(request, company, JOURNALS)

    @needs("journals:read")
    async def get_journal(self, request: Request, company: str) -> Response:
        return self._one(company, JOURNALS, request.path_params["item_id"], "Journal")

    @needs("journals:write")
    async def create_journal(self, request: Request, company: str) -> Response:
        body = await json_body(request)
        problems = check.Problems()
        check.unknown_fields(body, check.JOURNAL_FIELDS, {"id", "total", "created_at"}, problems)
        date = check.date(body.get("date"), "date", problems)
        reference = check.text(body, "reference", problems)
        description = check.text(body, "description", problems, limit=1000)
        lines = check.journal_lines(body.get("lines"), set(self.sandbox.chart(company)), problems)
        problems.raise_any()
        journal_id = f"jnl_{self.store.next_id(f'{company}:jnl')}"
        doc = journal_doc(journal_id, date, reference, description, lines, self.sandbox.account_names(company),
                          utc_stamp())
        self.store.put(company, JOURNALS, journal_id, doc, doc["created_at"])
        self.ledger.post(company, "journal", journal_id, date, reference,
                         [(code, amount, text or description or "") for code, amount, text in lines],
                         self.sandbox.account_names(company))
        return json_response(doc, 201, headers={"Location": f"/v1/journals/{journal_id}"})

    # --- bank accounts, company ---------------------------------------------------------------------
    def _with_balance(self, company: str, doc: dict) -> dict:
        return {**doc, "balance": self.ledger.balance(company, doc["nominal_code"]).quantize(Decimal("0.01"))}

    @needs("bank_accounts:read")
    async def list_bank_accounts(self, request: Request, company: str) -> Response:
        problems = check.Problems()
        page, per_page = check.page_params(request.query_params, problems, PER_PAGE_DEFAULT, PER_PAGE_MAX)
        problems.raise_any()
        every = self.store.all(company, BANK_ACCOUNTS)
        chosen = [dumps(self._with_balance(company, doc)) for doc in every[(page - 1) * per_page:page * per_page]]
        return page_text(chosen, page, per_page, len(every))

    @needs("bank_accounts:read")
    async def get_bank_account(self, request: Request, company: str) -> Response:
        item_id = request.path_params["item_id"]
        doc = self.store.get(company, BANK_ACCOUNTS, item_id)
        return not_found(f"Bank account {item_id}") if doc is None else json_response(
            self._with_balance(company, doc))

    @needs("company:read")
    async def get_company(self, request: Request, company: str) -> Response:
        return json_response(self.sandbox.company(company))

    # --- reports ------------------------------------------------------------------------------------
    @needs("reports:read")
    async def get_report(self, request: Request, company: str) -> Response:
        name = request.path_params["name"]
        if name not in BUILDERS:
            return not_found(f"Report {name}")
        query = request.query_params
        problems = check.Problems()
        today = dt.datetime.now(dt.UTC).date().isoformat()
        date_to = check.date(query.get("to"), "to", problems, required=False) or today
        info = self.sandbox.company(company)
        default_from = year_start(dt.date.fromisoformat(date_to), info["financial_year_end"]).isoformat()
        date_from = check.date(query.get("from"), "from", problems, required=False) or default_from
        if date_to < date_from:
            problems.add("to", "must be on or after from")
        if query.get("format", "json") != "json":
            problems.add("format", 'must be "json" (the API serves reports as JSON only)')
        problems.raise_any()
        report = BUILDERS[name](self.sandbox.chart(company), self.ledger.daybook(company), date_from, date_to,
                                info["currency"])
        return json_response({"company_id": company, **report})


def journal_doc(journal_id: str, date: str, reference: str | None, description: str | None,
                lines: list[tuple[str, Decimal, str]], names: dict[str, str], created_at: str) -> dict:
    rows = [{"nominal_code": code, "account_name": names[code], "description": blank_to_none(text),
             "debit": amount.quantize(Decimal("0.01")) if amount > 0 else ZERO,
             "credit": (-amount).quantize(Decimal("0.01")) if amount < 0 else ZERO}
            for code, amount, text in lines]
    return {"id": journal_id, "date": date, "reference": reference, "description": description, "lines": rows,
            "total": sum((row["debit"] for row in rows), ZERO), "created_at": created_at}


async def not_found_handler(request: Request, exc: HTTPException) -> Response:
    return error(404, "not_found", f"There is no endpoint {request.method} {request.url.path}")


async def method_not_allowed_handler(request: Request, exc: HTTPException) -> Response:
    return error(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}",
                 headers=dict(exc.headers or {}))
