"""The demo's start-up panel: what the demo starts on this computer before the main window opens (the
provider sandboxes, their addresses and demo companies) and the connections it signs in to through the
real sign-in code. It stays on screen only if no company could be opened, saying why.

It belongs to the entry point, not to ui/: nothing else may import it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QColor, QFont
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QMainWindow,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.cli.sandboxes import DISPLAY_NAMES

TITLE = "Ledgerdesk (demo)"
RUNNING_COLOUR = QColor("#1b7f3b")
INTRO = (
    "The demo runs a sandbox for each bookkeeping service on this computer: an emulator that answers like "
    "the real one, with its own demo companies. Ledgerdesk signs in to each as you would, then opens its "
    "window. Nothing here reaches the internet or touches your real data."
)


class DemoWindow(QMainWindow):
    closed = Signal()

    def __init__(self, home: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.resize(860, 540)
        self._items: dict[str, QTreeWidgetItem] = {}

        heading = QLabel("Ledgerdesk demo")
        font = QFont(heading.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        heading.setFont(font)

        intro = QLabel(INTRO)
        intro.setWordWrap(True)

        self.table = QTreeWidget()
        self.table.setColumnCount(3)
        self.table.setHeaderLabels(["Service and companies", "Address", "Status"])
        self.table.setRootIsDecorated(True)
        self.table.setUniformRowHeights(True)
        self.table.setAlternatingRowColors(True)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # read-only: no focus frame on the first row
        self.table.setStyleSheet("QTreeView::item { padding: 1px 14px 1px 0; }")
        header = self.table.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)

        self.connections = QTreeWidget()
        self.connections.setColumnCount(2)
        self.connections.setHeaderLabels(["Signed in: connections and their companies", "Status"])
        self.connections.setUniformRowHeights(True)
        self.connections.setAlternatingRowColors(True)
        self.connections.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.connections.setStyleSheet("QTreeView::item { padding: 1px 14px 1px 0; }")
        self.connections.header().setStretchLastSection(False)
        self.connections.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.connections.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.vault_label = QLabel("Signing in once the sandboxes run ...")
        self.vault_label.setWordWrap(True)

        hint = QLabel(
            f"Demo files: {home}<br>"
            "Run one sandbox with faults from a terminal: "
            "<code>ledgerdesk sandbox --provider clearbooks --latency 300 --error-rate 0.1</code>"
        )
        hint.setWordWrap(True)
        hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hint.setStyleSheet("color: palette(placeholder-text);")

        layout = QVBoxLayout()
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(12)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addWidget(self.table, stretch=1)
        layout.addWidget(self.connections, stretch=1)
        layout.addWidget(self.vault_label)
        layout.addWidget(hint)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        # A label rather than showMessage(): a temporary message ignores margins and would not line
        # up with the content above.
        self.status_label = QLabel("Starting the sandboxes ...")
        self.status_label.setContentsMargins(18, 0, 0, 2)
        self.statusBar().addWidget(self.status_label, 1)

    def _row(self, provider: str) -> QTreeWidgetItem:
        item = self._items.get(provider)
        if item is None:
            item = QTreeWidgetItem([DISPLAY_NAMES.get(provider, provider), "", ""])
            font = QFont(item.font(0))
            font.setBold(True)
            item.setFont(0, font)
            self.table.addTopLevelItem(item)
            self._items[provider] = item
        return item

    def _status(self, item: QTreeWidgetItem, text: str, colour: QColor | None = None) -> None:
        item.setText(2, text)
        item.setForeground(2, colour if colour is not None else self.palette().placeholderText().color())

    def show_starting(self, provider: str) -> None:
        self._status(self._row(provider), "starting ...")

    def show_running(self, provider: str, url: str, companies: list[dict[str, str]]) -> None:
        item = self._row(provider)
        item.setText(1, url)
        self._status(item, "running", RUNNING_COLOUR)
        item.takeChildren()
        for company in companies:
            child = QTreeWidgetItem([company["name"], f"id {company['id']}", ""])
            child.setForeground(1, self.palette().placeholderText())
            item.addChild(child)
        item.setExpanded(True)

    def show_unavailable(self, provider: str, reason: str) -> None:
        item = self._row(provider)
        self._status(item, "not available yet")
        item.setToolTip(2, reason)
        item.setText(1, "")

    def show_ready(self, running: int) -> None:
        total = len(self._items)
        if running == total:
            self.status_label.setText(f"{running} sandboxes running on 127.0.0.1")
        else:
            self.status_label.setText(f"{running} of {total} sandboxes running on 127.0.0.1 "
                                      '(hover over "not available yet" to see why)')

    def show_signed_in(self, connection: str, companies: list[str]) -> None:
        item = QTreeWidgetItem([connection, "signed in"])
        font = QFont(item.font(0))
        font.setBold(True)
        item.setFont(0, font)
        item.setForeground(1, RUNNING_COLOUR)
        for company in companies:
            item.addChild(QTreeWidgetItem([company, ""]))
        self.connections.addTopLevelItem(item)
        item.setExpanded(True)

    def show_sign_in_failed(self, service: str, reason: str) -> None:
        item = QTreeWidgetItem([service, "sign-in failed"])
        item.setToolTip(1, reason)
        item.setForeground(1, self.palette().placeholderText().color())
        self.connections.addTopLevelItem(item)

    def show_vault(self, connections: int, companies: int, where: str) -> None:
        self.vault_label.setText(f"{connections} connections with {companies} companies, signed in through "
                                 f"Ledgerdesk's sign-in code. Their credentials are kept {where}.")

    def show_no_companies(self) -> None:
        self.status_label.setText("No company could be opened: no sign-in succeeded (hover over each to see why)")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed.emit()
        super().closeEvent(event)
