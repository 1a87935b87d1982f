"""The AccountsIQ 2.0 data shapes the sandbox writes and reads, member by member in catalogue order.

Each shape is a list of ``(member, kind)``. Kinds follow the XmlSerializer rules the real service
obeys: ``s`` string (left out when null), ``int``/``dec``/``bool`` value types (always written),
``nint``/``ndec`` nullable value types (``xsi:nil="true"`` when null), ``stamp`` a UTC instant,
``date`` a business date (midnight, no zone), ``ndate`` a nullable one, ``enum`` an enumeration
value, ``raw`` pre-built XML. Records are dicts keyed by member name whose dates, and amounts when
they come from the store, are already wire text. Invoices, the hot path, have hand-written
renderers that follow the same lists (the test that compares every answer with the catalogue
checks that they do).
"""

from __future__ import annotations

from decimal import Decimal

from providers.accountsiq.sandbox_envelope import Node, boolean, date_text, dec, esc, s, stamp_text

Shape = list[tuple[str, str]]

CUSTOMER: Shape = [
    ("AccountID", "int"), ("ExternalApproverID", "nint"), ("LedgerType", "enum"), ("Code", "s"),
    ("CountryCode", "s"), ("Name", "s"), ("GroupID", "s"), ("DefaultTaxCode", "s"), ("AreaID", "s"),
    ("BankAccountCode", "s"), ("CountryID", "s"), ("CreditTermID", "s"), ("CurrencyCode", "s"),
    ("PaymentMethodID", "s"), ("AuthorUserID", "s"), ("ShipViaID", "s"), ("CreationDate", "stamp"),
    ("Address1", "s"), ("Address2", "s"), ("City", "s"), ("County_State", "s"), ("Country", "s"),
    ("PostCode", "s"), ("DeliveryName", "s"), ("DeliveryAddress1", "s"), ("DeliveryAddress2", "s"),
    ("DeliveryCity", "s"), ("DeliveryCounty_State", "s"), ("DeliveryCountry", "s"), ("DeliveryPostCode", "s"),
    ("DeliveryContact", "s"), ("DeliveryPhone", "s"), ("DeliveryFax", "s"), ("Phone", "s"), ("Fax", "s"),
    ("Email", "s"), ("WebAddress", "s"), ("Contact", "s"), ("VATRegistrationNumber", "s"),
    ("VATExemptReference", "s"), ("DiscountRate", "dec"), ("UseAccountTaxCode", "bool"),
    ("DefaultGLAccountCode", "s"), ("ControlGLAccountCode", "s"), ("IsActive", "bool"), ("Hold", "int"),
    ("HeadOfficeAccountID", "nint"), ("Notes", "s"), ("UseHeadOffice", "bool"), ("IsHeadOffice", "bool"),
    ("CreditLimit", "dec"), ("RegionID", "s"), ("PriorityID", "s"), ("DeliveryRouteID", "s"),
    ("PriceCategoryID", "s"), ("PriceListID", "s"), ("DepartmentID", "s"),
    ("InternationalBankAccountNumber", "s"), ("BankSortCode", "s"), ("BankCode", "s"), ("BankSwiftCode", "s"),
    ("AccountReferralID", "s"), ("MobilePhone", "s"), ("IsFranchise", "bool"), ("ContractorTaxCode", "s"),
    ("RowVersionNumber", "s"), ("EDICentralID", "s"), ("EPaymentReference", "s"),
    ("SalesRepresentativeID", "nint"),
]

INVOICE_HEAD: Shape = [
    ("InvoiceID", "int"), ("AccountID", "int"), ("AreaID", "s"), ("CurrencyCode", "s"), ("CurrrencyCode", "s"),
    ("AccountTaxCode", "s"), ("PaymentMethodID", "s"), ("ShipmentViaID", "s"), ("InvoiceNumber", "s"),
    ("ExternalReference", "s"), ("CreationDate", "stamp"), ("InvoiceDate", "date"),
    ("ExternalApproverID", "nint"), ("DeliveryDate", "date"), ("Status", "enum"), ("AccountName", "s"),
    ("AccountAddress1", "s"), ("AccountAddress2", "s"), ("City", "s"), ("County_State", "s"), ("Country", "s"),
    ("PostCode", "s"), ("DeliveryAccountName", "s"), ("DeliveryAccountAddress1", "s"),
    ("DeliveryAccountAddress2", "s"), ("DeliveryCity", "s"), ("DeliveryCounty_State", "s"),
    ("DeliveryCountry", "s"), ("DeliveryPostCode", "s"), ("Contact", "s"), ("AuthorUserID", "s"), ("Phone", "s"),
    ("Notes", "s"), ("DiscountRate", "dec"), ("ForCollection", "bool"), ("ExchangeRate", "dec"),
    ("UseAccountTaxCode", "bool"), ("OrderID", "nint"), ("OrderNumber", "s"), ("DepartmentID", "s"),
    ("Hold", "int"), ("Ledger", "enum"), ("RowVersionNumber", "s"), ("Lines", "lines"), ("IsPrinted", "bool"),
    ("AccountBranchID", "nint"), ("OrderDate", "ndate"), ("ExcludeFromPrinting", "bool"), ("Type", "enum"),
    ("SalesRepresentativeID", "nint"), ("LockUser", "s"), ("NetAmount", "dec"), ("TaxAmount", "dec"),
    ("GrossAmount", "dec"), ("BCNetAmount", "dec"), ("BCTaxAmount", "dec"), ("BCGrossAmount", "dec"),
]
# Members an Invoice has and a CreditNote lacks (the catalogue's two shapes differ only by these).
INVOICE_TAIL: Shape = [("ApprovalStatusName", "s"), ("AuthorUserName", "s"), ("ExternalApproverName", "s"),
                       ("AccountCode", "s")]

