"""The whole browser sign-in against each OAuth sandbox, the browser played by an HTTP client following
the authorisation URL: tokens end in the vault, the listener is closed afterwards; and every way it can
fail ends with the right message, nothing saved."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest

from app.auth.browser_flow import BrowserSignIn, complete_for
from app.auth.errors import (
    SignInCancelled,
    SignInDeclined,
    SignInError,
    SignInRefused,
    SignInTimedOut,
    StateMismatch,
)
from app.auth.headless import http_browser
from app.auth.model import TokenSet
from providers.base import Unavailable
from tests.auth.browsers import Browser, idle
from tests.auth.helpers import oauth_app, run


def _closed(flow: BrowserSignIn) -> bool:
    listener = flow.listener
    assert listener is not None and listener.closed
    try:
        with socket.create_connection((listener.host, listener.port), timeout=2):
            return False
    except OSError:
        return True


def _nothing_saved(workspace, backend) -> None:
    assert workspace.connections == []
    assert backend.usernames() == []
    assert not workspace.path.exists() or json.loads(workspace.path.read_text())["connections"] == []


def test_clearbooks_full_flow_tokens_in_the_vault_listener_closed(served, workspace, backend):
    sandbox = served("clearbooks")
    app = oauth_app(sandbox)
    browser = Browser()
    flow = BrowserSignIn(app, opener=browser)
    connection = run(flow.run(complete_for(app, commit=workspace.add)))

    assert [c.id for c in connection.companies] == ["184501", "184502", "184503"]
    assert connection.label == "Clear Books: Harriet Lowe Garden Design and 2 more"
    tokens = TokenSet.loads(workspace.vault.get(connection.id, "tokens"))
    assert tokens.refresh_token and tokens.expires_at > time.time() + 3000
    assert workspace.vault.get(connection.id, "client_secret") == sandbox.credentials["client_secret"]
    page = browser.pages[-1]
    assert page.status_code == 200 and "Signed in to Clear Books" in page.text
    assert _closed(flow)
    # PKCE S256 went to the authorisation page, and the token works at the service.
    authorize = sandbox.requests("GET", "/account/action/oauth/")[0]
    assert "code_challenge_method=S256" in authorize.query and "code_challenge=" in authorize.query
    answer = httpx.get(f"{sandbox.url}/v1/businesses", headers={"Authorization": f"Bearer {tokens.access_token}"})
    assert answer.status_code == 200
    settings = workspace.path.read_text()
    assert tokens.access_token not in settings and tokens.refresh_token not in settings
    assert sandbox.credentials["client_secret"] not in settings


def test_accountingsuite_full_flow_one_key_per_database_in_the_vault(served, workspace, backend):
    sandbox = served("accountingsuite")
    app = oauth_app(sandbox)
    flow = BrowserSignIn(app, opener=http_browser())
    connection = run(flow.run(complete_for(app, commit=workspace.add)))

    creds = sandbox.credentials
    assert [c.id for c in connection.companies] == ["1001", "1002", "1003"]
    for database in ("1001", "1002", "1003"):
        assert workspace.vault.get(connection.id, f"apisecretkey:{database}") == creds[f"apisecretkey.{database}"]
    assert _closed(flow)
    assert "code_challenge" not in sandbox.requests("GET", "/oauth/authorize")[0].query  # the service has no PKCE
    assert all(creds[f"apisecretkey.{d}"] not in workspace.path.read_text() for d in ("1001", "1002", "1003"))


def test_accountingsuite_with_a_person_typing_the_login_on_the_consent_page(served, workspace):
    sandbox = served("accountingsuite", auto_consent=False)
    app = oauth_app(sandbox)
    owner = next(login for login in sandbox.sandbox.books.registry.logins
                 if login.email.startswith("owner@") and len(login.databases) == 1)
    browser = Browser("allow", login=(owner.email, sandbox.credentials["password"]))
    connection = run(BrowserSignIn(app, opener=browser).run(complete_for(app, commit=workspace.add)))
    # One database: the answer names none, so its id comes from the key (and the name is the user's to set).
    (company,) = connection.companies
    assert company.id.startswith("key-") and company.name == "AccountingSuite"
    database = owner.databases[0]
    assert workspace.vault.get(connection.id, f"apisecretkey:{company.id}") == \
        sandbox.credentials[f"apisecretkey.{database}"]


@pytest.mark.parametrize("provider", ["clearbooks", "accountingsuite"])
def test_declined_consent_is_you_declined_access(served, workspace, backend, provider):
    sandbox = served(provider, auto_consent=False)
    app = oauth_app(sandbox)
    browser = Browser("deny")
    flow = BrowserSignIn(app, opener=browser)
    with pytest.raises(SignInDeclined) as raised:
        run(flow.run(complete_for(app, commit=workspace.add)))
    assert raised.value.message == f"You declined access to {app.service}, so nothing was connected."
    assert "You declined access" in browser.pages[-1].text
    assert _closed(flow)
    _nothing_saved(workspace, backend)


def test_a_forged_answer_with_the_wrong_state_is_refused(served, workspace, backend):
    sandbox = served("clearbooks")
    app = oauth_app(sandbox)
    browser = Browser(state="forged-by-someone-else")
    flow = BrowserSignIn(app, opener=browser)
    with pytest.raises(StateMismatch, match="state does not match"):
        run(flow.run(complete_for(app, commit=workspace.add)))
    assert browser.pages[-1].status_code == 400
    assert sandbox.requests("POST", "/oauth/token") == []  # the code was never exchanged
    assert _closed(flow)
    _nothing_saved(workspace, backend)


def test_a_replayed_callback_is_refused_and_the_sign_in_happens_once(served, workspace, backend):
    sandbox = served("clearbooks")
    app = oauth_app(sandbox)
    browser = Browser(replay=True)
    flow = BrowserSignIn(app, opener=browser)
    complete = complete_for(app, commit=workspace.add)

    async def after_the_replay(authorization):
        await browser.replay_sent.wait()  # exchange only once the second callback has been sent
        return await complete(authorization)

    connection = run(flow.run(after_the_replay))
    assert browser.replayed.status_code == 409 and "already complete" in browser.replayed.text
    assert browser.pages[-1].status_code == 200 and "Signed in" in browser.pages[-1].text
    assert len(sandbox.requests("POST", "/oauth/token")) == 1
    assert workspace.connections == [connection]
    assert _closed(flow)
    with pytest.raises(httpx.ConnectError):
        httpx.get(browser.callback_url, timeout=2)  # and once closed, nothing answers at all


def test_timeout_when_the_person_never_finishes(served, workspace, backend):
    app = oauth_app(served("clearbooks"))
    flow = BrowserSignIn(app, opener=idle, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(SignInTimedOut, match=r"within 0\.5 seconds"):
        run(flow.run(complete_for(app, commit=workspace.add)), timeout=10)
    assert time.monotonic() - started < 5
    assert _closed(flow)
    _nothing_saved(workspace, backend)


def test_cancel_from_the_ui(served, workspace, backend):
    app = oauth_app(served("clearbooks"))
    flow = BrowserSignIn(app, opener=idle)

    async def scenario():
        asyncio.get_running_loop().call_later(0.2, flow.cancel)
        await flow.run(complete_for(app, commit=workspace.add))

    with pytest.raises(SignInCancelled, match="cancelled"):
        run(scenario(), timeout=10)
    assert _closed(flow)
    _nothing_saved(workspace, backend)


def test_cancelling_the_task_closes_the_listener(served, workspace):
    app = oauth_app(served("clearbooks"))
    flow = BrowserSignIn(app, opener=idle)

    async def scenario():
        task = asyncio.ensure_future(flow.run(complete_for(app, commit=workspace.add)))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario(), timeout=10)
    assert _closed(flow)


def test_wrong_client_secret_is_refused_at_the_token_endpoint(served, workspace, backend):
    app = oauth_app(served("clearbooks"), client_secret="not-the-secret")
    browser = Browser()
    with pytest.raises(SignInRefused, match="did not accept Ledgerdesk's client id and secret"):
        run(BrowserSignIn(app, opener=browser).run(complete_for(app, commit=workspace.add)))
    assert "sign-in failed" in browser.pages[-1].text  # the browser tab tells the truth too
    _nothing_saved(workspace, backend)


def test_an_expired_code_is_invalid_grant(served, workspace, backend):
    app = oauth_app(served("clearbooks", code_ttl=-1))
    with pytest.raises(SignInRefused, match=r"refused the sign-in code \(The authorization code has expired\)"):
        run(BrowserSignIn(app, opener=http_browser()).run(complete_for(app, commit=workspace.add)))
    _nothing_saved(workspace, backend)


def test_a_token_endpoint_that_is_down_is_unavailable_not_a_hang(served, workspace, backend):
    def down(asgi):
        async def app(scope, receive, send):
            if scope["type"] == "http" and scope["path"] == "/oauth/token":
                body = b'{"error": "temporarily_unavailable"}'
                await send({"type": "http.response.start", "status": 503,
                            "headers": [(b"content-type", b"application/json")]})
                await send({"type": "http.response.body", "body": body})
                return
            await asgi(scope, receive, send)
        return app

    sandbox = served("clearbooks", wrap=down)
    app = oauth_app(sandbox)
    with pytest.raises(Unavailable, match="Clear Books is unavailable"):
        run(BrowserSignIn(app, opener=http_browser()).run(complete_for(app, commit=workspace.add)), timeout=30)
    _nothing_saved(workspace, backend)


def test_accountingsuite_token_endpoint_refusal_in_its_own_words(served, workspace, backend):
    app = oauth_app(served("accountingsuite"), client_secret="wrong-secret")
    with pytest.raises(SignInRefused, match="Client authentication failed"):
        run(BrowserSignIn(app, opener=http_browser()).run(complete_for(app, commit=workspace.add)))
    _nothing_saved(workspace, backend)


def test_an_unknown_application_fails_fast_instead_of_waiting_five_minutes(served, workspace, backend):
    app = oauth_app(served("clearbooks"), client_id="nobody")
    started = time.monotonic()
    with pytest.raises(SignInError, match="did not send the browser back"):
        run(BrowserSignIn(app, opener=http_browser()).run(complete_for(app, commit=workspace.add)))
    assert time.monotonic() - started < 5


def test_an_opener_that_cannot_open_a_browser_ends_the_sign_in(served, workspace):
    app = oauth_app(served("clearbooks"))

    def broken(url: str) -> bool:
        raise OSError("no display")

    with pytest.raises(SignInError, match="could not open the browser"):
        run(BrowserSignIn(app, opener=broken).run(complete_for(app, commit=workspace.add)), timeout=10)


def test_an_opener_that_finds_no_browser_keeps_waiting_with_the_address_offered(served, workspace):
    app = oauth_app(served("clearbooks"))
    offered: list[str] = []
    flow = BrowserSignIn(app, opener=lambda url: False, on_url=offered.append, timeout=0.3)
    with pytest.raises(SignInTimedOut):
        run(flow.run(complete_for(app, commit=workspace.add)), timeout=10)
    assert offered and offered[0].startswith(app.authorize_url)
