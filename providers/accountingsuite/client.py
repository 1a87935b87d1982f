"""The AccountingSuite client: one database, reached with its ``apisecretkey``.

What the service gives and how the client copes:
- Auth: ``apisecretkey: KEY`` on every call. The key comes from the browser sign-in (``signin``) or is
  pasted; it does not expire, so there is no renewal: a 401 is ``AuthError`` (sign in again).
- Lists come whole and wrapped, with no paging and no change feed: one GET per list. The answer is read
  a record at a time on a worker thread (``wholelist``) and turned into domain models a page
  (``page_size``) at a time, so the event loop keeps ticking and only a page of records exists at once.
  ``Page.total`` is counted in the raw text up front. An answer cut short is asked for again before any
  record is handed on. ``since`` is ignored: a full re-list, compared by payload hash by the sync.
- Customers are the ``/companies`` of customer type (vendors left out). Invoices: see ``mapping`` (the
  list has no lines and no ``customer_api_code``; a ``company_code`` index built from ``/companies``
  finds the customer).
- Refusals come as HTTP 200 ``{"status": "error", ...}`` and reach the user verbatim (``answers``).
- Idempotency: a create carries ``ledgerdesk:<key>`` in the record's ``memo`` (invoices) or ``notes``
  (companies), fields Ledgerdesk does not show or change; ``find_created`` looks for it in the list. The
  invoice's ``ref_num`` holds the document's reference, as the service's data uses it. Company names are
  unique at the service too, so a repeated customer create is refused rather than doubled.
- Payments: ``/cashreceipts`` takes a receipt (POST only, empty answer) and cannot be read back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import httpx

from app.domain import Customer, DocumentStatus, Payment, PaymentDirection, SalesDocument
from providers.accountingsuite import answers, mapping
from providers.accountingsuite.capabilities import CAPABILITIES, Unsupported
from providers.accountingsuite.wholelist import WholeList, count_key
from providers.base import (
    BadResponse,
    Company,
    Conflict,
    Entity,
    NotFound,
    Operation,
    Page,
    ReportRequest,
    SignInKind,
    ValidationError,
)
from providers.http import HttpSession, RetryPolicy, get_logger, limits_for, register_secret

log = get_logger(__name__)

DEFAULT_PAGE_SIZE = 1_000
# Whole lists: a large database's invoices alone run to tens of megabytes.
MAX_BODY = 512 * 1024 * 1024
# Answers bigger than this are decoded on a worker thread, so the event loop (the window) keeps ticking.
_PARSE_OFF_LOOP = 256 * 1024
INVOICE_WRAPPERS = ("cash_sales", "invoices")
_WHOLE_TRIES = 5


class Client:
    name = "accountingsuite"
    sign_in = SignInKind.BROWSER  # or a pasted apisecretkey: both end in the same key
    capabilities = CAPABILITIES

    def __init__(
        self,
        base_url: str,
        apisecretkey: str,
        company_id: str,
        *,
        company_name: str = "",
        currency: str = "USD",
        transport: httpx.AsyncBaseTransport | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
    ):
        register_secret(apisecretkey)
        self.company_id = company_id
        self.company_name = company_name
        self.currency = currency.upper()
        self.page_size = page_size
        self.http = HttpSession(
            base_url.rstrip("/") + "/",
            service="AccountingSuite",
            limits=limits_for("accountingsuite"),
            retry=retry,
            timeout=timeout,
            headers={"apisecretkey": apisecretkey, "Accept": "application/json"},
            transport=transport,
            max_body=MAX_BODY,
            error_message=answers.error_message,
        )
        self._codes: dict[str, str] = {}  # company_code -> api_code, of customers and vendors
        self._items: dict[str, str] = {}  # item_code -> api_code

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- companies under this sign-in -----------------------------------------------------------------
    async def companies(self) -> list[Company]:
        """A key opens one database; the databases of a login come from the sign-in (``signin``)."""
        return [Company(id=self.company_id, name=self.company_name or "AccountingSuite",
                        currency=self.currency)]

    # --- wire helpers ---------------------------------------------------------------------------------
    async def _call(self, method: str, path: str, *, json: Any = None, empty_ok: bool = False) -> Any:
        reply = await self.http.request(method, path, json=json)
        if len(reply.body) > _PARSE_OFF_LOOP:
            return await asyncio.to_thread(answers.read, reply, empty_ok=empty_ok)
        return answers.read(reply, empty_ok=empty_ok)

    @staticmethod
    def _path(resource: str, remote_id: str) -> str:
        if not isinstance(remote_id, str) or not remote_id.strip():
            raise NotFound(f"There is no {resource} record without an id.")
        return f"{resource}/{quote(remote_id.strip(), safe='')}"

    async def _whole_list(self, path: str, keys: tuple[str, ...], what: str) -> WholeList:
        """The list's answer, ready to be read a record at a time. Records are handed on as they are
        read, so an answer cut short (its length header agreeing) is caught before: a wrapped list ends
        with "}". Such an answer is asked for again (a GET), a few times, before it is a BadResponse."""
        for attempt in range(1, _WHOLE_TRIES + 1):
            reply = await self.http.request("GET", path)
            if not 200 <= reply.status < 300:
                answers.read(reply)  # raises the refusal the answer stands for
                raise BadResponse(f"AccountingSuite answered {reply.describe()} where a list was expected")
            if len(reply.body) > _PARSE_OFF_LOOP:
                whole = await asyncio.to_thread(WholeList, reply, keys, what)
            else:
                whole = WholeList(reply, keys, what)
            if whole.ends_whole() or attempt == _WHOLE_TRIES:
                return whole
            log.info("GET %s: the answer was cut short (%d bytes); asking again", path, len(reply.body))
        raise AssertionError("not reached")

    @staticmethod
    async def _batches(whole: WholeList, size: int) -> AsyncIterator[list[tuple[dict[str, Any], str]]]:
        """The list's records, ``size`` at a time, decoded on a worker thread a record per call."""
        while batch := await asyncio.to_thread(whole.take, size):
            yield batch
        whole.release()

    async def _company_entries(self, whole: WholeList | None = None
                               ) -> AsyncIterator[list[tuple[dict[str, Any], str]]]:
        """Every company, a batch at a time; the company_code index is rebuilt on the way."""
        whole = whole or await self._whole_list("companies", ("companies",), "companies")
        codes: dict[str, str] = {}
        async for batch in self._batches(whole, self.page_size):
            for doc, _ in batch:
                if isinstance(code := doc.get("company_code"), str):
                    codes[code] = doc["api_code"]
            yield batch
        self._codes = codes

    async def _refresh_codes(self) -> None:
        async for _ in self._company_entries():
            pass

    async def _company(self, api_code: str) -> dict[str, Any]:
        doc = answers.record(await self._call("GET", self._path("companies", api_code)), "company")
        if isinstance(doc.get("company_code"), str):
            self._codes[doc["company_code"]] = doc["api_code"]
        return doc

    async def _invoice(self, api_code: str) -> dict[str, Any]:
        return answers.record(await self._call("GET", self._path("invoices", api_code)), "sales invoice")

    async def _items_for(self, document: SalesDocument) -> Callable[[str], str | None]:
        """Item codes to api_codes: ``/items`` is read once, and again when a line names a code not seen."""
        wanted = {line.item_code for line in document.lines if line.item_code}
        if not self._items or any(self._find_item(code) is None for code in wanted):
            items = answers.wrapped_list(await self._call("GET", "items"), ("items",), "items")
            self._items = {doc["item_code"]: doc["api_code"] for doc in items
                           if isinstance(doc.get("item_code"), str)}
        return self._find_item

    def _find_item(self, code: str) -> str | None:
        found = self._items.get(code)
        if found is None:  # the service compares item codes without regard to case
            folded = code.casefold()
            found = next((api for item, api in self._items.items() if item.casefold() == folded), None)
        return found

    # --- the protocol ---------------------------------------------------------------------------------
    def _check(self, entity: Entity, operation: Operation) -> None:
        reason = self.capabilities.reason(entity, operation)
        if reason is not None:
            raise Unsupported(reason)

    async def list(self, entity: Entity, *, since: str | None = None, page_size: int | None = None
                   ) -> AsyncIterator[Page[Any]]:
        # ``since`` cannot narrow anything: the service has no change feed (capabilities say so).
        self._check(entity, Operation.LIST)
        size = max(1, page_size or self.page_size)
        currency = self.currency
        if entity is Entity.CUSTOMERS:
            def customer(entry: tuple[dict[str, Any], str]) -> Any:
                return mapping.customer_from_wire(entry[0], currency, hashed=mapping.text_hash(entry[1]))

            whole = await self._whole_list("companies", ("companies",), "companies")
            total = await asyncio.to_thread(_count_customers, whole.text)
            pending: list[tuple[dict[str, Any], str]] = []
            yielded = False
            async for batch in self._company_entries(whole):
                pending.extend(entry for entry in batch if mapping.is_customer(entry[0]))
                while len(pending) >= size:
                    chunk, pending = pending[:size], pending[size:]
                    yield Page(await asyncio.to_thread(_convert_all, chunk, customer), total=total)
                    yielded = True
            if pending or not yielded:
                yield Page(await asyncio.to_thread(_convert_all, pending, customer), total=total)
            return

        def invoice(entry: tuple[dict[str, Any], str | None]) -> Any:
            doc, raw = entry
            hashed = mapping.text_hash(raw) if raw is not None else None
            return mapping.invoice_from_wire(doc, currency, self._codes.get, hashed=hashed)

        whole = await self._whole_list("invoices", INVOICE_WRAPPERS, "invoices")
        total = await asyncio.to_thread(count_key, whole.text, "invoice_number")
        refreshed = yielded = False
        async for batch in self._batches(whole, size):
            refreshed = await self._resolve_customers(batch, refreshed)
            if batch:
                yield Page(await asyncio.to_thread(_convert_all, batch, invoice), total=total)
                yielded = True
        if not yielded:
            yield Page([], total=0)

    async def _resolve_customers(self, batch: list[tuple[dict[str, Any], str | None]], refreshed: bool) -> bool:
        """List entries name their customer by ``company_code`` only: make sure the index knows each one
        (read ``/companies`` again, once a list, when one is new); an entry still unknown is fetched whole.
        Returns whether the index has been read again."""
        def unknown() -> list[int]:
            return [n for n, (doc, _) in enumerate(batch)
                    if not doc.get("customer_api_code")
                    and (not isinstance(code := doc.get("company_code"), str) or code not in self._codes)]

        missing = unknown()
        if missing and not refreshed:
            await self._refresh_codes()
            refreshed = True
            missing = unknown()
        for position in reversed(missing):
            try:
                batch[position] = (await self._invoice(batch[position][0]["api_code"]), None)
            except NotFound:  # deleted since the list was read
                del batch[position]
        return refreshed

    async def get(self, entity: Entity, remote_id: str) -> Any:
        self._check(entity, Operation.GET)
        if entity is Entity.CUSTOMERS:
            doc = await self._company(remote_id)
            if not mapping.is_customer(doc):
                raise NotFound(f"{doc.get('company_name') or remote_id} is a vendor in AccountingSuite, "
                               "not a customer.", detail={"api_code": doc["api_code"]})
            return _mapped(mapping.customer_from_wire, doc, self.currency)
        return _mapped(mapping.invoice_from_wire, await self._invoice(remote_id), self.currency)

    async def create(self, entity: Entity, record: Any, *, idempotency_key: str) -> Any:
        self._check(entity, Operation.CREATE)
        key = mapping.memo_key(_key(idempotency_key))
        if entity is Entity.CUSTOMERS:
            customer = _expect(record, Customer, "a customer")
            body = {**mapping.customer_to_wire(customer), "notes": key}
            doc = answers.record(await self._call("POST", "companies", json=body), "company")
            if isinstance(doc.get("company_code"), str):
                self._codes[doc["company_code"]] = doc["api_code"]
            return _mapped(mapping.customer_from_wire, doc, self.currency)
        if entity is Entity.PAYMENTS:
            return await self._record_receipt(_expect(record, Payment, "a payment"), _key(idempotency_key))
        invoice = _invoice_record(record)
        customer = await self._customer_for(invoice)
        ship_to = mapping.default_address(customer, "default_shipping").get("api_code")
        body = _to_wire(invoice, await self._items_for(invoice), ship_to or "", key)
        doc = answers.record(await self._call("POST", "invoices", json=body), "sales invoice")
        # The API creates drafts, approved (posted) inside AccountingSuite.
        return _mapped(mapping.invoice_from_wire, doc, self.currency, status=DocumentStatus.DRAFT)

    async def _customer_for(self, invoice: SalesDocument) -> dict[str, Any]:
        if not invoice.customer_remote_id:
            raise ValidationError("Choose a customer that is in AccountingSuite for this invoice.")
        try:
            return await self._company(invoice.customer_remote_id)
        except NotFound as error:
            raise ValidationError(error.message, status=error.status, detail=error.detail) from None

    async def _record_receipt(self, payment: Payment, key: str) -> Payment:
        if payment.direction is not PaymentDirection.RECEIVED:
            raise Unsupported("AccountingSuite's API records money received from customers only.")
        if not payment.party_remote_id:
            raise ValidationError("Choose the customer who paid.")
        try:
            company = await self._company(payment.party_remote_id)
        except NotFound as error:
            raise ValidationError(error.message, status=error.status, detail=error.detail) from None
        body = mapping.receipt_to_wire(payment, mapping.text(company.get("company_name")), key)
        await self._call("POST", "cashreceipts", json=body, empty_ok=True)
        # The service answers a receipt with an empty body: there is no id to keep.
        version = mapping.fingerprint(body)
        return payment.model_copy(update={"remote_id": None, "payload_hash": version, "remote_version": version})

    async def find_created(self, entity: Entity, idempotency_key: str) -> Any | None:
        self._check(entity, Operation.CREATE)
        key = mapping.memo_key(_key(idempotency_key))
        if entity is Entity.PAYMENTS:
            raise Conflict("AccountingSuite cannot list cash receipts, so whether this one was recorded "
                           "cannot be checked: look in AccountingSuite before recording it again.")
        found: dict[str, Any] | None = None
        if entity is Entity.CUSTOMERS:
            async for batch in self._company_entries():
                found = found or next((doc for doc, _ in batch if doc.get("notes") == key), None)
            return None if found is None else _mapped(mapping.customer_from_wire, found, self.currency)
        whole = await self._whole_list("invoices", INVOICE_WRAPPERS, "invoices")
        async with contextlib.aclosing(self._batches(whole, self.page_size)) as batches:
            async for batch in batches:
                found = next((doc for doc, _ in batch if doc.get("memo") == key), None)
                if found is not None:
                    break
        whole.release()
        return None if found is None else await self._created_invoice(found["api_code"])

    async def _created_invoice(self, api_code: str) -> Any:
        doc = await self._invoice(api_code)
        return _mapped(mapping.invoice_from_wire, doc, self.currency, status=DocumentStatus.DRAFT)

    async def update(self, entity: Entity, record: Any) -> Any:
        self._check(entity, Operation.UPDATE)
        if entity is Entity.CUSTOMERS:
            customer = _expect(record, Customer, "a customer")
            current = await self._company(_remote_id(customer))
            body = _mapped(lambda doc, _: mapping.customer_changes(customer, doc), current, self.currency)
            if body:
                current = answers.record(
                    await self._call("PUT", self._path("companies", current["api_code"]), json=body), "company"
                )
            return _mapped(mapping.customer_from_wire, current, self.currency)
        invoice = _invoice_record(record)
        current = await self._invoice(_remote_id(invoice))
        ship_to = current.get("ship_to_api_code")
        if invoice.customer_remote_id != current.get("customer_api_code") or not ship_to:
            customer = await self._customer_for(invoice)
            ship_to = mapping.default_address(customer, "default_shipping").get("api_code")
        # A PUT replaces the whole document: the memo (and a create's key in it) is sent back as it is.
        body = _to_wire(invoice, await self._items_for(invoice), ship_to or "",
                        mapping.text(current.get("memo")))
        doc = answers.record(
            await self._call("PUT", self._path("invoices", current["api_code"]), json=body), "sales invoice"
        )
        return _mapped(mapping.invoice_from_wire, doc, self.currency, status=invoice.status)

    async def delete(self, entity: Entity, remote_id: str) -> None:
        self._check(entity, Operation.DELETE)
        resource = "companies" if entity is Entity.CUSTOMERS else "invoices"
        message = answers.deleted(await self._call("DELETE", self._path(resource, remote_id)))
        log.debug("deleted %s %s: %s", resource, remote_id, message)

    async def report(self, request: ReportRequest) -> dict[str, Any]:
        self._check(Entity.LEDGER_LINES, Operation.REPORTS)
        raise Unsupported("AccountingSuite has no reports")  # not reached: the capabilities refuse first


