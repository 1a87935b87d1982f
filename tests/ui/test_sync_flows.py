"""The window on a real workspace: signed in to sandboxes over loopback, each company syncing through the
real engine. A user switches between companies of two services, edits while the service is down and sees
the edit reach it once it is back, and settles a conflict with an edit made at the service meanwhile."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.auth import demo_signin
from app.auth.vault import MemoryKeyring, Vault
from app.store import CUSTOMERS, Filters, Sort, tables
from app.sync.connections import open_provider, sandbox_connection
from app.sync.schedule import Scheduler
from app.workspace import Workspace
from providers.base import Entity
from providers.http import RetryPolicy
from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread
from tests.ui.helpers import screenshot, settle, window_of
from ui import theme
from ui.app import create_window
from ui.switcher import CompanySwitcher
from ui.views.customer_form import CustomerDialog
from ui.views.sync_activity import ConflictDialog
from ui.workspace_session import WorkspaceSession

FAST_RETRY = RetryPolicy(attempts=2, base=0.01, cap=0.05)


def fast_scheduler(engine):
    # Seconds in the app; here the test is the clock. Offline retries come quickly so "back online" shows.
    return Scheduler(engine, interval=3600, debounce=0.05, backoff_min=0.2, backoff_max=0.4)


def wait_for(qtbot, coro, timeout: int = 20_000):
    """Run a coroutine on the test's (already running) qasync loop, the window staying live meanwhile."""
    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


class Service:
    """One sandbox on loopback that can be stopped and started again on the same address."""

    def __init__(self, provider: str, seed: int = 11):
        self.provider = provider
        self.sandbox = build_sandbox(provider, SandboxOptions(size="tiny", seed=seed))
        self.server = serve_in_thread(self.sandbox.stack.asgi)
        self.url = self.server.url

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server = serve_in_thread(self.sandbox.stack.asgi, port=self.server.port)

    @contextlib.asynccontextmanager
    async def client(self, company: str):
        """A colleague's own client of the service (not the window's)."""
        remote = await open_provider(sandbox_connection(self.provider, self.sandbox, self.url, company),
                                     retry=FAST_RETRY)
        try:
            yield remote
        finally:
            await remote.aclose()


@pytest.fixture
def services():
    running: dict[str, Service] = {}

    def make(provider: str) -> Service:
        running[provider] = Service(provider)
        return running[provider]

    yield make
    for service in running.values():
        service.stop()


@pytest.fixture
def workspace(home):
    return Workspace(Vault(MemoryKeyring()), home / "config" / "workspace.json")


@pytest.fixture
def open_window(qtbot, loop, workspace):
    """The window on the workspace's first company, as ``ledgerdesk`` opens it."""
    opened = []

    def make(key: str | None = None):
        session = WorkspaceSession(workspace, scheduler=fast_scheduler)
        context = wait_for(qtbot, session.open(key or session.first_key()))
        window = create_window(context, session, scheme=theme.Scheme.LIGHT)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
        opened.append((window, session))
        return window, session

    yield make
    for window, session in opened:
        window._closing_confirmed = True
        window.close()
        wait_for(qtbot, session.aclose())


def sign_in(qtbot, workspace, service: Service):
    return wait_for(qtbot, demo_signin.sign_in(workspace, service.sandbox, service.url))


def synced(qtbot, window, timeout: int = 20_000) -> None:
    """The company's sync has run and is idle, and the open list shows what it brought."""
    qtbot.waitUntil(lambda: window.status.state.last_sync is not None and not window.status.state.running,
                    timeout=timeout)
    settle(qtbot, window.current_view().model)


def shows_rows(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.current_view().model.total > 0, timeout=5000)


def customers_view(qtbot, window):
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, window.customers.model)
    return window.customers


def edit_customer(qtbot, window, row_id: int, field: str, value: str) -> None:
    view = customers_view(qtbot, window)
    view.edit(row_id)
    qtbot.waitUntil(lambda: window_of(CustomerDialog) is not None, timeout=3000)
    dialog = window_of(CustomerDialog)
    editor = dialog.form.editors[field]
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, value)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)


def at_the_service(qtbot, service: Service, window, remote_id: str):
    """The customer as the service holds it, read by a client of its own."""
    async def read():
        async with service.client(window.context.key.split("/", 1)[1]) as remote:
            return await remote.get(Entity.CUSTOMERS, remote_id)

    return wait_for(qtbot, read())


def first_customer(store):
    return store.page(CUSTOMERS, Filters(archived=False), Sort("name"), None, 1).rows[0]


