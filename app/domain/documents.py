"""Sales documents: invoices and credit notes, with totals computed line by line.

Services round VAT per line and add the rounded lines up, so the document's VAT can differ by a
penny from "net total x rate". We do the same, with the rounding mode the provider uses.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.domain.money import Amount, Rounding, minor_units
from app.domain.record import Record

_HUNDRED = Decimal(100)


class DocumentStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    POSTED = "posted"
    PAID = "paid"
    VOID = "void"


class InvoiceLine(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid", validate_assignment=True)

    description: str = Field(default="", title="Description")
    item_code: str = Field(default="", title="Item code")
    quantity: Amount = Field(default=Decimal(1), title="Quantity")
    unit_price: Amount = Field(default=Decimal(0), title="Unit price")
    discount_percent: Amount = Field(default=Decimal(0), title="Discount %")
    vat_rate_key: str = Field(default="", title="VAT rate")
    vat_rate: Amount = Field(default=Decimal(0), title="VAT rate %")
    # Set when the service states the line's VAT itself (it wins over our own arithmetic).
    vat_amount: Amount | None = Field(default=None, title="VAT")
    account_code: str = Field(default="", title="Account code")

    @field_validator("discount_percent")
    @classmethod
    def _discount_is_a_percentage(cls, value: Decimal) -> Decimal:
        if not (0 <= value <= 100):
            raise ValueError("a discount must be between 0 and 100 per cent")
        return value

    @field_validator("vat_rate")
    @classmethod
    def _rate_is_sane(cls, value: Decimal) -> Decimal:
        if not (0 <= value <= 100):
            raise ValueError("a VAT rate must be between 0 and 100 per cent")
        return value

    def amounts(self, quantum: Decimal, rounding: str) -> tuple[Decimal, Decimal]:
        """(net, VAT) of the line, each rounded to ``quantum`` (the currency's minor unit)."""
        amount = self.quantity * self.unit_price
        if self.discount_percent:
            amount = amount * (_HUNDRED - self.discount_percent) / _HUNDRED
        net = amount.quantize(quantum, rounding)
        if self.vat_amount is not None:
            return net, self.vat_amount.quantize(quantum, rounding)
        return net, (net * self.vat_rate / _HUNDRED).quantize(quantum, rounding)

    def net(self, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Decimal:
        return self.amounts(Decimal(1).scaleb(-minor_units(currency)), str(rounding))[0]

    def vat(self, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Decimal:
        return self.amounts(Decimal(1).scaleb(-minor_units(currency)), str(rounding))[1]


class Totals(NamedTuple):
    net: Decimal
    vat: Decimal
    gross: Decimal
    amount_due: Decimal


class SalesDocument(Record):
    kind: Literal["invoice", "credit_note"] = "invoice"
    number: str = Field(default="", title="Number")
    customer_local_id: int | None = Field(default=None, title="Customer")
    customer_remote_id: str | None = Field(default=None, title="Customer at the service")
    customer_name: str = Field(default="", title="Customer name")
    date: dt.date = Field(title="Date")
    due_date: dt.date | None = Field(default=None, title="Due date")
    reference: str = Field(default="", title="Reference")
    currency: str = Field(default="GBP", title="Currency", min_length=3, max_length=3)
    exchange_rate: Amount = Field(default=Decimal(1), title="Exchange rate")
    status: DocumentStatus = Field(default=DocumentStatus.DRAFT, title="Status")
    lines: list[InvoiceLine] = Field(default_factory=list, title="Lines")
    amount_paid: Amount = Field(default=Decimal(0), title="Amount paid")
    rounding: Rounding = Field(default=Rounding.HALF_UP, title="Rounding")

    @field_validator("currency")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("exchange_rate")
    @classmethod
    def _positive_rate(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("the exchange rate must be more than zero")
        return value

    @model_validator(mode="after")
    def _due_after_issue(self) -> SalesDocument:
        if self.due_date is not None and self.due_date < self.date:
            raise ValueError(
                f"The due date ({self.due_date:%d %b %Y}) is before the document date ({self.date:%d %b %Y})"
            )
        if self.customer_local_id is None and self.customer_remote_id is None:
            raise ValueError("Choose a customer for this document")
        return self

    def totals(self) -> Totals:
        quantum = Decimal(1).scaleb(-minor_units(self.currency))
        rounding = str(self.rounding)
        net = vat = Decimal(0)
        # InvoiceLine.amounts inlined: this runs for every document of every pull.
        for line in self.lines:
            amount = line.quantity * line.unit_price
            if line.discount_percent:
                amount = amount * (_HUNDRED - line.discount_percent) / _HUNDRED
            line_net = amount.quantize(quantum, rounding)
            net += line_net
            if line.vat_amount is not None:
                vat += line.vat_amount.quantize(quantum, rounding)
            else:
                vat += (line_net * line.vat_rate / _HUNDRED).quantize(quantum, rounding)
        gross = net + vat
        due = Decimal(0) if self.status is DocumentStatus.VOID else gross - self.amount_paid
        return Totals(net, vat, gross, due)

    @property
    def net(self) -> Decimal:
        return self.totals().net

    @property
    def vat(self) -> Decimal:
        return self.totals().vat

    @property
    def gross(self) -> Decimal:
        return self.totals().gross

    @property
    def amount_due(self) -> Decimal:
        return self.totals().amount_due

    def is_overdue(self, today: dt.date) -> bool:
        return self.due_date is not None and self.due_date < today and self.amount_due > 0


class Invoice(SalesDocument):
    kind: Literal["invoice"] = "invoice"


class CreditNote(SalesDocument):
    kind: Literal["credit_note"] = "credit_note"
