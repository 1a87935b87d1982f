"""A small, real PDF of a sales invoice or credit note (one A4 page, Helvetica), for
GetInvoicePDFByTransactionID. Any PDF reader opens it; it is not meant to be pretty."""

from __future__ import annotations

from decimal import Decimal

from providers.accountsiq.sandbox_data import Entity, TxnRow
from providers.accountsiq.sandbox_documents import expand
from providers.accountsiq.sandbox_reference import CURRENCY, profile_for

_MAX_LINES = 34


def _text(value: str) -> bytes:
    data = value.encode("cp1252", errors="replace")
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def invoice_pdf(entity: Entity, row: TxnRow, record: list | None, ledger_lines: list) -> bytes:
    profile = profile_for(entity.name)
    title = "INVOICE" if row.type == "SI" else "CREDIT NOTE"
    items: list[tuple[str, str, str, str, str]] = []
    if record is not None:
        head, lines = expand(record)
        for line in lines:
            items.append((line.get("StockItemDescription") or line.get("StockItemID") or "", line["InvoicedQuantity"],
                          line["StockItemPrice"], line["NetAmount"], line["TaxAmount"]))
        net, tax, gross = head["NetAmount"], head["TaxAmount"], head["GrossAmount"]
    else:
        sign = -1 if row.type == "SI" else 1
        net_total = tax_total = Decimal(0)
        for _code, amount, kind, _tax, description in ledger_lines:
            value = sign * Decimal(amount)
            if kind == "N":
                items.append((description, "1", f"{value:f}", f"{value:f}", ""))
                net_total += value
            elif kind == "T":
                tax_total += value
        net, tax, gross = f"{net_total:f}", f"{tax_total:f}", f"{net_total + tax_total:f}"
    text: list[tuple[int, int, int, str]] = [  # (x, y, size, text)
        (50, 790, 18, title), (50, 765, 12, entity.name),
        (50, 750, 9, ", ".join(p for p in (profile.line1, profile.line2, profile.city, profile.postcode) if p)),
        (50, 738, 9, f"VAT {profile.vat}" if profile.vat else ""),
        (380, 765, 10, f"Number: {row.number}"), (380, 751, 10, f"Date: {row.date:%d %B %Y}"),
        (380, 737, 10, f"Transaction: {row.id}"),
        (50, 700, 11, f"To: {row.name} ({row.code})"),
        (50, 670, 9, "Description"), (330, 670, 9, "Qty"), (380, 670, 9, "Price"), (450, 670, 9, "Net"),
        (510, 670, 9, "VAT"),
    ]
    y = 654
    for description, quantity, price, line_net, line_tax in items[:_MAX_LINES]:
        text += [(50, y, 9, description[:55]), (330, y, 9, quantity), (380, y, 9, price), (450, y, 9, line_net),
                 (510, y, 9, line_tax)]
        y -= 14
    if len(items) > _MAX_LINES:
        text.append((50, y, 9, f"... and {len(items) - _MAX_LINES} more lines"))
        y -= 14
    y -= 16
    text += [(380, y, 10, f"Net {CURRENCY}"), (480, y, 10, net), (380, y - 14, 10, f"VAT {CURRENCY}"),
             (480, y - 14, 10, tax), (380, y - 30, 12, f"Total {CURRENCY}"), (480, y - 30, 12, gross)]
    content = b"".join(b"BT /F1 %d Tf %d %d Td %s Tj ET\n" % (size, x, yy, _text(value))
                       for x, yy, size, value in text if value)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
