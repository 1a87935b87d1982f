"""Cell editors of the line grid: a list for the VAT rate (the provider's rates), the chart for the account,
right-aligned text for amounts."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from ui.context import VatRate
from ui.operations import AccountCode

Index = QModelIndex | QPersistentModelIndex


class AmountDelegate(QStyledItemDelegate):
    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        editor = QLineEdit(parent)
        editor.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        editor.setFrame(False)
        return editor


class VatRateDelegate(QStyledItemDelegate):
    def __init__(self, rates: tuple[VatRate, ...], parent=None):
        super().__init__(parent)
        self.rates = rates

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        editor = QComboBox(parent)
        for rate in self.rates:
            editor.addItem(rate.label, rate.key)
        editor.setFrame(False)
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        key = index.data(Qt.ItemDataRole.EditRole)
        found = editor.findData(key)
        if found < 0 and key:
            editor.addItem(str(key), key)  # a rate the service used that is not in today's list
            found = editor.count() - 1
        editor.setCurrentIndex(max(found, 0))

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)


class AccountDelegate(QStyledItemDelegate):
    """The chart of accounts as a list to type into: "4000" or "sales" both find 4000 Sales: products."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.accounts: list[AccountCode] = []

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        editor = QComboBox(parent)
        editor.setEditable(True)
        editor.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for account in self.accounts:
            editor.addItem(account.label, account.code)
        completer = editor.completer()
        if completer is not None:
            completer.setFilterMode(Qt.MatchFlag.MatchContains)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        editor.setFrame(False)
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        code = index.data(Qt.ItemDataRole.EditRole) or ""
        found = editor.findData(code)
        if found >= 0:
            editor.setCurrentIndex(found)
        else:
            editor.setEditText(code)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        assert isinstance(editor, QComboBox)
        text = editor.currentText().strip()
        found = editor.findText(text)
        code = editor.itemData(found) if found >= 0 else text.split(" ", 1)[0]
        model.setData(index, code, Qt.ItemDataRole.EditRole)
