"""After a full demo run (the four sandboxes, the real sign-ins, logging at DEBUG), no secret the demo
used is anywhere in the data folder, the settings or the logs.

Twice: ``python -m app --demo --quit-after 5 -v`` as a user starts it, scanned for the sandboxes' demo
credentials (the same seed rebuilds them here); and the same demo session in this process, where the
in-memory vault can be read too, so the tokens the services issued during the run are looked for as well.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from app.cli import demo
from app.cli.logging_setup import setup_logging
from app.workspace import SETTINGS_FILE
from providers.http import redaction_filter
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import PROVIDERS, build_sandbox

REPO = Path(__file__).resolve().parents[2]
_SECRET_NAMES = ("secret", "api_key", "apisecretkey")  # token_path, authorize_path: addresses, not secrets
# "demo", the AccountingSuite demo login's password: the demo consents automatically and never types it,
# and as a word it is everywhere in a demo's log.
_NOT_USED = {"password"}


def _secret_credentials(sandbox) -> set[str]:
    return {value for name, value in sandbox.credentials().items()
            if name not in _NOT_USED and any(word in name for word in _SECRET_NAMES) and len(value) >= 8}


def _vault_secrets(keyring) -> set[str]:
    found = set()
    for user in keyring.usernames("ledgerdesk"):
        value = keyring.get_password("ledgerdesk", user)
        if user.endswith("/.index") or "#" in user or value is None:
            continue
        try:
            data = json.loads(value)
        except ValueError:
            data = value
        if isinstance(data, dict):
            found |= {v for k, v in data.items() if k != "expires_at" and isinstance(v, str)}
        else:
            found.add(value)
    return found


def _leaks(home: Path, secrets: set[str]) -> list[str]:
    """Every file under data/, config/ and logs/, searched for each secret as written, URL-encoded and
    JSON-escaped."""
    forms = {form.encode() for secret in secrets
             for form in (secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1])}
    found = []
    for folder in ("data", "config", "logs"):
        for path in (home / folder).rglob("*"):
            if path.is_file():
                content = path.read_bytes()
                found += [f"{path.relative_to(home)}: …{form[:6].decode()}…" for form in forms if form in content]
    return found


def test_a_demo_run_leaves_no_secret_in_data_settings_or_logs(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "LEDGERDESK_HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}
    finished = subprocess.run([sys.executable, "-m", "app", "--demo", "--quit-after", "5", "-v"], cwd=REPO,
                              env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-3000:]

    log = (home / "logs" / "ledgerdesk.log").read_text(encoding="utf-8")
    assert "demo signed in: 6 connections, 12 companies" in log  # the sign-ins really happened
    assert " DEBUG " in log
    settings = json.loads((home / "config" / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert {c["provider"] for c in settings["connections"]} == set(PROVIDERS)

    secrets: set[str] = set()
    for provider in PROVIDERS:
        secrets |= _secret_credentials(build_sandbox(provider, SandboxOptions(size=demo.DEMO_SIZE,
                                                                              seed=demo.DEMO_SEED)))
    assert len(secrets) >= 10  # client secrets, AccBooks keys, AccountingSuite keys
    assert _leaks(home, secrets) == []


class _Signal:
    def __init__(self) -> None:
        self.slots = []

    def connect(self, slot) -> None:
        self.slots.append(slot)


class _Window:
    """The demo window's surface, without Qt: what the session reports is kept for the test."""

    def __init__(self) -> None:
        self.closed = _Signal()
        self.signed_in: list[tuple[str, list[str]]] = []
        self.failed: list[tuple[str, str]] = []

    def show(self) -> None: ...
    def close(self) -> None: ...
    def show_starting(self, provider) -> None: ...
    def show_running(self, provider, url, companies) -> None: ...
    def show_unavailable(self, provider, reason) -> None: ...
    def show_ready(self, running) -> None: ...
    def show_vault(self, connections, companies, where) -> None: ...

    def show_signed_in(self, connection, companies) -> None:
        self.signed_in.append((connection, companies))

    def show_sign_in_failed(self, service, reason) -> None:
        self.failed.append((service, reason))


@pytest.fixture
def debug_logging(tmp_path, monkeypatch):
    """The demo's own logging (file at DEBUG, redaction as the demo adds it), undone afterwards."""
    home = tmp_path / "home"
    monkeypatch.setenv("LEDGERDESK_HOME", str(home))
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    setup_logging(verbose=True)
    ours = list(root.handlers)
    for handler in ours:
        handler.addFilter(redaction_filter())
    yield home
    for handler in ours:
        root.removeHandler(handler)
        handler.close()
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)


def test_in_process_the_vaults_tokens_are_nowhere_on_disk_either(debug_logging):
    home = debug_logging
    window = _Window()
    session = demo.DemoSession(window, size="tiny", home=home)
    asyncio.run(asyncio.wait_for(session.run(quit_after=0.5), timeout=90))

    assert window.failed == []
    assert len(window.signed_in) == 6
    vaulted = _vault_secrets(session.vault._backend)
    # Issued during the run: the Clear Books pair, the AccountsIQ pair; plus every key and client secret.
    assert len(vaulted) >= 10
    secrets = vaulted | {s for sandbox in session.sandboxes.values() for s in _secret_credentials(sandbox)}
    assert (home / "config" / SETTINGS_FILE).exists()
    assert _leaks(home, secrets) == []
