"""Money is exact: line by line, quantised per currency, and never a float from JSON text to the store and back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.domain import Invoice, InvoiceLine, Rounding, minor_units, quantize
from app.store import CompanyStore, tables
from providers import decimal_json

CURRENCIES = ["GBP", "EUR", "USD", "JPY", "KWD", "ISK", "BHD", "CHF"]

amounts = st.decimals(min_value=Decimal("-100000"), max_value=Decimal("100000"), places=4, allow_nan=False,
                      allow_infinity=False)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("50000"), places=4, allow_nan=False,
                     allow_infinity=False)
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3, allow_nan=False,
                         allow_infinity=False)
rates = st.sampled_from([Decimal(0), Decimal(5), Decimal(20), Decimal("13.5"), Decimal(23)])
lines = st.builds(InvoiceLine, description=st.text(max_size=30), quantity=quantities, unit_price=prices,
                  discount_percent=st.sampled_from([Decimal(0), Decimal(10), Decimal("12.5")]), vat_rate=rates)


@given(amount=amounts, currency=st.sampled_from(CURRENCIES), rounding=st.sampled_from(list(Rounding)))
def test_quantize_lands_on_the_minor_unit_and_moves_less_than_half_of_it(amount, currency, rounding):
    result = quantize(amount, currency, rounding)
    assert result.as_tuple().exponent == -minor_units(currency)
    assert abs(result - amount) <= Decimal(1).scaleb(-minor_units(currency)) / 2


def test_half_up_and_bankers_rounding_differ_where_they_should():
    assert quantize(Decimal("2.345"), "GBP", Rounding.HALF_UP) == Decimal("2.35")
    assert quantize(Decimal("2.345"), "GBP", Rounding.HALF_EVEN) == Decimal("2.34")
    assert quantize(Decimal("2.5"), "JPY", Rounding.HALF_EVEN) == Decimal("2")
    assert quantize(Decimal("1.2345"), "KWD") == Decimal("1.235")


@settings(max_examples=200)
@given(items=st.lists(lines, min_size=1, max_size=10), currency=st.sampled_from(CURRENCIES),
       rounding=st.sampled_from(list(Rounding)))
def test_document_totals_are_the_sum_of_rounded_lines(items, currency, rounding):
    doc = Invoice(customer_remote_id="c1", date=dt.date(2026, 1, 1), currency=currency, rounding=rounding,
                  lines=items)
    quantum = Decimal(1).scaleb(-minor_units(currency))
    expected_net = expected_vat = Decimal(0)
    for line in items:
        gross_price = line.quantity * line.unit_price * (100 - line.discount_percent) / 100
        net = gross_price.quantize(quantum, rounding=str(rounding))
        expected_net += net
        expected_vat += (net * line.vat_rate / 100).quantize(quantum, rounding=str(rounding))
    totals = doc.totals()
    assert (totals.net, totals.vat) == (expected_net, expected_vat)
    assert totals.gross == totals.net + totals.vat
    for value in totals:
        assert isinstance(value, Decimal)
        assert value == value.quantize(quantum)


def test_vat_is_rounded_per_line_not_on_the_total():
    # Three lines of 0.10 net at 20%: each line's VAT is 0.02, so 0.06 in all; 20% of 0.30 would be 0.06 too,
    # but three lines of 0.125 (VAT 0.025 -> 0.03 each) make 0.09 against 20% of 0.375 -> 0.08.
    doc = Invoice(customer_remote_id="c1", date=dt.date(2026, 1, 1),
                  lines=[InvoiceLine(quantity=1, unit_price="0.125", vat_rate=20)] * 3)
    assert doc.totals().net == Decimal("0.39")
    assert doc.totals().vat == Decimal("0.09")


def test_a_provider_stated_line_vat_wins():
    doc = Invoice(customer_remote_id="c1", date=dt.date(2026, 1, 1),
                  lines=[InvoiceLine(quantity=1, unit_price="10.00", vat_rate=20, vat_amount="1.99")])
    assert doc.totals().vat == Decimal("1.99")


@pytest.mark.parametrize("value", [0.1, 12.5, float("nan")])
def test_a_float_is_refused_with_a_sentence(value):
    with pytest.raises(ValidationError) as error:
        InvoiceLine(unit_price=value)
    assert "floating-point" in str(error.value)


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", True])
def test_nonsense_is_not_an_amount(value):
    with pytest.raises(ValidationError):
        InvoiceLine(unit_price=value)


@settings(max_examples=50, deadline=None)
@given(prices=st.lists(prices, min_size=1, max_size=5), currency=st.sampled_from(["GBP", "JPY", "KWD"]))
def test_no_float_from_json_text_to_the_store_and_back(tmp_path_factory, prices, currency):
    """Amounts written as JSON numbers by a service come back from the store digit for digit."""
    text = decimal_json.dumps({
        "customer_remote_id": "c1", "date": "2026-02-03", "currency": currency, "remote_id": "r1",
        "lines": [{"description": f"line {i}", "quantity": Decimal("1.5"), "unit_price": price, "vat_rate": 20}
                  for i, price in enumerate(prices)]})
    parsed = decimal_json.loads(text)
    assert all(isinstance(line["unit_price"], Decimal) for line in parsed["lines"])
    doc = Invoice.model_validate(parsed)
    path = tmp_path_factory.mktemp("store") / "money.sqlite"
    with CompanyStore.create(path) as store:
        store.upsert_now(tables.INVOICES, [doc])
        back = store.get_by_remote_id(tables.INVOICES, "r1")
    assert [line.unit_price for line in back.lines] == [line.unit_price for line in doc.lines]
    assert [str(line.unit_price) for line in back.lines] == [str(p) for p in prices]
    assert back.totals() == doc.totals()
    # And out to the wire again: the JSON numbers are exactly the ones that came in.
    assert decimal_json.loads(decimal_json.dumps([line.unit_price for line in back.lines])) == prices


def test_decimal_json_writes_exact_numbers_and_never_floats():
    assert decimal_json.dumps({"a": Decimal("12.40")}) == '{"a":12.40}'
    with pytest.raises(TypeError):
        decimal_json.dumps(0.1)
    with pytest.raises(decimal_json.JSONDecodeError):
        decimal_json.loads('{"a": NaN}')
