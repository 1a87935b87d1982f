"""Reports from the company's own copy: what customers owe and how late it is (aged receivables), and the
invoices by status, each a click away from the list it counts. Summed inside SQLite, off the UI thread.

The provider-computed reports (profit and loss, balance sheet, trial balance) come from ``app/reports``,
which does not exist yet; this view gains a section per report as it lands.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui import dialogs, operations, theme
from ui.context import CompanyContext
from ui.formatting import formats
from ui.models.paged import STATUS_TEXT
from ui.tasks import Tasks
from ui.views.customers import view_heading


def _card(title: str) -> tuple[QFrame, QLabel, QLabel]:
    frame = QFrame()
    frame.setObjectName("card")
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    label = QLabel(title)
    label.setObjectName("muted")
    value = QLabel("…")
    font = value.font()
    font.setPointSizeF(font.pointSizeF() * 1.7)
    font.setBold(True)
    value.setFont(font)
    note = QLabel("")
    note.setObjectName("muted")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(16, 12, 16, 12)
    layout.addWidget(label)
    layout.addWidget(value)
    layout.addWidget(note)
    return frame, value, note


def _section(text: str) -> QLabel:
    label = QLabel(text)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.15)
    label.setFont(font)
    return label


class ReportsView(QWidget):
    changed = Signal()
    problem = Signal(str)
    showInvoices = Signal(object, bool)  # status (or None), overdue only

    title = "Reports"

    def __init__(self, context: CompanyContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.tasks = Tasks(on_error=lambda error: self.problem.emit(dialogs.explain(error)))
        heading, self.as_of = view_heading("Reports")

        owed_card, self.owed_value, self.owed_note = _card("Customers owe")
        overdue_card, self.overdue_value, self.overdue_note = _card("Overdue")
        open_card, self.open_value, self.open_note = _card("Open invoices")
        self.overdue_value.setObjectName("overdueValue")
        cards = QHBoxLayout()
        cards.setSpacing(12)
        for card in (owed_card, overdue_card, open_card):
            cards.addWidget(card, 1)

        self.aged = QTableWidget(0, len(operations.AGE_BANDS) + 2)
        self.aged.setObjectName("agedTable")
        self.aged.setHorizontalHeaderLabels(["Currency", *operations.AGE_BANDS, "Total"])
        _tidy(self.aged)
        for column in range(1, self.aged.columnCount()):
            self.aged.horizontalHeaderItem(column).setTextAlignment(
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        self.statuses = QGridLayout()
        self.statuses.setHorizontalSpacing(18)
        self.statuses.setVerticalSpacing(6)
        self._status_rows: dict[str, QLabel] = {}
        for row, (key, title) in enumerate((*STATUS_TEXT.items(), ("overdue", "Overdue"))):
            name = QLabel(title)
            count = QLabel("…")
            count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            count.setMinimumWidth(self.fontMetrics().horizontalAdvance("1,000,000") + 8)
            show = QPushButton("Show")
            show.setObjectName(f"show_{key}")
            show.setToolTip(f"The invoice list, {title.lower()} only")
            show.clicked.connect(lambda _c=False, key=key: self.showInvoices.emit(
                None if key == "overdue" else key, key == "overdue"))
            self.statuses.addWidget(name, row, 0)
            self.statuses.addWidget(count, row, 1)
            self.statuses.addWidget(show, row, 2)
            self._status_rows[key] = count
        self.statuses.setColumnStretch(3, 1)

        note = QLabel("Worked out from this computer's copy of the company. Profit and loss, balance sheet and "
                      "trial balance will appear here as the reports module lands.")
        note.setObjectName("muted")
        note.setWordWrap(True)

        inner = QWidget()
        body = QVBoxLayout(inner)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(10)
        body.addLayout(cards)
        body.addSpacing(6)
        body.addWidget(_section("Aged receivables"))
        body.addWidget(self.aged)
        body.addSpacing(6)
        self.debtors = QTableWidget(0, 3)
        self.debtors.setObjectName("debtorsTable")
        self.debtors.setHorizontalHeaderLabels(["Customer", "Contact", "Owes"])
        _tidy(self.debtors)
        self.debtors.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.debtors.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.debtors.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.debtors.horizontalHeaderItem(2).setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        by_status = QVBoxLayout()
        by_status.setSpacing(8)  # a nested layout would inherit the 32 px between the columns
        by_status.addWidget(_section("Invoices by status"))
        by_status.addLayout(self.statuses)
        by_status.addStretch(1)
        owing = QVBoxLayout()
        owing.setSpacing(8)
        owing.addWidget(_section("Who owes the most"))
        owing.addWidget(self.debtors)
        owing.addStretch(1)
        columns = QHBoxLayout()
        columns.setSpacing(32)
        columns.addLayout(by_status, 2)
        columns.addLayout(owing, 3)
        body.addLayout(columns, 1)
        body.addWidget(note)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)

        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self.as_of, 0, Qt.AlignmentFlag.AlignBottom)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(scroll, 1)

    def start(self) -> None:
        today = dt.date.today()
        store = self.context.store
        self.as_of.setText(f"as of {formats().date(today)}")
        self.tasks.start(operations.receivables(store, today.isoformat()), done=self._show_receivables,
                         name="receivables")
        self.tasks.start(operations.aged_receivables(store, today.isoformat()), done=self._show_aged, name="aged")
        self.tasks.start(operations.status_counts(store, today), done=self._show_counts, name="status counts")
        self.tasks.start(operations.largest_balances(store, 10), done=self._show_debtors, name="debtors")

    refresh = start

    def set_context(self, context: CompanyContext) -> None:
        self.context = context  # read on the next start()

    def focus_search(self) -> None:
        pass

    def open_editors(self) -> list:
        return []

    def _show_receivables(self, rows: list[operations.Receivable]) -> None:
        fmt = formats()
        if not rows:
            self.owed_value.setText(fmt.money(Decimal(0), self.context.currency))
            self.overdue_value.setText(fmt.money(Decimal(0), self.context.currency))
            self.open_value.setText("0")
            self.owed_note.setText("Nothing is owed")
            return
        main, others = rows[0], rows[1:]
        self.owed_value.setText(fmt.money(main.owed, main.currency))
        self.overdue_value.setText(fmt.money(main.overdue, main.currency))
        if main.overdue > 0:
            self.overdue_value.setStyleSheet(f"color: {theme.colour('bad').name()};")
        self.open_value.setText(f"{sum(r.documents for r in rows):,}")
        share = (main.overdue / main.owed * 100) if main.owed else 0
        self.overdue_note.setText(f"{share:.0f}% of what is owed")
        self.owed_note.setText("plus " + ", ".join(fmt.money(r.owed, r.currency) for r in others) if others
                               else f"across {main.documents:,} invoices")
        self.open_note.setText("approved and not fully paid")

    def _show_aged(self, aged: dict) -> None:
        fmt = formats()
        self.aged.setRowCount(len(aged))
        for row, (currency, bands) in enumerate(sorted(aged.items())):
            self.aged.setItem(row, 0, QTableWidgetItem(currency))
            for column, amount in enumerate([*bands, sum(bands)], start=1):
                item = QTableWidgetItem(fmt.money(amount, currency))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column >= 4 and amount > 0 and column <= len(bands):
                    item.setForeground(theme.colour("bad"))
                if column == len(bands) + 1:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.aged.setItem(row, column, item)
        _fit_rows(self.aged, len(aged))

    def _show_debtors(self, rows) -> None:
        fmt = formats()
        owing = [row for row in rows if row.balance > 0]
        self.debtors.setRowCount(len(owing))
        for number, row in enumerate(owing):
            owes = QTableWidgetItem(fmt.money(row.balance, row.currency))
            owes.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.debtors.setItem(number, 0, QTableWidgetItem(row.name))
            self.debtors.setItem(number, 1, QTableWidgetItem(row.contact_name))
            self.debtors.setItem(number, 2, owes)
        _fit_rows(self.debtors, len(owing))

    def _show_counts(self, counts: dict[str, int]) -> None:
        for key, label in self._status_rows.items():
            label.setText(f"{counts.get(key, 0):,}")


def _fit_rows(table: QTableWidget, rows: int) -> None:
    """As tall as its rows: a short report table, not a pane with space under it."""
    table.setFixedHeight(table.horizontalHeader().sizeHint().height()
                         + max(rows, 1) * table.verticalHeader().defaultSectionSize() + 2 * table.frameWidth())


def _tidy(table: QTableWidget) -> None:
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setShowGrid(False)
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    table.setStyleSheet("QTableWidget::item { padding: 0 10px; }")
