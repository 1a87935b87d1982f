"""Validation errors read as sentences a bookkeeper understands; the demo generator is sound."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from app.domain import Customer, Invoice, InvoiceLine, readable_errors
from app.domain.generate import DemoCompany


def sentences(model, **fields):
    with pytest.raises(ValidationError) as error:
        model(**fields)
    return readable_errors(error.value, model)


def test_customer_errors_name_the_field_as_the_form_does():
    found = sentences(Customer, name="", email="not-an-email", currency="pounds")
    assert "Name: this cannot be empty." in found
    assert "Email: “not-an-email” is not an email address (it should look like name@example.com)." in found
    assert any(s.startswith("Currency:") for s in found)


def test_invoice_errors_say_what_is_wrong():
    found = sentences(Invoice, customer_remote_id="c", date=dt.date(2026, 3, 2), due_date=dt.date(2026, 3, 1))
    assert found == ["The due date (01 Mar 2026) is before the document date (02 Mar 2026)."]
    found = sentences(Invoice, date="31/02/2026", customer_remote_id="c")
    assert found[0].startswith("Date: this is not a date")
    found = sentences(Invoice, date=dt.date(2026, 1, 1), customer_remote_id="c",
                      lines=[{"quantity": "two", "unit_price": "1"}])
    assert found == ["Line 1, quantity: “two” is not an amount."]
    assert sentences(Invoice, date=dt.date(2026, 1, 1)) == ["Choose a customer for this document."]


def test_discount_and_rate_bounds():
    with pytest.raises(ValidationError):
        InvoiceLine(discount_percent=120)
    with pytest.raises(ValidationError):
        InvoiceLine(vat_rate=-1)


def test_generator_is_deterministic_valid_and_balanced():
    first = DemoCompany("Acme", "tiny", seed=3)
    again = DemoCompany("Acme", "tiny", seed=3)
    assert [i.model_dump() for i in first.invoices()] == [i.model_dump() for i in again.invoices()]
    assert [c.model_dump() for c in first.customers()] == [c.model_dump() for c in again.customers()]
    for invoice in first.invoices():
        Invoice.model_validate(invoice.model_dump())  # built without validation: must still be valid
        assert 1 <= len(invoice.lines) <= 10
    for customer in first.customers():
        Customer.model_validate(customer.model_dump())
    by_transaction: dict[str, Decimal] = {}
    for line in first.ledger_lines():
        by_transaction[line.transaction_id] = by_transaction.get(line.transaction_id, Decimal(0)) + line.amount
    assert by_transaction and all(total == 0 for total in by_transaction.values())
    debtors = sum((line.amount for line in first.ledger_lines() if line.account_code == "1100"), Decimal(0))
    owed = sum((i.amount_due for i in first.invoices() if i.status not in ("draft", "void")), Decimal(0))
    assert debtors == owed


def test_sizes():
    assert DemoCompany("x", "medium").counts == (5_000, 50_000)
    assert DemoCompany("x", 1234).counts.invoices == 1234
