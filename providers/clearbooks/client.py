"""The Clear Books client: ``/v1`` REST over the shared HTTP layer, for one business.

Every call carries the bearer token and ``X-Business-ID``. A 401 renews the token once (``tokens``) and
sends the call again; a second 401 is ``AuthError``. Pacing (5 requests a second, slowed by a 429) and
retries are the shared layer's (``providers.http``, ``LIMITS["clearbooks"]``).

Lists page with ``limit`` (200 unless asked) and ``page`` and stop at ``X-Pagination-Total-Pages`` (or at
a short or empty page when the headers are missing). Clear Books has no change feed: ``since`` is
ignored and every list is a full one (``Page.cursor`` stays None).

Quirks handled here (shapes in ``mapping``): GET of one account code or bank account answers a
one-element array; GET of a voided-and-reissued document answers 302 to the current revision, which is
followed (same origin only) and returned with ``previous_remote_id`` set; updating a non-draft invoice
or credit note voids it and answers the copy with a NEW id, returned the same way (re-keying the store is
the sync engine's job; after an update whose answer was lost, ``get`` of the old id finds the reissue
through the redirect). An update first reads the record and sends only what changed; when nothing did,
nothing is sent (a PATCH of an approved invoice would reissue it even so).

Creates and their idempotency keys: documents carry the key in their summary (``description``) and are
found again among the newest documents; bank statement lines carry it as ``transactionId``, which the
service itself de-duplicates. Customers, payments, bank accounts and account codes have no field for it:
``find_created`` looks among the newest records for one equal to what the create sent (the body is kept
in memory under the key, or rebuilt from ``record=`` when the caller passes the record).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx

from app.domain import BankTransaction, Classification, SalesDocument
from providers.base import (
    MODELS,
    BadResponse,
    Capabilities,
    Company,
    Entity,
    NotFound,
    Operation,
    Page,
    ProviderError,
    ReportRequest,
    SignInKind,
    ValidationError,
)
from providers.clearbooks import mapping, rawjson, reports
from providers.clearbooks.errors import error_for, service_message
from providers.clearbooks.tokens import Refresh, Tokens, TokenSource
from providers.http import LIMITS, HttpSession, RateLimits, Reply, RetryPolicy, get_logger

log = get_logger(__name__)

API_URL = "https://api.clearbooks.co.uk/v1"
TOKEN_URL = "https://api.clearbooks.co.uk/oauth/token"
MAX_PAGE = 200
MAX_REDIRECTS = 5
SENT_KEPT = 1000  # create bodies remembered for find_created (a sync pushes them in order, soon after)
FIND_PAGES = 3  # newest pages searched by find_created: a create is among the latest records

PATHS: dict[Entity, str] = {
    Entity.CUSTOMERS: "/accounting/customers",
    Entity.INVOICES: "/accounting/sales/invoices",
    Entity.CREDIT_NOTES: "/accounting/sales/creditNotes",
    Entity.BANK_ACCOUNTS: "/accounting/bankAccounts",
    Entity.PAYMENTS: "/accounting/payments",
    Entity.ACCOUNTS: "/accounting/accountCodes",
    Entity.LEDGER_LINES: "/accounting/transactions",
}
DOCUMENTS = (Entity.INVOICES, Entity.CREDIT_NOTES)
ONE_ELEMENT_ARRAYS = (Entity.ACCOUNTS, Entity.BANK_ACCOUNTS)
BALANCES_PATH = "/accounting/accountBalances"

_NO_FEED = "Clear Books has no change feed: every sync reads the whole list again"
_STATEMENTS = "Clear Books only accepts bank statement lines; its API cannot list, change or remove them"
_LEDGER = "Ledger lines are posted by documents, payments and journals; Clear Books cannot change one alone"
CAPABILITIES = Capabilities(missing={
    **{(entity, Operation.CHANGES): _NO_FEED for entity in Entity},
    **{(Entity.BANK_TRANSACTIONS, op): _STATEMENTS
       for op in (Operation.LIST, Operation.GET, Operation.UPDATE, Operation.DELETE)},
    **{(Entity.LEDGER_LINES, op): _LEDGER for op in (Operation.CREATE, Operation.UPDATE, Operation.DELETE)},
    **{(entity, Operation.PDF): "Clear Books' API does not give out documents as PDF" for entity in DOCUMENTS},
})


class Client:
    """A signed-in Clear Books client for one business (``business_id``)."""

    name = "clearbooks"
    sign_in = SignInKind.BROWSER
    capabilities = CAPABILITIES

    def __init__(self, base_url: str, business_id: str | int | None, access_token: str | None = None,
                 refresh: Refresh | None = None, *, tokens: TokenSource | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, limits: RateLimits | None = None,
                 retry: RetryPolicy | None = None, page_size: int = MAX_PAGE):
        """``base_url`` is the API root (``API_URL``). Give ``access_token`` and ``refresh`` (an async
        callable returning a new access token), or a ``TokenSource``. ``business_id`` may be None only to
        call ``companies()`` before a business is chosen."""
        if tokens is None:
            tokens = Tokens(access_token or "", refresh)
        self.tokens = tokens
        self.business_id = None if business_id is None else str(business_id)
        self.page_size = max(1, min(MAX_PAGE, page_size))
        headers = {"Accept": "application/json"}
        if self.business_id is not None:
            headers["X-Business-ID"] = self.business_id
        self.http = HttpSession(base_url.rstrip("/"), service="Clear Books", limits=limits or LIMITS["clearbooks"],
                                retry=retry, transport=transport, error_message=service_message, headers=headers)
        self._sent: dict[tuple[Entity, str], dict] = {}  # create bodies by idempotency key (find_created)
        self._feeds: dict[str, str] = {}  # bank account id -> bank feed id

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- the wire -----------------------------------------------------------------------------------
    async def _send(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                    idempotent: bool | None = None) -> Reply:
        """One call with the current token; a 401 renews it once and the call goes again."""
        if self.business_id is None and path != "/businesses":
            raise ValidationError("Choose a Clear Books business first")
        token = self.tokens.access_token
        reply = await self.http.request(method, path, params=params, json=json, idempotent=idempotent,
                                        headers={"Authorization": f"Bearer {token}"})
        if reply.status == 401 and self.tokens.renewable:
            log.info("%s %s answered 401: renewing the access token", method, path)
            token = await self.tokens.renew(token)
            reply = await self.http.request(method, path, params=params, json=json, idempotent=idempotent,
                                            headers={"Authorization": f"Bearer {token}"})
        return reply

    async def _call(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                    idempotent: bool | None = None) -> tuple[Reply, Any]:
        """A call whose answer must be a success; returns the reply and its JSON (None for 204)."""
        reply = await self._ok(method, path, params=params, json=json, idempotent=idempotent)
        if reply.status == 204 or not reply.body:
            return reply, None
        return reply, reply.json()

    async def _ok(self, method: str, path: str, *, params: dict | None = None, json: Any = None,
                  idempotent: bool | None = None, follow: bool = False) -> Reply:
        """A call whose answer must be a success. With ``follow``, a redirect within the API is followed
        (a voided document's current revision)."""
        reply = await self._send(method, path, params=params, json=json, idempotent=idempotent)
        hops = 0
        while follow and reply.status in (301, 302, 303, 307, 308):
            hops += 1
            if hops > MAX_REDIRECTS:
                raise BadResponse("Clear Books redirected too many times")
            reply = await self._send("GET", self._same_api(reply))
        if not 200 <= reply.status < 300:
            raise error_for(reply)
        return reply

    def _same_api(self, reply: Reply) -> str:
        """The redirect's target, as a path under the API; a redirect elsewhere is refused (it would carry
        the bearer token to another host)."""
        location = reply.headers.get("location")
        if not location:
            raise BadResponse("Clear Books answered a redirect without a Location")
        try:
            target = reply.url.join(location)
        except (httpx.InvalidURL, ValueError):
            raise BadResponse("Clear Books redirected to an address that cannot be read") from None
        base = self.http.base_url
        root = base.raw_path.decode().rstrip("/")
        path = target.raw_path.decode().split("?")[0]
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port) \
                or not path.startswith(root + "/"):
            raise BadResponse("Clear Books redirected outside its API; the redirect was not followed")
        return path[len(root):]

    # --- companies ----------------------------------------------------------------------------------
    async def companies(self) -> list[Company]:
        _reply, found = await self._call("GET", "/businesses")
        if not isinstance(found, list):
            raise BadResponse("Clear Books sent something other than a list of businesses")
        companies = []
        for business in found:
            if not isinstance(business, dict) or isinstance(business.get("id"), bool) \
                    or not isinstance(business.get("id"), int) or not isinstance(business.get("name"), str):
                raise BadResponse("Clear Books sent a business Ledgerdesk cannot read")
            details = {key: business.get(key) for key in ("type", "address", "logoUrl")}
            companies.append(Company(str(business["id"]), business["name"], mapping.HOME_CURRENCY, details))
        return companies

    # --- lists --------------------------------------------------------------------------------------
    def list(self, entity: Entity, *, since: str | None = None, page_size: int | None = None
             ) -> AsyncIterator[Page[Any]]:
        return self._list(entity, max(1, min(MAX_PAGE, page_size or self.page_size)))

    async def _list(self, entity: Entity, limit: int) -> AsyncIterator[Page[Any]]:
        path = self._path(entity, Operation.LIST)
        to_domain = await self._reader(entity)
        page, first_pages, previous = 1, None, None
        while True:
            reply = await self._ok("GET", path, params={"page": page, "limit": limit})
            items, texts = _records(reply)
            total_pages = _header_int(reply, "x-pagination-total-pages")
            total = _header_int(reply, "x-pagination-total-count")
            if first_pages is None:
                first_pages = total_pages
            # A list may grow while it is read, but not without end, and a page is never the one before.
            if (first_pages is not None and page > 2 * first_pages + 10) or (texts and texts == previous):
                raise BadResponse(f"Clear Books kept sending pages of {entity.value.replace('_', ' ')} past the "
                                  "end of the list")
            previous = texts
            yield Page(mapping.models(entity, items, texts, to_domain), cursor=None, total=total)
            if not items or (total_pages is not None and page >= total_pages) \
                    or (total_pages is None and len(items) < limit):
                return
            page += 1

    async def _reader(self, entity: Entity):
        """The wire -> domain function for one list (some need state: balances, line numbers)."""
        if entity is Entity.BANK_ACCOUNTS:
            balances = await self._balances(reports.EPOCH, _far_future())
            return lambda wire, text: mapping.bank_account_domain(wire, text, balances)
        if entity is Entity.LEDGER_LINES:
            return mapping.LineNumbers().ledger_line_domain
        return _READERS[entity]

    async def _balances(self, date_from: dt.date, date_to: dt.date) -> dict[int, Decimal]:
        _reply, rows = await self._call("GET", BALANCES_PATH, params={
            "accountingDateFrom": date_from.isoformat(), "accountingDateTo": date_to.isoformat()})
        try:
            found = {row["accountCodeId"]: row["balance"] for row in rows}
        except (TypeError, KeyError):
            raise BadResponse("Clear Books sent account balances Ledgerdesk cannot read") from None
        if not all(isinstance(v, Decimal | int) and not isinstance(v, bool) for v in found.values()):
            raise BadResponse("Clear Books sent an account balance that is not an amount")
        return found

    def _path(self, entity: Entity, operation: Operation) -> str:
        reason = self.capabilities.reason(entity, operation)
        if reason is not None:
            raise ProviderError(reason)
        path = PATHS.get(entity)
        if path is None:
            raise ProviderError(f"Clear Books has no {entity.value.replace('_', ' ')} to {operation.value}")
        return path

    # --- one record ---------------------------------------------------------------------------------
    async def get(self, entity: Entity, remote_id: str) -> Any:
        if entity is Entity.LEDGER_LINES:
            return await self._ledger_line(remote_id)
        path = self._path(entity, Operation.GET)
        reply = await self._ok("GET", f"{path}/{_path_id(remote_id)}", follow=entity in DOCUMENTS)
        return await self._one(entity, *_record(entity, reply), remote_id)

    async def _one(self, entity: Entity, item: Any, text: str, asked: str | None = None) -> Any:
        if not isinstance(item, dict):
            raise BadResponse("Clear Books sent something other than a record")
        if entity is Entity.BANK_ACCOUNTS:
            balances = await self._balances(reports.EPOCH, _far_future())
            found = mapping.one(entity, item, text,
                                lambda wire, raw: mapping.bank_account_domain(wire, raw, balances))
        else:
            found = mapping.one(entity, item, text, _READERS[entity])
        if entity in DOCUMENTS and asked is not None:
            found = mapping.reissued(found, asked)
        return found

    async def _ledger_line(self, remote_id: str) -> Any:
        transaction, _, number = remote_id.partition(":")
        if not (transaction.isdigit() and number.isdigit()):
            raise NotFound(f"{remote_id!r} is not a Clear Books ledger line id")
        reply = await self._ok("GET", PATHS[Entity.LEDGER_LINES],
                               params={"transactionId": transaction, "limit": MAX_PAGE})
        items, texts = _records(reply)
        for line in mapping.models(Entity.LEDGER_LINES, items, texts, mapping.LineNumbers().ledger_line_domain):
            if line.remote_id == remote_id:
                return line
        raise NotFound(f"Clear Books has no ledger line {remote_id}")

    # --- writes -------------------------------------------------------------------------------------
    async def create(self, entity: Entity, record: Any, *, idempotency_key: str) -> Any:
        if entity is Entity.BANK_TRANSACTIONS:
            return await self._create_statement_line(record, idempotency_key)
        path = self._path(entity, Operation.CREATE)
        body = self._create_body(entity, record, idempotency_key)
        self._sent[entity, idempotency_key] = body
        while len(self._sent) > SENT_KEPT:
            del self._sent[next(iter(self._sent))]
        reply = await self._ok("POST", path, json=body)
        return await self._one(entity, *_record(entity, reply))

    @staticmethod
    def _create_body(entity: Entity, record: Any, key: str) -> dict:
        _expect(entity, record)
        if entity in DOCUMENTS:
            return mapping.document_create_body(record, key)
        if entity is Entity.CUSTOMERS:
            return mapping.customer_to_wire(record)
        if entity is Entity.BANK_ACCOUNTS:
            return mapping.bank_account_create_body(record)
        if entity is Entity.PAYMENTS:
            return mapping.payment_to_wire(record)
        return mapping.account_create_body(record)

    async def find_created(self, entity: Entity, idempotency_key: str, *, record: Any = None) -> Any | None:
        """The record a create with this key made, or None if it was not made. Customers, payments, bank
        accounts and account codes are matched by content: the body sent, kept in memory, or rebuilt
        from ``record`` (pass it after a restart)."""
        if entity is Entity.BANK_TRANSACTIONS:
            return None  # the service drops a repeated transactionId: sending the line again is safe
        path = self._path(entity, Operation.CREATE)
        if entity in DOCUMENTS:
            marker = mapping.KEY_PREFIX + idempotency_key
            wanted = lambda wire: wire.get("description") == marker  # noqa: E731
        else:
            body = self._sent.get((entity, idempotency_key))
            if body is None and record is not None:
                body = self._create_body(entity, record, idempotency_key)
            if body is None:
                raise ProviderError(f"Clear Books keeps no reference on {entity.value.replace('_', ' ')}: "
                                    "pass the record to look its create up by content")
            wanted = lambda wire: _matches(body, wire)  # noqa: E731
        for page in range(1, FIND_PAGES + 1):
            reply = await self._ok("GET", path, params={
                "page": page, "limit": MAX_PAGE, "sortBy": "id", "sortDirection": "descending"})
            items, texts = _records(reply)
            for item, text in zip(items, texts, strict=True):
                if isinstance(item, dict) and wanted(item):
                    return await self._one(entity, item, text)
            pages = _header_int(reply, "x-pagination-total-pages")
            if len(items) < MAX_PAGE or (pages is not None and page >= pages):
                break
        return None

    async def update(self, entity: Entity, record: Any) -> Any:
        _expect(entity, record)
        path = self._path(entity, Operation.UPDATE)
        if not record.remote_id:
            raise ValidationError("This record has not reached Clear Books yet: create it first")
        asked = record.remote_id
        reply = await self._ok("GET", f"{path}/{_path_id(asked)}", follow=entity in DOCUMENTS)
        current = await self._one(entity, *_record(entity, reply), asked)
        body = self._update_body(entity, record, current)
        if not body:
            return current
        # Sending the same changes twice to a contact, payment, account or bank account does no harm; to a
        # document it would void and reissue again, so only those are left to find_created-style checks.
        reply = await self._ok("PATCH", f"{path}/{_path_id(current.remote_id)}", json=body,
                               idempotent=entity not in DOCUMENTS)
        return await self._one(entity, *_record(entity, reply), asked)

    @staticmethod
    def _update_body(entity: Entity, record: Any, current: Any) -> dict:
        if entity in DOCUMENTS:
            return mapping.document_update_body(record, current)
        to_wire = {Entity.CUSTOMERS: mapping.customer_to_wire, Entity.BANK_ACCOUNTS: mapping.bank_account_to_wire,
                   Entity.PAYMENTS: mapping.payment_to_wire, Entity.ACCOUNTS: mapping.account_to_wire}[entity]
        return mapping.changes(to_wire(record), to_wire(current))

    async def delete(self, entity: Entity, remote_id: str) -> None:
        path = self._path(entity, Operation.DELETE)
        reply = await self._send("DELETE", f"{path}/{_path_id(remote_id)}")
        if 200 <= reply.status < 300:
            return
        error = error_for(reply)
        # A retried DELETE whose first try was done (and its answer lost) finds the record gone or void.
        codes = {item["errorCode"] for item in error.detail or ()}
        if reply.attempts > 1 and (reply.status == 404 or "documentVoided" in codes):
            return
        raise error

    # --- bank statement lines ----------------------------------------------------------------------
    async def _create_statement_line(self, record: Any, key: str) -> BankTransaction:
        if not isinstance(record, BankTransaction):
            raise ValidationError("A bank transaction was expected")
        account = record.bank_account_remote_id
        if not account or not account.isdigit():
            raise ValidationError("Choose a Clear Books bank account for this transaction")
        feed = await self._feed(account)
        body = {"items": [{"feedId": feed, "statementLines": [mapping.statement_line(record, key)]}]}
        # Idempotent at the service: a transactionId it already has on this feed is dropped.
        await self._call("POST", "/accounting/bankStatements", json=body, idempotent=True)
        return record.model_copy(update={"remote_id": key, "payload_hash": None, "remote_version": None})

    async def _feed(self, account: str) -> str:
        if account not in self._feeds:
            # Finding or making the feed of an account is idempotent too: the same account, the same feed.
            _reply, answer = await self._call("POST", "/accounting/bankFeeds",
                                              json={"items": [{"accountId": int(account)}]}, idempotent=True)
            try:
                feed = answer["items"][0]["id"]
            except (TypeError, KeyError, IndexError):
                raise BadResponse("Clear Books answered a bank feed without its id") from None
            if not isinstance(feed, str) or not feed:
                raise BadResponse("Clear Books answered a bank feed without its id")
            self._feeds[account] = feed
        return self._feeds[account]

    # --- reports ------------------------------------------------------------------------------------
    async def report(self, request: ReportRequest) -> dict[str, Any]:
        if request.kind not in reports.KINDS:
            raise ProviderError(f"Clear Books has no {request.kind.replace('_', ' ')} report; Ledgerdesk works it "
                                "out from the invoices it holds")
        date_from, date_to = reports.date_range(request.kind, request.date_from, request.date_to, dt.date.today())
        if date_from > date_to:
            raise ValidationError("The report's start date is after its end date")
        balances = await self._balances(date_from, date_to)
        accounts: dict[str, tuple[str, Classification]] = {}
        async for page in self.list(Entity.ACCOUNTS):
            accounts.update((a.code, (a.name, a.classification)) for a in page.items)
        return reports.build(request.kind, date_from, date_to, {str(k): v for k, v in balances.items()}, accounts)


