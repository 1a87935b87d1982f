"""Clear Books sign-in as the sandbox emulates it: the authorisation page, the token endpoint, PKCE,
single-use codes and refresh tokens, one token pair per user and application, expiry and scopes."""

from __future__ import annotations

import base64
import re
import time
from html.parser import HTMLParser

import httpx
import pytest

from tests.sandbox.test_clearbooks_sandbox import (
    REDIRECT,
    Api,
    errors,
    fresh_sandboxes,
    pkce_pair,
    redirect_query,
    sign_in,
)


@pytest.fixture
def fresh():
    yield from fresh_sandboxes()


@pytest.fixture
def signin(fresh):
    sandbox, http = fresh()
    return sandbox, http, sandbox.credentials()


def authorize(http: httpx.Client, creds: dict, **params) -> httpx.Response:
    return http.get(creds["authorize_path"], params={
        "response_type": "code", "client_id": creds["client_id"], "redirect_uri": REDIRECT, "state": "abc",
        **params})


def exchange(http: httpx.Client, creds: dict, code: str, verifier: str | None = None, **changes) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": creds["client_id"], "client_secret": creds["client_secret"]}
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(changes)
    return http.post(creds["token_path"], data={k: v for k, v in data.items() if v is not None})


def refresh(http: httpx.Client, creds: dict, token: str) -> httpx.Response:
    return http.post(creds["token_path"], data={"grant_type": "refresh_token", "refresh_token": token,
                                                "client_id": creds["client_id"],
                                                "client_secret": creds["client_secret"]})


