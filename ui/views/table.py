"""The table every list uses: fixed-height rows (a million of them cost nothing to lay out), widths from the
columns' typical content, money right-aligned under right-aligned headings, sort by header click."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ui.models.paged import ROW_ROLE, PagedTableModel

_PADDING = 26  # cell padding plus room for the sort arrow in the heading


class DataTable(QTableView):
    activatedRow = Signal(object)  # the row (a store row) the user opened with Enter or a double click
    selectionChangedRow = Signal(object)  # the current row, or None

    def __init__(self, model: PagedTableModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.setModel(model)
        self.paged = model
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setCornerButtonEnabled(False)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        rows = self.verticalHeader()
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 12)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionsMovable(False)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setMinimumSectionSize(28)
        self.size_columns()
        # The arrow first: enabling sorting sorts by it at once, which is then the order already in force.
        header.setSortIndicator(model.sort_column(), model.qt_order())
        self.setSortingEnabled(True)
        model.sortChanged.connect(self._show_sort)
        model.loaded.connect(self._restore)
        self.doubleClicked.connect(self._open)
        self.selectionModel().currentRowChanged.connect(self._current_changed)
        self._keep_id: int | None = None
        self._keep_scroll = 0

    def size_columns(self) -> None:
        metrics = self.fontMetrics()
        header = self.horizontalHeader()
        bold = header.font()
        bold.setBold(True)
        for number, column in enumerate(self.paged.columns):
            if column.kind == "marker":
                header.setSectionResizeMode(number, QHeaderView.ResizeMode.Fixed)
                header.resizeSection(number, 30)
                continue
            wanted = max(metrics.horizontalAdvance(column.sample),
                         header.fontMetrics().horizontalAdvance(column.title)) + _PADDING
            header.resizeSection(number, wanted)
            mode = QHeaderView.ResizeMode.Stretch if column.stretch else QHeaderView.ResizeMode.Interactive
            header.setSectionResizeMode(number, mode)

    def current_row(self):
        index = self.currentIndex()
        return None if not index.isValid() else self.paged.data(index, ROW_ROLE)

    def select_id(self, record_id: int) -> bool:
        row = self.paged.cached_row_of(record_id)
        if row is None:
            return False
        self.setCurrentIndex(self.paged.index(row, self._first_text_column()))
        self.scrollTo(self.paged.index(row, 0))
        return True

    def keep_position(self) -> None:
        """Before a refresh: remember the selected record and the scroll position, put back on ``loaded``."""
        current = self.current_row()
        self._keep_id = None if current is None else current.id
        self._keep_scroll = self.verticalScrollBar().value()

    def _restore(self) -> None:
        if self._keep_id is None:
            return
        record_id, scroll = self._keep_id, self._keep_scroll
        self._keep_id = None
        # After the reset's relayout, which Qt finishes on the next turn of the event loop.
        QTimer.singleShot(0, lambda: self._put_back(record_id, scroll))

    def _put_back(self, record_id: int, scroll: int) -> None:
        self.verticalScrollBar().setValue(scroll)
        self.select_id(record_id)

    def _first_text_column(self) -> int:
        for number, column in enumerate(self.paged.columns):
            if column.kind != "marker":
                return number
        return 0

    def _show_sort(self, column: int, order: Qt.SortOrder) -> None:
        header = self.horizontalHeader()
        header.blockSignals(True)
        header.setSortIndicator(column, order)
        header.blockSignals(False)

    def _open(self, index: QModelIndex) -> None:
        row = self.paged.data(index, ROW_ROLE)
        if row is not None:
            self.activatedRow.emit(row)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.selectionChangedRow.emit(self.paged.data(current, ROW_ROLE) if current.isValid() else None)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self._open(self.currentIndex())
            return
        super().keyPressEvent(event)
