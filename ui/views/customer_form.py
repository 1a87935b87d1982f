"""Create or edit a customer. Problems show under the field as the user leaves it, and all together on Save;
a saved customer goes to the store (and its outbox) in one transaction, off the UI thread."""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QVBoxLayout,
    QWidget,
)

from app.domain import Customer
from app.store import tables
from providers.base import Entity, Operation
from ui import dialogs, operations
from ui.context import CompanyContext
from ui.tasks import Tasks
from ui.views.form import ErrorBanner, RecordForm

CURRENCIES = ("GBP", "EUR", "USD")
_FIELDS = ("name", "contact_name", "email", "phone", "vat_number", "company_number", "currency")
_ADDRESS = ("line1", "line2", "town", "region", "postcode", "country")


class CustomerDialog(QDialog):
    saved = Signal(object)  # the Customer as stored

    def __init__(self, context: CompanyContext, customer: Customer | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.original = customer
        self.tasks = Tasks()
        self._dirty = False
        self._saving = False
        self.setWindowTitle("Edit customer" if customer else "New customer")
        self.setObjectName("customerDialog")

        heading = QLabel(customer.name if customer else "New customer")
        heading.setObjectName("viewTitle")
        self.banner = ErrorBanner()
        self.form = RecordForm(Customer)
        form = self.form
        form.add("name", required=True, placeholder="As it appears on invoices")
        form.add("contact_name")
        form.add("email", placeholder="name@example.com")
        form.add("phone")
        form.add("vat_number", placeholder="GB123456789")
        form.add("company_number")
        currency = QComboBox()
        currency.setEditable(True)
        currency.addItems(CURRENCIES)
        form.add("currency", currency)
        form.add_heading(form.title("address"))
        for name in _ADDRESS:
            form.add(f"address.{name}", placeholder="GB" if name == "country" else "")

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setToolTip("Save (Ctrl+S): kept on this computer at once, sent to "
                                    f"{context.provider_name} when it can be reached.")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        allowed, reason = context.allows(Entity.CUSTOMERS, Operation.UPDATE if customer else Operation.CREATE)
        if not allowed:
            self.save_button.setEnabled(False)
            self.save_button.setToolTip(reason)

        self.note = QLabel("Fields marked * are required.")
        self.note.setObjectName("muted")
        bottom = QHBoxLayout()
        bottom.addWidget(self.note, 1)
        bottom.addWidget(self.buttons)

        layout = QVBoxLayout(self)
        # Grow when a problem appears under a field, rather than squeezing it into a clipped line.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(10)
        layout.addWidget(heading)
        layout.addWidget(self.banner)
        layout.addWidget(form)
        layout.addLayout(bottom)
        self.resize(560, self.sizeHint().height())

        if customer is not None:
            self._fill(customer)
        form.on_edited(self._edited)
        form.on_left(self._left)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)

    # --- state -------------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self._dirty

    def _fill(self, customer: Customer) -> None:
        for name in _FIELDS:
            self.form.set_text(name, str(getattr(customer, name)))
        for name in _ADDRESS:
            self.form.set_text(f"address.{name}", getattr(customer.address, name))

    def _values(self) -> dict:
        values = {name: self.form.text(name) for name in _FIELDS}
        values["address"] = {name: self.form.text(f"address.{name}") for name in _ADDRESS}
        return values

    def _build(self) -> Customer:
        """The customer as typed, validated (raises pydantic's ValidationError)."""
        values = self._values()
        if self.original is not None:
            keep = self.original.model_dump(exclude={*_FIELDS, "address"})
            values = {**keep, **values}
        return Customer.model_validate(values)

    def _problem(self) -> ValidationError | None:
        try:
            self._build()
        except ValidationError as error:
            return error
        return None

    # --- reacting to the user ----------------------------------------------------------------------

    def _edited(self, name: str) -> None:
        self._dirty = True
        # A field the user is fixing loses its complaint as soon as it becomes right.
        row = self.form.rows[name]
        if not row.problem.isHidden():
            self.form.show_errors(self._problem(), only={name})

    def _left(self, name: str) -> None:
        if self._dirty:
            self.form.show_errors(self._problem(), only={name})

    def save(self) -> None:
        if self._saving or not self.save_button.isEnabled():
            return
        try:
            customer = self._build()
        except ValidationError as error:
            sentences = self.form.show_errors(error)
            self.banner.show_problems(sentences, "Please fix this before saving:" if len(sentences) > 1 else "")
            first = self.form.first_invalid()
            if first is not None:
                first.setFocus()
            return
        self.form.show_errors(None)
        self.banner.clear_problems()
        self._saving = True
        self.save_button.setEnabled(False)
        self.save_button.setText("Saving…")
        self.tasks.start(operations.save(self.context, tables.CUSTOMERS, customer), done=self._saved,
                         failed=self._not_saved, name="save customer")

    def _saved(self, customer: Customer) -> None:
        self._saving = False
        self._dirty = False
        self.saved.emit(customer)
        self.accept()

    def _not_saved(self, error: BaseException) -> None:
        self._saving = False
        self.save_button.setEnabled(True)
        self.save_button.setText("Save")
        self.banner.show_problems([f"The customer was not saved: {dialogs.explain(error)} "
                                   "What you typed is still here: try Save again."])

    # --- leaving -----------------------------------------------------------------------------------

    def reject(self) -> None:
        if self._dirty and not self._saving:
            dialogs.confirm(self, "Discard changes?", "This customer has changes that are not saved.",
                            "Discard changes", self._discard)
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

    def keyPressEvent(self, event) -> None:
        # Enter in a field should not save behind the user's back; Ctrl+S and the Save button do.
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not self.save_button.hasFocus():
            self.focusNextChild()
            return
        super().keyPressEvent(event)
