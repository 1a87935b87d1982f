"""The invoice editor, driven from the keyboard: a customer picked by typing, three lines entered cell by cell,
totals checked on screen against the domain's own arithmetic, saved offline, duplicated, and its PDF read back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox, QFileDialog

from app.domain import Invoice, InvoiceLine
from app.store import CUSTOMERS, INVOICES, Filters, Sort, tables
from tests.ui.helpers import message_box, press, screenshot, settle, shown, window_of
from tests.ui.test_invoices import open_invoices
from ui.formatting import formats
from ui.models.lines import ACCOUNT, DESCRIPTION, QUANTITY, UNIT_PRICE
from ui.views.invoice_editor import InvoiceEditor
from ui.views.invoice_pdf import PdfPreview, pdf_text

LINES = [  # description, quantity, unit price, VAT rate (arrow presses down the list), account
    ("Oak dining table", "2", "899.00", 0, "4000"),
    ("Delivery and installation", "1", "35", 0, "4020"),
    ("Children's car seat", "3", "74.50", 1, "4000"),  # 5% of 223.50 is 11.175: rounded per line
]


def new_editor(window, qtbot) -> InvoiceEditor:
    view = open_invoices(window, qtbot)
    view.table.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window_of(InvoiceEditor) is not None, timeout=3000)
    editor = window_of(InvoiceEditor)
    qtbot.waitExposed(editor)
    qtbot.waitUntil(lambda: bool(editor.account_delegate.accounts), timeout=3000)  # the chart has arrived
    return editor


def pick_customer(qtbot, editor: InvoiceEditor, name: str) -> None:
    editor.customer.setFocus()
    qtbot.keyClicks(editor.customer, name[:7])
    popup = editor.customer.completer().popup()
    qtbot.waitUntil(lambda: popup.isVisible() and popup.model().rowCount() > 0, timeout=3000)
    names = [popup.model().index(n, 0).data() for n in range(popup.model().rowCount())]
    popup.setCurrentIndex(popup.model().index(names.index(name), 0))
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editor.customer_id is not None, timeout=2000)


def type_cell(qtbot, grid, text: str) -> None:
    """Type into the current cell as a user does: the first key opens its editor, the rest go there."""
    if grid.state() != grid.State.EditingState:
        qtbot.keyClick(grid, text[0])
        text = text[1:]
    focused = QApplication.focusWidget()
    if text:
        qtbot.keyClicks(focused, text)


def tab(qtbot) -> None:
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)


def enter_lines(qtbot, editor: InvoiceEditor, lines) -> None:
    grid = editor.grid
    grid.setFocus()
    grid.setCurrentIndex(editor.lines.index(0, DESCRIPTION))
    for number, (description, quantity, price, rate_steps, account) in enumerate(lines):
        assert grid.currentIndex().row() == number and grid.currentIndex().column() == DESCRIPTION
        type_cell(qtbot, grid, description)
        tab(qtbot)
        assert grid.currentIndex().column() == QUANTITY
        focused = QApplication.focusWidget()
        focused.selectAll()  # the quantity starts at 1: type over it
        qtbot.keyClicks(focused, quantity)
        tab(qtbot)
        assert grid.currentIndex().column() == UNIT_PRICE
        qtbot.keyClicks(QApplication.focusWidget(), price)
        tab(qtbot)
        combo = QApplication.focusWidget()
        assert isinstance(combo, QComboBox)  # the provider's VAT rates, as a list
        for _ in range(rate_steps):
            qtbot.keyClick(combo, Qt.Key.Key_Down)
        tab(qtbot)
        assert grid.currentIndex().column() == ACCOUNT
        account_box = QApplication.focusWidget()
        account_box.lineEdit().selectAll()
        qtbot.keyClicks(account_box, account)
        tab(qtbot)  # past the line total, on to the next line's description
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)


def expected_totals(lines) -> tuple[Decimal, Decimal, Decimal]:
    rates = [Decimal(20), Decimal(5)]
    doc = Invoice.model_construct(lines=[InvoiceLine(description=d, quantity=Decimal(q), unit_price=Decimal(p),
                                                     vat_rate=rates[steps]) for d, q, p, steps, _a in lines],
                                  currency="GBP", status="draft", amount_paid=Decimal(0),
                                  rounding=Invoice.model_fields["rounding"].default)
    totals = doc.totals()
    return totals.net, totals.vat, totals.gross


def test_create_an_invoice_with_three_lines_from_the_keyboard(window, qtbot, store, shots):
    editor = new_editor(window, qtbot)
    customer = store.page(CUSTOMERS, Filters(archived=False),
                          Sort("name"), None, 3).rows[2]
    pick_customer(qtbot, editor, customer.name)

    # Due date from the terms: 30 days by default, 14 when chosen.
    assert editor.due.date() == editor.date.date().addDays(30)
    editor.terms.setCurrentIndex(editor.terms.findText("14 days"))
    assert editor.due.date() == editor.date.date().addDays(14)
    editor.due.setDate(editor.date.date().addDays(45))
    assert editor.terms.currentText() == "Custom"
    editor.terms.setCurrentIndex(editor.terms.findText("30 days"))

    enter_lines(qtbot, editor, LINES)
    assert editor.lines.filled_rows() == 3
    assert [line.account_code for line in editor.lines.lines()] == ["4000", "4020", "4000"]
    assert [line.vat_rate_key for line in editor.lines.lines()] == ["standard", "standard", "reduced"]

    net, vat, gross = expected_totals(LINES)
    assert (net, vat, gross) == (Decimal("2056.50"), Decimal("377.78"), Decimal("2434.28"))  # 11.175 -> 11.18
    fmt = formats()
    assert editor.net_value.text() == "£2,056.50" == fmt.money(net, "GBP")
    assert editor.vat_value.text() == "£377.78"
    assert editor.total_value.text() == "£2,434.28"
    line_total = editor.lines.index(2, 5).data()
    assert line_total == "£223.50"
    screenshot(editor, shots, "invoice-editor-three-lines")

    qtbot.keyClick(editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # saved offline
    qtbot.waitUntil(lambda: editor.document is not None and editor.document.local_id is not None, timeout=5000)
    saved = store.get(tables.INVOICES, editor.document.local_id)
    assert saved.totals()[:3] == (net, vat, gross)
    assert saved.customer_local_id == customer.id and saved.due_date == saved.date + dt.timedelta(days=30)
    assert store.record_state(tables.INVOICES, saved.local_id) == "pending"
    assert not editor.dirty
    assert "waiting to be sent to Clear Books" in editor.sync_label.text()

    model = window.invoices.model
    settle(qtbot, model)
    qtbot.waitUntil(lambda: shown(model, 0, "customer_name") == customer.name, timeout=3000)
    assert shown(model, 0, "gross") == "£2,434.28"
    assert model.data(model.index(0, 0), Qt.ItemDataRole.DecorationRole) is not None  # pending marker
    qtbot.waitUntil(lambda: window.status.pending.text() == "1 change waiting", timeout=3000)

    # The PDF of it: previewed, saved, and its text read back.
    editor.pdf_button.click()
    qtbot.waitUntil(lambda: window_of(PdfPreview) is not None, timeout=5000)
    preview = window_of(PdfPreview)
    assert preview.pdf.pageCount() == 1
    target = preview.save_to(shots / "invoice.pdf")
    text = pdf_text(target)
    for expected in ("INVOICE", "DRAFT", "Harbour Joinery Ltd", customer.name, "Oak dining table",
                     "Children's car seat", "£2,434.28", "£377.78", "£1,798.00", "VAT 5%"):
        assert expected in text, expected
    screenshot(preview, shots, "invoice-pdf-preview")
    preview.save_button.click()  # Save as… asks where, without blocking the window
    qtbot.waitUntil(lambda: window_of(QFileDialog) is not None, timeout=3000)
    window_of(QFileDialog).reject()
    preview.accept()


def test_a_bad_amount_is_marked_and_saving_says_what_to_fix(window, qtbot, store):
    editor = new_editor(window, qtbot)
    enter_lines(qtbot, editor, [("Site survey", "two", "450", 0, "4010")])
    problem = editor.lines.index(0, QUANTITY).data(Qt.ItemDataRole.ToolTipRole)
    assert "“two” is not an amount" in problem
    assert editor.total_value.text() == "£0.00"  # the line waits out of the totals until it is fixed
    before = store.count(INVOICES, Filters())
    editor.save_button.click()
    text = editor.banner.text()
    assert "Line 1, quantity" in text and "Customer: choose who this invoice is for." in text
    assert store.count(INVOICES, Filters()) == before

    editor.lines.setData(editor.lines.index(0, QUANTITY), "2")
    assert editor.total_value.text() == "£1,080.00"


def test_closing_an_unsaved_invoice_asks_and_the_window_guards_on_quit(window, qtbot):
    editor = new_editor(window, qtbot)
    enter_lines(qtbot, editor, [("Boiler service", "1", "89", 0, "4010")])
    assert editor.dirty
    window.close()
    box = message_box(qtbot, "confirm")
    assert "not saved" in box.text() and "New invoice" in box.text()  # it names the editor
    press(box, "Cancel")
    assert window.isVisible() and editor.isVisible()
    editor.close_button.click()
    press(message_box(qtbot, "confirm"), "Discard changes")
    qtbot.waitUntil(lambda: not editor.isVisible())


def test_duplicate_opens_a_new_draft_with_the_same_lines(window, qtbot, store):
    view = open_invoices(window, qtbot)
    view.table.setCurrentIndex(view.model.index(0, 1))
    original = store.get(tables.INVOICES, view.table.current_row().id)
    view.duplicate_button.click()
    qtbot.waitUntil(lambda: window_of(InvoiceEditor) is not None, timeout=3000)
    copy = window_of(InvoiceEditor)
    assert copy.heading.text() == "New invoice" and copy.number.text() == ""
    assert [(line.description, line.quantity) for line in copy.lines.lines()] == \
        [(line.description, line.quantity) for line in original.lines]
    assert copy.date.date().toPython() == dt.date.today()
    assert copy.status == "draft" and copy.dirty
