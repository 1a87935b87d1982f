"""Fixed reference data of the three AccountsIQ demo entities: who they are, their chart, tax codes,
credit terms and banks. Everything here is the same for every seed; only the trading data varies."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.domain.generate import CHART
from app.domain.ledger import Classification

CURRENCY = "GBP"
LOCALE = "en-GB"


@dataclass(frozen=True)
class Profile:
    entity: str  # the value of the AiqSoapHeader Entity element
    name: str
    kind: str
    line1: str
    line2: str
    city: str
    county: str
    postcode: str
    phone: str
    email: str
    web: str
    vat: str
    registration: str


# A sole trader, a small firm and a wholesaler; all in Northern Ireland, so Irish and UK at once, and
# trading in sterling (the demo generator's currency).
PROFILES = (
    Profile("dohertyjoinery", "Ciarán Doherty Joinery", "sole trader", "Unit 4, Pennyburn Industrial Estate",
            "Buncrana Road", "Derry~Londonderry", "County Londonderry", "BT48 0LU", "028 7126 0418",
            "ciaran@dohertyjoinery.example", "www.dohertyjoinery.example", "GB 284 5519 07", ""),
    Profile("laganvalley", "Lagan Valley Surveyors LLP", "small firm", "14 Railway Street", "", "Lisburn",
            "County Antrim", "BT28 1XP", "028 9267 3351", "office@laganvalleysurveyors.example",
            "www.laganvalleysurveyors.example", "GB 731 0096 42", "OC412873"),
    Profile("mournefoods", "Mourne Foods Wholesale Ltd", "wholesaler", "Greenbank Industrial Estate",
            "Warrenpoint Road", "Newry", "County Down", "BT34 2QU", "028 3026 9920", "orders@mournefoods.example",
            "www.mournefoods.example", "GB 419 2286 55", "NI638204"),
)
COMPANY_NAMES = tuple(p.name for p in PROFILES)


def profile_for(name: str) -> Profile:
    for profile in PROFILES:
        if profile.name == name:
            return profile
    # A company the demo generator named differently still gets an entity of its own.
    slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20] or "entity"
    return Profile(slug, name, "company", "", "", "", "", "", "", "", "", "", "")


# ---------------------------------------------------------------------------------------------- chart

@dataclass(frozen=True)
class GLAccount:
    code: str
    name: str
    classification: Classification
    account_type: str  # Posting, Control, Bank or VAT
    category_id: str
    category: str
    subcategory_id: str
    subcategory: str
    default_tax: str

    @property
    def on_balance_sheet(self) -> bool:
        return self.classification.on_balance_sheet


_CATEGORY = {
    Classification.ASSET: ("CA", "Current Assets"),
    Classification.LIABILITY: ("CL", "Current Liabilities"),
    Classification.EQUITY: ("CR", "Capital and Reserves"),
    Classification.REVENUE: ("SAL", "Sales"),
    Classification.EXPENSE: ("OH", "Overheads"),
}
CATEGORY_TYPE = {
    Classification.ASSET: ("A", "Assets"),
    Classification.LIABILITY: ("L", "Liabilities"),
    Classification.EQUITY: ("C", "Capital"),
    Classification.REVENUE: ("I", "Income"),
    Classification.EXPENSE: ("E", "Expenses"),
}
_TYPES = {"1100": "Control", "2100": "Control", "2200": "VAT", "1200": "Bank", "1210": "Bank"}


def _account(code: str, name: str, kind: Classification) -> GLAccount:
    category_id, category = _CATEGORY[kind]
    if code == "5000":
        category_id, category = "COS", "Cost of Sales"
    sub_id, sub = {"1100": ("DEB", "Debtors"), "1200": ("BNK", "Bank"), "1210": ("BNK", "Bank"),
                   "2100": ("CRE", "Creditors"), "2200": ("VAT", "Taxation")}.get(code, (category_id, category))
    tax = "S" if kind in (Classification.REVENUE, Classification.EXPENSE) and code != "6100" else "E"
    return GLAccount(code, name, kind, _TYPES.get(code, "Posting"), category_id, category, sub_id, sub, tax)


GL_ACCOUNTS = {code: _account(code, name, kind) for code, name, kind in CHART}
DEBTORS = "1100"
CURRENT_ACCOUNT = "1200"
DEPOSIT_ACCOUNT = "1210"
VAT_CONTROL = "2200"
SHARE_CAPITAL = "3000"
RETAINED_EARNINGS = "3100"
DEFAULT_SALES = "4000"


# ---------------------------------------------------------------------------------------------- tax

@dataclass(frozen=True)
class TaxCode:
    id: str
    code: str
    description: str
    rate: Decimal
    standard: bool


TAX_CODES = {t.code: t for t in (
    TaxCode("1", "S", "Standard rate 20%", Decimal("20.00"), True),
    TaxCode("2", "R", "Reduced rate 5%", Decimal("5.00"), False),
    TaxCode("3", "Z", "Zero rated", Decimal("0.00"), False),
    TaxCode("4", "E", "Exempt", Decimal("0.00"), False),
)}
# The generator's VAT rate keys, as this entity's tax codes.
TAX_FOR_RATE_KEY = {"standard": "S", "reduced": "R", "zero": "Z", "exempt": "E"}
DEFAULT_TAX = "S"


# ---------------------------------------------------------------------------------------------- terms

@dataclass(frozen=True)
class CreditTerm:
    id: str
    description: str
    days: int
    end_of_month: bool


CREDIT_TERMS = {t.id: t for t in (
    CreditTerm("1", "30 Days", 30, False),
    CreditTerm("2", "14 Days", 14, False),
    CreditTerm("3", "60 Days", 60, False),
    CreditTerm("4", "30 Days End of Month", 30, True),
)}
DEFAULT_CREDIT_TERM = "1"

COUNTRY_NAMES = {"GB": "United Kingdom", "IE": "Ireland"}
