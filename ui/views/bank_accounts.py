"""Bank accounts with their balances, and the selected account's transactions (search, dates), paged by key."""

from __future__ import annotations

import datetime as dt

from pydantic import ValidationError
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain import BankAccount
from app.store import Filters, tables
from providers.base import Entity, Operation
from ui import dialogs, operations, theme
from ui.context import CompanyContext
from ui.formatting import formats
from ui.models.source import StoreSource
from ui.models.tables import bank_transaction_model
from ui.tasks import Tasks
from ui.views.customers import SEARCH_DELAY_MS, search_box, view_heading
from ui.views.form import ErrorBanner, RecordForm
from ui.views.invoices import PERIODS, period_range
from ui.views.table import DataTable

_ACCOUNT_COLUMNS = ("Name", "Account number", "Sort code", "Ledger account", "Balance")


class BankAccountDialog(QDialog):
    saved = Signal(object)

    def __init__(self, context: CompanyContext, account: BankAccount | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("bankAccountDialog")
        self.setWindowTitle("Edit bank account" if account else "New bank account")
        self.context, self.account = context, account
        self.tasks = Tasks()
        self.banner = ErrorBanner()
        self.form = RecordForm(BankAccount)
        for name in ("name", "account_number", "sort_code", "iban", "currency", "account_code"):
            self.form.add(name, required=name == "name")
        self.form.set_text("currency", account.currency if account else context.currency)
        if account is not None:
            for name in ("name", "account_number", "sort_code", "iban", "account_code"):
                self.form.set_text(name, getattr(account, name))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(self.banner)
        layout.addWidget(self.form)
        layout.addWidget(buttons)
        self.resize(480, self.sizeHint().height())
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save)

    def save(self) -> None:
        values = {name: self.form.text(name) for name in self.form.editors}
        base = self.account.model_dump() if self.account else {}
        try:
            account = BankAccount.model_validate({**base, **values})
        except ValidationError as error:
            self.banner.show_problems(self.form.show_errors(error))
            return
        self.form.show_errors(None)
        self.banner.clear_problems()
        self.save_button.setEnabled(False)
        self.tasks.start(operations.save(self.context, tables.BANK_ACCOUNTS, account), done=self._saved,
                         failed=self._not_saved)

    def _saved(self, account: BankAccount) -> None:
        self.saved.emit(account)
        self.accept()

    def _not_saved(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        self.banner.show_problems([f"The account was not saved: {dialogs.explain(error)} Try Save again."])


def _note() -> QLabel:
    note = QLabel()
    note.setObjectName("muted")
    note.setWordWrap(True)
    note.setAlignment(Qt.AlignmentFlag.AlignCenter)
    note.setContentsMargins(48, 24, 48, 24)
    return note


class BankAccountsView(QWidget):
    changed = Signal()
    problem = Signal(str)

    title = "Bank accounts"

    def __init__(self, context: CompanyContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.today = dt.date.today()
        self.tasks = Tasks(on_error=lambda error: self.problem.emit(dialogs.explain(error)))
        self.accounts_list: list[BankAccount] = []

        heading, self.count_label = view_heading("Bank accounts")
        self.new_button = theme.button("new", "New account")
        self.edit_button = theme.button("edit", "Edit account")
        self.new_button.clicked.connect(self.new)
        self.edit_button.clicked.connect(self.edit_current)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self.count_label, 0, Qt.AlignmentFlag.AlignBottom)
        top.addStretch(1)
        top.addWidget(self.edit_button)
        top.addWidget(self.new_button)

        self.accounts = QTableWidget(0, len(_ACCOUNT_COLUMNS))
        self.accounts.setObjectName("bankAccountsTable")
        self.accounts.setHorizontalHeaderLabels(_ACCOUNT_COLUMNS)
        self.accounts.verticalHeader().setVisible(False)
        self.accounts.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.accounts.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.accounts.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.accounts.setShowGrid(False)
        self.accounts.setAlternatingRowColors(True)
        header = self.accounts.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(_ACCOUNT_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        balance_heading = self.accounts.horizontalHeaderItem(4)
        balance_heading.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.accounts.itemSelectionChanged.connect(self._account_chosen)
        self.accounts.itemDoubleClicked.connect(lambda _item: self.edit_current())

        self.transactions_title = QLabel("Transactions")
        self.transactions_title.setObjectName("sectionTitle")
        font = self.transactions_title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.transactions_title.setFont(font)
        self.transactions_count = QLabel()
        self.transactions_count.setObjectName("muted")
        self.search = search_box("Search description or reference")
        self.search.setObjectName("transactionSearch")
        self.period = QComboBox()
        self.period.addItems([p for p in PERIODS if p != "Custom dates"])
        self.model = bank_transaction_model(context.store)
        self.model.filters = Filters(bank_account_remote_id="")
        self.model.failed.connect(self.problem)
        self.model.loaded.connect(self._show_transactions_count)
        self.model.counted.connect(self._show_transactions_count)
        self.table = DataTable(self.model)
        self.table.setObjectName("transactionsTable")

        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 8, 0, 0)
        title_row = QHBoxLayout()
        title_row.addWidget(self.transactions_title)
        title_row.addWidget(self.transactions_count, 0, Qt.AlignmentFlag.AlignBottom)
        title_row.addStretch(1)
        title_row.addWidget(self.search, 1)
        title_row.addWidget(self.period)
        lower_layout.addLayout(title_row)
        # Where the service cannot list what a pane would show, the pane says so rather than stay empty.
        self.transactions_note = _note()
        self.transactions_area = QStackedWidget()
        self.transactions_area.addWidget(self.table)
        self.transactions_area.addWidget(self.transactions_note)
        lower_layout.addWidget(self.transactions_area, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.accounts)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 4)
        splitter.setChildrenCollapsible(False)
        self.accounts_note = _note()
        self.body = QStackedWidget()
        self.body.addWidget(splitter)
        self.body.addWidget(self.accounts_note)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(self.body, 1)

        self._timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._timer.timeout.connect(self._apply_filters)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        self.period.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self._update_actions()
        self._show_what_the_service_lists()

    def _show_what_the_service_lists(self) -> None:
        accounts, why_not_accounts = self.context.allows(Entity.BANK_ACCOUNTS, Operation.LIST)
        self.accounts_note.setText(f"{why_not_accounts.rstrip('.')}.\n\nBank accounts and their transactions are kept in "
                                   f"{self.context.provider_name}'s own app." if not accounts else "")
        self.body.setCurrentWidget(self.body.widget(0) if accounts else self.accounts_note)
        listed, why_not = self.context.allows(Entity.BANK_TRANSACTIONS, Operation.LIST)
        self.transactions_note.setText(f"{why_not.rstrip('.')}.\n\nThe balances above are {self.context.provider_name}'s own."
                                       if not listed else "")
        self.transactions_area.setCurrentWidget(self.table if listed else self.transactions_note)
        for control in (self.search, self.period, self.transactions_count):
            control.setVisible(listed)

    def start(self) -> None:
        self.tasks.start(operations.bank_accounts(self.context.store), done=self._show_accounts, name="bank accounts")

    def set_context(self, context: CompanyContext) -> None:
        self.context = context
        self.model.set_source(StoreSource(context.store, self.model.source.view))
        self.accounts.setRowCount(0)
        self.accounts_list = []
        self._show_what_the_service_lists()

    def refresh(self) -> None:
        self.start()
        self.model.refresh()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def open_editors(self) -> list:
        return []

    def _show_accounts(self, accounts: list[BankAccount]) -> None:
        fmt = formats()
        chosen = self._current_account()
        self.accounts_list = accounts
        self.accounts.setRowCount(len(accounts))
        for row, account in enumerate(accounts):
            for column, text in enumerate((account.name, account.account_number, account.sort_code,
                                           account.account_code, fmt.money(account.balance, account.currency))):
                item = QTableWidgetItem(text)
                if column == 4:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    if account.balance < 0:
                        item.setForeground(theme.colour("bad"))
                self.accounts.setItem(row, column, item)
        height = self.accounts.horizontalHeader().height() + 2
        height += sum(self.accounts.rowHeight(r) for r in range(len(accounts))) or 40
        self.accounts.setMaximumHeight(max(height + 4, 90))
        self.count_label.setText(f"{len(accounts)} account{'s' if len(accounts) != 1 else ''}")
        again = next((n for n, a in enumerate(accounts) if chosen and a.local_id == chosen.local_id), 0)
        if accounts:
            self.accounts.selectRow(again)
        self._update_actions()

    def _current_account(self) -> BankAccount | None:
        row = self.accounts.currentRow()
        return self.accounts_list[row] if 0 <= row < len(self.accounts_list) else None

    def _account_chosen(self) -> None:
        account = self._current_account()
        if account is not None:
            self.transactions_title.setText(f"Transactions in {account.name}")
        self._apply_filters()
        self._update_actions()

    def _apply_filters(self) -> None:
        self._timer.stop()
        account = self._current_account()
        date_from, date_to = period_range(self.period.currentText(), self.today)
        # An account created here has no id at the service yet, so nothing of the bank feed can be its own:
        # a key no remote id takes keeps the list empty rather than unfiltered.
        remote = (account.remote_id or f"local:{account.local_id}") if account is not None else "local:none"
        self.model.set_filters(Filters(text=self.search.text().strip(), date_from=date_from, date_to=date_to,
                                       bank_account_remote_id=remote))

    def _show_transactions_count(self) -> None:
        if self.model.counting:
            return  # the number shown stays until the new one is known
        total = self.model.total
        self.transactions_count.setText(f"{total:,} transaction{'s' if total != 1 else ''}")

    def _update_actions(self) -> None:
        for button, operation, needs in ((self.new_button, Operation.CREATE, False),
                                         (self.edit_button, Operation.UPDATE, True)):
            allowed, reason = self.context.allows(Entity.BANK_ACCOUNTS, operation)
            selected = self._current_account() is not None
            button.setEnabled(allowed and (selected or not needs))
            button.setToolTip(reason if not allowed else "Select an account first" if needs and not selected
                              else button.text())

    def new(self) -> None:
        allowed, reason = self.context.allows(Entity.BANK_ACCOUNTS, Operation.CREATE)
        if not allowed:
            self.problem.emit(reason)
            return
        self._edit(None)

    def edit_current(self) -> None:
        account = self._current_account()
        if account is not None and self.edit_button.isEnabled():
            self._edit(account)

    def _edit(self, account: BankAccount | None) -> None:
        dialog = BankAccountDialog(self.context, account, self.window())
        dialog.saved.connect(lambda _account: (self.start(), self.changed.emit()))
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        dialog.open()
