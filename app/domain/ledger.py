"""The chart of accounts and the double-entry lines that reports are built from."""

from __future__ import annotations

import datetime as dt
import enum

from pydantic import Field

from app.domain.money import Amount
from app.domain.record import Record


class Classification(enum.StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"

    @property
    def on_balance_sheet(self) -> bool:
        return self in (Classification.ASSET, Classification.LIABILITY, Classification.EQUITY)


class Account(Record):
    code: str = Field(title="Code", min_length=1)
    name: str = Field(title="Name", min_length=1)
    classification: Classification = Field(title="Classification")
    archived: bool = Field(default=False, title="Archived")


class LedgerLine(Record):
    """One side of a posting: debits positive, credits negative, so a transaction sums to zero."""

    transaction_id: str = Field(title="Transaction")
    date: dt.date = Field(title="Date")
    account_code: str = Field(title="Account")
    amount: Amount = Field(title="Amount")
    currency: str = Field(default="GBP", title="Currency", min_length=3, max_length=3)
    description: str = Field(default="", title="Description")
