"""The window around the views: title and toolbar, navigation and shortcuts, what it remembers, the company
switcher, the status bar against a sync playing its states, and the Sync activity view with a conflict."""

from __future__ import annotations

import datetime as dt
import time

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication

from app.domain import Customer
from app.store import CUSTOMERS, INVOICES, CompanyStore, Filters, tables
from app.store.outbox import mark
from tests.ui.conftest import fill
from tests.ui.fakes import FakeSync
from tests.ui.helpers import message_box, press, screenshot, settle, window_of
from ui import theme
from ui.app import create_window
from ui.context import CompanyContext, SingleCompany, SyncState
from ui.main_window import MainWindow
from ui.switcher import CompanySwitcher
from ui.tasks import reads_finished
from ui.views.sync_activity import ConflictDialog


def test_title_toolbar_navigation_and_shortcuts(window, qtbot):
    assert window.windowTitle() == "Harbour Joinery Ltd · Clear Books · Ledgerdesk"
    assert "Harbour Joinery Ltd" in window.company_button.text() and "Clear Books" in window.company_button.text()
    assert window.current_key() == "invoices"  # the first start opens on invoices
    for number, key in enumerate(("customers", "invoices", "bank_accounts", "reports", "sync_activity"), start=1):
        qtbot.keyClick(window, getattr(Qt.Key, f"Key_{number}"), Qt.KeyboardModifier.ControlModifier)
        assert window.current_key() == key
        assert window.stack.currentWidget() is window.views[key]
    assert window.status.connection.text() == "Not connected"
    assert window.status.pending.text() == "No changes waiting"
    assert not window.status.progress.isVisible()

    window.about_action.trigger()
    box = message_box(qtbot, "about")
    assert "Ledgerdesk" in box.text()
    box.accept()


def test_geometry_and_last_view_come_back(qtbot, loop, context):
    first = create_window(context, scheme=theme.Scheme.LIGHT)
    qtbot.addWidget(first)
    first.show()
    first.resize(780, 640)  # within the offscreen screen (800x800): restoreGeometry keeps windows on screen
    first.show_view("reports")
    first.close()

    again = create_window(context, scheme=theme.Scheme.LIGHT)
    qtbot.addWidget(again)
    again.show()
    assert again.current_key() == "reports"
    assert again.size() == QSize(780, 640)
    assert again.settings.value("company") == context.key
    again.close()


def test_switching_company_with_the_keyboard(window, qtbot, tmp_path, context):
    other_store = CompanyStore.open(fill(tmp_path / "other.sqlite", "Millbank Surveyors LLP", "tiny", seed=9))
    try:
        other = CompanyContext(key="accbooks-1/millbank", name="Millbank Surveyors LLP", provider="accbooks",
                               store=other_store, connection="Millbank (AccBooks key)")
        window.session = SingleCompany(context, other)
        settle(qtbot, window.invoices.model)

        qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: window_of(CompanySwitcher) is not None, timeout=2000)
        switcher = window_of(CompanySwitcher)
        assert switcher.list.count() == 2
        qtbot.keyClicks(switcher.filter, "accbooks mill")  # service and name, in any order
        assert switcher.list.count() == 1
        started = time.perf_counter()
        qtbot.keyClick(switcher.filter, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: window.context is other, timeout=3000)
        settle(qtbot, window.invoices.model)
        elapsed = time.perf_counter() - started
        assert window.invoices.model.total == other_store.count(INVOICES, Filters()) == 40
        assert window.windowTitle().startswith("Millbank Surveyors LLP · AccBooks")
        assert elapsed < 1.0, f"switching took {elapsed:.3f} s"
        assert window.settings.value("company") == "accbooks-1/millbank"

        window.show_view("customers")  # another view reads the new company when first shown
        settle(qtbot, window.customers.model)
        assert window.customers.model.total == other_store.count(CUSTOMERS, Filters(archived=False))
    finally:
        window.close()
        reads_finished()
        other_store.close()


def open_window(qtbot, context) -> MainWindow:
    window = create_window(context, scheme=theme.Scheme.LIGHT)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)  # shortcuts need it
    return window


def test_status_bar_follows_sync_and_cancel_reaches_it(qtbot, loop, context):
    sync = FakeSync(context.store)
    context.sync = sync
    window = open_window(qtbot, context)
    assert window.status.connection.text() == "Online · Clear Books"
    assert window.status.last_sync.text() == "Not synced yet"

    sync.play(SyncState(online=True, running=True, activity="Pulling invoices", done=120, total=400))
    assert window.status.progress.isVisible() and window.status.cancel.isVisible()
    assert window.status.progress.value() == 120 and window.status.activity.text() == "Pulling invoices"
    window.status.cancel.click()
    assert ("cancel",) in sync.asked

    sync.play(SyncState(online=False, last_sync=dt.datetime.now(dt.UTC), message="Clear Books did not answer."))
    assert window.status.connection.text() == "Offline"
    assert window.status.last_sync.text().startswith("Last sync ")
    assert not window.status.progress.isVisible()

    qtbot.keyClick(window, Qt.Key.Key_F5)
    assert ("sync_now",) in sync.asked
    window.close()


