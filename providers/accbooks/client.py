"""The AccBooks client: ``https://api.accbooks.co.uk/v1/`` with a pasted API key, one company per key.

The wire is the sandbox's (``providers/accbooks/sandbox.py`` lists every choice where the document is
silent); the mapping to domain models is ``mapping.py``; errors are ``client_errors.py``.

- Auth: ``Authorization: Bearer <key>``. A key does not expire; a revoked one is ``AuthError`` (sign in
  again with a new key). A missing permission is ``PermissionDenied`` naming it (``invoices:write``).
- Pacing: ``providers.http.LIMITS["accbooks"]``: the pace starts at Starter's 60/min and follows the
  ``X-RateLimit-*`` headers from the first answer on, so a normal sync never meets a 429.
- Lists page with ``page``/``per_page`` (at most 100) in the service's order. Pages are fetched by
  position, so a record added or deleted before the position mid-list would shift the rest: when
  ``total_records`` changes, the position steps back by a page more than the change and the ids already
  yielded (the last 5,000) are skipped, so nothing is doubled, and nothing is missed unless more than a
  page of records before the position went between two pages.
- Change feed: ledger lines and bank transactions take ``since`` (an ISO date, from a page's cursor):
  ``/v1/transactions?from=`` lists lines dated on or after it. A line posted later with an earlier date
  is only seen by a full list (the service has no modification stamp on lines).
- Duplicate guard: AccBooks has none. An invoice create carries a tag of its idempotency key in
  ``reference`` (see ``mapping.py``), and ``find_created`` looks for it among the newest invoices. A
  contact has no free field, so a customer create is found by its content among the newest contacts,
  from what this client sent under the key (kept in memory: after a restart the look-up finds nothing).
  ``create`` itself looks up before resending when a connection drops after sending, so a create whose
  answer was lost is neither lost nor doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from providers.accbooks import mapping, pages
from providers.accbooks.client_errors import Unsupported, raise_for, service_message
from providers.base import (
    MODELS,
    AuthError,
    BadResponse,
    Capabilities,
    Company,
    Entity,
    NotFound,
    Operation,
    Page,
    PermissionDenied,
    ProviderError,
    ReportRequest,
    SignInKind,
    UnknownOutcome,
    ValidationError,
)
from providers.http import LIMITS, HttpSession, RateLimits, Reply, RetryPolicy, get_logger

log = get_logger(__name__)

BASE_URL = "https://api.accbooks.co.uk/v1/"
PER_PAGE_MAX = 100
_REPORTS = {"profit_loss": "profit-loss", "balance_sheet": "balance-sheet", "trial_balance": "trial-balance"}
_LOOKBACK_PAGES = 3  # newest pages searched by find_created (records made since by others push ours back)
_CREATE_ROUNDS = 3  # a create whose answer was lost: look up, then resend, at most this often
_RECENT_IDS = 5_000
_SENT_KEPT = 1_000  # contact bodies remembered for find_created
# A create answered 502/504 may have been done behind the proxy; with no duplicate guard it is looked up
# (create's own loop) rather than resent blindly. 429 and 503 are refusals: resent.
RETRY = RetryPolicy(any_method_statuses=frozenset({429, 503}))  # ids remembered by a list to skip the ones a shift brings back


def _missing() -> dict[tuple[Entity, Operation], str]:
    writes = (Operation.CREATE, Operation.UPDATE, Operation.DELETE)
    no_feed = "AccBooks has no change feed for these: a sync lists them whole"
    missing: dict[tuple[Entity, Operation], str] = {
        (Entity.CUSTOMERS, Operation.DELETE): "AccBooks' API cannot delete contacts: archive the customer instead",
        (Entity.INVOICES, Operation.VOID): "AccBooks' API cannot void an invoice: delete it, or void it in AccBooks",
        (Entity.INVOICES, Operation.PDF): "AccBooks' API does not serve invoice PDFs",
        (Entity.CUSTOMERS, Operation.CHANGES): no_feed,
        (Entity.INVOICES, Operation.CHANGES): no_feed,
        (Entity.BANK_ACCOUNTS, Operation.CHANGES): no_feed,
        (Entity.ACCOUNTS, Operation.CHANGES): no_feed,
    }
    for operation in Operation:
        missing[(Entity.CREDIT_NOTES, operation)] = (
            "AccBooks' API has no credit notes: raise an invoice with negative lines instead")
        missing[(Entity.PAYMENTS, operation)] = (
            "AccBooks' API has no payments: receipts show as bank transactions and in each invoice's amount paid")
    for operation in writes:
        missing[(Entity.BANK_ACCOUNTS, operation)] = "AccBooks' API only reads bank accounts"
        missing[(Entity.BANK_TRANSACTIONS, operation)] = (
            "AccBooks' API has no bank transactions of its own: they are read from the ledger")
        missing[(Entity.LEDGER_LINES, operation)] = (
            "Ledger lines come from invoices and journals; AccBooks' API does not edit them")
        missing[(Entity.ACCOUNTS, operation)] = "AccBooks' API cannot change the chart of accounts"
    return missing


CAPABILITIES = Capabilities(missing=_missing())


class Client:
    name = "accbooks"
    sign_in = SignInKind.API_KEY
    capabilities = CAPABILITIES

    def __init__(self, base_url: str, api_key: str, company_id: str | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None, limits: RateLimits | None = None,
                 retry: RetryPolicy | None = None, timeout: httpx.Timeout | float | None = None,
                 clock: Callable[[], float] | None = None, wall: Callable[[], float] | None = None,
                 sleep: Callable[[float], Any] | None = None):
        if not api_key or not api_key.strip():
            raise AuthError("Paste the AccBooks API key (Settings -> Integrations -> API -> Keys)")
        timing = {name: value for name, value in (("clock", clock), ("wall", wall), ("sleep", sleep))
                  if value is not None}
        self.http = HttpSession(base_url if base_url.endswith("/") else base_url + "/", service="AccBooks",
                                limits=limits or LIMITS["accbooks"], retry=retry or RETRY, timeout=timeout,
                                headers={"Authorization": f"Bearer {api_key.strip()}",
                                         "Accept": "application/json"},
                                transport=transport, error_message=service_message, **timing)
        self._sleep = sleep or asyncio.sleep
        self.company_id = company_id
        self._currency: str | None = None
        self._bank_codes: dict[str, str] | None = None  # nominal code -> bank account id
        self._sent: dict[str, dict] = {}  # idempotency key -> contact body, for find_created
        self._made: dict[str, str] = {}  # contact id -> the key whose create made it (not another's match)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- requests ---------------------------------------------------------------------------------------
    async def _call(self, method: str, path: str, what: str = "", **kwargs: Any) -> Reply:
        reply = await self.http.request(method, path, **kwargs)
        raise_for(reply, what)
        return reply

    async def _json(self, method: str, path: str, what: str = "", **kwargs: Any) -> Any:
        reply = await self._call(method, path, what, **kwargs)
        return reply.json()

    async def _object(self, method: str, path: str, what: str = "", **kwargs: Any) -> dict:
        body = await self._json(method, path, what, **kwargs)
        if not isinstance(body, dict):
            raise BadResponse(f"AccBooks sent {type(body).__name__} where {what or 'an object'} was expected")
        return body

    async def _record(self, method: str, path: str, what: str = "", **kwargs: Any) -> tuple[dict, str]:
        """One record and the hash of its raw text."""
        reply = await self._call(method, path, what, **kwargs)
        body = reply.json()
        if not isinstance(body, dict):
            raise BadResponse(f"AccBooks sent {type(body).__name__} where {what or 'a record'} was expected")
        return body, pages.digest(reply.body.decode("utf-8", "replace").strip())

    async def _page(self, path: str, params: dict[str, Any], per_page: int) -> tuple[list[dict], list[str], int, int]:
        reply = await self._call("GET", path, params=params)
        body, raws = pages.split_list(reply.body)
        data, total_pages, total = _page_parts(body, per_page)
        return data, raws, total_pages, total

    async def _pages(self, path: str, params: dict[str, Any], per_page: int
                     ) -> AsyncIterator[tuple[list[tuple[dict, str]], int]]:
        """Raw pages: ([(new record, hash of its raw text)], total_records)."""
        position, known_total = 0, None
        recent: deque[str] = deque(maxlen=_RECENT_IDS)
        recent_set: set[str] = set()
        ahead: tuple[int, asyncio.Future] | None = None  # the next page, asked for while this one is read
        try:
            while True:
                page = position // per_page + 1
                skip = position - (page - 1) * per_page
                if ahead is not None and ahead[0] == page:
                    data, raws, total_pages, total = await ahead[1]
                else:
                    if ahead is not None:
                        ahead[1].cancel()
                    data, raws, total_pages, total = await self._page(
                        path, {**params, "page": page, "per_page": per_page}, per_page)
                ahead = None
                if known_total is not None and total != known_total and position:
                    # Records came or went, maybe before our position (the count only tells the net
                    # change): step back a page more than it, so none is skipped; seen ids weed out repeats.
                    position = max(0, position - per_page - abs(total - known_total))
                    known_total = total
                    continue
                known_total = total
                last = len(data) < per_page or page >= total_pages
                if not last:
                    ahead = (page + 1, asyncio.ensure_future(self._page(
                        path, {**params, "page": page + 1, "per_page": per_page}, per_page)))
                fresh = []
                for raw, text in zip(data[skip:], raws[skip:], strict=True):
                    raw_id = raw.get("id")
                    if isinstance(raw_id, str):
                        if raw_id in recent_set:
                            continue
                        if len(recent) == recent.maxlen:
                            recent_set.discard(recent[0])
                        recent.append(raw_id)
                        recent_set.add(raw_id)
                    fresh.append((raw, pages.digest(text)))
                position = (page - 1) * per_page + len(data)
                yield fresh, total
                if last:
                    return
        finally:
            if ahead is not None:
                ahead[1].cancel()
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await ahead[1]

    # --- Provider ---------------------------------------------------------------------------------------
    async def companies(self) -> list[Company]:
        try:
            raw = await self._object("GET", "company", "the company")
        except PermissionDenied:
            if self.company_id is None:
                raise
            # The key may lack company:read; it still belongs to exactly one company.
            return [Company(id=self.company_id, name="AccBooks company", currency=self._currency or "GBP")]
        try:
            company = Company(id=str(raw["id"]), name=str(raw["name"]), currency=str(raw.get("currency") or "GBP"),
                              details={k: v for k, v in raw.items() if k not in ("id", "name", "currency")})
        except KeyError as error:
            raise BadResponse(f"AccBooks sent a company without {error}") from None
        self._currency = company.currency
        if self.company_id is None:
            self.company_id = company.id
        return [company]

    async def _company_currency(self) -> str:
        if self._currency is None:
            try:
                await self.companies()
            except PermissionDenied:
                self._currency = "GBP"
        return self._currency or "GBP"

    def _refuse(self, entity: Entity, operation: Operation) -> None:
        reason = self.capabilities.reason(entity, operation)
        if reason is not None:
            raise Unsupported(reason)

    async def list(self, entity: Entity, *, since: str | None = None, page_size: int | None = None
                   ) -> AsyncIterator[Page[Any]]:
        self._refuse(entity, Operation.LIST)
        if since is not None:
            self._refuse(entity, Operation.CHANGES)
        per_page = max(1, min(page_size or PER_PAGE_MAX, PER_PAGE_MAX))
        if entity is Entity.CUSTOMERS:
            async for raws, _total in self._pages("contacts", {}, per_page):
                yield Page([mapping.read("a contact", mapping.customer, raw, digest) for raw, digest in raws
                            if raw.get("type") == "customer"])
        elif entity is Entity.INVOICES:
            async for raws, total in self._pages("invoices", {}, per_page):
                yield Page([mapping.read("an invoice", mapping.invoice, raw, digest) for raw, digest in raws],
                           total=total)
        elif entity is Entity.BANK_ACCOUNTS:
            async for raws, total in self._pages("bank_accounts", {}, per_page):
                yield Page([mapping.read("a bank account", mapping.bank_account, raw, digest)
                            for raw, digest in raws], total=total)
        elif entity is Entity.LEDGER_LINES:
            currency = await self._company_currency()
            params = {"from": _date_param(since)} if since else {}
            async for raws, total in self._pages("transactions", params, per_page):
                lines = [mapping.read("a ledger line", mapping.ledger_line, raw, digest, currency=currency)
                         for raw, digest in raws]
                since = max([since or "", *(line.date.isoformat() for line in lines)]) or None
                yield Page(lines, cursor=since, total=total)
        elif entity is Entity.BANK_TRANSACTIONS:
            async for page in self._bank_transactions(since, per_page):
                yield page
        elif entity is Entity.ACCOUNTS:
            yield Page(await self._accounts())
        else:
            raise Unsupported(f"AccBooks has no {entity.value}")

    async def _bank_transactions(self, since: str | None, per_page: int) -> AsyncIterator[Page[Any]]:
        currency = await self._company_currency()
        codes = await self._bank_accounts_by_code()
        cursor = since
        for code, bank_id in codes.items():
            params = {"account_id": code, **({"from": _date_param(since)} if since else {})}
            async for raws, _total in self._pages("transactions", params, per_page):
                items = [mapping.read("a bank transaction", mapping.bank_transaction, raw, digest,
                                      bank_account_id=bank_id, currency=currency) for raw, digest in raws]
                # Accounts are listed one after another, so the cursor is only safe once all are done.
                yield Page(items)
                cursor = max([cursor or "", *(item.date.isoformat() for item in items)]) or None
        yield Page([], cursor=cursor)

    async def _bank_accounts_by_code(self) -> dict[str, str]:
        if self._bank_codes is None:
            found: dict[str, str] = {}
            async for raws, _total in self._pages("bank_accounts", {}, PER_PAGE_MAX):
                for raw, _digest in raws:
                    code, bank_id = raw.get("nominal_code"), raw.get("id")
                    if not (isinstance(code, str) and isinstance(bank_id, str)):
                        raise BadResponse("AccBooks sent a bank account without its id or nominal code")
                    found[code] = bank_id
            self._bank_codes = found
        return self._bank_codes

    async def _accounts(self) -> list[Any]:
        report = await self._object("GET", "reports/trial-balance", "the trial balance",
                                    params={"from": "1900-01-01", "to": dt.date.today().isoformat(),
                                            "format": "json"})
        rows = report.get("accounts")
        if not isinstance(rows, list):
            raise BadResponse("AccBooks sent a trial balance without its accounts")
        return [mapping.read("an account", mapping.account, row) for row in rows]

    async def get(self, entity: Entity, remote_id: str) -> Any:
        self._refuse(entity, Operation.GET)
        if entity is Entity.ACCOUNTS:
            for found in await self._accounts():
                if found.remote_id == remote_id:
                    return found
            raise NotFound(f"Account {remote_id} was not found at AccBooks (or has nothing on it)")
        raw, digest = await self._record("GET", _item_path(entity, remote_id), f"{entity.value} {remote_id}")
        return await self._read_one(entity, raw, digest)

    async def _read_one(self, entity: Entity, raw: dict, digest: str | None = None) -> Any:
        if entity is Entity.CUSTOMERS:
            if raw.get("type") not in (None, "customer"):
                raise NotFound(f"Contact {raw.get('id')} is a supplier, not a customer")
            return mapping.read("a contact", mapping.customer, raw, digest)
        if entity is Entity.INVOICES:
            return mapping.read("an invoice", mapping.invoice, raw, digest)
        if entity is Entity.BANK_ACCOUNTS:
            return mapping.read("a bank account", mapping.bank_account, raw, digest)
        currency = await self._company_currency()
        if entity is Entity.LEDGER_LINES:
            return mapping.read("a ledger line", mapping.ledger_line, raw, digest, currency=currency)
        codes = await self._bank_accounts_by_code()
        bank_id = codes.get(raw.get("account_id")) if isinstance(raw.get("account_id"), str) else None
        if bank_id is None:
            raise NotFound(f"Transaction {raw.get('id')} is not on a bank account")
        return mapping.read("a bank transaction", mapping.bank_transaction, raw, digest, bank_account_id=bank_id,
                            currency=currency)

    async def create(self, entity: Entity, record: Any, *, idempotency_key: str) -> Any:
        self._refuse(entity, Operation.CREATE)
        body = self._write_body(entity, record, idempotency_key)
        if entity is Entity.CUSTOMERS:
            self._sent[idempotency_key] = body
            while len(self._sent) > _SENT_KEPT:
                self._sent.pop(next(iter(self._sent)))
            while len(self._made) > _SENT_KEPT:
                self._made.pop(next(iter(self._made)))
        path = _collection_path(entity)
        for round_ in range(1, _CREATE_ROUNDS + 1):
            try:
                raw, digest = await self._record("POST", path, f"the new {entity.value}", json=body)
                made = await self._read_one(entity, raw, digest)
                if entity is Entity.CUSTOMERS:
                    self._made[made.remote_id] = idempotency_key
                return made
            except UnknownOutcome as lost:
                log.info("AccBooks create of %s: %s; looking it up before sending again", entity.value, lost.message)
                await self._sleep(min(2.0, 0.25 * round_))
                try:
                    found = await self.find_created(entity, idempotency_key)
                except ProviderError:  # the look-up failed too: the outcome stays unknown, for the caller
                    raise lost from None
                if found is not None:
                    return found
                if round_ == _CREATE_ROUNDS:
                    raise
        raise AssertionError("unreachable")

    async def find_created(self, entity: Entity, idempotency_key: str) -> Any | None:
        self._refuse(entity, Operation.CREATE)
        if entity is Entity.INVOICES:
            tag = mapping.key_tag(idempotency_key)

            def matches(raw: dict) -> bool:
                reference = raw.get("reference")
                return isinstance(reference, str) and mapping.split_reference(reference)[1] == tag
        else:
            sent = self._sent.get(idempotency_key)
            if sent is None:
                log.warning("AccBooks keeps no reference on contacts: a customer create from before this "
                            "session cannot be looked up")
                return None

            def matches(raw: dict) -> bool:
                made_by = self._made.get(raw.get("id"), idempotency_key)
                return made_by == idempotency_key and raw.get("type") == "customer" and _same_contact(raw, sent)

        found = await self._newest(_collection_path(entity), matches)
        return None if found is None else await self._read_one(entity, *found)

    async def _newest(self, path: str, matches: Callable[[dict], bool]) -> tuple[dict, str] | None:
        """The newest record that ``matches``, among the last few pages of the list (creation order)."""
        first = await self._page(path, {"page": 1, "per_page": PER_PAGE_MAX}, PER_PAGE_MAX)
        total_pages = first[2]
        for page in range(total_pages, max(0, total_pages - _LOOKBACK_PAGES), -1):
            data, raws, _pages, _total = first if page == 1 else await self._page(
                path, {"page": page, "per_page": PER_PAGE_MAX}, PER_PAGE_MAX)
            for raw, text in zip(reversed(data), reversed(raws), strict=True):
                if matches(raw):
                    return raw, pages.digest(text)
        return None

    async def update(self, entity: Entity, record: Any) -> Any:
        self._refuse(entity, Operation.UPDATE)
        if not record.remote_id:
            raise ValidationError(f"This {entity.value.rstrip('s')} has not reached AccBooks yet: create it first")
        body = self._write_body(entity, record, None)
        raw, digest = await self._record("PUT", _item_path(entity, record.remote_id),
                                         f"{entity.value} {record.remote_id}", json=body)
        return await self._read_one(entity, raw, digest)

    async def delete(self, entity: Entity, remote_id: str) -> None:
        self._refuse(entity, Operation.DELETE)
        reply = await self.http.request("DELETE", _item_path(entity, remote_id))
        if reply.status == 404 and reply.attempts > 1:
            return  # an earlier try did it; its answer was lost
        raise_for(reply, f"{entity.value} {remote_id}")

    async def report(self, request: ReportRequest) -> dict[str, Any]:
        name = _REPORTS.get(request.kind)
        if name is None:
            raise Unsupported(f"AccBooks' API has no {request.kind.replace('_', ' ')} report: it is worked out "
                              "from the synced invoices and ledger instead")
        params = {"format": "json"}
        if request.date_from:
            params["from"] = request.date_from.isoformat()
        if request.date_to:
            params["to"] = request.date_to.isoformat()
        return await self._object("GET", f"reports/{name}", f"the {name} report", params=params)

    # --- bodies -----------------------------------------------------------------------------------------
    def _write_body(self, entity: Entity, record: Any, idempotency_key: str | None) -> dict:
        model = MODELS[entity]
        if not isinstance(record, model):
            raise ValidationError(f"Expected a {model.__name__} for {entity.value}, not {type(record).__name__}")
        if entity is Entity.CUSTOMERS:
            return mapping.contact_body(record, creating=idempotency_key is not None)
        if entity is Entity.INVOICES:
            return mapping.invoice_body(record, idempotency_key=idempotency_key, creating=idempotency_key is not None)
        raise Unsupported(f"AccBooks' API cannot write {entity.value}")


# --- helpers --------------------------------------------------------------------------------------------

_PATHS = {Entity.CUSTOMERS: "contacts", Entity.INVOICES: "invoices", Entity.BANK_ACCOUNTS: "bank_accounts",
          Entity.LEDGER_LINES: "transactions", Entity.BANK_TRANSACTIONS: "transactions"}


def _collection_path(entity: Entity) -> str:
    try:
        return _PATHS[entity]
    except KeyError:
        raise Unsupported(f"AccBooks has no {entity.value}") from None


def _item_path(entity: Entity, remote_id: str) -> str:
    if not remote_id or "/" in remote_id or "?" in remote_id or "#" in remote_id:
        raise NotFound(f"{remote_id!r} is not an AccBooks id")
    return f"{_collection_path(entity)}/{remote_id}"


def _page_parts(body: dict, per_page: int) -> tuple[list[dict], int, int]:
    data, meta = body.get("data"), body.get("meta")
    if not isinstance(data, list) or not isinstance(meta, dict):
        raise BadResponse("AccBooks sent a list without its data and meta")
    total_pages, total = meta.get("total_pages"), meta.get("total_records")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (total_pages, total)):
        raise BadResponse("AccBooks sent a list whose page counts are not whole numbers")
    if len(data) > per_page or not all(isinstance(item, dict) for item in data):
        raise BadResponse("AccBooks sent a page that does not hold the records asked for")
    return data, total_pages, total


def _date_param(since: str) -> str:
    try:
        return dt.date.fromisoformat(since[:10]).isoformat()
    except ValueError:
        raise ValidationError(f"{since!r} is not a cursor from an AccBooks list") from None


_CONTACT_COMPARED = ("name", "contact_name", "email", "phone", "vat_number", "company_number", "currency")


def _same_contact(raw: dict, sent: dict) -> bool:
    if any(raw.get(name) != sent.get(name) for name in _CONTACT_COMPARED):
        return False
    address = raw.get("address") if isinstance(raw.get("address"), dict) else {}
    return all(address.get(name) == value for name, value in (sent.get("address") or {}).items())

