"""Documents of the AccountingSuite sandbox: invoices, cash sales, sales and purchase orders, cash receipts.

A document is stored as a record of what the client sent (references to a company, its addresses and
items, and the amounts as given: the service trusts the totals it is sent) and rendered on the way out
(``sandbox_shapes``). Invoice and cash-sale lists are served from pre-rendered summaries kept sorted by
date; when a company changes, the summaries of its documents are rendered again.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from providers.accountingsuite import sandbox_messages as msg
from providers.accountingsuite import sandbox_shapes as shapes
from providers.accountingsuite.sandbox_books import Books
from providers.accountingsuite.sandbox_fields import Body, address_fields
from providers.accountingsuite.sandbox_messages import refuse
from providers.accountingsuite.sandbox_parties import Companies, Items, api_code_of, known
from providers.decimal_json import dumps, loads

_MATCHED = ("address_line1", "address_line2", "city", "state", "zip", "country")


@dataclass(frozen=True)
class AddressRole:
    """How a document names one of its addresses, and what the service does when it is not given."""

    prefix: str  # of the address fields in the body: "ship_to_" + "city"
    api_code_key: str
    not_own: str  # the refusal when the api_code is not one of the company's addresses
    default: str  # the company's default used when the body names no address
    label: str  # the start of the label the service makes up for a new address sent without one


SHIP_TO = AddressRole("ship_to_", "ship_to_api_code", msg.SHIP_TO_NOT_OWN, "default_shipping", "ShipTo_")
BILL_TO = AddressRole("bill_to_", "bill_to_api_code", msg.BILL_TO_NOT_OWN, "default_billing", "BillTo_")
PURCHASE_FROM = AddressRole(
    "purchase_", "address_api_code", msg.PURCHASE_ADDRESS_NOT_OWN, "default_billing", "purchase_address_"
)


def line_sum(lines: list[dict]) -> Decimal:
    return sum((Decimal(line["line_total"]) for line in lines), Decimal(0))


def field_required(field: str) -> str:  # the wording the service uses for document fields
    return f"[{field}] : This field is required."


class Documents:
    """What the document kinds share: loading, lines, totals, references, delete."""

    collection: str
    what: str  # as the service's "does not exist" message names it
    list_key: str
    number_series: str
    title: str  # as the service's delete message names it
    # The collection of pre-rendered list entries, for kinds whose list entries have a shape of their own.
    summaries: str | None = None

    def __init__(self, books: Books, companies: Companies, items: Items):
        self.books, self.companies, self.items = books, companies, items

    # --- reading ---
    def record(self, db: str, api_code: str) -> dict:
        code = api_code_of(api_code)
        found = None if code is None else self.books.get(db, self.collection, code)
        if found is None:
            raise refuse(msg.not_found(self.what))
        return found

    def item_lookup(self, db: str) -> Callable[[str], dict]:
        cache: dict[str, dict] = {}

        def lookup(api_code: str) -> dict:
            if api_code not in cache:
                cache[api_code] = self.items.load(db, api_code)
            return cache[api_code]

        return lookup

    def get(self, db: str, api_code: str) -> dict:
        return self.render(db, self.record(db, api_code))

    def render(self, db: str, record: dict) -> dict:
        raise NotImplementedError

    def list_text(self, db: str) -> str:
        if self.summaries:
            texts = self.books.sorted_texts(db, self.summaries)
        else:  # orders are few and listed in full: render them now
            texts = [
                dumps(self.render(db, loads(text))) for text in self.books.sorted_texts(db, self.collection)
            ]
        return f'{{"{self.list_key}":[' + ",".join(texts) + "]}"

    # --- writing ---
    def store(self, db: str, record: dict, company_doc: dict, previous: dict | None = None) -> None:
        self.books.put(db, self.collection, record["api_code"], record, shapes.document_sort_key(record))
        if self.summaries:
            self.books.put(
                db,
                self.summaries,
                record["api_code"],
                self.summary(record, company_doc),
                shapes.document_sort_key(record),
            )
        old_parties = self.parties(previous) if previous else set()
        new_parties = self.parties(record)
        for party in old_parties - new_parties:
            self.books.link_company(db, party, self.collection, record["api_code"], linked=False)
        for party in new_parties - old_parties:
            self.books.link_company(db, party, self.collection, record["api_code"])
        old_items = {line["item"] for line in previous["lines"]} if previous else set()
        new_items = {line["item"] for line in record["lines"]}
        for item in old_items - new_items:
            self.books.count_item(db, item, -1)
        for item in new_items - old_items:
            self.books.count_item(db, item, +1)

    def refresh_summary(self, db: str, api_code: str, company_doc: dict) -> None:
        if self.summaries:
            record = self.books.get(db, self.collection, api_code)
            self.books.put(
                db,
                self.summaries,
                api_code,
                self.summary(record, company_doc),
                shapes.document_sort_key(record),
            )

    def summary(self, record: dict, company_doc: dict) -> dict:
        raise NotImplementedError

    @staticmethod
    def parties(record: dict) -> set[str]:
        return {record["customer"]}

    def delete(self, db: str, api_code: str) -> dict:
        record = self.record(db, api_code)
        self.refuse_delete(record)
        self.books.delete(db, self.collection, record["api_code"])
        if self.summaries:
            self.books.delete(db, self.summaries, record["api_code"])
        for party in self.parties(record):
            self.books.link_company(db, party, self.collection, record["api_code"], linked=False)
        for item in {line["item"] for line in record["lines"]}:
            self.books.count_item(db, item, -1)
        return msg.deleted(
            f"{self.title} # {record['number']} from {shapes.service_date(record['date'])} has been deleted."
        )

    def refuse_delete(self, record: dict) -> None:
        """Documents posted inside AccountingSuite cannot be deleted through the API."""

    # --- reading a body ---
    def customer(self, db: str, body: Body, field: str = "customer_api_code") -> dict:
        if not body.has(field):
            raise refuse(field_required(field))
        found = self.companies.find(db, body.text(field))
        if found is None:
            raise refuse(msg.customer_unknown(field))
        return found

    def lines(self, db: str, body: Body, exact: bool) -> list[dict]:
        """``exact``: the service checks ``line_total == quantity * price`` (orders), or trusts it (sales)."""
        raw = body.list_at("lines", "line_items")
        if not raw:
            raise refuse(msg.LINES_REQUIRED)
        lines = []
        for position, entry in enumerate(raw, start=1):
            line = Body(entry if isinstance(entry, dict) else {})
            if not line.has("api_code"):
                raise refuse(msg.line_required(position, "api_code"))
            product = self.items.find(db, line.text("api_code"))
            if product is None:
                raise refuse(msg.line_item_unknown(position))
            values = {}
            for key in ("price", "quantity", "line_total"):
                if not line.has(key):
                    raise refuse(msg.line_required(position, key))
                values[key] = str(line.number(key, f"line_items({position}).{key}"))
            if exact and Decimal(values["line_total"]) != Decimal(values["quantity"]) * Decimal(
                values["price"]
            ):
                raise refuse(msg.line_total_mismatch(position))
            lines.append({"item": product["api_code"], **values, **self.line_extras(db, line)})
        return lines

    def line_extras(self, db: str, line: Body) -> dict:
        return {}

    @staticmethod
    def totals(body: Body, lines: list[dict]) -> dict:
        """The document's totals as sent; those left out are worked out from the lines, as the document's
        attribute list defines them (line subtotal = sum of line totals; subtotal = after discount)."""
        line_subtotal = body.optional_number("line_subtotal", line_sum(lines))
        percent = body.optional_number("discount_percent", 0)
        discount = body.optional_number("discount", Decimal(line_subtotal) * Decimal(percent) / 100)
        subtotal = body.optional_number("subtotal", Decimal(line_subtotal) - Decimal(discount))
        return {
            "line_subtotal": str(line_subtotal),
            "discount": str(discount),
            "discount_percent": str(percent),
            "subtotal": str(subtotal),
            "shipping": str(body.optional_number("shipping", 0)),
            "sales_tax_total": str(body.optional_number("sales_tax_total", 0)),
        }

    def address_for(self, db: str, company_doc: dict, body: Body, role: AddressRole) -> dict:
        """The address a document points at: by api_code (it must be the company's), else the company's
        address whose lines match the ones sent (or a new one with them), else the company's default.
        A new address is added to ``company_doc`` (saved by the caller once everything is valid)."""
        addresses = company_doc["lines"]["addresses"]
        if body.has(role.api_code_key):
            found = shapes.find_address(company_doc, api_code_of(body.text(role.api_code_key)))
            if found is None:
                raise refuse(role.not_own)
            return found
        fields = address_fields(body, role.prefix)
        if not fields:
            return shapes.default_address(company_doc, role.default)
        wanted = tuple(fields.get(name, "") for name in _MATCHED)
        for candidate in addresses:
            if tuple(candidate[name] for name in _MATCHED) == wanted:
                return candidate
        created = self.companies.new_address(db, fields)
        if not fields.get("address_id"):
            rng = random.Random(created["api_code"])
            created["address_id"] = role.label + "".join(
                rng.choice(string.ascii_letters + string.digits) for _ in range(5)
            )
        if any(a["address_id"].casefold() == created["address_id"].casefold() for a in addresses):
            raise refuse(msg.address_id_taken(role.prefix + "address_id"))
        addresses.append(created)
        company_doc["lines"]["addresses"] = shapes.sort_addresses(addresses)
        return created


class Sales(Documents):
    """Invoices and cash sales: created as drafts, to be approved (posted) inside AccountingSuite."""

    posted_refusal: str
    number_key: str  # how the delete refusal names the number

    def create(self, db: str, body: Body) -> dict:
        record = self.read(db, body, {"posted": False})
        record["api_code"] = self.books.new_uuid(db)
        record["number"] = self.books.next_number(db, self.number_series, 6)
        return self._commit(db, record, None)

    def update(self, db: str, api_code: str, body: Body) -> dict:
        previous = self.record(db, api_code)
        record = self.read(
            db,
            body,
            {"api_code": previous["api_code"], "posted": previous["posted"], "number": previous["number"]},
        )
        return self._commit(db, record, previous)

    def _commit(self, db: str, record: dict, previous: dict | None) -> dict:
        company_doc = self.companies.load(db, record["customer"])
        self.store(db, record, company_doc, previous)
        return self.render(db, record)

    def read(self, db: str, body: Body, record: dict) -> dict:
        company_doc = self.customer(db, body)
        if not body.has("ship_to_api_code"):
            raise refuse(field_required("ship_to_api_code"))
        ship = shapes.find_address(company_doc, api_code_of(body.text("ship_to_api_code")))
        if ship is None:
            raise refuse(msg.SHIP_TO_NOT_OWN)
        record.update(
            customer=company_doc["api_code"],
            ship_to=ship["api_code"],
            date=body.date("date", field_required("date")),
        )
        self.read_dates(body, record)
        doc_total = str(body.required_number("doc_total", field_required("doc_total")))
        lines = self.lines(db, body, exact=False)
        record.update(
            ref_num=body.text("ref_num"),
            memo=body.text("memo"),
            doc_total=doc_total,
            lines=lines,
            **self.totals(body, lines),
        )
        return record

    def read_dates(self, body: Body, record: dict) -> None:
        pass

    def refuse_delete(self, record: dict) -> None:
        if record["posted"]:
            raise refuse(self.posted_refusal, **{self.number_key: record["number"], "date": record["date"]})


class Invoices(Sales):
    collection, summaries, what, list_key = "invoices", "invoices.list", "sales invoice", "cash_sales"
    number_series, title = "invoice_number", "Invoice"
    posted_refusal, number_key = msg.INVOICE_POSTED, "sales_invoice_number"

    def read_dates(self, body: Body, record: dict) -> None:
        record["due_date"] = body.date("due_date", field_required("due_date"))

    def render(self, db: str, record: dict) -> dict:
        return shapes.invoice(record, self.companies.load(db, record["customer"]), self.item_lookup(db))

    def summary(self, record: dict, company_doc: dict) -> dict:
        return shapes.invoice_summary(record, company_doc)


class CashSales(Sales):
    collection, summaries, what, list_key = "cashsales", "cashsales.list", "cash sale", "cash_sales"
    number_series, title = "cash_sale_number", "Cash Sale"
    posted_refusal, number_key = msg.CASH_SALE_POSTED, "cash_sale_number"

    def render(self, db: str, record: dict) -> dict:
        return shapes.cash_sale(record, self.companies.load(db, record["customer"]), self.item_lookup(db))

    def summary(self, record: dict, company_doc: dict) -> dict:
        return shapes.cash_sale_summary(record, company_doc)


class SalesOrders(Documents):
    collection, what, list_key = "salesorders", "sales order", "Sales_Orders"
    number_series, title = "so_number", "Sales Order"

    def create(self, db: str, body: Body) -> dict:
        return self._save(db, body, None)

    def update(self, db: str, api_code: str, body: Body) -> dict:
        return self._save(db, body, self.record(db, api_code))

    def _save(self, db: str, body: Body, previous: dict | None) -> dict:
        company_doc = self.customer(db, body)
        ship = self.address_for(db, company_doc, body, SHIP_TO)
        bill = self.address_for(db, company_doc, body, BILL_TO)
        date = body.date("date", field_required("date"))
        doc_total = str(body.required_number("doc_total", field_required("doc_total")))
        lines = self.lines(db, body, exact=True)
        # The service checks the total against the lines when an order is updated (not when it is created).
        if previous is not None and Decimal(doc_total) != line_sum(lines):
            raise refuse(msg.DOC_TOTAL_MISMATCH)
        record = {
            "api_code": previous["api_code"] if previous else self.books.new_uuid(db),
            "customer": company_doc["api_code"],
            "ship_to": ship["api_code"],
            "bill_to": bill["api_code"],
            "date": date,
            "ref_num": body.text("ref_num"),
            "memo": body.text("memo"),
            "cf1_string": body.text("cf1_string"),
            "external_id": body.text("external_id"),
            "doc_total": doc_total,
            "lines": lines,
            **self.totals(body, lines),
        }
        record["number"] = (
            previous["number"] if previous else self.books.next_number(db, self.number_series, 6)
        )
        self.companies.save(db, company_doc)  # it may have gained an address
        self.store(db, record, company_doc, previous)
        return self.render(db, record)

    def render(self, db: str, record: dict) -> dict:
        return shapes.sales_order(record, self.companies.load(db, record["customer"]), self.item_lookup(db))


class PurchaseOrders(Documents):
    collection, what, list_key = "purchaseorders", "purchase order", "purchase_orders"
    number_series, title = "po_number", "Purchase Order"

    def create(self, db: str, body: Body) -> dict:
        return self._save(db, body, None)

    def update(self, db: str, api_code: str, body: Body) -> dict:
        return self._save(db, body, self.record(db, api_code))

    def _save(self, db: str, body: Body, previous: dict | None) -> dict:
        vendor = self.customer(db, body)
        address = self.address_for(db, vendor, body, PURCHASE_FROM)
        dropship = ds_address = None
        if body.has("ds_customer_api_code"):
            dropship = self.customer(db, body, "ds_customer_api_code")
        if body.has("ds_address_api_code"):
            ds_address = (
                shapes.find_address(dropship, api_code_of(body.text("ds_address_api_code")))
                if dropship
                else None
            )
            if ds_address is None:
                raise refuse(msg.DROPSHIP_ADDRESS_NOT_OWN)
        date = body.date("po_date", field_required("po_date"))
        delivery = body.date("delivery_date", None)
        doc_total = str(body.required_number("doc_total", field_required("doc_total")))
        project, klass = self.catalogued(body)
        lines = self.lines(db, body, exact=True)
        number = (
            body.text("po_number")
            if body.has("po_number")
            else (previous["number"] if previous else self.books.next_number(db, self.number_series, 6))
        )
        record = {
            "api_code": previous["api_code"] if previous else self.books.new_uuid(db),
            "number": number,
            "customer": vendor["api_code"],
            "address": address["api_code"],
            "ds_customer": dropship["api_code"] if dropship else None,
            "ds_address": ds_address["api_code"] if ds_address else None,
            "date": date,
            "delivery_date": delivery,
            "memo": body.text("memo"),
            "doc_total": doc_total,
            "project": project,
            "class": klass,
            "lines": lines,
        }
        self.companies.save(db, vendor)  # it may have gained an address
        self.store(db, record, vendor, previous)
        return self.render(db, record)

    @staticmethod
    def catalogued(body: Body) -> tuple[str, str]:
        found = []
        for key, refusal in (("project", msg.PROJECT_UNKNOWN), ("class", msg.CLASS_UNKNOWN)):
            value = known(key, body.text(key)) if body.has(key) else ""
            if value is None:
                raise refuse(refusal)
            found.append(value)
        return found[0], found[1]

    def line_extras(self, db: str, line: Body) -> dict:
        unit = known("unit_of_measure", line.text("unit_of_measure")) if line.has("unit_of_measure") else ""
        if unit is None:
            raise refuse("[unit_of_measure] : The unit of measure does not exist.")  # service
        project, klass = self.catalogued(line)
        return {"unit_of_measure": unit, "project": project, "class": klass}

    @staticmethod
    def parties(record: dict) -> set[str]:
        return {record["customer"]} | ({record["ds_customer"]} if record["ds_customer"] else set())

    def render(self, db: str, record: dict) -> dict:
        dropship = self.companies.load(db, record["ds_customer"]) if record["ds_customer"] else None
        return shapes.purchase_order(
            record, self.companies.load(db, record["customer"]), dropship, self.item_lookup(db)
        )


class CashReceipts:
    """POST only: a customer's payment, found by the customer's name (a new customer when none has it)."""

    collection = "cashreceipts"

    def __init__(self, books: Books, companies: Companies):
        self.books, self.companies = books, companies

    def create(self, db: str, body: Body) -> None:
        name = body.text("company_name").strip()
        if not name:
            raise refuse(msg.required("company_name"))
        date = body.date("date", msg.required("date"))
        amount = str(body.required_number("amount", msg.required("amount")))
        existing = self.companies.named(db, name)
        company_doc = (
            self.companies.load(db, existing)
            if existing
            else self.companies.new_company(db, name, "customer", [])
        )
        record = {
            "api_code": self.books.new_uuid(db),
            "number": self.books.next_number(db, "cash_receipt", 6),
            "customer": company_doc["api_code"],
            "date": date,
            "amount": amount,
            "ref_num": body.text("ref_num"),
            "memo": body.text("memo"),
        }
        self.books.put(db, self.collection, record["api_code"], record, shapes.document_sort_key(record))
        self.books.link_company(db, company_doc["api_code"], self.collection, record["api_code"])


def refresh_company_documents(books: Books, kinds: dict[str, Documents], db: str, company_doc: dict) -> None:
    """A company's name or addresses changed: its documents' list entries show them, so render them again."""
    for collection, api_code in books.company_refs(db, company_doc["api_code"]):
        kind = kinds.get(collection)
        if kind is not None:
            kind.refresh_summary(db, api_code, company_doc)
