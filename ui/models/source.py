"""Where a table model's rows come from: one store view, read by key. Blocking calls, run off the UI thread
by the model.

``cursor_at`` is the one read the store does not offer yet: the key of the row at an offset, so a drag of
the scroll bar to the middle of a million rows lands there without paging through everything before it.
It is a single index walk in SQLite (OFFSET over the sort index, ids only, no row built in Python). It
belongs in ``CompanyStore`` (``cursor_at(view, filters, sort, offset)``); it lives here until it moves,
and uses the store's own filter clauses so the two can never disagree.
"""

from __future__ import annotations

from typing import Any

from app.domain.money import to_minor
from app.store import CompanyStore, Filters, Sort
from app.store import queries as store_queries
from app.store.queries import Page, View

# Columns the store keeps in minor units (sortable integers): a row holds them as Decimals again.
_MONEY_SORTS = {"net", "vat", "gross", "amount_due", "balance", "amount"}


class StoreSource:
    def __init__(self, store: CompanyStore, view: View):
        self.store = store
        self.view = view

    def sortable(self, key: str) -> bool:
        return key in self.view.sorts

    def count(self, filters: Filters) -> int:
        return self.store.count(self.view, filters)

    def page(self, filters: Filters, sort: Sort, after: tuple[Any, int] | None, limit: int) -> Page:
        return self.store.page(self.view, filters, sort, after, limit)

    def first(self, filters: Filters, sort: Sort, limit: int) -> tuple[int, Page]:
        """The count and the first page in one trip to a reader thread (a refresh after an edit)."""
        return self.count(filters), self.page(filters, sort, None, limit)

    def cursor_at(self, filters: Filters, sort: Sort, offset: int) -> tuple[Any, int] | None:
        """``(sort value, id)`` of the row at ``offset`` in this order, or None past the end."""
        conn = self.store.reader()
        column = self.view.sort_column(sort)
        clauses, params = store_queries._where(conn, self.view, filters)
        direction = "DESC" if sort.descending else "ASC"
        found = conn.execute(
            f"SELECT {column}, id FROM {self.view.table} WHERE {' AND '.join(clauses or ['1'])} "
            f"ORDER BY {column} {direction}, id {direction} LIMIT 1 OFFSET ?", (*params, offset)).fetchone()
        return None if found is None else (found[0], found[1])

    def key_of(self, row: Any, key: str) -> tuple[Any, int]:
        """The keyset cursor of a row already read: its sort value as the store compares it, and its id."""
        value = getattr(row, key)
        if key in _MONEY_SORTS:
            value = to_minor(value, row.currency)
        return value, row.id
