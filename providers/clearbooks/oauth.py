"""Clear Books' token endpoint: the refresh grant, as a ``refresh()`` callback for ``tokens.Tokens``.

``POST https://api.clearbooks.co.uk/oauth/token``, form-encoded, ``grant_type=refresh_token`` with the
client id and secret in the body (confidential clients only). Refresh tokens are single use and never
expire until used, so the new pair is handed to ``persist`` (the keyring) before the access token is
used for anything; if persisting fails the new access token is not used.

A refresh whose answer is lost may be sent again safely: if the service did use the refresh token, the
repeat is refused with ``invalid_grant`` (sign in again) rather than minting a second pair. So the token
request is marked idempotent for the shared HTTP layer's retries.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from providers.base import AuthError, BadResponse, ProviderError
from providers.http import HttpSession, RateLimits, parse_json, register_secret

TOKEN_PATH = "/oauth/token"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int | None = None
    scope: str = ""

    def __repr__(self) -> str:  # never print a token, even by accident
        return f"TokenPair(expires_in={self.expires_in!r}, scope={self.scope!r})"


Persist = Callable[[TokenPair], Awaitable[None] | None]


class RefreshGrant:
    """``await grant()`` -> a new access token; the new pair is persisted first."""

    def __init__(self, token_url: str, client_id: str, client_secret: str, refresh_token: str, persist: Persist,
                 *, transport: httpx.AsyncBaseTransport | None = None):
        url = httpx.URL(token_url)
        self._path = url.raw_path.decode() or TOKEN_PATH
        self._session = HttpSession(str(url.copy_with(raw_path=b"/")), service="Clear Books sign-in",
                                    limits=RateLimits(rate=None), transport=transport)
        for secret in (client_secret, refresh_token):
            register_secret(secret)
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._persist = persist
        self.refreshes = 0

    @property
    def refresh_token(self) -> str:
        return self._refresh_token

    async def __call__(self) -> str:
        reply = await self._session.post(self._path, data={
            "grant_type": "refresh_token", "refresh_token": self._refresh_token,
            "client_id": self._client_id, "client_secret": self._client_secret}, idempotent=True)
        answer = _read(reply.body) if reply.ok else None
        if answer is None:
            raise _refused(reply.status, reply.body)
        pair = TokenPair(answer["access_token"], answer["refresh_token"], answer.get("expires_in"),
                         answer.get("scope") or "")
        register_secret(pair.access_token)
        register_secret(pair.refresh_token)
        try:
            saved = self._persist(pair)
            if inspect.isawaitable(saved):
                await saved
        except ProviderError:
            raise
        except Exception as error:
            raise ProviderError(f"The renewed Clear Books sign-in could not be saved ({type(error).__name__}); "
                                "it was not used.") from error
        self._refresh_token = pair.refresh_token
        self.refreshes += 1
        return pair.access_token

    async def aclose(self) -> None:
        await self._session.aclose()


def _read(body: bytes) -> dict[str, Any]:
    answer = parse_json(body, service="Clear Books sign-in")
    if not (isinstance(answer, dict) and isinstance(answer.get("access_token"), str) and answer["access_token"]
            and isinstance(answer.get("refresh_token"), str) and answer["refresh_token"]):
        raise BadResponse("Clear Books sign-in answered without a usable token pair")
    if not isinstance(answer.get("expires_in"), int | None):
        answer["expires_in"] = None
    return answer


def _refused(status: int, body: bytes) -> ProviderError:
    """RFC 6749 section 5.2 errors: every refusal of a refresh means signing in again."""
    try:
        answer = parse_json(body, service="Clear Books sign-in")
    except ProviderError:
        answer = None
    error = description = ""
    if isinstance(answer, dict):
        error = answer.get("error") if isinstance(answer.get("error"), str) else ""
        description = answer.get("error_description") if isinstance(answer.get("error_description"), str) else ""
    if error == "invalid_client":
        return AuthError(f"Clear Books did not accept the application's client id and secret"
                         f"{': ' + description if description else ''}. Check them in the settings.", status=status)
    if error or 400 <= status < 500:
        return AuthError(f"{description or 'Clear Books refused to renew the sign-in'} ({error or status}): "
                         "sign in to Clear Books again.", status=status, detail=error or None)
    return BadResponse(f"Clear Books sign-in answered {status} where a token pair was expected", status=status)
