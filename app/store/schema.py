"""The company file's schema, as numbered migrations. Never edit a released migration: add one.

Money columns hold integers in the currency's minor unit (exact, and they sort); amounts that may
carry more precision (unit prices, quantities, rates) stay as decimal text inside JSON. Every column
a view sorts on is NOT NULL (keyset paging compares row values, and NULL compares as unknown) and has
an index; SQLite appends the rowid to each index, which is the keyset's tie-breaker.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    sql: str


# Secondary indexes are listed apart so that a first bulk load into an empty company can build
# them once at the end (sorted build) instead of updating eleven B-trees per row.
INVOICE_INDEXES = {
    "invoices_date": "invoices(date)",
    "invoices_due_date": "invoices(due_date)",
    "invoices_number": "invoices(number)",
    "invoices_customer_name": "invoices(customer_name)",
    "invoices_status": "invoices(status)",
    # A status filter over a date range ("paid last quarter") counts here without touching the table.
    "invoices_status_date": "invoices(status, date)",
    "invoices_net": "invoices(net)",
    "invoices_vat": "invoices(vat)",
    "invoices_gross": "invoices(gross)",
    "invoices_amount_due": "invoices(amount_due)",
    "invoices_customer": "invoices(customer_id, date)",
    # Only open documents (a tenth of a mature ledger): the overdue filter counts from the first
    # without touching the table, and pages newest-first through the second.
    "invoices_open_due": "invoices(due_date, status) WHERE amount_due > 0",
    "invoices_open_date": "invoices(date, due_date, status) WHERE amount_due > 0",
}
CUSTOMER_INDEXES = {
    "customers_name": "customers(name)",
    "customers_contact": "customers(contact_name)",
    "customers_email": "customers(email)",
    "customers_balance": "customers(balance)",
}

_V1 = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    remote_id TEXT UNIQUE,
    name TEXT NOT NULL COLLATE NOCASE,
    contact_name TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    email TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    phone TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '{}',
    vat_number TEXT NOT NULL DEFAULT '',
    company_number TEXT NOT NULL DEFAULT '',
    currency TEXT NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    balance INTEGER NOT NULL DEFAULT 0,
    payload_hash TEXT,
    remote_version TEXT
);

CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    remote_id TEXT UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    number TEXT NOT NULL COLLATE NOCASE,
    customer_id INTEGER REFERENCES customers(id) ON DELETE SET NULL,
    customer_remote_id TEXT,
    customer_name TEXT NOT NULL COLLATE NOCASE,
    date TEXT NOT NULL,
    due_date TEXT NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    currency TEXT NOT NULL,
    exchange_rate TEXT NOT NULL DEFAULT '1',
    status TEXT NOT NULL,
    net INTEGER NOT NULL,
    vat INTEGER NOT NULL,
    gross INTEGER NOT NULL,
    amount_due INTEGER NOT NULL,
    amount_paid TEXT NOT NULL DEFAULT '0',
    rounding TEXT NOT NULL,
    payload_hash TEXT,
    remote_version TEXT
);

-- A document's lines live beside it, not in it: the views and their eleven sort indexes never read
-- lines, and a narrow invoices table is scanned seven times faster when those indexes are built.
CREATE TABLE invoice_lines (
    invoice_id INTEGER PRIMARY KEY REFERENCES invoices(id) ON DELETE CASCADE,
    lines TEXT NOT NULL
);

CREATE TABLE bank_accounts (
    id INTEGER PRIMARY KEY,
    remote_id TEXT UNIQUE,
    name TEXT NOT NULL COLLATE NOCASE,
    account_number TEXT NOT NULL DEFAULT '',
    sort_code TEXT NOT NULL DEFAULT '',
    iban TEXT NOT NULL DEFAULT '',
    currency TEXT NOT NULL,
    balance INTEGER NOT NULL DEFAULT 0,
    account_code TEXT NOT NULL DEFAULT '',
    payload_hash TEXT,
    remote_version TEXT
);

CREATE TABLE bank_transactions (
    id INTEGER PRIMARY KEY,
    remote_id TEXT UNIQUE,
    bank_account_remote_id TEXT,
    date TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '' COLLATE NOCASE,
    reference TEXT NOT NULL DEFAULT '',
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    reconciled INTEGER NOT NULL DEFAULT 0,
    payload_hash TEXT,
    remote_version TEXT
);
CREATE INDEX bank_transactions_account ON bank_transactions(bank_account_remote_id, date);

CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    remote_id TEXT UNIQUE,
    direction TEXT NOT NULL,
    party_remote_id TEXT,
    bank_account_remote_id TEXT,
    date TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    payload_hash TEXT,
    remote_version TEXT
);
CREATE INDEX payments_party ON payments(party_remote_id, date);

CREATE TABLE allocations (
    id INTEGER PRIMARY KEY,
    remote_id TEXT UNIQUE,
    payment_remote_id TEXT,
    document_remote_id TEXT,
    amount TEXT NOT NULL,
    payload_hash TEXT,
    remote_version TEXT
);
CREATE INDEX allocations_document ON allocations(document_remote_id);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    remote_id TEXT UNIQUE,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    classification TEXT NOT NULL
        CHECK (classification IN ('asset', 'liability', 'equity', 'revenue', 'expense')),
    archived INTEGER NOT NULL DEFAULT 0,
    payload_hash TEXT,
    remote_version TEXT
);

CREATE TABLE ledger_lines (
    id INTEGER PRIMARY KEY,
    remote_id TEXT UNIQUE,
    transaction_id TEXT NOT NULL,
    date TEXT NOT NULL,
    account_code TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    payload_hash TEXT,
    remote_version TEXT
);
CREATE INDEX ledger_lines_account ON ledger_lines(account_code, date);
CREATE INDEX ledger_lines_transaction ON ledger_lines(transaction_id);

-- Search: one full-text table per searchable kind, maintained by app/store/search.py in the same
-- transaction as the rows. Not by triggers: a trigger's statement savepoint makes FTS5 flush its
-- buffer on every row, which made a bulk pull three times slower.
CREATE VIRTUAL TABLE customers_fts USING fts5(
    name, contact_name, email, vat_number, company_number, tokenize = 'unicode61 remove_diacritics 2',
    detail = none, columnsize = 0);
CREATE VIRTUAL TABLE invoices_fts USING fts5(
    number, customer_name, reference, descriptions, tokenize = 'unicode61 remove_diacritics 2',
    detail = none, columnsize = 0);

-- Every local edit appends here in the same transaction that changes the row. Entries are pushed
-- in id order; `base_version`/`base` say what the edit was made against, so that a push can tell
-- a conflicting remote change from a stale read.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    edit TEXT NOT NULL,
    base TEXT,
    base_version TEXT,
    idempotency_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'in_flight', 'done', 'failed', 'conflict')),
    attempts INTEGER NOT NULL DEFAULT 0,
    history TEXT NOT NULL DEFAULT '[]',
    message TEXT NOT NULL DEFAULT '',
    theirs TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX outbox_record ON outbox(entity, record_id, state);
CREATE INDEX outbox_state ON outbox(state, id);

CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""

_V2 = """
-- Where each entity's pull got to: a change-feed cursor where the provider has one, and when the
-- last full re-list finished (for providers without a feed).
CREATE TABLE sync_state (
    entity TEXT PRIMARY KEY,
    cursor TEXT,
    last_full_pull_at TEXT,
    last_pull_at TEXT
) WITHOUT ROWID;
"""


_V3 = """
-- Remote ids that the running full re-list of an entity has seen: what is stored but was not seen
-- was deleted at the service. Emptied when a full re-list starts.
CREATE TABLE sync_seen (
    entity TEXT NOT NULL,
    remote_id TEXT NOT NULL,
    PRIMARY KEY (entity, remote_id)
) WITHOUT ROWID;

