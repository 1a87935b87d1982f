"""The invoice list, driven as a user would: sort by clicking headings, filter by status, dates, customer and
overdue, search; each checked against what the store says."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from app.store import INVOICES, Filters, Sort
from tests.ui.helpers import rows, screenshot, settle, shown
from ui.views.invoices import period_range


def open_invoices(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    view = window.invoices
    assert window.stack.currentWidget() is view
    settle(qtbot, view.model)
    return view


def click_heading(qtbot, table, title: str) -> None:
    header = table.horizontalHeader()
    column = next(n for n, c in enumerate(table.paged.columns) if c.title == title)
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def ids(store, filters: Filters, sort: Sort, limit: int = 20) -> list[int]:
    return [row.id for row in store.page(INVOICES, filters, sort, None, limit).rows]


def test_sorting_by_heading_runs_in_the_store(window, qtbot, store, shots):
    view = open_invoices(window, qtbot)
    assert [r.id for r in rows(view.model, 0, 20)] == ids(store, Filters(), Sort("date", True))

    for title, key in (("Total", "gross"), ("Customer", "customer_name"), ("Due", "due_date"), ("VAT", "vat")):
        click_heading(qtbot, view.table, title)
        qtbot.waitUntil(lambda key=key: view.model.sort_order.key == key, timeout=2000)
        settle(qtbot, view.model)
        descending = view.model.sort_order.descending
        assert [r.id for r in rows(view.model, 0, 20)] == ids(store, Filters(), Sort(key, descending)), title
        assert view.table.horizontalHeader().sortIndicatorSection() == view.model.sort_column()

    click_heading(qtbot, view.table, "VAT")  # again: the other way round
    qtbot.waitUntil(lambda: view.model.sort_order == Sort("vat", True), timeout=2000)
    settle(qtbot, view.model)
    assert [r.id for r in rows(view.model, 0, 20)] == ids(store, Filters(), Sort("vat", True))

    # The money column reads as money, right-aligned.
    vat = next(n for n, c in enumerate(view.model.columns) if c.key == "vat")
    assert shown(view.model, 0, "vat").startswith("£")
    alignment = view.model.data(view.model.index(0, vat), Qt.ItemDataRole.TextAlignmentRole)
    assert alignment & Qt.AlignmentFlag.AlignRight
    screenshot(window, shots, "invoices-sorted-by-vat")


def test_status_overdue_and_date_filters(window, qtbot, store):
    view = open_invoices(window, qtbot)
    view.status.setCurrentIndex(view.status.findText("Paid"))
    settle(qtbot, view.model)
    assert view.model.total == store.count(INVOICES, Filters(status="paid")) > 0
    assert {r.status for r in rows(view.model, 0, 50)} == {"paid"}

    view.status.setCurrentIndex(0)
    view.overdue.click()
    settle(qtbot, view.model)
    today = dt.date.today()
    assert view.model.total == store.count(INVOICES, Filters(overdue_on=today)) > 0
    assert all(r.due_date < today.isoformat() and r.amount_due > 0 for r in rows(view.model, 0, 50))
    overdue = next(n for n, c in enumerate(view.model.columns) if c.key == "due_date")
    assert "Overdue by" in view.model.data(view.model.index(0, overdue), Qt.ItemDataRole.ToolTipRole)

    view.overdue.click()
    view.period.setCurrentIndex(view.period.findText("Last month"))
    settle(qtbot, view.model)
    start, end = period_range("Last month", today)
    assert view.model.total == store.count(INVOICES, Filters(date_from=start, date_to=end)) > 0
    assert all(start.isoformat() <= r.date <= end.isoformat() for r in rows(view.model, 0, 50))
    assert view.count_label.text().endswith("match")


def test_search_and_customer_filter(window, qtbot, store):
    view = open_invoices(window, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(view.search, "INV-000123")
    qtbot.waitUntil(lambda: view.model.filters.text == "INV-000123", timeout=2000)
    settle(qtbot, view.model)
    assert view.model.total == 1 and shown(view.model, 0, "number") == "INV-000123"
    qtbot.keyClick(view.search, Qt.Key.Key_Escape)  # Esc clears the search
    qtbot.waitUntil(lambda: view.model.filters.text == "", timeout=2000)
    settle(qtbot, view.model)
    assert view.model.total == 400

    # A customer, picked by typing part of the name.
    customer = store.page(INVOICES, Filters(), Sort("customer_name"), None, 1).rows[0].customer_name
    view.customer.setFocus()
    qtbot.keyClicks(view.customer, customer[:5])
    popup = view.customer.completer().popup()
    qtbot.waitUntil(lambda: popup.isVisible() and popup.model().rowCount() > 0, timeout=3000)
    names = [popup.model().index(n, 0).data() for n in range(popup.model().rowCount())]
    popup.setCurrentIndex(popup.model().index(names.index(customer), 0))
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.model.filters.customer_id is not None, timeout=2000)
    settle(qtbot, view.model)
    chosen = view.customer.chosen
    assert chosen.name == customer
    assert view.model.total == store.count(INVOICES, Filters(customer_id=chosen.id))
    assert {r.customer_name for r in rows(view.model, 0, 50)} == {customer}
    QApplication.processEvents()


def test_scroll_to_the_end_and_jump_to_the_middle_read_only_what_is_shown(window, qtbot, store):
    view = open_invoices(window, qtbot)
    model = view.model
    model.CHUNK = 50  # small chunks, so 400 rows exercise every way of reading one
    model.reload()
    settle(qtbot, model)
    everything = ids(store, Filters(), Sort("date", True), 400)
    view.table.scrollToBottom()
    qtbot.waitUntil(lambda: model.row_at(399) is not None, timeout=3000)
    assert [r.id for r in rows(model, 350, 50)] == everything[350:]
    view.table.scrollTo(model.index(207, 0))
    qtbot.waitUntil(lambda: model.row_at(207) is not None, timeout=3000)
    settle(qtbot, model)
    assert [r.id for r in rows(model, 200, 50)] == everything[200:250]
    qtbot.waitUntil(lambda: model.row_at(150) is not None, timeout=3000)  # the chunk before, read backwards
    settle(qtbot, model)
    assert [r.id for r in rows(model, 150, 50)] == everything[150:200]
    assert model.cached_rows() < 400
