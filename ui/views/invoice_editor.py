"""The invoice editor: customer, dates (the due date follows the terms), a line grid entered from the keyboard,
totals computed as the provider computes them (``Invoice.totals()``, VAT rounded per line), and Save,
Approve, Void, Duplicate and PDF. Saving writes the invoice and its outbox entry in one transaction on the
store's writer thread; the window never waits on it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import ValidationError
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain import CreditNote, DocumentStatus, Invoice, SalesDocument, readable_errors
from app.store import tables
from app.store.queries import CustomerRow
from providers.base import Entity, Operation
from ui import dialogs, operations, theme
from ui.context import CompanyContext
from ui.formatting import formats, pydate, qdate
from ui.models.lines import ACCOUNT, DESCRIPTION, LINE_TOTAL, QUANTITY, UNIT_PRICE, VAT_RATE, LinesModel
from ui.models.paged import STATUS_TEXT
from ui.tasks import Tasks
from ui.views.form import ErrorBanner
from ui.views.invoice_pdf import open_preview, pdf_html
from ui.views.line_delegates import AccountDelegate, AmountDelegate, VatRateDelegate
from ui.views.pickers import CustomerPicker

TERMS = (("On receipt", 0), ("7 days", 7), ("14 days", 14), ("30 days", 30), ("60 days", 60), ("Custom", None))
DEFAULT_TERMS = 30
_READ_ONLY = {DocumentStatus.PAID: "A paid invoice cannot be changed: raise a credit note instead.",
              DocumentStatus.VOID: "A void invoice cannot be changed."}


def duplicate_of(document: SalesDocument) -> SalesDocument:
    """A new draft with the same customer, currency, terms and lines, dated today."""
    today = dt.date.today()
    terms = (document.due_date - document.date).days if document.due_date else DEFAULT_TERMS
    return type(document).model_construct(
        local_id=None, remote_id=None, payload_hash=None, remote_version=None, kind=document.kind, number="",
        customer_local_id=document.customer_local_id, customer_remote_id=document.customer_remote_id,
        customer_name=document.customer_name, date=today, due_date=today + dt.timedelta(days=max(terms, 0)),
        reference="", currency=document.currency, exchange_rate=Decimal(1), status=DocumentStatus.DRAFT,
        lines=[line.model_copy(update={"vat_amount": None}) for line in document.lines], amount_paid=Decimal(0),
        rounding=document.rounding)


class LineGrid(QTableView):
    """Tab walks the editable cells left to right and on to the next line (the total is skipped);
    Ctrl+Delete removes a line, Ctrl+Insert adds one above."""

    def __init__(self, model: LinesModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.setModel(model)
        self.lines = model
        self.setEditTriggers(QAbstractItemView.EditTrigger.AnyKeyPressed
                             | QAbstractItemView.EditTrigger.DoubleClicked
                             | QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.SelectedClicked)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setTabKeyNavigation(True)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 14)
        rows.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        metrics = self.fontMetrics()
        for column, sample in ((QUANTITY, "Quantity"), (UNIT_PRICE, "88,888.88"), (VAT_RATE, "Zero rated 0%"),
                               (ACCOUNT, "4010 Sales: services"), (LINE_TOTAL, "£888,888.88")):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 34)

    def moveCursor(self, action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier) -> QModelIndex:
        index = super().moveCursor(action, modifiers)
        if action in (QAbstractItemView.CursorAction.MoveNext, QAbstractItemView.CursorAction.MovePrevious):
            guard = 0
            while index.isValid() and index.column() == LINE_TOTAL and guard < 3:
                self.setCurrentIndex(index)
                index = super().moveCursor(action, modifiers)
                guard += 1
        return index

    def keyPressEvent(self, event: QKeyEvent) -> None:
        current = self.currentIndex()
        ctrl = event.modifiers() & Qt.KeyboardModifier.ControlModifier
        if ctrl and event.key() == Qt.Key.Key_Delete and current.isValid():
            self.lines.remove(current.row())
            return
        if ctrl and event.key() == Qt.Key.Key_Insert:
            self.lines.insert_blank(current.row() if current.isValid() else 0)
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and current.isValid() \
                and self.state() != QAbstractItemView.State.EditingState:
            # Enter on a line goes to the next line's description, ready to type.
            below = self.lines.index(min(current.row() + 1, self.lines.rowCount() - 1), DESCRIPTION)
            self.setCurrentIndex(below)
            return
        super().keyPressEvent(event)


class InvoiceEditor(QDialog):
    saved = Signal(object)  # the SalesDocument as stored
    duplicateRequested = Signal(object)  # a new draft copied from this one

    def __init__(self, context: CompanyContext, document: SalesDocument | None = None,
                 parent: QWidget | None = None, *, customer: CustomerRow | None = None):
        super().__init__(parent)
        self.setObjectName("invoiceEditor")
        self.context = context
        self.document = document
        self.fmt = formats()
        self.tasks = Tasks(on_error=self._failed)
        self._dirty = False
        self._saving = False
        self._filling = False
        self.customer_row = customer
        self.customer_id = document.customer_local_id if document else (customer.id if customer else None)
        self.currency = document.currency if document else (customer.currency if customer else context.currency)
        self.status = document.status if document else DocumentStatus.DRAFT
        self.kind = document.kind if document else "invoice"

        # --- header --------------------------------------------------------------------------------
        self.heading = QLabel()
        self.heading.setObjectName("viewTitle")
        self.status_label = QLabel()
        self.status_label.setObjectName("statusChip")
        self.sync_label = QLabel()
        self.sync_label.setObjectName("muted")
        self.banner = ErrorBanner()
        self.notice = QLabel()
        self.notice.setObjectName("muted")
        self.notice.setWordWrap(True)
        self.notice.hide()

        self.customer = CustomerPicker(context.store, placeholder="Type a customer's name")
        self.customer.setObjectName("customer")
        self.date = QDateEdit()
        self.date.setObjectName("date")
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat(self.fmt.date_format)
        self.terms = QComboBox()
        self.terms.setObjectName("terms")
        for label, days in TERMS:
            self.terms.addItem(label, days)
        self.due = QDateEdit()
        self.due.setObjectName("due")
        self.due.setCalendarPopup(True)
        self.due.setDisplayFormat(self.fmt.date_format)
        self.number = QLineEdit()
        self.number.setObjectName("number")
        self.number.setPlaceholderText("Set when sent")
        self.reference = QLineEdit()
        self.reference.setObjectName("reference")
        self.reference.setPlaceholderText("Customer's order number")
        self.currency_label = QLabel(self.currency)

        fields = QGridLayout()
        fields.setHorizontalSpacing(12)
        fields.setVerticalSpacing(8)
        title = SalesDocument.model_fields
        for column, (name, widget) in enumerate(((title["customer_local_id"].title, self.customer),
                                                 (title["date"].title, self.date),
                                                 ("Terms", self.terms),
                                                 (title["due_date"].title, self.due))):
            label = QLabel(name)
            label.setBuddy(widget)
            fields.addWidget(label, 0, column)
            fields.addWidget(widget, 1, column)
        for column, (name, widget) in enumerate(((title["reference"].title, self.reference),
                                                 (title["number"].title, self.number),
                                                 (title["currency"].title, self.currency_label))):
            label = QLabel(name)
            label.setBuddy(widget)
            fields.addWidget(label, 2, column)
            fields.addWidget(widget, 3, column)
        fields.setColumnStretch(0, 3)
        for column in (1, 2, 3):
            fields.setColumnStretch(column, 1)

        # --- lines ---------------------------------------------------------------------------------
        self.lines = LinesModel(self.fmt, context.vat_rates, self.currency,
                                document.rounding if document else Invoice.model_fields["rounding"].default)
        self.grid = LineGrid(self.lines)
        self.grid.setObjectName("lines")
        self.account_delegate = AccountDelegate(self.grid)
        self.grid.setItemDelegateForColumn(QUANTITY, AmountDelegate(self.grid))
        self.grid.setItemDelegateForColumn(UNIT_PRICE, AmountDelegate(self.grid))
        self.grid.setItemDelegateForColumn(VAT_RATE, VatRateDelegate(context.vat_rates, self.grid))
        self.grid.setItemDelegateForColumn(ACCOUNT, self.account_delegate)
        self.add_line = theme.button("add-line", "Add line")
        self.add_line.setToolTip("Add a line (or just type in the last row)")
        self.remove_line = theme.button("remove-line", "Remove line")
        self.remove_line.setToolTip("Remove the selected line (Ctrl+Delete)")
        for button in (self.add_line, self.remove_line):
            button.setAutoDefault(False)  # Enter belongs to the grid, not to whichever button was last clicked
        self.add_line.clicked.connect(self._add_line)
        self.remove_line.clicked.connect(lambda: self.lines.remove(self.grid.currentIndex().row()))
        self.keys_hint = QLabel("Tab moves between cells · Enter goes to the next line · Ctrl+Delete removes a line")
        self.keys_hint.setObjectName("muted")

        # --- totals --------------------------------------------------------------------------------
        self.net_value, self.vat_value, self.total_value, self.due_value = (QLabel() for _ in range(4))
        totals = QGridLayout()
        totals.setHorizontalSpacing(24)
        totals.setVerticalSpacing(4)
        self.total_labels = {}
        for row, (name, value) in enumerate((("Net", self.net_value), ("VAT", self.vat_value),
                                             ("Total", self.total_value), ("Amount due", self.due_value))):
            label = QLabel(name)
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setObjectName(f"{name.lower().replace(' ', '_')}_total")
            value.setMinimumWidth(self.fontMetrics().horizontalAdvance("£8,888,888.88") + 8)
            if name == "Total":
                label.setObjectName("total")
                value.setObjectName("total")
                value.setProperty("role", "total_total")
            totals.addWidget(label, row, 0)
            totals.addWidget(value, row, 1)
            self.total_labels[name] = (label, value)

        line_buttons = QHBoxLayout()
        line_buttons.addWidget(self.add_line)
        line_buttons.addWidget(self.remove_line)
        line_buttons.addStretch(1)
        under_grid = QVBoxLayout()
        under_grid.addLayout(line_buttons)
        under_grid.addWidget(self.keys_hint)
        under_grid.addStretch(1)
        line_bar = QHBoxLayout()
        line_bar.addLayout(under_grid, 1)
        line_bar.addLayout(totals)

        # --- actions -------------------------------------------------------------------------------
        self.duplicate_button = theme.button("duplicate", "Duplicate")
        self.pdf_button = theme.button("pdf", "PDF…")
        self.approve_button = theme.button("approve", "Approve")
        self.void_button = theme.button("void", "Void")
        self.close_button = QPushButton("Close")
        self.save_button = theme.button("save", "Save")
        self.save_button.setDefault(False)
        self.save_button.setAutoDefault(False)
        for button in (self.duplicate_button, self.pdf_button, self.approve_button, self.void_button,
                       self.close_button):
            button.setAutoDefault(False)
        self.save_button.setObjectName("save")
        self.duplicate_button.clicked.connect(self.duplicate)
        self.pdf_button.clicked.connect(self.show_pdf)
        self.approve_button.clicked.connect(self.approve)
        self.void_button.clicked.connect(self.void)
        self.close_button.clicked.connect(self.reject)
        self.save_button.clicked.connect(self.save)
        actions = QHBoxLayout()
        for button in (self.duplicate_button, self.pdf_button, self.approve_button, self.void_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.close_button)
        actions.addWidget(self.save_button)

        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addWidget(self.status_label, 0, Qt.AlignmentFlag.AlignVCenter)
        top.addStretch(1)
        top.addWidget(self.sync_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.notice)
        layout.addLayout(fields)
        layout.addWidget(self.grid, 1)
        layout.addLayout(line_bar)
        layout.addLayout(actions)
        self.resize(1040, 680)

        # --- behaviour -----------------------------------------------------------------------------
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)
        self.customer.picked.connect(self._customer_picked)
        self.customer.textEdited.connect(lambda _t: self._mark_dirty())
        self.date.dateChanged.connect(self._date_changed)
        self.terms.currentIndexChanged.connect(self._terms_changed)
        self.due.dateChanged.connect(self._due_changed)
        self.number.textEdited.connect(lambda _t: self._mark_dirty())
        self.reference.textEdited.connect(lambda _t: self._mark_dirty())
        self.lines.changedLines.connect(self._lines_changed)

        self._fill(document)
        self.tasks.start(operations.chart(context.store), done=self._chart_arrived, name="chart")
        if document is not None and document.local_id is not None:
            self.tasks.start(operations.record_state(context.store, tables.INVOICES, document.local_id),
                             done=self._show_sync_state, name="invoice state")
        self.setTabOrder(self.customer, self.date)
        self.setTabOrder(self.date, self.terms)
        self.setTabOrder(self.terms, self.due)
        self.setTabOrder(self.due, self.reference)
        self.setTabOrder(self.reference, self.number)
        self.setTabOrder(self.number, self.grid)

    # --- filling -------------------------------------------------------------------------------

    def _fill(self, document: SalesDocument | None) -> None:
        self._filling = True
        today = dt.date.today()
        if document is None:
            self.date.setDate(qdate(today))
            self.terms.setCurrentIndex(self.terms.findData(DEFAULT_TERMS))
            self.due.setDate(qdate(today + dt.timedelta(days=DEFAULT_TERMS)))
            if self.customer_row is not None:
                self.customer.set_customer(self.customer_row)
        else:
            self.customer.set_customer(None, document.customer_name)
            self.date.setDate(qdate(document.date))
            days = (document.due_date - document.date).days if document.due_date else 0
            found = self.terms.findData(days)
            self.terms.setCurrentIndex(found if found >= 0 else len(TERMS) - 1)
            self.due.setDate(qdate(document.due_date or document.date))
            self.number.setText(document.number)
            self.reference.setText(document.reference)
            self.lines.set_lines(document.lines)
        self._filling = False
        self._dirty = False
        self._show_state()
        self._lines_changed()

    def _chart_arrived(self, accounts) -> None:
        self.account_delegate.accounts = accounts
        self.lines.account_names = {a.code: a.name for a in accounts}
        if accounts and not self.lines.default_account:
            sales = next((a for a in accounts if a.code.startswith("4")), accounts[0])
            self.lines.default_account = sales.code
            last = self.lines.drafts[-1]
            if last.is_blank() and not last.account_code:
                last.account_code = sales.code
        self.lines.layoutChanged.emit()

    def _show_state(self) -> None:
        kind = "Credit note" if self.kind == "credit_note" else "Invoice"
        if self.document is None or self.document.local_id is None:
            self.heading.setText(f"New {kind.lower()}")
        else:
            self.heading.setText(f"{kind} {self.document.number}" if self.document.number else f"Draft {kind.lower()}")
        self.setWindowTitle(self.heading.text())
        self.status_label.setText(STATUS_TEXT.get(str(self.status), str(self.status)))
        self.status_label.setStyleSheet(f"color: {theme.colour('muted' if self.status == 'draft' else 'accent').name()};"
                                        " font-weight: 600; padding-left: 8px;")
        read_only = _READ_ONLY.get(self.status)
        self.lines.read_only = read_only is not None
        for widget in (self.customer, self.date, self.terms, self.due, self.number, self.reference,
                       self.add_line, self.remove_line):
            widget.setEnabled(read_only is None)
        if read_only:
            self.notice.setText(read_only)
            self.notice.show()
        else:
            self.notice.hide()
        self._update_actions()

    def _show_sync_state(self, state: str | None) -> None:
        provider = self.context.provider_name
        texts = {None: f"In step with {provider}", "pending": f"Saved here, waiting to be sent to {provider}",
                 "failed": f"{provider} refused the last change: see Sync activity",
                 "conflict": f"Changed here and at {provider}: see Sync activity"}
        self.sync_label.setText(texts.get(state, ""))

    def _update_actions(self) -> None:
        saved = self.document is not None and self.document.local_id is not None
        editable = self.status not in _READ_ONLY
        entity = Entity.CREDIT_NOTES if self.kind == "credit_note" else Entity.INVOICES
        rules = (
            (self.save_button, Operation.UPDATE if saved else Operation.CREATE, editable,
             "Save (Ctrl+S): kept on this computer at once, sent when the service can be reached",
             _READ_ONLY.get(self.status, "")),
            (self.approve_button, Operation.POST, editable and self.status == DocumentStatus.DRAFT,
             "Approve this draft: it becomes a final invoice with its own number",
             "Only a draft can be approved."),
            (self.void_button, Operation.VOID, saved and self.status in (DocumentStatus.APPROVED, DocumentStatus.POSTED),
             "Void this invoice: it stays in the books with nothing owed",
             "Only a saved, approved invoice that is not paid can be voided."),
            (self.duplicate_button, Operation.CREATE, True, "A new draft with the same customer and lines", ""),
        )
        for button, operation, possible, tip, why_not in rules:
            allowed, reason = self.context.allows(entity, operation)
            button.setEnabled(allowed and possible)
            button.setToolTip(tip if allowed and possible else (reason or why_not))
        self.pdf_button.setToolTip("See the invoice as a PDF, then save or print it")

    # --- reacting to the user --------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self._dirty

    def _mark_dirty(self) -> None:
        if not self._filling:
            self._dirty = True

    def _customer_picked(self, row: CustomerRow | None) -> None:
        self.customer_id = None if row is None else row.id
        self.customer_row = row
        if row is not None and row.currency != self.currency and not self.lines.filled_rows():
            self.currency = row.currency
            self.currency_label.setText(row.currency)
            self.lines.set_currency(row.currency)
        self._mark_dirty()

    def _date_changed(self) -> None:
        days = self.terms.currentData()
        if days is not None:
            self.due.blockSignals(True)
            self.due.setDate(self.date.date().addDays(days))
            self.due.blockSignals(False)
        self._mark_dirty()

    def _terms_changed(self) -> None:
        days = self.terms.currentData()
        if days is not None:
            self.due.blockSignals(True)
            self.due.setDate(self.date.date().addDays(days))
            self.due.blockSignals(False)
        self._mark_dirty()

    def _due_changed(self) -> None:
        days = self.date.date().daysTo(self.due.date())
        found = self.terms.findData(days)
        self.terms.blockSignals(True)
        self.terms.setCurrentIndex(found if found >= 0 else len(TERMS) - 1)
        self.terms.blockSignals(False)
        self._mark_dirty()

    def _lines_changed(self) -> None:
        self._mark_dirty()
        totals = self.draft_totals()
        money = lambda amount: self.fmt.money(amount, self.currency)  # noqa: E731
        self.net_value.setText(money(totals.net))
        self.vat_value.setText(money(totals.vat))
        self.total_value.setText(money(totals.gross))
        self.due_value.setText(money(totals.amount_due))
        paid = self.document.amount_paid if self.document else Decimal(0)
        for widget in self.total_labels["Amount due"]:
            widget.setVisible(bool(paid))
        problems = self.lines.problems()
        if problems and self.banner.isVisible():
            self.banner.show_problems(problems)

    def _add_line(self) -> None:
        row = self.lines.rowCount() - 1
        self.grid.setFocus()
        self.grid.setCurrentIndex(self.lines.index(row, DESCRIPTION))
        self.grid.edit(self.lines.index(row, DESCRIPTION))

    # --- the document ----------------------------------------------------------------------------

    def draft_totals(self):
        model = CreditNote if self.kind == "credit_note" else Invoice
        paid = self.document.amount_paid if self.document else Decimal(0)
        draft = model.model_construct(lines=self.lines.lines(), currency=self.currency, status=self.status,
                                      amount_paid=paid, rounding=self.lines.rounding)
        return draft.totals()

    def build(self, status: DocumentStatus | None = None) -> SalesDocument:
        """The document as the form shows it, validated; raises ValueError with sentences."""
        problems = self.lines.problems()
        if not self.lines.filled_rows():
            problems.append("Add at least one line.")
        model = CreditNote if self.kind == "credit_note" else Invoice
        base = self.document.model_dump() if self.document is not None else {}
        values = {**base, "kind": self.kind, "number": self.number.text().strip(),
                  "customer_local_id": self.customer_id,
                  "customer_remote_id": base.get("customer_remote_id") if self.customer_id == base.get(
                      "customer_local_id") else None,
                  "customer_name": self.customer_row.name if self.customer_row else base.get("customer_name", ""),
                  "date": pydate(self.date.date()), "due_date": pydate(self.due.date()),
                  "reference": self.reference.text().strip(), "currency": self.currency,
                  "status": status or self.status, "lines": self.lines.lines()}
        if self.customer_id is None and not self.customer.text().strip():
            problems.insert(0, "Customer: choose who this invoice is for.")
        elif self.customer_id is None:
            problems.insert(0, f"Customer: no customer is called “{self.customer.text().strip()}”. "
                               "Pick one from the list as you type.")
        try:
            document = model.model_validate(values)
        except ValidationError as error:
            problems += [p for p in readable_errors(error, model) if not p.startswith("Choose a customer")]
            raise ValueError(problems) from None
        if problems:
            raise ValueError(problems)
        return document

    def save(self, status: DocumentStatus | None = None) -> None:
        status = status if isinstance(status, DocumentStatus) else None  # clicked() passes a bool
        if self._saving or (status is None and not self.save_button.isEnabled()):
            return
        self.grid.setFocus()  # commits a cell still being edited
        self.grid.clearFocus()
        try:
            document = self.build(status)
        except ValueError as error:
            problems = error.args[0]
            self.banner.show_problems(problems, "Please fix this before saving:" if len(problems) > 1 else "")
            return
        self.banner.clear_problems()
        self._saving = True
        self.save_button.setEnabled(False)
        self.save_button.setText("Saving…")
        self.tasks.start(operations.save(self.context, tables.INVOICES, document), done=self._saved,
                         failed=self._not_saved, name="save invoice")

    def _saved(self, document: SalesDocument) -> None:
        self._saving = False
        self.document = document
        self.status = document.status
        self.customer_id = document.customer_local_id
        self._dirty = False
        self.save_button.setText("Save")
        self._show_state()
        self._show_sync_state("pending")
        self.saved.emit(document)

    def _not_saved(self, error: BaseException) -> None:
        self._saving = False
        self.save_button.setText("Save")
        self._update_actions()
        self.banner.show_problems([f"The invoice was not saved: {dialogs.explain(error)} "
                                   "Everything you typed is still here: try Save again."])

    def _failed(self, error: BaseException) -> None:
        self.banner.show_problems([dialogs.explain(error)])

    def approve(self) -> None:
        self.save(DocumentStatus.APPROVED)

    def void(self) -> None:
        number = self.document.number if self.document else ""
        dialogs.confirm(self, "Void invoice?", f"Void invoice {number}?", "Void invoice",
                        lambda: self.save(DocumentStatus.VOID),
                        detail=f"It stays in the books with nothing owed, here and at {self.context.provider_name} "
                               "after the next sync. This cannot be undone.")

    def form_document(self) -> SalesDocument:
        """The document as the form shows it, unvalidated (for a PDF or a duplicate of unsaved work)."""
        model = CreditNote if self.kind == "credit_note" else Invoice
        base = self.document.model_dump() if self.document else {}
        return model.model_construct(**{
            **base, "kind": self.kind, "number": self.number.text().strip(), "customer_local_id": self.customer_id,
            "customer_remote_id": base.get("customer_remote_id"), "customer_name": self.customer.text().strip(),
            "date": pydate(self.date.date()), "due_date": pydate(self.due.date()),
            "reference": self.reference.text().strip(), "currency": self.currency, "status": self.status,
            "lines": self.lines.lines(), "amount_paid": base.get("amount_paid", Decimal(0)),
            "rounding": self.lines.rounding, "exchange_rate": base.get("exchange_rate", Decimal(1))})

    def duplicate(self) -> None:
        self.duplicateRequested.emit(duplicate_of(self.form_document()))

    def show_pdf(self) -> None:
        """The PDF of the invoice as the form shows it (saved or not)."""
        document = self.form_document()
        self.tasks.start(pdf_html(self.context, document, self.fmt),
                         done=lambda text: setattr(self, "preview", open_preview(self, text, document)),
                         name="invoice pdf")

    # --- leaving ---------------------------------------------------------------------------------

    def reject(self) -> None:
        if self._dirty and not self._saving:
            dialogs.confirm(self, "Discard changes?", "This invoice has changes that are not saved.",
                            "Discard changes", self._discard,
                            detail="Save keeps them on this computer even when offline.")
            return
        super().reject()

    def _discard(self) -> None:
        self._dirty = False
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._dirty and not self._saving:
            event.ignore()
            self.reject()
            return
        super().closeEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return  # Enter never saves or closes the editor by surprise; Ctrl+S saves
        super().keyPressEvent(event)
