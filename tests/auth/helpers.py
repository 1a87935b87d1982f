"""Shared by the sign-in tests: ``run`` with a deadline so that no test can hang, a keyring that really
stores (and refuses what Windows would), sandboxes on loopback, and each sandbox's OAuth registration."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import keyring.errors
from jaraco.classes import properties
from keyring.backend import KeyringBackend

from app.auth.browser_flow import OAuthApp
from app.workspace import SERVICE_NAMES
from providers.sandbox.base import ProviderSandbox

WINDOWS_LIMIT = 2_560  # CRED_MAX_CREDENTIAL_BLOB_SIZE, bytes of UTF-16


def run(coroutine, timeout: float = 30.0):
    """Every async scenario ends within ``timeout``: a hang fails the test instead of the run."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


class RecordingKeyring(KeyringBackend):
    """Stores for real (keyring's null backend stores nothing, so tests on it prove nothing) and refuses
    an entry Windows Credential Manager could not hold. Never viable for keyring's own detection: it is
    installed by the fixture only, so no other test can end up on it."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("installed explicitly by the tests")

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.writes: list[str] = []  # usernames, in the order written
        self.fail_on: Callable[[str], bool] | None = None  # a write to refuse, to play a broken keyring
        self.journal: list | None = None  # ("vault", username) per write, shared with a test's other events

    def __str__(self) -> str:
        return "RecordingKeyring (tests)"

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if len(password.encode("utf-16-le")) >= WINDOWS_LIMIT:
            raise keyring.errors.PasswordSetError("longer than Windows Credential Manager holds")
        if self.fail_on is not None and self.fail_on(username):
            raise keyring.errors.PasswordSetError("the keyring refused the write (test)")
        self.entries[(service, username)] = password
        self.writes.append(username)
        if self.journal is not None:
            self.journal.append(("vault", username))

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("no such entry")

    def usernames(self, service: str = "ledgerdesk") -> list[str]:
        return sorted(user for svc, user in self.entries if svc == service)


@dataclass
class Served:
    sandbox: ProviderSandbox
    url: str

    @property
    def credentials(self) -> dict[str, str]:
        return self.sandbox.credentials()

    def requests(self, method: str | None = None, path: str | None = None) -> list:
        return [e for e in self.sandbox.stack.requests.entries
                if (method is None or e.method == method) and (path is None or e.path == path)]


def oauth_app(served: Served, **changes) -> OAuthApp:
    creds = served.credentials
    provider = served.sandbox.provider
    fields = dict(provider=provider, service=SERVICE_NAMES[provider],
                  authorize_url=served.url + creds["authorize_path"], token_url=served.url + creds["token_path"],
                  api_url=served.url + creds["api_path"].rstrip("/"), client_id=creds["client_id"],
                  client_secret=creds["client_secret"], scope=creds.get("scope", ""),
                  pkce=provider == "clearbooks")
    fields.update(changes)
    return OAuthApp(**fields)
