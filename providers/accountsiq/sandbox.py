"""AccountsIQ sandbox: the Integration 2.0 SOAP 1.1 service, emulated over real HTTP.

One endpoint, ``POST /system/dashboard/integration/integration_2_0.asmx`` (the path matched without
regard to case, as IIS does), ``Content-Type: text/xml; charset=utf-8`` and
``SOAPAction: http://www.visorsoftware.com/visor/accountsiq/dashboard/Integration/<Method>``.
Request and answer shapes are those of the provider's Postman catalogue
(``shared/provider-docs/accountsiq-soap-2_0.postman_collection.json``); the error codes are values
of the service's ``VisorExceptionCodes`` enumeration and the status values of ``OperationStatus``.

Choices made where the documents are silent (the client relies on these):

Protocol
- Answers are ASMX's: the envelope declares ``xsi``/``xsd``; a null string member is left out, a
  null nullable value (OrderID, ExternalApproverID, SalesRepresentativeID, OrderItemID,
  DeliveryItemID, AccountBranchID, OrderDate, HeadOfficeAccountID, GrossThreshold...) is
  ``xsi:nil="true"``; value types are always written. On success ErrorMessage is left out. An
  empty list is ``<Result />``; a failed call has no ``<Result>`` at all.
- Decimals are written with their own scale (``120.00``, a quantity ``3``), never an exponent.
  Business dates (InvoiceDate, TransactionDate...) are ``YYYY-MM-DDT00:00:00`` without a zone;
  creation stamps are UTC with ``Z``.
- Reading follows XmlSerializer: elements must be in the service namespace (others are ignored),
  a missing value-type member takes its .NET default (0, false, ``0001-01-01T00:00:00``): a query
  that leaves out ``ToDate`` therefore matches nothing. Text that is not a valid int, decimal,
  boolean, dateTime or base64 value is a ``soap:Client`` Fault. The optional first ``token``
  parameter of every 2.0 method is accepted and ignored (the header carries the token).
- A body that is not XML, carries a DTD or entity declarations (an XML bomb), is not a SOAP 1.1
  envelope, or whose element does not match the SOAPAction, an unknown SOAPAction, or a missing
  one: a SOAP Fault (``soap:Client``) with HTTP 500, as ASMX answers. A Content-Type other than
  ``text/xml`` is HTTP 415; a body over 20 MB is HTTP 413; GET shows a small help page.
- Every operational failure is HTTP 200 with ``Status`` ``Failure``, a VisorExceptionCodes value in
  ``ErrorCode`` and a sentence in ``ErrorMessage``. Every success is ``Status`` ``Success``. An
  unexpected error inside the service is a ``soap:Server`` Fault with HTTP 500.
- A customer or document sent to an Update/Save method replaces the stored one member by member:
  send back what was read, changed (members left out become empty, value types their defaults:
  a customer sent without ``IsActive`` becomes inactive).

Sign-in
- ``TokenGet``/``TokenRefresh`` answer in the catalogue's own shape (``Result`` first holding an empty
  ``TokenGetResult``, ``AccessToken`` and ``RefreshToken``; ``Status``/``ErrorCode``/
  ``ErrorMessage`` after it; the two tokens again as out parameters). ``credentials()`` gives the
  demo ``client_id`` (a GUID, as the service requires) and ``client_secret``, the ``region`` (uk1) and
  the comma-separated ``entities``.
- Access tokens live ``options.extra["access_token_lifetime"]`` seconds (default 3600), refresh tokens
  ``refresh_token_lifetime`` (default 14 days). A refresh spends the refresh token and issues a new
  pair. Tokens are kept in the DocStore, so they survive a restart on a data file.
- A call with an expired access token: Failure ``OAUTH_INTEGRATION_APPS_TOKEN_EXPIRED`` with
  ``HasExpired`` true (the signal to refresh and retry once). Missing or unknown token: Failure
  ``WS_INVALIDTOKEN``, HasExpired false. No Entity header: Failure
  ``OAUTH_INTEGRATION_APPS_NO_ENTITY_PROVIDED_IN_HEADER``; an unknown entity: Failure
  ``API_LAYER_ENTITY_ID_NOT_FOUND``. Entity ids are matched without regard to case.
- One client reaches all three demo entities. ``GetEntitiesByToken`` (in the 2.0 WSDL, not in the
  catalogue) lists them: ``WSEntity`` = EntityID, EntityName, BaseCurrency.

Pacing
- 100 requests per second per user (the FAQ), the user being the client id behind the access token
  (for TokenGet/TokenRefresh the clientId sent). Past it, with ``options.throttle``: HTTP 429 with
  ``Retry-After`` (whole seconds) and a SOAP Fault whose detail carries ErrorCode
  ``OAUTH_INTEGRATION_APPS_RATE_LIMIT_REACHED``. Refused requests do not count. The limit can be
  changed with ``options.extra["rate_limit_per_second"]``.

Data
- Entities ``dohertyjoinery`` (sole trader), ``laganvalley`` (small firm), ``mournefoods`` (wholesaler);
  all GBP, the only currency set up. Financial years are calendar years of 12 monthly periods
  (``Jan 2026``...), from the year of the earliest demo entry to the year after the current one;
  a date outside them is ``DATE_IS_OUT_OF_RANGE``. No period is closed.
- Chart: the demo generator's accounts (1100 debtors control, 1200/1210 banks, 2200 VAT control,
  3100 retained earnings...). AccountType is Posting, Control, Bank or VAT; document lines may post
  to Posting accounts only. Tax codes S 20%, R 5%, Z 0%, E exempt. Credit terms 1 (30 days), 2, 3, 4.
- Customers ``C0001``.. (AccountID 1..). A customer code is mandatory, upper case, at most 20
  characters of A-Z 0-9 - _ . / & (the service does not make codes up). Customer and invoice
  ``RowVersionNumber`` changes on every save; a save that sends an older one is ``OUTDATED_RECORD``
  (sending none skips the check).
- Invoices and credit notes share one id sequence (``InvoiceID``). ``InvoiceStatus`` is ``Processed``
  (saved, still editable) or ``Posted`` (in the ledger: any change is ``TRANSACTION_IS_NOT_EDITABLE``);
  ``Type`` is ``Invoice`` or ``Note``. The demo's void drafts are not seeded. ``GetInvoicesBy``
  returns both kinds as ``<Invoice>`` (``TypesFilter`` ``Invoice``/``Note`` narrows it).
- Item documents are priced by the service (see ``sandbox_documents``); numbers are ``INV-000001``
  and ``CRN-000001`` when left empty, and unique per kind. External references are unique per
  entity among invoices (item and batch) and among credit notes (item and batch); a second one is
  ``INVOICE_EXTERNAL_REFERENCE_ALREADY_EXISTS``. Empty references are not checked. The demo's
  customer references became external references where unique.
- Batch documents (``CreateBatchSales...GetBackTransactionID``) post at once and make no document
  record (InvoiceID 0 in the transaction); their ``Result`` is the internal number given.
- Posting writes the transaction: control line 1100 (the gross, debit for an invoice), one revenue
  line per GL account and tax code, one VAT line per tax code on 2200. Amounts in transactions are
  debit positive. ``ControlAmount``/``OutstandingAmount`` are the customer's side (an invoice
  positive, a credit note or receipt negative). Demo receipts (``SR``) are allocated to their
  invoice: the receipt has nothing outstanding, the invoice what is unpaid.
- ``GetInvoicesBy``: FromDate/ToDate on InvoiceDate, From/ToCreationDate on CreationDate (to the
  second), FromLastModifiedDateInUTC on the last change (any save or post), Status, the id/number/
  account filters; OrderBy one of InvoiceID (default), InvoiceDate, CreationDate, InvoiceNumber,
  AccountID, ExternalReference, Status, GrossAmount (else ``GETINVOICESBY_BAD_FIELD_NAME``), ties by
  InvoiceID; ``Skip`` past the end is an empty page; ``Limit`` absent, nil or not positive means the
  largest page, 1000 (``options.extra["max_page_size"]``), and more is cut to it. The Invoice shape
  has no modification stamp: take the HTTP ``Date`` of the first page's answer (uvicorn sends it,
  whole seconds, refreshed once a second: a record or two may come twice, none is missed) as the
  next FromLastModifiedDateInUTC. An in-process transport has no Date: use the local clock less a
  few seconds.
- ``GetTransactionsModifiedBy``: FromDate..ToDate bound the last change (UTC), From/ToCreationDate
  the creation (to the second), From/ToPeriodDate (nillable) the transaction date; oldest change
  first; ``Skip`` pages through pages of 1000 (``options.extra["transactions_page_size"]``).
  ``Status`` is ``Created`` until a transaction is changed after it was recorded. Send
  ``0001-01-01T00:00:00``/``9999-12-31T23:59:59`` for an open end.
- ``GetTransactionsByExternalReference`` needs the reference (else
  ``INVALID_QUERY_MISSING_EXTERNAL_REFERENCE``) and a FromDate..ToDate on the transaction date.
- Balances (``GetAccountBalanceInformation``/``GetCustomerBalanceInformation``) are the ledger
  balance at ``edt`` (empty list: all customers; an unknown one fails the call); CreditLeft and
  OverCreditLimitBalance are 0 when the credit limit is 0 (no limit). ``GetCustomersStatement``
  ages every outstanding amount by transaction date against ``upTo`` (0-29 days, 30-59...,
  120+, later dates in the future bucket); ``showZeros`` false leaves out settled transactions and
  customers who owe nothing.
- ``GetTrialBalanceForPeriod``: every chart account; balance-sheet accounts cumulative, profit and
  loss year to date with earlier years in 3100; budgets 0; no department balances. Balances and
  movements sum to zero. ``GetBankAccountBalance``: the bank GL's balance on the date;
  LastReconciledDate (a string) is the ISO date of the latest reconciled entry up to it.
- ``GetGLAccountList``: one ``ArrayOfString`` per account: code, then name.
- ``GetInvoicePDFByTransactionID``: a one-page PDF (base64) for SI/SN transactions, batch ones too.
- ``AttachDocument``: MasterType Transaction (MasterID a TransactionID), SalesInvoice (an InvoiceID)
  or Customer (a code); file types pdf, csv, xls(x), doc(x), txt, images, msg, eml, zip, xml; names
  unique per master.
- ``DeleteCustomerByCode`` refuses a customer with documents or transactions
  (``ACCOUNT_CANNOT_BE_DELETED``).
"""

