"""An invoice as a PDF: the HTML template in resources/ filled in, laid out by QTextDocument, written by
QPdfWriter (A4, fonts embedded), previewed with QPdfView, saved or printed."""

from __future__ import annotations

import html
import shutil
import string
import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QMarginsF, QSize, QSizeF
from PySide6.QtGui import QFont, QPagedPaintDevice, QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

import resources
from app.domain import Customer, minor_units
from app.domain.documents import DocumentStatus, SalesDocument
from ui import dialogs, theme
from ui.context import CompanyContext, VatRate
from ui.formatting import Formats, formats

TEMPLATE = Path(resources.__file__).parent / "invoice_template.html"


def _e(text: str) -> str:
    return html.escape(text or "", quote=True)


def invoice_html(document: SalesDocument, context: CompanyContext, customer: Customer | None = None,
                 fmt: Formats | None = None) -> str:
    fmt = fmt or formats()
    currency = document.currency
    money = lambda amount: _e(fmt.money(amount, currency))  # noqa: E731
    quantum = Decimal(1).scaleb(-minor_units(currency))
    rates = {rate.key: rate for rate in context.vat_rates}
    rows, vat_by_rate = [], defaultdict(lambda: Decimal(0))
    for line in document.lines:
        net, vat = line.amounts(quantum, str(document.rounding))
        rate: VatRate | None = rates.get(line.vat_rate_key)
        rate_text = f"{fmt.plain_amount(line.vat_rate)}%" if rate is None or rate.key != "exempt" else "Exempt"
        vat_by_rate[rate_text] += vat
        rows.append(
            f"<tr><td>{_e(line.description)}</td><td class='num' align='right'>{_e(fmt.plain_amount(line.quantity))}</td>"
            f"<td class='num' align='right'>{money(line.unit_price)}</td>"
            f"<td class='num' align='right'>{_e(rate_text)}</td><td class='num' align='right'>{money(net)}</td></tr>")
    totals = document.totals()
    shown_rates = [(rate, vat) for rate, vat in vat_by_rate.items() if vat or len(vat_by_rate) == 1]
    vat_rows = "".join(f"<tr><td></td><td class='label'>VAT {_e(rate)}</td><td class='num' align='right'>{money(vat)}</td></tr>"
                       for rate, vat in shown_rates)
    if len(shown_rates) > 1:
        vat_rows += f"<tr><td></td><td class='label'>VAT total</td><td class='num' align='right'>{money(totals.vat)}</td></tr>"
    paid_rows = ""
    if document.amount_paid:
        paid_rows = (f"<tr><td></td><td class='label'>Paid</td><td class='num' align='right'>{money(-document.amount_paid)}</td></tr>"
                     f"<tr><td></td><td class='total'>Amount due</td><td class='total' align='right'>{money(totals.amount_due)}</td></tr>")
    credit = document.kind == "credit_note"
    status_note = {DocumentStatus.DRAFT: "DRAFT", DocumentStatus.VOID: "VOID", DocumentStatus.PAID: "PAID"}.get(
        document.status, "")
    address = customer.address.one_line() if customer is not None else ""
    due = fmt.date(document.due_date) if document.due_date else ""
    quoting = f", quoting {_e(document.number)}" if document.number else ""
    footer = (f"Please pay {money(totals.amount_due)} by {_e(due)}{quoting}. Thank you for your business."
              if due and totals.amount_due > 0 and not credit else "Thank you for your business.")
    values = {
        "seller_name": _e(context.name),
        "seller_address": "<br>".join(_e(line) for line in context.address),
        "seller_vat": f"VAT number {_e(context.vat_number)}" if context.vat_number else "",
        "document_title": "CREDIT NOTE" if credit else "INVOICE",
        "status_note": status_note,
        "customer_name": _e(customer.name if customer is not None else document.customer_name),
        "customer_address": _e(address),
        "customer_vat": f"VAT number {_e(customer.vat_number)}" if customer is not None and customer.vat_number else "",
        "number": _e(document.number or "Draft"),
        "date": _e(fmt.date(document.date)),
        "due_date": _e(due or "—"),
        "reference": _e(document.reference or "—"),
        "line_rows": "\n".join(rows),
        "net": money(totals.net),
        "vat_rows": vat_rows,
        "gross": money(totals.gross),
        "paid_rows": paid_rows,
        "footer": footer,
    }
    return string.Template(TEMPLATE.read_text(encoding="utf-8")).substitute(values)


