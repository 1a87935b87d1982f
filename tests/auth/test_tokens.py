"""Renewing OAuth tokens of a connection against the sandboxes: before expiry and on 401, one refresh per
connection however many requests meet the expired token (counted in the sandbox's request log), the new
refresh token in the vault before the new access token is used, and a refresh token used twice ending
that connection only with "sign in again". AccountsIQ's HasExpired goes the same way."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.auth.browser_flow import BrowserSignIn, complete_for
from app.auth.clients import ConnectionClients
from app.auth.headless import http_browser
from app.auth.model import TokenSet
from app.auth.signin import sign_in_accountsiq
from app.workspace import Workspace
from providers.base import AuthError
from tests.auth.helpers import oauth_app, run


def _sign_in(sandbox, workspace):
    app = oauth_app(sandbox)
    return run(BrowserSignIn(app, opener=http_browser()).run(complete_for(app, commit=workspace.add)))


def _expire_at_the_service(sandbox, seconds: float = 7200) -> None:
    """Every access token issued so far is past its expiry at the service (our side does not know)."""
    sandbox.sandbox.clock = lambda: time.time() + seconds


def _recording(arrivals: list):
    """Wraps a sandbox: each request is noted as it ARRIVES, with its bearer token."""
    def wrap(asgi):
        async def app(scope, receive, send):
            if scope["type"] == "http":
                headers = dict(scope["headers"])
                arrivals.append(("http", scope["method"], scope["path"],
                                 headers.get(b"authorization", b"").decode()))
            await asgi(scope, receive, send)
        return app
    return wrap


def test_concurrent_requests_with_an_expired_token_cause_exactly_one_refresh(served, workspace):
    sandbox = served("clearbooks")
    connection = _sign_in(sandbox, workspace)
    before = TokenSet.loads(workspace.vault.get(connection.id, "tokens"))
    _expire_at_the_service(sandbox)

    async def scenario():
        providers = [await workspace.open_company(connection.id, c.id) for c in connection.companies]
        sandbox.sandbox.stack.requests.clear()
        try:
            answers = await asyncio.gather(*(p.companies() for p in providers for _ in range(4)))
        finally:
            for provider in providers:
                await provider.aclose()
        return answers, (await workspace.clients.tokens(workspace.connection(connection.id))).refreshes

    answers, refreshes = run(scenario())
    assert len(answers) == 12 and all(len(found) == 3 for found in answers)
    assert len(sandbox.requests("POST", "/oauth/token")) == 1  # exactly one refresh reached the service
    assert refreshes == 1
    assert sandbox.requests("GET", "/v1/businesses")[0].status == 401
    after = TokenSet.loads(workspace.vault.get(connection.id, "tokens"))
    assert after.refresh_token != before.refresh_token and after.access_token != before.access_token


def test_a_token_about_to_expire_is_refreshed_before_it_is_refused(served, vault, tmp_path):
    sandbox = served("clearbooks")
    # Our clock says the token has 10 s left (inside the two-minute margin); the service still takes it.
    clients = ConnectionClients(vault, clock=lambda: time.time() + 3590)
    workspace = Workspace(vault, tmp_path / "workspace.json", clients=clients)
    connection = _sign_in(sandbox, workspace)
    sandbox.sandbox.stack.requests.clear()  # the code exchange is not a refresh

    async def scenario():
        tokens = await workspace.clients.tokens(connection)
        stale = tokens.access_token  # reading it starts the early refresh in the background
        # What a sync run does before it starts; with the early refresh under way, one refresh in all.
        fresh = await tokens.fresh()
        await asyncio.sleep(0.05)
        provider = await workspace.open_company(connection.id, connection.companies[0].id)
        try:
            await provider.companies()
        finally:
            await provider.aclose()
        return stale, fresh, tokens.refreshes

    stale, fresh, refreshes = run(scenario())
    assert refreshes == 1 and fresh != stale
    assert len(sandbox.requests("POST", "/oauth/token")) == 1
    assert [e.status for e in sandbox.requests("GET", "/v1/businesses")] == [200]  # never refused
    assert TokenSet.loads(vault.get(connection.id, "tokens")).access_token == fresh


def test_the_new_refresh_token_is_in_the_vault_before_the_new_access_token_is_used(served, workspace, backend):
    events: list = []
    sandbox = served("clearbooks", wrap=_recording(events))
    connection = _sign_in(sandbox, workspace)
    _expire_at_the_service(sandbox)
    backend.journal = events
    events.clear()

    async def scenario():
        provider = await workspace.open_company(connection.id, "184501")
        try:
            await provider.companies()
        finally:
            await provider.aclose()

    run(scenario())
    fresh = TokenSet.loads(workspace.vault.get(connection.id, "tokens"))
    saved = events.index(("vault", f"{connection.id}/tokens"))
    used = next(i for i, e in enumerate(events) if e[0] == "http" and e[3] == f"Bearer {fresh.access_token}")
    refreshed = next(i for i, e in enumerate(events) if e[:3] == ("http", "POST", "/oauth/token"))
    assert refreshed < saved < used


def test_a_keyring_that_cannot_save_the_renewed_tokens_means_they_are_never_used(served, workspace, backend):
    events: list = []
    sandbox = served("clearbooks", wrap=_recording(events))
    connection = _sign_in(sandbox, workspace)
    old = TokenSet.loads(workspace.vault.get(connection.id, "tokens")).access_token
    _expire_at_the_service(sandbox)
    backend.fail_on = lambda user: user.endswith("/tokens")
    events.clear()

    async def scenario():
        provider = await workspace.open_company(connection.id, "184501")
        try:
            await provider.companies()
        finally:
            await provider.aclose()

    with pytest.raises(AuthError, match=r"could not be saved .* so it was not used\. Sign in again"):
        run(scenario())
    api_calls = [e for e in events if e[0] == "http" and e[2].startswith("/v1/")]
    assert api_calls and all(e[3] == f"Bearer {old}" for e in api_calls)
    assert workspace.connection(connection.id).needs_sign_in


def test_a_refresh_token_used_twice_is_sign_in_again_for_that_connection_only(served, workspace):
    first = served("clearbooks")
    other = served("clearbooks", grant_businesses=["184502"])  # another account: a second connection
    connection = _sign_in(first, workspace)
    second = _sign_in(other, workspace)
    assert len(workspace.connections) == 2 and connection.id != second.id  # same service, side by side
    stale = workspace.vault.get(connection.id, "tokens")

    async def refresh_once():
        tokens = await workspace.clients.tokens(workspace.connection(connection.id))
        await tokens.renew(tokens.access_token)
        await workspace.clients.forget(connection.id)

    run(refresh_once())
    # An old copy of the sign-in (a restored backup, another copy of Ledgerdesk) comes back and is used.
    workspace.vault.set(connection.id, "tokens", stale)

    async def use_the_stale_copy():
        tokens = await workspace.clients.tokens(workspace.connection(connection.id))
        with pytest.raises(AuthError) as raised:
            await tokens.renew(tokens.access_token)
        posts = len(first.requests("POST", "/oauth/token"))
        with pytest.raises(AuthError):  # said again without asking the service again
            await tokens.renew(tokens.access_token)
        assert len(first.requests("POST", "/oauth/token")) == posts
        with pytest.raises(AuthError, match="sign in to Clear Books again"):
            await workspace.open_company(connection.id, "184501")
        provider = await workspace.open_company(second.id, "184502")
        try:
            return raised.value, await provider.companies()
        finally:
            await provider.aclose()

    error, still_working = run(use_the_stale_copy())
    assert "already been used (invalid_grant)" in error.message
    assert "sign in to Clear Books again" in error.message
    assert error.message.startswith(connection.label)
    assert workspace.connection(connection.id).needs_sign_in == error.message
    assert workspace.connection(second.id).needs_sign_in is None
    assert [c.id for c in still_working] == ["184502"]


def test_accountsiq_has_expired_renews_once_per_connection_and_saves_the_new_tokens(served, workspace):
    sandbox = served("accountsiq", access_token_lifetime=0.5)
    creds = sandbox.credentials
    connection = run(_commit(workspace, sign_in_accountsiq(creds["client_id"], creds["client_secret"],
                                                            creds["region"], base_url=sandbox.url)))
    before = workspace.vault.get(connection.id, "tokens")
    time.sleep(0.7)
    sandbox.sandbox.stack.requests.clear()

    async def scenario():
        providers = [await workspace.open_company(connection.id, c.id) for c in connection.companies]
        try:
            return await asyncio.gather(*(p.companies() for p in providers))
        finally:
            for provider in providers:
                await provider.aclose()

    answers = run(scenario())
    assert all(len(found) == 3 for found in answers)
    actions = [e.headers.get("soapaction", "") for e in sandbox.requests("POST")]
    assert sum(a.endswith("/TokenRefresh") for a in actions) == 1
    assert not any(a.endswith("/TokenGet") for a in actions)
    after = workspace.vault.get(connection.id, "tokens")
    assert after != before and TokenSet.loads(after).refresh_token


async def _commit(workspace, signing_in):
    return await workspace.add(await signing_in)
