"""Customers: the list (search, archived filter, sort by header), and create, edit, archive and delete."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.store import Filters, tables
from providers.base import Entity, Operation
from ui import dialogs, operations, theme
from ui.context import CompanyContext
from ui.models.source import StoreSource
from ui.models.tables import customer_model
from ui.tasks import Tasks
from ui.views.customer_form import CustomerDialog
from ui.views.table import DataTable

SEARCH_DELAY_MS = 150  # after the last keystroke: one query per pause, not one per letter
_ARCHIVED = (("Active customers", False), ("Archived customers", True), ("All customers", None))


def search_box(placeholder: str) -> QLineEdit:
    box = QLineEdit()
    box.setPlaceholderText(placeholder)
    box.setClearButtonEnabled(True)
    theme.leading_icon(box, "search", "muted")
    box.setMinimumWidth(300)
    return box


def view_heading(title: str) -> tuple[QLabel, QLabel]:
    heading = QLabel(title)
    heading.setObjectName("viewTitle")
    count = QLabel("")
    count.setObjectName("muted")
    return heading, count


class CustomersView(QWidget):
    changed = Signal()  # a customer was saved or deleted (the status bar recounts the outbox)
    problem = Signal(str)

    title = "Customers"

    def __init__(self, context: CompanyContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.tasks = Tasks(on_error=lambda error: self._failed("That did not work", error))
        self.editors: list[CustomerDialog] = []
        self.model = customer_model(context.store, context.provider_name)
        self.model.filters = Filters(archived=False)
        self.model.failed.connect(self.problem)

        heading, self.count_label = view_heading("Customers")
        self.search = search_box("Search name, contact, email, VAT or company number")
        self.search.setObjectName("customerSearch")
        self.archived = QComboBox()
        self.archived.setObjectName("archivedFilter")
        for label, _value in _ARCHIVED:
            self.archived.addItem(label)
        self.new_button = theme.button("new", "New customer")
        self.edit_button = theme.button("edit", "Edit")
        self.archive_button = theme.button("archive", "Archive")
        self.delete_button = theme.button("delete", "Delete")
        for button in (self.new_button, self.edit_button, self.archive_button, self.delete_button):
            button.setObjectName(button.text().lower().replace(" ", "_"))

        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self.count_label, 0, Qt.AlignmentFlag.AlignBottom)
        top.addStretch(1)
        top.addWidget(self.new_button)
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(self.archived)
        bar.addSpacing(12)
        bar.addWidget(self.edit_button)
        bar.addWidget(self.archive_button)
        bar.addWidget(self.delete_button)

        self.table = DataTable(self.model)
        self.table.setObjectName("customersTable")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._apply_filters)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.search.returnPressed.connect(self._apply_filters)
        self.archived.currentIndexChanged.connect(lambda _index: self._apply_filters())
        self.new_button.clicked.connect(self.new)
        self.edit_button.clicked.connect(self.edit_current)
        self.archive_button.clicked.connect(self.archive_current)
        self.delete_button.clicked.connect(self.delete_current)
        self.table.activatedRow.connect(lambda row: self.edit(row.id))
        self.table.selectionChangedRow.connect(lambda _row: self._update_actions())
        self.model.loaded.connect(self._show_count)
        self.model.counted.connect(self._show_count)
        self._show_archived_column(False)
        self._update_actions()

    # --- the company ---------------------------------------------------------------------------

    def start(self) -> None:
        self.model.reload()

    def set_context(self, context: CompanyContext) -> None:
        self.context = context
        self.model.pending_tip = f"Changed here and not yet sent to {context.provider_name}."
        self.model.set_source(StoreSource(context.store, self.model.source.view))
        self._update_actions()

    def refresh(self) -> None:
        self.table.keep_position()
        self.model.refresh()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def open_editors(self) -> list[CustomerDialog]:
        return [e for e in self.editors if e.isVisible()]

    # --- filters -------------------------------------------------------------------------------

    def _apply_filters(self) -> None:
        self._search_timer.stop()
        archived = _ARCHIVED[self.archived.currentIndex()][1]
        self.model.set_filters(Filters(text=self.search.text().strip(), archived=archived))
        self._show_archived_column(archived)

    def _show_archived_column(self, archived: bool | None) -> None:
        # A column of blanks says nothing: it shows only when archived customers can be in the list.
        column = next(n for n, c in enumerate(self.model.columns) if c.key == "archived")
        self.table.setColumnHidden(column, archived is False)

    def _show_count(self) -> None:
        if self.model.counting:
            return  # the number shown stays until the new one is known
        total = self.model.total
        noun = "customer" if total == 1 else "customers"
        self.count_label.setText(f"{total:,} {noun}" if total or not self.model.filters.text
                                 else "No customer matches this search")

    # --- actions -------------------------------------------------------------------------------

    def _allowed(self, operation: Operation) -> tuple[bool, str]:
        return self.context.allows(Entity.CUSTOMERS, operation)

    def _update_actions(self) -> None:
        row = self.table.current_row()
        selected = row is not None
        for button, operation, tip in (
            (self.new_button, Operation.CREATE, "Add a customer (Ctrl+N)"),
            (self.edit_button, Operation.UPDATE, "Edit the selected customer (Enter)"),
            (self.archive_button, Operation.UPDATE,
             "Unarchive the selected customer" if selected and row.archived
             else "Archive the selected customer: kept for its invoices, hidden from new ones"),
            (self.delete_button, Operation.DELETE, "Delete the selected customer"),
        ):
            allowed, reason = self._allowed(operation)
            needs_row = button is not self.new_button
            button.setEnabled(allowed and (selected or not needs_row))
            if not allowed:
                button.setToolTip(reason)
            elif needs_row and not selected:
                button.setToolTip("Select a customer first")
            else:
                button.setToolTip(tip)
        self.archive_button.setText("Unarchive" if selected and row.archived else "Archive")

    def new(self) -> None:
        allowed, reason = self._allowed(Operation.CREATE)
        if not allowed:
            self.problem.emit(reason)
            return
        self._open_editor(None)

    def edit_current(self) -> None:
        row = self.table.current_row()
        if row is not None:
            self.edit(row.id)

    def edit(self, local_id: int) -> None:
        self.tasks.start(operations.customer(self.context.store, local_id), done=self._open_editor,
                         name="open customer")

    def _open_editor(self, customer) -> None:
        editor = CustomerDialog(self.context, customer, self.window())
        editor.saved.connect(self._saved)
        editor.finished.connect(lambda _result: self.editors.remove(editor) if editor in self.editors else None)
        self.editors.append(editor)
        editor.open()

    def _saved(self, customer) -> None:
        self.table.keep_position()
        self.model.refresh()
        self.changed.emit()
        QTimer.singleShot(0, lambda: self.table.select_id(customer.local_id))

    def archive_current(self) -> None:
        row = self.table.current_row()
        if row is None:
            return
        archiving = not row.archived

        def go() -> None:
            async def work():
                customer = await operations.customer(self.context.store, row.id)
                if customer is None:
                    raise LookupError("This customer no longer exists; it may have been deleted.")
                return await operations.save(self.context, tables.CUSTOMERS,
                                             customer.model_copy(update={"archived": archiving}))
            self.tasks.start(work(), done=self._saved, name="archive customer")

        if archiving:
            dialogs.confirm(self, "Archive customer?", f"Archive {row.name}?",
                            "Archive", go, destructive=False,
                            detail="An archived customer keeps their invoices but is hidden from lists and "
                                   "from new invoices. You can unarchive them later.")
        else:
            go()

    def delete_current(self) -> None:
        row = self.table.current_row()
        if row is None:
            return

        def go() -> None:
            self.tasks.start(operations.delete(self.context, tables.CUSTOMERS, row.id), done=lambda _r: self._deleted(),
                             name="delete customer")

        dialogs.confirm(self, "Delete customer?", f"Delete {row.name}?", "Delete", go,
                        detail=f"The customer is removed here and from {self.context.provider_name} at the next "
                               "sync. Their invoices are not deleted. This cannot be undone.")

    def _deleted(self) -> None:
        self.model.reload()
        self.changed.emit()

    def _failed(self, what: str, error: BaseException) -> None:
        dialogs.tell(self, what, dialogs.explain(error),
                     detail="Nothing was changed. Try again; if it keeps failing, restart Ledgerdesk.")
