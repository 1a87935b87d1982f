"""AccountingSuite's wire shapes, rendered from the sandbox's stored records.

Companies and items are stored as the service sends them. Documents (invoices, cash sales, sales and
purchase orders) are stored as records of what the client gave (references and amounts) and are
rendered here with the current names and addresses of the company and items they point at, because
the service shows those through references too: rename a customer and its invoices show the new name.

Each shape carries the keys of the API document's example, plus the documented attributes that the
example leaves out (for instance ``line_subtotal`` on invoices, ``external_id`` on sales orders).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

ZERO_UUID = "00000000-0000-0000-0000-000000000000"
ADDRESS_FIELDS = (
    "address_id",
    "first_name",
    "middle_name",
    "last_name",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "zip",
    "country",
    "phone",
    "cell",
    "email",
    "sales_tax_code",
    "notes",
)
CUSTOM_STRINGS = tuple(f"cf{n}_string" for n in range(1, 6))
CUSTOM_NUMBERS = tuple(f"cf{n}_num" for n in range(1, 6))
TOTALS = ("line_subtotal", "discount", "discount_percent", "subtotal", "shipping")

ItemLookup = Callable[[str], dict]


def flag(value: bool) -> str:
    """Booleans travel as the strings "true" and "false"."""
    return "true" if value else "false"


def number(value: Any) -> Any:
    """The service writes numbers the way its platform prints them: no trailing zeros (900, 76.5).
    Stored records keep amounts as exact decimal text (cheaper to store than JSON numbers)."""
    if isinstance(value, str):
        value = Decimal(value)
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return value.normalize()
    return value


def service_date(day: str) -> str:
    """A date as the service's messages print it: ``5/24/2013 12:00:00 AM``."""
    date = dt.date.fromisoformat(day)
    return f"{date.month}/{date.day}/{date.year} 12:00:00 AM"


# --- companies and their addresses ---


def address(api_code: str, code: str, fields: dict[str, str], billing: bool, shipping: bool) -> dict:
    doc = {name: fields.get(name, "") for name in ADDRESS_FIELDS}
    doc.update(
        default_shipping=flag(shipping), default_billing=flag(billing), address_code=code, api_code=api_code
    )
    return doc


def company(api_code: str, code: str, name: str, kind: str, addresses: list[dict]) -> dict:
    doc: dict[str, Any] = {
        "lines": {"addresses": sort_addresses(addresses)},
        "company_code": code,
        "company_name": name,
        "company_type": kind,
        "website": "",
        "price_level": "",
        "notes": "",
        "api_code": api_code,
    }
    doc.update(dict.fromkeys(CUSTOM_STRINGS, ""))
    doc.update(dict.fromkeys(CUSTOM_NUMBERS, 0))
    return doc


def sort_addresses(addresses: list[dict]) -> list[dict]:
    # The service lists a company's addresses by label, ignoring case ("order confirm" before "SFO ...").
    return sorted(addresses, key=lambda a: (a["address_id"].casefold(), a["address_code"]))


def find_address(company_doc: dict, api_code: str | None) -> dict | None:
    for candidate in company_doc["lines"]["addresses"]:
        if candidate["api_code"] == api_code:
            return candidate
    return None


def default_address(company_doc: dict, which: str) -> dict:
    """``which`` is "default_billing" or "default_shipping"; a company always has exactly one."""
    return next(a for a in company_doc["lines"]["addresses"] if a[which] == "true")


# --- items ---


def item(
    api_code: str, code: str, description: str, kind: str, category: str = "", unit: str = "", price: Any = 0
) -> dict:
    doc: dict[str, Any] = {
        "item_code": code,
        "item_description": description,
        "item_type": kind,
        "category": category,
        "unit_of_measure": unit,
        "item_price": number(price),
        "income_account": "4000",
        "price_levels": [],
        "api_code": api_code,
    }
    if kind == "product":  # inventory: tracked at weighted average cost, as the example shows
        doc.update(
            costing_method="weighted_average", cogs_account="5000", inventory_or_expense_account="1300"
        )
    else:
        doc.update(cogs_account="", inventory_or_expense_account="6000")
    doc.update(dict.fromkeys(CUSTOM_STRINGS, ""))
    doc.update(dict.fromkeys(CUSTOM_NUMBERS, 0))
    return doc


# --- sales documents: invoices and cash sales ---


def document_sort_key(record: dict) -> str:
    """Documents are listed by date, then number."""
    return f"{record['date']}|{record['number']}"


def _totals(record: dict) -> dict:
    return {name: number(record[name]) for name in TOTALS}


def _sale_lines(record: dict, items: ItemLookup) -> list[dict]:
    lines = []
    for line in record["lines"]:
        product = items(line["item"])
        lines.append(
            {
                "price": number(line["price"]),
                "item_description": product["item_description"],
                "quantity": number(line["quantity"]),
                "api_code": product["api_code"],
                "line_total": number(line["line_total"]),
                "item_code": product["item_code"],
            }
        )
    return lines


