"""Writing a generated demo business into an AccountingSuite sandbox database, in the wire shapes.

Customers become companies (type "customer", one "Primary" address that is the default for billing and
shipping); the products and services on the invoices become items; invoices become invoices whose lines
carry the generator's amounts (a line discount is folded into the line's price, since AccountingSuite
lines have none) and whose ``sales_tax_total`` is the sum of the lines' rounded tax. Invoices the
generator voids are left out (a voided invoice is gone from AccountingSuite); its drafts stay drafts,
everything else was posted inside AccountingSuite and cannot be deleted through the API. Payments and
bank data are not written: the API has no way to read them.

Ids and numbers are allocated in memory and written in large batches; the counters are then set so
that the API carries on after the seeded ones.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal

from app.domain.documents import DocumentStatus
from app.domain.generate import DemoCompany
from app.domain.money import quantize
from providers.accountingsuite import sandbox_shapes as shapes
from providers.accountingsuite.sandbox_books import Books
from providers.accountingsuite.sandbox_parties import Companies, Items

BATCH = 5_000
# A few suppliers, so the demo has vendors beside its customers.
VENDORS = (
    ("Bayside Property Management", "1450 Harbor Blvd", "Oakland", "CA", "94607"),
    ("Metro Wireless Inc.", "88 Commerce Way", "Columbus", "OH", "43215"),
    ("Pacific Fuel Cards", "2200 Terminal Ave", "Portland", "OR", "97209"),
    ("Northwind Wholesale Supply", "500 Industrial Pkwy", "Milwaukee", "WI", "53204"),
)


class _Allocator:
    """The database's counters, held in memory while seeding."""

    def __init__(self, books: Books, db: str):
        self.books, self.db = books, db
        self.counts: Counter[str] = Counter()

    def uuid(self) -> str:
        self.counts["uuid"] += 1
        return self.books.uuid_for(self.db, self.counts["uuid"])

    def number(self, series: str, width: int) -> str:
        self.counts[series] += 1
        return f"{self.counts[series]:0{width}d}"

    def save(self) -> None:
        for series, value in self.counts.items():
            self.books.store.set_counter(f"{self.db}:{series}", value)


def _batches(rows: Iterator[tuple[str, object, str]]) -> Iterator[list[tuple[str, object, str]]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def seed_database(books: Books, db: str, company: DemoCompany) -> None:
    ids = _Allocator(books, db)
    companies: dict[str, dict] = {}  # the generator's customer id -> company document
    for customer in company.customers():
        first, _, last = customer.contact_name.partition(" ")
        fields = {
            "address_id": "Primary",
            "first_name": first,
            "last_name": last,
            "address_line1": customer.address.line1,
            "address_line2": customer.address.line2,
            "city": customer.address.town,
            "zip": customer.address.postcode,
            "country": customer.address.country,
            "phone": customer.phone,
            "email": customer.email,
        }
        api_code = ids.uuid()
        address = shapes.address(ids.uuid(), ids.number("address_code", 5), fields, True, True)
        companies[customer.remote_id] = shapes.company(
            api_code, ids.number("company_code", 5), customer.name, "customer", [address]
        )
    names = {doc["company_name"].casefold() for doc in companies.values()}
    vendors = []
    for name, street, city, state, zip_code in VENDORS:
        if name.casefold() not in names:
            api_code = ids.uuid()
            address = shapes.address(
                ids.uuid(),
                ids.number("address_code", 5),
                {
                    "address_id": "Remit to",
                    "address_line1": street,
                    "city": city,
                    "state": state,
                    "zip": zip_code,
                    "country": "US",
                },
                True,
                True,
            )
            vendors.append(shapes.company(api_code, ids.number("company_code", 5), name, "vendor", [address]))

    items: dict[str, dict] = {}  # item code -> item document
    item_refs: Counter[str] = Counter()
    company_refs: defaultdict[str, list[list[str]]] = defaultdict(list)

    def item_for(line) -> dict:
        found = items.get(line.item_code)
        if found is None:
            kind = "product" if line.account_code == "4000" else "service"
            unit = (
                "hour" if "per hour" in line.description else "m²" if "per m²" in line.description else "each"
            )
            found = shapes.item(
                ids.uuid(),
                line.item_code,
                line.description,
                kind,
                "Supplies" if kind == "product" else "Services",
                unit,
                line.unit_price,
            )
            items[line.item_code] = found
        return found

    def invoice_rows() -> Iterator[tuple[str, object, str]]:
        for invoice in company.invoices():
            if invoice.status is DocumentStatus.VOID:
                continue
            lines, net, tax = [], Decimal(0), Decimal(0)
            for line in invoice.lines:
                line_net = line.net(invoice.currency, invoice.rounding)
                net += line_net
                # SalesDocument.totals() taxes each line's net like this; vat() would work the net out again.
                tax += (
                    quantize(line_net * line.vat_rate / 100, invoice.currency, invoice.rounding)
                    if line.vat_amount is None
                    else line.vat(invoice.currency, invoice.rounding)
                )
                price = (
                    line.unit_price * (100 - line.discount_percent) / 100
                    if line.discount_percent
                    else line.unit_price
                )
                lines.append(
                    {
                        "item": item_for(line)["api_code"],
                        "price": str(price),
                        "quantity": str(line.quantity),
                        "line_total": str(line_net),
                    }
                )
            customer = companies[invoice.customer_remote_id]
            record = {
                "api_code": ids.uuid(),
                "number": ids.number("invoice_number", 6),
                "customer": customer["api_code"],
                "ship_to": shapes.default_address(customer, "default_shipping")["api_code"],
                "date": invoice.date.isoformat(),
                "due_date": invoice.due_date.isoformat(),
                "ref_num": invoice.reference,
                "memo": "",
                "doc_total": str(net + tax),
                "lines": lines,
                "line_subtotal": str(net),
                "discount": "0",
                "discount_percent": "0",
                "subtotal": str(net),
                "shipping": "0",
                "sales_tax_total": str(tax),
                "posted": invoice.status is not DocumentStatus.DRAFT,
            }
            company_refs[customer["api_code"]].append(["invoices", record["api_code"]])
            item_refs.update({line["item"] for line in lines})
            yield record["api_code"], record, shapes.document_sort_key(record)

    store = books.store
    by_api_code = {doc["api_code"]: doc for doc in companies.values()}
    for batch in _batches(invoice_rows()):
        store.put_many(db, "invoices", batch)
        store.put_many(
            db,
            "invoices.list",
            [
                (api_code, shapes.invoice_summary(record, by_api_code[record["customer"]]), key)
                for api_code, record, key in batch
            ],
        )
    Companies(books, on_change=lambda db, doc: None).save_many(db, [*companies.values(), *vendors])
    Items(books).save_many(db, list(items.values()))
    store.put_many(
        db, "refs.company", ((api_code, {"refs": refs}, "") for api_code, refs in company_refs.items())
    )
    store.put_many(db, "refs.item", ((api_code, {"n": n}, "") for api_code, n in item_refs.items()))
    ids.save()