INVOICE_LINE: Shape = [
    ("InvoiceItemID", "int"), ("InvoiceID", "int"), ("OrderItemID", "nint"), ("StockItemID", "s"),
    ("StockItemDescription", "s"), ("InvoicedQuantity", "dec"), ("DeliveredQuantity", "dec"),
    ("StockItemCost", "dec"), ("StockItemPrice", "dec"), ("DiscountRate", "dec"), ("ActualPrice", "dec"),
    ("TaxCode", "s"), ("TaxRate", "dec"), ("NetAmount", "dec"), ("TaxAmount", "dec"), ("GrossAmount", "dec"),
    ("LocationID", "s"), ("SublocationID", "s"), ("CreationDate", "stamp"), ("Notes", "s"), ("Notes2", "s"),
    ("AdditionalCost", "bool"), ("GLAccountCode", "s"), ("OpeningStockGLAccountCode", "s"),
    ("DeliveryItemID", "nint"), ("DepartmentID", "s"), ("RowVersionNumber", "s"), ("ProjectNumber", "s"),
]

BATCH_LINE: Shape = [("GLAccountCode", "s"), ("TaxCode", "s"), ("Description", "s"), ("DepartmentID", "s"),
                     ("NetAmount", "dec"), ("TaxRate", "dec"), ("TaxAmount", "dec")]

BANK: Shape = [
    ("GroupOnlinePaymentDuringReconciliation", "bool"), ("Address1", "s"), ("Address2", "s"), ("City", "s"),
    ("County", "s"), ("CountryState", "s"), ("BankID", "int"), ("Code", "s"), ("BankAccountCode", "s"),
    ("Name", "s"), ("CurrencyCode", "s"), ("OverdraftLimit", "dec"), ("InternationalBankAccountNumber", "s"),
    ("SortCode", "s"), ("SwiftCode", "s"), ("OnlineUserID", "s"), ("OnlineBankType", "enum"), ("Phone", "s"),
    ("Fax", "s"), ("RowVersionNumber", "s"),
]

TAX: Shape = [
    ("ID", "s"), ("Code", "s"), ("Description", "s"), ("RowVersionNumber", "s"), ("Rate", "dec"),
    ("EuropeanCommunitySales", "bool"), ("EuropeanCommunityPurchases", "bool"), ("EUTrade", "bool"),
    ("ReverseCharge", "bool"), ("IsGoods", "bool"), ("PartialReclaim", "bool"), ("PartialReclaimRate", "dec"),
    ("IsDefault", "bool"), ("IsTaxExclude", "bool"), ("IsStandardRate", "bool"), ("GrossThreshold", "ndec"),
    ("NetThreshold", "ndec"), ("TaxTypeId", "nint"), ("SalesTaxInclude", "bool"), ("PurchasesTaxInclude", "bool"),
    ("DebitGlAccno", "s"), ("CreditGlAccno", "s"), ("WithHoldingTaxGLAccount", "s"), ("IsWithHoldingTax", "bool"),
    ("Is1099Code", "bool"), ("Checker", "raw"),
]

CHART_LINE: Shape = [
    ("Code", "s"), ("Description", "s"), ("AccountType", "s"), ("DefaultTaxID", "s"), ("GLCategoryID", "s"),
    ("GLSubCategoryID", "s"), ("GLCategory", "s"), ("GLSubCategory", "s"), ("DepartmentID", "s"),
    ("IsDepartmental", "bool"), ("BalanceSheetType", "s"), ("GLCategoryTypeID", "s"),
    ("GLCategoryTypeDescription", "s"), ("IsActive", "bool"), ("CurrencyCode", "s"), ("GLGroupID", "s"),
    ("GLGroup", "s"),
]

