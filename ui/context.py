"""What the window is handed: the open company (``CompanyContext``) and the way to reach others (``Session``).

These are the seams to the parts being built beside the UI. The window never asks the workspace, the
vault or the sync engine anything directly: it asks a ``Session`` for the companies it may switch to and
for a ``CompanyContext`` to open, and it drives sync through the context's ``SyncControl``. Until the
workspace (issue 5) and sync (issue 6) land, ``SingleCompany`` and ``NoSync`` stand in for them, so the
window works on any company file today; wiring the real ones in is an adapter, not a change to the views.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from app.store import CompanyStore
from providers.base import Capabilities, Entity, Operation

PROVIDER_NAMES = {"clearbooks": "Clear Books", "accountingsuite": "AccountingSuite", "accbooks": "AccBooks",
                  "accountsiq": "AccountsIQ", "local": "This computer"}


@dataclass(frozen=True)
class VatRate:
    key: str  # the provider's own key, stored on the line as vat_rate_key
    label: str
    rate: Decimal  # per cent


# UK rates: what every provider we speak to offers under these keys (each mapping's VAT_RATES agrees).
UK_VAT_RATES = (
    VatRate("standard", "Standard 20%", Decimal(20)),
    VatRate("reduced", "Reduced 5%", Decimal(5)),
    VatRate("zero", "Zero rated 0%", Decimal(0)),
    VatRate("exempt", "Exempt", Decimal(0)),
)


@dataclass(frozen=True)
class SyncState:
    """What the status bar shows about sync. ``online`` is None when no service is connected."""

    online: bool | None = None
    last_sync: dt.datetime | None = None
    running: bool = False
    activity: str = ""  # "Pulling invoices", ...
    done: int = 0
    total: int | None = None
    message: str = ""  # the last run's problem, in words for the user (empty when all is well)


class SyncControl(Protocol):
    """The window's handle on a company's sync (issue 6 adapts its Scheduler/Hub to this)."""

    @property
    def available(self) -> bool: ...

    @property
    def reason(self) -> str:
        """Why sync actions are unavailable (shown as their tooltip), when ``available`` is False."""
        ...

    def state(self) -> SyncState: ...

    def subscribe(self, callback: Callable[[SyncState], None]) -> Callable[[], None]:
        """Call ``callback`` on the UI thread whenever the state changes; returns the unsubscriber."""
        ...

    def sync_now(self) -> None: ...

    def cancel(self) -> None: ...

    def edited(self) -> None:
        """A local edit was committed: push it soon."""
        ...

    async def retry(self, entry_id: int) -> None: ...

    async def discard(self, entry_id: int) -> None: ...

    async def resolve(self, entry_id: int, record: dict) -> None:
        """A conflict settled: ``record`` is the version the user chose, field by field."""
        ...


class NoSync:
    """A company with no service attached (before sync lands, or a file opened on its own): the
    outbox simply keeps every edit, which is exactly what an offline company does."""

    reason = "This company is not connected to its service in this window, so edits wait on this computer."

    @property
    def available(self) -> bool:
        return False

    def state(self) -> SyncState:
        return SyncState()

    def subscribe(self, callback: Callable[[SyncState], None]) -> Callable[[], None]:
        return lambda: None

    def sync_now(self) -> None:
        pass

    def cancel(self) -> None:
        pass

    def edited(self) -> None:
        pass

    async def retry(self, entry_id: int) -> None:
        raise RuntimeError(self.reason)

    async def discard(self, entry_id: int) -> None:
        raise RuntimeError(self.reason)

    async def resolve(self, entry_id: int, record: dict) -> None:
        raise RuntimeError(self.reason)


@dataclass
class CompanyContext:
    """One open company: its store and what the window needs to know about its service."""

    key: str  # stable across runs (the workspace's "connection/company"); QSettings remembers it
    name: str
    provider: str  # "clearbooks", ...
    store: CompanyStore
    connection: str = ""  # the connection's name, for the switcher
    currency: str = "GBP"
    capabilities: Capabilities = field(default_factory=Capabilities)
    vat_rates: tuple[VatRate, ...] = UK_VAT_RATES
    sync: SyncControl = field(default_factory=NoSync)
    address: tuple[str, ...] = ()  # the company's own address lines, for its invoices
    vat_number: str = ""

    @property
    def provider_name(self) -> str:
        return PROVIDER_NAMES.get(self.provider, self.provider)

    def allows(self, entity: Entity, operation: Operation) -> tuple[bool, str]:
        """(allowed, reason if not): what an action's enabled state and tooltip come from."""
        reason = self.capabilities.reason(entity, operation)
        return reason is None, reason or ""


@dataclass(frozen=True)
class CompanyChoice:
    """One row of the company switcher."""

    key: str
    name: str
    provider: str
    connection: str = ""

    @property
    def provider_name(self) -> str:
        return PROVIDER_NAMES.get(self.provider, self.provider)


class Session(Protocol):
    """Where the window finds companies to switch to (issue 5's Workspace, behind an adapter)."""

    def companies(self) -> list[CompanyChoice]:
        """Every company of every connection, the most recently opened first."""
        ...

    async def open(self, key: str) -> CompanyContext:
        """Open a company from its cache at once (sync, if any, goes on in the background)."""
        ...

    async def close(self, context: CompanyContext) -> None: ...


class SingleCompany:
    """A session of the companies it was handed (one, usually): what the window runs on before the
    workspace lands, and what the tests use."""

    def __init__(self, *contexts: CompanyContext):
        self._contexts = {c.key: c for c in contexts}
        self._recent: list[str] = [c.key for c in contexts]

    def companies(self) -> list[CompanyChoice]:
        return [CompanyChoice(c.key, c.name, c.provider, c.connection)
                for c in (self._contexts[k] for k in self._recent)]

    async def open(self, key: str) -> CompanyContext:
        try:
            context = self._contexts[key]
        except KeyError:
            raise LookupError("That company is no longer in this workspace.") from None
        self._recent.remove(key)
        self._recent.insert(0, key)
        return context

    async def close(self, context: CompanyContext) -> None:
        pass  # the owner of the stores closes them
