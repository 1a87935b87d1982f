"""The company switcher (Ctrl+K): type to filter every company of every connection by name, service or
connection; recent ones first; Enter switches, Esc closes."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ui import theme
from ui.context import CompanyChoice


def matches(choice: CompanyChoice, text: str) -> bool:
    """Every word typed appears in the company's name, its service's name or its connection's."""
    haystack = f"{choice.name} {choice.provider_name} {choice.provider} {choice.connection}".casefold()
    return all(word in haystack for word in text.casefold().split())


class CompanySwitcher(QDialog):
    chosen = Signal(str)  # the company's key

    def __init__(self, companies: list[CompanyChoice], current: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("companySwitcher")
        self.setWindowTitle("Switch company")
        self.companies = companies
        self.current = current
        self.filter = QLineEdit()
        self.filter.setObjectName("switcherFilter")
        self.filter.setPlaceholderText("Type a company, service or connection")
        theme.leading_icon(self.filter, "search", "muted")
        self.list = QListWidget()
        self.list.setObjectName("switcherList")
        self.list.setUniformItemSizes(True)
        self.hint = QLabel("↑↓ to choose · Enter to switch · Esc to close")
        self.hint.setObjectName("muted")
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.hint)
        self.resize(520, 420)
        self.filter.textChanged.connect(self._refill)
        self.filter.installEventFilter(self)
        self.list.itemActivated.connect(self._activate)
        self._refill("")

    def _refill(self, text: str) -> None:
        self.list.clear()
        for choice in self.companies:
            if not matches(choice, text):
                continue
            where = " · ".join(part for part in (choice.provider_name, choice.connection) if part)
            item = QListWidgetItem(theme.icon("company"), f"{choice.name}\n{where}")
            item.setData(Qt.ItemDataRole.UserRole, choice.key)
            if choice.key == self.current:
                item.setToolTip("The company open now")
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.hint.setText("No company matches" if not self.list.count() else
                          "↑↓ to choose · Enter to switch · Esc to close")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Arrows and Enter in the filter box move and choose in the list: the hands stay on the keys.
        if watched is self.filter and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                self.list.keyPressEvent(event)
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.list.currentItem()
                if item is not None:
                    self._activate(item)
                return True
        return super().eventFilter(watched, event)

    def _activate(self, item: QListWidgetItem) -> None:
        self.chosen.emit(item.data(Qt.ItemDataRole.UserRole))
        self.accept()