# --- helpers ------------------------------------------------------------------------------------------

def _convert_all(entries: list[Any], convert: Callable[[Any], Any]) -> list[Any]:
    try:
        return [convert(entry) for entry in entries]
    except mapping.MappingProblem as problem:
        raise BadResponse(str(problem), detail={"api_code": problem.remote_id}) from None


def _count_customers(text: str) -> int:
    """Companies less vendors, counted in the raw text (each company has one name and one type)."""
    vendors = sum(text.count(f'"company_type"{gap}:{space}"vendor"') for gap in ("", " ") for space in ("", " "))
    return count_key(text, "company_name") - vendors


def _mapped(convert: Callable[..., Any], doc: dict[str, Any], currency: str, **kwargs: Any) -> Any:
    try:
        return convert(doc, currency, **kwargs)
    except mapping.MappingProblem as problem:
        raise BadResponse(str(problem), detail={"api_code": problem.remote_id}) from None


def _to_wire(invoice: SalesDocument, items: Callable[[str], str | None], ship_to: str, memo: str
             ) -> dict[str, Any]:
    try:
        return mapping.invoice_to_wire(invoice, items, ship_to, memo)
    except ValueError as problem:  # our own sentence: the record cannot be written as it stands
        raise ValidationError(str(problem)) from None


def _expect(record: Any, kind: type, what: str) -> Any:
    if not isinstance(record, kind):
        raise ValidationError(f"Expected {what}, got {type(record).__name__}.")
    return record


def _invoice_record(record: Any) -> SalesDocument:
    document = _expect(record, SalesDocument, "an invoice")
    if document.kind != "invoice":
        raise Unsupported(CAPABILITIES.reason(Entity.CREDIT_NOTES, Operation.CREATE) or "")
    return document


def _remote_id(record: Any) -> str:
    if not record.remote_id:
        raise NotFound("This record is not in AccountingSuite yet: create it first.")
    return record.remote_id


def _key(idempotency_key: str) -> str:
    if not isinstance(idempotency_key, str) or not idempotency_key.strip():
        raise ValidationError("A create needs an idempotency key.")
    return idempotency_key.strip()

