"""The invoice editor's line grid: what the user typed, cell by cell, and the lines it makes.

Cells keep the text as typed, so a half-typed "12," is never thrown away; a cell that is not an amount is
marked with the reason and leaves its line out of the totals until it is fixed. One blank line is always
at the bottom: typing into it starts a new line, so lines are entered with the keyboard alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from app.domain import InvoiceLine, Rounding, minor_units
from ui import theme
from ui.context import VatRate
from ui.formatting import Formats

Index = QModelIndex | QPersistentModelIndex
_ROOT = QModelIndex()  # the invisible root: what a flat table's "parent" always is

DESCRIPTION, QUANTITY, UNIT_PRICE, VAT_RATE, ACCOUNT, LINE_TOTAL = range(6)
TITLES = ("Description", "Quantity", "Unit price", "VAT rate", "Account", "Line total")
_AMOUNT_COLUMNS = {QUANTITY: "quantity", UNIT_PRICE: "unit_price"}


@dataclass
class LineDraft:
    description: str = ""
    quantity: str = "1"
    unit_price: str = ""
    vat_rate_key: str = ""
    account_code: str = ""
    # Carried from the line as the service sent it; the grid does not edit these.
    kept: dict = field(default_factory=dict)

    def is_blank(self) -> bool:
        return not self.description.strip() and not self.unit_price.strip()


class LinesModel(QAbstractTableModel):
    changedLines = Signal()  # any edit: the totals and the dirty flag follow

    def __init__(self, formats: Formats, vat_rates: tuple[VatRate, ...], currency: str = "GBP",
                 rounding: Rounding = Rounding.HALF_UP, parent=None):
        super().__init__(parent)
        self.formats = formats
        self.vat_rates = {rate.key: rate for rate in vat_rates}
        self.default_rate = vat_rates[0].key if vat_rates else ""
        self.currency = currency
        self.rounding = rounding
        self.default_account = ""
        self.account_names: dict[str, str] = {}
        self.drafts: list[LineDraft] = [self._blank()]
        self.read_only = False

    # --- filling -----------------------------------------------------------------------------------

    def _blank(self) -> LineDraft:
        return LineDraft(vat_rate_key=self.default_rate, account_code=self.default_account)

    def set_lines(self, lines: list[InvoiceLine]) -> None:
        self.beginResetModel()
        self.drafts = [LineDraft(
            description=line.description, quantity=self.formats.plain_amount(line.quantity),
            unit_price=self.formats.plain_amount(line.unit_price), vat_rate_key=line.vat_rate_key,
            account_code=line.account_code,
            kept={"item_code": line.item_code, "discount_percent": line.discount_percent,
                  "vat_amount": line.vat_amount, "vat_rate": line.vat_rate, "quantity": line.quantity,
                  "unit_price": line.unit_price, "vat_rate_key": line.vat_rate_key})
            for line in lines]
        self.drafts.append(self._blank())
        self.endResetModel()
        self.changedLines.emit()

    def set_currency(self, currency: str) -> None:
        self.currency = currency
        if self.drafts:
            self.dataChanged.emit(self.index(0, LINE_TOTAL), self.index(len(self.drafts) - 1, LINE_TOTAL))
        self.changedLines.emit()

    # --- reading ----------------------------------------------------------------------------------

    def _amount(self, text: str) -> Decimal:
        return self.formats.parse_amount(text)

    def cell_problem(self, row: int, column: int) -> str:
        draft = self.drafts[row]
        if draft.is_blank() or column not in _AMOUNT_COLUMNS:
            return ""
        text = getattr(draft, _AMOUNT_COLUMNS[column])
        if column == UNIT_PRICE and not text.strip():
            return "Type the unit price, such as 12.50."
        try:
            value = self._amount(text)
        except ValueError as error:
            return str(error)
        if column == QUANTITY and value == 0:
            return "A line needs a quantity other than zero."
        return ""

    def line(self, row: int) -> InvoiceLine | None:
        """The line a draft makes, or None while it is blank or has a problem."""
        draft = self.drafts[row]
        if draft.is_blank() or self.cell_problem(row, QUANTITY) or self.cell_problem(row, UNIT_PRICE):
            return None
        kept = dict(draft.kept)
        quantity, unit_price = self._amount(draft.quantity), self._amount(draft.unit_price)
        rate = self.vat_rates.get(draft.vat_rate_key)
        vat_rate = rate.rate if rate is not None else kept.get("vat_rate", Decimal(0))
        # A VAT amount the service stated holds only while the line is as the service sent it.
        unchanged = (kept.get("quantity") == quantity and kept.get("unit_price") == unit_price
                     and kept.get("vat_rate_key") == draft.vat_rate_key)
        return InvoiceLine(description=draft.description.strip(), item_code=kept.get("item_code", ""),
                           quantity=quantity, unit_price=unit_price,
                           discount_percent=kept.get("discount_percent", Decimal(0)),
                           vat_rate_key=draft.vat_rate_key, vat_rate=vat_rate,
                           vat_amount=kept.get("vat_amount") if unchanged else None,
                           account_code=draft.account_code)

    def lines(self) -> list[InvoiceLine]:
        return [line for line in (self.line(n) for n in range(len(self.drafts))) if line is not None]

    def problems(self) -> list[str]:
        sentences = []
        for row, draft in enumerate(self.drafts):
            if draft.is_blank():
                continue
            for column in (QUANTITY, UNIT_PRICE):
                problem = self.cell_problem(row, column)
                if problem:
                    sentences.append(f"Line {row + 1}, {TITLES[column].lower()}: {problem}")
            if not draft.description.strip():
                sentences.append(f"Line {row + 1}: type a description.")
        return sentences

    def filled_rows(self) -> int:
        return sum(1 for draft in self.drafts if not draft.is_blank())

    # --- what Qt asks ----------------------------------------------------------------------------------

    def rowCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.drafts)

    def columnCount(self, parent: Index = _ROOT) -> int:
        return 0 if parent.isValid() else len(TITLES)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return TITLES[section]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return _alignment(section)
        elif role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1) if section < len(self.drafts) - 1 or self.read_only else "+"
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() != LINE_TOTAL and not self.read_only:
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        draft = self.drafts[row]
        trailing = row == len(self.drafts) - 1 and draft.is_blank()
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _alignment(column)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if trailing and role == Qt.ItemDataRole.DisplayRole:
                return "Type here to add a line" if column == DESCRIPTION and not self.read_only else ""
            return self._text(row, column, draft, role)
        if role == Qt.ItemDataRole.ForegroundRole:
            if trailing:
                return theme.colour("muted")
            if self.cell_problem(row, column):
                return theme.colour("bad")
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.cell_problem(row, column) or None
        return None

    def _text(self, row: int, column: int, draft: LineDraft, role: int) -> str:
        if column == DESCRIPTION:
            return draft.description
        if column == QUANTITY:
            return draft.quantity
        if column == UNIT_PRICE:
            if role == Qt.ItemDataRole.DisplayRole and not self.cell_problem(row, column):
                return self.formats.number(self._amount(draft.unit_price), max(2, _places(draft.unit_price)))
            return draft.unit_price
        if column == VAT_RATE:
            rate = self.vat_rates.get(draft.vat_rate_key)
            if role == Qt.ItemDataRole.EditRole:
                return draft.vat_rate_key
            return rate.label if rate is not None else draft.vat_rate_key
        if column == ACCOUNT:
            if role == Qt.ItemDataRole.EditRole:
                return draft.account_code
            name = self.account_names.get(draft.account_code)
            return f"{draft.account_code} {name}" if name else draft.account_code
        line = self.line(row)
        if line is None:
            return "—" if not draft.is_blank() else ""
        quantum = Decimal(1).scaleb(-minor_units(self.currency))
        return self.formats.money(line.amounts(quantum, str(self.rounding))[0], self.currency)

    def setData(self, index: Index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or self.read_only:
            return False
        row, column = index.row(), index.column()
        draft = self.drafts[row]
        text = "" if value is None else str(value)
        attribute = {DESCRIPTION: "description", QUANTITY: "quantity", UNIT_PRICE: "unit_price",
                     VAT_RATE: "vat_rate_key", ACCOUNT: "account_code"}.get(column)
        if attribute is None or getattr(draft, attribute) == text:
            return False
        self.drafts[row] = replace(draft, **{attribute: text})
        self.dataChanged.emit(self.index(row, 0), self.index(row, LINE_TOTAL))
        if row == len(self.drafts) - 1 and not self.drafts[row].is_blank():
            # The blank line was typed into: it is a line now, and a new blank one waits below.
            self.beginInsertRows(QModelIndex(), row + 1, row + 1)
            self.drafts.append(self._blank())
            self.endInsertRows()
            self.headerDataChanged.emit(Qt.Orientation.Vertical, row, row)
        self.changedLines.emit()
        return True

    def remove(self, row: int) -> None:
        if self.read_only or not 0 <= row < len(self.drafts) - 1:
            return  # the trailing blank line stays
        self.beginRemoveRows(QModelIndex(), row, row)
        del self.drafts[row]
        self.endRemoveRows()
        self.headerDataChanged.emit(Qt.Orientation.Vertical, 0, len(self.drafts) - 1)
        self.changedLines.emit()

    def insert_blank(self, row: int) -> None:
        if self.read_only:
            return
        row = max(0, min(row, len(self.drafts) - 1))
        self.beginInsertRows(QModelIndex(), row, row)
        self.drafts.insert(row, LineDraft(description="", quantity="1", vat_rate_key=self.default_rate,
                                          account_code=self.default_account))
        self.endInsertRows()
        self.headerDataChanged.emit(Qt.Orientation.Vertical, 0, len(self.drafts) - 1)


def _places(text: str) -> int:
    text = text.strip()
    for mark in (".", ","):
        if mark in text:
            return len(text.rsplit(mark, 1)[1])
    return 0


def _alignment(column: int) -> Qt.AlignmentFlag:
    if column in (QUANTITY, UNIT_PRICE, LINE_TOTAL):
        return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
