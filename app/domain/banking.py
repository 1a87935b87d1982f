"""Bank accounts, their transactions, and the payments and allocations that settle documents."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from pydantic import Field

from app.domain.money import Amount
from app.domain.record import Record


class BankAccount(Record):
    name: str = Field(title="Name", min_length=1)
    account_number: str = Field(default="", title="Account number")
    sort_code: str = Field(default="", title="Sort code")
    iban: str = Field(default="", title="IBAN")
    currency: str = Field(default="GBP", title="Currency", min_length=3, max_length=3)
    balance: Amount = Field(default=Decimal(0), title="Balance")
    account_code: str = Field(default="", title="Ledger account")


class BankTransaction(Record):
    bank_account_remote_id: str | None = Field(default=None, title="Bank account")
    date: dt.date = Field(title="Date")
    description: str = Field(default="", title="Description")
    reference: str = Field(default="", title="Reference")
    # Money in is positive, money out negative.
    amount: Amount = Field(title="Amount")
    currency: str = Field(default="GBP", title="Currency", min_length=3, max_length=3)
    reconciled: bool = Field(default=False, title="Reconciled")


class PaymentDirection(enum.StrEnum):
    RECEIVED = "received"
    PAID = "paid"


class Payment(Record):
    direction: PaymentDirection = Field(default=PaymentDirection.RECEIVED, title="Direction")
    party_remote_id: str | None = Field(default=None, title="Customer or supplier")
    bank_account_remote_id: str | None = Field(default=None, title="Bank account")
    date: dt.date = Field(title="Date")
    amount: Amount = Field(title="Amount", gt=0)
    currency: str = Field(default="GBP", title="Currency", min_length=3, max_length=3)
    reference: str = Field(default="", title="Reference")


class Allocation(Record):
    """The part of a payment that settles one document."""

    payment_remote_id: str | None = Field(default=None, title="Payment")
    document_remote_id: str | None = Field(default=None, title="Invoice or credit note")
    amount: Amount = Field(title="Amount", gt=0)
