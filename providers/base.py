"""The seam between Ledgerdesk and the services: one async interface every client implements.

The app reaches a provider only through this module and the registry. A client speaks its service's
wire and hands back domain models (``app.domain``); everything a service cannot do is declared in
``capabilities`` with a sentence the UI shows beside the greyed-out action.

Lists are async iterators of pages, so a sync streams a ledger and never holds it whole.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from app.domain import (
    Account,
    BankAccount,
    BankTransaction,
    Customer,
    LedgerLine,
    Payment,
    SalesDocument,
)

T = TypeVar("T")


class SignInKind(enum.StrEnum):
    BROWSER = "browser"  # OAuth code flow in the system browser (Clear Books, AccountingSuite)
    API_KEY = "api_key"  # a pasted key (AccBooks; AccountingSuite's apisecretkey)
    CLIENT_CREDENTIALS = "client_credentials"  # client id + secret (AccountsIQ)


class Entity(enum.StrEnum):
    CUSTOMERS = "customers"
    INVOICES = "invoices"
    CREDIT_NOTES = "credit_notes"
    BANK_ACCOUNTS = "bank_accounts"
    BANK_TRANSACTIONS = "bank_transactions"
    PAYMENTS = "payments"
    ACCOUNTS = "accounts"
    LEDGER_LINES = "ledger_lines"


class Operation(enum.StrEnum):
    LIST = "list"
    GET = "get"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    POST = "post"  # approve/post a draft document
    VOID = "void"
    PDF = "pdf"
    REPORTS = "reports"
    CHANGES = "changes"  # list with a "changed since" cursor


@dataclass(frozen=True)
class Capabilities:
    """What a provider cannot do, and why (in words for the user). Anything not listed is supported."""

    missing: dict[tuple[Entity, Operation], str] = field(default_factory=dict)

    def supports(self, entity: Entity, operation: Operation) -> bool:
        return (entity, operation) not in self.missing

    def reason(self, entity: Entity, operation: Operation) -> str | None:
        return self.missing.get((entity, operation))


@dataclass(frozen=True)
class Company:
    """A company reachable under one sign-in (a Clear Books business, an AccountsIQ entity, ...)."""

    id: str
    name: str
    currency: str = "GBP"
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # Where the next list call should start to see only what changed after this one (a change-feed
    # cursor); None where the service has no change feed.
    cursor: str | None = None
    total: int | None = None  # the service's total count, where it says


@dataclass(frozen=True)
class ReportRequest:
    kind: str  # "profit_loss" | "balance_sheet" | "trial_balance" | "aged_receivables" | "customer_statement"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    customer_remote_id: str | None = None


# --- typed errors -----------------------------------------------------------------------------

class ProviderError(Exception):
    """Base of every error a client raises. ``message`` is fit to show a bookkeeper."""

    def __init__(self, message: str, *, status: int | None = None, detail: Any = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail


class AuthError(ProviderError):
    """The sign-in is no longer valid: the user must sign in again (for this connection only)."""


class PermissionDenied(ProviderError):
    def __init__(self, message: str, *, permission: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.permission = permission


class NotFound(ProviderError):
    pass


class ValidationError(ProviderError):
    """The service refused the data; ``message`` is the service's own words, verbatim."""


class Conflict(ProviderError):
    """The record changed at the service (or its state forbids the change, e.g. a posted invoice)."""


class RateLimited(ProviderError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(ProviderError):
    """The service could not be reached, or answered 5xx: try again later."""


class BadResponse(ProviderError):
    """The service answered something we cannot read. Never a crash."""


class Unsupported(ProviderError):
    """The service has no way to do this (``capabilities`` says why); nothing was sent."""


class UnknownOutcome(Unavailable):
    """A write was sent but no answer came back: it may or may not have happened. Look it up by its
    idempotency key before sending it again."""


# --- the protocol ------------------------------------------------------------------------------

@runtime_checkable
class Provider(Protocol):
    """A signed-in client for one company of one service."""

    name: str  # "clearbooks", ...
    sign_in: SignInKind
    capabilities: Capabilities

    async def companies(self) -> list[Company]: ...

    def list(self, entity: Entity, *, since: str | None = None, page_size: int | None = None
             ) -> AsyncIterator[Page[Any]]:
        """Every record of ``entity``, page by page; with ``since`` (a cursor from an earlier page),
        only what changed after it, where the service has a change feed."""
        ...

    async def get(self, entity: Entity, remote_id: str) -> Any: ...

    async def create(self, entity: Entity, record: Any, *, idempotency_key: str) -> Any:
        """Create and return the record as the service now holds it (with its remote id and version).
        ``idempotency_key`` goes in the service's own field for it, so ``find_created`` can tell
        whether a create whose answer was lost did happen."""
        ...

    async def find_created(self, entity: Entity, idempotency_key: str) -> Any | None: ...

    async def update(self, entity: Entity, record: Any) -> Any:
        """Returns the record as the service now holds it: its remote id may have changed (Clear
        Books reissues a non-draft document under a new id)."""
        ...

    async def delete(self, entity: Entity, remote_id: str) -> None: ...

    async def report(self, request: ReportRequest) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...


# The domain type each entity lists as, for code that checks or converts generically.
MODELS: dict[Entity, type] = {
    Entity.CUSTOMERS: Customer,
    Entity.INVOICES: SalesDocument,
    Entity.CREDIT_NOTES: SalesDocument,
    Entity.BANK_ACCOUNTS: BankAccount,
    Entity.BANK_TRANSACTIONS: BankTransaction,
    Entity.PAYMENTS: Payment,
    Entity.ACCOUNTS: Account,
    Entity.LEDGER_LINES: LedgerLine,
}
