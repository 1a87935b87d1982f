"""The AccBooks sandbox over real loopback HTTP: auth, permissions, HTTPS, rate limits, paging, every
resource, the ledger and its reports, restarts, and the generic faults."""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest

from app.domain.documents import DocumentStatus
from app.domain.generate import CHART
from providers.accbooks.sandbox import Sandbox
from providers.accbooks.wire import build_invoice, build_line, invoice_json, ledger_line, ledger_line_json
from providers.decimal_json import JSONDecodeError, dumps, loads
from providers.sandbox.base import SandboxOptions, demo_companies
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread

SEED = 7
PENNY = Decimal("0.01")
KIND = {code: str(kind) for code, _name, kind in CHART}
LIMIT_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def body(response: httpx.Response):
    return loads(response.content)


def client(url: str, key: str | None, **headers: str) -> httpx.Client:
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return httpx.Client(base_url=url, headers=headers, timeout=10)


def walk(http: httpx.Client, path: str, **params) -> list[dict]:
    found, page = [], 1
    while True:
        answer = body(http.get(path, params={**params, "page": page, "per_page": 100}))
        found += answer["data"]
        if page >= answer["meta"]["total_pages"]:
            return found
        page += 1


def half_up(value: Decimal) -> Decimal:
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


# --- fixtures -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sandbox():
    return build_sandbox("accbooks", SandboxOptions(size="small", seed=SEED, throttle=False))


@pytest.fixture(scope="module")
def server(sandbox):
    running = serve_in_thread(sandbox.stack.asgi)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def no_faults(sandbox):
    yield
    sandbox.stack.faults.settings.update(latency_ms=0, error_rate=0.0, drop_before_rate=0.0, drop_after_rate=0.0,
                                         throttle_rate=0.0, truncate_rate=0.0)


@pytest.fixture(scope="module")
def ids(sandbox) -> list[str]:
    return [company["id"] for company in sandbox.companies()]


@pytest.fixture(scope="module")
def http(sandbox, server, ids):
    """Clients by role. ``firm`` (the second company) is the one the write tests change."""
    creds = sandbox.credentials()
    clients = {"sole": client(server.url, creds[f"api_key:{ids[0]}"]),
               "firm": client(server.url, creds[f"api_key:{ids[1]}"]),
               "wholesaler": client(server.url, creds[f"api_key:{ids[2]}"]),
               "read_only": client(server.url, creds["read_only_api_key"]),
               "custom": client(server.url, creds["custom_api_key"]),
               "nobody": client(server.url, None)}
    yield clients
    for each in clients.values():
        each.close()


def generated(index: int):
    return demo_companies("accbooks", "small", SEED, Sandbox.company_names)[index]


def a_line(**changes) -> dict:
    line = {"description": "Consulting services — April", "quantity": 1, "unit_price": "2500.00",
            "vat_rate": "20", "nominal_code": "4000"}
    return {**line, **changes}


def new_invoice(http_client: httpx.Client, **changes) -> dict:
    payload = {"customer_id": "cust_3", "date": "2026-04-15", "due_date": "2026-05-15", "line_items": [a_line()],
               **changes}
    response = http_client.post("/v1/invoices", json=payload)
    assert response.status_code == 201, response.text
    return body(response)


def source_lines(http_client: httpx.Client, source_id: str, date: str) -> list[dict]:
    return [line for line in walk(http_client, "/v1/transactions", **{"from": date, "to": date})
            if line["source_id"] == source_id]


# --- the demo companies -------------------------------------------------------------------------------

def test_three_uk_companies_with_documented_plans(sandbox, http, ids):
    assert [c["name"] for c in sandbox.companies()] == list(Sandbox.company_names)
    kinds, plans = [], []
    for role in ("sole", "firm", "wholesaler"):
        company = body(http[role].get("/v1/company"))
        assert set(company) == {"id", "name", "legal_name", "business_type", "company_number", "vat_number",
                                "currency", "country", "financial_year_end", "plan", "address", "created_at"}
        kinds.append(company["business_type"])
        plans.append(company["plan"])
        assert company["currency"] == "GBP" and company["country"] == "GB"
    assert kinds == ["sole_trader", "llp", "limited_company"]
    assert plans == ["starter", "starter", "pro"]
    assert [body(http[r].get("/v1/company"))["id"] for r in ("sole", "firm", "wholesaler")] == ids


def test_credentials_are_deterministic_from_the_seed(sandbox, ids):
    again = build_sandbox("accbooks", SandboxOptions(size="tiny", seed=SEED))
    assert again.credentials() == sandbox.credentials()
    assert [c["id"] for c in again.companies()] == ids
    other = build_sandbox("accbooks", SandboxOptions(size="tiny", seed=SEED + 1))
    assert set(other.credentials().values()).isdisjoint(sandbox.credentials().values())
    assert set(sandbox.credentials()) == {"api_key", *(f"api_key:{cid}" for cid in ids), "read_only_api_key",
                                          "custom_api_key"}


# --- authentication, permissions, HTTPS ---------------------------------------------------------------

def test_missing_or_unknown_key_is_401(http, server):
    missing = http["nobody"].get("/v1/invoices")
    assert missing.status_code == 401
    assert body(missing) == {"error": "unauthorized", "message": "No API key was sent: use Authorization: Bearer <key>"}
    assert missing.headers["www-authenticate"].startswith("Bearer")
    with client(server.url, "acb_" + "0" * 40) as wrong:
        answer = wrong.get("/v1/invoices")
    assert answer.status_code == 401 and body(answer)["error"] == "unauthorized"
    assert body(answer)["message"] == "The API key is invalid or has been revoked"
    with client(server.url, None, Authorization="Basic dXNlcjpwYXNz") as basic:
        assert basic.get("/v1/company").status_code == 401


