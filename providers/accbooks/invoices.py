"""Invoice rules: which fields a create or an edit may set, when an invoice is locked, and how a sent
invoice is posted to the ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from starlette.responses import Response

from providers.accbooks import validation as check
from providers.accbooks.errors import conflict
from providers.accbooks.wire import ZERO, build_line

if TYPE_CHECKING:
    from providers.accbooks.sandbox import Sandbox

CONTACTS = "contacts"
DEFAULT_TERMS_DAYS = 30
DEBTORS, VAT_CONTROL = "1100", "2200"


def invoice_posting(doc: dict) -> list[tuple[str, Decimal, str]]:
    """Debtors debited with the gross, each sales account credited with its net, VAT control with the VAT
    (the generator's double entry, so seeded and created invoices post alike)."""
    number = doc["number"]
    by_account: dict[str, Decimal] = {}
    for line in doc["line_items"]:
        by_account[line["nominal_code"]] = by_account.get(line["nominal_code"], ZERO) + line["net"]
    lines = [(DEBTORS, doc["totals"]["total"], number)]
    lines += [(code, -net, number) for code, net in sorted(by_account.items())]
    lines.append((VAT_CONTROL, -doc["totals"]["vat"], number))
    return [line for line in lines if line[1]]


def locked(current: dict, verb: str, void_ok: bool = False) -> Response | None:
    """A 409 when the invoice may not be changed (or deleted): money was received against it, or it is void."""
    if current["totals"]["amount_paid"] > 0:
        return conflict(f"Invoice {current['number']} has payments against it and cannot be {verb}")
    if current["status"] == "void" and not void_ok:
        return conflict(f"Invoice {current['number']} is void and cannot be {verb}")
    return None


def invoice_fields(sandbox: Sandbox, company: str, body: dict, current: dict | None) -> dict:
    """The invoice's settable fields after this request: the body's, else (an edit) the current ones.
    Raises ``Invalid`` with every problem found."""
    problems = check.Problems()
    check.unknown_fields(body, check.INVOICE_FIELDS, check.INVOICE_READ_ONLY, problems)
    base = current or {}

    def given(name: str) -> bool:
        return current is None or name in body

    customer_id = base.get("customer_id")
    if given("customer_id"):
        customer_id = check.text(body, "customer_id", problems, required=True)
        if customer_id is not None:
            contact = sandbox.store.get(company, CONTACTS, customer_id)
            if contact is None:
                problems.add("customer_id", f"{customer_id} is not a contact of this company")
            elif contact["type"] != "customer":
                problems.add("customer_id", f"{customer_id} is a supplier, not a customer")
    date = check.date(body.get("date"), "date", problems) if given("date") else base["date"]
    due_date = base.get("due_date")
    if given("due_date"):
        due_date = check.date(body.get("due_date"), "due_date", problems, required=False)
        if due_date is None and date is not None and not body.get("due_date"):
            due_date = (dt.date.fromisoformat(date) + dt.timedelta(days=DEFAULT_TERMS_DAYS)).isoformat()
    if date and due_date and due_date < date:
        problems.add("due_date", "must be on or after date")
    reference = check.text(body, "reference", problems) if given("reference") else base.get("reference")
    currency = sandbox.company(company)["currency"]
    if "currency" in body and body["currency"] != currency:
        problems.add("currency", f"must be {currency}, the company's currency")
    status = base.get("status", "sent")
    if "status" in body:
        if body["status"] not in ("draft", "sent"):
            problems.add("status", 'must be "draft" or "sent"')
        else:
            status = body["status"]
    if given("line_items"):
        lines = check.invoice_lines(body.get("line_items"), sandbox.sales_codes(company), problems)
    else:
        lines = base["line_items"]
    problems.raise_any()
    if given("line_items"):
        lines = [build_line(li["description"], li["quantity"], li["unit_price"], li["discount_percent"],
                            li["vat_rate"], li["nominal_code"]) for li in lines]
    return {"customer_id": customer_id, "date": date, "due_date": due_date, "reference": reference,
            "currency": currency, "status": status, "line_items": lines}