def _print(html_text: str, device: QPagedPaintDevice) -> None:
    """Lay the HTML out on ``device``'s pages. The document is given the page's own size (in the 96-dpi units it
    lays out in) and no margin of its own: unpaginated, QTextDocument.print adds 2 cm margins inside the
    device's and shrinks everything to fit."""
    document = QTextDocument()
    font = QFont("DejaVu Sans")
    font.setPointSizeF(9.5)
    document.setDefaultFont(font)
    document.setHtml(html_text)
    document.setDocumentMargin(0)
    page = device.pageLayout().paintRect(QPageLayout.Unit.Point)
    document.setPageSize(QSizeF(page.width() * 96 / 72, page.height() * 96 / 72))
    document.print_(device)


def write_pdf(html_text: str, path: Path, title: str = "Invoice") -> Path:
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(16, 16, 16, 16), QPageLayout.Unit.Millimeter)
    writer.setResolution(300)
    writer.setTitle(title)
    writer.setCreator("Ledgerdesk")
    _print(html_text, writer)
    del writer  # the file is complete once the writer is gone
    return path


def pdf_text(path: Path) -> str:
    """Every page's text (what a test, or a search, reads back)."""
    document = QPdfDocument()
    document.load(str(path))
    try:
        return "\n".join(document.getAllText(page).text() for page in range(document.pageCount()))
    finally:
        document.close()


def suggested_name(document: SalesDocument) -> str:
    stem = document.number or f"draft-{document.date.isoformat()}"
    return f"{'Credit note' if document.kind == 'credit_note' else 'Invoice'} {stem}.pdf"


async def pdf_html(context: CompanyContext, document: SalesDocument, fmt: Formats | None = None) -> str:
    """The filled template; the customer's address is read from the store off the UI thread."""
    from ui import operations

    customer = None
    if document.customer_local_id is not None:
        customer = await operations.customer(context.store, document.customer_local_id)
    return invoice_html(document, context, customer, fmt)


def open_preview(parent: QWidget, html_text: str, document: SalesDocument) -> PdfPreview:
    preview = PdfPreview(html_text, document, parent)
    preview.finished.connect(lambda _result: preview.deleteLater())
    preview.open()
    return preview


class PdfPreview(QDialog):
    """The PDF as it will print, with Save and Print."""

    def __init__(self, html_text: str, document: SalesDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("pdfPreview")
        self.html_text = html_text
        self.name = suggested_name(document)
        self.setWindowTitle(self.name)
        self._folder = Path(tempfile.mkdtemp(prefix="ledgerdesk-pdf-"))
        self.path = write_pdf(html_text, self._folder / self.name, self.name.removesuffix(".pdf"))
        self.pdf = QPdfDocument(self)
        self.pdf.load(str(self.path))
        self.view = QPdfView(self)
        self.view.setDocument(self.pdf)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)

        info = QLabel(f"{self.name} · A4 · {self.pdf.pageCount()} page{'s' if self.pdf.pageCount() != 1 else ''}")
        info.setObjectName("muted")
        self.save_button = theme.button("save", "Save as…")
        self.print_button = theme.button("print", "Print…")
        close = QPushButton("Close")
        self.save_button.clicked.connect(self.ask_where_to_save)
        self.print_button.clicked.connect(self.print_)
        close.clicked.connect(self.accept)
        bar = QHBoxLayout()
        bar.addWidget(info, 1)
        bar.addWidget(self.save_button)
        bar.addWidget(self.print_button)
        bar.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addLayout(bar)
        self.resize(QSize(760, 900))
        self.finished.connect(self._clean_up)

    def ask_where_to_save(self) -> None:
        chooser = QFileDialog(self, "Save the PDF", str(Path.home() / self.name), "PDF (*.pdf)")
        chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        chooser.setDefaultSuffix("pdf")
        chooser.fileSelected.connect(lambda chosen: self.save_to(Path(chosen)))
        chooser.open()

    def save_to(self, target: Path) -> Path | None:
        try:
            shutil.copyfile(self.path, target)
        except OSError as error:
            dialogs.tell(self, "The PDF was not saved",
                         f"It could not be written to {target}: {error.strerror or error}.",
                         detail="Choose another folder, or check there is space on the disk.")
            return None
        return target

    def print_(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(self.name)
        chooser = QPrintDialog(printer, self)
        chooser.accepted.connect(lambda: _print(self.html_text, printer))
        chooser.open()

    def _clean_up(self, _result: int) -> None:
        self.pdf.close()
        shutil.rmtree(self._folder, ignore_errors=True)