def test_switch_between_companies_of_two_services(qtbot, services, workspace, open_window, shots):
    suite, books = services("accountingsuite"), services("accbooks")
    sign_in(qtbot, workspace, suite)
    sign_in(qtbot, workspace, books)
    window, session = open_window()
    synced(qtbot, window)
    first = window.context
    assert window.status.connection.text().startswith("Online")
    shows_rows(qtbot, window)

    other = next(c for c in session.companies() if c.provider != first.provider)
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window_of(CompanySwitcher) is not None, timeout=3000)
    switcher = window_of(CompanySwitcher)
    qtbot.keyClicks(switcher.filter, other.name)
    qtbot.keyClick(switcher.filter, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.context.key == other.key, timeout=10_000)
    synced(qtbot, window)
    assert other.provider_name in window.windowTitle() and other.name in window.windowTitle()
    shows_rows(qtbot, window)
    # The company left behind has closed: its sync stopped, its file is free.
    qtbot.waitUntil(lambda: first.key not in session._open, timeout=5000)
    # Back again: the switcher lists the most recent first.
    assert [c.key for c in session.companies()[:2]] == [other.key, first.key]
    screenshot(window, shots, "flow-switched-company")


def test_an_edit_made_offline_reaches_the_service_when_it_is_back(qtbot, services, workspace, open_window, shots):
    suite = services("accountingsuite")
    sign_in(qtbot, workspace, suite)
    window, _session = open_window()
    synced(qtbot, window)
    store = window.context.store
    row = first_customer(store)

    suite.stop()
    edit_customer(qtbot, window, row.id, "phone", "0117 496 0101")
    assert store.get(tables.CUSTOMERS, row.id).phone == "0117 496 0101"
    qtbot.waitUntil(lambda: window.status.connection.text() == "Offline", timeout=15_000)
    qtbot.waitUntil(lambda: window.status.pending.text() == "1 change waiting", timeout=5000)
    screenshot(window, shots, "flow-offline-edit-waiting")

    suite.start()
    qtbot.keyClick(window, Qt.Key.Key_F5)  # the user tries at once; the back-off would too, a little later
    qtbot.waitUntil(lambda: window.status.connection.text().startswith("Online"), timeout=15_000)
    qtbot.waitUntil(lambda: store.outbox_counts()["pending"] == 0, timeout=15_000)
    qtbot.waitUntil(lambda: window.status.pending.text() == "All changes sent", timeout=5000)

    remote_id = store.get(tables.CUSTOMERS, row.id).remote_id
    assert at_the_service(qtbot, suite, window, remote_id).phone == "0117 496 0101"
    screenshot(window, shots, "flow-back-online-synced")


def test_a_conflict_is_settled_field_by_field_in_the_window(qtbot, services, workspace, open_window, shots):
    suite = services("accountingsuite")
    sign_in(qtbot, workspace, suite)
    window, _session = open_window()
    synced(qtbot, window)
    store = window.context.store
    company = window.context.key.split("/", 1)[1]
    row = first_customer(store)
    local = store.get(tables.CUSTOMERS, row.id)

    suite.stop()  # the user's edit waits while a colleague changes the same customer at the service
    edit_customer(qtbot, window, row.id, "phone", "0117 000 1111")
    edit_customer(qtbot, window, row.id, "email", "mine@harbour.example")
    qtbot.waitUntil(lambda: window.status.connection.text() == "Offline", timeout=15_000)
    suite.start()

    async def colleague_edits():
        async with suite.client(company) as remote:
            current = await remote.get(Entity.CUSTOMERS, local.remote_id)
            await remote.update(Entity.CUSTOMERS, current.model_copy(
                update={"phone": "0117 999 2222", "email": "theirs@harbour.example"}))

    wait_for(qtbot, colleague_edits())
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.status.conflicts.text() == "1 conflict", timeout=15_000)

    window.show_view("sync_activity")
    view = window.views["sync_activity"]
    qtbot.waitUntil(lambda: view.table.rowCount() >= 1, timeout=5000)
    row_of_conflict = next(r for r in range(view.table.rowCount()) if "onflict" in view.table.item(r, 3).text())
    view.table.selectRow(row_of_conflict)
    assert view.resolve_button.isEnabled()
    screenshot(window, shots, "flow-conflict-listed")
    view.resolve_button.click()
    qtbot.waitUntil(lambda: window_of(ConflictDialog) is not None, timeout=3000)
    dialog = window_of(ConflictDialog)
    assert {"phone", "email"} <= set(dialog.choices)
    dialog.choices["phone"].button(1).click()  # theirs for the phone, mine for the email
    screenshot(dialog, shots, "flow-conflict-dialog")
    dialog.findChild(type(view.retry_button), "applyChoices").click()

    qtbot.waitUntil(lambda: store.outbox_counts() == {"pending": 0, "failed": 0, "conflict": 0}, timeout=15_000)
    qtbot.waitUntil(lambda: window.status.pending.text() == "All changes sent", timeout=5000)

    settled = at_the_service(qtbot, suite, window, local.remote_id)
    assert (settled.phone, settled.email) == ("0117 999 2222", "mine@harbour.example")
    cached = store.get(tables.CUSTOMERS, row.id)
    assert (cached.phone, cached.email) == ("0117 999 2222", "mine@harbour.example")
    screenshot(window, shots, "flow-conflict-settled")
