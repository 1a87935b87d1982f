"""Customers, driven as a user would: search, filter, create with a mistake corrected inline, edit, archive, and
actions the service does not allow greyed out with the reason."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.store import CUSTOMERS, Filters, Sort, tables
from tests.ui.conftest import restricted
from tests.ui.helpers import message_box, press, rows, screenshot, settle, shown, window_of
from ui.models.paged import ROW_ROLE
from ui.views.customer_form import CustomerDialog


def open_customers(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    view = window.customers
    assert window.stack.currentWidget() is view
    settle(qtbot, view.model)
    return view


def type_into(qtbot, widget, text: str) -> None:
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)


def test_search_and_archived_filter_run_in_the_store(window, qtbot, store):
    view = open_customers(window, qtbot)
    active = store.count(CUSTOMERS, Filters(archived=False))
    assert view.model.total == active
    assert view.count_label.text() == f"{active} customers"

    first = store.page(CUSTOMERS, Filters(archived=False), Sort("name"), None, 1).rows[0]
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert view.search.hasFocus()
    qtbot.keyClicks(view.search, first.name.split()[0])
    qtbot.waitUntil(lambda: view.model.filters.text == first.name.split()[0], timeout=2000)
    settle(qtbot, view.model)
    assert first.id in [row.id for row in rows(view.model, 0, 50)]
    assert all(first.name.split()[0].lower() in (r.name + r.contact_name + r.email).lower()
               for r in rows(view.model, 0, 50))

    view.search.clear()
    view.archived.setCurrentIndex(2)  # all customers
    settle(qtbot, view.model)
    assert view.model.total == store.count(CUSTOMERS, Filters())


def test_create_a_customer_with_inline_validation_then_edit_it(window, qtbot, store, shots):
    view = open_customers(window, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window_of(CustomerDialog) is not None)
    dialog = window_of(CustomerDialog)
    form = dialog.form
    # Labels come from the domain's field titles.
    assert form.layout_.labelForField(form.rows["contact_name"]).text() == "Contact person"

    type_into(qtbot, form.editors["name"], "Quayside Bikes Ltd")
    type_into(qtbot, form.editors["email"], "sales at quayside")
    qtbot.keyClick(form.editors["email"], Qt.Key.Key_Return)  # leaves the field: checked now
    problem = form.rows["email"].problem
    assert not problem.isHidden()
    assert "is not an email address" in problem.text()
    screenshot(dialog, shots, "customer-dialog-invalid-email")

    dialog.save_button.click()  # refused, with the reason in the banner
    assert not dialog.banner.isHidden() and "Email" in dialog.banner.text()
    assert store.count(CUSTOMERS, Filters(text="Quayside")) == 0

    type_into(qtbot, form.editors["email"], "sales@quayside.example")
    assert problem.isHidden()  # the complaint goes as soon as the field is right
    type_into(qtbot, form.editors["address.town"], "Bristol")
    qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)

    found = store.page(CUSTOMERS, Filters(text="Quayside"), Sort("name"), None, 5).rows
    assert [r.name for r in found] == ["Quayside Bikes Ltd"] and found[0].pending
    assert store.outbox_counts()["pending"] == 1
    record = store.get(tables.CUSTOMERS, found[0].id)
    assert record.address.town == "Bristol" and record.email == "sales@quayside.example"

    # The list shows it with its pending marker; the status bar counts it.
    settle(qtbot, view.model)
    qtbot.waitUntil(lambda: window.status.pending.text() == "1 change waiting", timeout=3000)
    view.search.setText("Quayside")
    qtbot.waitUntil(lambda: view.model.filters.text == "Quayside", timeout=2000)
    settle(qtbot, view.model)
    assert view.model.total == 1
    marker = view.model.index(0, 0)
    assert view.model.data(marker, Qt.ItemDataRole.DecorationRole) is not None
    assert "not yet sent to Clear Books" in view.model.data(marker, Qt.ItemDataRole.ToolTipRole)
    screenshot(window, shots, "customers-after-create")

    # Edit it: Enter on the row opens it, filled in.
    view.table.setFocus()
    view.table.setCurrentIndex(view.model.index(0, 1))
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window_of(CustomerDialog) is not None, timeout=3000)
    dialog = window_of(CustomerDialog)
    assert dialog.form.text("name") == "Quayside Bikes Ltd"
    type_into(qtbot, dialog.form.editors["phone"], "0117 496 0000")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert store.get(tables.CUSTOMERS, found[0].id).phone == "0117 496 0000"
    assert store.outbox_counts()["pending"] == 2  # the create and the edit, in order


def test_cancel_with_unsaved_changes_asks_first(window, qtbot):
    open_customers(window, qtbot)
    window.customers.new()
    qtbot.waitUntil(lambda: window_of(CustomerDialog) is not None)
    dialog = window_of(CustomerDialog)
    type_into(qtbot, dialog.form.editors["name"], "Half typed")
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    box = message_box(qtbot, "confirm")
    assert "not saved" in box.text()
    press(box, "Cancel")
    assert dialog.isVisible()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    press(message_box(qtbot, "confirm"), "Discard changes")
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_archive_asks_and_hides_the_customer(window, qtbot, store):
    view = open_customers(window, qtbot)
    view.table.setCurrentIndex(view.model.index(0, 1))
    row = view.model.data(view.model.index(0, 1), ROW_ROLE)
    assert view.archive_button.isEnabled()
    view.archive_button.click()
    box = message_box(qtbot, "confirm")
    assert row.name in box.text()
    press(box, "Archive")
    qtbot.waitUntil(lambda: store.get(tables.CUSTOMERS, row.id).archived, timeout=5000)
    settle(qtbot, view.model)
    qtbot.waitUntil(lambda: shown(view.model, 0, "name") != row.name, timeout=3000)


def test_delete_needs_confirmation_and_is_greyed_out_where_the_service_cannot(window, qtbot, store, context):
    view = open_customers(window, qtbot)
    view.table.setCurrentIndex(view.model.index(0, 1))
    row = view.model.data(view.model.index(0, 1), ROW_ROLE)
    view.delete_button.click()
    press(message_box(qtbot, "confirm"), "Cancel")
    assert store.get(tables.CUSTOMERS, row.id) is not None  # nothing without a yes

    context.capabilities = restricted()
    view._update_actions()
    assert not view.delete_button.isEnabled()
    assert view.delete_button.toolTip() == "This service's API cannot delete a customer: archive them instead."
    assert view.archive_button.isEnabled()