_PERIOD_MEMBERS: Shape = [
    ("PeriodID", "int"), ("PeriodNumber", "int"), ("PeriodName", "s"), ("FinancialYear", "int"),
    ("StartDate", "date"), ("EndDate", "date"), ("SalesLedgerClosed", "bool"), ("PurchasesLedgerClosed", "bool"),
    ("GeneralLedgerClosed", "bool"), ("FinancialYearClosed", "bool"),
]
# The DTO serialises its backing fields too: every member appears twice, first with an underscore.
PERIOD: Shape = [("_" + name, kind) for name, kind in _PERIOD_MEMBERS] + _PERIOD_MEMBERS

def render(shape: Shape, record: dict) -> str:
    """A record's members in shape order (no wrapper element)."""
    parts = []
    for name, kind in shape:
        value = record.get(name)
        if kind == "s":
            parts.append(s(name, value))
        elif kind in ("int", "enum"):
            parts.append(f"<{name}>{value if value is not None else 0}</{name}>")
        elif kind == "dec":
            parts.append(f"<{name}>{_number(value)}</{name}>")
        elif kind == "bool":
            parts.append(f"<{name}>{boolean(bool(value))}</{name}>")
        elif kind in ("nint", "ndec"):
            parts.append(f'<{name} xsi:nil="true" />' if value is None else
                         f"<{name}>{value if kind == 'nint' else _number(value)}</{name}>")
        elif kind in ("stamp", "date"):
            parts.append(f"<{name}>{value or '0001-01-01T00:00:00'}</{name}>")
        elif kind == "ndate":
            parts.append(f'<{name} xsi:nil="true" />' if value is None else f"<{name}>{value}</{name}>")
        elif kind == "raw":
            parts.append(value or "")
        else:  # pragma: no cover - a mistake in a shape table
            raise ValueError(f"unknown member kind {kind!r}")
    return "".join(parts)


def read(shape: Shape, node: Node) -> dict:
    """A request object read member by member with XmlSerializer's defaults for what is missing."""
    record: dict = {}
    for name, kind in shape:
        if kind == "s" or kind == "enum":
            record[name] = node.text(name)
        elif kind == "int":
            record[name] = node.integer(name)
        elif kind == "nint":
            record[name] = node.integer(name, None)
        elif kind == "dec":
            record[name] = node.decimal(name)
        elif kind == "ndec":
            record[name] = node.decimal(name, None)
        elif kind == "bool":
            record[name] = node.flag(name)
        elif kind == "stamp":
            value = node.moment(name, None)
            record[name] = None if value is None else stamp_text(value)
        elif kind in ("date", "ndate"):
            value = node.moment(name, None)
            record[name] = None if value is None else date_text(value.date())
    return record


# ------------------------------------------------------------------------------------ invoices, fast path

def render_line(line: dict) -> str:
    g = line.get
    return (
        f"<InvoiceLine><InvoiceItemID>{line['InvoiceItemID']}</InvoiceItemID><InvoiceID>{line['InvoiceID']}</InvoiceID>"
        f"{_nint('OrderItemID', g('OrderItemID'))}{s('StockItemID', g('StockItemID'))}"
        f"{s('StockItemDescription', g('StockItemDescription'))}"
        f"<InvoicedQuantity>{line['InvoicedQuantity']}</InvoicedQuantity>"
        f"<DeliveredQuantity>{line['DeliveredQuantity']}</DeliveredQuantity>"
        f"<StockItemCost>{line['StockItemCost']}</StockItemCost>"
        f"<StockItemPrice>{line['StockItemPrice']}</StockItemPrice>"
        f"<DiscountRate>{line['DiscountRate']}</DiscountRate><ActualPrice>{line['ActualPrice']}</ActualPrice>"
        f"{s('TaxCode', g('TaxCode'))}<TaxRate>{line['TaxRate']}</TaxRate>"
        f"<NetAmount>{line['NetAmount']}</NetAmount><TaxAmount>{line['TaxAmount']}</TaxAmount>"
        f"<GrossAmount>{line['GrossAmount']}</GrossAmount>"
        f"{s('LocationID', g('LocationID'))}{s('SublocationID', g('SublocationID'))}"
        f"<CreationDate>{line['CreationDate']}</CreationDate>{s('Notes', g('Notes'))}{s('Notes2', g('Notes2'))}"
        f"<AdditionalCost>{boolean(line['AdditionalCost'])}</AdditionalCost>"
        f"{s('GLAccountCode', g('GLAccountCode'))}{s('OpeningStockGLAccountCode', g('OpeningStockGLAccountCode'))}"
        f"{_nint('DeliveryItemID', g('DeliveryItemID'))}{s('DepartmentID', g('DepartmentID'))}"
        f"{s('RowVersionNumber', g('RowVersionNumber'))}{s('ProjectNumber', g('ProjectNumber'))}</InvoiceLine>"
    )


