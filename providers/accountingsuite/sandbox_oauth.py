"""AccountingSuite's OAuth host (oauth.accountingsuite.com), served by the sandbox under ``/oauth``.

``POST /oauth/register_app`` gives an app its client_id; ``GET /oauth/authorize`` shows the sign-in and
consent page (or, with ``auto_consent``, approves at once as the shared demo login); ``POST
/oauth/oauth_token`` swaps the one-time code for the database's apisecretkey, or for one per database
when the login reaches several. Apps and pending codes live in the DocStore, so they survive a restart.
"""

from __future__ import annotations

import html
import secrets
import string
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from providers.accountingsuite.sandbox_books import DEMO_LOGIN, OAUTH, Books
from providers.decimal_json import JSONDecodeError, dumps, loads

CODE_LIFETIME = 600  # seconds; the document does not say, ten minutes is the usual figure
DEMO_REDIRECT = "http://127.0.0.1/"  # Ledgerdesk's registration: any loopback port and path (RFC 8252 §7.3)
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _json(payload: object, status: int = 200) -> Response:
    return Response(
        dumps(payload),
        status_code=status,
        media_type="application/json",
        headers={"cache-control": "no-store"},
    )


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return _json({"error": error, "error_description": description}, status)


def redirect_allowed(registered: str, given: str) -> bool:
    """Exact match, except that a loopback registration accepts any port under its path (RFC 8252 §7.3)."""
    mine, theirs = urlsplit(registered), urlsplit(given)
    if mine.hostname in _LOOPBACK and theirs.hostname in _LOOPBACK and mine.scheme == theirs.scheme == "http":
        return theirs.path.startswith(mine.path or "/")
    return registered == given


def with_query(uri: str, **params: str | None) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(key, value) for key, value in params.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_body(raw: bytes) -> dict[str, str]:
    """curl's ``-d`` sends form data; some clients send JSON: take either."""
    text = raw.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            data = loads(text)
        except JSONDecodeError:
            return {}
        return {str(k): str(v) for k, v in data.items() if v is not None} if isinstance(data, dict) else {}
    return dict(parse_qsl(text, keep_blank_values=True))


