"""The full-text index beside each searchable table, kept in step in the same transaction as its rows."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.domain import Customer
from app.domain.documents import SalesDocument


@dataclass(frozen=True)
class SearchSpec:
    fts: str
    columns: tuple[str, ...]
    values: Callable[[Any], tuple]  # the record's text for each column

    def insert_sql(self) -> str:
        marks = ", ".join("?" * (len(self.columns) + 1))
        return f"INSERT INTO {self.fts}(rowid, {', '.join(self.columns)}) VALUES ({marks})"


CUSTOMERS = SearchSpec(
    "customers_fts", ("name", "contact_name", "email", "vat_number", "company_number"),
    lambda c: (c.name, c.contact_name, c.email, c.vat_number, c.company_number))

INVOICES = SearchSpec(
    "invoices_fts", ("number", "customer_name", "reference", "descriptions"),
    # Each distinct description once: the index only needs to know a word is there.
    lambda d: (d.number, d.customer_name, d.reference, " ".join(dict.fromkeys([line.description for line in d.lines]))))

FOR_MODEL: list[tuple[type, SearchSpec]] = [(Customer, CUSTOMERS), (SalesDocument, INVOICES)]
ALL = (CUSTOMERS, INVOICES)

# FTS5's default: merge when four segments of a size have piled up (a bulk load turns it off meanwhile).
AUTOMERGE = 4


def set_automerge(conn: sqlite3.Connection, value: int) -> None:
    for spec in ALL:
        conn.execute(f"INSERT INTO {spec.fts}({spec.fts}, rank) VALUES ('automerge', ?)", (value,))


def ensure_automerge(conn: sqlite3.Connection) -> None:
    """Turn merging back on if a bulk load was cut short with it off (the setting lives in the file)."""
    for spec in ALL:
        found = conn.execute(f"SELECT v FROM {spec.fts}_config WHERE k = 'automerge'").fetchone()
        if found is not None and found[0] == 0:
            conn.execute(f"INSERT INTO {spec.fts}({spec.fts}, rank) VALUES ('automerge', ?)", (AUTOMERGE,))


def index(conn: sqlite3.Connection, spec: SearchSpec, items: Iterable[tuple[int, tuple]], *, replace: bool) -> None:
    """Index ``(rowid, values)`` pairs; with ``replace``, drop what was indexed for those rows first."""
    items = list(items)
    if replace:
        conn.executemany(f"DELETE FROM {spec.fts} WHERE rowid = ?", [(rowid,) for rowid, _ in items])
    conn.executemany(spec.insert_sql(), [(rowid, *values) for rowid, values in items])


def unindex(conn: sqlite3.Connection, spec: SearchSpec, rowid: int) -> None:
    conn.execute(f"DELETE FROM {spec.fts} WHERE rowid = ?", (rowid,))


# --- reading: a user's words as an FTS5 query, planned for what it will cost ---------------------

# The tokenizer of every full-text table (schema, migration 1): folding a word for the vocabulary look-up
# below must split and fold exactly as the index did.
TOKENIZE = "unicode61 remove_diacritics 2"

# What the index's tokenizer (unicode61) counts as a word: letters and digits; all else separates.
WORD = re.compile(r"[^\W_]+")

# A last word standing for at most this many indexed terms is searched as the OR of them: a prefix
# query makes FTS5 merge the doclists of all those terms before it returns a single row (24 ms for
# "table*" on a million invoices), on every statement that uses it; whole terms seek instead.
_MAX_EXPANSION = 32


def quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


@dataclass(frozen=True)
class Match:
    """A text filter, planned: ``query`` is None when no row can match; ``few`` holds every matching
    rowid when there are at most ``few_limit`` of them; otherwise ``density`` estimates the share of
    rows that match (from how far into the rowids the bounded scan had to go)."""

    query: str | None
    few: list[int] | None
    density: float


_folding = threading.local()


def fold(word: str) -> list[str]:
    """The terms the index's tokenizer makes of ``word`` (case and diacritics folded), from the tokenizer
    itself in a private in-memory table, so the rules cannot drift from SQLite's."""
    conn = getattr(_folding, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.execute(f"CREATE VIRTUAL TABLE fold USING fts5(x, tokenize = '{TOKENIZE}', detail = none)")
        conn.execute("CREATE VIRTUAL TABLE fold_terms USING fts5vocab(fold, row)")
        _folding.conn = conn
    conn.execute("INSERT INTO fold(rowid, x) VALUES (1, ?)", (word,))
    try:
        return [term for (term,) in conn.execute("SELECT term FROM fold_terms")]
    finally:
        conn.execute("DELETE FROM fold")


def _last_word_terms(conn: sqlite3.Connection, fts: str, word: str) -> list[str] | None:
    """Every indexed term that starts with ``word`` (folded), or None if they are too many to list."""
    folded = fold(word)
    if len(folded) != 1:
        return None  # the tokenizer splits it otherwise than WORD did: leave it to FTS5's own prefix query
    prefix = folded[0]
    # No UTF-8 text holds the byte 0xFF: every term that starts with the prefix sorts below prefix + 0xFF.
    terms = [term for (term,) in conn.execute(
        f"SELECT term FROM {fts}_terms WHERE term >= ? AND term < CAST(? AS TEXT) LIMIT ?",
        (prefix, prefix.encode() + b"\xff", _MAX_EXPANSION + 1))]
    return None if len(terms) > _MAX_EXPANSION else terms


def _query(conn: sqlite3.Connection, fts: str, words: list[str]) -> str | None:
    """Every word must match; the last as a prefix (the user may still be typing it), the others whole
    (a prefix of a common word would merge huge lists). Quoted, so no input is a syntax error. None when
    no indexed term starts with the last word: then no row can match."""
    terms = _last_word_terms(conn, fts, words[-1])
    if terms == []:
        return None
    last = quote(words[-1]) + "*" if terms is None else "(" + " OR ".join(map(quote, terms)) + ")"
    return " AND ".join([*map(quote, words[:-1]), last])


def plan(conn: sqlite3.Connection, fts: str, text: str, few_limit: int) -> Match | None:
    """The text filter of a view's query, or None when ``text`` holds no word. Words are split as the
    index splits them (so "INV-0042" is two words)."""
    words = WORD.findall(text)
    if not words:
        return None
    query = _query(conn, fts, words)
    if query is None:
        return Match(None, [], 0.0)
    first = [rowid for (rowid,) in conn.execute(
        f"SELECT rowid FROM {fts} WHERE {fts} MATCH ? LIMIT ?", (query, few_limit + 1))]
    if len(first) <= few_limit:
        return Match(query, first, 0.0)
    # Matches come in rowid order: the (few_limit + 1)th at rowid R means about that many in R rows.
    return Match(query, None, min(1.0, len(first) / max(first[-1], 1)))
