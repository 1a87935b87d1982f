"""OAuth tokens of one connection, as the ``TokenSource`` the Clear Books client takes.

- One ``OAuthTokens`` per connection (``clients`` caches them), shared by the clients of all its
  companies, so its ``asyncio.Lock`` makes one refresh at a time per connection: requests that meet the
  same expired token cause one refresh, and the ones behind it use the new token.
- Before expiry: reading ``access_token`` within ``margin`` of the expiry starts a refresh in the
  background (the current token is still valid meanwhile); ``fresh()`` does it in the caller's time, for
  code that can wait (a sync run starting). After expiry, the service's 401 leads to ``renew``.
- Persisted before use: the new set (with its single-use refresh token) is written to the vault first;
  only then does ``access_token`` hand out the new token. If the vault cannot take it, the new token is
  never used and the connection needs a new sign-in (its old refresh token is spent at the service).
- ``invalid_grant`` (and any other refusal of the refresh) ends THIS connection: ``AuthError`` saying
  "sign in again", reported once through ``on_sign_in_needed``, raised again on every later renewal
  without asking the service. Other connections carry on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn

from app.auth.errors import VaultUnavailable
from app.auth.model import TOKENS, TokenSet
from app.auth.vault import Vault
from providers.base import AuthError, BadResponse, ProviderError
from providers.http import get_logger

log = get_logger(__name__)

REFRESH_MARGIN = 120.0  # seconds before expiry that a refresh starts: clocks differ, requests take time
_RETRY_EARLY_AFTER = 30.0  # a failed early refresh (network) is not tried again for this long

Refresh = Callable[[str], Awaitable[TokenSet]]
SignInNeeded = Callable[[str, AuthError], None]


class OAuthTokens:
    def __init__(self, connection_id: str, label: str, tokens: TokenSet, refresh: Refresh, vault: Vault, *,
                 clock: Callable[[], float] = time.time, margin: float = REFRESH_MARGIN,
                 on_sign_in_needed: SignInNeeded | None = None):
        self.connection_id = connection_id
        self.label = label
        self._tokens = tokens
        self._refresh = refresh
        self._vault = vault
        self._clock = clock
        self.margin = margin
        self._on_sign_in_needed = on_sign_in_needed
        self._lock = asyncio.Lock()
        self._dead: AuthError | None = None
        self._early: asyncio.Task | None = None
        self._early_failed_at = float("-inf")
        self.refreshes = 0  # a figure for tests

    # --- TokenSource ---------------------------------------------------------------------------------
    @property
    def access_token(self) -> str:
        if self._expiring() and self._dead is None:
            self._refresh_early()
        return self._tokens.access_token

    @property
    def renewable(self) -> bool:
        # True even once dead: renew() then raises this connection's "sign in again", which says more
        # than a client's generic 401 message.
        return self._tokens.refresh_token is not None or self._dead is not None

    async def renew(self, rejected: str) -> str:
        async with self._lock:
            if self._dead is not None:
                raise self._dead
            if self._tokens.access_token != rejected:
                return self._tokens.access_token  # renewed meanwhile by a request that failed alongside
            await self._refresh_locked()
            return self._tokens.access_token

    # --- for callers that can wait ------------------------------------------------------------------------
    async def fresh(self) -> str:
        """The access token, refreshed first if it expires within the margin."""
        async with self._lock:
            if self._dead is not None:
                raise self._dead
            if self._expiring():
                await self._refresh_locked()
            return self._tokens.access_token

    @property
    def signed_out(self) -> AuthError | None:
        return self._dead

    async def aclose(self) -> None:
        if self._early is not None and not self._early.done():
            self._early.cancel()
            await asyncio.gather(self._early, return_exceptions=True)

    # --- inside ---------------------------------------------------------------------------------------
    def _expiring(self) -> bool:
        expires_at = self._tokens.expires_at
        return expires_at is not None and self._clock() >= expires_at - self.margin

    def _refresh_early(self) -> None:
        if (self._early is not None and not self._early.done()) or \
                time.monotonic() - self._early_failed_at < _RETRY_EARLY_AFTER or self._lock.locked():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the request's 401 will renew instead
        self._early = loop.create_task(self._early_refresh(), name=f"refresh {self.connection_id}")

    async def _early_refresh(self) -> None:
        try:
            await self.fresh()
        except ProviderError as error:
            # A request will meet the 401 and renew (or show the user this connection's message).
            self._early_failed_at = time.monotonic()
            log.info("%s: early token refresh failed: %s", self.label, error.message)

    async def _refresh_locked(self) -> None:
        refresh_token = self._tokens.refresh_token
        if not refresh_token:
            self._end(AuthError(f"{self.label}: the sign-in has expired and cannot be renewed. Sign in again."))
        try:
            tokens = await self._refresh(refresh_token)
        except AuthError as error:
            self._end(error)
        try:
            await self._vault.aset(self.connection_id, TOKENS, tokens.dumps())
        except VaultUnavailable as error:
            self._end(AuthError(f"{self.label}: the renewed sign-in could not be saved ({error.message}), so it "
                                "was not used. Sign in again.", detail={"vault": True}))
        self._tokens = tokens
        self.refreshes += 1
        log.info("%s: access token renewed (%d this session)", self.label, self.refreshes)

    def _end(self, error: AuthError) -> NoReturn:
        text = error.message
        if "sign in" not in text.lower():
            text = f"{text} Sign in again."
        if not text.startswith(self.label):
            text = f"{self.label}: {text}"
        self._dead = AuthError(text, status=error.status, detail=error.detail)
        log.warning("connection %s needs a new sign-in: %s", self.connection_id, text)
        if self._on_sign_in_needed is not None:
            self._on_sign_in_needed(self.connection_id, self._dead)
        raise self._dead


def clearbooks_refresher(token_url: str, client_id: str, client_secret: str, *,
                         clock: Callable[[], float] = time.time) -> Refresh:
    """The Clear Books refresh grant (``providers.clearbooks.oauth``), returning the new set unsaved: the
    caller (``OAuthTokens``) saves it before anything uses it."""

    from providers.clearbooks.oauth import RefreshGrant

    async def refresh(refresh_token: str) -> TokenSet:
        received: list = []
        grant = RefreshGrant(token_url, client_id, client_secret, refresh_token, received.append)
        try:
            await grant()
        finally:
            await grant.aclose()
        if not received:
            raise BadResponse("Clear Books renewed the sign-in without a token pair")
        pair = received[0]
        return TokenSet(pair.access_token, pair.refresh_token,
                        None if pair.expires_in is None else clock() + pair.expires_in)

    return refresh
