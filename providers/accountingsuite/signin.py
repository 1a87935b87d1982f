"""Turning an AccountingSuite sign-in into companies: the ``oauth_token`` answer and its databases.

The browser flow ends with ``POST {oauth}/oauth_token``; its ``access_token`` IS the database's
``apisecretkey``, which never expires. A login that reaches several databases gets an array, one entry
per database (``access_token``, ``database_id``, ``database_name``), and the user chooses among them. A
single database comes as one object without id or name: its id is then derived from the key (stable, as
signing in again gives the same key, and revealing nothing of it) and its name left for the user to set.
The sign-in layer (app/auth) keeps the keys in the keyring; this module only reads the answers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import httpx

from providers.accountingsuite import answers
from providers.base import AuthError, BadResponse, Company, ValidationError
from providers.http import HttpSession, limits_for, register_secret

DEFAULT_NAME = "AccountingSuite"


@dataclass(frozen=True)
class Grant:
    """One database the sign-in reached, and the key that opens it (never shown in a repr)."""

    company: Company
    apisecretkey: str = field(repr=False)


def single_database_id(apisecretkey: str) -> str:
    return "key-" + hashlib.blake2b(apisecretkey.encode(), digest_size=6).hexdigest()


def grants_from_token_answer(answer: Any, currency: str = "USD") -> list[Grant]:
    """The ``oauth_token`` answer (one object, or an array when the login has several databases)."""
    entries = answer if isinstance(answer, list) else [answer]
    grants = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise BadResponse("AccountingSuite's sign-in answer is not what the document describes")
        key = entry.get("access_token")
        if not isinstance(key, str) or not key.strip():
            raise BadResponse("AccountingSuite's sign-in answer has no access token")
        register_secret(key)
        db_id = entry.get("database_id")
        company_id = str(db_id) if isinstance(db_id, str | int) and str(db_id) else single_database_id(key)
        name = entry.get("database_name")
        name = name.strip() if isinstance(name, str) and name.strip() else DEFAULT_NAME
        grants.append(Grant(Company(id=company_id, name=name, currency=currency), key))
    if not grants:
        raise BadResponse("AccountingSuite's sign-in answer lists no database")
    return grants


def companies_from_token_answer(answer: Any, currency: str = "USD") -> list[Company]:
    """The companies to choose from (keys left out: take them from ``grants_from_token_answer``)."""
    return [grant.company for grant in grants_from_token_answer(answer, currency)]


async def exchange_code(
    oauth_base: str,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    currency: str = "USD",
) -> list[Grant]:
    """``POST {oauth_base}/oauth_token`` with the one-time code. ``invalid_grant`` (a used or expired code)
    and ``invalid_client`` are ``AuthError``s carrying the service's description."""
    form = {"client_id": client_id, "client_secret": client_secret, "code": code,
            "grant_type": "authorization_code"}
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    async with HttpSession(oauth_base.rstrip("/") + "/", service="AccountingSuite",
                           limits=limits_for("accountingsuite"), transport=transport) as http:
        reply = await http.post("oauth_token", data=form)
    if reply.status >= 400 or reply.status < 200:
        payload = None
        if not reply.is_html and reply.body.strip():
            try:
                payload = reply.json()
            except BadResponse:
                payload = None
        if isinstance(payload, dict) and isinstance(payload.get("error"), str):
            description = payload.get("error_description") or payload["error"]
            kind = AuthError if payload["error"] in ("invalid_grant", "invalid_client") else ValidationError
            raise kind(str(description), status=reply.status, detail={"error": payload["error"]})
        raise answers.refusal({"message": f"AccountingSuite's sign-in answered {reply.describe()}."},
                              reply.status)
    return grants_from_token_answer(reply.json(), currency)