def test_the_lists_fill_while_a_long_first_pull_runs(qtbot, loop, context, store, monkeypatch):
    import ui.main_window as main_window

    monkeypatch.setattr(main_window, "LIVE_REFRESH_S", 0.0)
    sync = FakeSync(store)
    context.sync = sync
    window = open_window(qtbot, context)
    model = window.invoices.model
    settle(qtbot, model)
    before = model.total
    sync.play(SyncState(online=True, running=True, activity="Reading invoices", done=0))
    pulled = [store.get(tables.INVOICES, n) for n in range(1, 6)]
    pulled = [doc.model_copy(update={"local_id": None, "remote_id": f"pulled-{n}", "number": f"P-{n}"})
              for n, doc in enumerate(pulled)]
    store.upsert_now(tables.INVOICES, pulled)
    sync.play(SyncState(online=True, running=True, activity="Reading invoices", done=1000))
    qtbot.waitUntil(lambda: model.total == before + 5, timeout=3000)  # still running: the list caught up
    window.close()


def test_sync_activity_lists_the_outbox_and_resolves_a_conflict(qtbot, loop, context, store, shots):
    sync = FakeSync(store)
    context.sync = sync
    customer = store.get(tables.CUSTOMERS, 1)
    store.save(tables.CUSTOMERS, customer.model_copy(update={"phone": "0117 000 0000"}))
    store.save(tables.CUSTOMERS, Customer(name="Refused Example Ltd", email="a@b.example"))
    entries = store.outbox_entries()
    theirs = {**entries[0].edit, "phone": "0117 999 9999", "email": "changed@service.example"}
    store.writer.run(lambda conn: mark(conn, entries[0].id, "conflict", "Changed at Clear Books", theirs=theirs))
    store.writer.run(lambda conn: mark(conn, entries[1].id, "failed", "Clear Books: a customer with this name "
                                                                      "already exists."))
    window = open_window(qtbot, context)
    window.show_view("sync_activity")
    view = window.views["sync_activity"]
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=3000)
    qtbot.waitUntil(lambda: window.status.conflicts.text() == "1 conflict", timeout=3000)
    assert window.status.failed.text() == "1 refused"
    assert view.table.item(1, 5).text().endswith("already exists.")
    screenshot(window, shots, "sync-activity-with-conflict")

    view.table.selectRow(1)
    view.retry_button.click()
    qtbot.waitUntil(lambda: ("retry", entries[1].id) in sync.asked, timeout=2000)

    view.table.selectRow(0)
    assert view.resolve_button.isEnabled()
    view.resolve_button.click()
    qtbot.waitUntil(lambda: window_of(ConflictDialog) is not None, timeout=2000)
    dialog = window_of(ConflictDialog)
    assert set(dialog.choices) == {"phone", "email"}
    screenshot(dialog, shots, "conflict-dialog")
    dialog.choices["email"].button(1).click()  # theirs for the email, mine for the phone
    dialog.findChild(type(view.retry_button), "applyChoices").click()
    qtbot.waitUntil(lambda: any(a[0] == "resolve" for a in sync.asked), timeout=2000)
    _, entry_id, record = next(a for a in sync.asked if a[0] == "resolve")
    assert entry_id == entries[0].id
    assert record["phone"] == "0117 000 0000" and record["email"] == "changed@service.example"
    window.close()


def test_f5_without_sync_rereads_the_lists(window, qtbot, store):
    model = window.invoices.model
    settle(qtbot, model)
    doc = store.get(tables.INVOICES, model.row_at(0).id)
    store.save(tables.INVOICES, doc.model_copy(update={"reference": "changed elsewhere"}))
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: model.row_at(0) is not None and model.row_at(0).pending, timeout=3000)


def test_discarding_needs_a_confirmation(qtbot, loop, context, store):
    sync = FakeSync(store)
    context.sync = sync
    store.save(tables.CUSTOMERS, Customer(name="To be dropped Ltd"))
    window = open_window(qtbot, context)
    window.show_view("sync_activity")
    view = window.views["sync_activity"]
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=3000)
    view.table.selectRow(0)
    view.discard_button.click()
    press(message_box(qtbot, "confirm"), "Cancel")
    assert not any(a[0] == "discard" for a in sync.asked)
    view.discard_button.click()
    press(message_box(qtbot, "confirm"), "Discard change")
    qtbot.waitUntil(lambda: any(a[0] == "discard" for a in sync.asked), timeout=2000)
    window.close()


def test_the_theme_can_be_chosen_and_icons_follow(window, qtbot):
    light = window.palette().window().color().lightness()
    window.set_scheme(theme.Scheme.DARK)
    assert window.palette().window().color().lightness() < light
    assert theme.current() is theme.Scheme.DARK
    assert window.settings.value("theme") == "dark"
    icon = window.invoices.new_button.icon()
    assert not icon.isNull() and icon.pixmap(16, 16).devicePixelRatio() >= 1
    assert not window.invoices.new_button.icon().pixmap(QSize(32, 32), 2.0).isNull()  # drawn for high DPI
    window.set_scheme(theme.Scheme.LIGHT)
    assert window.palette().window().color().lightness() == light
