"""Invoices and credit notes: the list with its filters (status, dates, customer, overdue) and search, all run
in SQL; and the editors it opens."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDateEdit, QHBoxLayout, QVBoxLayout, QWidget

from app.domain import SalesDocument
from app.store import Filters
from providers.base import Entity, Operation
from ui import dialogs, operations, theme
from ui.context import CompanyContext
from ui.formatting import formats, pydate, qdate
from ui.models.source import StoreSource
from ui.models.tables import invoice_model
from ui.tasks import Tasks
from ui.views.customers import SEARCH_DELAY_MS, search_box, view_heading
from ui.views.invoice_editor import InvoiceEditor, duplicate_of
from ui.views.invoice_pdf import open_preview, pdf_html
from ui.views.pickers import CustomerPicker
from ui.views.table import DataTable

STATUSES = (("All statuses", None), ("Draft", "draft"), ("Approved", "approved"), ("Posted", "posted"),
            ("Paid", "paid"), ("Void", "void"))
PERIODS = ("Any date", "This month", "Last month", "This quarter", "Last quarter", "This year", "Last 12 months",
           "Custom dates")


def period_range(name: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The first and last day of a named period around ``today``."""
    month_start = today.replace(day=1)
    quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    if name == "This month":
        return month_start, today
    if name == "Last month":
        end = month_start - dt.timedelta(days=1)
        return end.replace(day=1), end
    if name == "This quarter":
        return quarter_start, today
    if name == "Last quarter":
        end = quarter_start - dt.timedelta(days=1)
        return end.replace(month=(end.month - 1) // 3 * 3 + 1, day=1), end
    if name == "This year":
        return today.replace(month=1, day=1), today
    if name == "Last 12 months":
        return today - dt.timedelta(days=365), today
    return None, None


class InvoicesView(QWidget):
    changed = Signal()
    problem = Signal(str)

    title = "Invoices"

    def __init__(self, context: CompanyContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.today = dt.date.today()
        self.tasks = Tasks(on_error=lambda error: dialogs.tell(self, "That did not work", dialogs.explain(error)))
        self.editors: list[InvoiceEditor] = []
        self.model = invoice_model(context.store, context.provider_name)
        self.model.failed.connect(self.problem)

        heading, self.count_label = view_heading("Invoices")
        self.new_button = theme.button("new", "New invoice")
        self.new_button.setObjectName("new_invoice")
        self.open_button = theme.button("edit", "Open")
        self.duplicate_button = theme.button("duplicate", "Duplicate")
        self.pdf_button = theme.button("pdf", "PDF…")

        self.search = search_box("Search number, customer, reference or line text")
        self.search.setObjectName("invoiceSearch")
        self.status = QComboBox()
        self.status.setObjectName("statusFilter")
        for label, _value in STATUSES:
            self.status.addItem(label)
        self.period = QComboBox()
        self.period.setObjectName("periodFilter")
        self.period.addItems(PERIODS)
        self.date_from, self.date_to = QDateEdit(), QDateEdit()
        for edit, name in ((self.date_from, "dateFrom"), (self.date_to, "dateTo")):
            edit.setObjectName(name)
            edit.setCalendarPopup(True)
            edit.setDisplayFormat(formats().date_format)
            edit.setDate(qdate(self.today))
            edit.hide()
        self.date_from.setDate(qdate(self.today.replace(day=1)))
        self.customer = CustomerPicker(context.store, placeholder="Any customer")
        self.customer.setObjectName("customerFilter")
        self.customer.setMinimumWidth(200)
        self.overdue = QCheckBox("Overdue only")
        self.overdue.setObjectName("overdueFilter")

        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self.count_label, 0, Qt.AlignmentFlag.AlignBottom)
        top.addStretch(1)
        for button in (self.open_button, self.duplicate_button, self.pdf_button):
            top.addWidget(button)
        top.addSpacing(12)
        top.addWidget(self.new_button)
        bar = QHBoxLayout()
        bar.addWidget(self.search, 2)
        bar.addWidget(self.customer, 1)
        bar.addWidget(self.status)
        bar.addWidget(self.period)
        bar.addWidget(self.date_from)
        bar.addWidget(self.date_to)
        bar.addWidget(self.overdue)

        self.table = DataTable(self.model)
        self.table.setObjectName("invoicesTable")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

        self._timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._timer.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.search.returnPressed.connect(self.apply_filters)
        self.status.currentIndexChanged.connect(lambda _i: self.apply_filters())
        self.period.currentIndexChanged.connect(self._period_changed)
        self.date_from.dateChanged.connect(lambda _d: self.apply_filters())
        self.date_to.dateChanged.connect(lambda _d: self.apply_filters())
        self.customer.picked.connect(lambda _row: self.apply_filters())
        self.overdue.toggled.connect(lambda _on: self.apply_filters())
        self.new_button.clicked.connect(self.new)
        self.open_button.clicked.connect(self.open_current)
        self.duplicate_button.clicked.connect(self.duplicate_current)
        self.pdf_button.clicked.connect(self.pdf_current)
        self.table.activatedRow.connect(lambda row: self.open(row.id))
        self.table.selectionChangedRow.connect(lambda _row: self._update_actions())
        self.model.loaded.connect(self._show_count)
        self.model.counted.connect(self._show_count)
        self._update_actions()

    # --- the company ---------------------------------------------------------------------------

    def start(self) -> None:
        self.model.reload()

    def set_context(self, context: CompanyContext) -> None:
        self.context = context
        self.model.pending_tip = f"Changed here and not yet sent to {context.provider_name}."
        self.customer.set_store(context.store)
        self.model.set_source(StoreSource(context.store, self.model.source.view))
        self._update_actions()

    def refresh(self) -> None:
        self.table.keep_position()
        self.model.refresh()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def open_editors(self) -> list[InvoiceEditor]:
        return [e for e in self.editors if e.isVisible()]

    # --- filters -------------------------------------------------------------------------------

    def filters(self) -> Filters:
        period = self.period.currentText()
        if period == "Custom dates":
            date_from, date_to = pydate(self.date_from.date()), pydate(self.date_to.date())
        else:
            date_from, date_to = period_range(period, self.today)
        chosen = self.customer.chosen
        return Filters(text=self.search.text().strip(), status=STATUSES[self.status.currentIndex()][1],
                       date_from=date_from, date_to=date_to, customer_id=chosen.id if chosen else None,
                       overdue_on=self.today if self.overdue.isChecked() else None)

    def apply_filters(self) -> None:
        self._timer.stop()
        self.model.set_filters(self.filters())

    def show_filtered(self, *, status: str | None = None, overdue: bool = False) -> None:
        """From elsewhere (the Reports view): the list narrowed to a status, or to what is overdue."""
        self.search.clear()
        self.status.setCurrentIndex(next(i for i, (_l, value) in enumerate(STATUSES) if value == status))
        self.overdue.setChecked(overdue)
        self.apply_filters()

    def _period_changed(self) -> None:
        custom = self.period.currentText() == "Custom dates"
        self.date_from.setVisible(custom)
        self.date_to.setVisible(custom)
        self.apply_filters()

    def _show_count(self) -> None:
        if self.model.counting:
            return  # the number shown stays until the new one is known
        total = self.model.total
        filtered = self.model.filters != Filters()
        noun = "invoice" if total == 1 else "invoices"
        if total == 0 and filtered:
            self.count_label.setText("Nothing matches these filters")
        else:
            self.count_label.setText(f"{total:,} {noun}" + (" match" if filtered else ""))

    # --- actions -------------------------------------------------------------------------------

    def _update_actions(self) -> None:
        row = self.table.current_row()
        allowed, reason = self.context.allows(Entity.INVOICES, Operation.CREATE)
        self.new_button.setEnabled(allowed)
        self.new_button.setToolTip("A new invoice (Ctrl+N)" if allowed else reason)
        for button, tip in ((self.open_button, "Open the selected invoice (Enter)"),
                            (self.pdf_button, "The selected invoice as a PDF, to save or print")):
            button.setEnabled(row is not None)
            button.setToolTip(tip if row is not None else "Select an invoice first")
        self.duplicate_button.setEnabled(row is not None and allowed)
        self.duplicate_button.setToolTip(reason if not allowed else "A new draft with the same customer and lines"
                                         if row is not None else "Select an invoice first")

    def new(self) -> None:
        allowed, reason = self.context.allows(Entity.INVOICES, Operation.CREATE)
        if not allowed:
            self.problem.emit(reason)
            return
        self._open_editor(None, customer=self.customer.chosen)

    def open_current(self) -> None:
        row = self.table.current_row()
        if row is not None:
            self.open(row.id)

    def open(self, local_id: int) -> None:
        for editor in self.open_editors():
            if editor.document is not None and editor.document.local_id == local_id:
                editor.raise_()
                editor.activateWindow()
                return
        self.tasks.start(operations.document(self.context.store, local_id), done=self._open_editor,
                         name="open invoice")

    def duplicate_current(self) -> None:
        row = self.table.current_row()
        if row is None:
            return
        self.tasks.start(operations.document(self.context.store, row.id),
                         done=lambda document: document and self._open_editor(duplicate_of(document), dirty=True),
                         name="duplicate invoice")

    def pdf_current(self) -> None:
        row = self.table.current_row()
        if row is None:
            return

        async def render():
            document = await operations.document(self.context.store, row.id)
            if document is None:
                raise LookupError("This invoice no longer exists; it may have been deleted.")
            return await pdf_html(self.context, document), document

        def show(result) -> None:
            self.preview = open_preview(self, *result)

        self.tasks.start(render(), done=show, name="invoice pdf")

    def _open_editor(self, document: SalesDocument | None, *, customer=None, dirty: bool = False) -> InvoiceEditor:
        editor = InvoiceEditor(self.context, document, self.window(), customer=customer)
        editor.saved.connect(self._saved)
        editor.duplicateRequested.connect(lambda copy: self._open_editor(copy, dirty=True))
        editor.finished.connect(lambda _r: self.editors.remove(editor) if editor in self.editors else None)
        if dirty:
            editor._dirty = True  # a duplicate is unsaved work until it is saved
        self.editors.append(editor)
        editor.show()
        return editor

    def _saved(self, document: SalesDocument) -> None:
        self.table.keep_position()
        self.model.refresh()
        self.changed.emit()
