"""The AccountsIQ client: the Integration 2.0 SOAP service, one entity (company) per client.

What the service gives and how the client copes (the sandbox's docstring lists the wire choices):

- One endpoint per region (``endpoint("uk1")``), every call a SOAP 1.1 POST with its ``SOAPAction``. Reads
  are safe to repeat, so the shared HTTP layer retries them on dropped connections, 5xx and 429; writes
  (Save, Post, Update, Delete) are not: a write whose answer is lost is ``UnknownOutcome``.
- Sign-in: client id + secret -> ``TokenGet``; every call carries ``AiqSoapHeader`` (Entity + AccessToken).
  ``HasExpired`` (or an unknown token) -> renew (``tokens``) and send the same call once more: the
  service checks the token before anything else, so even a write is safe to resend then.
- Refusals: HTTP 200, ``Status`` Failure, typed by ``errors`` with ``ErrorMessage`` verbatim. SOAP Faults
  (HTTP 500) likewise. An answer that is not a readable SOAP answer is a ``BadResponse``; for a read it is
  asked for again twice first (a body cut short by a proxy), for a write it is ``UnknownOutcome``.
- Pacing: 100 requests a second per user (the FAQ): clients of one client id share a pacer.
- Lists: ``paging`` (Skip/Limit with an overlap, one page read ahead); the change-feed cursor is the HTTP
  ``Date`` of the first page less an overlap. Answers over 256 KB are parsed and converted on a worker
  thread, so the event loop (the window) keeps ticking.
- Creates carry the idempotency key: documents as ``ExternalReference`` ``ld:<key>`` (unique per entity,
  found with ``Get...ByExternalReference``), customers in their code (``mapping.customer_code``). A create
  whose answer is lost is looked up by the key and sent again only if it is not there; one refused as a
  duplicate of its own key is the earlier create, returned as such. So a create is never doubled.
- Posting: a document created or updated with status approved/posted/paid is saved, then posted
  (``Post...GetBackTransactionID``). A posted document cannot change: the service's
  ``TRANSACTION_IS_NOT_EDITABLE`` reaches the user as ``Conflict`` with its own sentence.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar
from xml.etree.ElementTree import Element

import httpx

from app.domain import Classification, Customer, DocumentStatus, SalesDocument
from providers.accountsiq import envelope, mapping, reading, reports
from providers.accountsiq.capabilities import CAPABILITIES, Unsupported
from providers.accountsiq.envelope import (
    MAX_DATE,
    MIN_DATE,
    NS,
    Answer,
    Fault,
    el,
    ints,
    members,
    strings,
)
from providers.accountsiq.errors import (
    CODE_IN_USE,
    DUPLICATE_REFERENCE,
    TOKEN_EXPIRED,
    error_for,
    fault_error,
    is_token_problem,
)
from providers.accountsiq.paging import Fetched, cursor_from, offset_pages, since_text
from providers.accountsiq.tokens import OnTokens, Tokens
from providers.base import (
    AuthError,
    BadResponse,
    Company,
    Conflict,
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
from providers.http import HttpSession, Pacer, RateLimits, Reply, RetryPolicy, get_logger, limits_for

log = get_logger(__name__)

ENDPOINT_PATH = "/system/dashboard/integration/integration_2_0.asmx"
REGIONS = ("us1", "eu1", "eu2", "uk1")
MAX_PAGE = 1_000  # GetInvoicesBy's largest page: a bigger Limit is cut to it
DEFAULT_PAGE_SIZE = 1_000
MAX_BODY = 128 * 1024 * 1024  # a large entity's whole customer list is tens of megabytes
_OFF_LOOP = 256 * 1024
_READ_TRIES = 3
_WRITE_TRIES = 3
_OVERLAP = 4  # invoices each GetInvoicesBy page repeats of the one before (see ``paging``)
_CUSTOMER_LOOKUPS = 20  # more unknown customers than this in a page: read the whole list instead
_XML = "text/xml; charset=utf-8"
_POSTED = (DocumentStatus.APPROVED, DocumentStatus.POSTED, DocumentStatus.PAID)
_PACERS: weakref.WeakValueDictionary[str, Pacer] = weakref.WeakValueDictionary()
# The documented 100 requests a second, paced a little below it and without the shared table's burst:
# the service counts any one second (a sliding window, as the sandbox does), so 20 at once plus 100 a
# second would be refused, and so would 100 evenly spaced ones that arrive bunched by the network.
_LIMITS = limits_for("accountsiq", rate=95.0, burst=1)
T = TypeVar("T")


def endpoint(region: str) -> str:
    """The service's address in one of AccountsIQ's regions."""
    if region not in REGIONS:
        raise ValidationError(f"“{region}” is not an AccountsIQ region (choose one of {', '.join(REGIONS)}).")
    return f"https://{region}.accountsiq.com{ENDPOINT_PATH}"


@dataclass(frozen=True, slots=True)
class _Kind:
    """What differs between invoices and credit notes on the wire."""

    type: str
    element: str  # the list element of Get...ByExternalReference
    get: str
    get_param: str
    new: str
    save: str
    save_param: str
    save_out: str
    post: str
    by_reference: str
    subject: tuple[str, ...] = ("INVOICE_ID_DOES_NOT_EXIST", "INVOICE_TYPE_INCORRECT")


_KINDS = {
    Entity.INVOICES: _Kind("Invoice", "Invoice", "GetInvoice", "invoiceID", "GetNewSalesInvoice",
                           "SaveInvoiceGetBackInvoiceID", "invoice", "invoiceID", "PostInvoiceGetBackTransactionID",
                           "GetInvoicesByExternalReference"),
    Entity.CREDIT_NOTES: _Kind("Note", "CreditNote", "GetCreditNote", "creditNoteID", "GetNewSalesCreditNote",
                               "SaveCreditNoteGetBackCreditNoteID", "creditNote", "creditNoteID",
                               "PostCreditNoteGetBackTransactionID", "GetCreditNotesByExternalReference"),
}
_TRANSACTION_ENTITIES = (Entity.LEDGER_LINES, Entity.BANK_TRANSACTIONS, Entity.PAYMENTS)


class Client:
    name = "accountsiq"
    sign_in = SignInKind.CLIENT_CREDENTIALS
    capabilities = CAPABILITIES

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        company_id: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        on_tokens: OnTokens | None = None,
        currency: str = "GBP",
        page_size: int = DEFAULT_PAGE_SIZE,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        limits: RateLimits | None = None,
        today: Callable[[], dt.date] | None = None,
    ):
        url = httpx.URL(base_url)
        path = url.path if url.path.lower().endswith(".asmx") else url.path.rstrip("/") + ENDPOINT_PATH
        self.tokens = Tokens(client_id, client_secret, access_token=access_token, refresh_token=refresh_token,
                             on_tokens=on_tokens)
        pacer = None
        if limits is None:
            # The limit is per user (the client id): every entity's client of one sign-in shares it.
            pacer = _PACERS.get(self.tokens.client_id.lower())
            if pacer is None:
                pacer = Pacer(_LIMITS)
                _PACERS[self.tokens.client_id.lower()] = pacer
        self.http = HttpSession(str(url.copy_with(path="/", query=None, fragment=None)), service="AccountsIQ",
                                limits=limits or _LIMITS, pacer=pacer, retry=retry,
                                timeout=timeout, transport=transport, max_body=MAX_BODY,
                                error_message=_fault_message)
        self._path = path
        self.company_id = company_id.strip()
        self.currency = currency.upper()
        self.page_size = max(1, page_size)
        self._today = today or dt.date.today
        self._terms: dict[str, mapping.Term] | None = None
        self._customer_terms: dict[str, str | None] = {}  # customer code -> CreditTermID
        self._codes: dict[int, str] = {}  # AccountID -> customer code
        self._account_ids: dict[str, int] = {}

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- the wire --------------------------------------------------------------------------------------
    async def call(self, method: str, body: str = "", *, write: bool = False, subject: Iterable[str] = (),
                   extract: Callable[[Answer], Any] | None = None) -> Answer:
        """One method for this entity, signed in; a token the service calls expired is renewed and the
        call sent once more. Raises the typed error of a refusal. ``extract(answer)`` runs where the
        answer is parsed (a worker thread for a big one); its result is ``answer.extracted`` and the
        parsed tree is dropped at once."""
        for attempt in (1, 2):
            token, generation = await self.tokens.current(self._sign_in_call)
            answer = await self._send(method, envelope.request(method, body, self.company_id, token), write,
                                      extract)
            if answer.ok:
                return answer
            if attempt == 1 and is_token_problem(answer):
                log.info("AccountsIQ %s: the access token is no longer accepted (%s); renewing it", method,
                         answer.code)
                await self.tokens.renew(generation, self._sign_in_call,
                                        refresh=answer.has_expired or answer.code == TOKEN_EXPIRED)
                continue
            raise error_for(answer, write=write, subject=tuple(subject))
        raise AssertionError("not reached")

    async def _sign_in_call(self, method: str, body: str) -> Answer:
        # Issuing tokens changes no books: safe to repeat after a lost answer (a spent refresh token
        # then fails and the sign-in falls back to TokenGet).
        return await self._send(method, envelope.request(method, body, None, None), write=False)

    async def _send(self, method: str, payload: bytes, write: bool,
                    extract: Callable[[Answer], Any] | None = None) -> Answer:
        tries = 1 if write else _READ_TRIES
        for attempt in range(1, tries + 1):
            reply = await self.http.request("POST", self._path, content=payload, idempotent=not write,
                                            headers={"Content-Type": _XML, "SOAPAction": NS + method},
                                            pass_statuses=(500,))
            _check_status(reply, method)
            try:
                if len(reply.body) > _OFF_LOOP:
                    answer = await asyncio.to_thread(reading.paused, reading.read, reply, method, extract)
                else:
                    answer = reading.read(reply, method, extract)
            except reading.ExtractionFailed as failed:
                raise failed.error from None
            except BadResponse as error:
                if write:
                    raise UnknownOutcome(f"{error.message}: whether {method} was done is not known.",
                                         status=reply.status) from None
                if attempt < tries:
                    log.info("AccountsIQ %s: unreadable answer (%s); asking again", method, error.message)
                    continue
                raise
            if isinstance(answer, Fault):
                raise fault_error(answer, method, write=write, status=reply.status)
            return answer
        raise AssertionError("not reached")

    @staticmethod
    async def _off_loop(function: Callable[..., T], *args: Any, big: bool = True) -> T:
        """Convert records; on a worker thread when there are many (the window keeps ticking)."""
        try:
            if big:
                return await asyncio.to_thread(reading.paused, function, *args)
            return function(*args)
        except mapping.MappingProblem as problem:
            raise BadResponse(str(problem), detail={"remote_id": problem.remote_id}) from None
        except reading.READING_ERRORS as error:
            raise BadResponse(f"AccountsIQ sent an answer that cannot be read ({error})") from None

    # --- companies -------------------------------------------------------------------------------------
    @reading.guarded
    async def companies(self) -> list[Company]:
        """The entities this sign-in reaches (``GetEntitiesByToken``, in the 2.0 WSDL); where the service
        does not have it, the one entity this client was made for (``GetCompanyInformation``)."""
        try:
            answer = await self.call("GetEntitiesByToken")
        except ValidationError as error:  # a soap:Client fault: the method is not there
            log.info("AccountsIQ GetEntitiesByToken refused (%s); reading this entity only", error.message)
            info = await self._off_loop(Answer.result_members, await self.call("GetCompanyInformation"), big=False)
            return [Company(id=self.company_id, name=envelope.text_of(info, "CompanyName") or self.company_id,
                            currency=envelope.text_of(info, "BaseCurrencyCode") or self.currency)]
        companies = []
        for item in answer.items("WSEntity"):
            record = members(item)
            ident = envelope.text_of(record, "EntityID")
            if not ident:
                raise BadResponse("AccountsIQ listed an entity without an EntityID")
            companies.append(Company(id=ident, name=envelope.text_of(record, "EntityName") or ident,
                                     currency=(envelope.text_of(record, "BaseCurrency") or self.currency).upper()))
        return companies

    # --- lists -----------------------------------------------------------------------------------------
    def _check(self, entity: Entity, operation: Operation) -> None:
        if not isinstance(entity, Entity):
            raise Unsupported(f"{entity!r} is not something Ledgerdesk keeps.")
        reason = self.capabilities.reason(entity, operation)
        if reason is not None:
            raise Unsupported(reason)

    async def list(self, entity: Entity, *, since: str | None = None, page_size: int | None = None
                   ) -> AsyncIterator[Page[Any]]:
        try:
            async for page in self._list(entity, since, page_size):
                yield page
        except ProviderError:
            raise
        except reading.READING_ERRORS as error:
            raise reading.unexpected(error, "list") from error

    async def _list(self, entity: Entity, since: str | None, page_size: int | None) -> AsyncIterator[Page[Any]]:
        self._check(entity, Operation.LIST)
        if since is not None:
            # Without a change feed "what changed" is everything: the caller compares payload hashes.
            since = since_text(since) if self.capabilities.supports(entity, Operation.CHANGES) else None
        size = max(1, page_size or self.page_size)
        if entity in _KINDS:
            pages = self._list_documents(_KINDS[entity], since, size)
        elif entity is Entity.CUSTOMERS:
            pages = self._list_customers(since, size)
        elif entity is Entity.BANK_ACCOUNTS:
            pages = self._list_whole(self._bank_accounts(), size)
        elif entity is Entity.ACCOUNTS:
            pages = self._list_whole(self._accounts(), size)
        else:
            pages = self._list_transactions(entity, since, size)
        async for page in pages:
            yield page

    async def _list_documents(self, kind: _Kind, since: str | None, size: int) -> AsyncIterator[Page[Any]]:
        limit = min(size + _OVERLAP, MAX_PAGE)
        cursor: str | None = None
        query = strings("TypesFilter", [kind.type]) + el("OrderBy", "InvoiceID") \
            + el("Limit", limit) + el("FromLastModifiedDateInUTC", since)

        async def fetch(skip: int) -> Fetched[reading.Head]:
            nonlocal cursor
            answer = await self.call("GetInvoicesBy", f"<query>{el('Skip', skip)}{query}</query>",
                                     extract=reading.DOCUMENT_HEADS)
            if cursor is None:
                cursor = cursor_from(answer.date)
            heads = answer.extracted
            return Fetched(heads, [head.record.get("InvoiceID") for head in heads])

        await self._credit_terms()
        yielded = False
        async for fresh in offset_pages(fetch, limit=limit, overlap=_OVERLAP):
            await self._know_customers(fresh)
            for start in range(0, len(fresh), size):
                heads = fresh[start:start + size]
                documents = await self._off_loop(self._documents, heads, big=len(heads) > 50)
                yielded = True
                yield Page(documents, cursor=cursor)
        if not yielded:
            yield Page([], cursor=cursor)

    def _documents(self, heads: list[reading.Head]) -> list[SalesDocument]:
        code_of, term_of, currency = self._codes.get, self._term_of, self.currency
        return [mapping.document_from_wire(head.record, head.lines, head.hashed,
                                           customer_code_of=code_of, term_of=term_of, currency=currency)
                for head in heads]

    def _term_of(self, code: str) -> mapping.Term | None:
        term = self._customer_terms.get(code)
        return None if term is None or self._terms is None else self._terms.get(term)

    async def _credit_terms(self) -> None:
        if self._terms is None:
            answer = await self.call("GetCreditTermList")
            found = await self._off_loop(lambda a: dict(mapping.term_from_wire(members(item))
                                                        for item in a.items("CreditTerm")), answer, big=False)
            self._terms = found

    async def _know_customers(self, heads: list[reading.Head]) -> None:
        """Make sure every document's customer (for its due date, and its code where the record lacks it)
        is known: a few are read one by one, many by reading the whole list once."""
        unknown_codes = {code for head in heads if (code := envelope.text_of(head.record, "AccountCode"))
                         and code not in self._customer_terms}
        unknown_ids = {_int_or_zero(head.record.get("AccountID")) for head in heads
                       if not envelope.text_of(head.record, "AccountCode")} - set(self._codes) - {0}
        if not unknown_codes and not unknown_ids:
            return
        if unknown_ids or len(unknown_codes) > _CUSTOMER_LOOKUPS:
            await self._customer_records()
            return
        for code in sorted(unknown_codes):
            try:
                answer = await self.call("GetCustomer", el("customerCode", code))
            except NotFound:
                self._customer_terms[code] = None  # gone since: no due date, but the document is read
                continue
            self._remember([(members(answer.result), "")] if answer.result is not None else [])

    def _remember(self, records: Iterable[tuple[dict[str, str | None], str]]) -> None:
        for record, _ in records:
            code = envelope.text_of(record, "Code")
            if code:
                self._customer_terms[code] = mapping.customer_term(record)
                account_id = _int_or_zero(record.get("AccountID"))
                if account_id:
                    self._codes[account_id] = code
                    self._account_ids[code] = account_id

    async def _customer_records(self, since: str | None = None) -> tuple[list[tuple[dict, str]], str]:
        """Every customer (or those changed since), as (members, payload hash), and the cursor."""
        if since is None:
            answer = await self.call("GetCustomerList", extract=reading.records_of("Customer"))
        else:
            answer = await self.call("GetCustomersBy", "<query><Emails />" + el("FromLastModifiedDateInUTC", since)
                                     + "</query>", extract=reading.records_of("Customer"))
        records = answer.extracted
        self._remember(records)
        return records, cursor_from(answer.date)

    async def _list_customers(self, since: str | None, size: int) -> AsyncIterator[Page[Any]]:
        records, cursor = await self._customer_records(since)
        currency = self.currency
        total = len(records)
        if not records:
            yield Page([], cursor=cursor, total=0)
        for start in range(0, total, size):
            chunk = records[start:start + size]
            customers = await self._off_loop(
                lambda rows: [mapping.customer_from_wire(record, hashed, currency) for record, hashed in rows],
                chunk, big=len(chunk) > 50)
            yield Page(customers, cursor=cursor, total=total)

    async def _list_whole(self, records: Awaitable[list[Any]], size: int) -> AsyncIterator[Page[Any]]:
        items = await records
        if not items:
            yield Page([], total=0)
        for start in range(0, len(items), size):
            yield Page(items[start:start + size], total=len(items))

    async def _accounts(self) -> list[Any]:
        answer = await self.call("GetChartOfAccounts")
        records = await self._off_loop(reading.records, answer, "WSChartOfAccountLine", big=False)
        return await self._off_loop(lambda rows: [mapping.account_from_wire(r, h) for r, h in rows], records,
                                    big=False)

    async def _bank_accounts(self) -> list[Any]:
        answer = await self.call("GetBankList")
        records = await self._off_loop(reading.records, answer, "Bank", big=False)
        today = self._today()
        accounts = []
        for record, hashed in records:
            code = envelope.text_of(record, "Code")
            balance = await self._bank_balance(code, today)
            version = mapping.raw_hash(f"{hashed}|{balance}".encode())
            accounts.append(await self._off_loop(mapping.bank_account_from_wire, record, balance, version,
                                                 self.currency, big=False))
        return accounts

    async def _bank_balance(self, code: str, day: dt.date) -> Decimal:
        answer = await self.call("GetBankAccountBalance", el("GLAccountCode", code) + el("pointInTime", day),
                                 subject=("BANK_ACCOUNT_DOES_NOT_EXIST",))
        return await self._off_loop(lambda a: envelope.decimal_of(a.result_members(), "Balance"), answer, big=False)

    async def _list_transactions(self, entity: Entity, since: str | None, size: int,
                                 ids: Iterable[int] = ()) -> AsyncIterator[Page[Any]]:
        cursor: str | None = None
        types = ["SR", "PP"] if entity is Entity.PAYMENTS else []
        query = (el("FromDate", since or MIN_DATE) + el("ToDate", MAX_DATE) + el("FromCreationDate", MIN_DATE)
                 + el("ToCreationDate", MAX_DATE) + strings("TypesFilter", types)
                 + ints("TransactionIDsFilter", ids) + el("ExcludeReconciliationInformation", False))

        async def fetch(skip: int) -> Fetched[reading.Head]:
            nonlocal cursor
            answer = await self.call("GetTransactionsModifiedBy", f"<query>{query}{el('Skip', skip)}</query>",
                                     extract=reading.TRANSACTION_HEADS)
            if cursor is None:
                cursor = cursor_from(answer.date)
            heads = answer.extracted
            return Fetched(heads, [head.record.get("TransactionID") for head in heads])

        convert = reading.TRANSACTION_CONVERTERS[entity]
        currency = self.currency
        pending: list[Any] = []
        yielded = False
        async for heads in offset_pages(fetch, limit=None, overlap=16):
            pending.extend(await self._off_loop(convert, heads, currency, big=len(heads) > 50))
            while len(pending) >= size:
                yield Page(pending[:size], cursor=cursor)
                pending = pending[size:]
                yielded = True
        if pending or not yielded:
            yield Page(pending, cursor=cursor)

    # --- get -------------------------------------------------------------------------------------------
    @reading.guarded
    async def get(self, entity: Entity, remote_id: str) -> Any:
        self._check(entity, Operation.GET)
        if entity is Entity.CUSTOMERS:
            return await self._customer(_text_id(remote_id, "customer"))
        if entity in _KINDS:
            return await self._document(_KINDS[entity], _number_id(remote_id, "document"))
        if entity in (Entity.BANK_ACCOUNTS, Entity.ACCOUNTS):
            wanted = _text_id(remote_id, "account")
            found = await (self._bank_accounts() if entity is Entity.BANK_ACCOUNTS else self._accounts())
            for item in found:
                if item.remote_id == wanted:
                    return item
            raise NotFound(f"There is no {'bank account' if entity is Entity.BANK_ACCOUNTS else 'GL account'} "
                           f"{wanted} in AccountsIQ.")
        transaction, _, line = str(remote_id).partition(".")
        txn = _number_id(transaction, "transaction")
        async for page in self._list_transactions(entity, None, 10_000, ids=[txn]):
            for item in page.items:
                if entity is not Entity.LEDGER_LINES or item.remote_id == str(remote_id):
                    return item
        what = {Entity.LEDGER_LINES: "ledger line", Entity.BANK_TRANSACTIONS: "bank transaction",
                Entity.PAYMENTS: "receipt or payment"}[entity]
        raise NotFound(f"There is no {what} {remote_id} in AccountsIQ" + ("." if not line else
                                                                          f" (transaction {txn})."))

    async def _customer(self, code: str) -> Customer:
        answer = await self.call("GetCustomer", el("customerCode", code), subject=("CUSTOMER_CODE_DOES_NOT_EXIST",))
        record, hashed = await self._off_loop(reading.result_record, answer, big=False)
        self._remember([(record, hashed)])
        return await self._off_loop(mapping.customer_from_wire, record, hashed, self.currency, big=False)

    async def _document(self, kind: _Kind, document_id: int) -> SalesDocument:
        answer = await self._document_answer(kind, document_id)
        return await self._document_of(answer)

    async def _document_answer(self, kind: _Kind, document_id: int) -> Answer:
        return await self.call(kind.get, el(kind.get_param, document_id), subject=kind.subject)

    async def _document_of(self, answer: Answer) -> SalesDocument:
        if answer.result is None:
            raise BadResponse(f"AccountsIQ's answer to {answer.method} has no Result")
        record, hashed = await self._off_loop(reading.result_record, answer, big=False)
        head = reading.Head(record, mapping.line_records(answer.result), hashed)
        await self._credit_terms()
        await self._know_customers([head])
        return (await self._off_loop(self._documents, [head], big=False))[0]

    # --- create ----------------------------------------------------------------------------------------
    @reading.guarded
    async def create(self, entity: Entity, record: Any, *, idempotency_key: str) -> Any:
        self._check(entity, Operation.CREATE)
        key = _key(idempotency_key)
        if entity is Entity.CUSTOMERS:
            return await self._create_customer(_expect(record, Customer, "a customer"), key)
        kind = _KINDS[entity]
        document = _expect_document(record, entity)
        if document.status is DocumentStatus.VOID:
            raise ValidationError("A new document cannot be void in AccountsIQ: save it as a draft or post it.")
        reference = mapping.key_reference(key)
        document_id = await self._save_new(kind, document, reference)
        if document.status in _POSTED:
            await self._post(kind, document_id)
        return await self._document(kind, document_id)

    async def _save_new(self, kind: _Kind, document: SalesDocument, reference: str) -> int:
        code = document.customer_remote_id
        if not code:
            raise ValidationError("Choose a customer that is in AccountsIQ for this document.")
        try:
            shell = await self.call(kind.new, el("customerCode", code))
        except NotFound as error:  # the customer the document names: the data is wrong, not the address
            raise ValidationError(error.message, detail=error.detail) from None
        if shell.result is None:
            raise BadResponse(f"AccountsIQ's answer to {kind.new} has no Result")
        element = shell.result
        _apply(lambda: mapping.apply_document(element, document, external_reference=reference, customer=None,
                                              version=None))
        body = f"<{kind.save_param}>{_inner(element)}</{kind.save_param}>{el('create', True)}"
        for attempt in range(1, _WRITE_TRIES + 1):
            try:
                answer = await self.call(kind.save, body, write=True)
            except UnknownOutcome as error:
                found = await self._by_reference(kind, reference)
                if found is not None:
                    log.info("AccountsIQ %s: the answer was lost but the document was saved", kind.save)
                    return found
                if attempt == _WRITE_TRIES:
                    raise error from None
                log.info("AccountsIQ %s: the answer was lost and the document is not there; sending again",
                         kind.save)
                continue
            except ValidationError as error:
                if (error.detail or {}).get("code") != DUPLICATE_REFERENCE:
                    raise
                found = await self._by_reference(kind, reference)
                if found is None:
                    raise
                return found  # sent before (its answer lost): this key's document
            return _out_id(answer, kind.save_out)
        raise AssertionError("not reached")

    async def _by_reference(self, kind: _Kind, reference: str) -> int | None:
        answer = await self.call(kind.by_reference, el("externalReference", reference))
        ids = await self._off_loop(lambda a: [envelope.int_of(members(item), "InvoiceID")
                                              for item in a.items(kind.element)], answer, big=False)
        if len(ids) > 1:
            raise Conflict(f"AccountsIQ holds {len(ids)} documents with the external reference {reference}: "
                           "look at them in AccountsIQ before going on.", detail={"ids": ids})
        return ids[0] if ids else None

    async def _post(self, kind: _Kind, document_id: int) -> int:
        for attempt in range(1, _WRITE_TRIES + 1):
            try:
                answer = await self.call(kind.post, el(kind.get_param, document_id), write=True,
                                         subject=kind.subject)
                return _out_id(answer, "transactionID")
            except (UnknownOutcome, Conflict) as error:
                current = await self._document_answer(kind, document_id)
                status = await self._off_loop(lambda a: envelope.text_of(a.result_members(), "Status"), current,
                                              big=False)
                if status == "Posted":
                    return 0  # posted by the earlier try (the transaction id is on the document's ledger)
                if isinstance(error, Conflict) or attempt == _WRITE_TRIES:
                    raise
        raise AssertionError("not reached")

    @reading.guarded
    async def find_created(self, entity: Entity, idempotency_key: str) -> Any | None:
        self._check(entity, Operation.CREATE)
        key = _key(idempotency_key)
        if entity is Entity.CUSTOMERS:
            suffix = "-" + mapping.key_suffix(key)
            records, _ = await self._customer_records()
            for record, hashed in records:
                if envelope.text_of(record, "Code").endswith(suffix):
                    return await self._off_loop(mapping.customer_from_wire, record, hashed, self.currency, big=False)
            return None
        kind = _KINDS[entity]
        document_id = await self._by_reference(kind, mapping.key_reference(key))
        return None if document_id is None else await self._document(kind, document_id)

    async def _create_customer(self, customer: Customer, key: str) -> Customer:
        code = mapping.customer_code(customer.name, key)
        shell = await self.call("GetNewCustomerFromDefaults")
        if shell.result is None:
            raise BadResponse("AccountsIQ's answer to GetNewCustomerFromDefaults has no Result")
        element = shell.result
        _apply(lambda: mapping.apply_customer(element, customer, code=code))
        body = f"<customer>{_inner(element)}</customer>{el('create', True)}"
        for attempt in range(1, _WRITE_TRIES + 1):
            try:
                answer = await self.call("UpdateCustomerGetbackCustomerCode", body, write=True)
                code = (answer.result.text or "").strip() if answer.result is not None else code
                break
            except UnknownOutcome:
                try:
                    return await self._customer(code)
                except NotFound:
                    if attempt == _WRITE_TRIES:
                        raise
                    continue
            except ValidationError as error:
                if (error.detail or {}).get("code") != CODE_IN_USE:
                    raise
                return await self._customer(code)  # the code is this key's: sent before, answer lost
        return await self._customer(code or mapping.customer_code(customer.name, key))

    # --- update ----------------------------------------------------------------------------------------
    @reading.guarded
    async def update(self, entity: Entity, record: Any) -> Any:
        self._check(entity, Operation.UPDATE)
        if entity is Entity.CUSTOMERS:
            return await self._update_customer(_expect(record, Customer, "a customer"))
        kind = _KINDS[entity]
        document = _expect_document(record, entity)
        document_id = _number_id(_remote_id(document), "document")
        answer = await self._document_answer(kind, document_id)
        current = await self._document_of(answer)
        wants_post = document.status in _POSTED and current.status not in _POSTED
        if mapping.same_document(document, current) and not wants_post:
            return current
        if not mapping.same_document(document, current):
            element = answer.result
            customer = None
            if document.customer_remote_id != current.customer_remote_id:
                customer = await self._customer_key(document.customer_remote_id)
            reference = None if mapping.is_key_reference(
                envelope.text_of(members(element), "ExternalReference")) else document.reference
            _apply(lambda: mapping.apply_document(element, document, external_reference=reference,
                                                  customer=customer, version=document.remote_version))
            body = f"<{kind.save_param}>{_inner(element)}</{kind.save_param}>{el('create', False)}"
            await self.call(kind.save, body, write=True, subject=kind.subject)
        if wants_post:
            await self._post(kind, document_id)
        return await self._document(kind, document_id)

    async def _customer_key(self, code: str | None) -> tuple[int, str]:
        if not code:
            raise ValidationError("Choose a customer that is in AccountsIQ for this document.")
        if code not in self._account_ids:
            try:
                await self._customer(code)
            except NotFound as error:
                raise ValidationError(error.message, detail=error.detail) from None
        return self._account_ids[code], code

    async def _update_customer(self, customer: Customer) -> Customer:
        code = _remote_id(customer)
        answer = await self.call("GetCustomer", el("customerCode", code), subject=("CUSTOMER_CODE_DOES_NOT_EXIST",))
        if answer.result is None:
            raise BadResponse("AccountsIQ's answer to GetCustomer has no Result")
        element = answer.result
        _apply(lambda: mapping.apply_customer(element, customer, version=customer.remote_version))
        await self.call("UpdateCustomerGetbackCustomerCode",
                        f"<customer>{_inner(element)}</customer>{el('create', False)}", write=True,
                        subject=("CUSTOMER_CODE_DOES_NOT_EXIST",))
        return await self._customer(code)

    # --- delete ----------------------------------------------------------------------------------------
    @reading.guarded
    async def delete(self, entity: Entity, remote_id: str) -> None:
        self._check(entity, Operation.DELETE)
        code = _text_id(remote_id, "customer")
        await self.call("DeleteCustomerByCode", el("customerCode", code), write=True,
                        subject=("CUSTOMER_CODE_DOES_NOT_EXIST",))
        self._customer_terms.pop(code, None)

    # --- documents as PDF ------------------------------------------------------------------------------
    @reading.guarded
    async def pdf(self, entity: Entity, remote_id: str) -> bytes:
        """A posted invoice's or credit note's PDF (``GetInvoicePDFByTransactionID``)."""
        self._check(entity, Operation.PDF)
        kind = _KINDS[entity]
        document = await self._document(kind, _number_id(remote_id, "document"))
        if document.status is not DocumentStatus.POSTED:
            raise Conflict(f"The {_what(kind)} {document.number} is a draft: AccountsIQ prints posted documents "
                           "only.")
        txn = await self._transaction_of(kind, document)
        answer = await self.call("GetInvoicePDFByTransactionID", el("transactionID", txn),
                                 subject=("TRANSACTION_NOT_FOUND",))
        text = (answer.result.text or "") if answer.result is not None else ""
        try:
            data = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise BadResponse("AccountsIQ sent a PDF that is not valid base64") from None
        if not data.startswith(b"%PDF"):
            raise BadResponse("AccountsIQ sent something that is not a PDF")
        return data

    async def _transaction_of(self, kind: _Kind, document: SalesDocument) -> int:
        """The posted transaction of a document: its SI/SN entry on the document's date."""
        query = (el("FromDate", MIN_DATE) + el("ToDate", MAX_DATE) + el("FromCreationDate", MIN_DATE)
                 + el("ToCreationDate", MAX_DATE) + strings("TypesFilter", ["SI" if kind.type == "Invoice" else "SN"])
                 + el("FromPeriodDate", document.date) + el("ToPeriodDate", document.date))
        skip = 0
        while True:
            answer = await self.call("GetTransactionsModifiedBy", f"<query>{query}{el('Skip', skip)}</query>")
            items = answer.items("WSChangedTransactionSummary")
            for item in items:
                record = members(item)
                if envelope.text_of(record, "InvoiceID") == document.remote_id:
                    return await self._off_loop(envelope.int_of, record, "TransactionID", big=False)
            if not items:
                raise NotFound(f"AccountsIQ has no ledger entry for {_what(kind)} {document.number}.")
            skip += len(items)

    # --- reports ---------------------------------------------------------------------------------------
    @reading.guarded
    async def report(self, request: ReportRequest) -> dict[str, Any]:
        as_at = request.date_to or self._today()
        kind = request.kind
        if kind == "trial_balance":
            return await self._trial_balance(as_at)
        if kind == "profit_loss":
            return await self._profit_loss(request.date_from, as_at)
        if kind == "balance_sheet":
            classes = await self._classes()
            return await self._off_loop(reports.balance_sheet, await self._trial_balance(as_at), classes,
                                        self.currency, as_at, big=False)
        if kind in ("aged_receivables", "customer_statement"):
            codes = [request.customer_remote_id] if kind == "customer_statement" else []
            if kind == "customer_statement" and not request.customer_remote_id:
                raise ValidationError("Choose the customer whose statement to show.")
            answer = await self.call("GetCustomersStatement", el("upTo", as_at) + strings("customerCodes", codes)
                                     + el("showZeros", kind == "customer_statement"),
                                     subject=("CUSTOMER_CODE_DOES_NOT_EXIST",))
            rows = await self._off_loop(reports.statements, answer, big=len(answer.body) > _OFF_LOOP)
            if kind == "aged_receivables":
                return await self._off_loop(reports.aged_receivables, rows, self.currency, as_at, big=False)
            balance = await self.call("GetCustomerBalanceInformation", el("edt", as_at) + strings("customerCodes",
                                                                                                   codes))
            balances = await self._off_loop(reports.account_balances, balance, big=False)
            return await self._off_loop(reports.customer_statement, rows[0] if rows else None,
                                        balances[0] if balances else None, codes[0], self.currency,
                                        request.date_from, as_at, big=False)
        if kind == "account_balances":
            answer = await self.call("GetAccountBalanceInformation", el("edt", as_at) + ints("accountIDs", []))
            rows = await self._off_loop(reports.account_balances, answer, big=len(answer.body) > _OFF_LOOP)
            return {"kind": "account_balances", "currency": self.currency, "as_at": as_at, "accounts": rows}
        raise Unsupported(f"AccountsIQ has no “{kind}” report: choose a trial balance, profit and loss, balance "
                          "sheet, aged receivables, customer statement or account balances.")

    async def _trial_balance(self, day: dt.date) -> dict[str, Any]:
        answer = await self.call("GetTrialBalanceForPeriod", el("dateInPeriod", day))
        return await self._off_loop(reports.trial_balance, answer, self.currency, big=False)

    async def _classes(self) -> dict[str, Classification]:
        return {account.code: account.classification for account in await self._accounts()}

    async def _profit_loss(self, date_from: dt.date | None, date_to: dt.date) -> dict[str, Any]:
        answer = await self.call("GetPeriodList")
        periods = await self._off_loop(reports.periods, answer, big=False)
        first = date_from or date_to.replace(month=1, day=1)
        covered = [period for period in periods if period["end"] >= first and period["start"] <= date_to]
        if not covered:
            raise ValidationError(f"AccountsIQ has no financial period between {first:%d %b %Y} and "
                                  f"{date_to:%d %b %Y}.")
        balances = [await self._trial_balance(period["start"]) for period in covered]
        classes = await self._classes()
        return await self._off_loop(reports.profit_loss, balances, classes, self.currency, first, date_to, covered,
                                    big=False)


