"""The window's ``Session`` over the workspace: its companies for the switcher, and each company opened
with its cached store and its sync running in the background.

Opening a company never waits for the network: the store opens from its file at once (created empty the
first time) and the window paints what is cached; the company's client and sync engine start beside it.
A connection that needs signing in again still opens its company, offline, with sync unavailable and the
reason in its tooltip. Closing a company stops its sync (an edit being sent is looked up next time) and
only then closes its store.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable

from app.store import CompanyStore
from app.store.paths import company_file
from app.sync.control import ControlState, EngineControl
from app.sync.engine import SyncEngine
from app.sync.schedule import Scheduler
from app.workspace import CompanyEntry, Connection, Workspace
from providers.base import Capabilities, Provider, ProviderError
from ui.context import CompanyChoice, CompanyContext, NoSync
from ui.tasks import reads_done

log = logging.getLogger(__name__)

KEY_SEPARATOR = "/"


def company_key(connection_id: str, company_id: str) -> str:
    return f"{connection_id}{KEY_SEPARATOR}{company_id}"


class SignInNeeded(NoSync):
    """A company whose connection must sign in again: it opens from its cache, its edits wait."""

    def __init__(self, message: str):
        self.reason = f"{message} Until then, edits wait on this computer."


class WorkspaceSession:
    def __init__(self, workspace: Workspace, *, scheduler: Callable[[SyncEngine], Scheduler] = Scheduler,
                 start_sync: bool = True):
        self.workspace = workspace
        self._scheduler = scheduler
        self._start_sync = start_sync
        self._open: dict[str, tuple[CompanyContext, Provider | None]] = {}

    def companies(self) -> list[CompanyChoice]:
        recent = self.workspace.recents()
        seen = {ref.key for ref in recent}
        ordered = recent + [ref for ref in self.workspace.companies() if ref.key not in seen]
        return [CompanyChoice(company_key(*ref.key), ref.company.title, ref.connection.provider,
                              ref.connection.title) for ref in ordered]

    def first_key(self) -> str | None:
        """The company to open at start: the most recent, else the first of the switcher's list."""
        choices = self.companies()
        return choices[0].key if choices else None

    async def open(self, key: str) -> CompanyContext:
        if key in self._open:
            self.workspace.mark_opened(*self._split(key))
            return self._open[key][0]
        connection, company = self._find(key)
        path = company_file(connection.provider, connection.id, company.id)
        store = await asyncio.to_thread(_open_or_create, path)
        provider: Provider | None = None
        try:
            provider = await self.workspace.open_company(connection.id, company.id)
        except ProviderError as error:  # AuthError above all: the cache opens anyway
            log.warning("%s company %s opens offline: %s", connection.service, company.id, error.message)
            sync = SignInNeeded(error.message)
            self.workspace.mark_opened(connection.id, company.id)
        else:
            engine = SyncEngine(store, provider, company=company.id)
            # EngineControl has the shape of the window's SyncControl (app never imports ui); the session
            # only adds the switcher's "last synced" to it.
            sync = EngineControl(engine, self._scheduler(engine))
            sync.subscribe(_on_success(lambda: self.workspace.mark_synced(connection.id, company.id)))
            if self._start_sync:
                sync.start()
        context = CompanyContext(
            key=key, name=company.title, provider=connection.provider, store=store, connection=connection.title,
            currency=company.currency, sync=sync,
            capabilities=provider.capabilities if provider is not None else Capabilities())
        self._open[key] = (context, provider)
        return context

    async def close(self, context: CompanyContext) -> None:
        entry = self._open.pop(context.key, None)
        if isinstance(context.sync, EngineControl):
            await context.sync.stop()
        if entry is not None and entry[1] is not None:
            with contextlib.suppress(Exception):  # a client that cannot close cleanly still lets the store go
                await entry[1].aclose()
        await asyncio.to_thread(context.store.close)

    async def aclose(self) -> None:
        """Every open company closed (the app is quitting), once the window's reads are done."""
        await reads_done()
        for context, _provider in list(self._open.values()):
            await self.close(context)

    def _split(self, key: str) -> tuple[str, str]:
        connection_id, _, company_id = key.partition(KEY_SEPARATOR)
        return connection_id, company_id

    def _find(self, key: str) -> tuple[Connection, CompanyEntry]:
        connection_id, company_id = self._split(key)
        try:
            connection = self.workspace.connection(connection_id)
            return connection, connection.company(company_id)
        except KeyError:
            raise LookupError("That company is no longer in this workspace: its connection was signed out.") from None


def _on_success(callback: Callable[[], None]) -> Callable[[ControlState], None]:
    """Calls ``callback`` each time a run succeeds (its ``last_sync`` moves on)."""
    last: list[dt.datetime | None] = [None]

    def changed(state: ControlState) -> None:
        if state.last_sync is not None and state.last_sync != last[0]:
            last[0] = state.last_sync
            callback()

    return changed


def _open_or_create(path) -> CompanyStore:
    return CompanyStore.open(path) if path.exists() else CompanyStore.create(path)