def _strings(head: dict, names: tuple[str, ...]) -> str:
    """Consecutive string members (a loop, not a call per member: this is the hot path of a page)."""
    out = ""
    for name in names:
        value = head.get(name)
        if value is not None:
            out += f"<{name}>{esc(value)}</{name}>" if value else f"<{name} />"
    return out


_HEAD_CODES = ("AreaID", "CurrencyCode", "CurrrencyCode", "AccountTaxCode", "PaymentMethodID", "ShipmentViaID",
               "InvoiceNumber", "ExternalReference")
_HEAD_ADDRESS = ("AccountName", "AccountAddress1", "AccountAddress2", "City", "County_State", "Country", "PostCode",
                 "DeliveryAccountName", "DeliveryAccountAddress1", "DeliveryAccountAddress2", "DeliveryCity",
                 "DeliveryCounty_State", "DeliveryCountry", "DeliveryPostCode", "Contact", "AuthorUserID", "Phone",
                 "Notes")
_HEAD_ORDER = ("OrderNumber", "DepartmentID")


def render_invoice(head: dict, lines: list[dict] | str) -> str:
    """The members an Invoice and a CreditNote share (no wrapper element, no Invoice-only tail);
    ``lines`` may come already rendered."""
    g = head.get
    body = lines if isinstance(lines, str) else "".join(render_line(line) for line in lines)
    lines_xml = f"<Lines>{body}</Lines>" if body else "<Lines />"
    return (
        f"<InvoiceID>{head['InvoiceID']}</InvoiceID><AccountID>{head['AccountID']}</AccountID>"
        f"{_strings(head, _HEAD_CODES)}<CreationDate>{head['CreationDate']}</CreationDate>"
        f"<InvoiceDate>{head['InvoiceDate']}</InvoiceDate>{_nint('ExternalApproverID', g('ExternalApproverID'))}"
        f"<DeliveryDate>{head['DeliveryDate']}</DeliveryDate><Status>{head['Status']}</Status>"
        f"{_strings(head, _HEAD_ADDRESS)}<DiscountRate>{head['DiscountRate']}</DiscountRate>"
        f"<ForCollection>{boolean(head['ForCollection'])}</ForCollection>"
        f"<ExchangeRate>{head['ExchangeRate']}</ExchangeRate>"
        f"<UseAccountTaxCode>{boolean(head['UseAccountTaxCode'])}</UseAccountTaxCode>"
        f"{_nint('OrderID', g('OrderID'))}{_strings(head, _HEAD_ORDER)}"
        f"<Hold>{head['Hold']}</Hold><Ledger>{head['Ledger']}</Ledger>{s('RowVersionNumber', g('RowVersionNumber'))}"
        f"{lines_xml}<IsPrinted>{boolean(head['IsPrinted'])}</IsPrinted>"
        f"{_nint('AccountBranchID', g('AccountBranchID'))}{_ndate('OrderDate', g('OrderDate'))}"
        f"<ExcludeFromPrinting>{boolean(head['ExcludeFromPrinting'])}</ExcludeFromPrinting><Type>{head['Type']}</Type>"
        f"{_nint('SalesRepresentativeID', g('SalesRepresentativeID'))}{s('LockUser', g('LockUser'))}"
        f"<NetAmount>{head['NetAmount']}</NetAmount><TaxAmount>{head['TaxAmount']}</TaxAmount>"
        f"<GrossAmount>{head['GrossAmount']}</GrossAmount><BCNetAmount>{head['BCNetAmount']}</BCNetAmount>"
        f"<BCTaxAmount>{head['BCTaxAmount']}</BCTaxAmount><BCGrossAmount>{head['BCGrossAmount']}</BCGrossAmount>"
    )


def _number(value: Decimal | str | int | None) -> str:
    """Stored amounts are already decimal text; computed ones are Decimals."""
    if value is None:
        return "0"
    return value if isinstance(value, str) else dec(value)


def invoice_tail(author_name: str | None, account_code: str | None) -> str:
    return s("AuthorUserName", author_name) + s("AccountCode", account_code)


def _nint(name: str, value: int | None) -> str:
    return f'<{name} xsi:nil="true" />' if value is None else f"<{name}>{value}</{name}>"


def _ndate(name: str, value: str | None) -> str:
    return f'<{name} xsi:nil="true" />' if value is None else f"<{name}>{value}</{name}>"


def read_invoice(node: Node) -> tuple[dict, list[dict]]:
    head = read(INVOICE_HEAD + INVOICE_TAIL, node)
    lines_node = node.child("Lines")
    lines = [read(INVOICE_LINE, item) for item in lines_node.children("InvoiceLine")] if lines_node else []
    return head, lines
