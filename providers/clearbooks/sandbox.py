"""Clear Books, emulated: OAuth 2 sign-in with PKCE, ``/v1`` REST API over three demo businesses.

Where the service lives (paths mirror the real hosts, served from one origin):
    ``GET|POST /account/action/oauth/``  the authorisation page (secure.clearbooks.co.uk)
    ``POST /oauth/token``                 the token endpoint (api.clearbooks.co.uk)
    ``/v1/...``                           the API (api.clearbooks.co.uk/v1)

What the reference says and the sandbox does as it says: confidential clients only; PKCE supported but
not mandatory; single-use refresh tokens that never expire until used; one token pair per user and
application (a new authorisation or refresh revokes the previous pair); ``X-Business-ID`` required when
the authorisation covers several businesses (the demo user's covers all three); paging with ``page``,
``limit`` (1..200, default 25), ``sortBy``, ``sortDirection`` and the four ``X-Pagination-*`` headers, the
body a bare JSON array; errors as an array of ``{"errorCode", "errorMessage"}``; 429 past about five
requests a second; sales documents voided and reissued with a new id when a non-draft one is updated,
redirects from a voided revision, void-or-delete on DELETE; journals whose lines must sum to zero.

Choices where the reference is silent (the client relies on these):
- Statuses. HTTP: 200 for reads and updates (a reissued document too, with its new id in the body),
  201 for creates, 204 with no body for deletes, 302 with an absolute ``Location`` for a voided revision.
  Every validation failure is 400 (never 422), listing every problem in one array; an unknown id in the
  path is 404; a bad, expired or revoked token 401 with ``WWW-Authenticate: Bearer``; a missing scope 403.
- Error codes: ``validationError``, ``invalidParameter`` (query), ``invalidBody`` (not a JSON object),
  ``notFound``, ``unauthorised``, ``insufficientScope``, ``businessRequired``, ``invalidBusinessId``,
  ``businessNotAuthorised`` (403: the business is not in the authorisation), ``tooManyRequests``,
  ``documentVoided``, ``invalidStatus``, ``documentAllocated``, ``allocationsExceedTotal``,
  ``allocationExceedsDue``, ``allocationExceedsAvailable``, ``paymentDirection``, ``paymentAllocated``,
  ``contactMismatch``, ``currencyNotEnabled``, ``journalNotBalanced`` (with the reference's sentence),
  ``inUse``, ``headingFull``, ``methodNotAllowed``. A route that does not exist answers 404 ``notFound``.
- Paging: ``limit`` above 200 (or below 1, or not a number) is refused with 400, not clamped. A page past
  the end is an empty array with the headers; an empty list has ``X-Pagination-Total-Pages: 0``. Default
  order is by id ascending; ``sortBy`` accepts the resource's top-level scalar fields (else 400); text sorts
  without regard to case, nulls first, ties by id (reversed along with the rest when descending).
  ``/businesses``, the VAT lists and account balances are not paged (no paging headers).
- Ids: ints. Customers and suppliers share one sequence; sales documents, purchase documents, payments,
  journals and other ledger entries share another, and a ledger transaction's ``transactionId`` is the id
  of the record that posted it. Account code ids are ``heading * 1000 + n`` (headings in
  ``sandbox_chart``: first digit 1 income, 2 expense, 7 asset, 8 liability, 9 capital); the system accounts
  are debtors 7101001, creditors 8001001, VAT 8002001. ``GET`` of ONE account code or ONE bank account
  answers a one-element array, exactly as the reference shows it; every other item is a bare object.
- Businesses: 184501 (sole trader), 184502 (partnership), 184503 (limited company, the size-following one).
  ``logoUrl`` is null. Home currency GBP; any other currency is refused with ``currencyNotEnabled``, and an
  ``exchangeRate`` on a GBP document or payment is refused (the reference: "only if currency is provided").
- Sales documents: a body may carry ``"status": "draft"`` or ``"approved"`` (default approved; not in the
  reference's request shape, needed to make a draft; a document sent back whole with its current status,
  "paid" included, is accepted as no change of status). Statuses read back: draft, approved, paid (fully
  allocated), voided. ``documentNumber`` is assigned from a per-business counter when omitted and is not
  required to be unique (so there is no duplicate guard: look up before retrying a create);
  ``formattedDocumentNumber`` is a prefix (INV-, SCN-, QUO-, BILL-, PCN-, EXP-) plus the number padded to 6.
  ``dateAccrual`` defaults to ``date`` and is the posting date; ``dateDue`` defaults to ``date`` + 30 days.
  A line's net is unitPrice x quantity and its VAT net x rate, each rounded half up to the penny; a stated
  ``vatAmount`` wins (even one read back from an earlier version: leave it out to have VAT worked out); ``vat``/``net``/``gross`` are sums of lines; ``due`` is gross less allocations (0 on
  quotes and voided documents, gross on drafts). Fields of a body that are not input fields are ignored.
  An update sends only what changes (top-level fields; ``lineItems`` replaces all lines). A reissued
  document keeps its number and its allocations (which move to the new id); it is refused if its new
  total is below what is allocated, or its contact changes while allocated. A draft cannot come back from
  approved. A voided document (deleted or superseded) cannot be updated or deleted: 400 ``documentVoided``.
  A document voided by DELETE stays listed with status ``voided``; a revision superseded by an update
  leaves the lists and its id redirects (following every later revision). Voiding drops its allocations.
  Quotes never post; drafts post once approved. Purchase documents (bills, credit notes, expenses) follow
  the same rules with ``supplierId``.
- Allocations: no update (GET and DELETE only). Amount > 0, at most the invoice's due and the payment's or
  credit note's unallocated amount; the contact must match; a sales invoice takes positive payments, a
  bill negative ones. ``datePaid`` is the latest counterpart date once a document is fully allocated.
- Payments: ``amount`` positive for money in, negative for money out; posted bank against debtors (a
  customer) or creditors (a supplier) on ``accountingDate``. Deleting a payment drops its allocations.
- Contacts: updates merge ``contactName`` and ``address`` field by field. A contact with documents or
  payments cannot be deleted (400 ``inUse``; archive it). Absent text fields read back as "".
- VAT: treatments ``standard``, ``exports``/``imports``, ``reverseCharge``; rate keys ``standard`` (20),
  ``reduced`` (5), ``zero``, ``exempt``, ``outsideScope``, ``reverseCharge``; ``rate`` is a percentage.
  ``vatRates`` without ``vatTreatment`` lists the standard treatment's rates; ``date`` is validated only.
- Ledger: ``GET /v1/accounting/transactions`` lists ledger LINES (``transactionId``, ``accountingDate``,
  ``accountCodeId``, ``amount``; debits positive); ``GET /v1/accounting/transactions/grouped`` lists
  transactions with their lines; ``GET /v1/accounting/accountBalances`` needs both dates and answers the
  sum of each account's lines dated inside the inclusive range, for accounts with any such line, by id.
  Voided documents leave the ledger; journals have no GET.
- Bank feeds and statements: ``POST /v1/accounting/bankFeeds`` and ``/bankStatements`` as documented;
  feed ids are 40 hex characters; statement lines never reach the ledger (they are unexplained).
  Attachments are not emulated.
- Sign-in: the demo client (``credentials()``) accepts any loopback redirect URI on any port (RFC 8252
  section 7.3). A missing ``scope`` grants every scope. The consent page approves at once when
  ``options.auto_consent``. Codes live 600 s (``options.extra["code_ttl"]``), access tokens 3600 s
  (``options.extra["access_token_ttl"]``); a replayed code fails and revokes what it was exchanged for.
  Token endpoint errors are RFC 6749 JSON (``invalid_client`` 401, others 400) with ``no-store``; the
  client may also authenticate with HTTP Basic. The businesses of a grant are fixed when it is made
  (``options.extra["grant_businesses"]`` narrows them).
- Rate limit: a token bucket per access token, 5 a second with bursts of 10
  (``options.extra["rate_limit_per_second"]``, ``["rate_limit_burst"]``); the 429 carries ``Retry-After``
  in whole seconds and no other rate header; switched off with ``options.throttle = False``.
"""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.domain.generate import DemoCompany
from providers.clearbooks import sandbox_bankfeeds, sandbox_documents, sandbox_resources
from providers.clearbooks.sandbox_books import SERVICE, Books
from providers.clearbooks.sandbox_http import ApiError, error_response
from providers.clearbooks.sandbox_oauth import (
    AUTHORIZE_PATH,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_USER,
    SCOPES,
    TOKEN_PATH,
    OAuthServer,
    Token,
)
from providers.clearbooks.sandbox_seed import seed_company
from providers.clearbooks.sandbox_throttle import Throttle
from providers.sandbox.base import ProviderSandbox, SandboxOptions


