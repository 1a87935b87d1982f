"""The main window: navigation, the company's name and service in the title and toolbar, the views, the status
bar, shortcuts, and the guards (unsaved editors on close, on switching company).

Everything the window knows about the company comes from the ``CompanyContext`` it is handed; switching asks
the ``Session`` for another. Views read from the store through their models off the UI thread, so the window
paints before any data has arrived and never waits on the disk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from importlib import metadata

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QWidget,
)

from ui import dialogs, operations, theme
from ui.context import CompanyContext, Session, SyncState
from ui.settings import window_settings
from ui.status import StatusArea
from ui.switcher import CompanySwitcher
from ui.tasks import Tasks, reads_done
from ui.views.bank_accounts import BankAccountsView
from ui.views.customers import CustomersView
from ui.views.invoices import InvoicesView
from ui.views.reports import ReportsView
from ui.views.sync_activity import SyncActivityView

log = logging.getLogger(__name__)

# (key, title, icon): the navigation, in order; Ctrl+1..5 go to them.
NAVIGATION = (("customers", "Customers", "customers"), ("invoices", "Invoices", "invoices"),
              ("bank_accounts", "Bank accounts", "bank"), ("reports", "Reports", "reports"),
              ("sync_activity", "Sync activity", "sync"))
DEFAULT_VIEW = "invoices"
LIVE_REFRESH_S = 2.0  # while a sync runs, the lists re-read what it brought at most this often
COUNTS_EVERY_MS = 10_000  # the outbox counts are also refreshed after every edit and sync


def _version() -> str:
    try:
        return metadata.version("ledgerdesk")
    except metadata.PackageNotFoundError:
        return "development"


class MainWindow(QMainWindow):
    companySwitched = Signal(object)  # the new CompanyContext, once its views are bound to it
    closed = Signal()  # the window has closed (the app's entry point ends the run)

    def __init__(self, session: Session, context: CompanyContext, *, theme_: theme.Theme | None = None,
                 settings: QSettings | None = None, connect_service: Callable[[QWidget], None] | None = None):
        super().__init__()
        self._connect_service = connect_service
        self.setObjectName("mainWindow")
        self.session = session
        self.context = context
        self.theme = theme_
        self.settings = settings if settings is not None else window_settings()
        self.tasks = Tasks(on_error=lambda error: dialogs.tell(self, "That did not work", dialogs.explain(error)))
        self._unsubscribe = lambda: None
        self._closing_confirmed = False
        self._live_refresh = 0.0
        self.setWindowIcon(theme.app_icon())
        self.setMinimumSize(QSize(760, 520))

        self.views: dict[str, QWidget] = {
            "customers": CustomersView(context),
            "invoices": InvoicesView(context),
            "bank_accounts": BankAccountsView(context),
            "reports": ReportsView(context),
            "sync_activity": SyncActivityView(context),
        }
        self.customers: CustomersView = self.views["customers"]  # type: ignore[assignment]
        self.invoices: InvoicesView = self.views["invoices"]  # type: ignore[assignment]
        self._started: set[str] = set()

        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.setIconSize(QSize(20, 20))
        self.navigation.setFixedWidth(196)
        self.navigation.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.stack = QStackedWidget()
        for number, (key, title, icon) in enumerate(NAVIGATION):
            item = QListWidgetItem(theme.icon(icon), title)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setToolTip(f"{title} (Ctrl+{number + 1})")
            # Room to click: style-sheet padding does not reach an item's size hint.
            item.setSizeHint(QSize(0, self.fontMetrics().height() + 18))
            self.navigation.addItem(item)
            self.stack.addWidget(self.views[key])
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.navigation)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.status = StatusArea()
        self.statusBar().addWidget(self.status, 1)
        self.statusBar().setSizeGripEnabled(True)
        self.status.showActivity.connect(lambda: self.show_view("sync_activity"))
        self.status.cancelSync.connect(lambda: self.context.sync.cancel())

        self._build_actions()
        self._build_toolbar()
        self._build_menus()

        for key, view in self.views.items():
            view.changed.connect(lambda key=key: self._changed(key))
            view.problem.connect(lambda text: dialogs.tell(self, "Ledgerdesk", text, error=False))
        self.views["reports"].showInvoices.connect(self._show_invoices)
        self.navigation.currentRowChanged.connect(self._navigate)

        self._counts_timer = QTimer(self, interval=COUNTS_EVERY_MS)
        self._counts_timer.timeout.connect(self.refresh_counts)
        self._bind(context)
        self._restore()

    # --- building ------------------------------------------------------------------------------

    def _action(self, text: str, icon: str | None, shortcut, slot, tip: str = "") -> QAction:
        action = QAction(text, self)
        if icon:
            theme.themed(action, icon)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.new_action = self._action("New", "new", QKeySequence.StandardKey.New, self.new_record,
                                       "A new customer, invoice or account, in the view you are in (Ctrl+N)")
        self.search_action = self._action("Search", "search", QKeySequence.StandardKey.Find, self.focus_search,
                                          "Search this list (Ctrl+F)")
        self.switch_action = self._action("Switch company…", "switch", "Ctrl+K", self.open_switcher,
                                          "Switch to another company (Ctrl+K)")
        self.sync_action = self._action("Sync now", "sync", "F5", self.sync_now,
                                        "Send what is waiting and fetch what changed (F5)")
        self.save_action = self._action("Save", "save", QKeySequence.StandardKey.Save, self.save_editor,
                                        "Save the open editor (Ctrl+S)")
        self.connect_action = self._action("Connect to a service…", "company", "Ctrl+Shift+K", self.connect_service,
                                           "Sign in to Clear Books, AccountingSuite, AccBooks or AccountsIQ and "
                                           "add its companies")
        self.connect_action.setVisible(self._connect_service is not None)
        self.about_action = self._action("About Ledgerdesk", "about", None, self.show_about)
        self.quit_action = self._action("Quit", None, QKeySequence.StandardKey.Quit, self.close)
        self.refresh_action = self._action("Reload from this computer", None, "Ctrl+R", self.refresh_views,
                                           "Read the lists again from the company file")
        self.view_actions = []
        for number, (key, title, icon) in enumerate(NAVIGATION):
            action = self._action(title, icon, f"Ctrl+{number + 1}", lambda _c=False, key=key: self.show_view(key))
            self.view_actions.append(action)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WindowShortcut)
        escape.activated.connect(self.escape)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setIconSize(QSize(20, 20))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.company_button = QToolButton()
        self.company_button.setObjectName("companyButton")
        self.company_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        theme.themed(self.company_button, "company")
        self.company_button.setIconSize(QSize(20, 20))
        self.company_button.setToolTip("Switch company (Ctrl+K)")
        font = self.company_button.font()
        font.setBold(True)
        self.company_button.setFont(font)
        self.company_button.clicked.connect(self.open_switcher)
        bar.addWidget(self.company_button)
        bar.addSeparator()
        bar.addAction(self.new_action)
        bar.addAction(self.search_action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        bar.addAction(self.sync_action)
        self.addToolBar(bar)
        self.toolbar = bar

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.new_action)
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.switch_action)
        file_menu.addAction(self.connect_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        view_menu = menu.addMenu("&View")
        for action in self.view_actions:
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.search_action)
        view_menu.addAction(self.refresh_action)
        theme_menu = view_menu.addMenu("Theme")
        self.theme_actions = QActionGroup(self)
        current = self.theme.preference if self.theme is not None else theme.Scheme.SYSTEM
        for scheme, title in ((theme.Scheme.SYSTEM, "Follow the system"), (theme.Scheme.LIGHT, "Light"),
                              (theme.Scheme.DARK, "Dark")):
            action = QAction(title, self, checkable=True)
            action.setChecked(scheme == current)
            action.triggered.connect(lambda _c=False, scheme=scheme: self.set_scheme(scheme))
            self.theme_actions.addAction(action)
            theme_menu.addAction(action)
        sync_menu = menu.addMenu("&Sync")
        sync_menu.addAction(self.sync_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.about_action)

    # --- the company ---------------------------------------------------------------------------

    def _bind(self, context: CompanyContext) -> None:
        self.context = context
        self.setWindowTitle(f"{context.name} · {context.provider_name} · Ledgerdesk")
        # "&&": a button reads a lone "&" as its shortcut marker ("Cedar & Pine" would show as "Cedar _Pine").
        self.company_button.setText(f"{context.name}  ·  {context.provider_name}".replace("&", "&&"))
        self._unsubscribe()
        self._unsubscribe = context.sync.subscribe(self._sync_state)
        self.status.set_context(context)
        available = context.sync.available
        self.sync_action.setEnabled(True)  # F5 without sync still reloads the lists
        self.sync_action.setToolTip("Send what is waiting and fetch what changed (F5)" if available else
                                    f"{context.sync.reason} F5 reloads the lists from this computer.")
        self.settings.setValue("company", context.key)
        self.refresh_counts()
        self._counts_timer.start()

    def switch_to(self, key: str) -> None:
        if key == self.context.key:
            return
        dirty = self._dirty_editors()
        if dirty:
            dialogs.confirm(self, "Switch company?", f"{len(dirty)} open editor{'s have' if len(dirty) > 1 else ' has'} "
                            "changes that are not saved.", "Discard and switch",
                            lambda: (self._discard(dirty), self._switch(key)),
                            detail="Save them first to keep them (Ctrl+S in each editor).")
            return
        self._switch(key)

    def _switch(self, key: str) -> None:
        for editor in self._open_editors():
            editor.close()

        def opened(context: CompanyContext) -> None:
            previous = self.context
            for view in self.views.values():
                view.set_context(context)  # rebinds only: nothing is read yet
            # The view on screen reads at once; the others when they are next shown.
            self._started = {self.current_key()}
            self.current_view().start()
            self._bind(context)
            self.companySwitched.emit(context)
            self.tasks.start(self._close_company(previous), name="close company")

        self.tasks.start(self.session.open(key), done=opened, name="open company")

    async def _close_company(self, context: CompanyContext) -> None:
        # Reads of the old company may still be running (a cancelled read finishes its SQL step): closing its
        # store under them would crash, so the session closes it only once they are done.
        await reads_done()
        await self.session.close(context)

    def open_switcher(self) -> None:
        switcher = CompanySwitcher(self.session.companies(), self.context.key, self)
        switcher.chosen.connect(self.switch_to)
        switcher.finished.connect(lambda _r: switcher.deleteLater())
        switcher.open()
        self.switcher = switcher

    def connect_service(self) -> None:
        if self._connect_service is not None:
            self._connect_service(self)

    # --- views ---------------------------------------------------------------------------------

    def current_key(self) -> str:
        item = self.navigation.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else DEFAULT_VIEW

    def current_view(self) -> QWidget:
        return self.views[self.current_key()]

    def show_view(self, key: str) -> None:
        for row, (name, _title, _icon) in enumerate(NAVIGATION):
            if name == key:
                self.navigation.setCurrentRow(row)
                return

    def _navigate(self, row: int) -> None:
        key = NAVIGATION[row][0]
        view = self.views[key]
        self.stack.setCurrentWidget(view)
        if key not in self._started:
            self._started.add(key)
            view.start()
        elif key in ("sync_activity", "reports"):
            view.refresh()  # cheap, and what they show changes with every edit
        self.settings.setValue("view", key)
        allowed = hasattr(view, "new")
        self.new_action.setEnabled(allowed)

    def _show_invoices(self, status: str | None, overdue: bool) -> None:
        self.show_view("invoices")
        self.invoices.show_filtered(status=status, overdue=overdue)

    def new_record(self) -> None:
        view = self.current_view()
        if hasattr(view, "new"):
            view.new()

    def focus_search(self) -> None:
        self.current_view().focus_search()

    def escape(self) -> None:
        view = self.current_view()
        search = getattr(view, "search", None)
        if search is not None and search.hasFocus() and search.text():
            search.clear()
        elif search is not None and search.hasFocus():
            view.table.setFocus()

    def refresh_views(self) -> None:
        for key in self._started:
            self.views[key].refresh()
        self.refresh_counts()

    def sync_now(self) -> None:
        if self.context.sync.available:
            self.context.sync.sync_now()
        else:
            self.refresh_views()

    def save_editor(self) -> None:
        editors = self._dirty_editors() or self._open_editors()
        if editors:
            editors[0].raise_()
            editors[0].activateWindow()
            editors[0].save()

    def _changed(self, key: str) -> None:
        """An edit was committed in view ``key``: recount the outbox; views that show its effect re-read."""
        self.refresh_counts()
        if key == "invoices" and "customers" in self._started:
            self.customers.refresh()  # balances owed follow invoices
        for other in ("sync_activity", "reports"):
            if other in self._started and other != key:
                self.views[other].refresh()

    def refresh_counts(self) -> None:
        self.tasks.start(operations.outbox_counts(self.context.store), done=self.status.show_counts,
                         name="outbox counts")

    def _sync_state(self, state: SyncState) -> None:
        was_running = self.status.state.running
        self.status.show_state(state)
        now = time.monotonic()
        if was_running and not state.running:
            self.refresh_views()  # what the sync brought in
        elif state.running and state.done and now - self._live_refresh > LIVE_REFRESH_S:
            # A first pull can take minutes (AccBooks allows a request a second): the lists fill as it goes.
            self._live_refresh = now
            self.refresh_views()

    def set_scheme(self, scheme: theme.Scheme) -> None:
        if self.theme is not None:
            self.theme.set_preference(scheme)
        self.settings.setValue("theme", str(scheme))

    def theme_changed(self) -> None:
        """What Theme.apply cannot reach by itself: the navigation's items and the status bar's pictures."""
        for row, (_key, _title, icon) in enumerate(NAVIGATION):
            self.navigation.item(row).setIcon(theme.icon(icon))
        self.status.theme_changed()

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setObjectName("about")
        box.setWindowTitle("About Ledgerdesk")
        box.setIconPixmap(theme.app_icon().pixmap(64, 64))
        box.setText(f"<b>Ledgerdesk</b> {_version()}")
        box.setInformativeText(
            "A fast desktop client for cloud bookkeeping: Clear Books, AccountingSuite, AccBooks and AccountsIQ, "
            "online or offline. Edits are kept on this computer until the service has them.<br><br>"
            f"Company file: {self.context.store.path}")
        box.finished.connect(lambda _r: box.deleteLater())
        box.open()

    # --- geometry, last view, closing ----------------------------------------------------------

    def _restore(self) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray | bytes) and geometry:
            self.restoreGeometry(QByteArray(geometry))
        else:
            self.resize(1280, 800)
        last = self.settings.value("view", DEFAULT_VIEW)
        keys = [key for key, _t, _i in NAVIGATION]
        self.show_view(last if last in keys else DEFAULT_VIEW)

    def _open_editors(self) -> list:
        editors = []
        for view in self.views.values():
            editors.extend(view.open_editors())
        return editors

    def _dirty_editors(self) -> list:
        return [editor for editor in self._open_editors() if getattr(editor, "dirty", False)]

    @staticmethod
    def _discard(editors: list) -> None:
        for editor in editors:
            editor._dirty = False

    def closeEvent(self, event: QCloseEvent) -> None:
        dirty = self._dirty_editors()
        if dirty and not self._closing_confirmed:
            event.ignore()
            names = ", ".join(editor.windowTitle() for editor in dirty[:3])

            def discard_and_close() -> None:
                self._discard(dirty)
                self._closing_confirmed = True
                self.close()

            dialogs.confirm(self, "Quit without saving?",
                            f"{len(dirty)} editor{'s have' if len(dirty) > 1 else ' has'} changes that are not saved: "
                            f"{names}.", "Discard changes and quit", discard_and_close,
                            detail="Cancel, then press Ctrl+S in each editor to keep them. Saved changes are never "
                                   "lost, online or offline.")
            return
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("view", self.current_key())
        self.settings.setValue("company", self.context.key)
        self.settings.sync()
        for editor in self._open_editors():
            editor.close()
        self._counts_timer.stop()
        self._unsubscribe()
        self.tasks.close()
        for view in self.views.values():
            for owner in (view, getattr(view, "model", None)):
                tasks = getattr(owner, "tasks", None)
                if tasks is not None:
                    tasks.close()
        super().closeEvent(event)
        self.closed.emit()


def top_window() -> MainWindow | None:
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, MainWindow):
            return widget
    return None
