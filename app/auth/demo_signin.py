"""The demo signs in to each running sandbox through the same code a user's sign-in runs: the browser
flow for Clear Books and AccountingSuite (an HTTP client plays the browser; the sandboxes consent at once),
a pasted key for each AccBooks company, client id and secret for AccountsIQ. The sandboxes' demo
credentials are not secrets, and the demo's vault keeps them in memory (DESIGN.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.auth.browser_flow import BrowserSignIn, OAuthApp, complete_for
from app.auth.headless import http_browser
from app.auth.signin import sign_in_accbooks, sign_in_accountsiq
from app.workspace import SERVICE_NAMES, Connection, Workspace
from providers.sandbox.base import ProviderSandbox

SignIn = Callable[[Workspace, ProviderSandbox, str], Awaitable[list[Connection]]]


async def _browser(workspace: Workspace, sandbox: ProviderSandbox, url: str) -> list[Connection]:
    creds = sandbox.credentials()
    app = OAuthApp(provider=sandbox.provider, service=SERVICE_NAMES[sandbox.provider],
                   authorize_url=url + creds["authorize_path"], token_url=url + creds["token_path"],
                   api_url=url + creds["api_path"].rstrip("/"), client_id=creds["client_id"],
                   client_secret=creds["client_secret"], scope=creds.get("scope", ""),
                   pkce=sandbox.provider == "clearbooks")
    flow = BrowserSignIn(app, opener=http_browser(), timeout=60)
    return [await flow.run(complete_for(app, commit=workspace.add))]


async def _accbooks(workspace: Workspace, sandbox: ProviderSandbox, url: str) -> list[Connection]:
    # One key per company, as AccBooks issues them: three connections to one service, side by side.
    keys = [value for name, value in sorted(sandbox.credentials().items()) if name.startswith("api_key:")]
    return [await workspace.add(await sign_in_accbooks(key, base_url=f"{url}/v1/")) for key in keys]


async def _accountsiq(workspace: Workspace, sandbox: ProviderSandbox, url: str) -> list[Connection]:
    creds = sandbox.credentials()
    signed_in = await sign_in_accountsiq(creds["client_id"], creds["client_secret"], creds["region"], base_url=url)
    return [await workspace.add(signed_in)]


SIGN_INS: dict[str, SignIn] = {"clearbooks": _browser, "accountingsuite": _browser, "accbooks": _accbooks,
                               "accountsiq": _accountsiq}


async def sign_in(workspace: Workspace, sandbox: ProviderSandbox, url: str) -> list[Connection]:
    return await SIGN_INS[sandbox.provider](workspace, sandbox, url)