def oauth_error(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    found = response.json()
    assert sorted(found) == ["error", "error_description"]
    assert response.headers["cache-control"] == "no-store"
    return found["error"]


def works(http: httpx.Client, token: str) -> int:
    return http.get("/v1/businesses", headers={"Authorization": f"Bearer {token}"}).status_code


def coded(http, creds) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    query = redirect_query(authorize(http, creds, code_challenge=challenge, code_challenge_method="S256"))
    return query["code"], verifier


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self.fields = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(attrs)
        elif tag in ("input", "button"):
            self.fields.append(attrs)


def test_the_token_answer_has_the_oauth_shape(signin):
    _sandbox, http, creds = signin
    code, verifier = coded(http, creds)
    response = exchange(http, creds, code, verifier)
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    token = response.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    assert token["access_token"] != token["refresh_token"]
    assert "accounting.sales:write" in token["scope"].split()
    assert works(http, token["access_token"]) == 200


def test_the_consent_page_approves_or_denies(fresh):
    sandbox, http = fresh(auto_consent=False)
    creds = sandbox.credentials()
    page = authorize(http, creds)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for name in sandbox.company_names:
        assert name.replace("&", "&amp;") in page.text
    parser = _Forms()
    parser.feed(page.text)
    assert parser.forms[0]["method"] == "post"
    hidden = {f["name"]: f["value"] for f in parser.fields if f.get("type") == "hidden"}
    decisions = {f["value"] for f in parser.fields if f.get("name") == "decision"}
    assert decisions == {"approve", "deny"}
    approved = redirect_query(http.post(parser.forms[0]["action"], data={**hidden, "decision": "approve"}))
    assert approved["state"] == "abc" and exchange(http, creds, approved["code"]).status_code == 200
    replay = http.post(parser.forms[0]["action"], data={**hidden, "decision": "approve"})
    assert replay.status_code == 400  # a consent is answered once

    parser = _Forms()
    parser.feed(authorize(http, creds).text)
    hidden = {f["name"]: f["value"] for f in parser.fields if f.get("type") == "hidden"}
    denied = redirect_query(http.post(parser.forms[0]["action"], data={**hidden, "decision": "deny"}))
    assert denied["error"] == "access_denied" and denied["state"] == "abc" and "code" not in denied


def test_pkce_s256_is_checked(signin):
    _sandbox, http, creds = signin
    code, _verifier = coded(http, creds)
    assert oauth_error(exchange(http, creds, code, pkce_pair()[0])) == "invalid_grant"
    code, _verifier = coded(http, creds)
    assert oauth_error(exchange(http, creds, code)) == "invalid_request"  # the verifier is missing
    plain = redirect_query(authorize(http, creds))  # PKCE is supported, not mandatory
    assert exchange(http, creds, plain["code"]).status_code == 200


def test_a_code_is_single_use_and_a_replay_revokes_its_tokens(signin):
    _sandbox, http, creds = signin
    code, verifier = coded(http, creds)
    token = exchange(http, creds, code, verifier).json()
    assert oauth_error(exchange(http, creds, code, verifier)) == "invalid_grant"
    assert works(http, token["access_token"]) == 401
    assert oauth_error(refresh(http, creds, token["refresh_token"])) == "invalid_grant"


def test_a_code_is_short_lived(signin, monkeypatch):
    sandbox, http, creds = signin
    code, verifier = coded(http, creds)
    now = time.time()
    monkeypatch.setattr(sandbox, "clock", lambda: now + 601)
    assert oauth_error(exchange(http, creds, code, verifier)) == "invalid_grant"


def test_the_redirect_uri_and_the_client_must_match(signin):
    _sandbox, http, creds = signin
    code, verifier = coded(http, creds)
    wrong = exchange(http, creds, code, verifier, redirect_uri="http://127.0.0.1:1/other")
    assert oauth_error(wrong) == "invalid_grant"
    assert oauth_error(exchange(http, creds, code, verifier, client_secret="guess"), 401) == "invalid_client"
    assert oauth_error(exchange(http, creds, code, verifier, client_secret=None), 401) == "invalid_client"


def test_a_client_may_authenticate_with_http_basic(signin):
    _sandbox, http, creds = signin
    code, verifier = coded(http, creds)
    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    response = http.post(creds["token_path"], headers={"Authorization": f"Basic {basic}"}, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert response.status_code == 200


def test_token_endpoint_request_errors(signin):
    _sandbox, http, creds = signin
    secret = {"client_id": creds["client_id"], "client_secret": creds["client_secret"]}
    assert oauth_error(http.post(creds["token_path"], data={**secret, "grant_type": "password"})) == \
        "unsupported_grant_type"
    assert oauth_error(http.post(creds["token_path"], data=secret)) == "invalid_request"
    as_json = http.post(creds["token_path"], json={**secret, "grant_type": "refresh_token"})
    assert oauth_error(as_json) == "invalid_request"


def test_refresh_tokens_are_single_use_and_rotate_the_pair(signin):
    _sandbox, http, creds = signin
    first = sign_in(http, creds)
    second = refresh(http, creds, first["refresh_token"])
    assert second.status_code == 200
    second = second.json()
    assert works(http, second["access_token"]) == 200
    assert works(http, first["access_token"]) == 401  # one access token at a time
    assert oauth_error(refresh(http, creds, first["refresh_token"])) == "invalid_grant"
    assert refresh(http, creds, second["refresh_token"]).status_code == 200


def test_refresh_tokens_never_expire_until_used_while_access_tokens_do(fresh, monkeypatch):
    sandbox, http = fresh(extra={"access_token_ttl": 60})
    creds = sandbox.credentials()
    token = sign_in(http, creds)
    assert token["expires_in"] == 60
    now = time.time()
    monkeypatch.setattr(sandbox, "clock", lambda: now + 61)
    expired = http.get("/v1/businesses", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert expired.status_code == 401 and "expired" in errors(expired)[0][1]
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    monkeypatch.setattr(sandbox, "clock", lambda: now + 10 * 365 * 86400)
    renewed = refresh(http, creds, token["refresh_token"])
    assert renewed.status_code == 200 and works(http, renewed.json()["access_token"]) == 200


def test_signing_in_again_revokes_the_previous_pair(signin):
    _sandbox, http, creds = signin
    first = sign_in(http, creds)
    second = sign_in(http, creds)
    revoked = http.get("/v1/businesses", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert revoked.status_code == 401 and "revoked" in errors(revoked)[0][1]
    assert oauth_error(refresh(http, creds, first["refresh_token"])) == "invalid_grant"
    assert works(http, second["access_token"]) == 200


def test_authorisation_request_errors(signin):
    _sandbox, http, creds = signin
    unknown = authorize(http, {**creds, "client_id": "nobody"})
    assert unknown.status_code == 400 and "location" not in unknown.headers  # never redirect to an unknown app
    elsewhere = authorize(http, creds, redirect_uri="https://attacker.example/cb")
    assert elsewhere.status_code == 400 and "location" not in elsewhere.headers
    for params, error in (({"response_type": "token"}, "unsupported_response_type"),
                          ({"scope": "accounting.everything:write"}, "invalid_scope"),
                          ({"code_challenge": "x" * 43, "code_challenge_method": "S512"}, "invalid_request"),
                          ({"code_challenge": "short"}, "invalid_request")):
        query = redirect_query(authorize(http, creds, **params))
        assert query["error"] == error and query["state"] == "abc"


def test_any_loopback_port_is_a_valid_redirect(signin):
    _sandbox, http, creds = signin
    for uri in ("http://127.0.0.1:1234/cb", "http://localhost:65000/", "http://[::1]:8080/done"):
        location = authorize(http, creds, redirect_uri=uri).headers["location"]
        assert location.startswith(uri) and re.search(r"[?&]code=", location)


def test_a_narrow_grant_reaches_only_what_it_names(signin):
    sandbox, http, creds = signin
    token = sign_in(http, creds, scope="businesses:read accounting.sales:read")
    assert token["scope"] == "businesses:read accounting.sales:read"
    api = Api(http, token["access_token"], int(sandbox.companies()[0]["id"]))
    assert api.get("/v1/businesses").status_code == 200
    assert api.get("/v1/accounting/sales/invoices").status_code == 200
    assert api.get("/v1/accounting/customers").status_code == 403
    widened = http.post(creds["token_path"], data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"], "scope": "accounting.sales:write",
        "client_id": creds["client_id"], "client_secret": creds["client_secret"]})
    assert oauth_error(widened) == "invalid_scope"
