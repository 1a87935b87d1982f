"""AccBooks wire shapes: invoices, ledger lines, contacts, and the arithmetic behind invoice totals.

Invoices and ledger lines are the bulk of a big company (50,000 invoices, ~300,000 ledger lines), so
they are written by hand-made templates instead of ``decimal_json.dumps``, which costs three times as
much per document. The templates produce byte-for-byte what ``dumps`` would (a test holds them to it):
compact separators, non-ASCII kept, Decimals as bare JSON numbers.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from json.encoder import encode_basestring as _json_str

PENNY = Decimal("0.01")
_HUNDRED = Decimal(100)
ZERO = Decimal("0.00")

# The rates an invoice line may carry, as the document writes them (strings: ``"vat_rate": "20"``).
VAT_RATES: dict[str, Decimal] = {"20": Decimal(20), "5": Decimal(5), "0": Decimal(0), "exempt": Decimal(0)}
_RATE_OF_GENERATOR_KEY = {"standard": "20", "reduced": "5", "zero": "0", "exempt": "exempt"}


def money(value: Decimal) -> Decimal:
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def line_amounts(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal,
                 vat_rate: str) -> tuple[Decimal, Decimal, Decimal]:
    """(net, vat, total) of one invoice line: net rounded half-up, then VAT on the rounded net, rounded
    half-up, per line. Document totals are sums of these rounded lines."""
    net = quantity * unit_price
    if discount_percent:
        net = net * (_HUNDRED - discount_percent) / _HUNDRED
    net = money(net)
    vat = money(net * VAT_RATES[vat_rate] / _HUNDRED)
    return net, vat, net + vat


def vat_rate_of(generator_key: str) -> str:
    return _RATE_OF_GENERATOR_KEY[generator_key]


def utc_stamp(moment: dt.datetime | None = None) -> str:
    moment = moment or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _opt(value: str | None) -> str:
    return "null" if value is None else _json_str(value)


# --- invoices ---------------------------------------------------------------------------------------

def build_line(description: str, quantity: Decimal, unit_price: Decimal, discount_percent: Decimal,
               vat_rate: str, nominal_code: str) -> dict:
    net, vat, total = line_amounts(quantity, unit_price, discount_percent, vat_rate)
    return {"description": description, "quantity": quantity, "unit_price": unit_price,
            "discount_percent": discount_percent, "vat_rate": vat_rate, "nominal_code": nominal_code,
            "net": net, "vat": vat, "total": total}


def build_invoice(invoice_id: str, number: str, customer_id: str, date: str, due_date: str,
                  reference: str | None, currency: str, status: str, line_items: list[dict],
                  amount_paid: Decimal, created_at: str, updated_at: str) -> dict:
    net = sum((line["net"] for line in line_items), ZERO)
    vat = sum((line["vat"] for line in line_items), ZERO)
    total = net + vat
    due = ZERO if status == "void" else total - amount_paid
    return {"id": invoice_id, "number": number, "customer_id": customer_id, "date": date, "due_date": due_date,
            "reference": reference, "currency": currency, "status": status, "line_items": line_items,
            "totals": {"net": net, "vat": vat, "total": total, "amount_paid": amount_paid, "amount_due": due},
            "created_at": created_at, "updated_at": updated_at}


def invoice_json(doc: dict) -> str:
    lines = ",".join(
        f'{{"description":{_json_str(li["description"])},"quantity":{li["quantity"]},'
        f'"unit_price":{li["unit_price"]},"discount_percent":{li["discount_percent"]},'
        f'"vat_rate":{_json_str(li["vat_rate"])},"nominal_code":{_json_str(li["nominal_code"])},'
        f'"net":{li["net"]},"vat":{li["vat"]},"total":{li["total"]}}}'
        for li in doc["line_items"])
    t = doc["totals"]
    return (f'{{"id":{_json_str(doc["id"])},"number":{_json_str(doc["number"])},'
            f'"customer_id":{_json_str(doc["customer_id"])},"date":"{doc["date"]}","due_date":"{doc["due_date"]}",'
            f'"reference":{_opt(doc["reference"])},"currency":"{doc["currency"]}","status":"{doc["status"]}",'
            f'"line_items":[{lines}],"totals":{{"net":{t["net"]},"vat":{t["vat"]},"total":{t["total"]},'
            f'"amount_paid":{t["amount_paid"]},"amount_due":{t["amount_due"]}}},'
            f'"created_at":"{doc["created_at"]}","updated_at":"{doc["updated_at"]}"}}')


# --- ledger lines (the /v1/transactions resource) ---------------------------------------------------

def ledger_line(line_id: str, date: str, account_id: str, account_name: str, description: str,
                reference: str | None, amount: Decimal, source_type: str, source_id: str) -> dict:
    """``amount`` is signed (debit positive); the wire carries it as two non-negative columns."""
    debit, credit = (money(amount), ZERO) if amount > 0 else (ZERO, money(-amount))
    return {"id": line_id, "date": date, "account_id": account_id, "account_name": account_name,
            "description": description, "reference": reference, "debit": debit, "credit": credit,
            "source_type": source_type, "source_id": source_id}


def ledger_line_json(doc: dict) -> str:
    return (f'{{"id":{_json_str(doc["id"])},"date":"{doc["date"]}","account_id":{_json_str(doc["account_id"])},'
            f'"account_name":{_json_str(doc["account_name"])},"description":{_json_str(doc["description"])},'
            f'"reference":{_opt(doc["reference"])},"debit":{doc["debit"]},"credit":{doc["credit"]},'
            f'"source_type":"{doc["source_type"]}","source_id":{_json_str(doc["source_id"])}}}')


def posting_texts(source_type: str, source_id: str, date: str, reference: str | None,
                  lines: list[tuple[str, Decimal, str]], names: dict[str, str]) -> list[tuple[str, str, str]]:
    """``(line id, account, json)`` for each line of a posting: the same text as
    ``ledger_line_json(ledger_line(...))``, with what the lines share encoded once (seeding's hot path)."""
    tail = f',"reference":{_opt(reference)},'
    source = f'"source_type":"{source_type}","source_id":{_json_str(source_id)}}}'
    texts = []
    last_description, description_json = None, ""
    for n, (account, amount, description) in enumerate(lines, start=1):
        if description != last_description:
            last_description, description_json = description, _json_str(description)
        debit, credit = (money(amount), ZERO) if amount > 0 else (ZERO, money(-amount))
        line_id = f"txn_{source_id}_{n}"
        texts.append((line_id, account,
                      f'{{"id":"{line_id}","date":"{date}","account_id":"{account}","account_name":'
                      f'{_json_str(names[account])},"description":{description_json}{tail}"debit":{debit},'
                      f'"credit":{credit},{source}'))
    return texts


# --- contacts --------------------------------------------------------------------------------------

ADDRESS_FIELDS = ("line1", "line2", "town", "county", "postcode", "country")


def contact_doc(contact_id: str, kind: str, name: str, contact_name: str | None, email: str | None,
                phone: str | None, address: dict, vat_number: str | None, company_number: str | None,
                currency: str, archived: bool, created_at: str, updated_at: str) -> dict:
    return {"id": contact_id, "type": kind, "name": name, "contact_name": contact_name, "email": email,
            "phone": phone, "address": address_doc(address),
            "vat_number": vat_number, "company_number": company_number, "currency": currency,
            "archived": archived, "created_at": created_at, "updated_at": updated_at}


def address_doc(address: dict) -> dict:
    return {field: address.get(field) for field in ADDRESS_FIELDS}


def blank_to_none(value: str | None) -> str | None:
    return value if value else None
