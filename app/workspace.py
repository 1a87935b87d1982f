"""Connections and companies: what the company switcher lists, and the settings file behind it.

A connection is one sign-in to one service (a Clear Books grant, an AccountingSuite login or key, an
AccBooks key, an AccountsIQ integration); it lists the companies that sign-in reaches. The workspace keeps
connections, companies (the service's name and the user's own, currency, last sync) and recently opened
companies in ``workspace.json`` under ``config_dir()``. That file holds NO secret: secrets go to the vault
under the connection's id, and the file names only what the user may see.

- ``add(signed_in)``: secrets into the vault first (if the keyring cannot take them, nothing changes),
  then the connection. A repeat sign-in to the same account (same service, same ``account``) renews that
  connection instead of adding a second; different accounts of one service coexist.
- ``sign_out(id, remove_caches=...)``: every secret of the connection leaves the vault; its company
  files are deleted only when the caller says so (the UI asks first); the connection and its recents go.
- The file is written whole to a temporary file and moved over the old one, so a crash leaves the old
  file or the new one. An unreadable file is set aside (``.broken``) and the workspace starts empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.auth.clients import ConnectionClients
from app.auth.model import SignedIn
from app.auth.vault import Vault
from app.store.paths import company_file, config_dir
from providers.base import AuthError, Provider
from providers.http import get_logger

log = get_logger(__name__)

SETTINGS_FILE = "workspace.json"
VERSION = 1
MAX_RECENTS = 10
SERVICE_NAMES = {"clearbooks": "Clear Books", "accountingsuite": "AccountingSuite", "accbooks": "AccBooks",
                 "accountsiq": "AccountsIQ"}
_CACHE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class CompanyEntry:
    id: str
    name: str  # as the service names it
    currency: str = "GBP"
    display_name: str | None = None  # the user's own name for it
    last_sync: str | None = None  # ISO 8601, UTC

    @property
    def title(self) -> str:
        return self.display_name or self.name


@dataclass
class Connection:
    id: str
    provider: str
    sign_in: str
    account: str
    label: str
    endpoints: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    companies: list[CompanyEntry] = field(default_factory=list)
    signed_in_at: str = ""
    needs_sign_in: str | None = None  # the message to show until the user signs in again
    display_name: str | None = None  # the user's own name for the connection

    @property
    def title(self) -> str:
        return self.display_name or self.label

    @property
    def service(self) -> str:
        return SERVICE_NAMES.get(self.provider, self.provider)

    def company(self, company_id: str) -> CompanyEntry:
        for company in self.companies:
            if company.id == company_id:
                return company
        raise KeyError(f"{self.label} has no company {company_id!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Connection:
        companies = [CompanyEntry(**{k: v for k, v in c.items() if k in CompanyEntry.__dataclass_fields__})
                     for c in data.get("companies", [])]
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "companies"}
        return cls(**known, companies=companies)


@dataclass(frozen=True)
class CompanyRef:
    """One row of the company switcher."""

    connection: Connection
    company: CompanyEntry

    @property
    def key(self) -> tuple[str, str]:
        return self.connection.id, self.company.id


class Workspace:
    def __init__(self, vault: Vault, path: Path | None = None, *, clients: ConnectionClients | None = None):
        self.vault = vault
        self.path = path or config_dir() / SETTINGS_FILE
        self.clients = clients or ConnectionClients(vault)
        self.clients.on_sign_in_needed = self._sign_in_needed
        self._connections: list[Connection] = []
        self._recents: list[tuple[str, str]] = []
        self._load()

    # --- reading ---------------------------------------------------------------------------------------
    @property
    def connections(self) -> list[Connection]:
        return list(self._connections)

    def connection(self, connection_id: str) -> Connection:
        for connection in self._connections:
            if connection.id == connection_id:
                return connection
        raise KeyError(f"no connection {connection_id!r}")

    def companies(self) -> list[CompanyRef]:
        """Every company of every connection, by title, then service."""
        refs = [CompanyRef(c, company) for c in self._connections for company in c.companies]
        return sorted(refs, key=lambda r: (r.company.title.casefold(), r.connection.service, r.connection.id))

    def recents(self) -> list[CompanyRef]:
        found = []
        for connection_id, company_id in self._recents:
            try:
                connection = self.connection(connection_id)
                found.append(CompanyRef(connection, connection.company(company_id)))
            except KeyError:
                continue
        return found

    def cache_files(self, connection_id: str) -> list[Path]:
        """The company files a sign-out with ``remove_caches`` deletes (for the UI's confirmation)."""
        connection = self.connection(connection_id)
        files = []
        for company in connection.companies:
            base = company_file(connection.provider, connection.id, company.id)
            files.extend(path for suffix in _CACHE_SUFFIXES
                         if (path := base.with_name(base.name + suffix)).exists())
        return files

    # --- signing in and out -------------------------------------------------------------------------------
    async def add(self, signed_in: SignedIn, *, connection_id: str | None = None) -> Connection:
        """Save a sign-in: a new connection, or ``connection_id``/the same account signed in again."""
        existing = self._existing(signed_in, connection_id)
        ident = existing.id if existing else self._new_id()
        old_names = set(await asyncio.to_thread(self.vault.names, ident)) if existing else set()
        try:
            for name, value in signed_in.secrets.items():
                await self.vault.aset(ident, name, value)
        except BaseException:
            if existing is None:  # no entry may outlive a sign-in that was not saved
                with contextlib.suppress(Exception):
                    await self.vault.adelete_connection(ident)
            raise
        for name in old_names - set(signed_in.secrets):  # e.g. a database this login no longer reaches
            await self.vault.adelete(ident, name)
        before = {c.id: c for c in existing.companies} if existing else {}
        companies = [CompanyEntry(c.id, c.name, c.currency,
                                  before[c.id].display_name if c.id in before else None,
                                  before[c.id].last_sync if c.id in before else None)
                     for c in signed_in.companies]
        connection = Connection(
            id=ident, provider=signed_in.provider, sign_in=str(signed_in.kind), account=signed_in.account,
            label=signed_in.label, endpoints=dict(signed_in.endpoints), details=dict(signed_in.details),
            companies=companies, signed_in_at=_now(), display_name=existing.display_name if existing else None)
        if existing:
            self._connections[self._connections.index(existing)] = connection
            await self.clients.forget(ident)  # its cached token source holds the old tokens
        else:
            self._connections.append(connection)
        self.save()
        log.info("%s connection %s saved with %d companies (secrets in %s)", connection.service, ident,
                 len(companies), self.vault.describe())
        return connection

    async def sign_out(self, connection_id: str, *, remove_caches: bool = False) -> list[Path]:
        """Forget a connection and its secrets; with ``remove_caches``, delete its company files too.
        If the keyring cannot remove the secrets, the connection stays (so it can be tried again)."""
        connection = self.connection(connection_id)
        await self.clients.forget(connection_id)
        await self.vault.adelete_connection(connection_id)
        removed: list[Path] = []
        if remove_caches:
            for path in self.cache_files(connection_id):
                path.unlink(missing_ok=True)
                removed.append(path)
        self._connections.remove(connection)
        self._recents = [r for r in self._recents if r[0] != connection_id]
        self.save()
        log.info("signed out of %s connection %s (%d company files removed)", connection.service,
                 connection_id, len(removed))
        return removed

    # --- using a company ----------------------------------------------------------------------------------
    async def open_company(self, connection_id: str, company_id: str) -> Provider:
        """A signed-in client for one company; the company becomes the most recent."""
        connection = self.connection(connection_id)
        if connection.needs_sign_in:
            raise AuthError(connection.needs_sign_in)
        connection.company(company_id)
        provider = await self.clients.open(connection, company_id)
        self.mark_opened(connection_id, company_id)
        return provider

    def mark_opened(self, connection_id: str, company_id: str) -> None:
        key = (connection_id, company_id)
        self._recents = [key, *(r for r in self._recents if r != key)][:MAX_RECENTS]
        self.save()

    def mark_synced(self, connection_id: str, company_id: str, when: dt.datetime | None = None) -> None:
        company = self.connection(connection_id).company(company_id)
        company.last_sync = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")
        self.save()

    def rename_company(self, connection_id: str, company_id: str, name: str | None) -> None:
        self.connection(connection_id).company(company_id).display_name = (name or "").strip() or None
        self.save()

    def rename_connection(self, connection_id: str, name: str | None) -> None:
        self.connection(connection_id).display_name = (name or "").strip() or None
        self.save()

    def mark_needs_sign_in(self, connection_id: str, message: str) -> None:
        self.connection(connection_id).needs_sign_in = message
        self.save()

    def _sign_in_needed(self, connection_id: str, error: AuthError) -> None:
        with contextlib.suppress(KeyError):  # signed out meanwhile
            self.mark_needs_sign_in(connection_id, error.message)

    # --- the file -------------------------------------------------------------------------------------------
    def save(self) -> None:
        data = {"version": VERSION,
                "connections": [asdict(c) for c in self._connections],
                "recents": [list(r) for r in self._recents]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".workspace-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, indent=2, ensure_ascii=False)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            connections = [Connection.from_dict(c) for c in data.get("connections", [])]
            recents = [(str(a), str(b)) for a, b in data.get("recents", [])]
        except (OSError, ValueError, TypeError, AttributeError) as error:
            broken = self.path.with_name(f"{self.path.name}.broken-{dt.datetime.now():%Y%m%d%H%M%S}")
            log.warning("the workspace file %s cannot be read (%s); set aside as %s, starting empty", self.path,
                        type(error).__name__, broken.name)
            self.path.replace(broken)
            return
        self._connections, self._recents = connections, recents

    def _existing(self, signed_in: SignedIn, connection_id: str | None) -> Connection | None:
        if connection_id is not None:
            connection = self.connection(connection_id)
            if connection.provider != signed_in.provider:
                raise ValueError(f"a {signed_in.provider} sign-in cannot renew {connection.provider} connection "
                                 f"{connection_id}")
            return connection
        for connection in self._connections:
            if connection.provider == signed_in.provider and connection.account == signed_in.account:
                return connection
        return None

    def _new_id(self) -> str:
        taken = {c.id for c in self._connections}
        while True:
            ident = secrets.token_hex(4)
            if ident not in taken:
                return ident

