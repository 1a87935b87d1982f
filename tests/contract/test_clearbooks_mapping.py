"""Clear Books' wire shapes <-> domain models, without a server: the choices ``mapping`` documents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from app.domain import Account, Customer, DocumentStatus, Invoice, InvoiceLine, Payment
from app.domain.parties import Address
from providers.base import BadResponse, Entity, ValidationError
from providers.clearbooks import mapping, rawjson
from providers.decimal_json import dumps

WIRE_INVOICE = {
    "id": 1220, "documentNumber": "7", "formattedDocumentNumber": "INV-000007", "date": "2026-10-01",
    "dateAccrual": "2026-10-01", "datePaid": None, "reference": "PO 1", "currency": "GBP", "exchangeRate": None,
    "description": "", "status": "approved", "gross": Decimal("120.01"), "net": Decimal("100.01"),
    "vat": Decimal("20.00"), "vatTreatment": "standard",
    "lineItems": [{"description": "Survey", "unitPrice": Decimal("33.337"), "quantity": 3, "accountCode": 1001001,
                   "vatRateKey": "standard", "vatAmount": Decimal("20.00"), "stockItem": 31}],
    "customerId": 534, "dateDue": "2026-10-31", "due": Decimal("20.01"), "displayBankAccountId": 5,
    "internetPaymentAccountIds": [],
}


def read(entity: Entity, wire, reader):
    text = dumps(wire)
    items, texts = rawjson.records(f"[{text}]")
    return mapping.models(entity, items, texts, reader)[0]


def test_an_invoice_reads_with_the_services_own_totals():
    invoice = read(Entity.INVOICES, WIRE_INVOICE, mapping.invoice_domain)
    assert isinstance(invoice, Invoice) and invoice.remote_id == "1220" and invoice.number == "INV-000007"
    assert invoice.status is DocumentStatus.APPROVED and invoice.amount_paid == Decimal("100.00")
    totals = invoice.totals()
    assert (totals.net, totals.vat, totals.gross, totals.amount_due) == (
        Decimal("100.01"), Decimal("20.00"), Decimal("120.01"), Decimal("20.01"))
    line = invoice.lines[0]
    assert (line.item_code, line.account_code, line.vat_rate) == ("31", "1001001", Decimal(20))
    assert invoice.payload_hash == invoice.remote_version == rawjson.digest(dumps(WIRE_INVOICE))


def test_an_update_sends_only_what_changed_and_no_status_to_an_approved_document():
    current = read(Entity.INVOICES, {**WIRE_INVOICE, "status": "paid", "due": Decimal(0)}, mapping.invoice_domain)
    assert mapping.document_update_body(current, current) == {}
    assert mapping.document_update_body(current.model_copy(update={"status": DocumentStatus.APPROVED}), current) == {}
    assert mapping.document_update_body(current.model_copy(update={"reference": "PO 2"}), current) == {
        "reference": "PO 2"}
    draft = current.model_copy(update={"status": DocumentStatus.DRAFT})
    assert mapping.document_update_body(draft.model_copy(update={"status": "approved"}), draft) == {
        "status": "approved"}
    with pytest.raises(ValidationError, match="delete it"):
        mapping.document_update_body(current.model_copy(update={"status": "void"}), current)


def test_a_line_states_its_vat_only_when_the_service_would_not_work_it_out():
    line = InvoiceLine(unit_price=Decimal("10.00"), quantity=Decimal(3), vat_rate_key="standard",
                       vat_rate=Decimal(20), vat_amount=Decimal("6.00"), account_code="1001001")
    doc = Invoice(customer_remote_id="1", date=dt.date(2026, 1, 1), lines=[line], status="approved")
    assert "vatAmount" not in mapping.document_to_wire(doc)["lineItems"][0]
    odd = doc.model_copy(update={"lines": [line.model_copy(update={"vat_amount": Decimal("5.99")})]})
    assert mapping.document_to_wire(odd)["lineItems"][0]["vatAmount"] == Decimal("5.99")
    discounted = doc.model_copy(update={"lines": [line.model_copy(update={"discount_percent": Decimal(10),
                                                                          "vat_amount": None})]})
    item = mapping.document_to_wire(discounted)["lineItems"][0]
    assert item["unitPrice"] == Decimal("9.00") and item["quantity"] == 3 and "vatAmount" not in item
    body = mapping.document_create_body(doc, "key-1")
    assert body["description"] == "ledgerdesk:key-1" and body["vatTreatment"] == "standard"
    assert body["status"] == "approved" and body["customerId"] == 1
    assert mapping.document_number("INV-000123", "invoice") == "123"
    assert mapping.document_number("SCN-000000", "credit_note") == "0"
    with pytest.raises(ValidationError, match="account code"):
        mapping.document_to_wire(doc.model_copy(update={"lines": [line.model_copy(update={"account_code": "4000"
                                                                                           "a"})]}))


def test_customers_keep_title_and_building_out_of_the_domain():
    wire = {"id": 9, "name": "Rowe Ltd", "contactName": {"title": "Dr", "forenames": "Ann Marie", "surname": "Rowe"},
            "email": "", "phone": "", "address": {"building": "Unit 4", "line1": "Castle St", "line2": "", "town": "Ely",
                                                  "county": "Cambs", "postcode": "CB7 4AA", "countryCode": "GB"},
            "vatNumber": "", "companyNumber": "", "archived": False}
    customer = read(Entity.CUSTOMERS, wire, mapping.customer_domain)
    assert customer.contact_name == "Ann Marie Rowe" and customer.address.line1 == "Unit 4, Castle St"
    assert customer.address.region == "Cambs" and customer.currency == "GBP"
    same = mapping.changes(mapping.customer_to_wire(customer), mapping.customer_to_wire(customer))
    assert same == {}
    moved = customer.model_copy(update={"address": Address(line1="1 New St", town="Ely")})
    body = mapping.changes(mapping.customer_to_wire(moved), mapping.customer_to_wire(customer))
    assert set(body) == {"address"} and body["address"]["building"] == ""
    assert mapping.customer_to_wire(Customer(name="X", contact_name="Ann Marie Rowe"))["contactName"] == {
        "forenames": "Ann Marie", "surname": "Rowe"}


def test_payments_accounts_and_ledger_lines():
    out = read(Entity.PAYMENTS, {"id": 3, "date": "2026-01-02", "accountingDate": "2026-01-02", "description": "Rent",
                                 "amount": Decimal("-900.00"), "currency": "GBP", "exchangeRate": None,
                                 "contactId": 7, "paymentMethodId": 1, "bankAccountId": 5}, mapping.payment_domain)
    assert out.direction == "paid" and out.amount == Decimal("900.00") and out.reference == "Rent"
    assert mapping.payment_to_wire(out)["amount"] == Decimal("-900.00")
    blank = Payment(party_remote_id="7", bank_account_remote_id="5", date=dt.date(2026, 1, 2), amount=Decimal(1))
    assert mapping.payment_to_wire(blank)["description"] == "Receipt"
    for heading, kind in ((1001, "revenue"), (2003, "expense"), (7502, "asset"), (8002, "liability"),
                          (9001, "equity")):
        account = read(Entity.ACCOUNTS, {"id": heading * 1000 + 1, "name": "A", "heading": heading,
                                          "defaultVatRate": "", "sales": False, "purchases": False},
                       mapping.account_domain)
        assert account.classification == kind and account.code == str(heading * 1000 + 1)
    assert mapping.heading_for(Account(code="2004", name="Phones", classification="expense")) == 2004
    assert mapping.heading_for(Account(code="7502003", name="Bank", classification="asset")) == 7502
    assert mapping.heading_for(Account(code="1001", name="Odd", classification="asset")) == 7001
    assert mapping.heading_for(Account(code="6100", name="Rent", classification="expense")) == 2005
    numbers = mapping.LineNumbers()
    lines = [{"transactionId": t, "accountingDate": "2026-01-01", "accountCodeId": 7502001, "amount": Decimal(a)}
             for t, a in ((5, "1.00"), (5, "-1.00"), (6, "2.50"))]
    ids = [numbers.ledger_line_domain(line, dumps(line))["remote_id"] for line in lines]
    assert ids == ["5:1", "5:2", "6:1"]


def test_a_reissued_document_names_its_previous_id():
    invoice = read(Entity.INVOICES, WIRE_INVOICE, mapping.invoice_domain)
    assert mapping.reissued(invoice, "1220") is invoice and mapping.previous_remote_id(invoice) is None
    marked = mapping.reissued(invoice, "1000")
    assert isinstance(marked, Invoice) and marked.previous_remote_id == "1000"
    assert marked.model_dump() == invoice.model_dump() and marked.remote_id == "1220"


def test_the_raw_reader_keeps_each_records_text():
    values, texts = rawjson.records(' [ {"a": 1.10} , {"b": [1, 2]} ]\n')
    assert values == [{"a": Decimal("1.10")}, {"b": [1, 2]}] and texts == ['{"a": 1.10}', '{"b": [1, 2]}']
    assert rawjson.records("[]") == ([], [])
    for bad in ("[", "[1,]", "[1 2]", "{}", "[1]]", "", "[NaN]"):
        with pytest.raises(BadResponse):
            rawjson.records(bad)
