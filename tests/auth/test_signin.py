"""Key and login sign-ins, checked at once with a cheap call through the real client, refused in the
service's own words."""

from __future__ import annotations

import pytest

from app.auth.errors import CredentialsRefused
from app.auth.signin import sign_in_accbooks, sign_in_accountingsuite_key, sign_in_accountsiq
from providers.base import SignInKind, ValidationError
from tests.auth.helpers import run


def test_accbooks_key_names_its_one_company(served):
    sandbox = served("accbooks")
    signed_in = run(sign_in_accbooks(sandbox.credentials["api_key"], base_url=f"{sandbox.url}/v1/"))
    first = sandbox.sandbox.companies()[0]
    assert signed_in.kind is SignInKind.API_KEY
    assert [(c.id, c.name) for c in signed_in.companies] == [(first["id"], first["name"])]
    assert signed_in.secrets == {"api_key": sandbox.credentials["api_key"]}
    assert sandbox.credentials["api_key"] not in repr(signed_in)
    assert [(e.method, e.path) for e in sandbox.requests()] == [("GET", "/v1/company")]  # one cheap call


def test_accbooks_refused_key_carries_the_services_words(served):
    sandbox = served("accbooks")
    with pytest.raises(CredentialsRefused) as raised:
        run(sign_in_accbooks("acb_" + "0" * 40, base_url=f"{sandbox.url}/v1/"))
    assert raised.value.message == "AccBooks did not accept this API key: The API key is invalid or has been revoked"


def test_accbooks_key_without_company_read_is_still_a_good_key(served):
    sandbox = served("accbooks")
    signed_in = run(sign_in_accbooks(sandbox.credentials["custom_api_key"], base_url=f"{sandbox.url}/v1/"))
    assert signed_in.companies[0].id.startswith("key-")
    assert "company:read" in signed_in.details["note"]


@pytest.mark.parametrize("pasted, problem", [("", "Paste the AccBooks API key first"),
                                             ("acb_12 34", "spaces or line breaks")])
def test_accbooks_pasted_text_is_checked_before_anything_is_sent(pasted, problem):
    with pytest.raises(ValidationError, match=problem):
        run(sign_in_accbooks(pasted, base_url="http://127.0.0.1:9/v1/"))


def test_accountingsuite_pasted_key_opens_its_database(served):
    sandbox = served("accountingsuite")
    key = sandbox.credentials["apisecretkey.1002"]
    signed_in = run(sign_in_accountingsuite_key(f"  {key}\n", base_url=sandbox.url, name="Cedar & Pine"))
    (company,) = signed_in.companies
    assert company.id.startswith("key-") and company.name == "Cedar & Pine"
    assert signed_in.secrets == {f"apisecretkey:{company.id}": key}
    assert [e.path for e in sandbox.requests()] == ["/companies/00000000-0000-0000-0000-000000000000"]


def test_accountingsuite_refused_key_in_its_own_words(served):
    sandbox = served("accountingsuite")
    with pytest.raises(CredentialsRefused, match=r"\[apisecretkey\] : The apisecretkey is not valid"):
        run(sign_in_accountingsuite_key("NotTheKey123", base_url=sandbox.url))


def test_accountsiq_client_credentials_list_the_entities(served):
    sandbox = served("accountsiq")
    creds = sandbox.credentials
    signed_in = run(sign_in_accountsiq(creds["client_id"], creds["client_secret"], creds["region"],
                                       base_url=sandbox.url))
    assert [c.id for c in signed_in.companies] == creds["entities"].split(",")
    assert signed_in.kind is SignInKind.CLIENT_CREDENTIALS
    assert set(signed_in.secrets) == {"client_secret", "tokens"}
    assert signed_in.details == {"client_id": creds["client_id"], "region": "uk1"}


@pytest.mark.parametrize("which, said", [("secret", "The client secret is not correct."),
                                         ("id", "No integration application is registered with this client id.")])
def test_accountsiq_refusal_in_its_own_words(served, which, said):
    sandbox = served("accountsiq")
    creds = sandbox.credentials
    client_id = "00000000-0000-0000-0000-000000000000" if which == "id" else creds["client_id"]
    secret = "wrong-secret" if which == "secret" else creds["client_secret"]
    with pytest.raises(CredentialsRefused) as raised:
        run(sign_in_accountsiq(client_id, secret, "uk1", base_url=sandbox.url))
    assert raised.value.message == f"AccountsIQ did not accept this client id and secret: {said}"


def test_accountsiq_unknown_region_is_refused_before_anything_is_sent():
    with pytest.raises(ValidationError, match="not an AccountsIQ region"):
        run(sign_in_accountsiq("6f0c3b2e-8d4a-4e71-9b5c-2a7d1e9f4c83", "secret-value", "mars"))
