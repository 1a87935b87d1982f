"""P&L, balance sheet and trial balance, computed from the sandbox's own ledger so that they balance.

Amounts are shown the way a bookkeeper reads them: income, liabilities and equity positive when in
credit, assets and expenses positive when in debit. Accounts with nothing on them are left out.
Profit or loss before the period's start is carried in retained earnings (3100), as a year-end close
would; the balance sheet shows the period's profit as ``current_year_profit`` inside equity.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from providers.accbooks.wire import ZERO, money

REPORTS = ("profit-loss", "balance-sheet", "trial-balance")
RETAINED_EARNINGS = "3100"
_PROFIT_AND_LOSS = ("revenue", "expense")


def year_start(on: dt.date, year_end: str) -> dt.date:
    """First day of the financial year holding ``on``, for a year ending on ``year_end`` ("MM-DD")."""
    month, day = (int(part) for part in year_end.split("-"))
    end_this_year = dt.date(on.year, month, day)
    end = end_this_year if on <= end_this_year else dt.date(on.year + 1, month, day)
    return dt.date(end.year - 1, month, day) + dt.timedelta(days=1)


def _totals(daybook: dict[tuple[str, str], Decimal], lo: str, hi: str) -> dict[str, Decimal]:
    """Net movement (debit positive) per account for dates in [lo, hi]."""
    found: dict[str, Decimal] = {}
    for (date, account), net in daybook.items():
        if lo <= date <= hi:
            found[account] = found.get(account, ZERO) + net
    return found


def _section(chart: dict[str, tuple[str, str]], nets: dict[str, Decimal], codes: list[str], sign: int) -> dict:
    rows = [{"account_id": code, "name": chart[code][0], "amount": money(sign * nets[code])}
            for code in codes if nets.get(code)]
    return {"accounts": rows, "total": sum((row["amount"] for row in rows), ZERO)}


def _codes(chart: dict[str, tuple[str, str]], kind: str) -> list[str]:
    return sorted(code for code, (_name, classification) in chart.items() if classification == kind)


def profit_and_loss(chart, daybook, date_from: str, date_to: str, currency: str) -> dict:
    nets = _totals(daybook, date_from, date_to)
    expenses = _codes(chart, "expense")
    income = _section(chart, nets, _codes(chart, "revenue"), -1)
    # UK charts keep direct costs in the 5000s and overheads above them.
    cost_of_sales = _section(chart, nets, [c for c in expenses if c.startswith("5")], 1)
    overheads = _section(chart, nets, [c for c in expenses if not c.startswith("5")], 1)
    gross = income["total"] - cost_of_sales["total"]
    return {"report": "profit-loss", "from": date_from, "to": date_to, "currency": currency,
            "income": income, "cost_of_sales": cost_of_sales, "gross_profit": gross,
            "expenses": overheads, "net_profit": gross - overheads["total"]}


def _profit(chart, nets: dict[str, Decimal]) -> Decimal:
    return -sum((net for code, net in nets.items() if chart[code][1] in _PROFIT_AND_LOSS), ZERO)


def balance_sheet(chart, daybook, date_from: str, date_to: str, currency: str) -> dict:
    to_date = _totals(daybook, "", date_to)
    before = _totals(daybook, "", _day_before(date_from))
    this_year = _totals(daybook, date_from, date_to)
    equity_nets = {code: to_date.get(code, ZERO) for code in _codes(chart, "equity")}
    if RETAINED_EARNINGS in equity_nets:
        equity_nets[RETAINED_EARNINGS] -= _profit(chart, before)
    assets = _section(chart, to_date, _codes(chart, "asset"), 1)
    liabilities = _section(chart, to_date, _codes(chart, "liability"), -1)
    equity = _section(chart, equity_nets, _codes(chart, "equity"), -1)
    profit = money(_profit(chart, this_year))
    equity["current_year_profit"] = profit
    equity["total"] += profit
    return {"report": "balance-sheet", "as_at": date_to, "from": date_from, "currency": currency,
            "assets": assets, "liabilities": liabilities, "net_assets": assets["total"] - liabilities["total"],
            "equity": equity, "total_liabilities_and_equity": liabilities["total"] + equity["total"]}


def trial_balance(chart, daybook, date_from: str, date_to: str, currency: str) -> dict:
    to_date = _totals(daybook, "", date_to)
    this_year = _totals(daybook, date_from, date_to)
    nets = {code: (this_year.get(code, ZERO) if kind in _PROFIT_AND_LOSS else to_date.get(code, ZERO))
            for code, (_name, kind) in chart.items()}
    nets[RETAINED_EARNINGS] = nets.get(RETAINED_EARNINGS, ZERO) - _profit(chart, _totals(
        daybook, "", _day_before(date_from)))
    rows = []
    for code in sorted(nets):
        net = money(nets[code])
        if net:
            rows.append({"account_id": code, "name": chart[code][0], "type": chart[code][1],
                         "debit": net if net > 0 else ZERO, "credit": -net if net < 0 else ZERO})
    return {"report": "trial-balance", "from": date_from, "to": date_to, "currency": currency, "accounts": rows,
            "totals": {"debit": sum((r["debit"] for r in rows), ZERO),
                       "credit": sum((r["credit"] for r in rows), ZERO)}}


def _day_before(date: str) -> str:
    return (dt.date.fromisoformat(date) - dt.timedelta(days=1)).isoformat()


BUILDERS = {"profit-loss": profit_and_loss, "balance-sheet": balance_sheet, "trial-balance": trial_balance}