_READERS = {
    Entity.CUSTOMERS: mapping.customer_domain,
    Entity.INVOICES: mapping.invoice_domain,
    Entity.CREDIT_NOTES: mapping.credit_note_domain,
    Entity.PAYMENTS: mapping.payment_domain,
    Entity.ACCOUNTS: mapping.account_domain,
}

_EXPECTED = {Entity.INVOICES: SalesDocument, Entity.CREDIT_NOTES: SalesDocument}


def _expect(entity: Entity, record: Any) -> None:
    model = _EXPECTED.get(entity) or MODELS[entity]
    if not isinstance(record, model):
        raise ValidationError(f"A {model.__name__} was expected for {entity.value.replace('_', ' ')}")
    if entity in DOCUMENTS and record.kind != ("invoice" if entity is Entity.INVOICES else "credit_note"):
        raise ValidationError(f"A {record.kind.replace('_', ' ')} cannot be sent as {entity.value.replace('_', ' ')}")


def _path_id(remote_id: Any) -> str:
    text = str(remote_id)
    if not text.isdigit():
        raise NotFound(f"{text!r} is not a Clear Books id")
    return text


def _text(reply: Reply) -> str:
    if reply.is_html or not reply.body.strip():
        reply.json()  # raises the shared layer's BadResponse, which names the page or the emptiness
    return rawjson.decode(reply.body)


