"""The code exchange at the end of a browser sign-in, per service, with refusals in the user's words.

Clear Books: ``POST /oauth/token`` (form: ``grant_type=authorization_code``, ``code``, ``redirect_uri``,
``code_verifier``, client id and secret) -> a token pair. AccountingSuite: its own module
(``providers.accountingsuite.signin``) -> one ``apisecretkey`` per database.

The exchange is never repeated by itself: a code is single use, and Clear Books revokes what a replayed
code was exchanged for. An answer lost on the way therefore ends the sign-in ("start again"). Service
descriptions pass through ``redact_text`` because some quote the code they refuse.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from app.auth.errors import SignInError, SignInRefused
from app.auth.model import TokenSet
from providers.base import ProviderError, Unavailable, UnknownOutcome
from providers.http import HttpSession, RateLimits, Reply, RetryPolicy, parse_json, redact_text

# The user is watching: a few quick tries at a refused-and-not-done answer (429/502/503/504), no more.
SIGN_IN_RETRY = RetryPolicy(attempts=3, base=0.2, cap=1.0, deadline=20.0, max_wait=10.0)


@dataclass(frozen=True)
class Authorization:
    """What the browser brought back, and what proves this app asked for it."""

    code: str = field(repr=False)
    redirect_uri: str
    verifier: str | None = field(default=None, repr=False)


async def clearbooks_tokens(token_url: str, client_id: str, client_secret: str, authorization: Authorization, *,
                            service: str = "Clear Books", clock: Callable[[], float] = time.time) -> TokenSet:
    url = httpx.URL(token_url)
    form = {"grant_type": "authorization_code", "code": authorization.code,
            "redirect_uri": authorization.redirect_uri, "client_id": client_id, "client_secret": client_secret}
    if authorization.verifier:
        form["code_verifier"] = authorization.verifier
    try:
        async with HttpSession(str(url.copy_with(raw_path=b"/")), service=service, limits=RateLimits(rate=None),
                               retry=SIGN_IN_RETRY) as http:
            reply = await http.post(url.raw_path.decode("ascii"), data=form)
    except UnknownOutcome:
        raise SignInError(f"The answer from {service} was lost on the way, and a sign-in code works only once. "
                          "Start the sign-in again.") from None
    if not reply.ok:
        raise token_refusal(service, reply)
    answer = parse_json(reply.body, service=service)
    if not (isinstance(answer, dict) and isinstance(answer.get("access_token"), str) and answer["access_token"]
            and isinstance(answer.get("refresh_token"), str) and answer["refresh_token"]):
        raise SignInRefused(f"{service} answered the sign-in without a usable token pair. Start the sign-in again.")
    return TokenSet.from_answer(answer, clock())


def token_refusal(service: str, reply: Reply) -> ProviderError:
    """RFC 6749 section 5.2 answers, in words; anything else by its status."""
    error = description = ""
    if not reply.is_html:
        try:
            body = parse_json(reply.body, service=service)
        except ProviderError:
            body = None
        if isinstance(body, dict):
            error = body.get("error") if isinstance(body.get("error"), str) else ""
            description = body.get("error_description") if isinstance(body.get("error_description"), str) else ""
    said = redact_text(description or error)
    if error == "invalid_client":
        return SignInRefused(f"{service} did not accept Ledgerdesk's client id and secret ({said}). Check them in "
                             "the connection settings.", status=reply.status, detail={"error": error})
    if error == "invalid_grant":
        return SignInRefused(f"{service} refused the sign-in code ({said}). Start the sign-in again.",
                             status=reply.status, detail={"error": error})
    if error:
        return SignInRefused(f"{service} refused the sign-in ({said}).", status=reply.status,
                             detail={"error": error})
    if reply.status >= 500:
        return Unavailable(f"{service} could not finish the sign-in ({reply.describe()}). Try again later.",
                           status=reply.status)
    return SignInRefused(f"{service} refused the sign-in ({reply.describe()}).", status=reply.status)


async def accountingsuite_grants(oauth_base: str, client_id: str, client_secret: str,
                                 authorization: Authorization) -> list:
    """``providers.accountingsuite.signin.Grant``s: one database and its key each."""
    from providers.accountingsuite import signin as accountingsuite_signin

    try:
        return await accountingsuite_signin.exchange_code(
            oauth_base, client_id=client_id, client_secret=client_secret, code=authorization.code,
            redirect_uri=authorization.redirect_uri)
    except UnknownOutcome:
        raise SignInError("The answer from AccountingSuite was lost on the way, and a sign-in code works only "
                          "once. Start the sign-in again.") from None
    except Unavailable:
        raise
    except ProviderError as error:
        raise SignInRefused(f"AccountingSuite refused the sign-in ({redact_text(error.message)}). Start the "
                            "sign-in again.", status=error.status, detail=error.detail) from None