from __future__ import annotations

import logging
import threading
from typing import ClassVar

from starlette.applications import Starlette
from starlette.requests import Request as HttpRequest
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from app.domain.generate import DemoCompany
from providers.accountsiq import sandbox_ledger, sandbox_methods, sandbox_queries
from providers.accountsiq.sandbox_auth import CLIENT_ID, CLIENT_SECRET, RateLimit, Tokens
from providers.accountsiq.sandbox_calls import METHODS, Answer, Call
from providers.accountsiq.sandbox_data import META, Clock, Entity
from providers.accountsiq.sandbox_envelope import (
    NS,
    AiqError,
    SoapFault,
    envelope,
    esc,
    fault,
    method_answer,
    parse_request,
    result_status,
    s,
)
from providers.accountsiq.sandbox_reference import COMPANY_NAMES
from providers.accountsiq.sandbox_seed import seed_entity
from providers.decimal_json import loads
from providers.sandbox.base import ProviderSandbox

log = logging.getLogger(__name__)

PATH = "/system/dashboard/integration/integration_2_0.asmx"
_XML = "text/xml; charset=utf-8"
_MAX_BODY = 20 * 1024 * 1024
_TOKEN_METHODS = ("TokenGet", "TokenRefresh")
_REGISTERED = (sandbox_ledger, sandbox_methods, sandbox_queries)  # importing them fills METHODS


