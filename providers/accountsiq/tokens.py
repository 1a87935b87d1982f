"""Sign-in to AccountsIQ: client id + secret -> ``TokenGet``; ``TokenRefresh`` when a call says
``HasExpired``.

- Concurrent calls that all meet an expired token share one renewal (a lock and a generation count:
  a call that saw generation N renews only if nobody has renewed since N).
- A refresh token is single-use; if ``TokenRefresh`` refuses it (spent, expired, or its answer was lost
  on the way), the client signs in again with ``TokenGet``: it holds the client credentials, so a
  refresh that fails never needs the user. Only refused credentials are an ``AuthError`` to show.
- New tokens go to ``on_tokens`` (the app's keyring) before the new access token is used.
- Every token and the secret are registered with the redaction of ``providers.http``: no log line
  carries them, whatever logger prints it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from providers.accountsiq import envelope
from providers.accountsiq.envelope import Answer, el
from providers.accountsiq.errors import error_for
from providers.base import AuthError, BadResponse, ProviderError, UnknownOutcome, ValidationError
from providers.http import get_logger, register_secret

log = get_logger(__name__)

# ``send(method, body)``: one sign-in call (no AiqSoapHeader), its answer read.
Send = Callable[[str, str], Awaitable[Answer]]
OnTokens = Callable[[str, str], Any]


class Tokens:
    def __init__(self, client_id: str, client_secret: str, *, access_token: str | None = None,
                 refresh_token: str | None = None, on_tokens: OnTokens | None = None):
        if not client_id or not client_secret:
            raise AuthError("Enter the AccountsIQ client id and secret of the integration.")
        register_secret(client_secret)
        register_secret(access_token)
        register_secret(refresh_token)
        self.client_id = client_id.strip()
        self._secret = client_secret
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.on_tokens = on_tokens
        self.generation = 0
        self.renewals = 0  # refreshes and sign-ins done: a figure for tests
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _guard(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    async def current(self, send: Send) -> tuple[str, int]:
        """The access token to use, signing in first if there is none, with its generation."""
        if self.access_token is None:
            await self.renew(self.generation, send, refresh=False)
        assert self.access_token is not None
        return self.access_token, self.generation

    async def renew(self, seen: int, send: Send, *, refresh: bool = True) -> None:
        """Replace the access token that generation ``seen`` used, unless that has been done already."""
        async with self._guard():
            if self.generation != seen and self.access_token is not None:
                return
            if refresh and self.refresh_token:
                try:
                    await self._take(await send("TokenRefresh", self._credentials()
                                                + el("refreshToken", self.refresh_token)), "TokenRefresh")
                    return
                except (AuthError, BadResponse) as error:
                    log.info("AccountsIQ refused the refresh token (%s); signing in again", error.message)
                except ProviderError as error:
                    if not _worth_a_sign_in(error):
                        raise
                    log.info("AccountsIQ token refresh failed (%s); signing in again", error.message)
            await self._take(await send("TokenGet", self._credentials()), "TokenGet")

    def _credentials(self) -> str:
        return el("clientId", self.client_id) + el("clientSecret", self._secret)

    async def _take(self, answer: Answer, method: str) -> None:
        if not answer.ok:
            error = error_for(answer)
            if isinstance(error, AuthError):
                raise error
            raise AuthError(error.message, detail=error.detail)
        access, refresh = _tokens_in(answer)
        if not access:
            raise BadResponse(f"AccountsIQ's answer to {method} carries no access token")
        register_secret(access)
        register_secret(refresh)
        if self.on_tokens is not None:
            saved = self.on_tokens(access, refresh or "")
            if inspect.isawaitable(saved):
                await saved
        self.access_token, self.refresh_token = access, refresh or None
        self.generation += 1
        self.renewals += 1
        log.debug("AccountsIQ %s: new access token (generation %d)", method, self.generation)


def _worth_a_sign_in(error: ProviderError) -> bool:
    # A refresh whose answer was lost may have spent the refresh token: a fresh sign-in is the way on.
    return isinstance(error, UnknownOutcome | ValidationError)


def _tokens_in(answer: Answer) -> tuple[str | None, str | None]:
    """The catalogue puts the tokens inside ``Result`` and again as out parameters: read either."""
    found: dict[str, str | None] = {}
    if answer.result is not None:
        found.update(envelope.members(answer.result))
    for name in ("AccessToken", "RefreshToken"):
        if not found.get(name) and answer.out.get(name):
            found[name] = answer.out[name]
    access, refresh = found.get("AccessToken"), found.get("RefreshToken")
    return (access.strip() if access else None), (refresh.strip() if refresh else None)
