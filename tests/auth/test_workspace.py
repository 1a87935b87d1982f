"""Connections and companies in the workspace: kept across restarts with no secret in the settings file,
several connections to one service side by side, a repeat sign-in renewing its connection, and sign-out
leaving no entry of the connection in the keyring (and its company files only when asked)."""

from __future__ import annotations

import datetime as dt
import json

import keyring.backends.fail
import pytest

from app.auth.browser_flow import BrowserSignIn, complete_for
from app.auth.errors import VaultUnavailable
from app.auth.headless import http_browser
from app.auth.signin import sign_in_accbooks, sign_in_accountsiq
from app.auth.vault import Vault
from app.store.paths import company_file
from app.workspace import Workspace
from providers.base import Entity
from tests.auth.helpers import oauth_app, run


@pytest.fixture
def accbooks(served):
    return served("accbooks")


def _add_accbooks(workspace, sandbox, key_name: str):
    key = sandbox.credentials[key_name]
    return run(_commit(workspace, sign_in_accbooks(key, base_url=f"{sandbox.url}/v1/")))


async def _commit(workspace, signing_in):
    return await workspace.add(await signing_in)


def _keys(sandbox) -> list[str]:
    return sorted(name for name in sandbox.credentials if name.startswith("api_key:"))


def test_connections_companies_and_recents_survive_a_restart_without_secrets(accbooks, workspace, vault, tmp_path):
    first, second = (_add_accbooks(workspace, accbooks, name) for name in _keys(accbooks)[:2])
    workspace.rename_company(first.id, first.companies[0].id, "Eleanor (bindery)")
    workspace.mark_opened(second.id, second.companies[0].id)
    workspace.mark_opened(first.id, first.companies[0].id)
    workspace.mark_synced(first.id, first.companies[0].id, dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC))

    again = Workspace(vault, workspace.path)
    assert [c.id for c in again.connections] == [first.id, second.id]
    company = again.connection(first.id).companies[0]
    assert company.title == "Eleanor (bindery)" and company.last_sync == "2026-11-20T09:30:00+00:00"
    assert [r.key for r in again.recents()] == [(first.id, company.id), (second.id, second.companies[0].id)]
    text = workspace.path.read_text()
    for name in _keys(accbooks):
        assert accbooks.credentials[name] not in text
    assert json.loads(text)["version"] == 1


def test_two_connections_to_one_service_coexist_and_a_repeat_sign_in_renews_its_own(accbooks, workspace, vault):
    keys = _keys(accbooks)
    one = _add_accbooks(workspace, accbooks, keys[0])
    two = _add_accbooks(workspace, accbooks, keys[1])
    assert one.id != two.id and {c.provider for c in workspace.connections} == {"accbooks"}
    workspace.rename_connection(one.id, "Eleanor's books")
    again = _add_accbooks(workspace, accbooks, keys[0])
    assert again.id == one.id and len(workspace.connections) == 2
    assert again.title == "Eleanor's books"  # the user's name for it outlives the new sign-in
    assert vault.get(one.id, "api_key") == accbooks.credentials[keys[0]]


def test_sign_out_leaves_no_entry_of_that_connection_and_keeps_caches_unless_asked(served, workspace, backend,
                                                                                   monkeypatch, tmp_path):
    monkeypatch.setenv("LEDGERDESK_HOME", str(tmp_path / "home"))
    aiq = served("accountsiq")
    creds = aiq.credentials
    connection = run(_commit(workspace, sign_in_accountsiq(creds["client_id"], creds["client_secret"], "uk1",
                                                           base_url=aiq.url)))
    accbooks = served("accbooks")
    kept = _add_accbooks(workspace, accbooks, _keys(accbooks)[0])
    workspace.vault.set(connection.id, "tokens", "t" * 6000)  # a long token, in pieces
    caches = []
    for company in connection.companies:
        path = company_file("accountsiq", connection.id, company.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"SQLite format 3\x00")
        path.with_name(path.name + "-wal").write_bytes(b"")
        caches += [path, path.with_name(path.name + "-wal")]
    workspace.mark_opened(connection.id, connection.companies[0].id)
    assert sorted(workspace.cache_files(connection.id)) == sorted(caches)

    removed = run(workspace.sign_out(connection.id, remove_caches=True))
    assert sorted(removed) == sorted(caches) and not any(p.exists() for p in caches)
    assert [u for u in backend.usernames() if u.startswith(f"{connection.id}/")] == []
    assert [u for u in backend.usernames() if u.startswith(f"{kept.id}/")] == [f"{kept.id}/.index",
                                                                               f"{kept.id}/api_key"]
    assert [c.id for c in workspace.connections] == [kept.id] and workspace.recents() == []
    assert connection.id not in workspace.path.read_text()

    path = company_file("accbooks", kept.id, kept.companies[0].id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"SQLite format 3\x00")
    assert run(workspace.sign_out(kept.id)) == [] and path.exists()  # caches stay unless confirmed
    assert backend.usernames() == []


def test_a_sign_in_is_not_saved_anywhere_when_there_is_no_keyring(accbooks, tmp_path):
    workspace = Workspace(Vault(keyring.backends.fail.Keyring()), tmp_path / "workspace.json")
    with pytest.raises(VaultUnavailable, match="none available"):
        _add_accbooks(workspace, accbooks, _keys(accbooks)[0])
    assert workspace.connections == [] and not workspace.path.exists()


def test_an_unreadable_settings_file_is_set_aside_not_a_crash(vault, tmp_path):
    path = tmp_path / "workspace.json"
    path.write_text("{ not json", encoding="utf-8")
    workspace = Workspace(vault, path)
    assert workspace.connections == []
    assert [p.name.startswith("workspace.json.broken-") for p in tmp_path.iterdir()] == [True]


def test_each_providers_company_opens_as_a_working_client(served, workspace):
    opened = []
    for provider in ("clearbooks", "accountingsuite"):
        app = oauth_app(served(provider))
        run(BrowserSignIn(app, opener=http_browser()).run(complete_for(app, commit=workspace.add)))
    accbooks = served("accbooks")
    _add_accbooks(workspace, accbooks, "api_key")
    aiq = served("accountsiq")
    creds = aiq.credentials
    run(_commit(workspace, sign_in_accountsiq(creds["client_id"], creds["client_secret"], "uk1", base_url=aiq.url)))

    async def scenario():
        for ref in workspace.companies():
            provider = await workspace.open_company(*ref.key)
            try:
                async for page in provider.list(Entity.CUSTOMERS):
                    opened.append((ref.connection.provider, len(page.items)))
                    break
            finally:
                await provider.aclose()

    run(scenario(), timeout=60)
    assert len(opened) == 3 + 3 + 1 + 3
    assert {p for p, _ in opened} == {"clearbooks", "accountingsuite", "accbooks", "accountsiq"}
    assert all(count > 0 for _, count in opened)
