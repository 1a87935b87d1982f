"""A signed-in provider client for one company of a connection, built from the vault's secrets.

Each provider's client is imported when first needed: a provider that does not import (being rewritten,
or broken) takes down its own connections, not the others.

Token state is per connection, not per client: the clients of a connection's companies share one
``OAuthTokens`` (Clear Books) or one AccountsIQ ``Tokens``, so a connection refreshes once however many
companies are open, and a single-use refresh token is never spent twice by two of its own clients.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.auth.model import TOKENS, TokenSet
from app.auth.tokens import OAuthTokens, SignInNeeded, clearbooks_refresher
from app.auth.vault import Vault
from providers.base import AuthError, Provider

if TYPE_CHECKING:
    from app.workspace import Connection


class ConnectionClients:
    def __init__(self, vault: Vault, *, on_sign_in_needed: SignInNeeded | None = None,
                 clock: Callable[[], float] = time.time):
        self.vault = vault
        self.on_sign_in_needed = on_sign_in_needed
        self._clock = clock
        self._oauth: dict[str, OAuthTokens] = {}
        self._accountsiq: dict[str, Any] = {}  # connection id -> the shared providers.accountsiq Tokens
        self._creating = asyncio.Lock()  # two companies opened at once must not make two token sources

    async def tokens(self, connection: Connection) -> OAuthTokens:
        """The connection's OAuth token source (Clear Books), made once."""
        async with self._creating:
            found = self._oauth.get(connection.id)
            if found is None:
                tokens = TokenSet.loads(await self.vault.aget(connection.id, TOKENS), connection.service)
                secret = await self._secret(connection, "client_secret")
                refresh = clearbooks_refresher(connection.endpoints["token"], connection.details["client_id"],
                                               secret, clock=self._clock)
                found = self._oauth[connection.id] = OAuthTokens(
                    connection.id, connection.title, tokens, refresh, self.vault, clock=self._clock,
                    on_sign_in_needed=self._sign_in_needed)
            return found

    async def open(self, connection: Connection, company_id: str) -> Provider:
        api = connection.endpoints["api"]
        company = connection.company(company_id)
        if connection.provider == "clearbooks":
            from providers.clearbooks.client import Client as ClearBooksClient

            return ClearBooksClient(api, company_id, tokens=await self.tokens(connection))
        if connection.provider == "accountingsuite":
            from providers.accountingsuite.client import Client as AccountingSuiteClient

            key = await self._secret(connection, f"apisecretkey:{company_id}")
            return AccountingSuiteClient(api, key, company_id, company_name=company.name, currency=company.currency)
        if connection.provider == "accbooks":
            from providers.accbooks.client import Client as AccBooksClient

            return AccBooksClient(api, await self._secret(connection, "api_key"), company_id)
        if connection.provider == "accountsiq":
            return await self._accountsiq_client(connection, company_id, company.currency)
        raise ValueError(f"unknown provider {connection.provider!r}")

    async def _accountsiq_client(self, connection: Connection, company_id: str, currency: str) -> Provider:
        from providers.accountsiq.client import Client as AccountsIQClient

        async with self._creating:
            secret = await self._secret(connection, "client_secret")
            tokens = TokenSet.loads(await self.vault.aget(connection.id, TOKENS), connection.service)

            async def persist(access: str, refresh: str) -> None:
                # Before the client uses the new token (providers.accountsiq.tokens awaits this first).
                await self.vault.aset(connection.id, TOKENS, TokenSet(access, refresh or None).dumps())

            client = AccountsIQClient(connection.endpoints["api"], connection.details["client_id"], secret,
                                      company_id, access_token=tokens.access_token,
                                      refresh_token=tokens.refresh_token, on_tokens=persist, currency=currency)
            # The client makes its own Tokens; the connection's first one is shared by the rest.
            client.tokens = self._accountsiq.setdefault(connection.id, client.tokens)
            return client

    async def forget(self, connection_id: str) -> None:
        """Drop what is cached for a connection (signed out, or signed in again with new tokens)."""
        async with self._creating:
            tokens = self._oauth.pop(connection_id, None)
            self._accountsiq.pop(connection_id, None)
        if tokens is not None:
            await tokens.aclose()

    async def forget_all(self) -> None:
        for connection_id in list({*self._oauth, *self._accountsiq}):
            await self.forget(connection_id)

    async def _secret(self, connection: Connection, name: str) -> str:
        value = await self.vault.aget(connection.id, name)
        if not value:
            raise AuthError(f"{connection.title}: its saved sign-in is missing from the keyring. Sign in again.")
        return value

    def _sign_in_needed(self, connection_id: str, error: AuthError) -> None:
        if self.on_sign_in_needed is not None:
            self.on_sign_in_needed(connection_id, error)
