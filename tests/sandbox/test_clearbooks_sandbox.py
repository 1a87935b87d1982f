"""The Clear Books sandbox, driven as a client drives the service: plain HTTP over loopback.

Expected values are worked out here from the generator and from first principles (line-by-line VAT,
half up), never copied from the sandbox's own code.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.domain.documents import DocumentStatus
from providers.decimal_json import JSONDecodeError, loads
from providers.sandbox.base import SandboxOptions, demo_companies
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread

REDIRECT = "http://127.0.0.1:53682/callback"
SEED = 7
CENT = Decimal("0.01")
RATES = {"standard": Decimal(20), "reduced": Decimal(5), "zero": Decimal(0), "exempt": Decimal(0)}
INVOICE_KEYS = ["id", "documentNumber", "formattedDocumentNumber", "date", "dateAccrual", "datePaid", "reference",
                "currency", "exchangeRate", "description", "status", "gross", "net", "vat", "vatTreatment",
                "lineItems", "customerId", "dateDue", "due", "displayBankAccountId", "internetPaymentAccountIds"]
LINE_KEYS = ["description", "unitPrice", "quantity", "accountCode", "vatRateKey", "vatAmount", "stockItem"]
CONTACT_KEYS = ["id", "name", "contactName", "email", "phone", "address", "vatNumber", "companyNumber", "archived"]
ADDRESS_KEYS = ["building", "line1", "line2", "town", "county", "postcode", "countryCode"]
PAGING = ("x-pagination-limit", "x-pagination-current-page", "x-pagination-total-pages", "x-pagination-total-count")


# --- helpers (the OAuth and performance tests use them too) ----------------------------------------------------

def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def redirect_query(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def sign_in(http: httpx.Client, creds: dict[str, str], scope: str | None = None) -> dict:
    """The whole authorization-code flow with PKCE S256, as a native app does it."""
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": creds["client_id"], "redirect_uri": REDIRECT, "state": "st-1",
              "code_challenge": challenge, "code_challenge_method": "S256"}
    if scope:
        params["scope"] = scope
    query = redirect_query(http.get(creds["authorize_path"], params=params))
    assert query["state"] == "st-1"
    answer = http.post(creds["token_path"], data={
        "grant_type": "authorization_code", "code": query["code"], "redirect_uri": REDIRECT,
        "code_verifier": verifier, "client_id": creds["client_id"], "client_secret": creds["client_secret"]})
    assert answer.status_code == 200, answer.text
    return answer.json()


def body(response: httpx.Response):
    return loads(response.content)


def errors(response: httpx.Response) -> list[tuple[str, str]]:
    """The documented error shape: a JSON array of {"errorCode", "errorMessage"}."""
    found = body(response)
    assert isinstance(found, list) and found, response.text
    for item in found:
        assert sorted(item) == ["errorCode", "errorMessage"]
        assert isinstance(item["errorCode"], str) and isinstance(item["errorMessage"], str)
    return [(item["errorCode"], item["errorMessage"]) for item in found]


class Api:
    def __init__(self, http: httpx.Client, token: str, business: int | None):
        self.http, self.token, self.business = http, token, business

    def request(self, method: str, path: str, business: int | str | None = "default", **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        business = self.business if business == "default" else business
        if business is not None:
            headers["X-Business-ID"] = str(business)
        return self.http.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs) -> httpx.Response:
        return self.request("POST", path, content=_encode(json), headers={"Content-Type": "application/json"},
                            **kwargs)

    def patch(self, path: str, json=None, **kwargs) -> httpx.Response:
        return self.request("PATCH", path, content=_encode(json), headers={"Content-Type": "application/json"},
                            **kwargs)

    def delete(self, path: str, **kwargs) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def all(self, path: str, **params) -> list:
        found, page = [], 1
        while True:
            response = self.get(path, params={**params, "limit": 200, "page": page})
            assert response.status_code == 200, response.text
            found += body(response)
            if page >= int(response.headers["x-pagination-total-pages"]):
                return found
            page += 1


def _encode(value) -> bytes:
    from providers.decimal_json import dumps
    return dumps(value).encode()


def half_up(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def sandbox():
    return build_sandbox("clearbooks", SandboxOptions(size="small", seed=SEED, throttle=False))


@pytest.fixture(scope="module")
def server(sandbox):
    running = serve_in_thread(sandbox.stack.asgi)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def businesses(sandbox) -> list[int]:
    return [int(company["id"]) for company in sandbox.companies()]


@pytest.fixture(scope="module")
def api(http, sandbox, businesses) -> Api:
    """Reads of seeded data use the second business; tests that change data use the third."""
    return Api(http, sign_in(http, sandbox.credentials())["access_token"], businesses[1])


@pytest.fixture(scope="module")
def writer(api, businesses) -> Api:
    return Api(api.http, api.token, businesses[2])


def fresh_sandboxes():
    """Own sandboxes, for tests that sign in again (one token pair per user) or switch faults."""
    running = []

    def make(**options) -> tuple:
        sandbox = build_sandbox("clearbooks", SandboxOptions(**{"size": "tiny", "seed": SEED, **options}))
        server = serve_in_thread(sandbox.stack.asgi)
        client = httpx.Client(base_url=server.url, timeout=30)
        running.append((server, client))
        return sandbox, client

    yield make
    for server, client in running:
        client.close()
        server.stop()


@pytest.fixture
def fresh():
    yield from fresh_sandboxes()


def generated(index: int, size: str = "small"):
    from providers.clearbooks.sandbox import Sandbox
    return demo_companies("clearbooks", size, SEED, Sandbox.company_names)[index]


def some_customer(api: Api) -> int:
    return body(api.get("/v1/accounting/customers", params={"limit": 1}))[0]["id"]


def invoice_body(customer: int, **changes) -> dict:
    return {"date": "2026-10-01", "vatTreatment": "standard", "customerId": customer,
            "lineItems": [{"description": "Survey", "unitPrice": Decimal("450.00"), "quantity": 1,
                           "accountCode": 1001002, "vatRateKey": "standard"}], **changes}


# --- businesses and the business header ------------------------------------------------------------------------

def test_businesses_are_the_three_demo_companies_in_the_documented_shape(api, sandbox):
    response = api.get("/v1/businesses", business=None)
    assert response.status_code == 200
    found = body(response)
    assert [b["name"] for b in found] == list(sandbox.company_names)
    assert [b["type"] for b in found] == ["SoleTrader", "Partnership", "LimitedCompany"]
    for business in found:
        assert list(business) == ["id", "name", "type", "address", "logoUrl"]
        assert list(business["address"]) == ADDRESS_KEYS
    assert not any(h in response.headers for h in PAGING)
    assert [{"id": str(b["id"]), "name": b["name"]} for b in found] == sandbox.companies()


def test_a_business_can_be_read_and_renamed(writer, businesses):
    path = f"/v1/businesses/{businesses[2]}"
    original = body(writer.get(path, business=None))
    renamed = writer.patch(path, {"name": "Severn Valley Wholesale (Trading) Ltd"}, business=None)
    assert renamed.status_code == 200
    assert body(renamed) == {**original, "name": "Severn Valley Wholesale (Trading) Ltd"}
    assert writer.patch(path, {"name": original["name"]}, business=None).status_code == 200
    assert writer.get("/v1/businesses/999", business=None).status_code == 404


def test_the_business_header_is_required_when_the_grant_spans_several(api):
    missing = api.get("/v1/accounting/customers", business=None)
    assert missing.status_code == 400 and errors(missing)[0][0] == "businessRequired"
    assert errors(api.get("/v1/accounting/customers", business="abc"))[0][0] == "invalidBusinessId"
    unknown = api.get("/v1/accounting/customers", business=999999)
    assert unknown.status_code == 403 and errors(unknown)[0][0] == "businessNotAuthorised"


def test_a_single_business_grant_needs_no_header(fresh):
    sandbox, http = fresh(extra={"grant_businesses": [184502]})
    api = Api(http, sign_in(http, sandbox.credentials())["access_token"], None)
    assert [b["id"] for b in body(api.get("/v1/businesses"))] == [184502]
    assert api.get("/v1/accounting/customers").status_code == 200
    assert api.get("/v1/accounting/customers", business=184501).status_code == 403


# --- paging ----------------------------------------------------------------------------------------------------

def test_pages_cover_a_list_exactly_once_with_the_documented_headers(api):
    total = int(api.get("/v1/accounting/customers").headers["x-pagination-total-count"])
    assert total == generated(1).counts.customers
    seen, page = [], 1
    while True:
        response = api.get("/v1/accounting/customers", params={"limit": 7, "page": page})
        assert response.headers["x-pagination-limit"] == "7"
        assert response.headers["x-pagination-current-page"] == str(page)
        assert response.headers["x-pagination-total-pages"] == str(-(-total // 7))
        assert response.headers["x-pagination-total-count"] == str(total)
        rows = body(response)
        seen += [row["id"] for row in rows]
        if page == -(-total // 7):
            assert len(rows) == total - 7 * (page - 1)  # the last page is the partial one
            break
        assert len(rows) == 7
        page += 1
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen)


def test_the_default_page_is_25_and_200_is_the_most(api):
    assert len(body(api.get("/v1/accounting/sales/invoices"))) == 25
    response = api.get("/v1/accounting/sales/invoices", params={"limit": 200})
    assert len(body(response)) == 200 and response.headers["x-pagination-limit"] == "200"


def test_a_page_past_the_end_and_an_empty_list(api):
    beyond = api.get("/v1/accounting/customers", params={"page": 99})
    assert beyond.status_code == 200 and body(beyond) == []
    assert beyond.headers["x-pagination-current-page"] == "99"
    one = api.get("/v1/accounting/bankAccounts")
    assert len(body(one)) == 2 and one.headers["x-pagination-total-pages"] == "1"
    empty = api.get("/v1/accounting/sales/quotes")
    assert empty.status_code == 200 and body(empty) == []
    assert empty.headers["x-pagination-total-count"] == "0"
    assert empty.headers["x-pagination-total-pages"] == "0"


@pytest.mark.parametrize("params", [{"limit": 201}, {"limit": 0}, {"limit": "ten"}, {"page": 0}, {"page": "-1"},
                                    {"sortBy": "colour"}, {"sortDirection": "upwards"}])
def test_bad_paging_parameters_are_refused(api, params):
    response = api.get("/v1/accounting/customers", params=params)
    assert response.status_code == 400
    assert errors(response)[0][0] == "invalidParameter"


def test_sorting_by_a_field_and_descending(api):
    names = [c["name"] for c in body(api.get("/v1/accounting/customers", params={"sortBy": "name", "limit": 200}))]
    assert names == sorted(names, key=str.casefold)
    ascending = [c["id"] for c in api.all("/v1/accounting/customers")]
    descending = body(api.get("/v1/accounting/customers", params={"sortDirection": "descending", "limit": 200}))
    assert [c["id"] for c in descending] == ascending[::-1]
    second = body(api.get("/v1/accounting/sales/invoices",
                          params={"sortBy": "gross", "sortDirection": "descending", "limit": 5, "page": 2}))
    every = sorted((i["gross"] for i in api.all("/v1/accounting/sales/invoices")), reverse=True)
    assert [i["gross"] for i in second] == every[5:10]


# --- seeded data ---------------------------------------------------------------------------------------------

def test_seeded_invoices_are_the_generators(api):
    company = generated(1)
    by_number = {i["formattedDocumentNumber"]: i for i in api.all("/v1/accounting/sales/invoices")}
    expected_status = {DocumentStatus.DRAFT: "draft", DocumentStatus.VOID: "voided"}
    assert len(by_number) == company.counts.invoices
    for invoice in company.invoices():
        found = by_number[invoice.number]
        totals = invoice.totals()
        assert (found["net"], found["vat"], found["gross"]) == (totals.net, totals.vat, totals.gross)
        status = expected_status.get(invoice.status, "paid" if invoice.amount_paid == totals.gross else "approved")
        assert found["status"] == status
        if status in ("approved", "paid"):
            assert found["due"] == totals.gross - invoice.amount_paid
        assert found["date"] == invoice.date.isoformat()


def test_every_invoice_total_is_the_sum_of_its_lines_rounded_per_line_half_up(api):
    for invoice in api.all("/v1/accounting/sales/invoices"):
        assert list(invoice) == INVOICE_KEYS
        net = vat = Decimal(0)
        for line in invoice["lineItems"]:
            assert list(line) == LINE_KEYS
            line_net = half_up(Decimal(line["unitPrice"]) * Decimal(line["quantity"]))
            assert line["vatAmount"] == half_up(line_net * RATES[line["vatRateKey"]] / 100)
            net, vat = net + line_net, vat + line["vatAmount"]
        assert (invoice["net"], invoice["vat"], invoice["gross"]) == (net, vat, net + vat)


def test_each_company_ledger_balances_and_every_transaction_sums_to_zero(api, businesses):
    for business in businesses:
        transactions = api.all("/v1/accounting/transactions/grouped", business=business)
        assert transactions
        for transaction in transactions:
            assert sorted(transaction) == ["accountingDate", "id", "lines"]
            assert sum(line["amount"] for line in transaction["lines"]) == 0
        lines = api.all("/v1/accounting/transactions", business=business)
        assert sum(line["amount"] for line in lines) == 0
        assert len(lines) == sum(len(t["lines"]) for t in transactions)


def test_account_balances_agree_with_the_ledger_lines(api):
    lines = api.all("/v1/accounting/transactions")
    for date_from, date_to in (("2000-01-01", "2100-12-31"), ("2025-04-06", "2026-04-05"), ("2026-10-01", "2026-10-31")):
        expected: dict[int, Decimal] = defaultdict(Decimal)
        for line in lines:
            if date_from <= line["accountingDate"] <= date_to:
                expected[line["accountCodeId"]] += line["amount"]
        response = api.get("/v1/accounting/accountBalances",
                           params={"accountingDateFrom": date_from, "accountingDateTo": date_to})
        assert response.status_code == 200
        rows = body(response)
        assert all(list(row) == ["accountCodeId", "balance"] for row in rows)
        assert {row["accountCodeId"]: row["balance"] for row in rows} == expected
    assert sum(row["balance"] for row in rows) == 0


def test_the_ledger_is_the_generators_ledger(api, businesses):
    """The first business is never changed by these tests: its account balances must be the generator's."""
    company = generated(0)
    names = {account.code: account.name for account in company.accounts()}
    ids = {code["name"]: code["id"] for code in api.all("/v1/accounting/accountCodes", business=businesses[0])}
    expected: dict[int, Decimal] = defaultdict(Decimal)
    for line in company.ledger_lines():
        expected[ids[names[line.account_code]]] += line.amount
    rows = body(api.get("/v1/accounting/accountBalances", business=businesses[0],
                        params={"accountingDateFrom": "1900-01-01", "accountingDateTo": "2100-12-31"}))
    assert {row["accountCodeId"]: row["balance"] for row in rows} == dict(expected)