# --- helpers ----------------------------------------------------------------------------------------------

def _inner(element: Element) -> str:
    return "".join(envelope.write(child) for child in element)


def _apply(change: Callable[[], None]) -> None:
    """Writing onto a record: a value that cannot be sent is the user's to fix."""
    try:
        change()
    except (ValueError, TypeError, ArithmeticError) as error:
        if isinstance(error, ProviderError):
            raise
        raise ValidationError(f"This record cannot be written to AccountsIQ: {error}") from None


def _out_id(answer: Answer, name: str) -> int:
    value = answer.out.get(name)
    if value is None and answer.result is not None:
        value = answer.result.text
    text = (value or "").strip()
    if not text.isdigit():
        raise UnknownOutcome(f"AccountsIQ's answer to {answer.method} gives no {name} ({text[:40]!r}): whether it "
                             "was done is not known.")
    return int(text)


def _check_status(reply: Reply, method: str) -> None:
    status = reply.status
    if status in (200, 500):
        return
    if status == 401:
        raise AuthError("AccountsIQ refused the sign-in (HTTP 401): sign in again.", status=status)
    if status == 403:
        raise PermissionDenied(f"AccountsIQ refused {method} (HTTP 403): this login may not use the integration "
                               "service.", status=status)
    if status == 413:
        raise ValidationError("The request is too large for AccountsIQ (HTTP 413).", status=status)
    if status == 404:
        raise BadResponse(f"AccountsIQ's integration service was not found at this address ({reply.describe()}): "
                          "check the region.", status=status)
    raise BadResponse(f"AccountsIQ answered {method} with {reply.describe()}", status=status)


