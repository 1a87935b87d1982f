"""The status bar: online or not, the last sync, what is still to send (from the outbox), and a running sync's
progress with its Cancel button. Honest first: a change not yet at the service is always counted here."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from ui import theme
from ui.context import CompanyContext, SyncState
from ui.formatting import formats


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


class StatusArea(QWidget):
    showActivity = Signal()  # the user clicked the pending or conflicts count
    cancelSync = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.connection_icon = QLabel()
        self.connection = QLabel()
        self.connection.setObjectName("connection")
        self.last_sync = QLabel()
        self.last_sync.setObjectName("lastSync")
        self.pending = self._link("pending")
        self.failed = self._link("failed")
        self.conflicts = self._link("conflicts")
        self.activity = QLabel()
        self.progress = QProgressBar()
        self.progress.setObjectName("syncProgress")
        self.progress.setFixedWidth(160)
        self.progress.setTextVisible(False)
        self.cancel = theme.button("cancel", "Cancel")
        self.cancel.setObjectName("cancelSync")
        self.cancel.setToolTip("Stop this sync: everything received so far is kept, and nothing you changed is lost")
        self.cancel.clicked.connect(self.cancelSync)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 0, 8, 0)
        layout.setSpacing(6)
        layout.addWidget(self.connection_icon)
        layout.addWidget(self.connection)
        layout.addWidget(self._separator())
        layout.addWidget(self.last_sync)
        layout.addWidget(self._separator())
        layout.addWidget(self.pending)
        layout.addWidget(self.failed)
        layout.addWidget(self.conflicts)
        layout.addStretch(1)
        layout.addWidget(self.activity)
        layout.addWidget(self.progress)
        layout.addWidget(self.cancel)
        self.counts = {"pending": 0, "failed": 0, "conflict": 0}
        self.state = SyncState()
        self.provider_name = ""
        self.connected = False
        self.show_progress(False)

    def _link(self, name: str) -> QToolButton:
        button = QToolButton()
        button.setObjectName(name)
        button.setAutoRaise(True)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setIconSize(QSize(16, 16))
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(self.showActivity)
        return button

    @staticmethod
    def _separator() -> QLabel:
        label = QLabel("·")
        label.setObjectName("muted")
        return label

    def set_context(self, context: CompanyContext) -> None:
        self.provider_name = context.provider_name
        self.connected = context.sync.available
        self.no_sync_reason = getattr(context.sync, "reason", "")
        self.show_state(context.sync.state())

    def show_state(self, state: SyncState) -> None:
        self.state = state
        if not self.connected or state.online is None:
            self.connection_icon.setPixmap(theme.icon("offline", "muted").pixmap(16, 16))
            self.connection.setText("Not connected")
            self.connection.setToolTip(self.no_sync_reason or "This company is not connected to its service.")
        elif state.online:
            self.connection_icon.setPixmap(theme.icon("online", "good").pixmap(16, 16))
            self.connection.setText(f"Online · {self.provider_name}")
            self.connection.setToolTip(f"{self.provider_name} answers: changes are sent as you make them.")
        else:
            self.connection_icon.setPixmap(theme.icon("offline", "warn").pixmap(16, 16))
            self.connection.setText("Offline")
            self.connection.setToolTip(state.message or f"{self.provider_name} cannot be reached. You can go on "
                                       "working: changes are kept here and sent when it answers again.")
        if state.last_sync is not None:
            local = state.last_sync.astimezone()
            when = local.strftime("%H:%M") if local.date() == dt.date.today() else formats().date(local.date())
            self.last_sync.setText(f"Last sync {when}")
        else:
            self.last_sync.setText("Not synced yet" if self.connected else "Working from this computer's copy")
        self.show_progress(state.running, state.activity, state.done, state.total)
        self._show_counts()

    def show_counts(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self._show_counts()

    def _show_counts(self) -> None:
        pending, failed, conflicts = (self.counts.get(k, 0) for k in ("pending", "failed", "conflict"))
        if pending:
            self.pending.setText(_plural(pending, "change waiting", "changes waiting"))
            self.pending.setIcon(theme.icon("pending", "pending"))
            self.pending.setToolTip(f"Saved on this computer and not yet at {self.provider_name or 'the service'}. "
                                    "Click to see them.")
        else:
            self.pending.setText("All changes sent" if self.connected else "No changes waiting")
            self.pending.setIcon(theme.icon("approve", "good" if self.connected else "muted"))
            self.pending.setToolTip("")
        # "All sent" beside a refusal or a conflict would read as if all were well.
        self.pending.setVisible(bool(pending) or not (failed or conflicts))
        self.failed.setVisible(bool(failed))
        self.failed.setText(_plural(failed, "refused", "refused"))
        self.failed.setIcon(theme.icon("failed", "bad"))
        self.failed.setToolTip("The service refused these changes; they are kept. Click to see why.")
        self.conflicts.setVisible(bool(conflicts))
        self.conflicts.setText(_plural(conflicts, "conflict", "conflicts"))
        self.conflicts.setIcon(theme.icon("conflict", "warn"))
        self.conflicts.setToolTip("Changed here and at the service: click to choose which to keep.")

    def show_progress(self, running: bool, activity: str = "", done: int = 0, total: int | None = None) -> None:
        for widget in (self.activity, self.progress, self.cancel):
            widget.setVisible(running)
        if not running:
            return
        self.activity.setText(activity or "Syncing…")
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        else:
            self.progress.setRange(0, 0)  # busy: the service did not say how many

    def theme_changed(self) -> None:
        self.show_state(self.state)
