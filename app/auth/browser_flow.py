"""Browser sign-in (Clear Books, AccountingSuite): the system browser, the loopback listener, the code
exchange, the companies, then ``commit`` (the workspace saves secrets and connection).

    flow = BrowserSignIn(app, opener=...)          # the UI keeps ``flow`` for its Cancel button
    connection = await flow.run(complete_for(app, commit=workspace.add))

The opener is injected: ``system_browser`` (``webbrowser``) by default, QDesktopServices from the UI, and
``headless.http_browser`` where an HTTP client plays the browser (the demo, tests). An opener that returns
False could not open a browser: the flow keeps waiting (``on_url`` has given the UI the address to show
for copying). An opener that raises ends the sign-in with that reason.

The browser tab is answered after the exchange, with its outcome; ``commit`` runs before that answer, so
"Signed in" in the browser means the secrets are in the vault.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import webbrowser
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

from app.auth import pages
from app.auth.errors import SignInError
from app.auth.exchange import Authorization, accountingsuite_grants, clearbooks_tokens
from app.auth.loopback import DEFAULT_TIMEOUT, LoopbackListener
from app.auth.model import TOKENS, SignedIn, label_for
from app.auth.pkce import challenge_s256, new_state, new_verifier
from providers.base import ProviderError, SignInKind
from providers.http import get_logger, register_secret

log = get_logger(__name__)

T = TypeVar("T")
Opener = Callable[[str], Any]  # returns bool (False: no browser), None, or an awaitable of either
Commit = Callable[[SignedIn], Awaitable[Any]]


@dataclass(frozen=True)
class OAuthApp:
    """Ledgerdesk's registration with a service (or a sandbox's), and where the service lives."""

    provider: str
    service: str
    authorize_url: str
    token_url: str
    api_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = ""
    pkce: bool = False  # S256 where the service takes it (Clear Books); AccountingSuite has none

    def __post_init__(self) -> None:
        register_secret(self.client_secret)


async def system_browser(url: str) -> bool:
    # webbrowser may start a process and wait for it: not on the event loop.
    return await asyncio.to_thread(webbrowser.open, url, 2)


class BrowserSignIn:
    def __init__(self, app: OAuthApp, *, opener: Opener | None = None, timeout: float = DEFAULT_TIMEOUT,
                 on_url: Callable[[str], None] | None = None):
        self.app = app
        self.opener = opener or system_browser
        self.timeout = timeout
        self.on_url = on_url
        self.listener: LoopbackListener | None = None
        self._cancelled = False

    def cancel(self) -> None:
        """The UI's Cancel: the flow ends with ``SignInCancelled`` and the listener closes."""
        self._cancelled = True
        if self.listener is not None:
            self.listener.cancel()

    def authorize_url(self, redirect_uri: str, state: str, verifier: str | None) -> str:
        params = {"response_type": "code", "client_id": self.app.client_id, "redirect_uri": redirect_uri,
                  "state": state}
        if self.app.scope:
            params["scope"] = self.app.scope
        if verifier is not None:
            params["code_challenge"] = challenge_s256(verifier)
            params["code_challenge_method"] = "S256"
        parts = urlsplit(self.app.authorize_url)
        query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
        return urlunsplit(parts._replace(query=query))

    async def run(self, complete: Callable[[Authorization], Awaitable[T]]) -> T:
        state = new_state()
        verifier = new_verifier() if self.app.pkce else None
        async with LoopbackListener(state, service=self.app.service, timeout=self.timeout) as listener:
            self.listener = listener
            if self._cancelled:  # cancelled while the listener was starting: no browser is opened
                listener.cancel()
                await listener.wait()  # raises SignInCancelled
            url = self.authorize_url(listener.redirect_uri, state, verifier)
            if self.on_url is not None:
                self.on_url(url)
            opening = asyncio.ensure_future(self._open(url))
            try:
                code = await self._code(listener, opening)
                try:
                    result = await complete(Authorization(code, listener.redirect_uri, verifier))
                except ProviderError as error:
                    listener.finish(pages.exchange_failed(self.app.service, error.message))
                    raise
                except BaseException:
                    listener.finish(pages.exchange_failed(self.app.service, "Ledgerdesk could not finish it."))
                    raise
                listener.finish(pages.signed_in(self.app.service))
                return result
            finally:
                await self._settle(opening)

    async def _code(self, listener: LoopbackListener, opening: asyncio.Future) -> str:
        waiting = asyncio.ensure_future(listener.wait())
        try:
            await asyncio.wait({waiting, opening}, return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done() and opening.exception() is not None:
                listener.cancel()
                error = opening.exception()
                if isinstance(error, SignInError):
                    raise error
                raise SignInError(f"Ledgerdesk could not open the browser for the {self.app.service} sign-in "
                                  f"({type(error).__name__}: {error}).") from error
            return await waiting
        except asyncio.CancelledError:
            listener.cancel()
            raise
        finally:
            if not waiting.done():
                waiting.cancel()
            with contextlib.suppress(BaseException):
                await waiting

    async def _open(self, url: str) -> None:
        opened = self.opener(url)
        if inspect.isawaitable(opened):
            opened = await opened
        if opened is False:
            log.warning("%s sign-in: no browser could be opened; the address is offered for copying",
                        self.app.service)

    @staticmethod
    async def _settle(opening: asyncio.Future) -> None:
        # A real browser's opener returned long ago; an HTTP-client "browser" is reading the final page,
        # which the listener has answered (or will on close).
        try:
            await asyncio.wait_for(asyncio.shield(opening), timeout=5)
        except TimeoutError:
            opening.cancel()
        except asyncio.CancelledError:
            opening.cancel()
            raise
        except Exception:  # its failure was reported through _code, or the flow ended otherwise
            pass
        if opening.done() and not opening.cancelled():
            opening.exception()


# --- what each service's sign-in ends with -------------------------------------------------------------

def complete_for(app: OAuthApp, commit: Commit | None = None) -> Callable[[Authorization], Awaitable[Any]]:
    """The exchange for ``app.provider``, then ``commit`` (or the ``SignedIn`` itself without one)."""
    finish = _COMPLETIONS.get(app.provider)
    if finish is None:
        raise ValueError(f"{app.provider} has no browser sign-in")

    async def complete(authorization: Authorization) -> Any:
        signed_in = await finish(app, authorization)
        return signed_in if commit is None else await commit(signed_in)

    return complete


async def _clearbooks(app: OAuthApp, authorization: Authorization) -> SignedIn:
    from providers.clearbooks.client import Client as ClearBooksClient
    from providers.clearbooks.tokens import Tokens

    tokens = await clearbooks_tokens(app.token_url, app.client_id, app.client_secret, authorization,
                                     service=app.service)
    async with ClearBooksClient(app.api_url, None, tokens=Tokens(tokens.access_token)) as client:
        companies = await client.companies()
    if not companies:
        raise SignInError(f"This {app.service} sign-in reaches no business. Sign in with another account.")
    return SignedIn(
        provider=app.provider, kind=SignInKind.BROWSER,
        # Clear Books names no user: the businesses a grant reaches are what tells two accounts apart.
        account=f"{app.client_id}:{','.join(sorted(c.id for c in companies))}",
        label=label_for(app.service, companies), companies=tuple(companies),
        secrets={"client_secret": app.client_secret, TOKENS: tokens.dumps()},
        endpoints={"authorize": app.authorize_url, "token": app.token_url, "api": app.api_url},
        details={"client_id": app.client_id, "scope": app.scope})


async def _accountingsuite(app: OAuthApp, authorization: Authorization) -> SignedIn:
    oauth_base = app.token_url.rsplit("/", 1)[0]
    grants = await accountingsuite_grants(oauth_base, app.client_id, app.client_secret, authorization)
    companies = [grant.company for grant in grants]
    return SignedIn(
        provider=app.provider, kind=SignInKind.BROWSER,
        account=",".join(sorted(c.id for c in companies)), label=label_for(app.service, companies),
        companies=tuple(companies),
        secrets={f"apisecretkey:{grant.company.id}": grant.apisecretkey for grant in grants},
        endpoints={"authorize": app.authorize_url, "token": app.token_url, "api": app.api_url},
        details={"client_id": app.client_id})


_COMPLETIONS = {"clearbooks": _clearbooks, "accountingsuite": _accountingsuite}

