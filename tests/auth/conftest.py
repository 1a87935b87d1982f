"""Fixtures for the sign-in tests: the recording keyring installed as THE keyring, a vault and a workspace
in a temporary folder, and fresh sandboxes served on real loopback HTTP."""

from __future__ import annotations

import keyring
import keyring.core
import pytest

from app.auth.vault import Vault
from app.workspace import Workspace
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread
from tests.auth.helpers import RecordingKeyring, Served


@pytest.fixture
def backend():
    """Installed as THE keyring, so the vault goes through ``keyring.get_keyring()`` as in the app."""
    previous = getattr(keyring.core, "_keyring_backend", None)
    installed = RecordingKeyring()
    keyring.set_keyring(installed)
    yield installed
    if previous is not None:
        keyring.set_keyring(previous)
    else:
        keyring.core._keyring_backend = None


@pytest.fixture
def vault(backend) -> Vault:
    return Vault()


@pytest.fixture
def workspace(vault, tmp_path) -> Workspace:
    return Workspace(vault, tmp_path / "config" / "workspace.json")


@pytest.fixture
def served():
    """``served("clearbooks", auto_consent=False, wrap=..., code_ttl=...)``: a fresh sandbox on loopback."""
    running = []

    def start(provider: str, *, wrap=None, auto_consent: bool = True, **extra) -> Served:
        sandbox = build_sandbox(provider, SandboxOptions(size="tiny", throttle=False, auto_consent=auto_consent,
                                                         extra=extra))
        app = sandbox.stack.asgi if wrap is None else wrap(sandbox.stack.asgi)
        server = serve_in_thread(app)
        running.append(server)
        return Served(sandbox, server.url)

    yield start
    for server in running:
        server.stop()
