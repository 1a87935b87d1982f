"""Where the Clear Books client gets its bearer token, and how it gets a new one.

The sign-in layer owns the tokens (keyring, browser flow); the client only needs the access token of the
moment and a way to renew it. ``TokenSource`` is that seam: ``access_token`` now, and ``renew(rejected)``
when the service answered 401 to ``rejected``. ``Tokens`` implements it over an access token and an async
``refresh()`` callback that returns a new access token (``oauth.RefreshGrant`` is one: it runs the
refresh grant and persists the new single-use refresh token before handing the access token over).

Renewals share one lock: requests that fail together with the same expired token cause one refresh, and
the ones that arrive after it simply use the new token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from providers.base import AuthError, ProviderError
from providers.http import register_secret

Refresh = Callable[[], Awaitable[str]]


@runtime_checkable
class TokenSource(Protocol):
    @property
    def access_token(self) -> str: ...

    @property
    def renewable(self) -> bool:
        """False when there is no way to a new token (a 401 is then final, in the service's words)."""
        ...

    async def renew(self, rejected: str) -> str:
        """A token to use instead of ``rejected`` (the service refused it); AuthError when there is none."""
        ...


class Tokens:
    """An access token and the callback that renews it."""

    def __init__(self, access_token: str, refresh: Refresh | None = None):
        if not access_token:
            raise AuthError("Sign in to Clear Books first: there is no access token.")
        register_secret(access_token)
        self._access = access_token
        self._refresh = refresh
        self._lock = asyncio.Lock()
        self.renewals = 0  # a figure for tests: how many times the callback ran

    @property
    def access_token(self) -> str:
        return self._access

    @property
    def renewable(self) -> bool:
        return self._refresh is not None

    async def renew(self, rejected: str) -> str:
        async with self._lock:
            if self._access != rejected:
                return self._access  # renewed meanwhile by a request that failed alongside this one
            if self._refresh is None:
                raise AuthError("Clear Books no longer accepts this sign-in: sign in again.")
            try:
                fresh = await self._refresh()
            except ProviderError:
                raise
            except Exception as error:  # the app's callback: whatever it raises is not ours to leak
                raise AuthError(f"Renewing the Clear Books sign-in failed ({type(error).__name__}): "
                                "sign in again.") from error
            if not isinstance(fresh, str) or not fresh:
                raise AuthError("Renewing the Clear Books sign-in gave no access token: sign in again.")
            register_secret(fresh)
            self._access = fresh
            self.renewals += 1
            return fresh