def test_account_balances_need_both_dates_in_order(api):
    for params in ({}, {"accountingDateFrom": "2026-01-01"}, {"accountingDateTo": "2026-01-01"},
                   {"accountingDateFrom": "2026-02-01", "accountingDateTo": "2026-01-01"},
                   {"accountingDateFrom": "2026-02-30", "accountingDateTo": "2026-03-01"}):
        response = api.get("/v1/accounting/accountBalances", params=params)
        assert response.status_code == 400 and errors(response)[0][0] == "invalidParameter"


def test_ledger_lines_filter_and_sort_as_documented(api):
    lines = api.all("/v1/accounting/transactions")
    assert all(list(line) == ["transactionId", "accountingDate", "accountCodeId", "amount"] for line in lines)
    assert [line["transactionId"] for line in lines] == sorted(line["transactionId"] for line in lines)
    bank = api.all("/v1/accounting/transactions", accountCodeId=7502001, accountingDateFrom="2026-01-01",
                   accountingDateTo="2026-06-30")
    assert bank == [line for line in lines if line["accountCodeId"] == 7502001
                    and "2026-01-01" <= line["accountingDate"] <= "2026-06-30"]
    one = lines[0]["transactionId"]
    assert api.all("/v1/accounting/transactions", transactionId=one) == [
        line for line in lines if line["transactionId"] == one]
    by_amount = api.all("/v1/accounting/transactions", sortBy="amount", sortDirection="descending")
    assert [line["amount"] for line in by_amount] == sorted((line["amount"] for line in lines), reverse=True)
    grouped = api.all("/v1/accounting/transactions/grouped", sortBy="accountingDate")
    assert [t["accountingDate"] for t in grouped] == sorted(t["accountingDate"] for t in grouped)