def _fault_message(reply: Reply) -> str | None:
    fault = envelope.fault_of(reply)
    return fault.message if fault is not None and fault.message else None


def _int_or_zero(value: str | None) -> int:
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 19 else 0


def _key(idempotency_key: str) -> str:
    if not isinstance(idempotency_key, str) or not idempotency_key.strip():
        raise ValidationError("A create needs an idempotency key.")
    return idempotency_key.strip()


def _expect(record: Any, kind: type, what: str) -> Any:
    if not isinstance(record, kind):
        raise ValidationError(f"Expected {what}, got {type(record).__name__}.")
    return record


def _expect_document(record: Any, entity: Entity) -> SalesDocument:
    document = _expect(record, SalesDocument, "an invoice or credit note")
    wanted = "invoice" if entity is Entity.INVOICES else "credit_note"
    if document.kind != wanted:
        raise ValidationError(f"Expected {'an invoice' if wanted == 'invoice' else 'a credit note'}, got a "
                              f"{document.kind.replace('_', ' ')}.")
    return document


def _remote_id(record: Any) -> str:
    if not record.remote_id:
        raise NotFound("This record is not in AccountsIQ yet: create it first.")
    return record.remote_id


def _text_id(remote_id: Any, what: str) -> str:
    if not isinstance(remote_id, str) or not remote_id.strip():
        raise NotFound(f"There is no {what} without an id in AccountsIQ.")
    return remote_id.strip()


def _number_id(remote_id: Any, what: str) -> int:
    text = str(remote_id).strip()
    if not text.isdigit() or len(text) > 12 or int(text) == 0:
        raise NotFound(f"“{text[:40]}” is not the id of a {what} in AccountsIQ.")
    return int(text)


def _what(kind: _Kind) -> str:
    return "invoice" if kind.type == "Invoice" else "credit note"