-- The service's copy of a record that has an unsent local edit (a pull never overwrites such a row):
-- kept beside it so that a conflict can show both versions. `record` is NULL when the service
-- deleted the record. `record_id` is the outbox's (the local row may be gone: a local deletion).
CREATE TABLE sync_theirs (
    entity TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    remote_id TEXT,
    remote_version TEXT,
    record TEXT,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (entity, record_id)
) WITHOUT ROWID;
"""

# SQLite gives a new row the largest id + 1, so deleting the newest row and adding another reuses its id.
# The outbox names records by local id: the deleted record's open entries (its deletion, not yet sent)
# would then belong to the new row, and deleting or editing that one would cancel or confuse them. When a
# row takes an id that entries already name, those entries move to an id no row can have: the negative
# of their first entry's id (unique, and the same for all entries of that old record).
_RENUMBER = """
CREATE TRIGGER {table}_id_reused AFTER INSERT ON {table}
WHEN EXISTS (SELECT 1 FROM outbox WHERE entity = '{entity}' AND record_id = NEW.id)
BEGIN
    DELETE FROM sync_renumber;
    INSERT INTO sync_renumber (record_id)
        SELECT -min(id) FROM outbox WHERE entity = '{entity}' AND record_id = NEW.id;
    UPDATE outbox SET record_id = (SELECT record_id FROM sync_renumber)
        WHERE entity = '{entity}' AND record_id = NEW.id;
    UPDATE sync_theirs SET record_id = (SELECT record_id FROM sync_renumber)
        WHERE entity = '{entity}' AND record_id = NEW.id;
