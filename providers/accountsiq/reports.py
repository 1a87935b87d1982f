"""AccountsIQ's report answers as plain structured dicts (money as Decimal, dates as ``date``).

- ``trial_balance``: ``GetTrialBalanceForPeriod`` for the period holding ``date_to``: every GL account's
  movement in the period and balance at its end (debit positive), with debit/credit columns and totals.
- ``profit_loss``: the trial balances of every period from ``date_from`` to ``date_to`` (whole periods:
  the service reports by period), income and expense accounts' movements added up, classified by the
  chart's category types. Income is shown positive, expenses positive, profit = income - expenses.
- ``balance_sheet``: the trial balance at ``date_to``: assets (debit positive), liabilities and capital
  (credit positive), and this year's result so far (income less expenses, year to date), which is what
  makes it balance.
- ``aged_receivables``: ``GetCustomersStatement`` for every customer who owes something, aged by
  transaction date against ``date_to`` (0-29, 30-59, 60-89, 90-119, 120+ days, and future).
- ``customer_statement``: the same for one customer with every transaction (``showZeros``), a running
  balance from ``date_from``, and the credit position from ``GetCustomerBalanceInformation``.
- ``account_balances``: ``GetAccountBalanceInformation``: each customer account's balance, credit limit
  and what is left of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from app.domain import Classification
from providers.accountsiq.envelope import Answer, Q, Unreadable, date_of, decimal_of, int_of, members, text_of

ZERO = Decimal(0)
BUCKETS = (("current", "From0To30DaysBalanceBucket"), ("days_30", "From30To60DaysBalanceBucket"),
           ("days_60", "From60To90DaysBalanceBucket"), ("days_90", "From90To120DaysBalanceBucket"),
           ("days_120_plus", "From120DaysPlusBalanceBucket"), ("future", "FutureBalanceBucket"))


def _items(parent: Any, tag: str) -> list:
    if parent is None:
        return []
    return [child for child in parent if child.tag == Q + tag]


def trial_balance(answer: Answer, currency: str) -> dict[str, Any]:
    head = answer.result_members()
    rows = []
    for item in _items(answer.result.find(Q + "Balances") if answer.result is not None else None, "WSBalance"):
        record = members(item)
        balance = decimal_of(record, "OverallBalance", ZERO)
        rows.append({
            "account_code": text_of(record, "GLAccountCode"), "account_name": text_of(record, "GLAccountName"),
            "movement": decimal_of(record, "OverallPeriodMovement", ZERO), "balance": balance,
            "debit": balance if balance > 0 else ZERO, "credit": -balance if balance < 0 else ZERO,
        })
    if any(not row["account_code"] for row in rows):
        raise Unreadable("a trial balance row has no GL account code")
    return {
        "kind": "trial_balance", "currency": currency,
        "period": {"name": text_of(head, "PeriodName"), "number": int_of(head, "PeriodNumber", 0),
                   "year": int_of(head, "FinancialYear", 0)},
        "rows": rows,
        "totals": {"debit": sum((r["debit"] for r in rows), ZERO), "credit": sum((r["credit"] for r in rows), ZERO),
                   "movement": sum((r["movement"] for r in rows), ZERO),
                   "balance": sum((r["balance"] for r in rows), ZERO)},
    }


def periods(answer: Answer) -> list[dict[str, Any]]:
    """``GetPeriodList``: id, year, number, name, start and end of each period, in order."""
    out = []
    for item in answer.items("WSFinancialPeriodDTO"):
        record = members(item)
        out.append({"id": int_of(record, "PeriodID"), "year": int_of(record, "FinancialYear"),
                    "number": int_of(record, "PeriodNumber"), "name": text_of(record, "PeriodName"),
                    "start": date_of(record, "StartDate"), "end": date_of(record, "EndDate")})
    out.sort(key=lambda period: period["start"])
    return out


def profit_loss(balances: Iterable[dict[str, Any]], classes: dict[str, Classification], currency: str,
                date_from: dt.date, date_to: dt.date, covered: list[dict[str, Any]]) -> dict[str, Any]:
    """Income and expense movements added up over the trial balances of the periods covered."""
    movement: dict[str, Decimal] = {}
    names: dict[str, str] = {}
    for report in balances:
        for row in report["rows"]:
            code = row["account_code"]
            if classes.get(code) in (Classification.REVENUE, Classification.EXPENSE):
                movement[code] = movement.get(code, ZERO) + row["movement"]
                names[code] = row["account_name"]
    income = [{"account_code": code, "account_name": names[code], "amount": -amount}
              for code, amount in sorted(movement.items()) if classes[code] is Classification.REVENUE]
    expenses = [{"account_code": code, "account_name": names[code], "amount": amount}
                for code, amount in sorted(movement.items()) if classes[code] is Classification.EXPENSE]
    total_income = sum((row["amount"] for row in income), ZERO)
    total_expenses = sum((row["amount"] for row in expenses), ZERO)
    return {"kind": "profit_loss", "currency": currency, "date_from": date_from, "date_to": date_to,
            "periods": [period["name"] for period in covered], "income": income, "expenses": expenses,
            "total_income": total_income, "total_expenses": total_expenses,
            "net_profit": total_income - total_expenses}


def balance_sheet(report: dict[str, Any], classes: dict[str, Classification], currency: str,
                  date_to: dt.date) -> dict[str, Any]:
    sections: dict[Classification, list[dict[str, Any]]] = {kind: [] for kind in Classification}
    for row in report["rows"]:
        kind = classes.get(row["account_code"])
        if kind is None:
            raise Unreadable(f"the trial balance names GL account {row['account_code']}, which the chart lacks")
        sign = 1 if kind is Classification.ASSET else -1
        sections[kind].append({"account_code": row["account_code"], "account_name": row["account_name"],
                               "amount": sign * row["balance"]})
    # Income and expense balances are this year's so far: the result not yet in reserves.
    result = sum((row["amount"] for row in sections[Classification.REVENUE]), ZERO) + \
        sum((row["amount"] for row in sections[Classification.EXPENSE]), ZERO)
    assets = sum((row["amount"] for row in sections[Classification.ASSET]), ZERO)
    liabilities = sum((row["amount"] for row in sections[Classification.LIABILITY]), ZERO)
    capital = sum((row["amount"] for row in sections[Classification.EQUITY]), ZERO)
    return {"kind": "balance_sheet", "currency": currency, "date_to": date_to, "period": report["period"],
            "assets": sections[Classification.ASSET], "liabilities": sections[Classification.LIABILITY],
            "capital": sections[Classification.EQUITY], "current_year_result": result,
            "total_assets": assets, "total_liabilities": liabilities, "total_capital": capital + result,
            "balanced": assets == liabilities + capital + result}


def statements(answer: Answer) -> list[dict[str, Any]]:
    """``GetCustomersStatement``: per customer, the ageing buckets and the transactions listed."""
    out = []
    for item in answer.items("CustomerStatement"):
        state_element = item.find(Q + "CustomerState")
        if state_element is None:
            raise Unreadable("a customer statement has no CustomerState")
        state = members(state_element)
        code = text_of(state, "CustomerCode")
        if not code:
            raise Unreadable("a customer statement has no CustomerCode")
        transactions = []
        for row in _items(item.find(Q + "TransactionList"), "TransactionState"):
            record = members(row)
            transactions.append({
                "transaction_id": text_of(record, "TransactionReference"), "type": text_of(record, "Type"),
                "number": text_of(record, "InternalNumber"), "reference": text_of(record, "ExternalReference"),
                "date": date_of(record, "TransactionDate"), "description": text_of(record, "Description"),
                "amount": decimal_of(record, "Amount", ZERO),
                "outstanding": decimal_of(record, "OutstandingAmount", ZERO),
            })
        out.append({"customer_code": code, "balance": decimal_of(state, "CurrentBalance", ZERO),
                    "ageing": {name: decimal_of(state, member, ZERO) for name, member in BUCKETS},
                    "transactions": transactions})
    return out


def aged_receivables(rows: list[dict[str, Any]], currency: str, as_at: dt.date) -> dict[str, Any]:
    customers = [{"customer_code": row["customer_code"], "balance": row["balance"], **row["ageing"]}
                 for row in rows if row["balance"] or any(row["ageing"].values())]
    totals = {name: sum((row[name] for row in customers), ZERO) for name, _ in BUCKETS}
    totals["balance"] = sum((row["balance"] for row in customers), ZERO)
    return {"kind": "aged_receivables", "currency": currency, "as_at": as_at, "buckets": [n for n, _ in BUCKETS],
            "customers": customers, "totals": totals}


def customer_statement(row: dict[str, Any] | None, balance: dict[str, Any] | None, code: str, currency: str,
                       date_from: dt.date | None, as_at: dt.date) -> dict[str, Any]:
    transactions = sorted(row["transactions"] if row else [], key=lambda t: (t["date"], t["transaction_id"]))
    opening = sum((t["amount"] for t in transactions if date_from and t["date"] < date_from), ZERO)
    running = opening
    listed = []
    for item in transactions:
        if date_from and item["date"] < date_from:
            continue
        running += item["amount"]
        listed.append({**item, "balance": running})
    return {"kind": "customer_statement", "currency": currency, "customer_code": code, "date_from": date_from,
            "as_at": as_at, "opening_balance": opening, "transactions": listed, "closing_balance": running,
            "ageing": row["ageing"] if row else {name: ZERO for name, _ in BUCKETS},
            "credit_limit": balance["credit_limit"] if balance else None,
            "credit_left": balance["credit_left"] if balance else None}


def account_balances(answer: Answer) -> list[dict[str, Any]]:
    out = []
    for item in answer.items("AccountBalanceInformation"):
        record = members(item)
        out.append({"account_id": int_of(record, "AccountID", 0), "customer_code": text_of(record, "AccountCode"),
                    "type": text_of(record, "AccountType"), "balance": decimal_of(record, "Balance", ZERO),
                    "credit_limit": decimal_of(record, "CreditLimit", ZERO),
                    "credit_left": decimal_of(record, "CreditLeft", ZERO),
                    "over_credit_limit": decimal_of(record, "OverCreditLimitBalance", ZERO),
                    "currency": text_of(record, "CurrencyCode")})
    return out