class Sandbox(ProviderSandbox):
    provider = "clearbooks"
    company_names = ("Harriet Lowe Garden Design", "Pennant & Rowe Surveyors LLP", "Severn Valley Wholesale Ltd")

    def __init__(self, options: SandboxOptions | None = None):
        self.clock = time.time  # token and code lifetimes; a test may move it on
        self.throttle = Throttle()
        self._books: Books | None = None
        self._oauth: OAuthServer | None = None
        super().__init__(options)
        self.oauth.seed()

    @property
    def books(self) -> Books:
        if self._books is None:
            self._books = Books(self.store)
        return self._books

    @property
    def oauth(self) -> OAuthServer:
        if self._oauth is None:
            self._oauth = OAuthServer(self)
        return self._oauth

    def seed_company(self, company: DemoCompany) -> None:
        with self.books.lock:
            seed_company(self.books, self.company_names.index(company.name), company)

    def app(self):
        routes = [*self.oauth.routes(), *sandbox_resources.routes(self), *sandbox_documents.routes(self),
                  *sandbox_bankfeeds.routes(self)]
        return Starlette(routes=routes, exception_handlers={HTTPException: _route_error})

    def credentials(self) -> dict[str, str]:
        return {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
                "authorize_path": AUTHORIZE_PATH, "token_path": TOKEN_PATH, "api_path": "/v1",
                "scope": " ".join(SCOPES), "user": DEMO_USER["email"]}

    def companies(self) -> list[dict[str, str]]:
        return [{"id": str(b["id"]), "name": b["name"]} for b in self.businesses()]

    def businesses(self) -> list[dict]:
        return sorted(self.store.all(SERVICE, "businesses"), key=lambda b: b["id"])

    def check_rate(self, token: Token) -> None:
        if not self.options.throttle:
            return
        extra = self.options.extra
        wait = self.throttle.take(token.key, float(extra.get("rate_limit_per_second", 5)),
                                  float(extra.get("rate_limit_burst", 10)))
        if wait:
            raise ApiError(429, "tooManyRequests", "Too many requests: retry later with exponential backoff",
                           headers={"Retry-After": Throttle.retry_after(wait)})


async def _route_error(request: Request, error: HTTPException) -> Response:
    if error.status_code == 405:
        return error_response(405, [("methodNotAllowed", f"{request.method} is not allowed on {request.url.path}")],
                              headers=error.headers)
    if error.status_code == 404:
        return error_response(404, [("notFound", f"There is nothing at {request.url.path}")])
    return error_response(error.status_code, [("httpError", str(error.detail))], headers=error.headers)