class OAuth:
    def __init__(self, books: Books, auto_consent: bool):
        self.books = books
        self.auto_consent = auto_consent
        if books.store.get(OAUTH, "clients", books.registry.client_id) is None:
            books.store.put(
                OAUTH,
                "clients",
                books.registry.client_id,
                {
                    "client_id": books.registry.client_id,
                    "appname": "Ledgerdesk",
                    "redirect_uri": DEMO_REDIRECT,
                    "secret": books.developer.key,
                },
            )

    # --- POST /oauth/register_app ---
    async def register_app(self, request: Request) -> Response:
        try:
            data = loads(await request.body())
        except JSONDecodeError:
            return _oauth_error("invalid_request", "The request body is not valid JSON.")
        if not isinstance(data, dict):
            return _oauth_error("invalid_request", "The request body must be a JSON object.")
        for name in ("appname", "redirect_uri", "apisecretkey"):
            if not isinstance(data.get(name), str) or not data[name].strip():
                return _oauth_error("invalid_request", f"Missing parameter: {name}")
        if self.books.database_for_key(data["apisecretkey"]) is None:
            return _oauth_error("invalid_client", "The apisecretkey is not valid.", 401)
        client_id = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(20))
        self.books.store.put(
            OAUTH,
            "clients",
            client_id,
            {
                "client_id": client_id,
                "appname": data["appname"],
                "redirect_uri": data["redirect_uri"],
                "secret": data["apisecretkey"],
            },
        )
        return _json({"client_id": client_id})

    # --- GET and POST /oauth/authorize ---
    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(parse_body(await request.body()))
        client = self.books.store.get(OAUTH, "clients", params.get("client_id", ""))
        if client is None:
            return _page(
                "Unknown application", "<p>No application is registered with this client_id.</p>", 400
            )
        redirect_uri = params.get("redirect_uri") or client["redirect_uri"]
        if not redirect_allowed(client["redirect_uri"], redirect_uri):
            return _page(
                "Wrong redirect_uri",
                "<p>The redirect_uri is not the one this application registered.</p>",
                400,
            )
        state = params.get("state")
        if params.get("response_type") != "code":
            return _redirect(with_query(redirect_uri, error="unsupported_response_type", state=state))
        if request.method == "GET":
            if self.auto_consent:
                return _redirect(
                    with_query(redirect_uri, code=self._issue(client, redirect_uri, DEMO_LOGIN), state=state)
                )
            return self._consent(client, params, redirect_uri)
        if params.get("decision") != "allow":
            return _redirect(with_query(redirect_uri, error="access_denied", state=state))
        login = self.books.login(params.get("email", ""), params.get("password", ""))
        if login is None:
            return self._consent(client, params, redirect_uri, "The e-mail or password is not correct.")
        return _redirect(
            with_query(redirect_uri, code=self._issue(client, redirect_uri, login.email), state=state)
        )

    def _issue(self, client: dict, redirect_uri: str, email: str) -> str:
        code = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(20))
        self.books.store.put(
            OAUTH,
            "codes",
            code,
            {
                "client_id": client["client_id"],
                "redirect_uri": redirect_uri,
                "email": email,
                "expires": int(time.time()) + CODE_LIFETIME,
            },
        )
        return code

    def _consent(
        self, client: dict, params: dict[str, str], redirect_uri: str, problem: str = ""
    ) -> Response:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(params[k])}">'
            for k in ("response_type", "client_id", "state")
            if k in params
        )
        hidden += f'<input type="hidden" name="redirect_uri" value="{html.escape(redirect_uri)}">'
        body = (
            f"<p><strong>{html.escape(client['appname'])}</strong> would like to read and change the "
            "books of your AccountingSuite databases.</p>"
            + (f'<p class="error" role="alert">{html.escape(problem)}</p>' if problem else "")
            + '<form method="post" action="/oauth/authorize">'
            + hidden
            + '<label>E-mail <input type="email" name="email" autocomplete="username" '
            f'value="{html.escape(params.get("email", ""))}"></label>'
            '<label>Password <input type="password" name="password" autocomplete="current-password"></label>'
            '<button type="submit" name="decision" value="allow">Allow</button>'
            '<button type="submit" name="decision" value="deny">Deny</button></form>'
        )
        return _page("Connect with AccountingSuite", body)

    # --- POST /oauth/oauth_token ---
    async def token(self, request: Request) -> Response:
        form = parse_body(await request.body())
        if form.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type", "Only grant_type=authorization_code is supported.")
        client = self.books.store.get(OAUTH, "clients", form.get("client_id", ""))
        if client is None or not secrets.compare_digest(client["secret"], form.get("client_secret", "")):
            return _oauth_error("invalid_client", "Client authentication failed.", 401)
        code = form.get("code", "")
        if not code:
            return _oauth_error("invalid_request", "Missing parameter: code")
        with self.books.lock:  # one use, whatever comes of it, even when two exchanges race
            grant = self.books.store.get(OAUTH, "codes", code)
            self.books.store.delete(OAUTH, "codes", code)
        if (
            grant is None
            or grant["client_id"] != client["client_id"]
            or grant["expires"] < time.time()
            or ("redirect_uri" in form and form["redirect_uri"] != grant["redirect_uri"])
        ):
            return _oauth_error("invalid_grant", f"Authorization code does not exist: {code}")
        login = next(login for login in self.books.registry.logins if login.email == grant["email"])
        databases = [self.books.database(db_id) for db_id in login.databases]
        if len(databases) == 1:
            return _json({"token_type": "bearer", "access_token": databases[0].key})
        return _json(
            [
                {
                    "token_type": "bearer",
                    "access_token": db.key,
                    "database_id": db.id,
                    "database_name": db.name,
                }
                for db in databases
            ]
        )


def _redirect(location: str) -> Response:
    return Response(status_code=302, headers={"location": location})


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font-family:sans-serif;max-width:28rem;margin:3rem auto}"
        "label{display:block;margin:.6rem 0}"
        "input{display:block;width:100%}button{margin:.8rem .6rem 0 0}.error{color:#b00020}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status,
    )
