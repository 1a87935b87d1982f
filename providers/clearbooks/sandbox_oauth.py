"""Clear Books sign-in, emulated: the authorisation page on ``secure.clearbooks.co.uk`` and the token
endpoint on ``api.clearbooks.co.uk``, as one RFC 6749 authorization-code server with PKCE (RFC 7636).

What the reference states and this enforces: confidential clients only (``client_id`` and
``client_secret`` on every token request); one access token per user and application, so a new
authorisation revokes the previous pair; refresh tokens are single use and never expire until used.
Tokens are opaque random strings, stored only as their SHA-256 (a data file holds no usable token).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from providers.clearbooks.sandbox_books import SERVICE
from providers.clearbooks.sandbox_http import ApiError, json_response

if TYPE_CHECKING:
    from providers.clearbooks.sandbox import Sandbox

AUTHORIZE_PATH = "/account/action/oauth/"
TOKEN_PATH = "/oauth/token"

DEMO_CLIENT_ID = "ledgerdesk-demo"
DEMO_CLIENT_SECRET = "cb-demo-secret-not-a-secret"
DEMO_USER = {"id": 1, "email": "demo@ledgerdesk.example", "name": "Demo Bookkeeper"}

SCOPES = {
    "businesses:read": "Read business data",
    "businesses:write": "Update business data",
    "accounting.account_codes:read": "Read account codes",
    "accounting.account_codes:write": "Create, update and delete account codes",
    "accounting.bank_accounts:read": "Read bank accounts",
    "accounting.bank_accounts:write": "Create, update and delete bank accounts",
    "accounting.customers:read": "Read customers",
    "accounting.customers:write": "Create, update and delete customers",
    "accounting.suppliers:read": "Read suppliers",
    "accounting.suppliers:write": "Create, update and delete suppliers",
    "accounting.sales:read": "Read sales documents",
    "accounting.sales:write": "Create, update and delete sales documents",
    "accounting.purchases:read": "Read purchase documents",
    "accounting.purchases:write": "Create, update and delete purchase documents",
    "accounting.payments:read": "Read payments",
    "accounting.payments:write": "Create, update and delete payments",
    "accounting.allocations:read": "Read allocations",
    "accounting.allocations:write": "Create, update and delete allocations",
    "accounting.stock_items:read": "Read stock items",
    "accounting.stock_items:write": "Create, update and delete stock items",
    "accounting.vat:read": "Read VAT information",
    "accounting.bank_feeds:write": "Create bank feeds",
    "accounting.bank_statements:write": "Create bank statements",
    "accounting.transactions:read": "Read transactions",
    "accounting.journals:write": "Create journals",
}

_PKCE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class Token:
    key: str  # the token's digest: what the throttle and the grant know it by
    user: int
    client: str
    scopes: frozenset[str]
    businesses: tuple[int, ...]


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.error, self.description, self.status, self.headers = error, description, status, headers or {}

    def response(self) -> Response:
        return json_response({"error": self.error, "error_description": self.description}, self.status,
                             headers={**_NO_STORE, **self.headers})


class OAuthServer:
    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.books = sandbox.books
        self.store = sandbox.store

    # --- set-up ---------------------------------------------------------------------------------------
    def seed(self) -> None:
        if self.store.get(SERVICE, "clients", DEMO_CLIENT_ID) is None:
            self.store.put(SERVICE, "clients", DEMO_CLIENT_ID, {
                "clientId": DEMO_CLIENT_ID, "secret": DEMO_CLIENT_SECRET, "name": "Ledgerdesk (demo)",
                "redirectUris": []})
        if self.store.get(SERVICE, "users", str(DEMO_USER["id"])) is None:
            self.store.put(SERVICE, "users", str(DEMO_USER["id"]), DEMO_USER)

    def routes(self) -> list[Route]:
        return [Route(AUTHORIZE_PATH, self.authorize, methods=["GET", "POST"]),
                Route(TOKEN_PATH, self.token, methods=["POST"])]

    def _options(self) -> dict:
        return self.sandbox.options.extra

    def _user_businesses(self) -> list[int]:
        granted = self._options().get("grant_businesses")
        return [int(b) for b in granted] if granted else [b["id"] for b in self.sandbox.businesses()]

    # --- the authorisation page -------------------------------------------------------------------------
    async def authorize(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                form = _form(await request.body())
            except OAuthError as error:
                return _page("Invalid request", error.description, 400)
            return self._decide(form.get("consent", ""), form.get("decision", ""))
        params = request.query_params
        client = self.store.get(SERVICE, "clients", params.get("client_id", ""))
        if client is None:
            return _page("Unknown application", "The application asking for access is not registered.", 400)
        redirect_uri = params.get("redirect_uri", "")
        if not self._redirect_allowed(client, redirect_uri):
            return _page("Invalid redirect", "The redirect address does not match the application's.", 400)
        state = params.get("state")

        def refuse(error: str, description: str) -> Response:
            return _redirect(redirect_uri, {"error": error, "error_description": description, "state": state})

        if params.get("response_type") != "code":
            return refuse("unsupported_response_type", "Only the authorization code grant is supported")
        scopes = params.get("scope", "").split()
        unknown = [scope for scope in scopes if scope not in SCOPES]
        if unknown:
            return refuse("invalid_scope", f"Unknown scope: {unknown[0]}")
        challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
        if challenge is None and method is not None:
            return refuse("invalid_request", "code_challenge_method was given without a code_challenge")
        if challenge is not None:
            method = method or "plain"
            if method not in ("S256", "plain"):
                return refuse("invalid_request", "code_challenge_method must be S256 or plain")
            if not _PKCE.fullmatch(challenge):
                return refuse("invalid_request", "code_challenge must be 43 to 128 unreserved characters")
        consent = secrets.token_urlsafe(24)
        self.store.put(SERVICE, "consents", consent, {
            "client": client["clientId"], "redirectUri": redirect_uri, "state": state,
            "scope": scopes or list(SCOPES), "challenge": challenge, "method": method,
            "user": DEMO_USER["id"], "expiresAt": self.sandbox.clock() + 3600})
        if self.sandbox.options.auto_consent:
            return self._decide(consent, "approve")
        return self._consent_page(consent, client, scopes or list(SCOPES))

    def _redirect_allowed(self, client: dict, redirect_uri: str) -> bool:
        if redirect_uri in client["redirectUris"]:
            return True
        # RFC 8252 section 7.3: a native app's loopback redirect may use any port.
        parts = urlsplit(redirect_uri)
        return parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS and not parts.fragment

    def _decide(self, consent_id: str, decision: str) -> Response:
        consent = self.store.get(SERVICE, "consents", consent_id) if consent_id else None
        if consent is None or consent["expiresAt"] < self.sandbox.clock():
            return _page("Request expired", "This authorisation request is no longer valid. Start again.", 400)
        if decision not in ("approve", "deny"):
            return _page("No decision", "Choose Allow or Deny.", 400)
        self.store.delete(SERVICE, "consents", consent_id)
        state = consent["state"]
        if decision == "deny":
            return _redirect(consent["redirectUri"], {
                "error": "access_denied", "error_description": "The user denied the request", "state": state})
        code = secrets.token_urlsafe(32)
        ttl = float(self._options().get("code_ttl", 600))
        self.store.put(SERVICE, "codes", _digest(code), {
            **{k: consent[k] for k in ("client", "redirectUri", "scope", "challenge", "method", "user")},
            "businesses": self._user_businesses(), "expiresAt": self.sandbox.clock() + ttl,
            "used": False, "issued": []})
        return _redirect(consent["redirectUri"], {"code": code, "state": state})

    def _consent_page(self, consent: str, client: dict, scopes: list[str]) -> Response:
        names = ", ".join(html.escape(b["name"]) for b in self.sandbox.businesses()
                          if b["id"] in self._user_businesses())
        items = "".join(f"<li><code>{html.escape(s)}</code>: {html.escape(SCOPES[s])}</li>" for s in scopes)
        body = (
            f"<h1>Authorise {html.escape(client['name'])}</h1>"
            f"<p>Signed in as {html.escape(DEMO_USER['email'])}. {html.escape(client['name'])} would like "
            f"access to: {names}.</p><ul>{items}</ul>"
            f'<form method="post" action="{AUTHORIZE_PATH}">'
            f'<input type="hidden" name="consent" value="{html.escape(consent)}">'
            '<button type="submit" name="decision" value="approve">Allow</button> '
            '<button type="submit" name="decision" value="deny">Deny</button></form>')
        return _page("Authorise application", body, 200, raw=True)

    # --- the token endpoint -----------------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        try:
            if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                raise OAuthError("invalid_request", "The request must be form-encoded")
            form = _form(await request.body())
            client = self._client(request, form)
            with self.books.lock:
                grant = form.get("grant_type")
                if grant == "authorization_code":
                    return self._exchange_code(client, form)
                if grant == "refresh_token":
                    return self._refresh(client, form)
                if not grant:
                    raise OAuthError("invalid_request", "grant_type is required")
                raise OAuthError("unsupported_grant_type", f"The grant type {grant} is not supported")
        except OAuthError as error:
            return error.response()

    def _client(self, request: Request, form: dict[str, str]) -> dict:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except ValueError:
                raise OAuthError("invalid_client", "Client authentication failed", 401) from None
        if not client_id or not secret:
            raise OAuthError("invalid_client", "Client authentication failed: client_id and client_secret "
                             "are required", 401)
        client = self.store.get(SERVICE, "clients", client_id)
        if client is None or not secrets.compare_digest(client["secret"], secret):
            raise OAuthError("invalid_client", "Client authentication failed", 401)
        return client

    def _exchange_code(self, client: dict, form: dict[str, str]) -> Response:
        code = form.get("code")
        if not code:
            raise OAuthError("invalid_request", "code is required")
        key = _digest(code)
        grant = self.store.get(SERVICE, "codes", key)
        if grant is None or grant["client"] != client["clientId"]:
            raise OAuthError("invalid_grant", "The authorization code is invalid")
        if grant["used"]:
            # RFC 6749 section 4.1.2: a replayed code revokes what it was exchanged for.
            for token in grant["issued"]:
                self._revoke(token)
            raise OAuthError("invalid_grant", "The authorization code has already been used")
        if grant["expiresAt"] < self.sandbox.clock():
            raise OAuthError("invalid_grant", "The authorization code has expired")
        if form.get("redirect_uri") != grant["redirectUri"]:
            raise OAuthError("invalid_grant", "redirect_uri does not match the one used to authorise")
        if grant["challenge"] is not None:
            verifier = form.get("code_verifier")
            if not verifier:
                raise OAuthError("invalid_request", "code_verifier is required")
            if not _PKCE.fullmatch(verifier):
                raise OAuthError("invalid_request", "code_verifier must be 43 to 128 unreserved characters")
            derived = s256(verifier) if grant["method"] == "S256" else verifier
            if not secrets.compare_digest(derived, grant["challenge"]):
                raise OAuthError("invalid_grant", "The code verifier does not match the code challenge")
        answer, issued = self._issue(grant["user"], client["clientId"], grant["scope"], grant["businesses"], key)
        self.store.put(SERVICE, "codes", key, {**grant, "used": True, "issued": issued})
        return answer

    def _refresh(self, client: dict, form: dict[str, str]) -> Response:
        token = form.get("refresh_token")
        if not token:
            raise OAuthError("invalid_request", "refresh_token is required")
        key = _digest(token)
        record = self.store.get(SERVICE, "tokens", key)
        if record is None or record["kind"] != "refresh" or record["client"] != client["clientId"]:
            raise OAuthError("invalid_grant", "The refresh token is invalid")
        if record["state"] == "used":
            raise OAuthError("invalid_grant", "The refresh token has already been used")
        if record["state"] != "active":
            raise OAuthError("invalid_grant", "The refresh token has been revoked")
        scopes = record["scope"]
        if form.get("scope"):
            asked = form["scope"].split()
            if not set(asked) <= set(scopes):
                raise OAuthError("invalid_scope", "A refresh cannot widen the scopes of the grant")
            scopes = asked
        self.store.put(SERVICE, "tokens", key, {**record, "state": "used"})
        answer, _ = self._issue(record["user"], record["client"], scopes, record["businesses"], None)
        return answer

    def _issue(self, user: int, client: str, scopes: list[str], businesses: list[int],
               code: str | None) -> tuple[Response, list[str]]:
        """A new pair; the user's previous pair for this application stops working."""
        pair_key = f"{user}:{client}"
        previous = self.store.get(SERVICE, "grants", pair_key)
        if previous is not None:
            self._revoke(previous["access"])
            self._revoke(previous["refresh"])
        ttl = int(self._options().get("access_token_ttl", 3600))
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        common = {"user": user, "client": client, "scope": scopes, "businesses": businesses, "state": "active",
                  "code": code}
        self.store.put(SERVICE, "tokens", _digest(access),
                       {**common, "kind": "access", "expiresAt": self.sandbox.clock() + ttl})
        self.store.put(SERVICE, "tokens", _digest(refresh), {**common, "kind": "refresh", "expiresAt": None})
        self.store.put(SERVICE, "grants", pair_key, {"access": _digest(access), "refresh": _digest(refresh)})
        body = {"token_type": "Bearer", "expires_in": ttl, "access_token": access, "refresh_token": refresh,
                "scope": " ".join(scopes)}
        return json_response(body, headers=_NO_STORE), [_digest(access), _digest(refresh)]

    def _revoke(self, key: str) -> None:
        record = self.store.get(SERVICE, "tokens", key)
        if record is not None and record["state"] == "active":
            self.store.put(SERVICE, "tokens", key, {**record, "state": "revoked"})

    # --- checking a bearer token ------------------------------------------------------------------------
    def authenticate(self, request: Request) -> Token:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise _unauthorised("An access token is required", None)
        key = _digest(value.strip())
        record = self.store.get(SERVICE, "tokens", key)
        if record is None or record["kind"] != "access":
            raise _unauthorised("The access token is invalid", "invalid_token")
        if record["state"] != "active":
            raise _unauthorised("The access token has been revoked", "invalid_token")
        if record["expiresAt"] <= self.sandbox.clock():
            raise _unauthorised("The access token has expired", "invalid_token")
        return Token(key, record["user"], record["client"], frozenset(record["scope"]),
                     tuple(record["businesses"]))


def _unauthorised(message: str, error: str | None) -> ApiError:
    challenge = 'Bearer realm="Clear Books API"'
    if error:
        challenge += f', error="{error}", error_description="{message}"'
    return ApiError(401, "unauthorised", message, headers={"WWW-Authenticate": challenge})


def _form(body: bytes) -> dict[str, str]:
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "The request body is not valid form data") from None
    repeated = [name for name, values in parsed.items() if len(values) > 1]
    if repeated:
        raise OAuthError("invalid_request", f"{repeated[0]} was given more than once")
    return {name: values[0] for name, values in parsed.items()}


def _redirect(uri: str, params: dict[str, str | None]) -> Response:
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return RedirectResponse(urlunsplit(parts._replace(query=query)), status_code=302)


def _page(title: str, body: str, status: int, raw: bool = False) -> Response:
    content = body if raw else f"<h1>{html.escape(title)}</h1><p>{html.escape(body)}</p>"
    page = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Clear Books: "
            f"{html.escape(title)}</title></head><body>{content}</body></html>")
    return HTMLResponse(page, status)
