"""The first step of Connect: the four services, each with a line on what signing in needs.

A list (arrows to move, Enter to choose) drawn by a delegate: a badge with the service's initials, its
name, and the line in the muted colour (in the warning colour when this build cannot connect to it).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from ui import theme
from ui.connect.services import Service, ServiceDirectory

PROVIDER_ROLE = Qt.ItemDataRole.UserRole
LINE_ROLE = Qt.ItemDataRole.UserRole + 1
AVAILABLE_ROLE = Qt.ItemDataRole.UserRole + 2
_INITIALS = {"accbooks": "AB", "accountingsuite": "AS", "accountsiq": "AQ", "clearbooks": "CB"}
_BADGE = 34
_PAD = 12


class ServiceList(QListWidget):
    def __init__(self, directory: ServiceDirectory, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("connectServices")
        self.setItemDelegate(_ServiceDelegate(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        # As tall as its four rows: no empty box under them.
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        for service in directory:
            self.addItem(self._item(service, directory.demo))
        self.setCurrentRow(0)

    @staticmethod
    def _item(service: Service, demo: bool) -> QListWidgetItem:
        # The whole reason is on the sign-in page and in the tooltip; the row has room for one line.
        line = service.needs if service.available else (
            "Its sandbox is not running in this demo." if demo else
            "This build of Ledgerdesk cannot connect to it yet: open it to see why.")
        item = QListWidgetItem(service.name)
        item.setData(PROVIDER_ROLE, service.provider)
        item.setData(LINE_ROLE, line)
        item.setData(AVAILABLE_ROLE, service.available)
        item.setToolTip(service.needs if service.available else service.why_unavailable)
        # The name and the line, for screen readers (the delegate draws them apart).
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{service.name}. {line}")
        return item

    def sizeHint(self) -> QSize:
        rows = sum(self.sizeHintForRow(row) for row in range(self.count()))
        return QSize(super().sizeHint().width(), rows + 2 * self.frameWidth())

    def provider(self) -> str | None:
        item = self.currentItem()
        return None if item is None else item.data(PROVIDER_ROLE)

    def select(self, provider: str) -> None:
        for row in range(self.count()):
            if self.item(row).data(PROVIDER_ROLE) == provider:
                self.setCurrentRow(row)
                return
        raise KeyError(provider)


class _ServiceDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        metrics = QFontMetrics(option.font)
        return QSize(320, max(_BADGE, 2 * metrics.height() + 4) + 2 * _PAD - 4)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        self.initStyleOption(option, index)
        widget = option.widget
        style = widget.style() if widget is not None else None
        painter.save()
        if style is not None:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        available = bool(index.data(AVAILABLE_ROLE))
        rect = option.rect
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)

        badge = QRect(rect.left() + _PAD, rect.center().y() - _BADGE // 2 + 1, _BADGE, _BADGE)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.colour("accent") if available else theme.colour("muted"))
        painter.drawRoundedRect(badge, 7, 7)
        initials = QFont(option.font)
        initials.setBold(True)
        painter.setFont(initials)
        painter.setPen(option.palette.color(QPalette.ColorRole.Base))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, _INITIALS.get(index.data(PROVIDER_ROLE), "?"))

        text_left = badge.right() + _PAD
        text = QRect(text_left, rect.top() + _PAD - 2, rect.right() - text_left - _PAD, rect.height() - 2 * _PAD + 4)
        name_font = QFont(option.font)
        name_font.setBold(True)
        metrics = QFontMetrics(name_font)
        group = QPalette.ColorGroup.Normal if available else QPalette.ColorGroup.Disabled
        painter.setFont(name_font)
        painter.setPen(option.palette.color(group, QPalette.ColorRole.HighlightedText if selected
                                            else QPalette.ColorRole.Text))
        name_rect = QRect(text.left(), text.top(), text.width(), metrics.height())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         str(index.data(Qt.ItemDataRole.DisplayRole)))

        painter.setFont(option.font)
        line_colour = theme.colour("muted") if available else theme.colour("warn")
        if selected:
            line_colour = option.palette.color(QPalette.ColorRole.HighlightedText)
            line_colour.setAlphaF(0.8)
        painter.setPen(line_colour)
        line_rect = QRect(text.left(), name_rect.bottom() + 3, text.width(), QFontMetrics(option.font).height())
        line = QFontMetrics(option.font).elidedText(str(index.data(LINE_ROLE)), Qt.TextElideMode.ElideRight,
                                                    line_rect.width())
        painter.drawText(line_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, line)
        painter.restore()
