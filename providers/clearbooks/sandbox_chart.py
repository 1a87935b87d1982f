"""What every Clear Books sandbox business shares: account code headings, the system control accounts,
VAT treatments and rates.

The reference gives an account code only a numeric ``heading``; it has no endpoint that names headings
or says which are income or assets. The sandbox numbers them so that the first digit tells the kind
(1 income, 2 expenses, 7 assets, 8 liabilities, 9 capital and reserves) and an account code's id is
``heading * 1000 + n``, like the reference's examples (``1001001``, ``2001001``).
"""

from __future__ import annotations

from decimal import Decimal

HEADINGS: dict[int, str] = {
    1001: "Sales",
    1002: "Other income",
    2001: "Cost of sales",
    2002: "Premises costs",
    2003: "Motor and travel",
    2004: "Telephone and internet",
    2005: "Office and administration",
    2006: "Professional fees",
    7001: "Fixed assets",
    7101: "Debtors",
    7502: "Bank and cash",
    8001: "Creditors",
    8002: "Taxation",
    9001: "Capital",
    9002: "Reserves",
}

# System accounts every posting rule uses.
DEBTORS = 7101001
CREDITORS = 8001001
VAT_CONTROL = 8002001
BANK_HEADING = 7502

HOME_CURRENCY = "GBP"

# key -> (name, rate in per cent)
VAT_RATES: dict[str, tuple[str, Decimal]] = {
    "standard": ("Standard 20%", Decimal(20)),
    "reduced": ("Reduced 5%", Decimal(5)),
    "zero": ("Zero rated", Decimal(0)),
    "exempt": ("Exempt", Decimal(0)),
    "outsideScope": ("Outside the scope of VAT", Decimal(0)),
    "reverseCharge": ("Domestic reverse charge", Decimal(0)),
}

_UK = ("standard", "reduced", "zero", "exempt", "outsideScope")
_ABROAD = ("zero", "outsideScope")

# vatType -> treatment key -> (name, the rate keys valid under it)
VAT_TREATMENTS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "sales": {
        "standard": ("UK sales", _UK),
        "exports": ("Sales outside the UK", _ABROAD),
        "reverseCharge": ("UK sales under the domestic reverse charge", ("reverseCharge",)),
    },
    "purchases": {
        "standard": ("UK purchases", _UK),
        "imports": ("Purchases from outside the UK", _ABROAD),
        "reverseCharge": ("UK purchases under the domestic reverse charge", ("reverseCharge",)),
    },
}
DEFAULT_TREATMENT = "standard"


def next_code(heading: int, used) -> int | None:
    """The next free account code id under a heading, or None when all 999 are taken."""
    ident = max((code for code in used if code // 1000 == heading), default=heading * 1000) + 1
    return ident if ident // 1000 == heading else None


# --- the service's arithmetic ---------------------------------------------------------------------------
# Clear Books prices each line on its own and rounds half up to the penny; a document's totals are the
# sums of its rounded lines (never "net total x rate").

PENNY = Decimal("0.01")
_HUNDRED = Decimal(100)


def round_money(amount: Decimal) -> Decimal:
    return amount.quantize(PENNY, rounding="ROUND_HALF_UP")


def line_net(unit_price: Decimal | int, quantity: Decimal | int) -> Decimal:
    # Stored JSON reads a whole number back as an int, so both may arrive as ints.
    return round_money(Decimal(unit_price) * quantity)


def line_vat(net: Decimal, rate_key: str, stated: Decimal | int | None = None) -> Decimal:
    if stated is not None:
        return round_money(Decimal(stated))
    return round_money(net * VAT_RATES[rate_key][1] / _HUNDRED)


def to_pence(amount: Decimal | int) -> int:
    return int(Decimal(amount).scaleb(2))


def from_pence(pence: int) -> Decimal:
    return Decimal(pence).scaleb(-2)