def _records(reply: Reply) -> tuple[list[Any], list[str]]:
    return rawjson.records(_text(reply))


def _record(entity: Entity, reply: Reply) -> tuple[Any, str]:
    """One record and its text; GET of one account code or bank account answers a one-element array."""
    text = _text(reply)
    if entity in ONE_ELEMENT_ARRAYS and text.lstrip().startswith("["):
        items, texts = rawjson.records(text)
        if len(items) != 1:
            raise BadResponse(f"Clear Books sent {len(items)} records where one was expected")
        return items[0], texts[0]
    return rawjson.value(text)


def _header_int(reply: Reply, name: str) -> int | None:
    value = reply.headers.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _matches(sent: Any, wire: Any) -> bool:
    """Whether a wire record holds what a create sent (nested objects compared field by field)."""
    if isinstance(sent, dict):
        return isinstance(wire, dict) and all(key in wire and _matches(value, wire[key])
                                              for key, value in sent.items())
    if isinstance(sent, list):
        return isinstance(wire, list) and len(sent) == len(wire) and all(map(_matches, sent, wire))
    if isinstance(sent, bool) or isinstance(wire, bool):
        return sent is wire
    return sent == wire


def _far_future() -> dt.date:
    # Balances include everything posted, future-dated entries too.
    return dt.date(2099, 12, 31)
