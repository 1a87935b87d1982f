"""AccountingSuite's quirks, wire <-> domain, without a server: string booleans, numbered messages,
update bodies that leave the name out, document-level amounts, both invoice list wrappers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from app.domain import Customer, DocumentStatus, Invoice, InvoiceLine
from app.domain.parties import Address
from providers.accountingsuite import answers, mapping
from providers.accountingsuite.wholelist import WholeList, count_key
from providers.base import AuthError, BadResponse, Conflict, NotFound, ValidationError
from providers.decimal_json import dumps, loads
from providers.http import Reply


def reply(body: bytes | str, status: int = 200) -> Reply:
    raw = body.encode() if isinstance(body, str) else body
    return Reply("GET", httpx.URL("http://127.0.0.1/x"), status, httpx.Headers({"content-type": "application/json"}),
                 raw, 0.0, service="AccountingSuite")


def address(**fields) -> dict:
    base = {name: "" for name in ("address_id", "first_name", "middle_name", "last_name", "address_line1",
                                  "address_line2", "city", "state", "zip", "country", "phone", "cell", "email")}
    return {**base, "default_billing": "false", "default_shipping": "false", "api_code": "a0", **fields}


COMPANY = {
    "api_code": "c1", "company_code": "00031", "company_name": "SF Bay Distribution", "company_type": "customer",
    "lines": {"addresses": [
        address(address_id="order confirm", first_name="Jennifer", last_name="Aniston", api_code="a1",
                default_shipping="true"),
        address(address_id="SFO warehouse", first_name="John", middle_name="Q", last_name="Sheldon",
                address_line1="1 Pier", city="San Francisco", state="CA", zip="94111", country="us",
                cell="415 555 0100", email="john@sfbay.example", api_code="a2", default_billing="true"),
    ]},
}


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("TRUE", True), (" true ", True), (True, True),
                                                 ("false", False), (False, False), ("", False), (None, False),
                                                 ("yes", False), (1, False)])
def test_string_booleans(value, expected):
    assert mapping.flag(value) is expected


def test_customer_comes_from_the_default_billing_address():
    customer = mapping.customer_from_wire(COMPANY, "USD")
    assert (customer.name, customer.contact_name, customer.email, customer.phone) == (
        "SF Bay Distribution", "John Q Sheldon", "john@sfbay.example", "415 555 0100")
    assert customer.address == Address(line1="1 Pier", town="San Francisco", region="CA", postcode="94111",
                                       country="US")
    assert customer.remote_id == "c1" and customer.currency == "USD"
    assert mapping.is_customer(COMPANY) and mapping.is_customer({**COMPANY, "company_type": "customer+vendor"})
    assert not mapping.is_customer({**COMPANY, "company_type": "vendor"})
    assert mapping.default_address(COMPANY, "default_shipping")["api_code"] == "a1"


def test_an_update_sends_only_what_changed_and_never_the_unchanged_name():
    current = mapping.customer_from_wire(COMPANY, "USD")
    assert mapping.customer_changes(current, COMPANY) == {}
    moved = current.model_copy(update={"email": "js@sfbay.example", "name": "SF Bay Logistics"})
    assert mapping.customer_changes(moved, COMPANY) == {
        "company_name": "SF Bay Logistics",
        "lines": {"addresses": [{"api_code": "a2", "email": "js@sfbay.example"}]},
    }
    renamed_contact = current.model_copy(update={"contact_name": "Jane Doe"})
    assert mapping.customer_changes(renamed_contact, COMPANY)["lines"]["addresses"][0] == {
        "api_code": "a2", "first_name": "Jane", "middle_name": "", "last_name": "Doe"}


def test_a_new_customer_has_one_primary_address_default_for_both():
    body = mapping.customer_to_wire(Customer(name="Acme", contact_name="Ann Lee", email="ann@acme.example"))
    assert body["company_type"] == "customer"
    (primary,) = body["lines"]["addresses"]
    assert primary["address_id"] == "Primary"
    assert primary["default_billing"] is True and primary["default_shipping"] is True  # JSON booleans
    assert (primary["first_name"], primary["last_name"], primary["email"]) == ("Ann", "Lee", "ann@acme.example")


INVOICE = {
    "lines": {"line_items": [
        {"price": 350, "item_description": "Frigidaire DF28", "quantity": 2, "api_code": "i1", "line_total": 700,
         "item_code": "FrigidaireDF28"},
        {"price": Decimal("33.333"), "item_description": "abc5x", "quantity": 3, "api_code": "i2",
         "line_total": 100, "item_code": "abc5"},
    ]},
    "company_code": "00014", "doc_total": Decimal("890.01"), "memo": "magento_sale", "due_date": "2013-05-24",
    "date": "2013-05-24", "sales_tax_total": Decimal("64.26"), "customer_api_code": "c1",
    "company_name": "West Coast Logistics", "invoice_number": "000004", "ship_to_address_id": "SFO warehouse",
    "ref_num": "trx0023487", "ship_to_api_code": "a1", "api_code": "inv1", "line_subtotal": 800,
    "discount": 80, "discount_percent": 10, "subtotal": 720, "shipping": Decimal("25.5"),
}


def test_document_level_amounts_become_marked_lines_and_the_totals_are_the_services():
    invoice = mapping.invoice_from_wire(INVOICE, "USD")
    marks = [line.vat_rate_key for line in invoice.lines]
    assert marks == ["", "", mapping.DISCOUNT, mapping.SHIPPING, mapping.SALES_TAX, mapping.ADJUSTMENT]
    assert invoice.lines[2].description == "Discount (10%)"
    totals = invoice.totals()
    assert totals.gross == Decimal("890.01") and totals.vat == Decimal("64.26")
    # 3 x 33.333 rounds to 100.00: the lines come to 800, as the service says; the adjustment holds the
    # cent by which doc_total differs from 720 + 25.50 + 64.26.
    assert invoice.lines[5].unit_price == Decimal("80.25")
    assert (invoice.number, invoice.reference, invoice.customer_remote_id) == ("000004", "trx0023487", "c1")
    assert invoice.status is DocumentStatus.APPROVED


def test_a_listed_invoice_has_one_line_for_its_items_and_the_same_version_as_the_fetched_one():
    summary = {k: v for k, v in INVOICE.items() if k not in ("lines", "customer_api_code", "ship_to_api_code")}
    summary["ship_to_address_code"] = "00022"
    listed = mapping.invoice_from_wire(summary, "USD", {"00014": "c1"}.get)
    fetched = mapping.invoice_from_wire(INVOICE, "USD")
    assert listed.customer_remote_id == "c1"
    assert listed.lines[0].vat_rate_key == mapping.UNLISTED
    assert listed.totals() == fetched.totals()
    assert listed.remote_version == fetched.remote_version
    with pytest.raises(mapping.LinesNotLoaded):
        mapping.invoice_to_wire(listed, {}.get, "a1", "")


def test_an_invoice_goes_back_with_its_document_fields():
    invoice = mapping.invoice_from_wire(INVOICE, "USD")
    body = mapping.invoice_to_wire(invoice, {"FrigidaireDF28": "i1", "abc5": "i2"}.get, "a1", "magento_sale")
    assert body["lines"]["line_items"] == [
        {"api_code": "i1", "price": Decimal(350), "quantity": Decimal(2), "line_total": Decimal(700)},
        {"api_code": "i2", "price": Decimal("33.333"), "quantity": Decimal(3), "line_total": Decimal(100)},
    ]
    assert (body["discount"], body["shipping"], body["sales_tax_total"], body["doc_total"]) == (
        Decimal(80), Decimal("25.50"), Decimal("64.26"), Decimal("890.01"))
    assert (body["customer_api_code"], body["ship_to_api_code"], body["memo"], body["ref_num"]) == (
        "c1", "a1", "magento_sale", "trx0023487")
    assert '"doc_total":890.01' in dumps(body)  # an exact JSON number, never a float


def test_lines_the_service_cannot_hold_are_refused_with_a_sentence():
    base = Invoice(customer_remote_id="c1", date=dt.date(2026, 1, 2), lines=[])
    with pytest.raises(ValueError, match="needs an item on every line"):
        mapping.invoice_to_wire(base.model_copy(update={"lines": [InvoiceLine(unit_price=Decimal(1))]}),
                                {}.get, "a1", "")
    with pytest.raises(ValueError, match="no item “NOPE”"):
        mapping.invoice_to_wire(base.model_copy(update={"lines": [InvoiceLine(item_code="NOPE")]}), {}.get, "a1", "")
    with pytest.raises(ValueError, match="no line discounts"):
        mapping.invoice_to_wire(base.model_copy(update={"lines": [
            InvoiceLine(item_code="X", discount_percent=Decimal(5))]}), {"X": "i"}.get, "a1", "")
    with pytest.raises(ValueError, match="at least one line"):
        mapping.invoice_to_wire(base, {}.get, "a1", "")


def test_refusals_are_joined_in_order_and_typed():
    payload = {"status": "error", "message2": "[b] : Two.", "message10": "[c] : Ten.", "message1": "[a] : One.",
               "api_code": "x"}
    with pytest.raises(ValidationError) as refused:
        answers.read(reply(dumps(payload)))
    assert refused.value.message == "[a] : One. [b] : Two. [c] : Ten."
    assert refused.value.detail["api_code"] == "x"
    cases = [
        ({"status": "error", "message": "[apisecretkey] : The apisecretkey is not valid."}, 401, AuthError),
        ({"status": "error", "message": "[api_code] : The item does not exist. Double check that the ID# is "
                                        "correct."}, 200, NotFound),
        ({"status": "error", "message": "Failed to delete. There are linked objects to this item."}, 200, Conflict),
        ({"status": "error", "message": "[company_name] : The company already exists."}, 200, ValidationError),
    ]
    for body, status, kind in cases:
        with pytest.raises(kind) as refused:
            answers.read(reply(dumps(body), status))
        assert refused.value.message == body["message"]
    assert answers.deleted(answers.read(reply('{"message": "Burger King has been deleted.", "status": "success"}')))


@pytest.mark.parametrize("wrapper", ["cash_sales", "invoices"])
def test_both_invoice_wrappers_are_read_a_record_at_a_time(wrapper):
    summaries = [{"api_code": f"inv{n}", "invoice_number": f"{n:06d}", "memo": 'has "invoice_number": inside'}
                 for n in range(5)]
    text = dumps({wrapper: summaries}).replace("/", "\\/")
    whole = WholeList(reply(text), ("cash_sales", "invoices"), "invoices")
    assert count_key(whole.text, "invoice_number") == 5 and whole.ends_whole()
    first, rest = whole.take(2), whole.take(10)
    assert [doc["api_code"] for doc, _ in first + rest] == [f"inv{n}" for n in range(5)]
    assert all(loads(raw) == doc for doc, raw in first + rest)
    assert whole.take(10) == []


def test_a_refusal_in_place_of_a_list_is_the_services_refusal():
    whole = WholeList(reply('{"message": "[apisecretkey] : Nope.", "status": "error"}'), ("companies",), "companies")
    assert whole.ends_whole()
    with pytest.raises(ValidationError, match="Nope"):
        whole.take(10)


def test_a_list_cut_just_after_a_record_is_not_whole():
    text = dumps({"companies": [COMPANY, COMPANY]})
    cut = text[: text.rindex("}", 0, len(text) - 2) + 1]
    assert cut.endswith("}") and not WholeList(reply(cut), ("companies",), "companies").ends_whole()
    with pytest.raises(BadResponse):
        WholeList(reply(cut), ("companies",), "companies").take(10)
