"""Reports for Clear Books, worked out here: the API has ledger transactions and account balances, not
reports. Each report is one account-balances call plus the chart of accounts.

Balances are the service's sums of ledger lines in a date range, debits positive. The profit and loss
uses the range asked for; the balance sheet and trial balance use everything up to ``date_to`` (from
``EPOCH``), with the balance sheet's profit to date shown as "current earnings" so that it balances.
Every row keeps the raw balance; the totals are in the usual signs (income and liabilities positive).
Aged receivables and customer statements come from invoices, which the app already holds: the client
does not make them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from app.domain import Classification

EPOCH = dt.date(1900, 1, 1)
KINDS = ("profit_loss", "balance_sheet", "trial_balance")
ZERO = Decimal(0)


def date_range(kind: str, date_from: dt.date | None, date_to: dt.date | None, today: dt.date
               ) -> tuple[dt.date, dt.date]:
    end = date_to or today
    if kind == "profit_loss":
        year_before = end.replace(year=end.year - 1, day=min(end.day, 28) if end.month == 2 else end.day)
        return date_from or year_before + dt.timedelta(days=1), end
    return EPOCH, end


def build(kind: str, date_from: dt.date, date_to: dt.date, balances: dict[str, Decimal],
          accounts: dict[str, tuple[str, Classification]], currency: str = "GBP") -> dict[str, Any]:
    """``balances`` by account code id; ``accounts`` code -> (name, classification)."""
    rows = []
    for code in sorted(balances):
        name, classification = accounts.get(code, (f"Account {code}", None))
        rows.append({"account_code": code, "name": name,
                     "classification": str(classification) if classification else "", "balance": balances[code]})
    report: dict[str, Any] = {"kind": kind, "date_from": None if kind != "profit_loss" else date_from.isoformat(),
                              "date_to": date_to.isoformat(), "currency": currency,
                              "source": "Clear Books account balances, computed by Ledgerdesk"}

    def total(*kinds: Classification) -> Decimal:
        wanted = {str(k) for k in kinds}
        return sum((row["balance"] for row in rows if row["classification"] in wanted), ZERO)

    if kind == "profit_loss":
        rows = [row for row in rows if row["classification"] in (Classification.REVENUE, Classification.EXPENSE)]
        income, expenses = -total(Classification.REVENUE), total(Classification.EXPENSE)
        report["rows"] = rows
        report["totals"] = {"income": income, "expenses": expenses, "net_profit": income - expenses}
    elif kind == "balance_sheet":
        earnings = -total(Classification.REVENUE, Classification.EXPENSE)
        report["rows"] = [row for row in rows if row["classification"] in
                          (Classification.ASSET, Classification.LIABILITY, Classification.EQUITY)]
        assets, liabilities = total(Classification.ASSET), -total(Classification.LIABILITY)
        equity = -total(Classification.EQUITY) + earnings
        report["totals"] = {"assets": assets, "liabilities": liabilities, "equity": equity,
                            "current_earnings": earnings, "balanced": assets == liabilities + equity}
    else:
        report["rows"] = rows
        debit = sum((row["balance"] for row in rows if row["balance"] > 0), ZERO)
        credit = -sum((row["balance"] for row in rows if row["balance"] < 0), ZERO)
        report["totals"] = {"debit": debit, "credit": credit, "balanced": debit == credit}
    return report