END;
"""
_SYNCED_TABLES = {"customers": "customer", "invoices": "invoice", "bank_accounts": "bank_account",
                  "bank_transactions": "bank_transaction", "payments": "payment", "allocations": "allocation",
                  "accounts": "account", "ledger_lines": "ledger_line"}
_V3 += "CREATE TABLE sync_renumber (record_id INTEGER);\n" + "".join(
    _RENUMBER.format(table=table, entity=entity) for table, entity in _SYNCED_TABLES.items())


_V4 = """
-- Each search index's vocabulary (one row per indexed term): a search's last word, a prefix, is looked
-- up here and searched as the OR of the few whole terms it stands for (app/store/search.py).
CREATE VIRTUAL TABLE customers_fts_terms USING fts5vocab(customers_fts, row);
CREATE VIRTUAL TABLE invoices_fts_terms USING fts5vocab(invoices_fts, row);
"""


def _indexes_sql(indexes: dict[str, str]) -> str:
    return "".join(f"CREATE INDEX IF NOT EXISTS {name} ON {spec};\n" for name, spec in indexes.items())


MIGRATIONS: list[Migration] = [
    Migration(1, "initial schema", _V1 + _indexes_sql(INVOICE_INDEXES) + _indexes_sql(CUSTOMER_INDEXES)),
    Migration(2, "sync cursors", _V2),
    Migration(3, "sync: deletion detection and the service's copy of edited records", _V3),
    Migration(4, "search: the vocabulary of each full-text index", _V4),
]

LATEST_VERSION = MIGRATIONS[-1].version


RENUMBER_TRIGGERS = tuple(f"{table}_id_reused" for table in _SYNCED_TABLES)


def ensure_triggers_sql() -> str:
    """Recreate any id-reuse trigger a bulk load dropped (and was interrupted before restoring)."""
    return "".join(_RENUMBER.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1).format(
        table=table, entity=entity) for table, entity in _SYNCED_TABLES.items())


def ensure_indexes_sql() -> str:
    """Recreate any secondary index a bulk load dropped (and was interrupted before restoring)."""
    return _indexes_sql(INVOICE_INDEXES) + _indexes_sql(CUSTOMER_INDEXES)