def test_revoked_key_stops_working(sandbox, server, ids):
    key = sandbox.create_api_key(ids[0], ["company:read"], name="Short-lived")
    with client(server.url, key) as http_client:
        assert http_client.get("/v1/company").status_code == 200
        assert sandbox.revoke_api_key(key)
        assert http_client.get("/v1/company").status_code == 401


def test_a_key_sees_only_its_own_company(http):
    # The sole trader has 8 customers, the firm 40: cust_20 exists only in the firm.
    assert http["firm"].get("/v1/contacts/cust_20").status_code == 200
    missing = http["sole"].get("/v1/contacts/cust_20")
    assert missing.status_code == 404
    assert body(missing) == {"error": "not_found", "message": "Contact cust_20 was not found"}


@pytest.mark.parametrize(("method", "path", "permission"), [
    ("POST", "/v1/invoices", "invoices:write"),
    ("PUT", "/v1/invoices/inv_1", "invoices:write"),
    ("DELETE", "/v1/invoices/inv_1", "invoices:write"),
    ("POST", "/v1/contacts", "contacts:write"),
    ("PUT", "/v1/contacts/cust_1", "contacts:write"),
    ("POST", "/v1/journals", "journals:write"),
])
def test_read_only_key_cannot_write(http, method, path, permission):
    answer = http["read_only"].request(method, path, json={"name": "x"})
    assert answer.status_code == 403
    assert body(answer) == {"error": "forbidden", "permission": permission,
                            "message": f"This API key does not have the {permission} permission"}


def test_read_only_key_reads_everything(http):
    for path in ("/v1/transactions", "/v1/invoices", "/v1/contacts", "/v1/journals", "/v1/bank_accounts",
                 "/v1/company", "/v1/reports/trial-balance"):
        assert http["read_only"].get(path).status_code == 200, path


def test_custom_key_has_exactly_its_permissions(http):
    custom = http["custom"]
    for path, permission in (("/v1/reports/profit-loss", "reports:read"), ("/v1/company", "company:read"),
                             ("/v1/bank_accounts", "bank_accounts:read"), ("/v1/journals", "journals:read")):
        answer = custom.get(path)
        assert answer.status_code == 403 and body(answer)["permission"] == permission
    assert custom.get("/v1/invoices").status_code == 200
    assert custom.get("/v1/transactions").status_code == 200
    assert body(custom.post("/v1/invoices", json={}))["permission"] == "invoices:write"
    created = custom.post("/v1/contacts", json={"name": "Wyvern Paper Mills"})
    assert created.status_code == 201


def test_plain_http_is_refused_unless_on_loopback():
    remote = build_sandbox("accbooks", SandboxOptions(size="tiny", seed=SEED, loopback=False, throttle=False))
    running = serve_in_thread(remote.stack.asgi)
    try:
        key = remote.credentials()["api_key"]
        with client(running.url, key) as plain:
            refused = plain.get("/v1/company")
            assert refused.status_code == 403
            assert body(refused) == {"error": "https_required", "message": "HTTPS is required"}
            assert all(name in refused.headers for name in LIMIT_HEADERS)
        with client(running.url, None) as anonymous:
            assert anonymous.get("/v1/company").status_code == 403  # HTTPS is checked before the key
        with client(running.url, key, **{"X-Forwarded-Proto": "https"}) as proxied:
            assert proxied.get("/v1/company").status_code == 200
    finally:
        running.stop()


def test_unknown_paths_and_methods(http):
    missing = http["firm"].get("/v1/payments")
    assert missing.status_code == 404 and body(missing)["error"] == "not_found"
    for method, path in (("POST", "/v1/bank_accounts"), ("DELETE", "/v1/contacts/cust_1"),
                         ("POST", "/v1/transactions"), ("PUT", "/v1/journals/jnl_1")):
        answer = http["firm"].request(method, path, json={})
        assert answer.status_code == 405, (method, path)
        assert body(answer)["error"] == "method_not_allowed"
        assert "GET" in answer.headers["allow"]
    assert http["firm"].get("/v1/reports/cash-flow").status_code == 404


# --- rate limits ----------------------------------------------------------------------------------

def test_rate_limit_headers_on_every_response(http):
    answers = [http["firm"].get("/v1/company"), http["firm"].get("/v1/nowhere"),
               http["firm"].post("/v1/contacts", json={}), http["nobody"].get("/v1/company"),
               http["read_only"].post("/v1/journals", json={})]
    assert [a.status_code for a in answers] == [200, 404, 422, 401, 403]
    for answer in answers:
        assert all(name in answer.headers for name in LIMIT_HEADERS), answer.request.url
    first, second = answers[0], answers[1]
    assert first.headers["x-ratelimit-limit"] == "60"
    assert int(second.headers["x-ratelimit-remaining"]) == int(first.headers["x-ratelimit-remaining"]) - 1 or \
        int(second.headers["x-ratelimit-reset"]) > int(first.headers["x-ratelimit-reset"])  # a new minute began
    reset = int(first.headers["x-ratelimit-reset"])
    assert reset % 60 == 0 and time.time() < reset <= time.time() + 61
    assert http["wholesaler"].get("/v1/company").headers["x-ratelimit-limit"] == "300"  # Pro, as documented


@pytest.fixture(scope="module")
def throttled():
    sandbox = build_sandbox("accbooks", SandboxOptions(size="tiny", seed=SEED, throttle=True))
    now = [1_800_000_010.0]  # ten seconds into a minute
    sandbox.clock = lambda: now[0]
    running = serve_in_thread(sandbox.stack.asgi)
    yield sandbox, running, now
    running.stop()


