"""One AccountsIQ entity's data: what the DocStore keeps, the in-memory indexes built from it, and the
ledger that every posting writes to.

Collections per entity (the DocStore ``company`` is the entity id):

``customer``      a Customer's members as a dict (plus ``_m``, its last modification stamp)
``customer.xml``  the same customer rendered once: the customer lists are stored text joined
``invoice``       invoices and credit notes, compact, ``INVOICE_CHUNK`` per document (by id)
``txn``           ledger transactions with their lines, compact, ``TXN_CHUNK`` per document
``glmove``        the net movement of every GL account in every period: the trial balance's source
``document``      attached files

Invoices and transactions are stored in chunks of consecutive ids, as JSON lists, amounts as exact
decimal text: a medium company (50,000 invoices, 96,000 transactions) then costs a few thousand
rows instead of a few hundred thousand, which is what keeps seeding it within a few seconds. The
XML of an invoice is rendered from its compact record when it is asked for (a page of 200 takes
a few milliseconds). The indexes are rebuilt from the store on first use (or filled while seeding)
and written through on every change, so a sandbox restarted on the same data file carries on.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import datetime as dt
import gc
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal

from providers.accountsiq.sandbox_reference import GL_ACCOUNTS, RETAINED_EARNINGS
from providers.accountsiq.sandbox_shapes import CUSTOMER, render
from providers.decimal_json import loads
from providers.sandbox.docstore import DocStore

ZERO = Decimal(0)
CENT = Decimal("0.01")
META = "_aiq"  # the DocStore "company" that holds what belongs to no single entity
INVOICE_CHUNK = 32
TXN_CHUNK = 256
_CACHED_CHUNKS = 256


def modified_text(moment: dt.datetime) -> str:
    """Fixed width (years zero-padded too, unlike strftime), so stamps sort as text."""
    return moment.isoformat(timespec="microseconds") + "Z"


def parse_modified(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def money(value: Decimal) -> str:
    """Exact decimal text; adding zero turns a negative zero into a plain one."""
    return format(value + 0, "f")


@contextlib.contextmanager
def long_lived_objects():
    """Seeding (or loading) makes objects that live as long as the sandbox: looking for cycles among
    them while they are made would rescan a growing heap for nothing, and afterwards every full
    collection would walk them all again (a pause of a quarter of a second in the middle of a request
    for a medium company). So: no collection meanwhile, and the result moved out of the collector's way."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()


class Clock:
    """UTC now, strictly increasing, so two changes never share a modification stamp."""

    def __init__(self, store: DocStore):
        self._store = store
        self._lock = threading.Lock()
        saved = store.setting("aiq:clock")
        self._last = parse_modified(saved) if saved else dt.datetime(2000, 1, 1)

    def now(self) -> dt.datetime:
        with self._lock:
            moment = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            if moment <= self._last:
                moment = self._last + dt.timedelta(microseconds=1)
            self._last = moment
            self._store.set_setting("aiq:clock", modified_text(moment))
            return moment


# ------------------------------------------------------------------------------------------ compact rows
# An invoice or credit note: the positions below, then a dict of the header members that are not
# defaults (address snapshot, notes...), then its lines. A line: the positions in ``L_*``, then a dict
# of its non-default members or None.
I_ID, I_KIND, I_ACCOUNT, I_CODE, I_STATUS, I_NUMBER, I_EXT, I_CREATED, I_DATE, I_AUTHOR, I_VERSION = range(11)
I_NET, I_TAX, I_GROSS, I_TXN, I_MODIFIED, I_HEAD, I_LINES = range(11, 18)
L_ID, L_STOCK, L_DESC, L_QTY, L_PRICE, L_DISCOUNT, L_ACTUAL, L_TAXCODE, L_RATE, L_NET, L_TAX = range(11)
L_GROSS, L_GL, L_EXTRA = range(11, 14)

# A transaction: the positions below; its lines are [GL account, amount (debit positive), kind, tax
# code, description], kind C (the customer's control line), T (tax), B (bank) or N (anything else).
(T_ID, T_TYPE, T_LEDGER, T_ACCOUNT, T_CODE, T_NAME, T_INVOICE, T_BATCH, T_NUMBER, T_EXT, T_DATE, T_CREATED,
 T_MODIFIED, T_STATUS, T_CONTROL, T_OUTSTANDING, T_BANK_GL, T_BANK_AMOUNT, T_DESC, T_RECONCILED,
 T_LINES) = range(21)


