"""The AccountingSuite sandbox, exercised over loopback HTTP as a client would use the real service.

Every documented example (requests, answers, errors) from provider-docs/accountingsuite-api.txt is
replayed here; example answers are compared by their keys and by the values the request decides.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.domain.documents import DocumentStatus
from providers.decimal_json import JSONDecodeError, dumps, loads
from providers.sandbox.base import SandboxOptions, demo_companies
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread

SEED = 7
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# Keys of the document's example answers.
ADDRESS_KEYS = {
    "address_id",
    "address_line1",
    "address_line2",
    "phone",
    "last_name",
    "country",
    "cell",
    "default_shipping",
    "zip",
    "sales_tax_code",
    "notes",
    "first_name",
    "middle_name",
    "default_billing",
    "email",
    "city",
    "address_code",
    "api_code",
    "state",
}
COMPANY_KEYS = {
    "lines",
    "company_code",
    "cf5_string",
    "website",
    "cf1_num",
    "cf2_string",
    "cf5_num",
    "company_name",
    "cf2_num",
    "notes",
    "company_type",
    "price_level",
    "cf3_string",
    "cf3_num",
    "cf4_string",
    "api_code",
    "cf1_string",
    "cf4_num",
}
PRODUCT_KEYS = {
    "cf5_string",
    "costing_method",
    "cf1_num",
    "cf2_string",
    "cf5_num",
    "category",
    "item_price",
    "cf2_num",
    "cogs_account",
    "cf3_string",
    "unit_of_measure",
    "item_code",
    "inventory_or_expense_account",
    "cf3_num",
    "item_type",
    "income_account",
    "item_description",
    "cf4_string",
    "price_levels",
    "api_code",
    "cf1_string",
    "cf4_num",
}
SERVICE_KEYS = PRODUCT_KEYS - {"costing_method"}
TOTALS = {
    "line_subtotal",
    "discount",
    "discount_percent",
    "subtotal",
    "shipping",
}  # documented, not in examples
SALE_LINE_KEYS = {"price", "item_description", "quantity", "api_code", "line_total", "item_code"}
CASH_SALE_KEYS = {
    "lines",
    "company_code",
    "doc_total",
    "memo",
    "date",
    "sales_tax_total",
    "payment_method",
    "customer_api_code",
    "company_name",
    "ship_to_address_code",
    "ship_to_address_id",
    "ref_num",
    "ship_to_api_code",
    "cash_sale_number",
    "api_code",
} | TOTALS
CASH_SALE_LIST_KEYS = {
    "company_code",
    "doc_total",
    "memo",
    "date",
    "sales_tax_total",
    "payment_method",
    "ref_num",
    "company_name",
    "ship_to_address_code",
    "ship_to_address_id",
    "cash_sale_number",
    "api_code",
} | TOTALS
INVOICE_KEYS = {
    "lines",
    "company_code",
    "doc_total",
    "memo",
    "due_date",
    "date",
    "sales_tax_total",
    "customer_api_code",
    "company_name",
    "invoice_number",
    "ship_to_address_id",
    "ref_num",
    "ship_to_api_code",
    "api_code",
} | TOTALS
INVOICE_LIST_KEYS = {
    "company_code",
    "doc_total",
    "memo",
    "due_date",
    "date",
    "sales_tax_total",
    "company_name",
    "invoice_number",
    "ship_to_address_code",
    "ship_to_address_id",
    "ref_num",
    "api_code",
} | TOTALS
SALES_ORDER_KEYS = (
    {
        "bill_to_notes",
        "bill_to_country",
        "ship_to_state",
        "date",
        "doc_total",
        "ship_to_zip",
        "ship_to_address_line1",
        "memo",
        "ship_to_sales_tax_code",
        "ship_to_address_line2",
        "bill_to_sales_tax_code",
        "bill_to_address_line1",
        "bill_to_address_line2",
        "bill_to_state",
        "bill_to_cell",
        "ship_to_email",
        "bill_to_city",
        "bill_to_zip",
        "bill_to_email",
        "so_number",
        "cf1_string",
        "ship_to_middle_name",
        "ship_to_first_name",
        "bill_to_middle_name",
        "ref_num",
        "bill_to_first_name",
        "api_code",
        "bill_to_api_code",
        "ship_to_phone",
        "ship_to_cell",
        "line_items",
        "ship_to_notes",
        "bill_to_phone",
        "ship_to_country",
        "ship_to_address_id",
        "ship_to_api_code",
        "ship_to_city",
        "bill_to_address_id",
        "company",
        "customer_api_code",
        "sales_tax_total",
    }
    | TOTALS
    | {"external_id", "ship_to_last_name", "bill_to_last_name"}
)
PURCHASE_ORDER_KEYS = {
    "purchase_city",
    "purchase_country",
    "purchase_zip",
    "purchase_state",
    "purchase_email",
    "doc_total",
    "ds_address_id",
    "memo",
    "ds_address_api_code",
    "purchase_sales_tax_code",
    "purchase_notes",
    "delivery_date",
    "ds_customer_api_code",
    "ds_customer",
    "po_date",
    "api_code",
    "class",
    "purchase_first_name",
    "project",
    "purchase_cell",
    "line_items",
    "purchase_phone",
    "purchase_middle_name",
    "purchase_address_line2",
    "purchase_address_line1",
    "company",
    "purchase_address_id",
    "po_number",
    "address_api_code",
    "customer_api_code",
} | {"purchase_last_name"}
PO_LINE_KEYS = {
    "line_total",
    "class",
    "price",
    "unit_of_measure",
    "quantity",
    "item",
    "project",
    "item_description",
    "api_code",
}
ZERO = "00000000-0000-0000-0000-000000000000"


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def as_json(response: httpx.Response):
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    return loads(response.text)


@pytest.fixture(scope="module")
def sandbox():
    return build_sandbox("accountingsuite", SandboxOptions(size="small", seed=SEED))


@pytest.fixture(scope="module")
def server(sandbox):
    running = serve_in_thread(sandbox.stack.asgi)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_faults(request):
    yield
    if "sandbox" in request.fixturenames:
        sandbox = request.getfixturevalue("sandbox")
        sandbox.stack.faults.settings.update(
            latency_ms=0,
            error_rate=0.0,
            drop_before_rate=0.0,
            drop_after_rate=0.0,
            throttle_rate=0.0,
            truncate_rate=0.0,
        )


def key(sandbox, db: str = "1001") -> str:
    return sandbox.credentials()[f"apisecretkey.{db}"]


@pytest.fixture
def api(sandbox, server):
    with httpx.Client(base_url=server.url, headers={"apisecretkey": key(sandbox)}, timeout=10) as client:
        yield client


def ok(response: httpx.Response):
    assert response.status_code == 200, response.text[:300]
    body = as_json(response)
    assert not (isinstance(body, dict) and body.get("status") == "error"), body
    return body


def make_company(api, name=None, **extra):
    body = {
        "company_name": name or unique("Customer"),
        "company_type": "customer",
        "lines": {
            "addresses": [
                {
                    "address_id": "Main",
                    "first_name": "Ann",
                    "last_name": "Lee",
                    "address_line1": "1 Main St",
                    "city": "Austin",
                    "state": "TX",
                }
            ]
        },
        **extra,
    }
    return ok(api.post("/companies", json=body))


def make_item(api, kind="service", code=None):
    return ok(
        api.post(
            "/items",
            json={"item_code": code or unique("ITEM"), "item_description": "Thing", "item_type": kind},
        )
    )


def sale_body(company, items, **extra):
    ship = company["lines"]["addresses"][0]["api_code"]
    return {
        "customer_api_code": company["api_code"],
        "ship_to_api_code": ship,
        "date": "2013-05-24",
        "due_date": "2013-05-24",
        "ref_num": "trx0023487",
        "memo": "magento_sale",
        "doc_total": 900,
        "lines": {
            "line_items": [
                {"api_code": items[0]["api_code"], "price": 350, "quantity": 2, "line_total": 700},
                {"api_code": items[1]["api_code"], "price": 200, "quantity": 1, "line_total": 200},
            ]
        },
        **extra,
    }


# --------------------------------------------------------------------------------------------- sign-in


def authorize_url(sandbox, **params):
    query = {
        "response_type": "code",
        "client_id": sandbox.credentials()["client_id"],
        "state": "12345",
        "redirect_uri": "http://127.0.0.1:53682/callback",
        **params,
    }
    return "/oauth/authorize", query


def exchange(client, sandbox, code, **extra):
    creds = sandbox.credentials()
    form = {
        "client_secret": creds["client_secret"],
        "client_id": creds["client_id"],
        "code": code,
        "grant_type": "authorization_code",
        **extra,
    }
    return client.post("/oauth/oauth_token", data=form)


def test_browser_sign_in_returns_one_key_per_database_of_the_login(sandbox, server):
    with httpx.Client(base_url=server.url) as client:
        path, query = authorize_url(sandbox)
        answer = client.get(path, params=query)
        assert answer.status_code == 302
        location = urlsplit(answer.headers["location"])
        assert (location.hostname, location.port, location.path) == ("127.0.0.1", 53682, "/callback")
        params = parse_qs(location.query)
        assert params["state"] == ["12345"]
        token = exchange(client, sandbox, params["code"][0])
        assert token.status_code == 200
        answers = as_json(token)
        assert isinstance(answers, list) and len(answers) == 3
        assert {a["database_name"] for a in answers} == {c["name"] for c in sandbox.companies()}
        for entry in answers:
            assert entry["token_type"] == "bearer"
            assert entry["access_token"] == key(sandbox, entry["database_id"])
            assert ok(client.get("/companies", headers={"Authorization": f"Bearer {entry['access_token']}"}))


def test_a_code_works_once_and_unknown_codes_answer_as_documented(sandbox, server):
    with httpx.Client(base_url=server.url) as client:
        path, query = authorize_url(sandbox)
        code = parse_qs(urlsplit(client.get(path, params=query).headers["location"]).query)["code"][0]
        assert exchange(client, sandbox, code).status_code == 200
        again = exchange(client, sandbox, code)
        assert again.status_code == 400
        assert as_json(again) == {
            "error": "invalid_grant",
            "error_description": f"Authorization code does not exist: {code}",
        }
        documented = exchange(client, sandbox, "AUTHORIZATION_CODE")
        assert as_json(documented) == {
            "error": "invalid_grant",
            "error_description": "Authorization code does not exist: AUTHORIZATION_CODE",
        }


def test_an_expired_code_is_refused(sandbox, server):
    with httpx.Client(base_url=server.url) as client:
        path, query = authorize_url(sandbox)
        code = parse_qs(urlsplit(client.get(path, params=query).headers["location"]).query)["code"][0]
        grant = sandbox.store.get("_oauth", "codes", code)
        sandbox.store.put("_oauth", "codes", code, {**grant, "expires": int(time.time()) - 1})
        assert as_json(exchange(client, sandbox, code))["error"] == "invalid_grant"


def test_token_endpoint_refuses_bad_clients_grants_and_requests(sandbox, server):
    with httpx.Client(base_url=server.url) as client:
        bad_secret = exchange(client, sandbox, "x", client_secret="wrong")
        assert bad_secret.status_code == 401 and as_json(bad_secret)["error"] == "invalid_client"
        bad_grant = exchange(client, sandbox, "x", grant_type="refresh_token")
        assert bad_grant.status_code == 400 and as_json(bad_grant)["error"] == "unsupported_grant_type"
        no_code = exchange(client, sandbox, "")
        assert no_code.status_code == 400 and as_json(no_code)["error"] == "invalid_request"


def test_authorize_refuses_unknown_apps_and_foreign_redirects(sandbox, server):
    with httpx.Client(base_url=server.url) as client:
        path, query = authorize_url(sandbox, client_id="nobody")
        unknown = client.get(path, params=query)
        assert unknown.status_code == 400 and "text/html" in unknown.headers["content-type"]
        path, query = authorize_url(sandbox, redirect_uri="https://evil.example/cb")
        assert client.get(path, params=query).status_code == 400
        path, query = authorize_url(sandbox, response_type="token")
        wrong_type = client.get(path, params=query)
        assert wrong_type.status_code == 302
        assert parse_qs(urlsplit(wrong_type.headers["location"]).query) == {
            "error": ["unsupported_response_type"],
            "state": ["12345"],
        }


@pytest.fixture(scope="module")
def consent_server():
    manual = build_sandbox("accountingsuite", SandboxOptions(size="tiny", seed=SEED, auto_consent=False))
    running = serve_in_thread(manual.stack.asgi)
    yield manual, running
    running.stop()


def test_consent_page_denial_redirects_with_access_denied(consent_server):
    manual, running = consent_server
    with httpx.Client(base_url=running.url) as client:
        path, query = authorize_url(manual)
        page = client.get(path, params=query)
        assert page.status_code == 200 and "<form" in page.text and 'value="deny"' in page.text
        denied = client.post(path, data={**query, "decision": "deny"})
        assert denied.status_code == 302
        assert parse_qs(urlsplit(denied.headers["location"]).query) == {
            "error": ["access_denied"],
            "state": ["12345"],
        }


def test_consent_with_a_single_database_login_returns_one_credential(consent_server):
    manual, running = consent_server
    owner = next(login for login in manual.books.registry.logins if login.databases == ("1002",))
    with httpx.Client(base_url=running.url) as client:
        path, query = authorize_url(manual)
        wrong = client.post(
            path, data={**query, "decision": "allow", "email": owner.email, "password": "nope"}
        )
        assert wrong.status_code == 200 and "not correct" in wrong.text
        allowed = client.post(
            path, data={**query, "decision": "allow", "email": owner.email, "password": "demo"}
        )
        assert allowed.status_code == 302
        code = parse_qs(urlsplit(allowed.headers["location"]).query)["code"][0]
        assert as_json(exchange(client, manual, code)) == {
            "token_type": "bearer",
            "access_token": key(manual, "1002"),
        }


def test_register_app_gives_a_client_id_that_signs_in(sandbox, server):
    developer_key = sandbox.credentials()["client_secret"]
    with httpx.Client(base_url=server.url) as client:
        refused = client.post(
            "/oauth/register_app",
            content=b'{"appname": "Rapid CRM", "redirect_uri": '
            b'"https://dev.company_name.com/accountingsuite_oauth", "apisecretkey": "nope"}',
        )
        assert refused.status_code == 401
        registered = client.post(
            "/oauth/register_app",
            content=(
                '{"appname": "Rapid CRM","redirect_uri": '
                '"https://dev.company_name.com/accountingsuite_oauth", '
                f'"apisecretkey": "{developer_key}"}}'
            ).encode(),
        )
        client_id = as_json(registered)["client_id"]
        assert set(as_json(registered)) == {"client_id"} and len(client_id) == 20
        answer = client.get(
            "/oauth/authorize", params={"response_type": "code", "client_id": client_id, "state": "s"}
        )
        location = answer.headers["location"]
        assert location.startswith("https://dev.company_name.com/accountingsuite_oauth?code=")
        code = parse_qs(urlsplit(location).query)["code"][0]
        token = client.post(
            "/oauth/oauth_token",
            data={
                "client_secret": developer_key,
                "client_id": client_id,
                "code": code,
                "grant_type": "authorization_code",
            },
        )
        assert len(as_json(token)) == 3


# ------------------------------------------------------------------------------------------------ auth


def test_missing_or_wrong_key_is_refused(server):
    with httpx.Client(base_url=server.url) as client:
        for headers in ({}, {"apisecretkey": "dGmlayoUnlNcitybVTMu"}, {"Authorization": "Bearer nope"}):
            answer = client.get("/companies", headers=headers)
            assert answer.status_code == 401
            body = as_json(answer)
            assert body["status"] == "error" and body["message"].startswith("[apisecretkey] : ")


def test_each_key_reaches_its_own_database(sandbox, server):
    with httpx.Client(base_url=server.url) as client:
        lists = {
            db: ok(client.get("/companies", headers={"apisecretkey": key(sandbox, db)}))["companies"]
            for db in ("1001", "1002")
        }
        assert {c["api_code"] for c in lists["1001"]}.isdisjoint({c["api_code"] for c in lists["1002"]})
        by_bearer = ok(client.get("/companies", headers={"Authorization": f"Bearer {key(sandbox, '1002')}"}))
        assert by_bearer["companies"] == lists["1002"]


# ------------------------------------------------------------------------------------------- companies


def test_create_company_as_documented(api):
    name = unique("SF Bay Distribution")
    created = ok(
        api.post(
            "/companies",
            content=(
                f'{{"company_name": "{name}","company_type": "customer","lines": {{"addresses": '
                '[{"address_id": "SFO warehouse","first_name": "John","last_name": "Sheldon",'
                '"default_billing": true,"default_shipping": true},'
                '{"address_id": "order confirm","first_name": "Jennifer","last_name": "Aniston"}]}}'
            ).encode(),
        )
    )
    assert set(created) == COMPANY_KEYS
    assert created["company_name"] == name and created["company_type"] == "customer"
    assert re.fullmatch(r"\d{5}", created["company_code"]) and UUID.match(created["api_code"])
    assert created["cf1_num"] == 0 and created["website"] == ""
    order, sfo = created["lines"]["addresses"]  # listed by label, ignoring case, as the example shows
    assert set(order) == ADDRESS_KEYS and set(sfo) == ADDRESS_KEYS
    assert (order["address_id"], order["default_billing"], order["default_shipping"]) == (
        "order confirm",
        "false",
        "false",
    )
    assert (sfo["address_id"], sfo["default_billing"], sfo["default_shipping"]) == (
        "SFO warehouse",
        "true",
        "true",
    )
    assert (sfo["first_name"], sfo["last_name"], sfo["city"]) == ("John", "Sheldon", "")
    assert re.fullmatch(r"\d{5}", sfo["address_code"])
    assert ok(api.get(f"/companies/{created['api_code']}")) == created


def test_update_company_name_as_documented_and_list_sorted_by_name(api):
    created = make_company(api, unique("SF Bay Distribution"))
    new_name = unique("SF Bay Logistics")
    updated = ok(
        api.put(f"/companies/{created['api_code']}", content=f'{{"company_name": "{new_name}"}}'.encode())
    )
    assert updated["company_name"] == new_name and updated["lines"] == created["lines"]
    listed = ok(api.get("/companies"))["companies"]
    names = [c["company_name"] for c in listed]
    assert names == sorted(names, key=str.casefold)
    assert new_name in names and created["company_name"] not in names


def test_duplicate_company_answers_as_documented(api):
    name = unique("google")
    first = ok(api.post("/companies", json={"company_name": name, "company_type": "customer+vendor"}))
    again = api.post("/companies", json={"company_name": name.upper(), "company_type": "customer+vendor"})
    assert again.status_code == 200
    assert as_json(again) == {
        "message": "[company_name] : The company already exists.",
        "status": "error",
        "api_code": first["api_code"],
    }
    # An update to a name in use (even the company's own) is refused the same way.
    same = as_json(api.put(f"/companies/{first['api_code']}", json={"company_name": name}))
    assert same["message"] == "[company_name] : The company already exists."


def test_new_address_without_label_or_api_code_answers_as_documented(api):
    created = make_company(api)
    answer = api.put(
        f"/companies/{created['api_code']}",
        json={
            "lines": {
                "addresses": [
                    {
                        "first_name": "Alex",
                        "last_name": "Brown",
                        "default_billing": True,
                        "default_shipping": True,
                    }
                ]
            }
        },
    )
    assert answer.status_code == 200
    assert as_json(answer) == {
        "status": "error",
        "message1": "[address.address_id] : This is required to create a new address.",
        "message2": "[address.api_code] : This is required to update an existing address.",
    }
    assert ok(api.get(f"/companies/{created['api_code']}")) == created  # nothing changed


def test_exactly_one_default_billing_and_shipping_address(api):
    created = make_company(api)
    main = created["lines"]["addresses"][0]
    assert (main["default_billing"], main["default_shipping"]) == (
        "true",
        "true",
    )  # the only one: the default
    updated = ok(
        api.put(
            f"/companies/{created['api_code']}",
            json={
                "lines": {
                    "addresses": [
                        {"address_id": "Warehouse", "city": "Dallas", "state": "tx", "default_billing": True}
                    ]
                }
            },
        )
    )
    by_id = {a["address_id"]: a for a in updated["lines"]["addresses"]}
    assert by_id["Warehouse"]["default_billing"] == "true" and by_id["Main"]["default_billing"] == "false"
    assert by_id["Main"]["default_shipping"] == "true" and by_id["Warehouse"]["default_shipping"] == "false"
    assert by_id["Warehouse"]["state"] == "TX"
    none_left = as_json(
        api.put(
            f"/companies/{created['api_code']}",
            json={
                "lines": {"addresses": [{"api_code": by_id["Main"]["api_code"], "default_shipping": False}]}
            },
        )
    )
    assert none_left == {
        "message": "[default_shipping] : A company has to have exactly one default shipping address.",
        "status": "error",
    }
    two = as_json(
        api.post(
            "/companies",
            json={
                "company_name": unique("Two"),
                "lines": {
                    "addresses": [
                        {"address_id": "a", "default_billing": True},
                        {"address_id": "b", "default_billing": True},
                    ]
                },
            },
        )
    )
    assert (
        two["message"] == "[default_billing(2)] : Cannot have multiple addresses be set to default billing."
    )
    # A string "true" is not a boolean: the service ignores it.
    ignored = ok(
        api.put(
            f"/companies/{created['api_code']}",
            json={"lines": {"addresses": [{"address_id": "Depot", "default_shipping": "true"}]}},
        )
    )
    assert {a["address_id"]: a["default_shipping"] for a in ignored["lines"]["addresses"]}["Depot"] == "false"


def test_address_rules_on_update(api):
    one, other = make_company(api), make_company(api)
    foreign = other["lines"]["addresses"][0]["api_code"]
    answer = as_json(
        api.put(
            f"/companies/{one['api_code']}",
            json={"lines": {"addresses": [{"api_code": foreign, "city": "Reno"}]}},
        )
    )
    assert answer == {"message": "[address.api_code] : The address does not exist.", "status": "error"}
    clash = as_json(
        api.put(f"/companies/{one['api_code']}", json={"lines": {"addresses": [{"address_id": "main"}]}})
    )
    assert clash["message"] == "[address.address_id] : The address id already exists. It must be unique."


def test_company_fields_the_service_fixes(api):
    assert (
        as_json(api.post("/companies", json={"company_name": unique("C"), "company_code": "00001"}))[
            "message"
        ]
        == "[company_code] : Cannot manually specify this. Accounting Suite automatically generates it."
    )
    assert (
        as_json(api.post("/companies", json={"company_name": unique("C"), "company_type": "partner"}))[
            "message"
        ]
        == "[company_type] : Please enter customer, vendor, or customer+vendor."
    )
    assert (
        as_json(api.post("/companies", json={"company_type": "customer"}))["message"]
        == "[company_name] : This is a required field."
    )
    assert (
        as_json(api.post("/companies", json={"company_name": unique("C"), "price_level": "Gold"}))["message"]
        == "[price_level] : This does not exist. You must create the price level first."
    )
    plain = ok(api.post("/companies", json={"company_name": unique("Plain")}))
    assert plain["company_type"] == "customer"  # the documented default
    primary = plain["lines"]["addresses"]
    assert [(a["address_id"], a["default_billing"], a["default_shipping"]) for a in primary] == [
        ("Primary", "true", "true")
    ]
    gained = ok(
        api.put(
            f"/companies/{plain['api_code']}", json={"company_type": "vendor", "price_level": "wholesale"}
        )
    )
    assert (gained["company_type"], gained["price_level"]) == ("customer+vendor", "Wholesale")
    kept = ok(api.put(f"/companies/{plain['api_code']}", json={"company_type": "customer"}))
    assert kept["company_type"] == "customer+vendor"


def test_delete_company_as_documented_and_linked_company_refused(api, sandbox):
    created = make_company(api, unique("Burger King"))
    answer = api.delete(f"/companies/{created['api_code']}")
    assert as_json(answer) == {"message": f"{created['company_name']} has been deleted.", "status": "success"}
    gone = as_json(api.get(f"/companies/{created['api_code']}"))
    assert gone == {
        "message": "[api_code] : The company does not exist. Double check that the ID# is correct.",
        "status": "error",
    }
    assert as_json(api.get("/companies/not-a-uuid")) == gone
    invoice = ok(api.get("/invoices"))["cash_sales"][0]
    customer = next(
        c for c in ok(api.get("/companies"))["companies"] if c["company_code"] == invoice["company_code"]
    )
    refused = as_json(api.delete(f"/companies/{customer['api_code']}"))
    assert refused == {
        "message": "Failed to delete. There are linked objects to this company.",
        "status": "error",
        "company_name": customer["company_name"],
    }


# ----------------------------------------------------------------------------------------------- items


def test_create_items_as_documented(api):
    code = unique("FrigidaireDF288")
    product = ok(
        api.post(
            "/items",
            content=(
                f'{{"item_code":"{code}","item_description":"Frigidaire DF288 air '
                'conditioner","item_type":"product"}'
            ).encode(),
        )
    )
    assert set(product) == PRODUCT_KEYS
    assert (product["item_code"], product["item_type"], product["costing_method"]) == (
        code,
        "product",
        "weighted_average",
    )
    assert (product["cogs_account"], product["inventory_or_expense_account"], product["income_account"]) == (
        "5000",
        "1300",
        "4000",
    )
    assert (product["item_price"], product["price_levels"], product["category"]) == (0, [], "")
    service = ok(
        api.post(
            "/items",
            content=(
                f'{{"item_code": "{unique("shipping international")}","item_description": '
                '"shipping fee","item_type": "service","unit_of_measure": "each"}'
            ).encode(),
        )
    )
    assert set(service) == SERVICE_KEYS
    assert (service["unit_of_measure"], service["cogs_account"], service["inventory_or_expense_account"]) == (
        "each",
        "",
        "6000",
    )
    assert ok(api.get(f"/items/{product['api_code']}")) == product
    default = ok(api.post("/items", json={"item_code": unique("X"), "item_description": "no type"}))
    assert default["item_type"] == "service"


def test_update_item_as_documented_and_type_change_refused(api):
    product = make_item(api, "product")
    new_code = unique("FrigidaireDF288 AC")
    updated = ok(
        api.put(
            f"/items/{product['api_code']}",
            json={"item_code": new_code, "item_description": "Frigidaire DF288 AC 200W"},
        )
    )
    assert (updated["item_code"], updated["item_description"], updated["item_type"]) == (
        new_code,
        "Frigidaire DF288 AC 200W",
        "product",
    )
    refused = api.put(
        f"/items/{product['api_code']}", json={"item_description": "new version 4.0", "item_type": "service"}
    )
    assert refused.status_code == 200
    assert as_json(refused) == {"message": "[item_type] : Cannot change the item type.", "status": "error"}
    assert ok(api.get(f"/items/{product['api_code']}"))["item_description"] == "Frigidaire DF288 AC 200W"


def test_unknown_category_answers_as_documented(api):
    answer = api.post(
        "/items",
        json={
            "item_code": unique("Kit Kat"),
            "item_description": "Chocolate Wafers",
            "item_type": "product",
            "item_category": "candy",
        },
    )
    assert as_json(answer) == {
        "message": "[item_category] : The category does not exist. You must create the item category first.",
        "status": "error",
    }
    known = ok(
        api.post(
            "/items",
            json={"item_code": unique("Tea"), "item_description": "Tea", "item_category": "food and drink"},
        )
    )
    assert known["category"] == "Food and drink"
    assert (
        as_json(
            api.post(
                "/items",
                json={"item_code": unique("Y"), "item_description": "y", "unit_of_measure": "parsec"},
            )
        )["message"]
        == "[unit_of_measure] : This does not exist. You must create the unit of measure first."
    )


def test_duplicate_item_code_refused(api):
    item = make_item(api)
    again = as_json(
        api.post("/items", json={"item_code": item["item_code"].lower(), "item_description": "x"})
    )
    assert again == {
        "message": "[item_code] : The item already exists. Not a unique item code.",
        "status": "error",
        "api_code": item["api_code"],
    }


def test_delete_item_as_documented_and_linked_item_refused(api):
    lonely = make_item(api)
    assert as_json(api.delete(f"/items/{lonely['api_code']}")) == {
        "message": f"{lonely['item_code']} has been deleted.",
        "status": "success",
    }
    company, items = make_company(api), [make_item(api, "product"), make_item(api)]
    invoice = ok(api.post("/invoices", json=sale_body(company, items)))
    refused = as_json(api.delete(f"/items/{items[0]['api_code']}"))
    assert refused == {
        "message": "Failed to delete. There are linked objects to this item.",
        "status": "error",
        "item_code": items[0]["item_code"],
    }
    ok(api.delete(f"/invoices/{invoice['api_code']}"))
    assert as_json(api.delete(f"/items/{items[0]['api_code']}"))["status"] == "success"


def test_item_list_sorted_by_code(api):
    listed = ok(api.get("/items"))["items"]
    codes = [i["item_code"] for i in listed]
    assert len(codes) > 5 and codes == sorted(codes, key=str.casefold)


# ------------------------------------------------------------------------------------- sales documents


def test_invoice_lifecycle_as_documented(api):
    company, items = (
        make_company(api, unique("West Coast Logistics")),
        [make_item(api, "product"), make_item(api)],
    )
    created = ok(api.post("/invoices", json=sale_body(company, items)))
    assert set(created) == INVOICE_KEYS
    assert [set(line) for line in created["lines"]["line_items"]] == [SALE_LINE_KEYS, SALE_LINE_KEYS]
    first = created["lines"]["line_items"][0]
    assert (first["price"], first["quantity"], first["line_total"], first["item_code"]) == (
        350,
        2,
        700,
        items[0]["item_code"],
    )
    assert (
        created["doc_total"],
        created["sales_tax_total"],
        created["line_subtotal"],
        created["subtotal"],
    ) == (900, 0, 900, 900)
    assert (created["customer_api_code"], created["company_name"], created["company_code"]) == (
        company["api_code"],
        company["company_name"],
        company["company_code"],
    )
    assert (created["ship_to_address_id"], created["memo"], created["ref_num"]) == (
        "Main",
        "magento_sale",
        "trx0023487",
    )
    assert re.fullmatch(r"\d{6}", created["invoice_number"])
    assert ok(api.get(f"/invoices/{created['api_code']}")) == created
    body = sale_body(company, items, date="2014-02-24", due_date="2014-05-24", doc_total=1100)
    body["lines"]["line_items"][1].update(quantity=2, line_total=400)
    updated = ok(api.put(f"/invoices/{created['api_code']}", json=body))
    assert (updated["doc_total"], updated["date"], updated["invoice_number"]) == (
        1100,
        "2014-02-24",
        created["invoice_number"],
    )
    listed = ok(api.get("/invoices"))
    assert list(listed) == ["cash_sales"]  # the document's invoice list is wrapped in "cash_sales"
    entry = next(e for e in listed["cash_sales"] if e["api_code"] == created["api_code"])
    assert (
        set(entry) == INVOICE_LIST_KEYS
        and entry["ship_to_address_code"] == company["lines"]["addresses"][0]["address_code"]
    )
    dates = [e["date"] for e in listed["cash_sales"]]
    assert dates == sorted(dates)
    deleted = api.delete(f"/invoices/{created['api_code']}")
    assert "\\/" in deleted.text  # the service's JSON writer escapes slashes
    assert as_json(deleted) == {
        "message": f"Invoice # {created['invoice_number']} from 2/24/2014 12:00:00 AM has been deleted.",
        "status": "success",
    }
    assert (
        as_json(api.get(f"/invoices/{created['api_code']}"))["message"]
        == "[api_code] : The sales invoice does not exist. Double check that the ID# is correct."
    )


def test_posted_invoices_cannot_be_deleted(api, sandbox):
    posted_id = next(api_code for (api_code,) in _records(sandbox, "1001", "invoices", posted=True))
    refused = as_json(api.delete(f"/invoices/{posted_id}"))
    record = sandbox.store.get("1001", "invoices", posted_id)
    assert refused == {
        "message": "Failed to delete. Invoice must be unposted before deletion and/or other objects are "
        "linked to this sales invoice.",
        "status": "error",
        "sales_invoice_number": record["number"],
        "date": record["date"],
    }


def _records(sandbox, db, collection, posted):
    for text in sandbox.store.page_texts(db, collection, 0, -1):
        record = loads(text)
        if record["posted"] is posted:
            yield (record["api_code"],)


def test_sales_document_refusals(api):
    company, items = make_company(api), [make_item(api), make_item(api)]
    other = make_company(api)
    foreign = sale_body(company, items, ship_to_api_code=other["lines"]["addresses"][0]["api_code"])
    assert as_json(api.post("/invoices", json=foreign)) == {
        "message": "[ship_to_api_code] : Shipping Address does not belong to the Company.",
        "status": "error",
    }
    cases = [
        ({"customer_api_code": None}, "[customer_api_code] : This field is required."),
        ({"customer_api_code": str(uuid.uuid4())}, "[customer_api_code] : The customer does not exist."),
        ({"date": "05/24/2013"}, "[date] : Date must be in the format of YYYY-MM-DD."),
        ({"due_date": None}, "[due_date] : This field is required."),
        ({"doc_total": None}, "[doc_total] : This field is required."),
        ({"doc_total": "900"}, "[doc_total] : This must be a number."),
        ({"lines": {"line_items": []}}, "[lines] : Must enter at least one line with correct line items."),
        (
            {
                "lines": {
                    "line_items": [
                        {"api_code": str(uuid.uuid4()), "price": 1, "quantity": 1, "line_total": 1}
                    ]
                }
            },
            "[line_items(1).api_code] : Item does not exist.",
        ),
        (
            {"lines": {"line_items": [{"api_code": items[0]["api_code"], "price": 1, "quantity": 1}]}},
            "[line_items(1).line_total] : This is a required field for lines.",
        ),
    ]
    for change, message in cases:
        assert as_json(api.post("/invoices", json=sale_body(company, items, **change))) == {
            "message": message,
            "status": "error",
        }, message


def test_totals_left_out_are_worked_out_from_the_lines(api):
    company, items = make_company(api), [make_item(api), make_item(api)]
    body = sale_body(
        company,
        items,
        discount_percent=10,
        shipping=Decimal("12.50"),
        sales_tax_total=Decimal("64.80"),
        doc_total=Decimal("887.30"),
    )
    created = ok(
        api.post("/invoices", content=dumps(body).encode())
    )  # exact decimals, as a client sends them
    assert (created["line_subtotal"], created["discount"], created["subtotal"], created["shipping"]) == (
        900,
        90,
        810,
        Decimal("12.5"),
    )
    assert created["subtotal"] + created["shipping"] + created["sales_tax_total"] == created["doc_total"]


def test_renamed_customer_shows_in_the_invoice_list(api):
    company, items = make_company(api), [make_item(api), make_item(api)]
    invoice = ok(api.post("/invoices", json=sale_body(company, items)))
    renamed = unique("Renamed")
    ok(
        api.put(
            f"/companies/{company['api_code']}",
            json={
                "company_name": renamed,
                "lines": {"addresses": [{"api_code": invoice["ship_to_api_code"], "address_id": "HQ"}]},
            },
        )
    )
    entry = next(e for e in ok(api.get("/invoices"))["cash_sales"] if e["api_code"] == invoice["api_code"])
    assert (entry["company_name"], entry["ship_to_address_id"]) == (renamed, "HQ")
    ok(api.put(f"/items/{items[0]['api_code']}", json={"item_code": unique("NEW")}))
    lines = ok(api.get(f"/invoices/{invoice['api_code']}"))["lines"]["line_items"]
    assert lines[0]["item_code"].startswith("NEW")


def test_cash_sale_lifecycle_as_documented(api):
    company, items = make_company(api), [make_item(api, "product"), make_item(api)]
    body = sale_body(company, items)
    del body["due_date"]
    created = ok(api.post("/cashsales", json=body))
    assert set(created) == CASH_SALE_KEYS
    assert (created["payment_method"], created["doc_total"]) == ("Cash", 900)
    assert re.fullmatch(r"\d{6}", created["cash_sale_number"])
    assert created["ship_to_address_code"] == company["lines"]["addresses"][0]["address_code"]
    body["date"], body["doc_total"] = "2014-01-24", 880
    body["lines"]["line_items"][0].update(price=340, line_total=680)
    updated = ok(api.put(f"/cashsales/{created['api_code']}", json=body))
    assert (updated["doc_total"], updated["lines"]["line_items"][0]["price"]) == (880, 340)
    listed = ok(api.get("/cashsales"))["cash_sales"]
    assert set(next(e for e in listed if e["api_code"] == created["api_code"])) == CASH_SALE_LIST_KEYS
    assert as_json(api.delete(f"/cashsales/{created['api_code']}")) == {
        "message": f"Cash Sale # {created['cash_sale_number']} from 1/24/2014 12:00:00 AM has been deleted.",
        "status": "success",
    }


# ---------------------------------------------------------------------------------------------- orders


def test_sales_order_as_documented(api):
    company = make_company(api)
    items = [make_item(api, "product"), make_item(api)]
    ship = company["lines"]["addresses"][0]
    body = {
        "customer_api_code": company["api_code"],
        "ship_to_api_code": ship["api_code"],
        "bill_to_address_id": "LA office",
        "bill_to_first_name": "Silvia",
        "bill_to_address_line1": "Alley of Stars",
        "date": "2013-05-24",
        "ref_num": "trx0023487xyz",
        "memo": "magento_sale",
        "doc_total": 900,
        "lines": {
            "line_items": [
                {"api_code": items[0]["api_code"], "price": 350, "quantity": 2, "line_total": 700},
                {"api_code": items[1]["api_code"], "price": 200, "quantity": 1, "line_total": 200},
            ]
        },
    }
    created = ok(api.post("/salesorders", json=body))
    assert set(created) == SALES_ORDER_KEYS
    assert [set(line) for line in created["line_items"]] == [
        {"price", "Product", "quantity", "api_code", "line_total"}
    ] * 2
    assert created["line_items"][0]["Product"] == items[0]["item_code"]
    assert (created["ship_to_address_id"], created["ship_to_first_name"], created["ship_to_api_code"]) == (
        "Main",
        "Ann",
        ship["api_code"],
    )
    assert (
        created["bill_to_address_id"],
        created["bill_to_first_name"],
        created["bill_to_address_line1"],
    ) == ("LA office", "Silvia", "Alley of Stars")
    assert (created["company"], created["so_number"], created["sales_tax_total"]) == (
        company["company_name"],
        created["so_number"],
        0,
    )
    assert re.fullmatch(r"\d{6}", created["so_number"])
    # The bill-to address did not exist: the service added it to the company.
    labels = {
        a["address_id"]: a["api_code"]
        for a in ok(api.get(f"/companies/{company['api_code']}"))["lines"]["addresses"]
    }
    assert labels["LA office"] == created["bill_to_api_code"]
    body.update(date="2014-02-24", doc_total=1250)
    body["lines"]["line_items"][0].update(quantity=3, line_total=1050)
    updated = ok(api.put(f"/salesorders/{created['api_code']}", json=body))
    assert (updated["doc_total"], updated["bill_to_api_code"]) == (1250, created["bill_to_api_code"])
    assert (
        as_json(api.put(f"/salesorders/{created['api_code']}", json={**body, "doc_total": 1300}))["message"]
        == "[doc_total] : The document total and sum of lineitem totals are not equal."
    )
    listed = ok(api.get("/salesorders"))
    assert list(listed) == ["Sales_Orders"] and any(
        o["api_code"] == created["api_code"] for o in listed["Sales_Orders"]
    )
    assert as_json(api.delete(f"/salesorders/{created['api_code']}")) == {
        "message": f"Sales Order # {created['so_number']} from 2/24/2014 12:00:00 AM has been deleted.",
        "status": "success",
    }


def test_sales_order_refusals_as_documented(api):
    company, other = make_company(api), make_company(api)
    items = [make_item(api), make_item(api)]
    body = {
        "customer_api_code": company["api_code"],
        "ship_to_api_code": other["lines"]["addresses"][0]["api_code"],
        "date": "2013-05-24",
        "ref_num": "trx0023487xyz",
        "memo": "magento_sale",
        "doc_total": 900,
        "lines": {
            "line_items": [
                {"api_code": items[0]["api_code"], "price": 350, "quantity": 2, "line_total": 700},
                {"api_code": items[1]["api_code"], "price": 200, "quantity": 1, "line_total": 200},
            ]
        },
    }
    answer = api.post("/salesorders", json=body)
    assert answer.status_code == 200
    assert as_json(answer) == {
        "message": "[ship_to_api_code] : Shipping Address does not belong to the Company.",
        "status": "error",
    }
    body["ship_to_api_code"] = company["lines"]["addresses"][0]["api_code"]
    body["bill_to_api_code"] = other["lines"]["addresses"][0]["api_code"]
    assert (
        as_json(api.post("/salesorders", json=body))["message"]
        == "[bill_to_api_code] : Billing Address does not belong to the Company."
    )
    del body["bill_to_api_code"]
    body["lines"]["line_items"][1]["line_total"] = (
        300  # the document's own list shows such a line; the service refuses it now
    )
    assert (
        as_json(api.post("/salesorders", json=body))["message"]
        == "[line_items(2).line_total] : Line item's total does not match quantity * price."
    )
    body["lines"]["line_items"][1]["line_total"] = 200
    plain = ok(api.post("/salesorders", json=body))  # no bill-to given: the default billing address
    assert plain["bill_to_api_code"] == company["lines"]["addresses"][0]["api_code"]


def test_purchase_order_as_documented(api):
    vendor = make_company(api, company_type="vendor")
    item = make_item(api, "product")
    address = vendor["lines"]["addresses"][0]
    created = ok(
        api.post(
            "/purchaseorders",
            json={
                "customer_api_code": vendor["api_code"],
                "address_api_code": address["api_code"],
                "po_date": "2013-05-24",
                "memo": "this is a test",
                "doc_total": 700,
                "lines": {
                    "line_items": [
                        {"api_code": item["api_code"], "price": 350, "quantity": 2, "line_total": 700}
                    ]
                },
            },
        )
    )
    assert set(created) == PURCHASE_ORDER_KEYS
    assert [set(line) for line in created["line_items"]] == [PO_LINE_KEYS]
    assert (created["ds_customer_api_code"], created["ds_address_api_code"], created["delivery_date"]) == (
        ZERO,
        ZERO,
        "",
    )
    assert (created["purchase_first_name"], created["purchase_address_id"], created["company"]) == (
        "Ann",
        "Main",
        vendor["company_name"],
    )
    assert (created["line_items"][0]["item"], created["doc_total"]) == (item["item_code"], 700)
    assert re.fullmatch(r"\d{6}", created["po_number"])
    assert ok(api.get(f"/purchaseorders/{created['api_code']}")) == created
    assert any(
        p["api_code"] == created["api_code"] for p in ok(api.get("/purchaseorders"))["purchase_orders"]
    )
    assert as_json(
        api.post(
            "/purchaseorders",
            json={
                "customer_api_code": vendor["api_code"],
                "po_date": "2013-05-24",
                "doc_total": 700,
                "project": "Moonshot",
                "lines": {
                    "line_items": [
                        {"api_code": item["api_code"], "price": 350, "quantity": 2, "line_total": 700}
                    ]
                },
            },
        )
    ) == {"message": "[project] : The project does not exist.", "status": "error"}
    assert as_json(api.delete(f"/purchaseorders/{created['api_code']}"))["status"] == "success"


def test_purchase_order_dropship_address_must_be_the_dropship_customers(api):
    vendor, customer = make_company(api, company_type="vendor"), make_company(api)
    item = make_item(api, "product")
    body = {
        "customer_api_code": vendor["api_code"],
        "po_date": "2013-05-24",
        "delivery_date": "2013-06-01",
        "doc_total": 700,
        "ds_customer_api_code": customer["api_code"],
        "ds_address_api_code": vendor["lines"]["addresses"][0]["api_code"],
        "lines": {
            "line_items": [{"api_code": item["api_code"], "price": 350, "quantity": 2, "line_total": 700}]
        },
    }
    assert as_json(api.post("/purchaseorders", json=body)) == {
        "message": "[ds_address_api_code] : Dropship Address does not belong to the Company.",
        "status": "error",
    }
    body["ds_address_api_code"] = customer["lines"]["addresses"][0]["api_code"]
    created = ok(api.post("/purchaseorders", json=body))
    assert (created["ds_customer"], created["ds_address_id"], created["delivery_date"]) == (
        customer["company_name"],
        "Main",
        "2013-06-01",
    )
    # The purchase address defaults to the vendor's default billing address.
    assert created["address_api_code"] == vendor["lines"]["addresses"][0]["api_code"]


def test_cash_receipt_as_documented(api):
    name = unique("SoCal distributor")
    answer = api.post(
        "/cashreceipts",
        content=(
            f'{{"company_name": "{name}","date":"2013-10-01", "ref_num":"trx0023487", '
            '"memo":"Invoice 230042 from 09/05/13","amount":900}'
        ).encode(),
    )
    assert answer.status_code == 200 and answer.content == b""
    companies = ok(api.get("/companies"))["companies"]
    created = [c for c in companies if c["company_name"] == name]
    assert len(created) == 1 and created[0]["lines"]["addresses"][0]["address_id"] == "Primary"
    assert (
        api.post("/cashreceipts", json={"company_name": name, "date": "2013-10-02", "amount": 5}).status_code
        == 200
    )
    assert len([c for c in ok(api.get("/companies"))["companies"] if c["company_name"] == name]) == 1
    assert (
        as_json(api.delete(f"/companies/{created[0]['api_code']}"))["message"]
        == "Failed to delete. There are linked objects to this company."
    )
    assert (
        as_json(api.post("/cashreceipts", json={"company_name": name, "date": "2013-10-02"}))["message"]
        == "[amount] : This is a required field."
    )
    not_allowed = api.get("/cashreceipts")
    assert not_allowed.status_code == 405 and not_allowed.headers["allow"] == "POST"


# ----------------------------------------------------------------------------------------- lists, HTTP


def test_lists_come_whole_and_ignore_paging(api, sandbox, server):
    full = ok(api.get("/invoices"))["cash_sales"]
    assert len(full) == sandbox.store.count("1001", "invoices.list")
    assert ok(api.get("/invoices", params={"page": 2, "limit": 1}))["cash_sales"] == full
    with httpx.Client(base_url=server.url, headers={"apisecretkey": key(sandbox, "1000")}) as developer:
        assert developer.get("/invoices").text == '{"cash_sales":[]}'
        assert developer.get("/salesorders").text == '{"Sales_Orders":[]}'
        make_company(developer, "Only One")
        assert [c["company_name"] for c in ok(developer.get("/companies"))["companies"]] == ["Only One"]


def test_http_level_errors(api):
    missing = api.get("/bankaccounts")
    assert missing.status_code == 404 and as_json(missing)["status"] == "error"
    broken = api.post("/companies", content=b"{not json")
    assert (
        broken.status_code == 400
        and as_json(broken)["message"] == "[request] : The request body is not valid JSON."
    )
    wrong = api.patch("/companies")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, POST"


def test_in_process_transport_answers_like_loopback(api, sandbox):
    async def fetch():
        async with httpx.AsyncClient(
            transport=sandbox.stack.transport(), base_url="http://api.accountingsuite.test"
        ) as client:
            return await client.get("/items", headers={"apisecretkey": key(sandbox)})

    answer = asyncio.run(fetch())
    assert answer.status_code == 200 and answer.text == api.get("/items").text


def test_no_rate_limit_is_documented_so_a_burst_is_served(api):
    answers = [api.get("/items") for _ in range(25)]
    assert {a.status_code for a in answers} == {200}
    assert not any("retry-after" in a.headers or "x-ratelimit-limit" in a.headers for a in answers)


# ------------------------------------------------------------------------------------------- demo data


def test_demo_data_balances(sandbox, server):
    generated = demo_companies("accountingsuite", "small", SEED, sandbox.company_names)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for db, company in zip(("1001", "1002", "1003"), generated, strict=True):
            ledger = list(company.ledger_lines())
            assert sum(line.amount for line in ledger) == 0
            headers = {"apisecretkey": key(sandbox, db)}
            seeded = [inv for inv in company.invoices() if inv.status is not DocumentStatus.VOID]
            listed = {
                e["invoice_number"]: e for e in ok(client.get("/invoices", headers=headers))["cash_sales"]
            }
            debtors = sum(
                line.amount
                for line in ledger
                if line.account_code == "1100" and line.transaction_id.startswith("SI")
            )
            posted_total = Decimal(0)
            for number, invoice in enumerate(seeded, start=1):
                entry = listed[f"{number:06d}"]
                totals = invoice.totals()
                assert (entry["doc_total"], entry["sales_tax_total"], entry["line_subtotal"]) == (
                    totals.gross,
                    totals.vat,
                    totals.net,
                )
                assert entry["subtotal"] + entry["shipping"] + entry["sales_tax_total"] == entry["doc_total"]
                if invoice.status is not DocumentStatus.DRAFT:
                    posted_total += entry["doc_total"]
                if number % 20 == 1:  # the lines of a sample, fetched one by one
                    full = ok(client.get(f"/invoices/{entry['api_code']}", headers=headers))
                    assert (
                        sum(line["line_total"] for line in full["lines"]["line_items"])
                        == full["line_subtotal"]
                    )
                    assert full["customer_api_code"] and full["company_name"] == invoice.customer_name
            assert posted_total == debtors


# --------------------------------------------------------------------------------------------- restart


def test_same_seed_same_ids_keys_and_data():
    answers = []
    for _ in range(2):
        built = build_sandbox("accountingsuite", SandboxOptions(size="tiny", seed=3))
        running = serve_in_thread(built.stack.asgi)
        try:
            headers = {"apisecretkey": key(built, "1002")}
            with httpx.Client(base_url=running.url, headers=headers) as client:
                answers.append(
                    (built.credentials(), client.get("/companies").text, client.get("/invoices").text)
                )
        finally:
            running.stop()
    assert answers[0] == answers[1]
    other = build_sandbox("accountingsuite", SandboxOptions(size="tiny", seed=4))
    assert other.credentials()["apisecretkey.1002"] != answers[0][0]["apisecretkey.1002"]


def test_text_is_cut_at_its_documented_length(api):
    long_name = "N" * 140 + uuid.uuid4().hex  # 172 characters; the service keeps 150
    created = ok(api.post("/companies", json={"company_name": long_name, "website": "w" * 250}))
    assert (len(created["company_name"]), len(created["website"])) == (150, 200)


def test_restart_with_a_data_file_keeps_data_and_keys(tmp_path):
    path = str(tmp_path / "accountingsuite.sqlite")
    first = build_sandbox("accountingsuite", SandboxOptions(size="tiny", seed=1, data=path))
    creds = first.credentials()
    running = serve_in_thread(first.stack.asgi)
    try:
        with httpx.Client(
            base_url=running.url, headers={"apisecretkey": creds["apisecretkey.1001"]}
        ) as client:
            created = make_company(client, "Kept Across Restarts")
            code = parse_qs(
                urlsplit(
                    client.get(
                        "/oauth/authorize", params={"response_type": "code", "client_id": creds["client_id"]}
                    ).headers["location"]
                ).query
            )["code"][0]
    finally:
        running.stop()
        first.store.close()
    second = build_sandbox("accountingsuite", SandboxOptions(size="tiny", seed=99, data=path))
    assert second.credentials() == creds
    running = serve_in_thread(second.stack.asgi)
    try:
        with httpx.Client(
            base_url=running.url, headers={"apisecretkey": creds["apisecretkey.1001"]}
        ) as client:
            assert ok(client.get(f"/companies/{created['api_code']}")) == created
            later = make_company(client)
            assert int(later["company_code"]) == int(created["company_code"]) + 1
            assert len(as_json(exchange(client, second, code))) == 3  # a pending code survives too
    finally:
        running.stop()
        second.store.close()


# ---------------------------------------------------------------------------------------------- faults


def faults(sandbox, **changes):
    sandbox.stack.faults.settings.update(**changes)


def test_fault_error_rate(api, sandbox):
    faults(sandbox, error_rate=1.0)
    answer = api.get("/companies")
    assert answer.status_code in (500, 502, 503) and "text/html" in answer.headers["content-type"]
    faults(sandbox, error_rate=0.0)
    assert api.get("/companies").status_code == 200


def test_fault_drop_before_commits_nothing(api, sandbox):
    name = unique("Dropped before")
    faults(sandbox, drop_before_rate=1.0)
    with pytest.raises(httpx.TransportError):
        api.post("/companies", json={"company_name": name})
    faults(sandbox, drop_before_rate=0.0)
    assert name not in {c["company_name"] for c in ok(api.get("/companies"))["companies"]}


def test_fault_drop_after_commits_the_write(api, sandbox):
    name = unique("Dropped after")
    faults(sandbox, drop_after_rate=1.0)
    with pytest.raises(httpx.TransportError):
        api.post("/companies", json={"company_name": name})
    faults(sandbox, drop_after_rate=0.0)
    assert name in {c["company_name"] for c in ok(api.get("/companies"))["companies"]}


def test_fault_throttle(api, sandbox):
    faults(sandbox, throttle_rate=1.0)
    answer = api.get("/items")
    assert answer.status_code == 429 and answer.headers["retry-after"] == "1"
    faults(sandbox, throttle_rate=0.0)
    assert api.get("/items").status_code == 200


def test_fault_truncate(api, sandbox):
    whole = api.get("/items")
    faults(sandbox, truncate_rate=1.0)
    cut = api.get("/items")
    assert cut.status_code == 200 and len(cut.content) == len(whole.content) // 2
    with pytest.raises(JSONDecodeError):
        loads(cut.content)
    faults(sandbox, truncate_rate=0.0)
    assert api.get("/items").content == whole.content


def test_fault_latency(api, sandbox):
    sandbox.stack.faults.reseed(11)
    expected = random.Random(11)
    faults(sandbox, latency_ms=150)
    for _ in range(3):
        wait = expected.uniform(0, 150) / 1000
        started = time.perf_counter()
        assert api.get("/items").status_code == 200
        assert time.perf_counter() - started >= wait
    sandbox.stack.faults.reseed(None)
    faults(sandbox, latency_ms=0)
