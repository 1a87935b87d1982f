"""A sandbox's data: wire-shaped documents in SQLite, in memory or in a file that survives a restart.

Documents are kept as the JSON text the service would send, so a page of 200 is served by joining
stored strings rather than re-encoding them. Money inside stays exact (``providers.decimal_json``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from typing import Any

from providers.decimal_json import dumps, loads

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    company TEXT NOT NULL, collection TEXT NOT NULL, id TEXT NOT NULL,
    seq INTEGER NOT NULL, modified TEXT NOT NULL DEFAULT '', body TEXT NOT NULL,
    PRIMARY KEY (company, collection, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS docs_order ON docs (company, collection, seq);
CREATE INDEX IF NOT EXISTS docs_modified ON docs (company, collection, modified);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""


class DocStore:
    """Thread-safe (one lock): the server thread and a test's thread may both use it."""

    def __init__(self, path: str = ":memory:"):
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL" if path != ":memory:" else "PRAGMA journal_mode=MEMORY")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()

    @property
    def is_empty(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM docs LIMIT 1").fetchone() is None

    def next_id(self, name: str, start: int = 1) -> int:
        with self._lock:
            row = self._db.execute(
                "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + 1 "
                "RETURNING value", (name, start)).fetchone()
            return row[0]

    def set_counter(self, name: str, value: int) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO counters VALUES (?, ?)", (name, value))

    def put(self, company: str, collection: str, doc_id: str, doc: Any, modified: str = "") -> None:
        self.put_many(company, collection, [(doc_id, doc, modified)])

    def put_many(self, company: str, collection: str, items: Iterable[tuple[str, Any, str]]) -> None:
        """Insert or replace; a replaced document keeps its place in the order."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                seq = self._db.execute("SELECT coalesce(max(seq), 0) FROM docs WHERE company=? AND collection=?",
                                       (company, collection)).fetchone()[0]
                rows = []
                for doc_id, doc, modified in items:
                    seq += 1
                    rows.append((company, collection, str(doc_id), seq, modified, dumps(doc)))
                self._db.executemany(
                    "INSERT INTO docs VALUES (?,?,?,?,?,?) ON CONFLICT(company, collection, id) DO UPDATE "
                    "SET body=excluded.body, modified=excluded.modified", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def get(self, company: str, collection: str, doc_id: str) -> Any | None:
        text = self.get_text(company, collection, doc_id)
        return None if text is None else loads(text)

    def get_text(self, company: str, collection: str, doc_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM docs WHERE company=? AND collection=? AND id=?",
                                   (company, collection, str(doc_id))).fetchone()
        return None if row is None else row[0]

    def delete(self, company: str, collection: str, doc_id: str) -> bool:
        with self._lock:
            cursor = self._db.execute("DELETE FROM docs WHERE company=? AND collection=? AND id=?",
                                      (company, collection, str(doc_id)))
            return cursor.rowcount > 0

    def count(self, company: str, collection: str) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM docs WHERE company=? AND collection=?",
                                    (company, collection)).fetchone()[0]

    def page_texts(self, company: str, collection: str, offset: int, limit: int,
                   modified_since: str | None = None) -> list[str]:
        """Documents in insertion order (or changed since a stamp), as stored JSON text."""
        with self._lock:
            if modified_since is None:
                rows = self._db.execute(
                    "SELECT body FROM docs WHERE company=? AND collection=? ORDER BY seq LIMIT ? OFFSET ?",
                    (company, collection, limit, offset)).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT body FROM docs WHERE company=? AND collection=? AND modified >= ? "
                    "ORDER BY modified, seq LIMIT ? OFFSET ?",
                    (company, collection, modified_since, limit, offset)).fetchall()
        return [row[0] for row in rows]

    def all(self, company: str, collection: str) -> list[Any]:
        return [loads(text) for text in self.page_texts(company, collection, 0, -1)]

    def setting(self, name: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE name=?", (name,)).fetchone()
        return default if row is None else row[0]

    def set_setting(self, name: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))

    def close(self) -> None:
        with self._lock:
            self._db.close()