def test_reference_shapes_of_accounts_banks_payments_and_allocations(api):
    code = body(api.get("/v1/accounting/accountCodes", params={"limit": 1}))[0]
    assert list(code) == ["id", "name", "heading", "defaultVatRate", "sales", "purchases"]
    bank = body(api.get("/v1/accounting/bankAccounts"))[0]
    assert list(bank) == ["id", "accountCode", "name", "accountNumber", "sortCode", "iban", "swift", "currency",
                          "paymentMethods"]
    assert all(list(method) == ["id", "name"] for method in bank["paymentMethods"])
    payment = body(api.get("/v1/accounting/payments", params={"limit": 1}))[0]
    assert list(payment) == ["id", "date", "accountingDate", "description", "amount", "currency", "exchangeRate",
                             "contactId", "paymentMethodId", "bankAccountId"]
    allocation = body(api.get("/v1/accounting/allocations/sales", params={"limit": 1}))[0]
    assert list(allocation) == ["id", "invoiceId", "paymentId", "allocationType", "amount"]
    customer = body(api.get("/v1/accounting/customers", params={"limit": 1}))[0]
    assert list(customer) == CONTACT_KEYS and list(customer["address"]) == ADDRESS_KEYS
    assert list(customer["contactName"]) == ["title", "forenames", "surname"]


def test_one_account_code_or_bank_account_reads_back_as_a_one_element_array(api):
    """As the reference shows it; every other single record is a bare object."""
    code = body(api.get("/v1/accounting/accountCodes", params={"limit": 1}))[0]
    assert body(api.get(f"/v1/accounting/accountCodes/{code['id']}")) == [code]
    bank = body(api.get("/v1/accounting/bankAccounts"))[0]
    assert body(api.get(f"/v1/accounting/bankAccounts/{bank['id']}")) == [bank]
    customer = body(api.get("/v1/accounting/customers", params={"limit": 1}))[0]
    assert body(api.get(f"/v1/accounting/customers/{customer['id']}")) == customer


# --- customers, suppliers, account codes, bank accounts, stock items -----------------------------------------

def test_customer_create_read_update_delete(writer):
    created = writer.post("/v1/accounting/customers", {
        "name": "Kestrel Joinery Ltd", "email": "office@kestrel.example",
        "address": {"line1": "3 Quay Street", "town": "Bristol", "postcode": "BS1 4DB", "countryCode": "GB"}})
    assert created.status_code == 201
    customer = body(created)
    assert list(customer) == CONTACT_KEYS and customer["archived"] is False and customer["phone"] == ""
    path = f"/v1/accounting/customers/{customer['id']}"
    assert body(writer.get(path)) == customer
    updated = body(writer.patch(path, {"phone": "0117 496 0123", "address": {"town": "Bath"}}))
    assert updated["phone"] == "0117 496 0123"
    assert updated["address"] == {**customer["address"], "town": "Bath"}  # merged field by field
    assert writer.delete(path).status_code == 204
    gone = writer.get(path)
    assert gone.status_code == 404 and errors(gone)[0][0] == "notFound"


