"""Everything that reaches past ``DocStore``'s public methods, in one place (its connection, its lock).

Three needs the public methods do not meet at the sizes the sandbox serves (50,000 invoices, 300,000
ledger lines): bulk-inserting JSON text that is already encoded (``dumps`` is the cost of seeding), a
date range with a count, and deep pages. ``page_texts`` pages with ``OFFSET``, which reads every skipped
document (90 ms at page 500); here the page's first key is found in the covering index and only the page
itself is read (a deferred join), which needs a key that is unique within the collection: ``seq``, or a
ledger line's sort key. The table layout is ``docstore._SCHEMA``; nothing here changes it.
"""

from __future__ import annotations

from providers.sandbox.docstore import DocStore

_PAGE_BY_SEQ = (
    "SELECT body FROM docs WHERE company=?1 AND collection=?2 AND seq >= (SELECT seq FROM docs WHERE "
    "company=?1 AND collection=?2 ORDER BY seq LIMIT 1 OFFSET ?3) ORDER BY seq LIMIT ?4")


def upsert(db, company: str, collection: str, rows: list[tuple[str, str, str]]) -> None:
    """``DocStore.put_many``'s semantics (new documents go last, a replaced one keeps its place) for
    ``(id, modified, json_text)`` rows; the caller holds the lock and the transaction."""
    if not rows:
        return
    seq = db.execute("SELECT coalesce(max(seq), 0) FROM docs WHERE company=? AND collection=?",
                     (company, collection)).fetchone()[0]
    db.executemany(
        "INSERT INTO docs VALUES (?,?,?,?,?,?) ON CONFLICT(company, collection, id) DO UPDATE "
        "SET body=excluded.body, modified=excluded.modified",
        [(company, collection, doc_id, seq + n, modified, text)
         for n, (doc_id, modified, text) in enumerate(rows, start=1)])


def insert_texts(store: DocStore, company: str, collection: str, rows: list[tuple[str, str, str]]) -> None:
    """Bulk insert of ``(id, modified, json_text)`` rows in one transaction."""
    with store._lock:
        store._db.execute("BEGIN")
        try:
            upsert(store._db, company, collection, rows)
            store._db.execute("COMMIT")
        except BaseException:
            store._db.execute("ROLLBACK")
            raise


class Transaction:
    """``with Transaction(store) as db:`` runs statements atomically under the store's lock."""

    def __init__(self, store: DocStore):
        self.store = store

    def __enter__(self):
        self.store._lock.acquire()
        try:
            self.store._db.execute("BEGIN")
        except BaseException:
            self.store._lock.release()
            raise
        return self.store._db

    def __exit__(self, kind, value, traceback) -> None:
        try:
            self.store._db.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self.store._lock.release()


def read(store: DocStore, sql: str, args) -> list[tuple]:
    with store._lock:
        return store._db.execute(sql, args).fetchall()


def page_by_seq(store: DocStore, company: str, collection: str, offset: int, limit: int) -> list[str]:
    """What ``store.page_texts(company, collection, offset, limit)`` returns, at any depth in ~1 ms."""
    return [row[0] for row in read(store, _PAGE_BY_SEQ, (company, collection, offset, limit))]


def page_by_key(store: DocStore, company: str, collection: str, low: str, high: str, suffix_at: int | None,
                suffix: str | None, offset: int, limit: int, total: int | None = None,
                after: str | None = None) -> tuple[list[str], int, str | None]:
    """Documents whose ``modified`` key is in [low, high) (and, given ``suffix_at``, whose key from that
    1-based position equals ``suffix``), in key order; how many there are in all (counted unless the
    caller knows); and the last key of the page. Keys must be unique. ``after`` (the last key of the
    page before, when the caller knows it is at ``offset``) skips the walk to ``offset``, which costs
    ~20 ms at 300,000 lines, so a sequential listing pages in constant time."""
    where = "company=:company AND collection=:collection AND modified >= :low AND modified < :high"
    if suffix_at is not None:
        where += f" AND substr(modified, {int(suffix_at)}) = :suffix"
    args = {"company": company, "collection": collection, "low": low, "high": high, "suffix": suffix,
            "offset": offset, "limit": limit}
    with store._lock:
        if total is None:
            total = store._db.execute(f"SELECT count(*) FROM docs WHERE {where}", args).fetchone()[0]
        if offset >= total:
            return [], total, None
        if after is not None:
            # The page's own lower bound replaces ``low`` (one lower bound: see below).
            rows = store._db.execute("SELECT modified, body FROM docs WHERE "
                                     + where.replace("modified >= :low", "modified > :low")
                                     + " ORDER BY modified LIMIT :limit", {**args, "low": max(after, low)}
                                     ).fetchall()
        else:
            # Two statements: given two lower bounds on ``modified``, SQLite starts its range at the first.
            first = store._db.execute(f"SELECT modified FROM docs WHERE {where} ORDER BY modified LIMIT 1 "
                                      "OFFSET :offset", args).fetchone()
            if first is None:
                return [], total, None
            args["low"] = first[0]
            rows = store._db.execute(f"SELECT modified, body FROM docs WHERE {where} ORDER BY modified "
                                     "LIMIT :limit", args).fetchall()
    return [row[1] for row in rows], total, (rows[-1][0] if rows else None)
