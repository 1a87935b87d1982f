"""A screenshot of every view and editor, light and dark, at 1280x800, for a person to look at.

LEDGERDESK_SCREENSHOTS=folder keeps them (otherwise they go to pytest's tmp_path). The checks here are the
ones a picture can fail silently: every view shows data (no empty pane), money is right-aligned with its
currency, and nothing the user must read is elided.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.domain import Customer
from app.store import tables
from tests.ui.helpers import screenshot, settle, window_of
from ui import theme
from ui.app import apply_theme, create_window
from ui.views.customer_form import CustomerDialog
from ui.views.invoice_editor import InvoiceEditor
from ui.views.invoice_pdf import PdfPreview


def _with_some_edits(store) -> None:
    """A believable afternoon: a new customer and an edited invoice, neither sent yet."""
    store.save(tables.CUSTOMERS, Customer(name="Quayside Bikes Ltd", contact_name="Nia Thomas",
                                          email="nia@quaysidebikes.example", phone="0117 496 0000"))
    newest = store.get(tables.INVOICES, 400)
    store.save(tables.INVOICES, newest.model_copy(update={"reference": "PO 77120"}))


def _settled(qtbot, window, key: str) -> None:
    view = window.views[key]
    if key in ("customers", "invoices"):
        settle(qtbot, view.model)
    elif key == "bank_accounts":
        qtbot.waitUntil(lambda: view.accounts.rowCount() == 2, timeout=3000)
        settle(qtbot, view.model)
        qtbot.waitUntil(lambda: view.model.total > 0, timeout=3000)
    elif key == "reports":
        qtbot.waitUntil(lambda: view.aged.rowCount() == 1 and view._status_rows["paid"].text() != "…",
                        timeout=5000)
    elif key == "sync_activity":
        qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=3000)
    qtbot.wait(30)  # let the last chunk paint


@pytest.mark.parametrize("scheme", [theme.Scheme.LIGHT, theme.Scheme.DARK])
def test_every_view_light_and_dark(qtbot, loop, context, store, shots, scheme):
    _with_some_edits(store)
    window = create_window(context, scheme=scheme)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    try:
        assert window.size().width() == 1280 and window.size().height() == 800
        for key in ("invoices", "customers", "bank_accounts", "reports", "sync_activity"):
            window.show_view(key)
            _settled(qtbot, window, key)
            view = window.views[key]
            table = getattr(view, "table", None)
            if table is not None and hasattr(table, "paged"):
                _check_table(table)
            screenshot(window, shots, f"{key}-{scheme}")

        window.show_view("invoices")
        window.invoices.table.setCurrentIndex(window.invoices.model.index(0, 1))
        window.invoices.open_current()
        qtbot.waitUntil(lambda: window_of(InvoiceEditor) is not None, timeout=3000)
        editor = window_of(InvoiceEditor)
        qtbot.waitUntil(lambda: bool(editor.account_delegate.accounts and editor.sync_label.text()), timeout=3000)
        editor.resize(1040, 680)
        assert editor.total_value.text().startswith("£")
        screenshot(editor, shots, f"invoice-editor-{scheme}")
        editor.pdf_button.click()
        qtbot.waitUntil(lambda: window_of(PdfPreview) is not None, timeout=5000)
        preview = window_of(PdfPreview)
        qtbot.wait(50)
        screenshot(preview, shots, f"invoice-pdf-{scheme}")
        preview.accept()
        editor.close()

        window.show_view("customers")
        window.customers.new()
        qtbot.waitUntil(lambda: window_of(CustomerDialog) is not None, timeout=3000)
        dialog = window_of(CustomerDialog)
        dialog.form.set_text("name", "Elm Street Dental")
        dialog.form.set_text("email", "not an address")
        dialog.save_button.click()  # shows the problems inline and in the banner
        qtbot.wait(30)
        screenshot(dialog, shots, f"customer-dialog-{scheme}")
        dialog._dirty = False
        dialog.reject()
    finally:
        window._closing_confirmed = True
        window.close()
        apply_theme(QApplication.instance(), scheme=theme.Scheme.LIGHT)  # the next test starts light


def _check_table(table) -> None:
    """Money right-aligned with its currency symbol; the columns a person scans are wide enough."""
    model = table.paged
    assert model.total > 0, "an empty pane"
    metrics = table.fontMetrics()
    for column, spec in enumerate(model.columns):
        if spec.kind == "marker" or table.isColumnHidden(column):
            continue
        width = table.horizontalHeader().sectionSize(column)
        for row in range(min(model.total, 25)):
            text = model.data(model.index(row, column))
            if text is None:
                continue
            if spec.kind == "money":
                assert text.startswith(("£", "(£", "-£")), text
                alignment = model.data(model.index(row, column), Qt.ItemDataRole.TextAlignmentRole)
                assert alignment & Qt.AlignmentFlag.AlignRight
            if not spec.stretch and spec.kind != "text":
                assert metrics.horizontalAdvance(text) + 8 <= width, f"{spec.title}: {text!r} clipped at {width}px"