def _sale_head(record: dict, company_doc: dict) -> tuple[dict, dict]:
    ship = find_address(company_doc, record["ship_to"]) or default_address(company_doc, "default_shipping")
    head = {
        "company_code": company_doc["company_code"],
        "doc_total": number(record["doc_total"]),
        "memo": record["memo"],
        "date": record["date"],
        "sales_tax_total": number(record["sales_tax_total"]),
        "company_name": company_doc["company_name"],
        "ship_to_address_id": ship["address_id"],
        "ref_num": record["ref_num"],
        "api_code": record["api_code"],
    }
    return head, ship


def invoice(record: dict, company_doc: dict, items: ItemLookup) -> dict:
    head, ship = _sale_head(record, company_doc)
    return {
        "lines": {"line_items": _sale_lines(record, items)},
        **head,
        "due_date": record["due_date"],
        "customer_api_code": company_doc["api_code"],
        "invoice_number": record["number"],
        "ship_to_api_code": ship["api_code"],
        **_totals(record),
    }


def invoice_summary(record: dict, company_doc: dict) -> dict:
    head, ship = _sale_head(record, company_doc)
    return {
        **head,
        "due_date": record["due_date"],
        "invoice_number": record["number"],
        "ship_to_address_code": ship["address_code"],
        **_totals(record),
    }


def cash_sale(record: dict, company_doc: dict, items: ItemLookup) -> dict:
    head, ship = _sale_head(record, company_doc)
    return {
        "lines": {"line_items": _sale_lines(record, items)},
        **head,
        "payment_method": "Cash",
        "customer_api_code": company_doc["api_code"],
        "ship_to_address_code": ship["address_code"],
        "ship_to_api_code": ship["api_code"],
        "cash_sale_number": record["number"],
        **_totals(record),
    }


def cash_sale_summary(record: dict, company_doc: dict) -> dict:
    head, ship = _sale_head(record, company_doc)
    return {
        **head,
        "payment_method": "Cash",
        "ship_to_address_code": ship["address_code"],
        "cash_sale_number": record["number"],
        **_totals(record),
    }


# --- orders ---


def _address_fields(prefix: str, found: dict | None, api_code_key: str) -> dict:
    fields = {prefix + name: (found[name] if found else "") for name in ADDRESS_FIELDS}
    fields[api_code_key] = found["api_code"] if found else ZERO_UUID
    return fields


def sales_order(record: dict, company_doc: dict, items: ItemLookup) -> dict:
    lines = []
    for line in record["lines"]:
        product = items(line["item"])
        lines.append(
            {
                "price": number(line["price"]),
                "Product": product["item_code"],
                "quantity": number(line["quantity"]),
                "api_code": product["api_code"],
                "line_total": number(line["line_total"]),
            }
        )
    return {
        "date": record["date"],
        "doc_total": number(record["doc_total"]),
        "memo": record["memo"],
        "so_number": record["number"],
        "cf1_string": record["cf1_string"],
        "ref_num": record["ref_num"],
        "external_id": record["external_id"],
        "api_code": record["api_code"],
        **_address_fields("ship_to_", find_address(company_doc, record["ship_to"]), "ship_to_api_code"),
        **_address_fields("bill_to_", find_address(company_doc, record["bill_to"]), "bill_to_api_code"),
        "line_items": lines,
        "company": company_doc["company_name"],
        "customer_api_code": company_doc["api_code"],
        "sales_tax_total": number(record["sales_tax_total"]),
        **_totals(record),
    }


def purchase_order(record: dict, vendor: dict, dropship: dict | None, items: ItemLookup) -> dict:
    lines = []
    for line in record["lines"]:
        product = items(line["item"])
        lines.append(
            {
                "line_total": number(line["line_total"]),
                "class": line["class"],
                "price": number(line["price"]),
                "unit_of_measure": line["unit_of_measure"],
                "quantity": number(line["quantity"]),
                "item": product["item_code"],
                "project": line["project"],
                "item_description": product["item_description"],
                "api_code": product["api_code"],
            }
        )
    purchase = _address_fields("purchase_", find_address(vendor, record["address"]), "address_api_code")
    ds_address = find_address(dropship, record["ds_address"]) if dropship else None
    return {
        **purchase,
        "doc_total": number(record["doc_total"]),
        "memo": record["memo"],
        "ds_customer": dropship["company_name"] if dropship else "",
        "ds_customer_api_code": dropship["api_code"] if dropship else ZERO_UUID,
        "ds_address_id": ds_address["address_id"] if ds_address else "",
        "ds_address_api_code": ds_address["api_code"] if ds_address else ZERO_UUID,
        "delivery_date": record["delivery_date"],
        "po_date": record["date"],
        "api_code": record["api_code"],
        "class": record["class"],
        "project": record["project"],
        "line_items": lines,
        "company": vendor["company_name"],
        "po_number": record["number"],
        "customer_api_code": vendor["api_code"],
    }