@dataclass(slots=True)
class InvoiceRow:
    """What queries filter and sort invoices on, kept in memory for every document."""

    id: int
    kind: str  # InvoiceType: Invoice or Note
    account_id: int
    code: str
    date: dt.date
    created: str
    status: str  # InvoiceStatus: Processed (saved) or Posted
    number: str
    ext: str
    modified: str
    txn: int
    gross: Decimal

    @classmethod
    def of(cls, record: list) -> InvoiceRow:
        return cls(record[I_ID], record[I_KIND], record[I_ACCOUNT], record[I_CODE],
                   dt.date.fromisoformat(record[I_DATE][:10]), record[I_CREATED], record[I_STATUS],
                   record[I_NUMBER], record[I_EXT], record[I_MODIFIED], record[I_TXN], Decimal(record[I_GROSS]))


@dataclass(slots=True)
class TxnRow:
    """A transaction without its lines: change feed, statements and balances work from these."""

    id: int
    type: str  # SI, SN, SR, BP, GD
    ledger: str  # Sales or General
    account_id: int
    code: str
    name: str
    invoice_id: int
    batch: bool
    number: str
    ext: str
    date: dt.date
    created: str
    modified: str
    status: str  # WSChangeStatus: Created, or Updated once changed after it was first recorded
    control: Decimal  # what it does to the customer's (or for bank entries the bank's) balance
    outstanding: Decimal
    bank_gl: str
    bank_amount: Decimal
    description: str
    reconciled: bool

    @classmethod
    def of(cls, record: list) -> TxnRow:
        return cls(*record[:10], dt.date.fromisoformat(record[T_DATE]), record[T_CREATED], record[T_MODIFIED],
                   record[T_STATUS], Decimal(record[T_CONTROL]), Decimal(record[T_OUTSTANDING]), record[T_BANK_GL],
                   Decimal(record[T_BANK_AMOUNT]), record[T_DESC], record[T_RECONCILED])


@dataclass(frozen=True)
class Period:
    id: int
    year: int
    number: int
    start: dt.date
    end: dt.date

    @property
    def name(self) -> str:
        return self.start.strftime("%b %Y")


def periods_for(first_year: int, last_year: int) -> list[Period]:
    """Calendar financial years of twelve monthly periods, numbered from 1 across all years."""
    result = []
    for year in range(first_year, last_year + 1):
        for month in range(1, 13):
            start = dt.date(year, month, 1)
            end = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
            result.append(Period(len(result) + 1, year, month, start, end))
    return result


def row_version(counter: int) -> str:
    """Opaque like SQL Server's rowversion (8 bytes, base64), which AccountsIQ hands out."""
    return base64.b64encode(counter.to_bytes(8, "big")).decode()


