"""The AccountsIQ mapping builds invoice lines without pydantic's validation when the values are already
of the right types and in range: it must build exactly what the model would, and stop being taken the
day the model gains a validator the fast path does not apply."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from app.domain import InvoiceLine
from providers.accountsiq import mapping

WIRE_LINE = {"StockItemDescription": " Oak dining table ", "StockItemID": "FUR-OAK-T", "InvoicedQuantity": "8",
             "StockItemPrice": "836.07", "DiscountRate": "12.5", "TaxCode": "S", "TaxRate": "20.00",
             "TaxAmount": "1170.50", "GLAccountCode": "4000", "OrderItemID": None}


def test_the_fast_path_knows_every_validator_and_field_of_the_line_model():
    decorators = InvoiceLine.__pydantic_decorators__
    assert set(decorators.field_validators) == mapping.LINE_VALIDATORS
    assert not decorators.model_validators and not decorators.root_validators and not decorators.validators
    assert set(mapping._line(WIRE_LINE).__dict__) == set(InvoiceLine.model_fields)


def test_a_line_built_fast_is_the_line_the_model_validates():
    fast = mapping._line(WIRE_LINE)
    validated = InvoiceLine.model_validate(fast.model_dump())
    assert fast == validated
    assert fast.model_fields_set == validated.model_fields_set
    assert fast.model_dump_json() == validated.model_dump_json()
    assert (fast.description, fast.discount_percent, fast.vat_amount) == ("Oak dining table", Decimal("12.5"),
                                                                          Decimal("1170.50"))
    fast.quantity = "9"  # still validated on assignment, like any other line
    assert fast.quantity == Decimal(9)
    with pytest.raises(ValidationError):
        fast.discount_percent = Decimal(101)


@pytest.mark.parametrize(("member", "value"), [("DiscountRate", "100.01"), ("DiscountRate", "-1"),
                                               ("TaxRate", "250"), ("TaxRate", "-0.5")])
def test_an_out_of_range_rate_is_refused_by_the_model_itself(member, value):
    with pytest.raises(ValidationError):
        mapping._line({**WIRE_LINE, member: value})
