"""Sign-in and pacing on the AccountsIQ sandbox: client credentials exchanged for access and refresh
tokens (kept in the DocStore, so they survive a restart on a data file), and the documented limit of
100 requests per second per user."""

from __future__ import annotations

import collections
import re
import secrets
import time

from providers.accountsiq.sandbox_data import META
from providers.accountsiq.sandbox_envelope import AiqError
from providers.sandbox.docstore import DocStore

CLIENT_ID = "6f0c3b2e-8d4a-4e71-9b5c-2a7d1e9f4c83"
CLIENT_SECRET = "aiq-demo-Lg7tQ2vX9pR4mW8kZ3nB6yH1sD5fJ0cE"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class Tokens:
    """Opaque bearer tokens. A refresh rotates both tokens; the refresh token used is spent, the
    access token issued with it stays valid until it expires."""

    def __init__(self, store: DocStore, access_lifetime: float, refresh_lifetime: float,
                 clients: dict[str, str] | None = None):
        self.store = store
        self.access_lifetime = access_lifetime
        self.refresh_lifetime = refresh_lifetime
        self.clients = clients or {CLIENT_ID: CLIENT_SECRET}
        self._access: dict[str, tuple[str, float]] = {}

    def _client(self, client_id: str | None, secret: str | None) -> str:
        if not client_id:
            raise AiqError("OAUTH_INTEGRATION_APPS_CLIENTID_IS_NULL_OR_EMPTY", "The client id is empty.")
        if not secret:
            raise AiqError("OAUTH_INTEGRATION_APPS_CLIENTSECRET_IS_NULL_OR_EMPTY", "The client secret is empty.")
        if not _GUID.match(client_id):
            raise AiqError("OAUTH_INTEGRATION_APPS_UNABLE_TO_PARSE_GUID_TO_STRING",
                           f"The client id '{client_id}' is not a GUID.")
        known = self.clients.get(client_id.lower())
        if known is None:
            raise AiqError("OAUTH_INTEGRATION_APPS_APP_NOT_FOUND",
                           "No integration application is registered with this client id.")
        if not secrets.compare_digest(known, secret):
            raise AiqError("CANNOT_LOGIN_INVALID_CREDENTIALS", "The client secret is not correct.")
        return client_id.lower()

    def _issue(self, client: str) -> tuple[str, str]:
        now = time.time()
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        access_expiry, refresh_expiry = now + self.access_lifetime, now + self.refresh_lifetime
        self.store.put(META, "access", access, {"client": client, "expires": int(access_expiry * 1000)})
        self.store.put(META, "refresh", refresh, {"client": client, "expires": int(refresh_expiry * 1000)})
        self._access[access] = (client, access_expiry)
        return access, refresh

    def get(self, client_id: str | None, secret: str | None) -> tuple[str, str]:
        return self._issue(self._client(client_id, secret))

    def refresh(self, client_id: str | None, secret: str | None, refresh_token: str | None) -> tuple[str, str]:
        client = self._client(client_id, secret)
        record = self.store.get(META, "refresh", refresh_token) if refresh_token else None
        if record is None or record["client"] != client:
            raise AiqError("OAUTH_INTEGRATION_APPS_TOKEN_IS_INVALID",
                           "The refresh token is not valid (it may have been used already): sign in again.")
        self.store.delete(META, "refresh", refresh_token)
        if record["expires"] / 1000 <= time.time():
            raise AiqError("OAUTH_INTEGRATION_APPS_REFRESH_TOKEN_EXPIRED",
                           "The refresh token has expired: sign in again.")
        return self._issue(client)

    def client_of(self, access_token: str | None) -> str:
        """The client an access token belongs to; a failure answer when it is missing, unknown or old."""
        if not access_token:
            raise AiqError("WS_INVALIDTOKEN", "The AiqSoapHeader carries no access token.")
        known = self._access.get(access_token)
        if known is None:
            record = self.store.get(META, "access", access_token)
            if record is None:
                raise AiqError("WS_INVALIDTOKEN", "The access token is not valid.")
            known = (record["client"], record["expires"] / 1000)
            self._access[access_token] = known
        if known[1] <= time.time():
            raise AiqError("OAUTH_INTEGRATION_APPS_TOKEN_EXPIRED",
                           "The access token has expired: refresh it with TokenRefresh.", has_expired=True)
        return known[0]

    def owner(self, access_token: str | None) -> str | None:
        """For pacing: whose request this is, without judging the token."""
        if not access_token:
            return None
        known = self._access.get(access_token)
        return known[0] if known else None


class RateLimit:
    """At most ``per_second`` requests in any one-second window, per user."""

    def __init__(self, per_second: int):
        self.per_second = per_second
        self._seen: dict[str, collections.deque[float]] = {}

    def admit(self, user: str) -> float:
        """0 if the request may go ahead, else the seconds until it could."""
        now = time.monotonic()
        seen = self._seen.setdefault(user, collections.deque())
        while seen and seen[0] <= now - 1.0:
            seen.popleft()
        if len(seen) >= self.per_second:
            return max(seen[0] + 1.0 - now, 0.001)
        seen.append(now)
        return 0.0