class Sandbox(ProviderSandbox):
    provider: ClassVar[str] = "accountsiq"
    company_names: ClassVar[tuple[str, str, str]] = COMPANY_NAMES

    def __init__(self, options=None):
        self._clock: Clock | None = None
        self._entities: dict[str, Entity] = {}
        self._listed: list[Entity] | None = None
        self._listing = threading.Lock()
        self._seeded = 0
        super().__init__(options)

    @property
    def clock(self) -> Clock:
        if self._clock is None:
            self._clock = Clock(self.store)
        return self._clock

    def seed_company(self, company: DemoCompany) -> None:
        entity = seed_entity(self.store, company, self._seeded, self.clock.now())
        self._seeded += 1
        self._entities[entity.id] = entity

    def entities(self) -> list[Entity]:
        """Every entity, in demo order, from the store (so a restarted sandbox finds them too)."""
        with self._listing:
            if self._listed is None:
                metas = sorted((loads(text) for text in self.store.page_texts(META, "entity", 0, -1)),
                               key=lambda meta: meta["order"])
                for meta in metas:
                    if meta["entity"] not in self._entities:
                        self._entities[meta["entity"]] = Entity(self.store, meta["entity"], meta)
                self._listed = [self._entities[meta["entity"]] for meta in metas]
            return self._listed

    def credentials(self) -> dict[str, str]:
        return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "region": "uk1",
                "entities": ",".join(entity.id for entity in self.entities())}

    def companies(self) -> list[dict[str, str]]:
        return [{"id": entity.id, "name": entity.name} for entity in self.entities()]

    def app(self):
        return Service(self).app


