"""A generated DemoCompany, written as an AccountsIQ entity: customers C0001.., item invoices with
their posted transactions, receipts allocated to them, bank payments for expenses and an opening
journal, so that the entity's own ledger holds exactly the demo company's double entry.

One pass over the generator (it is the slow part), everything written with ``put_many``.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from app.domain.documents import DocumentStatus
from app.domain.generate import DemoCompany
from providers.accountsiq.sandbox_data import (
    CENT,
    I_HEAD,
    INVOICE_CHUNK,
    META,
    TXN_CHUNK,
    ZERO,
    Entity,
    InvoiceRow,
    TxnRow,
    long_lived_objects,
    modified_text,
    row_version,
)
from providers.accountsiq.sandbox_envelope import stamp_text
from providers.accountsiq.sandbox_reference import (
    COUNTRY_NAMES,
    CURRENCY,
    CURRENT_ACCOUNT,
    DEBTORS,
    DEFAULT_CREDIT_TERM,
    DEFAULT_SALES,
    DEFAULT_TAX,
    GL_ACCOUNTS,
    SHARE_CAPITAL,
    TAX_CODES,
    TAX_FOR_RATE_KEY,
    VAT_CONTROL,
    profile_for,
)
from providers.accountsiq.sandbox_shapes import CUSTOMER, render
from providers.sandbox.docstore import DocStore

SEED_AUTHOR = "bookkeeper"
_HUNDRED = Decimal(100)
_PRICE = Decimal("0.0001")
_CREDIT_LIMITS = (Decimal("0.00"), Decimal("2500.00"), Decimal("5000.00"), Decimal("10000.00"))
_OPENING = Decimal(25000)
_BATCH = 200  # documents per put_many: a chunk document holds 32 invoices or 256 transactions


def _none(value: str) -> str | None:
    return value or None


class _Writer:
    """Buffers documents per collection and flushes them in big batches; records of the chunked
    collections are gathered into their chunk documents first."""

    def __init__(self, store: DocStore, company: str, stamp: str):
        self.store, self.company, self.stamp = store, company, stamp
        self.pending: dict[str, list] = {}
        self.chunks: dict[str, tuple[int, dict]] = {}

    def add_chunked(self, collection: str, size: int, record: list) -> None:
        number = record[0] // size
        current = self.chunks.get(collection)
        if current is None or current[0] != number:
            if current is not None:
                self.add(collection, str(current[0]), current[1], self.stamp)
            current = (number, {})
            self.chunks[collection] = current
        current[1][str(record[0])] = record

    def add(self, collection: str, doc_id: str, doc, modified: str) -> None:
        items = self.pending.setdefault(collection, [])
        items.append((doc_id, doc, modified))
        if len(items) >= _BATCH:
            self.flush(collection)

    def flush(self, collection: str | None = None) -> None:
        if collection is None:
            for name, (number, chunk) in self.chunks.items():
                self.add(name, str(number), chunk, self.stamp)
            self.chunks = {}
        for name in [collection] if collection else list(self.pending):
            items = self.pending.pop(name, [])
            if items:
                self.store.put_many(self.company, name, items)


def seed_entity(store: DocStore, company: DemoCompany, order: int, now: dt.datetime) -> Entity:
    profile = profile_for(company.name)
    as_of = company.as_of
    first_day = as_of - dt.timedelta(days=800)
    meta = {"entity": profile.entity, "name": company.name, "order": order, "as_of": as_of.isoformat(),
            "years": [first_day.year, max(as_of.year, now.year) + 1], "currency": CURRENCY,
            "seeded": modified_text(now)}
    store.put(META, "entity", profile.entity, meta)
    entity = Entity(store, profile.entity, meta, loaded=True)
    seeder = _Seeder(entity, company, modified_text(now))
    with long_lived_objects():
        seeder.run()
    return entity





class _Seeder:
    def __init__(self, entity: Entity, company: DemoCompany, stamp: str):
        self.entity, self.company, self.stamp = entity, company, stamp
        self.out = _Writer(entity.store, entity.id, stamp)
        self.versions = 0
        self.next_txn = 0
        self.next_line = 0
        self.moves: dict[tuple[int, str], Decimal] = {}
        self.by_remote: dict[str, dict] = {}
        self.snapshots: dict[str, dict] = {}

    def version(self) -> str:
        self.versions += 1
        return row_version(self.versions)

    def run(self) -> None:
        company, entity = self.company, self.entity
        self._opening()
        self._customers()
        last_invoice = 0
        used_refs: set[str] = set()
        for invoice in company.invoices():
            last_invoice = max(last_invoice, int(invoice.remote_id))
            if invoice.status is DocumentStatus.VOID:
                continue  # InvoiceStatus 2.0 has no cancelled state: a voided draft was simply deleted
            self._invoice(invoice, used_refs)
        for index, (day, description, account, amount) in enumerate(company.expenses()):
            reconciled = day < company.as_of - dt.timedelta(days=30)
            self._txn("BP", day, [[account, amount, "N", GL_ACCOUNTS[account].default_tax, description],
                                  [CURRENT_ACCOUNT, -amount, "B", "", description]], None, 0, f"BP{index + 1:05d}",
                      description=description, control=-amount, bank=-amount, reconciled=reconciled)
        entity.glmove.update(self.moves)
        self.out.flush()
        entity.save_glmove(self.stamp)
        store, name = entity.store, entity.id
        store.set_counter(f"{name}:rowversion", self.versions)
        store.set_counter(f"{name}:txn", self.next_txn)
        store.set_counter(f"{name}:line", self.next_line)
        store.set_counter(f"{name}:invoice", last_invoice)
        store.set_counter(f"{name}:invoice_number", last_invoice)
        store.set_counter(f"{name}:credit_number", 0)
        store.set_counter(f"{name}:account", len(entity.customers))

    # --- parts ---------------------------------------------------------------------------------------
    def _opening(self) -> None:
        day = self.company.as_of - dt.timedelta(days=760)
        self._txn("GD", day, [[CURRENT_ACCOUNT, _OPENING, "B", "", "Opening balance"],
                              [SHARE_CAPITAL, -_OPENING, "N", "", "Opening balance"]], None, 0, "GJ00001",
                  description="Opening balance", control=_OPENING, bank=_OPENING, reconciled=True)

    def _customers(self) -> None:
        company, entity = self.company, self.entity
        span = 730
        total = max(company.counts.customers, 1)
        start = company.as_of - dt.timedelta(days=790)
        for index, customer in enumerate(company.customers()):
            account_id = index + 1
            created = dt.datetime.combine(start + dt.timedelta(days=index * span // total), dt.time(9)) \
                + dt.timedelta(minutes=(index * 37) % 480)
            address = customer.address
            record = {
                "AccountID": account_id, "ExternalApproverID": None, "LedgerType": "Sales",
                "Code": f"C{account_id:04d}", "CountryCode": _none(address.country), "Name": customer.name,
                "DefaultTaxCode": DEFAULT_TAX, "CreditTermID": DEFAULT_CREDIT_TERM,
                "CurrencyCode": customer.currency, "AuthorUserID": SEED_AUTHOR, "CreationDate": stamp_text(created),
                "Address1": _none(address.line1), "Address2": _none(address.line2), "City": _none(address.town),
                "County_State": _none(address.region), "Country": COUNTRY_NAMES.get(address.country),
                "PostCode": _none(address.postcode), "Phone": _none(customer.phone), "Email": _none(customer.email),
                "Contact": _none(customer.contact_name), "VATRegistrationNumber": _none(customer.vat_number),
                "DiscountRate": Decimal("0.00"), "UseAccountTaxCode": False,
                "DefaultGLAccountCode": DEFAULT_SALES, "ControlGLAccountCode": DEBTORS,
                "IsActive": not customer.archived, "Hold": 0, "HeadOfficeAccountID": None,
                "Notes": f"Company number {customer.company_number}" if customer.company_number else None,
                "UseHeadOffice": False, "IsHeadOffice": False, "CreditLimit": _CREDIT_LIMITS[account_id % 4],
                "BankCode": CURRENT_ACCOUNT, "IsFranchise": False, "RowVersionNumber": self.version(),
                "SalesRepresentativeID": None, "_m": self.stamp,
            }
            self.out.add("customer", record["Code"], record, self.stamp)
            self.out.add("customer.xml", record["Code"], render(CUSTOMER, record), self.stamp)
            entity.customers[record["Code"]] = record
            entity.customer_codes[account_id] = record["Code"]
            self.by_remote[customer.remote_id] = record
            self.snapshots[record["Code"]] = {member: record[source] for member, source in _SNAPSHOT
                                              if record.get(source) is not None}

    def _invoice(self, invoice, used_refs: set[str]) -> None:
        # The hot loop of seeding (50,000 invoices for a medium company): plain str() of Decimals
        # (the generator's values never need an exponent) and few function calls.
        customer = self.by_remote[invoice.customer_remote_id]
        invoice_id = int(invoice.remote_id)
        posted = invoice.status is not DocumentStatus.DRAFT
        minutes = (invoice_id * 7) % 480
        day_text = invoice.date.isoformat()
        created = f"{day_text}T{9 + minutes // 60:02d}:{minutes % 60:02d}:00Z"
        lines = []
        net_total = tax_total = ZERO
        revenue: dict[tuple[str, str], Decimal] = {}
        taxes: dict[str, Decimal] = {}
        line_id = self.next_line
        for item in invoice.lines:
            line_id += 1
            price = item.unit_price
            amount = item.quantity * price
            actual = price
            discount = item.discount_percent
            if discount:
                amount = amount * (_HUNDRED - discount) / _HUNDRED
                actual = (price * (_HUNDRED - discount) / _HUNDRED).quantize(_PRICE)
            net = amount.quantize(CENT, ROUND_HALF_UP)
            tax_code, rate, rate_text = _RATES[item.vat_rate_key]
            tax = (net * rate).quantize(CENT, ROUND_HALF_UP)
            net_total += net
            tax_total += tax
            key = (item.account_code, tax_code)
            revenue[key] = revenue.get(key, ZERO) + net
            if tax:
                taxes[tax_code] = taxes.get(tax_code, ZERO) + tax
            lines.append([line_id, item.item_code or None, item.description or None, str(item.quantity), str(price),
                          str(discount), str(actual), tax_code, rate_text, str(net), str(tax), str(net + tax),
                          item.account_code, None])
        self.next_line = line_id
        gross = net_total + tax_total
        ref = invoice.reference
        if ref and ref not in used_refs:
            used_refs.add(ref)
        else:
            ref = ""
        number = invoice.number
        txn_id = 0
        if posted:
            ledger = [[DEBTORS, gross, "C", "", number]]
            ledger += [[code, -amount, "N", tax, _GL_NAMES[code]] for (code, tax), amount in sorted(revenue.items())]
            ledger += [[VAT_CONTROL, -amount, "T", tax, _TAX_NAMES[tax]] for tax, amount in sorted(taxes.items())]
            paid = invoice.amount_paid
            txn_id = self._txn("SI", invoice.date, ledger, customer, invoice_id, number, ext=ref, control=gross,
                               outstanding=gross - paid, created=created, description=number)
            if paid > 0:
                # The same payment date DemoCompany.payments() gives, so the two ledgers agree.
                paid_on = self.company._paid_on(invoice)
                text = f"Receipt {number}"
                self._txn("SR", paid_on, [[DEBTORS, -paid, "C", "", text], [CURRENT_ACCOUNT, paid, "B", "", text]],
                          customer, 0, f"RC{invoice_id:06d}", control=-paid, description=text, bank=paid,
                          reconciled=True)
        status = "Posted" if posted else "Processed"
        self.versions += 1
        record = [invoice_id, "Invoice", customer["AccountID"], customer["Code"], status, number, ref, created,
                  f"{day_text}T00:00:00", SEED_AUTHOR, row_version(self.versions), str(net_total), str(tax_total),
                  str(gross), txn_id, self.stamp, self.snapshots[customer["Code"]], lines]
        if invoice.exchange_rate != 1:
            record[I_HEAD] = {**record[I_HEAD], "ExchangeRate": str(invoice.exchange_rate)}
        self.out.add_chunked("invoice", INVOICE_CHUNK, record)
        self.entity.index_invoice(InvoiceRow(invoice_id, "Invoice", customer["AccountID"], customer["Code"],
                                             invoice.date, created, status, number, ref, self.stamp, txn_id, gross))

    def _txn(self, kind: str, day: dt.date, lines: list, customer: dict | None, invoice_id: int, number: str, *,
             description: str, control: Decimal, ext: str = "", outstanding: Decimal = ZERO,
             created: str | None = None, bank: Decimal = ZERO, reconciled: bool = False) -> int:
        """A posted transaction; ``lines`` carry Decimal amounts (written as text)."""
        self.next_txn += 1
        txn_id = self.next_txn
        period_id = self.entity.period_for(day).id
        moves = self.moves
        for line in lines:
            key = (period_id, line[0])
            amount = line[1]
            moves[key] = moves.get(key, ZERO) + amount
            line[1] = str(amount)
        if created is None:
            minutes = txn_id % 420
            created = f"{day.isoformat()}T{10 + minutes // 60:02d}:{minutes % 60:02d}:00Z"
        account_id, code, name = (customer["AccountID"], customer["Code"], customer["Name"]) if customer \
            else (0, "", "")
        ledger = "Sales" if customer else "General"
        bank_gl = CURRENT_ACCOUNT if bank else ""
        self.out.add_chunked("txn", TXN_CHUNK, [
            txn_id, kind, ledger, account_id, code, name, invoice_id, False, number, ext, day.isoformat(), created,
            self.stamp, "Created", str(control), str(outstanding), bank_gl, str(bank), description, reconciled, lines])
        self.entity.index_txn(TxnRow(txn_id, kind, ledger, account_id, code, name, invoice_id, False, number, ext, day,
                                     created, self.stamp, "Created", control, outstanding, bank_gl, bank, description,
                                     reconciled))
        return txn_id


_RATES = {key: (code, TAX_CODES[code].rate / _HUNDRED, str(TAX_CODES[code].rate))
          for key, code in TAX_FOR_RATE_KEY.items()}
_GL_NAMES = {code: account.name for code, account in GL_ACCOUNTS.items()}
_TAX_NAMES = {code: tax.description for code, tax in TAX_CODES.items()}


# The invoice members that copy the customer when the invoice is written (a snapshot, as AccountsIQ keeps).
_SNAPSHOT = (("AccountName", "Name"), ("AccountAddress1", "Address1"), ("City", "City"), ("Country", "Country"),
             ("PostCode", "PostCode"), ("Contact", "Contact"), ("Phone", "Phone"), ("AccountTaxCode", "DefaultTaxCode"))