class _Chunks:
    """Records kept ``size`` to a document by id, with the recently used documents parsed in memory."""

    def __init__(self, store: DocStore, company: str, collection: str, size: int):
        self.store, self.company, self.collection, self.size = store, company, collection, size
        self._cache: OrderedDict[int, dict] = OrderedDict()

    def _chunk(self, number: int) -> dict:
        chunk = self._cache.get(number)
        if chunk is None:
            chunk = self.store.get(self.company, self.collection, str(number)) or {}
            self._cache[number] = chunk
            if len(self._cache) > _CACHED_CHUNKS:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(number)
        return chunk

    def get(self, record_id: int) -> list | None:
        return self._chunk(record_id // self.size).get(str(record_id))

    def put(self, record: list, modified: str) -> None:
        number = record[0] // self.size
        chunk = self._chunk(number)
        chunk[str(record[0])] = record
        self.store.put(self.company, self.collection, str(number), chunk, modified)

    def all(self):
        for text in self.store.page_texts(self.company, self.collection, 0, -1):
            yield from loads(text).values()


# ----------------------------------------------------------------------------------------------- entity

@dataclass
class Entity:
    """One company: its meta record, indexes and ledger. Not thread-safe on its own: the service
    serialises calls."""

    store: DocStore
    id: str
    meta: dict
    customers: dict[str, dict] = field(default_factory=dict)
    customer_codes: dict[int, str] = field(default_factory=dict)
    invoices: dict[int, InvoiceRow] = field(default_factory=dict)
    txns: dict[int, TxnRow] = field(default_factory=dict)
    glmove: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    documents: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # (InvoiceType, external reference) -> document ids; external reference -> transaction ids
    invoice_refs: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    txn_refs: dict[str, set[int]] = field(default_factory=dict)
    numbers: dict[tuple[str, str], int] = field(default_factory=dict)
    invoice_ids: list[int] = field(default_factory=list)  # every document id, ascending
    # Bumped on every change of ``invoices``: what a query's cached answer is valid for (sandbox_queries).
    invoice_revision: int = 0
    ordered_invoices: OrderedDict[tuple, list[int]] = field(default_factory=OrderedDict)
    loaded: bool = False

    def __post_init__(self) -> None:
        # A data file opened years later still has an open year ahead (period ids count from the first
        # year, so adding years at the end changes none of them).
        last_year = max(self.meta["years"][1], dt.date.today().year + 1)
        self.periods = periods_for(self.meta["years"][0], last_year)
        self._period_by_month = {(p.year, p.number): p for p in self.periods}
        self.invoice_store = _Chunks(self.store, self.id, "invoice", INVOICE_CHUNK)
        self.txn_store = _Chunks(self.store, self.id, "txn", TXN_CHUNK)

    @property
    def name(self) -> str:
        return self.meta["name"]

    # --- loading -------------------------------------------------------------------------------------
    def ensure_loaded(self) -> None:
        if self.loaded:
            return
        with long_lived_objects():
            self._load()
        self.loaded = True

    def _load(self) -> None:
        store, company = self.store, self.id
        for text in store.page_texts(company, "customer", 0, -1):
            record = loads(text)
            self.customers[record["Code"]] = record
            self.customer_codes[record["AccountID"]] = record["Code"]
        for record in self.invoice_store.all():
            self.index_invoice(InvoiceRow.of(record))
        for record in self.txn_store.all():
            self.index_txn(TxnRow.of(record))
        for period_id, code, amount in store.get(company, "glmove", "all") or []:
            self.glmove[(period_id, code)] = Decimal(amount)
        for text in store.page_texts(company, "document", 0, -1):
            record = loads(text)
            master = (record["MasterType"], record["MasterID"])
            self.documents.setdefault(master, []).append(record["Filename"])

    # --- lookups -------------------------------------------------------------------------------------
    def period_for(self, day: dt.date) -> Period | None:
        return self._period_by_month.get((day.year, day.month))

    def customer_by_id(self, account_id: int) -> dict | None:
        code = self.customer_codes.get(account_id)
        return None if code is None else self.customers.get(code)

    def invoices_by_ref(self, kind: str, ext: str) -> list[InvoiceRow]:
        return [self.invoices[i] for i in sorted(self.invoice_refs.get((kind, ext), ()))]

    def txns_by_ref(self, ext: str) -> list[TxnRow]:
        return [self.txns[i] for i in sorted(self.txn_refs.get(ext, ()))]

    def ref_in_use(self, kind: str, ext: str, exclude_invoice: int = 0) -> bool:
        """External references are unique per entity among invoices, and among credit notes, whether
        entered as item documents or as batch transactions."""
        if not ext:
            return False
        if self.invoice_refs.get((kind, ext), set()) - {exclude_invoice}:
            return True
        txn_type = "SI" if kind == "Invoice" else "SN"
        return any(row.batch and row.type == txn_type for row in self.txns_by_ref(ext))

    def invoice(self, invoice_id: int) -> list | None:
        return self.invoice_store.get(invoice_id)

    def txn(self, txn_id: int) -> list | None:
        return self.txn_store.get(txn_id)

    def next(self, counter: str) -> int:
        return self.store.next_id(f"{self.id}:{counter}")

    def new_row_version(self) -> str:
        return row_version(self.next("rowversion"))

    # --- writing -------------------------------------------------------------------------------------
    def save_customer(self, record: dict, modified: str) -> None:
        record["_m"] = modified
        self.store.put(self.id, "customer", record["Code"], record, modified)
        self.store.put(self.id, "customer.xml", record["Code"], render(CUSTOMER, record), modified)
        self.customers[record["Code"]] = record
        self.customer_codes[record["AccountID"]] = record["Code"]

    def delete_customer(self, code: str) -> None:
        record = self.customers.pop(code)
        self.customer_codes.pop(record["AccountID"], None)
        self.store.delete(self.id, "customer", code)
        self.store.delete(self.id, "customer.xml", code)

    def save_invoice(self, record: list) -> InvoiceRow:
        self.invoice_store.put(record, record[I_MODIFIED])
        row = InvoiceRow.of(record)
        self.index_invoice(row)
        return row

    def index_invoice(self, row: InvoiceRow) -> None:
        old = self.invoices.get(row.id)
        if old is not None:
            self.invoice_refs.get((old.kind, old.ext), set()).discard(old.id)
            self.numbers.pop((old.kind, old.number), None)
        elif not self.invoice_ids or row.id > self.invoice_ids[-1]:
            self.invoice_ids.append(row.id)
        else:
            bisect.insort(self.invoice_ids, row.id)
        self.invoices[row.id] = row
        self.invoice_revision += 1
        if row.ext:
            self.invoice_refs.setdefault((row.kind, row.ext), set()).add(row.id)
        if row.number:
            self.numbers[(row.kind, row.number)] = row.id

    def save_txn(self, record: list, posting: bool) -> TxnRow:
        """Record a transaction; ``posting`` (its first save) also writes its lines to the ledger."""
        self.txn_store.put(record, record[T_MODIFIED])
        if posting:
            self._move(dt.date.fromisoformat(record[T_DATE]), record[T_LINES], record[T_MODIFIED])
        row = TxnRow.of(record)
        self.index_txn(row)
        return row

    def index_txn(self, row: TxnRow) -> None:
        self.txns[row.id] = row
        if row.ext:
            self.txn_refs.setdefault(row.ext, set()).add(row.id)

    def _move(self, day: dt.date, lines: list, modified: str) -> None:
        period = self.period_for(day)
        for code, amount, *_rest in lines:
            key = (period.id, code)
            self.glmove[key] = self.glmove.get(key, ZERO) + Decimal(amount)
        self.save_glmove(modified)

    def save_glmove(self, modified: str) -> None:
        self.store.put(self.id, "glmove", "all",
                       [[pid, code, money(amount)] for (pid, code), amount in sorted(self.glmove.items())], modified)

    def save_document(self, record: dict, modified: str) -> int:
        document_id = self.next("document")
        record["DocumentID"] = document_id
        self.store.put(self.id, "document", str(document_id), record, modified)
        master = (record["MasterType"], record["MasterID"])
        self.documents.setdefault(master, []).append(record["Filename"])
        return document_id

    # --- balances ------------------------------------------------------------------------------------
    def trial_balance(self, period: Period) -> list[tuple[str, Decimal, Decimal]]:
        """(GL code, movement in the period, balance at its end) for every account of the chart.

        Balance-sheet accounts carry their balance from the first day; profit-and-loss accounts start
        each financial year at zero, their earlier years' result having gone to retained earnings. So
        the balances sum to zero in every period."""
        movement: dict[str, Decimal] = {}
        balance: dict[str, Decimal] = {}
        prior_profit = ZERO
        for (period_id, code), amount in self.glmove.items():
            if period_id > period.id:
                continue
            if period_id == period.id:
                movement[code] = movement.get(code, ZERO) + amount
            account = GL_ACCOUNTS.get(code)
            if account is not None and not account.on_balance_sheet \
                    and self.periods[period_id - 1].year < period.year:
                prior_profit += amount
                continue
            balance[code] = balance.get(code, ZERO) + amount
        balance[RETAINED_EARNINGS] = balance.get(RETAINED_EARNINGS, ZERO) + prior_profit
        codes = [*GL_ACCOUNTS, *sorted(set(balance) - set(GL_ACCOUNTS))]
        return [(code, movement.get(code, ZERO), balance.get(code, ZERO)) for code in codes]