def test_starter_plan_allows_60_a_minute_then_429(throttled):
    sandbox, running, now = throttled
    with client(running.url, sandbox.credentials()["api_key"]) as starter:
        remaining = [int(starter.get("/v1/company").headers["x-ratelimit-remaining"]) for _ in range(60)]
        assert remaining == list(range(59, -1, -1))
        refused = starter.get("/v1/company")
        assert refused.status_code == 429
        assert body(refused)["error"] == "rate_limit_exceeded"
        assert refused.headers["retry-after"] == "50"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert refused.headers["x-ratelimit-reset"] == "1800000060"
        with client(running.url, sandbox.credentials()["read_only_api_key"]) as other_key:
            assert other_key.get("/v1/company").status_code == 200  # counters are per key
        now[0] = 1_800_000_060.0
        fresh = starter.get("/v1/company")
        assert fresh.status_code == 200 and fresh.headers["x-ratelimit-remaining"] == "59"


def test_day_limit_and_plan_override():
    sandbox = build_sandbox("accbooks", SandboxOptions(
        size="tiny", seed=SEED, extra={"rate_limits": {"starter": {"per_minute": 3, "per_day": 5}}}))
    day_end = 1_800_057_600  # a UTC midnight
    now = [day_end - 3600.0]
    sandbox.clock = lambda: now[0]
    running = serve_in_thread(sandbox.stack.asgi)
    try:
        with client(running.url, sandbox.credentials()["api_key"]) as starter:
            assert [starter.get("/v1/company").status_code for _ in range(4)] == [200, 200, 200, 429]
            now[0] += 60
            second = [starter.get("/v1/company") for _ in range(3)]
            assert [a.status_code for a in second] == [200, 200, 429]
            assert second[1].headers["x-ratelimit-remaining"] == "0"
            assert second[1].headers["x-ratelimit-reset"] == str(day_end)  # the day is what runs out
            assert second[2].headers["retry-after"] == "3540"
            now[0] += 60
            assert starter.get("/v1/company").status_code == 429
            now[0] = day_end + 1
            assert starter.get("/v1/company").status_code == 200
    finally:
        running.stop()


