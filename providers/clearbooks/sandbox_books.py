"""The Clear Books sandbox's data: wire-shaped records in the shared ``DocStore``, plus the indexes a real
service would keep in SQL (ids in order, one field of every record, the ledger), built on first use
and kept up to date by every write that goes through here.

Keys: a business's records live under the company ``str(business id)``; service-wide records (the
businesses themselves, clients, users, tokens) under ``SERVICE``. Record ids are ints.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from typing import Any

from providers.clearbooks.sandbox_ledger import (
    DOCUMENT_SIGNS,
    SOURCES,
    Entry,
    Ledger,
    document_entry,
    journal_entry,
    payment_entry,
)
from providers.decimal_json import loads
from providers.sandbox.docstore import DocStore

SERVICE = "_service"


def _sort_key(value: Any) -> tuple:
    # Like the service's MySQL collation: text compares without regard to case; nulls come first.
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (1, value.casefold())
    return (1, value)


def _id_of(text: str) -> int:
    # Every record is written with its id first, so the id can be read without parsing the record.
    if text.startswith('{"id":'):
        end = text.find(",", 6)
        if end > 0 and text[6:end].isdigit():
            return int(text[6:end])
    return int(loads(text)["id"])


class Books:
    """All access to a sandbox's records. Callers hold ``lock`` around anything that reads and writes."""

    def __init__(self, store: DocStore):
        self.store = store
        self.lock = threading.RLock()
        self._ids: dict[tuple[str, str], list[int]] = {}
        self._values: dict[tuple[str, str], dict[str, dict[int, Any]]] = {}
        self._orders: dict[tuple[str, str, str], list[int]] = {}
        self._ledgers: dict[str, Ledger] = {}

    # --- counters -------------------------------------------------------------------------------------
    def next_id(self, sequence: str) -> int:
        return self.store.next_id(f"id:{sequence}")

    def reserve(self, sequence: str, count: int) -> int:
        """The first of ``count`` consecutive new ids."""
        first = self.store.next_id(f"id:{sequence}")
        if count > 1:
            self.store.set_counter(f"id:{sequence}", first + count - 1)
        return first

    # --- reading --------------------------------------------------------------------------------------
    def get(self, biz: str, collection: str, ident: int | str) -> dict | None:
        return self.store.get(biz, collection, str(ident))

    def text(self, biz: str, collection: str, ident: int | str) -> str | None:
        return self.store.get_text(biz, collection, str(ident))

    def texts(self, biz: str, collection: str, idents: list[int]) -> list[str]:
        return [self.store.get_text(biz, collection, str(ident)) for ident in idents]

    def all(self, biz: str, collection: str) -> list[dict]:
        return self.store.all(biz, collection)

    def ids(self, biz: str, collection: str) -> list[int]:
        """Every id in the collection, ascending (the order records were created in)."""
        key = (biz, collection)
        if key not in self._ids:
            self._ids[key] = sorted(self._stored_ids(biz, collection))
        return self._ids[key]

    def _stored_ids(self, biz: str, collection: str) -> list[int]:
        # ``put`` keys every record by its id: reading the keys alone takes milliseconds, where parsing
        # 100,000 stored records took 400 ms (on the event loop, for an in-process sandbox).
        with self.store._lock:
            keys = [row[0] for row in self.store._db.execute(
                "SELECT id FROM docs WHERE company=? AND collection=?", (biz, collection))]
        if all(key.isdigit() for key in keys):
            return [int(key) for key in keys]
        return [_id_of(text) for text in self.store.page_texts(biz, collection, 0, -1)]

    def exists(self, biz: str, collection: str, ident: int) -> bool:
        ids = self.ids(biz, collection)
        at = bisect_left(ids, ident)
        return at < len(ids) and ids[at] == ident

    def values(self, biz: str, collection: str, field: str) -> dict[int, Any]:
        """One top-level field of every record, by id."""
        fields = self._values.setdefault((biz, collection), {})
        if field not in fields:
            found: dict[int, Any] = {}
            for text in self.store.page_texts(biz, collection, 0, -1):
                doc = loads(text)
                found[doc["id"]] = doc.get(field)
            fields[field] = found
        return fields[field]

    def order(self, biz: str, collection: str, field: str) -> list[int]:
        """Ids ascending by one field (ties by id)."""
        key = (biz, collection, field)
        if key not in self._orders:
            values = self.values(biz, collection, field)
            self._orders[key] = sorted(values, key=lambda ident: (_sort_key(values[ident]), ident))
        return self._orders[key]

    # --- writing --------------------------------------------------------------------------------------
    def put(self, biz: str, collection: str, doc: dict) -> None:
        self.store.put(biz, collection, str(doc["id"]), doc)
        self._changed(biz, collection, doc["id"], doc)

    def put_many(self, biz: str, collection: str, docs: list[dict]) -> None:
        self.store.put_many(biz, collection, ((str(doc["id"]), doc, "") for doc in docs))
        for doc in docs:
            self._changed(biz, collection, doc["id"], doc)

    def delete(self, biz: str, collection: str, ident: int) -> bool:
        gone = self.store.delete(biz, collection, str(ident))
        if gone:
            self._changed(biz, collection, ident, None)
        return gone

    def _changed(self, biz: str, collection: str, ident: int, doc: dict | None) -> None:
        ids = self._ids.get((biz, collection))
        if ids is not None:
            at = bisect_left(ids, ident)
            present = at < len(ids) and ids[at] == ident
            if doc is None and present:
                del ids[at]
            elif doc is not None and not present:
                insort(ids, ident)
        for field, values in self._values.get((biz, collection), {}).items():
            if doc is None:
                values.pop(ident, None)
            else:
                values[ident] = doc.get(field)
            self._orders.pop((biz, collection, field), None)
        ledger = self._ledgers.get(biz)
        if ledger is not None and collection in SOURCES:
            ledger.set(ident, None if doc is None else self._entry(biz, collection, doc, {}))

    # --- the ledger -----------------------------------------------------------------------------------
    def ledger(self, biz: str) -> Ledger:
        if biz not in self._ledgers:
            ledger = Ledger()
            memo: dict = {}
            for collection in SOURCES:
                for text in self.store.page_texts(biz, collection, 0, -1):
                    doc = loads(text)
                    ledger.set(doc["id"], self._entry(biz, collection, doc, memo))
            self._ledgers[biz] = ledger
        return self._ledgers[biz]

    def _entry(self, biz: str, collection: str, doc: dict, memo: dict) -> Entry | None:
        if collection in DOCUMENT_SIGNS:
            return document_entry(collection, doc)
        if collection == "payments":
            bank = doc["bankAccountId"]
            if ("bank", bank) not in memo:
                memo["bank", bank] = self.get(biz, "bankAccounts", bank)["accountCode"]
            return payment_entry(doc, memo["bank", bank], self.exists(biz, "customers", doc["contactId"]))
        return journal_entry(doc)