def test_customer_validation_lists_every_problem(writer):
    response = writer.post("/v1/accounting/customers", {"email": "not-an-address", "archived": "yes",
                                                        "address": {"countryCode": "England"}})
    assert response.status_code == 400
    messages = " | ".join(message for _code, message in errors(response))
    for field in ("name", "email", "archived", "address.countryCode"):
        assert field in messages
    bad_json = writer.request("POST", "/v1/accounting/customers", content=b"{not json",
                              headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and errors(bad_json)[0][0] == "invalidBody"


def test_a_customer_with_documents_cannot_be_deleted(writer):
    customer = body(writer.get("/v1/accounting/sales/invoices", params={"limit": 1}))[0]["customerId"]
    response = writer.delete(f"/v1/accounting/customers/{customer}")
    assert response.status_code == 400 and errors(response)[0][0] == "inUse"


def test_suppliers_and_customers_are_separate_lists_sharing_one_id_sequence(writer):
    supplier = body(writer.post("/v1/accounting/suppliers", {"name": "Tamar Timber Merchants Ltd"}))
    customer = body(writer.post("/v1/accounting/customers", {"name": "Tamar Timber Merchants Ltd"}))
    assert customer["id"] == supplier["id"] + 1
    assert writer.get(f"/v1/accounting/customers/{supplier['id']}").status_code == 404
    assert writer.get(f"/v1/accounting/suppliers/{supplier['id']}").status_code == 200


def test_account_codes_are_numbered_from_their_heading(writer):
    created = writer.post("/v1/accounting/accountCodes", {"name": "Grants received", "heading": 1002,
                                                          "sales": True})
    assert created.status_code == 201
    code = body(created)
    assert code == {"id": 1002001, "name": "Grants received", "heading": 1002, "defaultVatRate": "",
                    "sales": True, "purchases": False}
    assert body(writer.post("/v1/accounting/accountCodes", {"name": "Rebates", "heading": 1002}))["id"] == 1002002
    renamed = writer.patch("/v1/accounting/accountCodes/1002001", {"name": "Grants"})
    assert body(renamed)["name"] == "Grants"
    assert writer.delete("/v1/accounting/accountCodes/1002002").status_code == 204
    assert writer.post("/v1/accounting/accountCodes", {"name": "X", "heading": 4242}).status_code == 400
    system = writer.delete("/v1/accounting/accountCodes/7101001")
    assert system.status_code == 400 and errors(system)[0][0] == "inUse"


def test_a_new_bank_account_gets_its_own_account_code(writer):
    created = writer.post("/v1/accounting/bankAccounts", {"name": "Savings", "accountNumber": "31926819",
                                                          "sortCode": "60-16-13"})
    assert created.status_code == 201
    bank = body(created)
    assert bank["currency"] == "GBP" and bank["accountCode"] // 1000 == 7502
    code = body(writer.get(f"/v1/accounting/accountCodes/{bank['accountCode']}"))[0]
    assert code["name"] == "Savings"
    foreign = writer.post("/v1/accounting/bankAccounts", {"name": "Euro", "currency": "EUR"})
    assert foreign.status_code == 400 and errors(foreign)[0][0] == "currencyNotEnabled"
    assert writer.delete(f"/v1/accounting/bankAccounts/{bank['id']}").status_code == 204
    assert writer.get(f"/v1/accounting/accountCodes/{bank['accountCode']}").status_code == 404
    used = body(writer.get("/v1/accounting/payments", params={"limit": 1}))[0]["bankAccountId"]
    assert writer.delete(f"/v1/accounting/bankAccounts/{used}").status_code == 400


def test_stock_items(writer):
    created = writer.post("/v1/accounting/stockItems", {"name": "Oak sleeper", "type": "both",
                                                        "salesUnitPrice": Decimal("42.50"), "sku": "OAK-SL"})
    assert created.status_code == 201
    item = body(created)
    assert list(item) == ["id", "name", "sku", "type", "description", "salesUnitPrice", "salesAccountCode",
                          "salesVatRateKey", "salesQuantity", "purchaseUnitPrice", "purchaseAccountCode",
                          "purchaseVatRateKey", "purchaseQuantity", "trackStock"]
    assert item["salesUnitPrice"] == Decimal("42.50")
    assert writer.post("/v1/accounting/stockItems", {"name": "X", "type": "rental"}).status_code == 400
    assert writer.delete(f"/v1/accounting/stockItems/{item['id']}").status_code == 204


# --- sales documents -----------------------------------------------------------------------------------------

def test_vat_is_rounded_per_line_half_up(writer):
    customer = some_customer(writer)
    lines = [{"unitPrice": Decimal("0.10"), "quantity": 1, "accountCode": 1001001, "vatRateKey": "reduced"}] * 3
    lines.append({"unitPrice": Decimal("10.00"), "quantity": 1, "accountCode": 1001001, "vatRateKey": "standard",
                  "vatAmount": Decimal("1.99")})
    created = writer.post("/v1/accounting/sales/invoices", invoice_body(customer, lineItems=lines))
    assert created.status_code == 201, created.text
    invoice = body(created)
    # 0.10 at 5% is 0.005: a half penny, rounded up on each line (0.03 in all, where the total rounded once
    # would give 0.02 and banker's rounding 0.00); a stated vatAmount stands.
    assert [line["vatAmount"] for line in invoice["lineItems"]] == [Decimal("0.01")] * 3 + [Decimal("1.99")]
    assert (invoice["net"], invoice["vat"], invoice["gross"]) == (Decimal("10.30"), Decimal("2.02"),
                                                                  Decimal("12.32"))
    assert list(invoice) == INVOICE_KEYS
    assert invoice["status"] == "approved" and invoice["due"] == invoice["gross"]
    assert invoice["formattedDocumentNumber"] == "INV-" + invoice["documentNumber"].zfill(6)
    assert invoice["dateDue"] == "2026-10-31"


def posted(api: Api, ident: int) -> list:
    """The ledger lines of one transaction (a document posts under its own id)."""
    return api.all("/v1/accounting/transactions", transactionId=ident)


def test_updating_an_approved_invoice_voids_it_and_reissues_a_copy(writer):
    original = body(writer.post("/v1/accounting/sales/invoices", invoice_body(some_customer(writer))))
    assert posted(writer, original["id"])
    response = writer.patch(f"/v1/accounting/sales/invoices/{original['id']}", {"reference": "PO 7781"})
    assert response.status_code == 200
    revision = body(response)
    assert revision["id"] != original["id"]
    assert revision["documentNumber"] == original["documentNumber"] and revision["reference"] == "PO 7781"
    old = writer.get(f"/v1/accounting/sales/invoices/{original['id']}")
    assert old.status_code in (301, 302, 303, 307, 308)
    assert old.headers["location"].endswith(f"/v1/accounting/sales/invoices/{revision['id']}")
    assert body(writer.http.get(old.headers["location"], headers=old.request.headers)) == revision
    ids = {i["id"] for i in writer.all("/v1/accounting/sales/invoices")}
    assert revision["id"] in ids and original["id"] not in ids
    assert posted(writer, revision["id"]) and not posted(writer, original["id"])
    again = body(writer.patch(f"/v1/accounting/sales/invoices/{revision['id']}", {"reference": "PO 7782"}))
    first = writer.get(f"/v1/accounting/sales/invoices/{original['id']}")
    assert first.headers["location"].endswith(f"/{again['id']}")  # straight to the latest revision
    stale = writer.patch(f"/v1/accounting/sales/invoices/{original['id']}", {"reference": "late"})
    assert stale.status_code == 400 and errors(stale)[0][0] == "documentVoided"


def test_a_draft_is_updated_in_place_and_posts_once_approved(writer):
    draft = body(writer.post("/v1/accounting/sales/invoices", invoice_body(some_customer(writer), status="draft")))
    assert draft["status"] == "draft" and not posted(writer, draft["id"])
    path = f"/v1/accounting/sales/invoices/{draft['id']}"
    kept = [{**draft["lineItems"][0], "unitPrice": Decimal("500.00")}]  # still says vatAmount 90.00
    assert body(writer.patch(path, {"lineItems": kept}))["vat"] == Decimal("90.00")  # a stated VAT stands
    lines = [{k: v for k, v in kept[0].items() if k != "vatAmount"}]
    edited = body(writer.patch(path, {"lineItems": lines}))
    assert edited["id"] == draft["id"] and edited["gross"] == Decimal("600.00")
    approved = body(writer.patch(path, {"status": "approved"}))
    assert approved["id"] == draft["id"] and approved["status"] == "approved"
    assert sorted(line["amount"] for line in posted(writer, draft["id"])) == [
        Decimal("-500.00"), Decimal("-100.00"), Decimal("600.00")]
    back = writer.patch(path, {"status": "draft"})
    assert back.status_code == 400 and errors(back)[0][0] == "invalidStatus"


def test_deleting_a_draft_or_quote_removes_it_and_deleting_an_approved_invoice_voids_it(writer):
    customer = some_customer(writer)
    draft = body(writer.post("/v1/accounting/sales/invoices", invoice_body(customer, status="draft")))
    assert writer.delete(f"/v1/accounting/sales/invoices/{draft['id']}").status_code == 204
    assert writer.get(f"/v1/accounting/sales/invoices/{draft['id']}").status_code == 404
    quote = body(writer.post("/v1/accounting/sales/quotes", invoice_body(customer)))
    assert quote["formattedDocumentNumber"].startswith("QUO-") and not posted(writer, quote["id"])
    edited = body(writer.patch(f"/v1/accounting/sales/quotes/{quote['id']}", {"reference": "v2"}))
    assert edited["id"] == quote["id"]  # a quote is updated in place
    assert writer.delete(f"/v1/accounting/sales/quotes/{quote['id']}").status_code == 204
    assert writer.get(f"/v1/accounting/sales/quotes/{quote['id']}").status_code == 404
    invoice = body(writer.post("/v1/accounting/sales/invoices", invoice_body(customer)))
    assert writer.delete(f"/v1/accounting/sales/invoices/{invoice['id']}").status_code == 204
    voided = body(writer.get(f"/v1/accounting/sales/invoices/{invoice['id']}"))
    assert voided["status"] == "voided" and voided["due"] == 0 and voided["gross"] == invoice["gross"]
    assert not posted(writer, invoice["id"])
    again = writer.delete(f"/v1/accounting/sales/invoices/{invoice['id']}")
    assert again.status_code == 400 and errors(again)[0][0] == "documentVoided"


def test_a_reissued_invoice_keeps_its_allocations(writer):
    invoice = next(i for i in writer.all("/v1/accounting/sales/invoices")
                   if i["status"] == "approved" and 0 < i["due"] < i["gross"])
    echoed = {**invoice, "description": "reissued"}  # the whole document sent back, "status" and all
    revision = body(writer.patch(f"/v1/accounting/sales/invoices/{invoice['id']}", echoed))
    assert revision["due"] == invoice["due"] and revision["status"] == "approved"
    moved = writer.all("/v1/accounting/allocations/sales", invoiceId=revision["id"])
    assert sum(a["amount"] for a in moved) == invoice["gross"] - invoice["due"]
    assert writer.all("/v1/accounting/allocations/sales", invoiceId=invoice["id"]) == []
    cheaper = [{**revision["lineItems"][0], "unitPrice": Decimal("0.01"), "quantity": 1}]
    refused = writer.patch(f"/v1/accounting/sales/invoices/{revision['id']}", {"lineItems": cheaper})
    assert refused.status_code == 400 and errors(refused)[0][0] == "allocationsExceedTotal"


def test_invoice_validation(writer):
    empty = writer.post("/v1/accounting/sales/invoices", {})
    assert empty.status_code == 400
    text = " ".join(message for _code, message in errors(empty))
    for field in ("date", "vatTreatment", "lineItems", "customerId"):
        assert field in text
    customer = some_customer(writer)
    wrong_rate = invoice_body(customer, vatTreatment="exports")  # standard-rated lines on an export
    assert "vatRateKey" in errors(writer.post("/v1/accounting/sales/invoices", wrong_rate))[0][1]
    unknown = writer.post("/v1/accounting/sales/invoices", invoice_body(999999))
    assert "customerId" in errors(unknown)[0][1]
    euro = writer.post("/v1/accounting/sales/invoices", invoice_body(customer, currency="EUR"))
    assert errors(euro)[0][0] == "currencyNotEnabled"
    rated = writer.post("/v1/accounting/sales/invoices", invoice_body(customer, exchangeRate=Decimal("1.1")))
    assert rated.status_code == 400
    early = writer.post("/v1/accounting/sales/invoices", invoice_body(customer, dateDue="2026-09-01"))
    assert "dateDue" in errors(early)[0][1]


# --- payments, allocations, credit notes, journals -----------------------------------------------------------

def test_payments_and_allocations_settle_an_invoice(writer):
    customer = some_customer(writer)
    invoice = body(writer.post("/v1/accounting/sales/invoices", invoice_body(customer)))  # 540.00
    bank = body(writer.get("/v1/accounting/bankAccounts"))[0]
    payment = body(writer.post("/v1/accounting/payments", {
        "date": "2026-10-20", "description": "BACS", "amount": 600, "contactId": customer,
        "bankAccountId": bank["id"], "paymentMethodId": bank["paymentMethods"][0]["id"]}))
    assert payment["amount"] == Decimal("600.00") and payment["accountingDate"] == "2026-10-20"
    lines = [line for line in writer.all("/v1/accounting/transactions", transactionId=payment["id"])]
    assert {(line["accountCodeId"], line["amount"]) for line in lines} == {(bank["accountCode"], Decimal("600.00")),
                                                                          (7101001, Decimal("-600.00"))}

    def allocate(amount, **extra):
        return writer.post("/v1/accounting/allocations/sales", {"invoiceId": invoice["id"], "paymentId": payment["id"],
                                                                "allocationType": "payment", "amount": amount,
                                                                **extra})

    first = allocate(Decimal("500.00"))
    assert first.status_code == 201
    assert list(body(first)) == ["id", "invoiceId", "paymentId", "allocationType", "amount"]
    assert body(writer.get(f"/v1/accounting/sales/invoices/{invoice['id']}"))["due"] == Decimal("40.00")
    too_much = allocate(Decimal("40.01"))
    assert too_much.status_code == 400 and errors(too_much)[0][0] == "allocationExceedsDue"
    assert allocate(Decimal("40.00")).status_code == 201
    paid = body(writer.get(f"/v1/accounting/sales/invoices/{invoice['id']}"))
    assert (paid["status"], paid["due"], paid["datePaid"]) == ("paid", Decimal("0.00"), "2026-10-20")
    other = body(writer.post("/v1/accounting/sales/invoices", invoice_body(customer)))
    left = writer.post("/v1/accounting/allocations/sales", {"invoiceId": other["id"], "paymentId": payment["id"],
                                                            "allocationType": "payment", "amount": 61})
    assert errors(left)[0][0] == "allocationExceedsAvailable"  # 600 - 540 = 60 left on the payment
    listed = writer.all("/v1/accounting/allocations/sales", paymentId=payment["id"], allocationType="payment")
    assert [a["amount"] for a in listed] == [Decimal("500.00"), Decimal("40.00")]
    assert writer.delete(f"/v1/accounting/allocations/sales/{listed[0]['id']}").status_code == 204
    assert body(writer.get(f"/v1/accounting/sales/invoices/{invoice['id']}"))["due"] == Decimal("500.00")
    assert writer.delete(f"/v1/accounting/payments/{payment['id']}").status_code == 204
    assert writer.all("/v1/accounting/allocations/sales", paymentId=payment["id"]) == []
    assert body(writer.get(f"/v1/accounting/sales/invoices/{invoice['id']}"))["due"] == Decimal("540.00")
    bad = writer.get("/v1/accounting/allocations/sales", params={"allocationType": "cheque"})
    assert bad.status_code == 400


def test_allocations_check_the_contact_and_direction(writer):
    customers = [c["id"] for c in body(writer.get("/v1/accounting/customers", params={"limit": 2}))]
    invoice = body(writer.post("/v1/accounting/sales/invoices", invoice_body(customers[0])))
    bank = body(writer.get("/v1/accounting/bankAccounts"))[0]["id"]
    stranger = body(writer.post("/v1/accounting/payments", {"date": "2026-10-02", "description": "x", "amount": 10,
                                                            "contactId": customers[1], "bankAccountId": bank}))
    refund = body(writer.post("/v1/accounting/payments", {"date": "2026-10-02", "description": "y", "amount": -10,
                                                          "contactId": customers[0], "bankAccountId": bank}))
    for payment, code in ((stranger, "contactMismatch"), (refund, "paymentDirection")):
        response = writer.post("/v1/accounting/allocations/sales", {
            "invoiceId": invoice["id"], "paymentId": payment["id"], "allocationType": "payment", "amount": 5})
        assert response.status_code == 400 and errors(response)[0][0] == code


def test_a_credit_note_posts_in_reverse_and_can_be_allocated(writer):
    customer = some_customer(writer)
    invoice = body(writer.post("/v1/accounting/sales/invoices", invoice_body(customer)))
    credit = body(writer.post("/v1/accounting/sales/creditNotes", invoice_body(customer)))
    assert {(line["accountCodeId"], line["amount"]) for line in posted(writer, credit["id"])} == {
        (7101001, Decimal("-540.00")), (1001002, Decimal("450.00")), (8002001, Decimal("90.00"))}
    allocated = writer.post("/v1/accounting/allocations/sales", {"invoiceId": invoice["id"], "creditNoteId": credit["id"],
                                                                 "allocationType": "creditNote", "amount": 540})
    assert allocated.status_code == 201
    assert list(body(allocated)) == ["id", "invoiceId", "creditNoteId", "allocationType", "amount"]
    assert body(writer.get(f"/v1/accounting/sales/invoices/{invoice['id']}"))["status"] == "paid"
    assert body(writer.get(f"/v1/accounting/sales/creditNotes/{credit['id']}"))["due"] == 0


def test_purchase_documents_follow_the_same_rules_against_creditors(writer):
    supplier = body(writer.get("/v1/accounting/suppliers", params={"limit": 1}))[0]["id"]
    created = writer.post("/v1/accounting/purchases/bills", {
        "date": "2026-10-03", "vatTreatment": "standard", "supplierId": supplier,
        "lineItems": [{"description": "Timber", "unitPrice": Decimal("100.00"), "quantity": 2,
                       "accountCode": 2001001, "vatRateKey": "standard"}]})
    assert created.status_code == 201, created.text
    bill = body(created)
    assert list(bill) == ["id", "documentNumber", "formattedDocumentNumber", "date", "dateAccrual", "datePaid",
                          "reference", "currency", "exchangeRate", "description", "status", "gross", "net", "vat",
                          "due", "vatTreatment", "lineItems", "supplierId", "dateDue"]
    assert {(line["accountCodeId"], line["amount"]) for line in posted(writer, bill["id"])} == {
        (2001001, Decimal("200.00")), (8002001, Decimal("40.00")), (8001001, Decimal("-240.00"))}
    bank = body(writer.get("/v1/accounting/bankAccounts"))[0]["id"]

    def pay(amount):
        payment = body(writer.post("/v1/accounting/payments", {"date": "2026-10-09", "description": "To supplier",
                                                               "amount": amount, "contactId": supplier,
                                                               "bankAccountId": bank}))
        return writer.post("/v1/accounting/allocations/purchases", {
            "invoiceId": bill["id"], "paymentId": payment["id"], "allocationType": "payment", "amount": 240})

    assert errors(pay(240))[0][0] == "paymentDirection"  # money paid out is negative
    assert pay(-240).status_code == 201
    assert body(writer.get(f"/v1/accounting/purchases/bills/{bill['id']}"))["status"] == "paid"
    revision = body(writer.patch(f"/v1/accounting/purchases/bills/{bill['id']}", {"reference": "DN 42"}))
    assert revision["id"] != bill["id"] and revision["status"] == "paid"
    old = writer.get(f"/v1/accounting/purchases/bills/{bill['id']}")
    assert old.headers["location"].endswith(f"/v1/accounting/purchases/bills/{revision['id']}")


def test_journals_must_balance(writer):
    balanced = writer.post("/v1/accounting/journals", {
        "description": "example journal", "accountingDate": "2026-10-15",
        "lines": [{"accountCodeId": 7502001, "amount": 100}, {"accountCodeId": 2005001, "amount": -50},
                  {"accountCodeId": 2006001, "amount": -50}]})
    assert balanced.status_code == 201
    journal = body(balanced)
    assert list(journal) == ["id", "accountingDate", "description", "lines"]
    lines = writer.all("/v1/accounting/transactions", transactionId=journal["id"])
    assert [(line["accountCodeId"], line["amount"]) for line in lines] == [
        (7502001, 100), (2005001, -50), (2006001, -50)]
    unbalanced = writer.post("/v1/accounting/journals", {"accountingDate": "2026-10-15", "lines": [
        {"accountCodeId": 7502001, "amount": 100}, {"accountCodeId": 2005001, "amount": Decimal("-99.99")}]})
    assert unbalanced.status_code == 400
    assert errors(unbalanced) == [("journalNotBalanced",
                                   "The sum of amounts of all lines in the journal must add up to 0.")]
    unknown = writer.post("/v1/accounting/journals", {"accountingDate": "2026-10-15", "lines": [
        {"accountCodeId": 1234567, "amount": 1}, {"accountCodeId": 7502001, "amount": -1}]})
    assert unknown.status_code == 400 and "accountCodeId" in errors(unknown)[0][1]


def test_vat_treatments_and_rates(api):
    treatments = body(api.get("/v1/accounting/vatTreatments/sales"))
    assert all(list(t) == ["key", "name"] for t in treatments)
    assert "standard" in [t["key"] for t in treatments]
    rates = body(api.get("/v1/accounting/vatRates/sales", params={"vatTreatment": "standard"}))
    assert all(list(r) == ["key", "name", "rate"] for r in rates)
    assert {r["key"]: r["rate"] for r in rates if r["key"] in RATES} == RATES
    exports = {r["key"] for r in body(api.get("/v1/accounting/vatRates/sales", params={"vatTreatment": "exports"}))}
    assert "standard" not in exports
    assert api.get("/v1/accounting/vatRates/sales", params={"vatTreatment": "moon"}).status_code == 400


def test_bank_feeds_and_statements_ignore_a_repeated_transaction_id(writer, sandbox):
    bank = body(writer.get("/v1/accounting/bankAccounts"))[0]
    created = writer.post("/v1/accounting/bankFeeds", {"items": [{"accountId": bank["id"]}]})
    assert created.status_code == 201
    feed = body(created)["items"][0]
    assert list(feed) == ["id", "name", "accountNumber", "sortCode", "iban", "swift", "currency", "accountToken",
                          "accountId"]
    assert len(feed["id"]) == 40 and feed["accountId"] == bank["id"]
    by_number = body(writer.post("/v1/accounting/bankFeeds", {"items": [
        {"accountNumber": bank["accountNumber"], "sortCode": bank["sortCode"]}]}))["items"][0]
    assert by_number["id"] == feed["id"]
    lines = [{"transactionId": "40b4fa10", "transactionDate": "2026-09-29", "description": "Card purchase",
              "amount": Decimal("-15.99")},
             {"transactionId": "b44f0db4", "transactionDate": "2026-09-30", "description": "Refund",
              "amount": Decimal("150.76")}]
    first = body(writer.post("/v1/accounting/bankStatements", {"items": [{"feedId": feed["id"],
                                                                          "statementLines": lines}]}))
    again = body(writer.post("/v1/accounting/bankStatements", {"items": [{"feedId": feed["id"],
                                                                          "statementLines": lines}]}))
    assert first == again and list(first["items"][0]) == ["id", "accountId", "feedId"]
    stored = sandbox.store.get(str(writer.business), "bankStatements", f"{feed['id']}:2026-09")
    assert [line["transactionId"] for line in stored["lines"]] == ["40b4fa10", "b44f0db4"]
    unknown = writer.post("/v1/accounting/bankStatements", {"items": [{"feedId": "0" * 40, "statementLines": lines}]})
    assert unknown.status_code == 400


# --- errors --------------------------------------------------------------------------------------------------

def test_unknown_ids_routes_and_methods_answer_in_the_documented_error_shape(api):
    for path in ("/v1/accounting/customers/999999", "/v1/accounting/sales/invoices/999999",
                 "/v1/accounting/payments/999999", "/v1/accounting/allocations/sales/999999",
                 "/v1/accounting/nothing"):
        response = api.get(path)
        assert response.status_code == 404 and errors(response)[0][0] == "notFound"
    for path in ("/v1/accounting/customers/999999", "/v1/accounting/bankAccounts/999999",
                 "/v1/accounting/accountCodes/9999999", "/v1/accounting/allocations/purchases/999999"):
        response = api.delete(path)
        assert response.status_code == 404 and errors(response)
    response = api.request("PUT", "/v1/accounting/customers")
    assert response.status_code == 405 and errors(response)[0][0] == "methodNotAllowed"


def test_requests_without_a_good_token_get_401(api):
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": f"Basic {api.token}"}):
        response = api.http.get("/v1/businesses", headers=headers)
        assert response.status_code == 401 and errors(response)[0][0] == "unauthorised"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_missing_scope_gets_403(fresh):
    sandbox, http = fresh()
    narrow = Api(http, sign_in(http, sandbox.credentials(), scope="accounting.customers:read")["access_token"],
                 184501)
    assert narrow.get("/v1/accounting/customers").status_code == 200
    for response in (narrow.post("/v1/accounting/customers", {"name": "X"}), narrow.get("/v1/accounting/payments"),
                     narrow.get("/v1/accounting/sales/invoices"), narrow.get("/v1/businesses")):
        assert response.status_code == 403 and errors(response)[0][0] == "insufficientScope"


# --- throttling, restart, faults -------------------------------------------------------------------------------

def test_a_burst_past_the_rate_gets_429_with_retry_after_only(api, sandbox):
    sandbox.options.throttle = True
    sandbox.options.extra.update(rate_limit_per_second=5, rate_limit_burst=10)
    try:
        statuses = [api.get("/v1/businesses", business=None) for _ in range(30)]
        throttled = [r for r in statuses if r.status_code == 429]
        passed = [r for r in statuses if r.status_code == 200]
        assert 10 <= len(passed) < 20 and throttled
        assert errors(throttled[0])[0][0] == "tooManyRequests"
        assert int(throttled[0].headers["retry-after"]) >= 1
        assert not [h for h in throttled[0].headers if "ratelimit" in h.lower()]
        time.sleep(int(throttled[-1].headers["retry-after"]))
        assert api.get("/v1/businesses", business=None).status_code == 200
        sandbox.options.throttle = False  # switched off at run time: the same burst passes
        assert all(api.get("/v1/businesses", business=None).status_code == 200 for _ in range(15))
    finally:
        sandbox.options.throttle = False
        sandbox.options.extra.pop("rate_limit_per_second")
        sandbox.options.extra.pop("rate_limit_burst")


def test_a_sustained_pace_above_the_rate_is_throttled(fresh):
    sandbox, http = fresh(throttle=True, extra={"rate_limit_per_second": 10, "rate_limit_burst": 2})
    api = Api(http, sign_in(http, sandbox.credentials())["access_token"], 184501)
    slow = []
    for _ in range(8):
        slow.append(api.get("/v1/businesses").status_code)
        time.sleep(0.15)  # under 7 a second: below the rate, however long the bucket is
    assert slow == [200] * 8
    fast = [api.get("/v1/businesses").status_code for _ in range(15)]
    assert 429 in fast


def test_a_data_file_keeps_everything_across_a_restart(tmp_path):
    path = str(tmp_path / "clearbooks.sqlite")
    first = build_sandbox("clearbooks", SandboxOptions(size="tiny", seed=SEED, data=path, throttle=False))
    server = serve_in_thread(first.stack.asgi)
    with httpx.Client(base_url=server.url) as http:
        token = sign_in(http, first.credentials())
        api = Api(http, token["access_token"], 184501)
        created = body(api.post("/v1/accounting/customers", {"name": "Persistent Plumbing Ltd"}))
        invoices = api.get("/v1/accounting/sales/invoices").headers["x-pagination-total-count"]
    server.stop()
    first.store.close()
    second = build_sandbox("clearbooks", SandboxOptions(size="tiny", seed=SEED, data=path, throttle=False))
    server = serve_in_thread(second.stack.asgi)
    try:
        with httpx.Client(base_url=server.url) as http:
            api = Api(http, token["access_token"], 184501)  # the token itself survived
            assert body(api.get(f"/v1/accounting/customers/{created['id']}")) == created
            assert api.get("/v1/accounting/sales/invoices").headers["x-pagination-total-count"] == invoices
            newer = body(api.post("/v1/accounting/customers", {"name": "Later Ltd"}))
            assert newer["id"] > created["id"]
            refreshed = http.post(second.credentials()["token_path"], data={
                "grant_type": "refresh_token", "refresh_token": token["refresh_token"],
                "client_id": second.credentials()["client_id"], "client_secret": second.credentials()["client_secret"]})
            assert refreshed.status_code == 200
    finally:
        server.stop()
        second.store.close()


@pytest.fixture
def faulty(fresh):
    sandbox, http = fresh(throttle=False)
    sandbox.stack.faults.reseed(3)
    return sandbox, Api(http, sign_in(http, sandbox.credentials())["access_token"], 184501)


def _count(api: Api) -> int:
    return int(api.get("/v1/accounting/customers").headers["x-pagination-total-count"])


def test_fault_error_rate_gives_a_proxy_error_page(faulty):
    sandbox, api = faulty
    sandbox.stack.faults.settings.update(error_rate=1.0)
    response = api.get("/v1/accounting/customers")
    assert response.status_code in (500, 502, 503) and "text/html" in response.headers["content-type"]
    sandbox.stack.faults.settings.update(error_rate=0.0)
    assert api.get("/v1/accounting/customers").status_code == 200


def test_fault_drop_before_loses_the_write(faulty):
    sandbox, api = faulty
    before = _count(api)
    sandbox.stack.faults.settings.update(drop_before_rate=1.0)
    with pytest.raises(httpx.TransportError):
        api.post("/v1/accounting/customers", {"name": "Never Arrives Ltd"})
    sandbox.stack.faults.settings.update(drop_before_rate=0.0)
    assert _count(api) == before


def test_fault_drop_after_commits_the_write_the_client_never_hears_of(faulty):
    sandbox, api = faulty
    before = _count(api)
    sandbox.stack.faults.settings.update(drop_after_rate=1.0)
    with pytest.raises(httpx.TransportError):
        api.post("/v1/accounting/customers", {"name": "Arrived Anyway Ltd"})
    sandbox.stack.faults.settings.update(drop_after_rate=0.0)
    assert _count(api) == before + 1
    names = [c["name"] for c in api.all("/v1/accounting/customers")]
    assert "Arrived Anyway Ltd" in names


def test_fault_throttle_rate_gives_429_with_retry_after(faulty):
    sandbox, api = faulty
    sandbox.stack.faults.settings.update(throttle_rate=1.0)
    response = api.get("/v1/accounting/customers")
    assert response.status_code == 429 and response.headers["retry-after"]
    sandbox.stack.faults.settings.update(throttle_rate=0.0)
    assert api.get("/v1/accounting/customers").status_code == 200


def test_fault_truncate_rate_cuts_the_body(faulty):
    sandbox, api = faulty
    sandbox.stack.faults.settings.update(truncate_rate=1.0)
    response = api.get("/v1/accounting/customers")
    assert response.status_code == 200 and int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(JSONDecodeError):
        loads(response.content)
    sandbox.stack.faults.settings.update(truncate_rate=0.0)
    assert isinstance(body(api.get("/v1/accounting/customers")), list)


def test_fault_latency_slows_answers(faulty):
    sandbox, api = faulty

    def elapsed() -> float:
        start = time.perf_counter()
        for _ in range(5):
            assert api.get("/v1/businesses").status_code == 200
        return time.perf_counter() - start

    quick = elapsed()
    sandbox.stack.faults.settings.update(latency_ms=400)
    slow = elapsed()
    sandbox.stack.faults.settings.update(latency_ms=0)
    assert slow > quick + 0.3  # five waits of up to 0.4 s each (seeded)
