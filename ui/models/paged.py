"""A table model over a store view that never holds more than a window of it.

``rowCount`` is the view's count, so the scroll bar is true to size; rows are read in chunks, by key, only
when the view asks for them (``data`` of a row not yet read asks for its chunk and shows it blank for the
few milliseconds that takes). At most ``MAX_CHUNKS`` chunks stay cached, least recently drawn dropped
first, so scrolling through a million invoices costs what scrolling through a thousand does.

A chunk is read from whatever the cache already knows around it, in this order: the first chunk; the
one after a cached chunk (keyset, after its last row); the one before a cached chunk (keyset in the
reversed order, before its first row); the last chunk (the reversed order's first page); and, for a
jump into the middle with nothing cached near, the key at that offset (``cursor_at``), then keyset.

Sorting (a header click) and filtering start a new read of the count and first chunk; the model swaps
to it in one reset when it arrives, so the table never flashes empty. All reads run on worker threads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.store import Filters, Sort
from ui import theme
from ui.formatting import formats
from ui.models.source import StoreSource
from ui.tasks import Tasks, off_thread

ROW_ROLE = Qt.ItemDataRole.UserRole + 1  # the row itself (a store row tuple), or None while loading
Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # the invisible root: what a flat table's "parent" always is


@dataclass(frozen=True)
class Column:
    key: str  # the row's attribute shown here
    title: str
    kind: str = "text"  # text | money | date | due | status | marker | yesno
    sort: str | None = None  # the store's sort key, when the store can sort by this column
    sample: str = ""  # typical widest content: the column's first width comes from it
    stretch: bool = False
    tooltip: str = ""


_DISPLAY, _ALIGN, _FOREGROUND, _DECORATION, _TOOLTIP, _ACCESSIBLE = (
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole)
_SERVED = {int(role.value) for role in (_DISPLAY, _ALIGN, _FOREGROUND, _DECORATION, _TOOLTIP, _ACCESSIBLE)} | {
    int(ROW_ROLE)}

STATUS_TEXT = {"draft": "Draft", "approved": "Approved", "posted": "Posted", "paid": "Paid", "void": "Void"}
_STATUS_ROLE = {"draft": "muted", "paid": "good", "void": "muted"}


class PagedTableModel(QAbstractTableModel):
    loaded = Signal()  # a reload (new sort, filter or refresh) is on screen
    counted = Signal()  # ... and the number of its rows is known (the scroll bar is true to size)
    failed = Signal(str)  # a read failed: what to tell the user
    sortChanged = Signal(int, Qt.SortOrder)  # the sort in force (to put the header's arrow back)

    CHUNK = 200
    MAX_CHUNKS = 40

    def __init__(self, source: StoreSource, columns: list[Column], sort: Sort, *, pending_tip: str = "",
                 parent=None):
        super().__init__(parent)
        self.source = source
        self.columns = columns
        self.filters = Filters()
        self.sort_order = sort
        self.pending_tip = pending_tip or "Changed here and not yet sent to the service."
        self.formats = formats()
        self.today = dt.date.today().isoformat()
        self.tasks = Tasks(on_error=lambda error: self.failed.emit(_sentence(error)))
        self._total = 0
        self._chunks: OrderedDict[int, list[Any]] = OrderedDict()
        self._texts: dict[int, list[str]] = {}  # row number -> its cells as shown (cleared with the chunks)
        self._alignments = [_alignment(column.kind) for column in columns]
        self._wanted: list[int] = []
        self._loading: set[int] = set()
        self._worker = None
        self._generation = 0
        self._reloading = False
        self._refreshing: asyncio.Task | None = None  # a refresh under way counts as busy
        self._counting = False  # the rows' number is being counted (a sort meanwhile must not skip it)

    # --- what Qt asks ----------------------------------------------------------------------------

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else self._total

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(column.kind)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.tooltip:
                return column.tooltip
            return None if column.sort else f"{column.title}: this list cannot be sorted by this column."
        if role == Qt.ItemDataRole.DecorationRole and column.kind == "marker":
            return theme.icon("pending", "muted")
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        # Hot: a repaint asks every visible cell for eight or so roles. Roles we never serve cost one
        # set lookup; display strings are formatted once per row and kept with its chunk.
        if role not in _SERVED or not index.isValid():
            return None
        number, column_number = index.row(), index.column()
        if role == _ALIGN:
            return self._alignments[column_number]
        row = self.row_at(number)
        if role == ROW_ROLE or row is None:
            return row
        if role == _DISPLAY:
            texts = self._texts.get(number)
            if texts is None:
                texts = self._texts[number] = [self.display(row, column) for column in self.columns]
            return texts[column_number]
        column = self.columns[column_number]
        if role == _FOREGROUND:
            return self.foreground(row, column)
        if role == _DECORATION:
            return theme.icon("pending", "pending") if column.kind == "marker" and row.pending else None
        if role == _TOOLTIP:
            return self.tooltip(row, column)
        if role == _ACCESSIBLE and column.kind == "marker":
            return "not yet synced" if row.pending else "synced"
        return None

    def display(self, row: Any, column: Column) -> str:
        value = getattr(row, column.key)
        kind = column.kind
        if kind == "money":
            return self.formats.money(value, row.currency)
        if kind in ("date", "due"):
            return self.formats.date(value)
        if kind == "status":
            return STATUS_TEXT.get(value, str(value).capitalize())
        if kind == "marker":
            return ""
        if kind == "yesno":
            return "Yes" if value else ""
        return "" if value is None else str(value)

    def foreground(self, row: Any, column: Column):
        if column.kind == "status" and row.status in _STATUS_ROLE:
            return theme.colour(_STATUS_ROLE[row.status])
        if column.kind == "due" and self.is_overdue(row):
            return theme.colour("bad")
        if column.kind == "money" and getattr(row, column.key) < 0:
            return theme.colour("bad")
        return None

    def tooltip(self, row: Any, column: Column) -> str | None:
        if column.kind == "marker":
            return self.pending_tip if row.pending else None
        if column.kind == "due" and self.is_overdue(row):
            days = (dt.date.fromisoformat(self.today) - dt.date.fromisoformat(row.due_date)).days
            return f"Overdue by {days} day{'s' if days != 1 else ''}"
        return None

    def is_overdue(self, row: Any) -> bool:
        due = getattr(row, "due_date", "")
        return bool(due) and due < self.today and row.amount_due > 0 and row.status not in ("draft", "void")

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = self.columns[column].sort if 0 <= column < len(self.columns) else None
        if key is None:
            # The store cannot sort by it: keep the order in force, and say which it is.
            self.sortChanged.emit(self.sort_column(), self.qt_order())
            return
        wanted = Sort(key, order == Qt.SortOrder.DescendingOrder)
        if wanted != self.sort_order:
            self.sort_order = wanted
            self.reload(recount=False)  # the same rows in another order: their number is known

    # --- what the views use ----------------------------------------------------------------------

    def sort_column(self) -> int:
        for number, column in enumerate(self.columns):
            if column.sort == self.sort_order.key:
                return number
        return -1

    def qt_order(self) -> Qt.SortOrder:
        return Qt.SortOrder.DescendingOrder if self.sort_order.descending else Qt.SortOrder.AscendingOrder

    @property
    def total(self) -> int:
        return self._total

    @property
    def busy(self) -> bool:
        return (self._reloading or self._counting or bool(self._wanted) or bool(self._loading)
                or bool(self._refreshing and not self._refreshing.done()))

    @property
    def counting(self) -> bool:
        return self._counting

    def set_filters(self, filters: Filters) -> None:
        if filters != self.filters:
            self.filters = filters
            self.reload()

    def set_source(self, source: StoreSource) -> None:
        """Another company's store (a company switch): forget this one's rows; ``reload`` reads the new."""
        self.source = source
        self._generation += 1
        self._counting = False
        self.beginResetModel()
        self._total = 0
        self._forget_all()
        self._wanted.clear()
        self.endResetModel()

    def reload(self, *, recount: bool = True) -> None:
        """Read the first chunk again and swap it in when it arrives; then, if the number of rows may have
        changed, count them and grow the table to it. The rows paint first: counting a broad search can
        take longer than reading the page that shows it."""
        self._generation += 1
        generation = self._generation
        self._wanted.clear()
        self._reloading = True
        self._counting = self._counting or recount  # a count still owed for earlier filters stays owed
        source, filters, sort = self.source, self.filters, self.sort_order

        def arrived(page: Any) -> None:
            if generation != self._generation:
                return
            self._reloading = False
            if page.after is None:
                self._counting = False  # all of it fits in the first chunk: its length is the count
                total = len(page.rows)
            else:
                total = len(page.rows) if self._counting else self._total
            self.beginResetModel()
            self._total = total
            self._forget_all()
            if page.rows:
                self._chunks[0] = page.rows
            self.endResetModel()
            self.sortChanged.emit(self.sort_column(), self.qt_order())
            self.loaded.emit()
            if self._counting:
                self.tasks.start(off_thread(source.count, filters), done=counted, failed=broke, name="table count")

        def counted(total: int) -> None:
            if generation != self._generation:
                return
            self._counting = False
            if total > self._total:
                self.beginInsertRows(_ROOT, self._total, total - 1)
                self._total = total
                self.endInsertRows()
            elif total < self._total:
                self.beginRemoveRows(_ROOT, total, self._total - 1)
                self._total = total
                self.endRemoveRows()
            self.counted.emit()

        def broke(error: BaseException) -> None:
            if generation == self._generation:
                self._reloading = self._counting = False
            self.failed.emit(_sentence(error))

        self.tasks.start(off_thread(source.page, filters, sort, None, self.CHUNK), done=arrived, failed=broke,
                         name="table reload")

    def refresh(self) -> None:
        """After an edit: the same rows again, in place when their number did not change (the view keeps
        its scroll position and selection), else a fresh read."""
        self._generation += 1
        generation = self._generation
        source, filters, sort = self.source, self.filters, self.sort_order

        def arrived(result: tuple[int, Any]) -> None:
            if generation != self._generation:
                return
            total, page = result
            if total != self._total:
                self.reload()
                return
            self._forget_all()
            self._wanted.clear()
            if page.rows:
                self._chunks[0] = page.rows
            if total:
                self.dataChanged.emit(self.index(0, 0), self.index(total - 1, len(self.columns) - 1))
            self.loaded.emit()

        self._refreshing = self.tasks.start(off_thread(source.first, filters, sort, self.CHUNK), done=arrived,
                                            name="table refresh")

    def row_at(self, number: int) -> Any | None:
        start = number - number % self.CHUNK
        chunk = self._chunks.get(start)
        if chunk is None:
            self._want(start)
            return None
        self._chunks.move_to_end(start)
        offset = number - start
        return chunk[offset] if offset < len(chunk) else None

    def _forget_all(self) -> None:
        self._chunks.clear()
        self._texts.clear()

    def cached_row_of(self, record_id: int) -> int | None:
        """The row number of a record if its chunk is cached (to keep a selection across a refresh)."""
        for start, chunk in self._chunks.items():
            for offset, row in enumerate(chunk):
                if row.id == record_id:
                    return start + offset
        return None

    def cached_rows(self) -> int:
        return sum(len(chunk) for chunk in self._chunks.values())

    def cancel(self) -> None:
        self._generation += 1
        self.tasks.cancel_all()

    # --- reading chunks --------------------------------------------------------------------------

    def _want(self, start: int) -> None:
        if start in self._loading or start >= self._total:
            return
        if start in self._wanted:
            self._wanted.remove(start)
        self._wanted.append(start)
        # A fast drag of the scroll bar asks for chunks it has already left: read only the latest few.
        del self._wanted[:-6]
        if self._worker is None or self._worker.done():
            self._worker = self.tasks.start(self._read_wanted(), name="table chunks")

    async def _read_wanted(self) -> None:
        while self._wanted:
            start = self._wanted.pop()
            if start in self._chunks or start >= self._total:
                continue
            generation = self._generation
            plan = self._plan(start)
            self._loading.add(start)
            try:
                rows = await off_thread(plan)
            finally:
                self._loading.discard(start)
            if generation != self._generation:
                continue
            self._chunks[start] = rows
            while len(self._chunks) > self.MAX_CHUNKS:
                dropped, old = self._chunks.popitem(last=False)
                for number in range(dropped, dropped + len(old)):
                    self._texts.pop(number, None)
            if rows:
                last = min(start + len(rows), self._total) - 1
                self.dataChanged.emit(self.index(start, 0), self.index(last, len(self.columns) - 1))

    def _plan(self, start: int) -> Callable[[], list[Any]]:
        source, filters, sort, size = self.source, self.filters, self.sort_order, self.CHUNK
        limit = max(0, min(size, self._total - start))
        backwards = Sort(sort.key, not sort.descending)
        if start == 0:
            return lambda: source.page(filters, sort, None, limit).rows
        before = self._chunks.get(start - size)
        if before is not None and len(before) == size:
            after = source.key_of(before[-1], sort.key)
            return lambda: source.page(filters, sort, after, limit).rows
        following = self._chunks.get(start + size)
        if following:
            first = source.key_of(following[0], sort.key)
            return lambda: source.page(filters, backwards, first, limit).rows[::-1]
        if start + size >= self._total:
            return lambda: source.page(filters, backwards, None, limit).rows[::-1]

        def jump() -> list[Any]:
            cursor = source.cursor_at(filters, sort, start - 1)
            return [] if cursor is None else source.page(filters, sort, cursor, limit).rows
        return jump


def _alignment(kind: str) -> Qt.AlignmentFlag:
    if kind == "money":
        return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    if kind == "marker":
        return Qt.AlignmentFlag.AlignCenter
    return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


def _sentence(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"The list could not be read: {text}. Press F5 to try again; if it keeps failing, restart Ledgerdesk."
