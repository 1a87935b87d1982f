"""Checking request bodies and query strings; every problem is reported at once as (field, message).

Field paths are dotted, with list positions in brackets: ``line_items[0].quantity``. Messages follow the
field name to read as a sentence: ``"customer_id is required"``. Fields a response carries but a
request cannot set (``id``, ``number``, ``totals``, ``created_at``...) are ignored, so a client may send
back what it read; any other unknown field is refused, so a misspelt field is never silently dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from providers.accbooks.errors import Invalid
from providers.accbooks.wire import ADDRESS_FIELDS, VAT_RATES

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
MAX_TEXT = 255
MAX_LINES = 250

INVOICE_FIELDS = {"customer_id", "date", "due_date", "reference", "currency", "status", "line_items"}
INVOICE_READ_ONLY = {"id", "number", "totals", "created_at", "updated_at"}
LINE_FIELDS = {"description", "quantity", "unit_price", "discount_percent", "vat_rate", "nominal_code"}
LINE_READ_ONLY = {"net", "vat", "total"}
CONTACT_FIELDS = {"type", "name", "contact_name", "email", "phone", "address", "vat_number", "company_number",
                  "currency", "archived"}
CONTACT_READ_ONLY = {"id", "created_at", "updated_at"}
JOURNAL_FIELDS = {"date", "reference", "description", "lines"}
JOURNAL_LINE_FIELDS = {"nominal_code", "description", "debit", "credit"}


class Problems:
    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.found.append((field, message))

    def raise_any(self) -> None:
        if self.found:
            raise Invalid(self.found)


def unknown_fields(body: dict, known: set[str], read_only: set[str], problems: Problems, prefix: str = "") -> None:
    for name in body:
        if name not in known and name not in read_only:
            problems.add(f"{prefix}{name}", "is not a known field")


def text(body: dict, name: str, problems: Problems, required: bool = False, field: str | None = None,
         limit: int = MAX_TEXT) -> str | None:
    field = field or name
    value = body.get(name)
    if value is None or value == "":
        if required:
            problems.add(field, "is required")
        return None
    if not isinstance(value, str):
        problems.add(field, "must be a string")
        return None
    value = value.strip()
    if required and not value:
        problems.add(field, "is required")
        return None
    if len(value) > limit:
        problems.add(field, f"must be at most {limit} characters")
        return None
    return value or None


def date(value: object, field: str, problems: Problems, required: bool = True) -> str | None:
    if value is None or value == "":
        if required:
            problems.add(field, "is required")
        return None
    if isinstance(value, str) and _DATE.match(value):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    problems.add(field, "must be a date (YYYY-MM-DD)")
    return None


def number(value: object, field: str, problems: Problems, required: bool = True, places: int = 4,
           minimum: Decimal | None = None, maximum: Decimal | None = None) -> Decimal | None:
    """A JSON number or a numeric string, never a boolean; at most ``places`` decimal places."""
    if value is None:
        if required:
            problems.add(field, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        problems.add(field, "must be a number")
        return None
    if isinstance(value, str) and not _NUMBER.match(value.strip()):
        problems.add(field, "must be a number")
        return None
    try:
        result = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        problems.add(field, "must be a number")
        return None
    if not result.is_finite() or result.as_tuple().exponent < -places:
        problems.add(field, f"must be a number with at most {places} decimal places")
        return None
    if abs(result) >= Decimal(10) ** 12:
        problems.add(field, "is too large")
        return None
    if minimum is not None and result < minimum:
        problems.add(field, f"must be at least {minimum}")
        return None
    if maximum is not None and result > maximum:
        problems.add(field, f"must be at most {maximum}")
        return None
    return result


def vat_rate(value: object, field: str, problems: Problems) -> str | None:
    """``"20"`` as the document writes it; ``20``, ``20.0`` and ``"20.00"`` mean the same."""
    if value is None:
        problems.add(field, "is required")
        return None
    key = None if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)) \
        else str(value).strip().lower()
    if key is not None and key not in VAT_RATES:
        try:
            rate = Decimal(key)
            if rate.is_finite() and rate == rate.to_integral_value():
                key = str(int(rate))
        except InvalidOperation:
            pass
    if key not in VAT_RATES:
        problems.add(field, "must be one of " + ", ".join(f'"{rate}"' for rate in VAT_RATES))
        return None
    return key


def invoice_lines(value: object, sales_codes: set[str], problems: Problems) -> list[dict] | None:
    if not isinstance(value, list) or not value:
        problems.add("line_items", "must be a list of at least one line" if value is not None else "is required")
        return None
    if len(value) > MAX_LINES:
        problems.add("line_items", f"must have at most {MAX_LINES} lines")
        return None
    lines = []
    for n, item in enumerate(value):
        at = f"line_items[{n}]"
        if not isinstance(item, dict):
            problems.add(at, "must be an object")
            continue
        unknown_fields(item, LINE_FIELDS, LINE_READ_ONLY, problems, prefix=f"{at}.")
        code = text(item, "nominal_code", problems, required=True, field=f"{at}.nominal_code")
        if code is not None and code not in sales_codes:
            problems.add(f"{at}.nominal_code", f"{code} is not a sales account (use one of "
                                               f"{', '.join(sorted(sales_codes))})")
        lines.append({
            "description": text(item, "description", problems, required=True, field=f"{at}.description",
                                limit=1000),
            "quantity": number(item.get("quantity"), f"{at}.quantity", problems),
            "unit_price": number(item.get("unit_price"), f"{at}.unit_price", problems),
            "discount_percent": number(item.get("discount_percent", 0), f"{at}.discount_percent", problems,
                                       places=2, minimum=Decimal(0), maximum=Decimal(100)),
            "vat_rate": vat_rate(item.get("vat_rate"), f"{at}.vat_rate", problems),
            "nominal_code": code,
        })
    return lines


def contact_fields(body: dict, problems: Problems, partial: bool) -> dict:
    """The settable fields present in ``body`` (all of them when creating), checked."""
    unknown_fields(body, CONTACT_FIELDS, CONTACT_READ_ONLY, problems)
    found: dict = {}
    if not partial or "name" in body:
        found["name"] = text(body, "name", problems, required=True)
    for name in ("contact_name", "phone", "vat_number", "company_number"):
        if name in body:
            found[name] = text(body, name, problems)
    if "email" in body:
        email = text(body, "email", problems)
        if email is not None and not _EMAIL.match(email):
            problems.add("email", "must be an email address")
        found["email"] = email
    if "type" in body:
        if body["type"] not in ("customer", "supplier"):
            problems.add("type", 'must be "customer" or "supplier"')
        found["type"] = body["type"]
    if "currency" in body:
        currency = body["currency"]
        if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
            problems.add("currency", "must be a three-letter currency code")
        else:
            found["currency"] = currency.upper()
    if "archived" in body:
        if not isinstance(body["archived"], bool):
            problems.add("archived", "must be true or false")
        found["archived"] = body["archived"]
    if "address" in body:
        address = body["address"]
        if address is None:
            found["address"] = {}
        elif not isinstance(address, dict):
            problems.add("address", "must be an object")
        else:
            unknown_fields(address, set(ADDRESS_FIELDS), set(), problems, prefix="address.")
            found["address"] = {name: text(address, name, problems, field=f"address.{name}")
                                for name in ADDRESS_FIELDS}
            country = found["address"]["country"]
            if country is not None and not (len(country) == 2 and country.isalpha()):
                problems.add("address.country", "must be a two-letter country code")
            elif country is not None:
                found["address"]["country"] = country.upper()
    return found


def journal_lines(value: object, codes: set[str], problems: Problems) -> list[tuple[str, Decimal, str]] | None:
    if not isinstance(value, list) or len(value) < 2:
        problems.add("lines", "must be a list of at least two lines" if value is not None else "is required")
        return None
    lines, debits, credits = [], Decimal(0), Decimal(0)
    for n, item in enumerate(value):
        at = f"lines[{n}]"
        if not isinstance(item, dict):
            problems.add(at, "must be an object")
            continue
        unknown_fields(item, JOURNAL_LINE_FIELDS, set(), problems, prefix=f"{at}.")
        code = text(item, "nominal_code", problems, required=True, field=f"{at}.nominal_code")
        if code is not None and code not in codes:
            problems.add(f"{at}.nominal_code", f"{code} is not an account in the chart")
        debit = number(item.get("debit", 0), f"{at}.debit", problems, places=2, minimum=Decimal(0))
        credit = number(item.get("credit", 0), f"{at}.credit", problems, places=2, minimum=Decimal(0))
        description = text(item, "description", problems, field=f"{at}.description") or ""
        if debit is None or credit is None:
            continue
        if (debit > 0) == (credit > 0):
            problems.add(at, "must have either a debit or a credit, not both or neither")
            continue
        debits += debit
        credits += credit
        lines.append((code, debit - credit, description))
    if len(lines) == len(value) and debits != credits:
        problems.add("lines", f"must balance: debits total {debits:.2f}, credits total {credits:.2f}")
    return lines


def page_params(query, problems: Problems, default: int, maximum: int) -> tuple[int, int]:
    """``page`` from 1; ``per_page`` above the maximum is lowered to it, not refused."""
    page = _whole(query.get("page"), "page", problems, 1)
    per_page = _whole(query.get("per_page"), "per_page", problems, default)
    return page, min(per_page, maximum)


def _whole(value: str | None, field: str, problems: Problems, default: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or int(value) < 1:
        problems.add(field, "must be a whole number of 1 or more")
        return default
    return int(value)