class Service:
    """The HTTP side: content negotiation, SOAPAction dispatch, sign-in, pacing, answers."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        extra = sandbox.options.extra
        self.tokens = Tokens(sandbox.store, float(extra.get("access_token_lifetime", 3600)),
                             float(extra.get("refresh_token_lifetime", 14 * 24 * 3600)))
        self.rate = RateLimit(int(extra.get("rate_limit_per_second", 100)))
        self.settings = {"max_page_size": int(extra.get("max_page_size", 1000)),
                         "transactions_page_size": int(extra.get("transactions_page_size", 1000)),
                         "entities": sandbox.entities}
        self._lock = threading.RLock()
        self.app = Starlette(routes=[Route("/{path:path}", self.endpoint, methods=["GET", "POST"])])

    async def endpoint(self, request: HttpRequest) -> Response:
        if request.url.path.lower() != PATH:
            return HTMLResponse("<html><body><h2>404 - File or directory not found.</h2></body></html>", 404)
        if request.method == "GET":
            return HTMLResponse(self._help_page())
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("text/xml"):
            return PlainTextResponse(f"Unsupported Media Type: {content_type or '(none)'}; this endpoint takes "
                                     "SOAP 1.1 (text/xml).", 415)
        body = await request.body()
        if len(body) > _MAX_BODY:
            return PlainTextResponse("Request Entity Too Large", 413)
        action = (request.headers.get("soapaction") or "").strip().strip('"')
        name = action[len(NS):] if action.startswith(NS) else ""
        if name not in METHODS and name not in _TOKEN_METHODS:
            return self._fault(f"Server did not recognize the value of HTTP Header SOAPAction: {action}.")
        try:
            call = parse_request(body, name)
        except SoapFault as error:
            return self._fault(error.message, error.code)
        user = self._user(call)
        if self.sandbox.options.throttle:
            wait = self.rate.admit(user)
            if wait:
                return self._throttled(wait, self.rate.per_second)
        try:
            with self._lock:
                payload = self._token_call(call) if name in _TOKEN_METHODS else self._call(call)
        except SoapFault as error:
            return self._fault(error.message, error.code)
        except Exception as error:  # what ASMX does with an unhandled exception: a soap:Server fault
            log.exception("AccountsIQ sandbox: %s failed", name)
            return self._fault(f"Server was unable to process request. ---> {error}", "soap:Server")
        return Response(payload, 200, media_type=None, headers={"content-type": _XML})

    # --- pieces ------------------------------------------------------------------------------------
    def _user(self, call) -> str:
        if call.method in _TOKEN_METHODS:
            return (call.body.text("clientId") or "").lower() or "anonymous"
        return self.tokens.owner(call.access_token) or f"token:{call.access_token or ''}"

    def _call(self, call) -> bytes:
        spec = METHODS[call.method]
        try:
            self.tokens.client_of(call.access_token)
            entity = self._entity(call.entity) if spec.entity else None
            answer: Answer = spec.handler(Call(call.body, entity, self.sandbox.clock.now, self.settings))
        except AiqError as error:
            out = "".join(f"<{name}>{default}</{name}>" for name, default in spec.out if default is not None)
            return method_answer(call.method, result_status("Failure", error.code, error.message, error.has_expired),
                                 None, out, spec.result)
        out = "".join(f"<{name}>{answer.out.get(name, default)}</{name}>" for name, default in spec.out)
        return method_answer(call.method, result_status("Success", "SUCCESS", None, False), answer.result, out,
                             spec.result)

    def _entity(self, name: str | None) -> Entity:
        if not name:
            raise AiqError("OAUTH_INTEGRATION_APPS_NO_ENTITY_PROVIDED_IN_HEADER",
                           "The AiqSoapHeader carries no Entity: say which company the call is for.")
        for entity in self.sandbox.entities():
            if entity.id.lower() == name.strip().lower():
                entity.ensure_loaded()
                return entity
        raise AiqError("API_LAYER_ENTITY_ID_NOT_FOUND", f"There is no entity '{name}' for this client.")

    def _token_call(self, call) -> bytes:
        body = call.body
        try:
            if call.method == "TokenGet":
                access, refresh = self.tokens.get(body.text("clientId"), body.text("clientSecret"))
            else:
                access, refresh = self.tokens.refresh(body.text("clientId"), body.text("clientSecret"),
                                                      body.text("refreshToken"))
        except AiqError as error:
            inner = (f"<Status>Failure</Status><ErrorCode>{error.code}</ErrorCode>"
                     f"{s('ErrorMessage', error.message)}")
            return envelope(f'<{call.method}Response xmlns="{NS}"><{call.method}Result>{inner}'
                            f"</{call.method}Result></{call.method}Response>")
        tokens = f"<AccessToken>{esc(access)}</AccessToken><RefreshToken>{esc(refresh)}</RefreshToken>"
        return envelope(f'<{call.method}Response xmlns="{NS}"><{call.method}Result>'
                        f"<Result><{call.method}Result />{tokens}</Result><Status>Success</Status>"
                        f"<ErrorCode>SUCCESS</ErrorCode></{call.method}Result>{tokens}</{call.method}Response>")

    @staticmethod
    def _fault(message: str, code: str = "soap:Client") -> Response:
        return Response(fault(message, code), 500, headers={"content-type": _XML})

    @staticmethod
    def _throttled(wait: float, limit: int) -> Response:
        seconds = max(1, int(wait + 0.999))
        body = fault(f"Too many requests: the limit is {limit} requests per second per user.", "soap:Server",
                     "<ErrorCode>OAUTH_INTEGRATION_APPS_RATE_LIMIT_REACHED</ErrorCode>")
        return Response(body, 429, headers={"content-type": _XML, "retry-after": str(seconds)})

    @staticmethod
    def _help_page() -> str:
        names = "".join(f"<li>{name}</li>" for name in sorted([*METHODS, *_TOKEN_METHODS]))
        return (f"<html><head><title>Integration_2_0 Web Service</title></head><body><h1>Integration_2_0</h1>"
                f"<p>AccountsIQ sandbox. POST SOAP 1.1 requests to this address.</p><ul>{names}</ul></body></html>")
