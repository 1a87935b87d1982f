"""Opening a provider client for a company, for the headless ``ledgerdesk sync`` and the tests.

Until the workspace and the keyring vault land (issues 5 and 7), a connection is described by a small
JSON file (``Connection``): provider, service URL, company id and the sign-in details. That is only
acceptable for the sandboxes, whose demo credentials are not secrets (the sandbox prints them); a real
service's secrets never go in such a file, so ``load`` refuses a connection to anything but loopback.

Clients are found by provider name (``providers.<name>.client.Client``), as the sandboxes are, so the
sync engine itself only ever sees the ``Provider`` protocol.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib
import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from providers.base import Provider
from providers.http import RetryPolicy, is_loopback

CLEARBOOKS_REDIRECT = "http://127.0.0.1/callback"


@dataclass(frozen=True)
class Connection:
    provider: str
    url: str  # the sandbox's root URL
    company: str
    credentials: dict[str, str] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> Connection:
        data = json.loads(Path(path).read_text())
        connection = cls(data["provider"], data["url"], str(data["company"]), dict(data.get("credentials", {})))
        host = urlsplit(connection.url).hostname or ""
        if not is_loopback(host):
            raise ValueError("A connection file may only point at a sandbox on this computer: real services are "
                             "signed in to from the app, and their secrets stay in the keyring.")
        return connection

    def with_company(self, company: str) -> Connection:
        return Connection(self.provider, self.url, company, self.credentials)


def sandbox_connection(provider: str, sandbox: Any, url: str, company: str | None = None) -> Connection:
    """A connection to a running sandbox's demo company (the first one unless ``company`` says)."""
    chosen = company or sandbox.companies()[0]["id"]
    return Connection(provider, url.rstrip("/"), str(chosen), {k: str(v) for k, v in sandbox.credentials().items()})


def _client_class(provider: str) -> type:
    return importlib.import_module(f"providers.{provider}.client").Client


async def open_provider(connection: Connection, *, transport: httpx.AsyncBaseTransport | None = None,
                        retry: RetryPolicy | None = None, **options: Any) -> Provider:
    """A signed-in client for the connection's company. ``transport``: in-process (no sockets)."""
    client = _client_class(connection.provider)
    creds, url, company = connection.credentials, connection.url, connection.company
    common: dict[str, Any] = {"transport": transport, **options}
    if retry is not None:
        common["retry"] = retry
    if connection.provider == "accountingsuite":
        key = creds.get(f"apisecretkey.{company}") or creds["apisecretkey"]
        return client(url, key, company, **common)
    if connection.provider == "accbooks":
        key = creds.get(f"api_key.{company}") or _accbooks_key(creds, company)
        return client(f"{url}/v1/", key, company, **common)
    if connection.provider == "accountsiq":
        return client(url, creds["client_id"], creds["client_secret"], company, **common)
    if connection.provider == "clearbooks":
        token = creds.get("access_token") or await clearbooks_token(url, creds, transport)
        return client(url + creds.get("api_path", "/v1"), company, token, **common)
    raise ValueError(f"unknown provider {connection.provider!r}")


def _accbooks_key(creds: dict[str, str], company: str) -> str:
    for name, value in creds.items():
        if company in name and "key" in name.lower():
            return value
    keys = [value for name, value in creds.items() if value.startswith("acb_")]
    if len(keys) == 1:
        return keys[0]
    raise ValueError(f"no AccBooks API key for company {company} in the connection")


async def clearbooks_token(url: str, creds: dict[str, str], transport: httpx.AsyncBaseTransport | None,
                           attempts: int = 8) -> str:
    """The sandbox's browser sign-in (it consents at once), done without a browser: code flow with PKCE.
    A sandbox injecting faults fails some tries; a code is single use, so each try starts over."""
    for attempt in range(attempts):
        try:
            return await _clearbooks_sign_in(url, creds, transport)
        except (httpx.HTTPError, ValueError, KeyError):
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(min(5.0, 0.2 * 2 ** attempt))
    raise AssertionError("not reached")


async def _clearbooks_sign_in(url: str, creds: dict[str, str], transport: httpx.AsyncBaseTransport | None) -> str:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=30) as http:
        answer = await http.get(creds["authorize_path"], params={
            "response_type": "code", "client_id": creds["client_id"], "redirect_uri": CLEARBOOKS_REDIRECT,
            "state": "sync", "code_challenge": challenge, "code_challenge_method": "S256"})
        if answer.status_code != 302:
            raise ValueError(f"the Clear Books sandbox did not consent ({answer.status_code})")
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        token = await http.post(creds["token_path"], data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CLEARBOOKS_REDIRECT,
            "code_verifier": verifier, "client_id": creds["client_id"], "client_secret": creds["client_secret"]})
        token.raise_for_status()
        return token.json()["access_token"]
