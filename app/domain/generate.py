"""Deterministic, believable demo companies of any size.

The same seed and size always give the same company, so the sandboxes, the tests and the benchmarks
agree on what a company holds. Records stream out of generators: a million invoices never sit in
memory at once. Everything posts to a ledger that balances: every invoice, payment and expense is a
transaction whose lines sum to zero.

Records are built with ``model_construct`` because the generator's output is valid by construction
and validating a million invoices would cost more than storing them; a test validates a sample.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from typing import NamedTuple

from app.domain.banking import BankAccount, BankTransaction, Payment, PaymentDirection
from app.domain.documents import DocumentStatus, Invoice, InvoiceLine
from app.domain.ledger import Account, Classification, LedgerLine
from app.domain.money import quantize
from app.domain.parties import Address, Customer

DEMO_AS_OF = dt.date(2026, 11, 1)

SIZES = {"tiny": (8, 40), "small": (40, 400), "medium": (5_000, 50_000), "large": (20_000, 100_000)}

VAT_RATES = {"standard": Decimal(20), "reduced": Decimal(5), "zero": Decimal(0), "exempt": Decimal(0)}

CHART = [
    ("1100", "Trade debtors", Classification.ASSET),
    ("1200", "Bank current account", Classification.ASSET),
    ("1210", "Bank deposit account", Classification.ASSET),
    ("2100", "Trade creditors", Classification.LIABILITY),
    ("2200", "VAT control", Classification.LIABILITY),
    ("3000", "Share capital", Classification.EQUITY),
    ("3100", "Retained earnings", Classification.EQUITY),
    ("4000", "Sales: products", Classification.REVENUE),
    ("4010", "Sales: services", Classification.REVENUE),
    ("4020", "Sales: delivery", Classification.REVENUE),
    ("5000", "Cost of sales", Classification.EXPENSE),
    ("6100", "Rent and rates", Classification.EXPENSE),
    ("6200", "Motor expenses", Classification.EXPENSE),
    ("6300", "Telephone and internet", Classification.EXPENSE),
    ("6400", "Office supplies", Classification.EXPENSE),
    ("6500", "Professional fees", Classification.EXPENSE),
]

_CATALOGUE = [
    ("Consulting, per hour", "SRV-CONS", "85.00", "4010", "standard"),
    ("Bookkeeping, monthly", "SRV-BOOK", "240.00", "4010", "standard"),
    ("Site survey", "SRV-SURV", "450.00", "4010", "standard"),
    ("Oak dining table", "FUR-OAK-T", "899.00", "4000", "standard"),
    ("Pine shelving unit", "FUR-PINE-S", "129.99", "4000", "standard"),
    ("Children's car seat", "CHL-SEAT", "74.50", "4000", "reduced"),
    ("Printed catalogue", "PRT-CAT", "12.40", "4000", "zero"),
    ("Training course place", "EDU-COURSE", "395.00", "4010", "exempt"),
    ("Delivery and installation", "DEL-INST", "35.00", "4020", "standard"),
    ("Espresso beans, 1kg", "FD-ESP-1K", "18.75", "4000", "zero"),
    ("Ceramic tiles, per m²", "TIL-CER", "23.15", "4000", "standard"),
    ("Website maintenance", "SRV-WEB", "150.00", "4010", "standard"),
    ("Energy-saving materials", "ENV-INS", "61.20", "4000", "reduced"),
    ("Boiler service", "SRV-BOIL", "89.00", "4010", "standard"),
    ("Copper pipe, 3m", "PLM-CU3", "27.36", "4000", "standard"),
]

_FIRST = ["Amelia", "Oliver", "Isla", "George", "Ava", "Harry", "Mia", "Noah", "Ivy", "Leo", "Freya", "Oscar", "Grace", "Arthur", "Sophie", "Jack", "Aoife", "Eoin", "Siobhán", "Ciarán", "Zoë", "Rhys", "Dafydd", "Catrin", "Priya", "Arjun", "Fatima", "Yusuf", "Chloé", "Mateusz"]
_LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright", "Murphy", "O'Brien", "Walsh", "Evans", "Thomas", "Roberts", "Kowalski", "Hughes", "Edwards", "Khan", "Lewis", "Clarke", "Byrne", "Nguyen"]
_TRADE = ["Joinery", "Plumbing", "Bakery", "Studio", "Logistics", "Dental", "Motors", "Florists", "Print", "Surveyors", "Coffee", "Roasters", "Tiling", "Electrical", "Architects", "Catering", "Opticians", "Garden", "Design", "Kennels", "Brewing", "Analytics", "Cycles"]
_PLACE = ["Harbour", "Meadow", "Kingsway", "Riverside", "Oakfield", "Northgate", "Elm", "Tree", "Castle", "Brook", "Highfield", "Millbank", "Station", "Orchard", "Westcliff", "Thornbury", "Abbey", "Bridgewater", "Hillside", "Greenway", "Foxley", "Ashdown"]
_SUFFIX = ["Ltd", "Ltd", "LLP", "& Co", "& Sons", "Partners", "Group", ""]
_TOWNS = [("Bristol", "BS1"), ("Leeds", "LS1"), ("Manchester", "M1"), ("Cardiff", "CF10"), ("Belfast", "BT1"),
          ("Dublin", "D02"), ("Glasgow", "G1"), ("Norwich", "NR1"), ("York", "YO1"), ("Bath", "BA1")]
_STREETS = ["High Street", "Station Road", "Church Lane", "Mill Road", "Victoria Street", "Park Avenue", "Queen's Road"]


class Counts(NamedTuple):
    customers: int
    invoices: int


def size_of(size: str | int) -> Counts:
    if isinstance(size, int) or str(size).isdigit():
        invoices = int(size)
        return Counts(max(1, invoices // 10), invoices)
    customers, invoices = SIZES[size]
    return Counts(customers, invoices)


class DemoCompany:
    """One generated company. Each ``*()`` method streams the same records every time it is called."""

    def __init__(self, name: str, size: str | int = "small", seed: int = 1, currency: str = "GBP",
                 as_of: dt.date = DEMO_AS_OF, id_offset: int = 0):
        self.name = name
        self.seed = seed
        self.currency = currency
        self.as_of = as_of
        self.counts = size_of(size)
        self.id_offset = id_offset
        self._names = self._customer_names()

    def _rng(self, stream: str) -> random.Random:
        return random.Random(f"{self.seed}:{self.name}:{stream}")

    def _customer_names(self) -> list[str]:
        rng = self._rng("names")
        names, seen = [], set()
        while len(names) < self.counts.customers:
            if rng.random() < 0.25:
                name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
            else:
                name = f"{rng.choice(_PLACE)} {rng.choice(_TRADE)} {rng.choice(_SUFFIX)}".strip()
            if name in seen:
                name = f"{name} ({len(names) + 1})"
            seen.add(name)
            names.append(name)
        return names

    def customer_remote_id(self, index: int) -> str:
        return str(self.id_offset + index + 1)

    def accounts(self) -> list[Account]:
        return [Account.model_construct(local_id=None, remote_id=code, payload_hash=None, remote_version=None,
                                        code=code, name=name, classification=kind, archived=False)
                for code, name, kind in CHART]

    def bank_accounts(self) -> list[BankAccount]:
        rng = self._rng("bank")
        balances = self._bank_balances()
        return [
            BankAccount.model_construct(
                local_id=None, remote_id=str(self.id_offset + n + 1), payload_hash=None, remote_version=None,
                name=name, account_number=f"{rng.randrange(10**7, 10**8)}",
                sort_code=f"{rng.randrange(10, 99)}-{rng.randrange(10, 99)}-{rng.randrange(10, 99)}", iban="",
                currency=self.currency, balance=balances[code], account_code=code)
            for n, (code, name) in enumerate((("1200", "Current account"), ("1210", "Deposit account")))
        ]

    def customers(self) -> Iterator[Customer]:
        rng = self._rng("customers")
        for index, name in enumerate(self._names):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            town, area = rng.choice(_TOWNS)
            slug = "".join(ch for ch in name.lower() if ch.isalnum())[:16] or "mail"
            yield Customer.model_construct(
                local_id=None, remote_id=self.customer_remote_id(index), payload_hash=None, remote_version=None,
                name=name, contact_name=f"{first} {last}",
                email=f"{_ascii(first.lower())}@{_ascii(slug)}.example",
                phone=f"0{rng.randrange(1100, 1999)} {rng.randrange(100000, 999999)}",
                address=Address(line1=f"{rng.randrange(1, 250)} {rng.choice(_STREETS)}", town=town,
                                postcode=f"{area} {rng.randrange(1, 9)}{rng.choice('ABDEFGHJ')}"
                                         f"{rng.choice('LNPQRSTUW')}",
                                country="IE" if town == "Dublin" else "GB"),
                vat_number=f"GB{rng.randrange(100000000, 999999999)}" if rng.random() < 0.4 else "",
                company_number=f"{rng.randrange(10**7, 10**8)}" if name.endswith("Ltd") else "",
                currency=self.currency, archived=rng.random() < 0.03)

    def invoices(self) -> Iterator[Invoice]:
        rng = self._rng("invoices")
        count = self.counts.invoices
        span = 730
        for n in range(count):
            # Spread evenly over two years, newest last, like real numbering.
            date = self.as_of - dt.timedelta(days=span - (n * span) // max(count, 1))
            customer = rng.randrange(self.counts.customers)
            lines = []
            for _ in range(rng.randint(1, 10)):
                desc, code, price, account, rate_key = rng.choice(_CATALOGUE)
                price = Decimal(price) * Decimal(rng.randint(90, 110)) / 100
                quantity = Decimal(rng.randint(1, 20)) if rng.random() < 0.8 else Decimal(rng.randint(1, 16)) / 2
                lines.append(_construct(
                    InvoiceLine, description=desc, item_code=code, quantity=quantity,
                    unit_price=price.quantize(Decimal("0.01")),
                    discount_percent=Decimal(10) if rng.random() < 0.05 else Decimal(0),
                    vat_rate_key=rate_key, vat_rate=VAT_RATES[rate_key], vat_amount=None, account_code=account))
            due = date + dt.timedelta(days=rng.choice((14, 30, 30, 30, 60)))
            invoice = _construct(
                Invoice, local_id=None, remote_id=str(self.id_offset + n + 1), payload_hash=None, remote_version=None,
                kind="invoice", number=f"INV-{n + 1:06d}", customer_local_id=None,
                customer_remote_id=self.customer_remote_id(customer), customer_name=self._names[customer],
                date=date, due_date=due, reference=f"PO {rng.randrange(1000, 99999)}" if rng.random() < 0.5 else "",
                currency=self.currency, exchange_rate=Decimal(1), status=DocumentStatus.APPROVED,
                lines=lines, amount_paid=Decimal(0), rounding=_ROUNDING)
            gross = invoice.totals().gross
            age = (self.as_of - date).days
            roll = rng.random()
            if roll < 0.01:
                invoice.__dict__["status"] = DocumentStatus.DRAFT
            elif roll < 0.02:
                invoice.__dict__["status"] = DocumentStatus.VOID
            elif (age > 45 and roll < 0.92) or (age > 20 and roll < 0.5):
                invoice.__dict__["status"] = DocumentStatus.PAID
                invoice.__dict__["amount_paid"] = gross
            elif roll < 0.97 and age > 10:
                invoice.__dict__["amount_paid"] = quantize(gross * Decimal(rng.randint(10, 60)) / 100, self.currency)
            yield invoice

    def payments(self) -> Iterator[Payment]:
        """One receipt per invoice with money paid against it, dated when the customer paid."""
        for invoice in self.invoices():
            if invoice.amount_paid > 0:
                yield Payment.model_construct(
                    local_id=None, remote_id=invoice.remote_id, payload_hash=None, remote_version=None,
                    direction=PaymentDirection.RECEIVED, party_remote_id=invoice.customer_remote_id,
                    bank_account_remote_id=str(self.id_offset + 1), date=self._paid_on(invoice),
                    amount=invoice.amount_paid, currency=self.currency, reference=invoice.number)

    def _paid_on(self, invoice: Invoice) -> dt.date:
        return min(self.as_of, invoice.date + dt.timedelta(days=7 + int(invoice.remote_id) % 30))

    def expenses(self) -> Iterator[tuple[dt.date, str, str, Decimal]]:
        """(date, description, expense account, amount) of the company's spending, paid from the bank."""
        rng = self._rng("expenses")
        months = 24
        for month in range(months):
            day = self.as_of - dt.timedelta(days=30 * (months - month))
            for account, desc, low, high in (("6100", "Rent", 900, 900), ("6300", "Broadband and phones", 40, 90),
                                             ("6200", "Fuel", 80, 260), ("6400", "Stationery", 10, 120),
                                             ("5000", "Stock purchases", 300, 4000)):
                scale = max(1, self.counts.invoices // 400)
                amount = Decimal(rng.randint(low * 100, high * 100) * scale) / 100
                yield day, desc, account, amount

    def bank_transactions(self) -> Iterator[BankTransaction]:
        current = str(self.id_offset + 1)
        for payment in self.payments():
            yield BankTransaction.model_construct(
                local_id=None, remote_id=f"R{payment.remote_id}", payload_hash=None, remote_version=None,
                bank_account_remote_id=current, date=payment.date, description=f"Receipt {payment.reference}",
                reference=payment.reference, amount=payment.amount, currency=self.currency, reconciled=True)
        for index, (day, desc, _account, amount) in enumerate(self.expenses()):
            yield BankTransaction.model_construct(
                local_id=None, remote_id=f"E{index + 1}", payload_hash=None, remote_version=None,
                bank_account_remote_id=current, date=day, description=desc, reference="",
                amount=-amount, currency=self.currency, reconciled=day < self.as_of - dt.timedelta(days=30))

    def ledger_lines(self) -> Iterator[LedgerLine]:
        """Double entry for everything above; every transaction's lines sum to zero."""
        def line(txn: str, date: dt.date, account: str, amount: Decimal, description: str) -> LedgerLine:
            return LedgerLine.model_construct(
                local_id=None, remote_id=None, payload_hash=None, remote_version=None, transaction_id=txn,
                date=date, account_code=account, amount=amount, currency=self.currency, description=description)

        yield line("OPEN", self.as_of - dt.timedelta(days=760), "1200", Decimal(25000), "Opening balance")
        yield line("OPEN", self.as_of - dt.timedelta(days=760), "3000", Decimal(-25000), "Opening balance")
        for invoice in self.invoices():
            if invoice.status in (DocumentStatus.DRAFT, DocumentStatus.VOID):
                continue
            txn = f"SI{invoice.remote_id}"
            net_by_account: dict[str, Decimal] = {}
            for item in invoice.lines:
                net_by_account[item.account_code] = (net_by_account.get(item.account_code, Decimal(0))
                                                     + item.net(invoice.currency, invoice.rounding))
            totals = invoice.totals()
            yield line(txn, invoice.date, "1100", totals.gross, invoice.number)
            for account, net in sorted(net_by_account.items()):
                yield line(txn, invoice.date, account, -net, invoice.number)
            if totals.vat:
                yield line(txn, invoice.date, "2200", -totals.vat, invoice.number)
        for payment in self.payments():
            txn = f"RC{payment.remote_id}"
            yield line(txn, payment.date, "1200", payment.amount, f"Receipt {payment.reference}")
            yield line(txn, payment.date, "1100", -payment.amount, f"Receipt {payment.reference}")
        for index, (day, desc, account, amount) in enumerate(self.expenses()):
            txn = f"EX{index + 1}"
            yield line(txn, day, account, amount, desc)
            yield line(txn, day, "1200", -amount, desc)

    def _bank_balances(self) -> dict[str, Decimal]:
        balances = {"1200": Decimal(25000), "1210": Decimal(0)}
        for payment in self.payments():
            balances["1200"] += payment.amount
        for _day, _desc, _account, amount in self.expenses():
            balances["1200"] -= amount
        return balances


def _construct(model, **values):
    """``model_construct`` without its per-field bookkeeping (a third of the generator's time): the
    caller passes every field. A test validates a sample of what this builds."""
    record = model.__new__(model)
    object.__setattr__(record, "__dict__", values)
    object.__setattr__(record, "__pydantic_fields_set__", set(values))
    object.__setattr__(record, "__pydantic_extra__", None)
    object.__setattr__(record, "__pydantic_private__", None)
    return record


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace("'", "")


_ROUNDING = Invoice.model_fields["rounding"].default