def test_no_429_when_throttling_is_off():
    sandbox = build_sandbox("accbooks", SandboxOptions(
        size="tiny", seed=SEED, throttle=False, extra={"rate_limits": {"starter": {"per_minute": 2}}}))
    running = serve_in_thread(sandbox.stack.asgi)
    try:
        with client(running.url, sandbox.credentials()["api_key"]) as starter:
            answers = [starter.get("/v1/company") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert answers[-1].headers["x-ratelimit-remaining"] == "0"
    finally:
        running.stop()


# --- paging -----------------------------------------------------------------------------------------

def test_paging_edges(http):
    wholesaler = http["wholesaler"]  # nothing writes to it: 40 customers
    first = body(wholesaler.get("/v1/contacts"))
    assert set(first) == {"data", "meta"} and set(first["meta"]) == {"current_page", "total_pages", "total_records"}
    assert first["meta"] == {"current_page": 1, "total_pages": 2, "total_records": 40}
    assert len(first["data"]) == 25  # the default per_page
    last = body(wholesaler.get("/v1/contacts", params={"page": 2}))
    assert len(last["data"]) == 15 and last["meta"]["current_page"] == 2
    assert {c["id"] for c in first["data"]}.isdisjoint(c["id"] for c in last["data"])
    one = body(wholesaler.get("/v1/contacts", params={"per_page": 100}))
    assert one["meta"] == {"current_page": 1, "total_pages": 1, "total_records": 40} and len(one["data"]) == 40
    past = body(wholesaler.get("/v1/contacts", params={"page": 3}))
    assert past == {"data": [], "meta": {"current_page": 3, "total_pages": 2, "total_records": 40}}
    big = body(wholesaler.get("/v1/transactions", params={"per_page": 1000}))
    assert len(big["data"]) == 100  # per_page is capped at 100
    assert big["meta"]["total_pages"] == -(-big["meta"]["total_records"] // 100)
    empty = body(wholesaler.get("/v1/transactions", params={"from": "2001-01-01", "to": "2001-12-31"}))
    assert empty == {"data": [], "meta": {"current_page": 1, "total_pages": 0, "total_records": 0}}
    bad = wholesaler.get("/v1/invoices", params={"page": 0, "per_page": "ten"})
    assert bad.status_code == 422
    assert [e["field"] for e in body(bad)["errors"]] == ["page", "per_page"]


def test_documented_pagination_example(http):
    answer = body(http["wholesaler"].get("/v1/transactions", params={"page": 2, "per_page": 100}))
    assert answer["meta"]["current_page"] == 2 and len(answer["data"]) == 100


def test_a_full_walk_sees_every_record_once(http):
    lines = walk(http["wholesaler"], "/v1/transactions")
    ids = [line["id"] for line in lines]
    assert len(ids) == len(set(ids)) == body(http["wholesaler"].get("/v1/transactions"))["meta"]["total_records"]
    keys = [(line["date"]) for line in lines]
    assert keys == sorted(keys)


# --- transactions -----------------------------------------------------------------------------------

def test_transactions_filters(http):
    wholesaler = http["wholesaler"]
    quarter = walk(wholesaler, "/v1/transactions", **{"from": "2026-01-01", "to": "2026-03-31"})
    assert quarter and all("2026-01-01" <= line["date"] <= "2026-03-31" for line in quarter)
    edge = walk(wholesaler, "/v1/transactions", **{"from": quarter[0]["date"], "to": quarter[0]["date"]})
    assert quarter[0]["id"] in {line["id"] for line in edge}  # both ends are inclusive
    bank = walk(wholesaler, "/v1/transactions", **{"from": "2026-01-01", "to": "2026-03-31", "account_id": "1200"})
    assert bank and {line["account_id"] for line in bank} == {"1200"}
    assert [line["id"] for line in bank] == [line["id"] for line in quarter if line["account_id"] == "1200"]
    line = bank[0]
    assert set(line) == {"id", "date", "account_id", "account_name", "description", "reference", "debit", "credit",
                         "source_type", "source_id"}
    assert body(wholesaler.get(f"/v1/transactions/{line['id']}")) == line
    assert wholesaler.get("/v1/transactions/txn_nope").status_code == 404
    bad = wholesaler.get("/v1/transactions", params={"from": "2026-02-30", "to": "2025-01-01"})
    assert bad.status_code == 422 and [e["field"] for e in body(bad)["errors"]] == ["from"]
    backwards = wholesaler.get("/v1/transactions", params={"from": "2026-02-01", "to": "2026-01-01"})
    assert [e["field"] for e in body(backwards)["errors"]] == ["to"]


def test_documented_transactions_example(http):
    answer = http["wholesaler"].get("/v1/transactions?from=2026-01-01&to=2026-03-31&account_id=1001")
    assert answer.status_code == 200  # the demo chart has no 1001: nothing to list
    assert body(answer) == {"data": [], "meta": {"current_page": 1, "total_pages": 0, "total_records": 0}}


# --- invoices ---------------------------------------------------------------------------------------

def test_create_the_documented_invoice(http):
    firm = http["firm"]
    before = body(firm.get("/v1/reports/profit-loss", params={"from": "2026-04-15", "to": "2026-04-15"}))
    documented = dumps({  # the document's example, with a customer the demo company has
        "customer_id": "cust_3", "date": "2026-04-15", "due_date": "2026-05-15",
        "line_items": [{"description": "Consulting services — April", "quantity": 1, "unit_price": Decimal("2500.00"),
                        "vat_rate": "20", "nominal_code": "4000"}]})
    assert '"unit_price":2500.00' in documented
    response = firm.post("/v1/invoices", content=documented, headers={"Content-Type": "application/json"})
    assert response.status_code == 201
    invoice = body(response)
    assert response.headers["location"] == f"/v1/invoices/{invoice['id']}"
    assert invoice["id"].startswith("inv_") and invoice["number"].startswith("INV-")
    assert invoice["status"] == "sent" and invoice["customer_id"] == "cust_3"
    assert invoice["line_items"] == [{"description": "Consulting services — April", "quantity": 1,
                                      "unit_price": Decimal("2500.00"), "discount_percent": 0, "vat_rate": "20",
                                      "nominal_code": "4000", "net": Decimal("2500.00"), "vat": Decimal("500.00"),
                                      "total": Decimal("3000.00")}]
    assert invoice["totals"] == {"net": Decimal("2500.00"), "vat": Decimal("500.00"), "total": Decimal("3000.00"),
                                 "amount_paid": Decimal("0.00"), "amount_due": Decimal("3000.00")}
    assert '"total":3000.00' in response.text  # money is a JSON number with its pennies
    assert body(firm.get(response.headers["location"])) == invoice
    posted = {line["account_id"]: (line["debit"], line["credit"])
              for line in source_lines(firm, invoice["id"], "2026-04-15")}
    assert posted == {"1100": (Decimal("3000.00"), 0), "4000": (0, Decimal("2500.00")),
                      "2200": (0, Decimal("500.00"))}
    after = body(firm.get("/v1/reports/profit-loss", params={"from": "2026-04-15", "to": "2026-04-15"}))
    assert after["income"]["total"] - before["income"]["total"] == Decimal("2500.00")


def test_vat_is_rounded_half_up_per_line(http):
    invoice = new_invoice(http["firm"], line_items=[
        a_line(unit_price="0.125"), a_line(unit_price="0.125"), a_line(unit_price="0.125"),
        a_line(quantity=3, unit_price="2.225", vat_rate=20), a_line(unit_price="10", vat_rate="exempt"),
        a_line(quantity="0.5", unit_price="9.99", vat_rate="5", discount_percent=10)])
    nets = [line["net"] for line in invoice["line_items"]]
    vats = [line["vat"] for line in invoice["line_items"]]
    assert nets == [Decimal("0.13")] * 3 + [Decimal("6.68"), Decimal("10.00"), Decimal("4.50")]
    assert vats == [Decimal("0.03")] * 3 + [Decimal("1.34"), Decimal("0.00"), Decimal("0.23")]
    assert [line["vat_rate"] for line in invoice["line_items"]][3:] == ["20", "exempt", "5"]
    assert invoice["totals"]["net"] == sum(nets) and invoice["totals"]["vat"] == sum(vats) == Decimal("1.66")
    # Rounded on the invoice's total instead, the VAT would be 20% of 0.39 = 0.08, not 0.09, on the first three.


def test_invoice_validation_names_every_field(http):
    answer = http["firm"].post("/v1/invoices", json={"date": "2026-02-30", "colour": "red", "line_items": [
        {"description": "", "quantity": "lots", "unit_price": True, "vat_rate": "17.5", "nominal_code": "6100"}]})
    assert answer.status_code == 422
    problem = body(answer)
    assert problem["error"] == "validation_failed" and problem["message"].startswith("Validation failed: ")
    assert {e["field"] for e in problem["errors"]} == {
        "colour", "customer_id", "date", "line_items[0].description", "line_items[0].quantity",
        "line_items[0].unit_price", "line_items[0].vat_rate", "line_items[0].nominal_code"}
    assert all(set(e) == {"field", "message"} for e in problem["errors"])
    cases = [({"customer_id": "cust_999"}, "customer_id"), ({"due_date": "2026-04-01"}, "due_date"),
             ({"line_items": []}, "line_items"), ({"currency": "EUR"}, "currency"), ({"status": "paid"}, "status")]
    for change, field in cases:
        payload = {"customer_id": "cust_3", "date": "2026-04-15", "line_items": [a_line()], **change}
        answer = http["firm"].post("/v1/invoices", json=payload)
        assert answer.status_code == 422 and [e["field"] for e in body(answer)["errors"]] == [field], change
    supplier = body(http["firm"].post("/v1/contacts", json={"name": "Pennine Timber", "type": "supplier"}))
    answer = http["firm"].post("/v1/invoices", json={"customer_id": supplier["id"], "date": "2026-04-15",
                                                     "line_items": [a_line()]})
    assert body(answer)["errors"] == [{"field": "customer_id", "message": f"{supplier['id']} is a supplier, not a customer"}]


def test_malformed_body_is_400(http):
    for raw in (b"{not json", b"[1, 2]", b""):
        answer = http["firm"].post("/v1/invoices", content=raw, headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and body(answer)["error"] == "invalid_json"


def test_due_date_defaults_to_thirty_days(http):
    invoice = new_invoice(http["firm"], due_date=None)
    assert invoice["due_date"] == "2026-05-15"


def test_update_invoice_reposts_its_ledger_lines(http):
    firm = http["firm"]
    invoice = new_invoice(firm)
    changed = firm.put(f"/v1/invoices/{invoice['id']}", json={"line_items": [
        a_line(quantity=2, unit_price="100", nominal_code="4010"), a_line(unit_price="50", vat_rate="0")]})
    assert changed.status_code == 200
    updated = body(changed)
    assert updated["number"] == invoice["number"] and updated["created_at"] == invoice["created_at"]
    assert updated["totals"]["total"] == Decimal("290.00")
    posted = {line["account_id"]: line["debit"] - line["credit"]
              for line in source_lines(firm, invoice["id"], "2026-04-15")}
    assert posted == {"1100": Decimal("290.00"), "4000": Decimal("-50.00"), "4010": Decimal("-200.00"),
                      "2200": Decimal("-40.00")}
    echoed = firm.put(f"/v1/invoices/{invoice['id']}", content=dumps(updated))  # what was read may go back
    assert echoed.status_code == 200 and body(echoed)["totals"] == updated["totals"]
    assert body(firm.put(f"/v1/invoices/{invoice['id']}", json={"reference": "PO 4471"}))["reference"] == "PO 4471"
    assert firm.put("/v1/invoices/inv_99999", json={}).status_code == 404


def test_draft_invoices_are_posted_only_when_sent(http):
    firm = http["firm"]
    draft = new_invoice(firm, status="draft", date="2026-06-02", due_date="2026-07-02")
    assert draft["status"] == "draft" and source_lines(firm, draft["id"], "2026-06-02") == []
    sent = body(firm.put(f"/v1/invoices/{draft['id']}", json={"status": "sent"}))
    assert sent["status"] == "sent" and len(source_lines(firm, draft["id"], "2026-06-02")) == 3
    firm.put(f"/v1/invoices/{draft['id']}", json={"status": "draft"})
    assert source_lines(firm, draft["id"], "2026-06-02") == []


def test_invoices_with_payments_or_void_are_locked(http):
    firm = http["firm"]
    invoices = walk(firm, "/v1/invoices")
    paid = next(i for i in invoices if i["status"] == "paid")
    part_paid = next(i for i in invoices if i["status"] == "sent" and i["totals"]["amount_paid"] > 0)
    void = next(i for i in invoices if i["status"] == "void")
    for invoice in (paid, part_paid):
        for method in ("PUT", "DELETE"):
            answer = firm.request(method, f"/v1/invoices/{invoice['id']}", json={"reference": "x"})
            assert answer.status_code == 409
            assert body(answer) == {"error": "conflict", "message": f"Invoice {invoice['number']} has payments "
                                    f"against it and cannot be {'changed' if method == 'PUT' else 'deleted'}"}
    assert firm.put(f"/v1/invoices/{void['id']}", json={}).status_code == 409


def test_delete_invoice(http):
    firm = http["firm"]
    invoice = new_invoice(firm, date="2026-07-07", due_date="2026-08-07")
    assert len(source_lines(firm, invoice["id"], "2026-07-07")) == 3
    gone = firm.delete(f"/v1/invoices/{invoice['id']}")
    assert gone.status_code == 204 and gone.content == b""
    assert firm.get(f"/v1/invoices/{invoice['id']}").status_code == 404
    assert source_lines(firm, invoice["id"], "2026-07-07") == []
    assert firm.delete(f"/v1/invoices/{invoice['id']}").status_code == 404
    assert new_invoice(firm)["id"] != invoice["id"]  # ids are never reused


# --- contacts ---------------------------------------------------------------------------------------

def test_contacts_create_get_update(http):
    firm = http["firm"]
    created = firm.post("/v1/contacts", json={
        "name": "Hebden Loom Works Ltd", "email": "accounts@hebdenloom.example",
        "address": {"line1": "3 Mill Lane", "town": "Hebden Bridge", "postcode": "HX7 8AD", "country": "gb"}})
    assert created.status_code == 201
    contact = body(created)
    assert created.headers["location"] == f"/v1/contacts/{contact['id']}"
    assert contact["id"].startswith("cust_") and contact["type"] == "customer" and contact["currency"] == "GBP"
    assert contact["address"] == {"line1": "3 Mill Lane", "line2": None, "town": "Hebden Bridge", "county": None,
                                  "postcode": "HX7 8AD", "country": "GB"}
    assert contact["phone"] is None and contact["archived"] is False
    assert body(firm.get(f"/v1/contacts/{contact['id']}")) == contact
    updated = body(firm.put(f"/v1/contacts/{contact['id']}", json={"phone": "01422 845000"}))
    assert updated["phone"] == "01422 845000" and updated["email"] == contact["email"]
    assert updated["created_at"] == contact["created_at"]
    retyped = firm.put(f"/v1/contacts/{contact['id']}", json={"type": "supplier"})
    assert [e["field"] for e in body(retyped)["errors"]] == ["type"]
    bad = firm.post("/v1/contacts", json={"email": "not-an-address", "address": {"country": "GBR"}, "archived": "no"})
    assert {e["field"] for e in body(bad)["errors"]} == {"name", "email", "address.country", "archived"}
    supplier = body(firm.post("/v1/contacts", json={"name": "Calderdale Stationers", "type": "supplier"}))
    assert supplier["id"].startswith("supp_")
    assert walk(firm, "/v1/contacts")[-2:] == [updated, supplier]  # creation order; an edit keeps its place


# --- journals, bank accounts ------------------------------------------------------------------------

def test_journals(http):
    firm = http["firm"]
    opening = body(firm.get("/v1/journals/jnl_1"))
    assert opening["description"] == "Opening balance" and opening["total"] == Decimal("25000.00")
    assert set(opening) == {"id", "date", "reference", "description", "lines", "total", "created_at"}
    accounts_before = {a["nominal_code"]: a["balance"] for a in body(firm.get("/v1/bank_accounts"))["data"]}
    created = firm.post("/v1/journals", json={"date": "2026-05-31", "reference": "TFR-05", "description": "Sweep",
                                              "lines": [{"nominal_code": "1210", "debit": "1500.00"},
                                                        {"nominal_code": "1200", "credit": 1500}]})
    assert created.status_code == 201
    journal = body(created)
    assert journal["id"] == "jnl_2" and journal["total"] == Decimal("1500.00")
    assert [(line["nominal_code"], line["debit"], line["credit"]) for line in journal["lines"]] == [
        ("1210", Decimal("1500.00"), 0), ("1200", 0, Decimal("1500.00"))]
    assert len(source_lines(firm, "jnl_2", "2026-05-31")) == 2
    accounts_after = {a["nominal_code"]: a["balance"] for a in body(firm.get("/v1/bank_accounts"))["data"]}
    assert accounts_after["1210"] - accounts_before["1210"] == Decimal("1500.00")
    assert accounts_after["1200"] - accounts_before["1200"] == Decimal("-1500.00")
    unbalanced = firm.post("/v1/journals", json={"date": "2026-05-31", "lines": [
        {"nominal_code": "6100", "debit": 100}, {"nominal_code": "1200", "credit": "90.00"}]})
    assert unbalanced.status_code == 422
    assert body(unbalanced)["errors"] == [{"field": "lines",
                                           "message": "must balance: debits total 100.00, credits total 90.00"}]
    odd = firm.post("/v1/journals", json={"lines": [{"nominal_code": "9999", "debit": 1, "credit": 1},
                                                    {"nominal_code": "1200", "credit": "0.001"}]})
    assert {e["field"] for e in body(odd)["errors"]} == {"date", "lines[0].nominal_code", "lines[0]",
                                                         "lines[1].credit"}
    assert [j["id"] for j in walk(firm, "/v1/journals")][:2] == ["jnl_1", "jnl_2"]


def test_bank_accounts_carry_the_ledger_balance(http):
    wholesaler = http["wholesaler"]
    accounts = body(wholesaler.get("/v1/bank_accounts"))
    assert accounts["meta"] == {"current_page": 1, "total_pages": 1, "total_records": 2}
    for account in accounts["data"]:
        assert set(account) == {"id", "name", "type", "nominal_code", "account_number", "sort_code", "iban",
                                "currency", "balance"}
        lines = walk(wholesaler, "/v1/transactions", account_id=account["nominal_code"])
        assert account["balance"] == sum((line["debit"] - line["credit"] for line in lines), Decimal(0))
        assert body(wholesaler.get(f"/v1/bank_accounts/{account['id']}")) == account
    current = accounts["data"][0]
    bank = next(b for b in generated(2).bank_accounts() if b.account_code == current["nominal_code"])
    assert (current["account_number"], current["sort_code"], current["balance"]) == (
        bank.account_number, bank.sort_code, bank.balance)
    assert wholesaler.get("/v1/bank_accounts/ba_9").status_code == 404


# --- the demo data balances ---------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["sole", "firm", "wholesaler"])
def test_ledger_balances_and_reports_agree(http, role):
    http_client = http[role]
    lines = walk(http_client, "/v1/transactions")
    assert sum(line["debit"] for line in lines) == sum(line["credit"] for line in lines)
    by_source = defaultdict(Decimal)
    for line in lines:
        by_source[line["source_id"]] += line["debit"] - line["credit"]
    assert set(by_source.values()) == {Decimal(0)}  # every posting balances on its own

    def net(lo: str, hi: str, kinds: set[str]) -> dict[str, Decimal]:
        found = defaultdict(Decimal)
        for line in lines:
            if lo <= line["date"] <= hi and KIND[line["account_id"]] in kinds:
                found[line["account_id"]] += line["debit"] - line["credit"]
        return found

    everything = body(http_client.get("/v1/reports/trial-balance", params={"from": "2000-01-01", "to": "2100-01-01"}))
    assert everything["totals"]["debit"] == everything["totals"]["credit"]
    assert {row["account_id"]: row["debit"] - row["credit"] for row in everything["accounts"]} == {
        code: amount for code, amount in net("", "9", set(KIND.values())).items() if amount}

    year = {"from": "2025-04-01", "to": "2026-03-31", "format": "json"}
    pnl = body(http_client.get("/v1/reports/profit-loss", params=year))
    income = -sum(net(year["from"], year["to"], {"revenue"}).values())
    costs = sum(net(year["from"], year["to"], {"expense"}).values())
    assert pnl["income"]["total"] == income and pnl["net_profit"] == income - costs
    assert pnl["gross_profit"] == income - pnl["cost_of_sales"]["total"]

    balance = body(http_client.get("/v1/reports/balance-sheet", params={"to": year["to"]}))
    company = body(http_client.get("/v1/company"))
    expected_from = "2025-04-01" if company["financial_year_end"] == "03-31" else "2026-01-01"
    assert balance["from"] == expected_from
    assert balance["assets"]["total"] == sum(net("", year["to"], {"asset"}).values())
    assert balance["assets"]["total"] == balance["total_liabilities_and_equity"]
    assert balance["net_assets"] == balance["equity"]["total"]
    same_period = body(http_client.get("/v1/reports/profit-loss", params={"from": expected_from, "to": year["to"]}))
    assert balance["equity"]["current_year_profit"] == same_period["net_profit"]
    trial = body(http_client.get("/v1/reports/trial-balance", params={"to": year["to"]}))
    assert trial["totals"]["debit"] == trial["totals"]["credit"] and trial["from"] == expected_from


@pytest.mark.parametrize("index", [0, 2])
def test_untouched_companies_match_the_generator(http, index):
    http_client = http[("sole", "firm", "wholesaler")[index]]
    company = generated(index)
    expected = defaultdict(Decimal)
    for line in company.ledger_lines():
        expected[line.account_code] += line.amount
    found = defaultdict(Decimal)
    for line in walk(http_client, "/v1/transactions"):
        found[line["account_id"]] += line["debit"] - line["credit"]
    assert found == expected
    invoices = {invoice["number"]: invoice for invoice in walk(http_client, "/v1/invoices")}
    status = {DocumentStatus.DRAFT: "draft", DocumentStatus.APPROVED: "sent", DocumentStatus.PAID: "paid",
              DocumentStatus.VOID: "void"}
    for source in company.invoices():
        invoice = invoices.pop(source.number)
        totals = source.totals()
        assert (invoice["totals"]["net"], invoice["totals"]["vat"], invoice["totals"]["total"],
                invoice["totals"]["amount_paid"], invoice["totals"]["amount_due"]) == (
            totals.net, totals.vat, totals.gross, source.amount_paid, totals.amount_due)
        assert invoice["status"] == status[source.status]
        assert invoice["customer_id"] == f"cust_{source.customer_remote_id}"
    assert invoices == {}


@pytest.mark.parametrize("role", ["sole", "firm", "wholesaler"])
def test_invoice_totals_are_the_sum_of_their_lines(http, role):
    rates = {"20": Decimal(20), "5": Decimal(5), "0": Decimal(0), "exempt": Decimal(0)}
    for invoice in walk(http[role], "/v1/invoices"):
        for line in invoice["line_items"]:
            quantity, price, discount = (Decimal(line[k]) for k in ("quantity", "unit_price", "discount_percent"))
            net = half_up(quantity * price * (100 - discount) / 100)
            assert (line["net"], line["vat"], line["total"]) == (net, half_up(net * rates[line["vat_rate"]] / 100),
                                                                 line["net"] + line["vat"])
        totals = invoice["totals"]
        assert totals["net"] == sum(line["net"] for line in invoice["line_items"])
        assert totals["vat"] == sum(line["vat"] for line in invoice["line_items"])
        assert totals["total"] == totals["net"] + totals["vat"]
        due = 0 if invoice["status"] == "void" else totals["total"] - totals["amount_paid"]
        assert totals["amount_due"] == due


def test_report_parameters(http):
    firm = http["firm"]
    assert firm.get("/v1/reports/trial-balance", params={"format": "pdf"}).status_code == 422
    backwards = firm.get("/v1/reports/profit-loss", params={"from": "2026-04-01", "to": "2026-03-01"})
    assert [e["field"] for e in body(backwards)["errors"]] == ["to"]
    documented = firm.get("/v1/reports/profit-loss?from=2026-04-01&to=2027-03-31&format=json")
    assert documented.status_code == 200
    report = body(documented)
    assert set(report) == {"company_id", "report", "from", "to", "currency", "income", "cost_of_sales",
                           "gross_profit", "expenses", "net_profit"}
    today = body(firm.get("/v1/reports/balance-sheet"))
    assert today["as_at"] == dt.datetime.now(dt.UTC).date().isoformat()


# --- restart -------------------------------------------------------------------------------------------

def test_restart_with_a_data_file_keeps_everything(tmp_path):
    options = SandboxOptions(size="tiny", seed=SEED, data=str(tmp_path / "accbooks.sqlite"), throttle=False)
    first = build_sandbox("accbooks", options)
    extra_key = first.create_api_key(first.companies()[0]["id"], ["invoices:read"], name="Kept")
    running = serve_in_thread(first.stack.asgi)
    with client(running.url, first.credentials()["api_key"]) as http_client:
        invoice = new_invoice(http_client)
        contact = body(http_client.post("/v1/contacts", json={"name": "Kennet Valley Bindery"}))
        journal = body(http_client.post("/v1/journals", json={"date": "2026-04-15", "lines": [
            {"nominal_code": "6400", "debit": "12.50"}, {"nominal_code": "1200", "credit": "12.50"}]}))
        trial = body(http_client.get("/v1/reports/trial-balance", params={"to": "2026-12-31"}))
    running.stop()
    credentials, companies = first.credentials(), first.companies()
    first.store.close()

    second = build_sandbox("accbooks", options)
    assert second.credentials() == credentials and second.companies() == companies
    running = serve_in_thread(second.stack.asgi)
    try:
        with client(running.url, second.credentials()["api_key"]) as http_client:
            assert body(http_client.get(f"/v1/invoices/{invoice['id']}")) == invoice
            assert body(http_client.get(f"/v1/contacts/{contact['id']}")) == contact
            assert body(http_client.get(f"/v1/journals/{journal['id']}")) == journal
            assert body(http_client.get("/v1/reports/trial-balance", params={"to": "2026-12-31"})) == trial
            assert len(source_lines(http_client, invoice["id"], invoice["date"])) == 3
            again = new_invoice(http_client)
            assert again["id"] != invoice["id"] and again["number"] > invoice["number"]
        with client(running.url, extra_key) as kept:
            assert kept.get("/v1/invoices").status_code == 200
    finally:
        running.stop()


# --- generic faults, switched at run time ---------------------------------------------------------------

def test_fault_error_rate(sandbox, http):
    sandbox.stack.faults.settings.update(error_rate=1.0)
    answer = http["firm"].get("/v1/company")
    assert answer.status_code in (500, 502, 503) and answer.headers["content-type"].startswith("text/html")
    sandbox.stack.faults.settings.update(error_rate=0.0)
    assert http["firm"].get("/v1/company").status_code == 200


def test_fault_drop_before_does_nothing(sandbox, http):
    before = body(http["firm"].get("/v1/contacts"))["meta"]["total_records"]
    sandbox.stack.faults.settings.update(drop_before_rate=1.0)
    with pytest.raises(httpx.TransportError):
        http["firm"].post("/v1/contacts", json={"name": "Never Arrives Ltd"})
    sandbox.stack.faults.settings.update(drop_before_rate=0.0)
    assert body(http["firm"].get("/v1/contacts"))["meta"]["total_records"] == before


def test_fault_drop_after_commits_the_write(sandbox, http):
    sandbox.stack.faults.settings.update(drop_after_rate=1.0)
    with pytest.raises(httpx.TransportError):
        http["firm"].post("/v1/contacts", json={"name": "Arrived Unannounced Ltd"})
    sandbox.stack.faults.settings.update(drop_after_rate=0.0)
    assert "Arrived Unannounced Ltd" in {c["name"] for c in walk(http["firm"], "/v1/contacts")}


def test_fault_throttle(sandbox, http):
    sandbox.stack.faults.settings.update(throttle_rate=1.0)
    answer = http["firm"].get("/v1/company")
    assert answer.status_code == 429 and answer.headers["retry-after"] == "1"
    sandbox.stack.faults.settings.update(throttle_rate=0.0)
    assert http["firm"].get("/v1/company").status_code == 200


def test_fault_truncate(sandbox, http):
    sandbox.stack.faults.settings.update(truncate_rate=1.0)
    answer = http["firm"].get("/v1/invoices")
    assert int(answer.headers["content-length"]) == len(answer.content)
    with pytest.raises(JSONDecodeError):
        loads(answer.content)
    sandbox.stack.faults.settings.update(truncate_rate=0.0)
    assert body(http["firm"].get("/v1/invoices"))["meta"]["total_records"] > 0


def test_fault_latency(sandbox, http):
    def elapsed() -> float:
        started = time.perf_counter()
        for _ in range(6):
            http["firm"].get("/v1/company")
        return time.perf_counter() - started

    quick = elapsed()
    sandbox.stack.faults.reseed(11)
    sandbox.stack.faults.settings.update(latency_ms=400)
    slow = elapsed()
    sandbox.stack.faults.settings.update(latency_ms=0)
    assert slow - quick > 0.4  # six waits of up to 0.4 s each: about 1.2 s more
    assert elapsed() < slow


# --- the hand-written encoders write what decimal_json would ---------------------------------------------

def test_fast_encoders_match_decimal_json(sandbox, http):
    for invoice in body(http["sole"].get("/v1/invoices", params={"per_page": 100}))["data"]:
        assert invoice_json(invoice) == dumps(invoice)
    for line in body(http["sole"].get("/v1/transactions", params={"per_page": 100}))["data"]:
        assert ledger_line_json(line) == dumps(line)
    tricky = build_invoice("inv_1", "INV-000001", "cust_1", "2026-01-01", "2026-01-31", None, "GBP", "void",
                           [build_line('Zoë\'s "quoted" \\ line\n', Decimal("0.5"), Decimal("1E+1"), Decimal(0),
                                       "exempt", "4000")], Decimal("0.00"), "2026-01-01T00:00:00Z",
                           "2026-01-01T00:00:00Z")
    assert invoice_json(tricky) == dumps(tricky)
    line = ledger_line("txn_x_1", "2026-01-01", "1200", "Bank", "Ciarán — \u2028", None, Decimal("-12.5"),
                       "journal", "jnl_9")
    assert ledger_line_json(line) == dumps(line) and line["credit"] == Decimal("12.50")
