"""Sync activity: every change still on its way to the service (waiting, refused with the service's own words,
or in conflict), oldest first, with retry, discard, and a side-by-side choice for a conflict."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.record import field_title
from app.store.outbox import OutboxEntry
from app.store.tables import BY_ENTITY
from ui import dialogs, operations, theme
from ui.context import CompanyContext
from ui.tasks import Tasks
from ui.views.customers import view_heading

_COLUMNS = ("", "Change", "Record", "State", "Tries", "What the service said")
_STATE_TEXT = {"pending": "Waiting to be sent", "in_flight": "Being sent", "failed": "Refused",
               "conflict": "Conflict"}
_STATE_ICON = {"pending": ("pending", "pending"), "in_flight": ("sync", "accent"), "failed": ("failed", "bad"),
               "conflict": ("conflict", "warn")}
_OP_TEXT = {"create": "New", "update": "Changed", "delete": "Deleted"}
_ENTITY_TEXT = {"customer": "customer", "invoice": "invoice", "bank_account": "bank account",
                "bank_transaction": "bank transaction", "payment": "payment"}
# Fields a person never edits: left out of the side-by-side comparison.
_HIDDEN = {"local_id", "remote_id", "payload_hash", "remote_version", "customer_remote_id", "customer_local_id",
           "rounding", "exchange_rate"}


def describe(entry: OutboxEntry) -> str:
    record = entry.edit if entry.op != "delete" else (entry.base or {})
    for key in ("name", "number", "description"):
        if record.get(key):
            return str(record[key])
    if entry.entity == "invoice":
        return f"Draft for {record.get('customer_name') or 'a customer'}"
    return f"#{entry.record_id}"


class ConflictDialog(QDialog):
    """Mine, theirs and the version both started from, field by field; the user picks per field."""

    resolved = Signal(object, dict)  # the entry, and the record as the user wants it

    def __init__(self, entry: OutboxEntry, parent: QWidget | None = None, provider_name: str = "the service",
                 mine: dict[str, Any] | None = None):
        """``mine``: the record as it is here now, later edits included (the entry's own edit if not given)."""
        super().__init__(parent)
        self.setObjectName("conflictDialog")
        self.setWindowTitle(f"Resolve a conflict: {describe(entry)}")
        self.entry = entry
        self.mine = dict(mine) if mine is not None else dict(entry.edit)
        mine, theirs, base = self.mine, entry.theirs or {}, entry.base or {}
        spec = BY_ENTITY.get(entry.entity)
        model = spec.model if spec is not None else None
        self.choices: dict[str, QButtonGroup] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        for column, title in enumerate(("Field", "Yours", f"At {provider_name}", "Before either change")):
            label = QLabel(f"<b>{title}</b>")
            grid.addWidget(label, 0, column)
        row = 1
        for name in sorted(set(mine) | set(theirs)):
            if name in _HIDDEN or mine.get(name) == theirs.get(name):
                continue
            label = field_title(model, name) if model is not None else name
            group = QButtonGroup(self)
            yours = QRadioButton(_short(mine.get(name)))
            at_service = QRadioButton(_short(theirs.get(name)))
            group.addButton(yours, 0)
            group.addButton(at_service, 1)
            yours.setChecked(True)
            grid.addWidget(QLabel(label), row, 0)
            grid.addWidget(yours, row, 1)
            grid.addWidget(at_service, row, 2)
            before = QLabel(_short(base.get(name)))
            before.setObjectName("muted")
            grid.addWidget(before, row, 3)
            self.choices[name] = group
            row += 1
        if row == 1:
            grid.addWidget(QLabel("The two versions differ only in fields kept by the service."), 1, 0, 1, 4)
            row += 1
        grid.setRowStretch(row, 1)  # rows stay together at the top however tall the dialog is
        grid.setColumnStretch(3, 1)
        inner = QWidget()
        inner.setLayout(grid)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        heading = QLabel(describe(entry))
        heading.setObjectName("viewTitle")
        intro = QLabel(f"This record was changed here and at {provider_name} since it was last in step. "
                       "For each field, choose the version to keep.")
        intro.setWordWrap(True)
        keep_mine = QPushButton("Keep all of mine")
        take_theirs = QPushButton("Take all of theirs")
        keep_mine.clicked.connect(lambda: self._all(0))
        take_theirs.clicked.connect(lambda: self._all(1))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        apply_button = buttons.addButton("Use these choices", QDialogButtonBox.ButtonRole.AcceptRole)
        apply_button.setObjectName("applyChoices")
        buttons.accepted.connect(self._apply)
        buttons.rejected.connect(self.reject)
        quick = QHBoxLayout()
        quick.addWidget(keep_mine)
        quick.addWidget(take_theirs)
        quick.addStretch(1)
        quick.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(10)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addWidget(scroll, 1)
        layout.addLayout(quick)
        self.resize(860, 420)

    def _all(self, which: int) -> None:
        for group in self.choices.values():
            group.button(which).setChecked(True)

    def merged(self) -> dict[str, Any]:
        theirs = self.entry.theirs or {}
        result = dict(self.mine)
        for name, group in self.choices.items():
            if group.checkedId() == 1:
                result[name] = theirs.get(name)
        return result

    def _apply(self) -> None:
        self.resolved.emit(self.entry, self.merged())
        self.accept()


def _short(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, list):
        return f"{len(value)} line{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values() if v) or "(empty)"
    text = str(value)
    return text if len(text) <= 48 else text[:47] + "…"


class SyncActivityView(QWidget):
    changed = Signal()
    problem = Signal(str)

    title = "Sync activity"

    def __init__(self, context: CompanyContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.tasks = Tasks(on_error=lambda error: self.problem.emit(dialogs.explain(error)))
        self.entries: list[OutboxEntry] = []
        heading, self.count_label = view_heading("Sync activity")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.retry_button = theme.button("retry", "Retry")
        self.discard_button = theme.button("delete", "Discard change")
        self.resolve_button = theme.button("conflict", "Resolve…")
        self.retry_button.clicked.connect(self.retry_current)
        self.discard_button.clicked.connect(self.discard_current)
        self.resolve_button.clicked.connect(self.resolve_current)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addWidget(self.count_label, 0, Qt.AlignmentFlag.AlignBottom)
        top.addStretch(1)
        for button in (self.resolve_button, self.retry_button, self.discard_button):
            top.addWidget(button)

        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setObjectName("outboxTable")
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setStyleSheet("QTableWidget::item { padding: 0 8px; }")
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, 30)
        for column in (1, 2, 3, 4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_actions)
        self.table.itemDoubleClicked.connect(lambda _item: self.resolve_current())
        self.empty = QLabel("Everything is in step: no change is waiting to be sent.")
        self.empty.setObjectName("muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty, 1)
        self._update_actions()

    def start(self) -> None:
        self.tasks.start(operations.outbox_entries(self.context.store), done=self._show, name="outbox")

    refresh = start

    def set_context(self, context: CompanyContext) -> None:
        self.context = context  # read on the next start()

    def focus_search(self) -> None:
        self.table.setFocus()

    def open_editors(self) -> list:
        return []

    def _show(self, entries: list[OutboxEntry]) -> None:
        self.entries = entries
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            icon_name, role = _STATE_ICON.get(entry.state, ("pending", "muted"))
            marker = QTableWidgetItem(theme.icon(icon_name, role), "")
            marker.setToolTip(_STATE_TEXT.get(entry.state, entry.state))
            self.table.setItem(row, 0, marker)
            change = f"{_OP_TEXT.get(entry.op, entry.op)} {_ENTITY_TEXT.get(entry.entity, entry.entity)}"
            for column, text in ((1, change), (2, describe(entry)), (3, _STATE_TEXT.get(entry.state, entry.state)),
                                 (4, str(entry.attempts)), (5, entry.message or "")):
                item = QTableWidgetItem(text)
                if column == 5 and text:
                    item.setToolTip(text)
                if column == 3 and entry.state in ("failed", "conflict"):
                    item.setForeground(theme.colour("bad" if entry.state == "failed" else "warn"))
                self.table.setItem(row, column, item)
        counts = {state: sum(1 for e in entries if e.state == state) for state in _STATE_TEXT}
        waiting = counts["pending"] + counts["in_flight"]
        parts = [f"{waiting} waiting to be sent"] if waiting or not entries else []
        if counts["failed"]:
            parts.append(f"{counts['failed']} refused by {self.context.provider_name}")
        if counts["conflict"]:
            parts.append(f"{counts['conflict']} in conflict")
        self.count_label.setText(f"{len(entries)} change{'s' if len(entries) != 1 else ''}")
        note = "" if self.context.sync.available else f" {self.context.sync.reason}"
        self.summary.setText(" · ".join(parts) + "." + note)
        self.table.setVisible(bool(entries))
        self.empty.setVisible(not entries)
        self._update_actions()

    def _current(self) -> OutboxEntry | None:
        row = self.table.currentRow()
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def _update_actions(self) -> None:
        entry = self._current()
        sync = self.context.sync
        reason = sync.reason
        for button, wanted, tip in (
            (self.retry_button, ("failed",), "Send the selected change again"),
            (self.discard_button, ("pending", "failed", "conflict"),
             "Drop the selected change: the record goes back to the service's version at the next sync"),
            (self.resolve_button, ("conflict",), "Compare your version with the service's and choose"),
        ):
            fits = entry is not None and entry.state in wanted
            button.setEnabled(fits and sync.available)
            if not sync.available:
                button.setToolTip(reason)
            elif entry is None:
                button.setToolTip("Select a change first")
            elif not fits:
                button.setToolTip(f"Not for a change that is {_STATE_TEXT.get(entry.state, entry.state).lower()}")
            else:
                button.setToolTip(tip)

    def retry_current(self) -> None:
        entry = self._current()
        if entry is not None:
            self.tasks.start(self.context.sync.retry(entry.id), done=lambda _r: self._after(), name="retry")

    def discard_current(self) -> None:
        entry = self._current()
        if entry is None:
            return
        dialogs.confirm(self, "Discard this change?", f"Discard the change to {describe(entry)}?", "Discard change",
                        lambda: self.tasks.start(self.context.sync.discard(entry.id), done=lambda _r: self._after(),
                                                 name="discard"),
                        detail="What you changed is dropped; the record takes the service's version at the next "
                               "sync. This cannot be undone.")

    def resolve_current(self) -> None:
        entry = self._current()
        if entry is None or entry.state != "conflict":
            return
        self.tasks.start(operations.record_now(self.context.store, entry), name="read the conflicting record",
                         done=lambda mine: self._open_conflict(entry, mine))

    def _open_conflict(self, entry: OutboxEntry, mine: dict | None) -> None:
        # mine is None when the record was deleted here: the entry's own edit (the deletion) stands for it.
        dialog = ConflictDialog(entry, self.window(), self.context.provider_name, mine=mine)
        dialog.resolved.connect(self._resolved)
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        dialog.open()

    def _resolved(self, entry: OutboxEntry, merged: dict) -> None:
        self.tasks.start(self.context.sync.resolve(entry.id, merged), done=lambda _r: self._after(), name="resolve")

    def _after(self) -> None:
        self.start()
        self.changed.emit()
