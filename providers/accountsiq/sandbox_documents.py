"""Sales invoices and credit notes on the sandbox: saving (draft, "Processed"), posting ("Posted",
which writes the transaction and its ledger lines), batch documents (posted at once, no document
record), and rendering the stored compact records back into the catalogue's shapes.

Item documents are priced by the service: a line's net is quantity x price less its discount,
rounded half-up to the penny, its tax the net x the tax code's rate rounded the same way, and the
document's totals the sums of its lines; what a client sends in NetAmount/TaxAmount/GrossAmount/
ActualPrice/TaxRate is replaced. Batch documents keep the client's NetAmount and TaxAmount as they
are (rounded to the penny), which is why the provider recommends them for VAT computed elsewhere.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from providers.accountsiq.sandbox_data import (
    CENT,
    I_ACCOUNT,
    I_AUTHOR,
    I_CODE,
    I_CREATED,
    I_DATE,
    I_EXT,
    I_GROSS,
    I_HEAD,
    I_ID,
    I_KIND,
    I_LINES,
    I_MODIFIED,
    I_NET,
    I_NUMBER,
    I_STATUS,
    I_TAX,
    I_TXN,
    I_VERSION,
    L_ACTUAL,
    L_DESC,
    L_DISCOUNT,
    L_EXTRA,
    L_GL,
    L_GROSS,
    L_ID,
    L_NET,
    L_PRICE,
    L_QTY,
    L_RATE,
    L_STOCK,
    L_TAX,
    L_TAXCODE,
    ZERO,
    Entity,
    modified_text,
    money,
)
from providers.accountsiq.sandbox_envelope import AiqError, date_text, esc, stamp_text
from providers.accountsiq.sandbox_reference import (
    CURRENCY,
    DEBTORS,
    GL_ACCOUNTS,
    TAX_CODES,
    VAT_CONTROL,
)
from providers.accountsiq.sandbox_shapes import INVOICE_HEAD, invoice_tail, render_invoice, render_line

API_AUTHOR = "integration"
AUTHOR_NAMES = {API_AUTHOR: "API Integration", "bookkeeper": "Demo Bookkeeper"}
_HUNDRED = Decimal(100)
_PRICE = Decimal("0.0001")
_MAX_REF = 50
_MAX_NUMBER = 20
# Header members kept in the record's own positions or recomputed: everything else a client sends
# that is not its default is kept as given.
_CORE = {"InvoiceID", "AccountID", "CurrencyCode", "CurrrencyCode", "InvoiceNumber", "ExternalReference",
         "CreationDate", "InvoiceDate", "Status", "AuthorUserID", "RowVersionNumber", "Lines", "Type", "Ledger",
         "NetAmount", "TaxAmount", "GrossAmount", "BCNetAmount", "BCTaxAmount", "BCGrossAmount", "ExchangeRate",
         "IsPrinted", "OrderID", "OrderNumber", "ExternalApproverID", "AccountBranchID", "SalesRepresentativeID",
         "OrderDate", "LockUser"}
_HEAD_DEFAULTS = {"DiscountRate": Decimal(0), "ForCollection": False, "UseAccountTaxCode": False, "Hold": 0,
                  "ExcludeFromPrinting": False}
_SNAPSHOT = {"AccountName": "Name", "AccountAddress1": "Address1", "AccountAddress2": "Address2", "City": "City",
             "County_State": "County_State", "Country": "Country", "PostCode": "PostCode", "Contact": "Contact",
             "Phone": "Phone", "AccountTaxCode": "DefaultTaxCode"}
_LINE_EXTRAS = ("LocationID", "SublocationID", "Notes", "Notes2", "OpeningStockGLAccountCode", "ProjectNumber")
KIND_NAMES = {"Invoice": "invoice", "Note": "credit note"}


# ---------------------------------------------------------------------------------------------- rendering

def expand(record: list, lines_as_dicts: bool = True) -> tuple[dict, list[dict] | str]:
    """A stored compact document as the member dicts the renderers take (or, for speed, with its
    lines already rendered)."""
    kind, status, version, created = record[I_KIND], record[I_STATUS], record[I_VERSION], record[I_CREATED]
    net, tax, gross = record[I_NET], record[I_TAX], record[I_GROSS]
    head = {
        "InvoiceID": record[I_ID], "AccountID": record[I_ACCOUNT], "CurrencyCode": CURRENCY, "CurrrencyCode": CURRENCY,
        "InvoiceNumber": record[I_NUMBER] or None, "ExternalReference": record[I_EXT] or None,
        "CreationDate": created, "InvoiceDate": record[I_DATE], "DeliveryDate": record[I_DATE], "Status": status,
        "AuthorUserID": record[I_AUTHOR], "DiscountRate": "0", "ForCollection": False, "ExchangeRate": "1",
        "UseAccountTaxCode": False, "Hold": 0, "Ledger": "Sales", "RowVersionNumber": version,
        "IsPrinted": status == "Posted", "ExcludeFromPrinting": False, "Type": kind, "NetAmount": net,
        "TaxAmount": tax, "GrossAmount": gross, "BCNetAmount": net, "BCTaxAmount": tax, "BCGrossAmount": gross,
    }
    if record[I_HEAD]:
        head.update(record[I_HEAD])
    invoice_id = record[I_ID]
    if not lines_as_dicts:
        return head, "".join(_line_xml(item, invoice_id, created, version) for item in record[I_LINES])
    return head, [_line_dict(item, invoice_id, created, version) for item in record[I_LINES]]


def _line_dict(item: list, invoice_id: int, created: str, version: str) -> dict:
    line = {
        "InvoiceItemID": item[L_ID], "InvoiceID": invoice_id, "StockItemID": item[L_STOCK],
        "StockItemDescription": item[L_DESC], "InvoicedQuantity": item[L_QTY], "DeliveredQuantity": item[L_QTY],
        "StockItemCost": "0", "StockItemPrice": item[L_PRICE], "DiscountRate": item[L_DISCOUNT],
        "ActualPrice": item[L_ACTUAL], "TaxCode": item[L_TAXCODE], "TaxRate": item[L_RATE],
        "NetAmount": item[L_NET], "TaxAmount": item[L_TAX], "GrossAmount": item[L_GROSS], "CreationDate": created,
        "AdditionalCost": False, "GLAccountCode": item[L_GL], "RowVersionNumber": version,
    }
    if item[L_EXTRA]:
        line.update(item[L_EXTRA])
    return line


def _line_xml(item: list, invoice_id: int, created: str, version: str) -> str:
    """A stored line in the InvoiceLine shape: the common case (nothing beyond the compact members)
    written directly, anything else through the general renderer."""
    if item[L_EXTRA] is not None:
        return render_line(_line_dict(item, invoice_id, created, version))
    # Tax and GL codes were checked against the entity's lists and the version is base64: no escaping.
    stock, description = item[1], item[2]
    return (f'<InvoiceLine><InvoiceItemID>{item[0]}</InvoiceItemID><InvoiceID>{invoice_id}</InvoiceID>'
            f'<OrderItemID xsi:nil="true" />'
            f"{'' if stock is None else f'<StockItemID>{esc(stock)}</StockItemID>'}"
            f"{'' if description is None else f'<StockItemDescription>{esc(description)}</StockItemDescription>'}"
            f"<InvoicedQuantity>{item[3]}</InvoicedQuantity><DeliveredQuantity>{item[3]}</DeliveredQuantity>"
            f"<StockItemCost>0</StockItemCost><StockItemPrice>{item[4]}</StockItemPrice>"
            f"<DiscountRate>{item[5]}</DiscountRate><ActualPrice>{item[6]}</ActualPrice><TaxCode>{item[7]}</TaxCode>"
            f"<TaxRate>{item[8]}</TaxRate><NetAmount>{item[9]}</NetAmount><TaxAmount>{item[10]}</TaxAmount>"
            f"<GrossAmount>{item[11]}</GrossAmount><CreationDate>{created}</CreationDate>"
            f"<AdditionalCost>false</AdditionalCost><GLAccountCode>{item[12]}</GLAccountCode>"
            f'<DeliveryItemID xsi:nil="true" /><RowVersionNumber>{version}</RowVersionNumber></InvoiceLine>')


def document_xml(record: list, element: str) -> str:
    """``<Invoice>``/``<CreditNote>``/``<Result>`` around a document; an Invoice carries the four
    Invoice-only members at its end (whichever kind of document it holds)."""
    head, lines = expand(record, lines_as_dicts=False)
    inner = render_invoice(head, lines)
    if element == "Invoice" or (element == "Result" and record[I_KIND] == "Invoice"):
        inner += invoice_tail(AUTHOR_NAMES.get(record[I_AUTHOR]), record[I_CODE])
    return f"<{element}>{inner}</{element}>"


def new_document_xml(entity: Entity, customer: dict, kind: str, today: dt.date, now: dt.datetime) -> str:
    """The shell GetNewSalesInvoice / GetNewSalesCreditNote hands out: the customer's defaults, no lines."""
    record = [0, kind, customer["AccountID"], customer["Code"], "Processed", "", "", stamp_text(now),
              date_text(today), API_AUTHOR, None, "0.00", "0.00", "0.00", 0, "", _snapshot({}, customer), []]
    return document_xml(record, "Result")


def _snapshot(head: dict, customer: dict) -> dict:
    return {member: head.get(member) if head.get(member) is not None else customer.get(source)
            for member, source in _SNAPSHOT.items() if (head.get(member) or customer.get(source)) is not None}


# ----------------------------------------------------------------------------------------------- saving

def save_document(entity: Entity, kind: str, head: dict, lines: list[dict], create: bool,
                  now: dt.datetime) -> int:
    """SaveInvoice/SaveCreditNote: a new draft or a changed one. Returns the document id."""
    what = KIND_NAMES[kind]
    existing = None
    if not create:
        existing = entity.invoice(head.get("InvoiceID") or 0)
        if existing is None:
            raise AiqError("INVOICE_ID_DOES_NOT_EXIST", f"There is no {what} with ID {head.get('InvoiceID')}.")
        if existing[I_KIND] != kind:
            raise AiqError("INVOICE_TYPE_INCORRECT",
                           f"Document {existing[I_ID]} is a {KIND_NAMES[existing[I_KIND]]}, not a {what}.")
        if existing[I_STATUS] == "Posted":
            raise AiqError("TRANSACTION_IS_NOT_EDITABLE",
                           f"The {what} {existing[I_NUMBER]} (ID {existing[I_ID]}) has been posted and can no longer "
                           "be changed.")
        sent_version = head.get("RowVersionNumber")
        if sent_version and sent_version != existing[I_VERSION]:
            raise AiqError("OUTDATED_RECORD", f"The {what} {existing[I_NUMBER]} has been changed since it was "
                           "read: read it again and send the RowVersionNumber it now has.")
    customer = _customer_of(entity, head)
    currency = head.get("CurrencyCode")
    if not currency:
        raise AiqError("CURRENCY_CODE_IS_NULL", "The currency code is mandatory.")
    if currency != CURRENCY:
        raise AiqError("CURRENCY_CODE_DOES_NOT_EXIST", f"The currency {currency} is not set up in this entity.")
    day = _document_date(entity, head.get("InvoiceDate"))
    if head.get("OrderID") is not None:
        raise AiqError("ORDER_ID_DOES_NOT_EXIST", f"There is no sales order with ID {head['OrderID']}.")
    _check_department(head.get("DepartmentID"))
    if head.get("AccountTaxCode") and head["AccountTaxCode"] not in TAX_CODES:
        raise AiqError("TAX_CODE_DOES_NOT_EXIST", f"The tax code {head['AccountTaxCode']} does not exist.")
    ext = head.get("ExternalReference") or ""
    if len(ext) > _MAX_REF:
        raise AiqError("INVOICE_EXTERNAL_REFERENCE_IS_TOO_LONG",
                       f"The external reference is longer than {_MAX_REF} characters.")
    document_id = existing[I_ID] if existing else 0
    if entity.ref_in_use(kind, ext, exclude_invoice=document_id):
        raise AiqError("INVOICE_EXTERNAL_REFERENCE_ALREADY_EXISTS",
                       f"A {what} with the external reference '{ext}' already exists in this entity.")
    number = head.get("InvoiceNumber") or ""
    if len(number) > _MAX_NUMBER:
        raise AiqError("INVOICE_NUMBER_IS_TOO_LONG", f"The number is longer than {_MAX_NUMBER} characters.")
    if number and entity.numbers.get((kind, number), document_id) != document_id:
        raise AiqError("INVOICE_NUMBER_ALREADY_EXISTS", f"The {what} number {number} is already used.")
    kept_lines = {item[L_ID] for item in existing[I_LINES]} if existing else set()
    compact_lines, net, tax = _price_lines(entity, customer, lines, kept_lines)
    if not number:
        number = existing[I_NUMBER] if existing and existing[I_NUMBER] else _next_number(entity, kind)
    if document_id == 0:
        document_id = entity.next("invoice")
    stamp = modified_text(now)
    extras = {name: value for name, value in head.items()
              if name not in _CORE and name not in _SNAPSHOT and name in _HEAD_MEMBERS
              and value is not None and _HEAD_DEFAULTS.get(name) != value}
    if "DiscountRate" in extras:
        extras["DiscountRate"] = money(extras["DiscountRate"])
    if "DeliveryDate" in extras and extras["DeliveryDate"] == "0001-01-01T00:00:00":
        del extras["DeliveryDate"]
    extras.update(_snapshot(head, customer))
    record = [document_id, kind, customer["AccountID"], customer["Code"], "Processed", number, ext,
              existing[I_CREATED] if existing else stamp_text(now), date_text(day),
              existing[I_AUTHOR] if existing else API_AUTHOR, entity.new_row_version(), money(net), money(tax),
              money(net + tax), 0, stamp, extras, compact_lines]
    entity.save_invoice(record)
    return document_id


_HEAD_MEMBERS = {name for name, _kind in INVOICE_HEAD}


def _customer_of(entity: Entity, head: dict) -> dict:
    code = head.get("AccountCode")
    if code:
        customer = entity.customers.get(code)
        if customer is None:
            raise AiqError("CUSTOMER_CODE_DOES_NOT_EXIST", f"The customer code {code} does not exist.")
        return customer
    customer = entity.customer_by_id(head.get("AccountID") or 0)
    if customer is None:
        raise AiqError("CUSTOMER_ID_DOES_NOT_EXIST", f"There is no customer with AccountID {head.get('AccountID')}.")
    return customer


def customer_by_code(entity: Entity, code: str | None) -> dict:
    customer = entity.customers.get(code or "")
    if customer is None:
        raise AiqError("CUSTOMER_CODE_DOES_NOT_EXIST", f"The customer code {code} does not exist.")
    return customer


def _document_date(entity: Entity, text: str | None) -> dt.date:
    day = dt.date.fromisoformat(text[:10]) if text else dt.date(1, 1, 1)
    if entity.period_for(day) is None:
        first, last = entity.periods[0].start, entity.periods[-1].end
        raise AiqError("DATE_IS_OUT_OF_RANGE", f"The date {day:%d/%m/%Y} is outside the financial periods of this "
                       f"entity ({first:%d/%m/%Y} to {last:%d/%m/%Y}).")
    return day


def _check_department(department: str | None) -> None:
    if department:
        raise AiqError("DEPARTMENT_ID_DOES_NOT_EXIST", f"The department {department} does not exist.")


def _tax_code(code: str | None, customer: dict) -> str:
    code = code or customer.get("DefaultTaxCode") or ""
    if code not in TAX_CODES:
        raise AiqError("TAX_CODE_DOES_NOT_EXIST", f"The tax code {code} does not exist.")
    return code


def _gl_code(code: str | None, customer: dict) -> str:
    code = code or customer.get("DefaultGLAccountCode") or ""
    account = GL_ACCOUNTS.get(code)
    if account is None:
        raise AiqError("GLACCOUNT_CODE_DOES_NOT_EXIST", f"The GL account {code} does not exist.")
    if account.account_type != "Posting":
        raise AiqError("GLACCOUNT_IS_NOT_POSTING_OR_DOES_NOT_EXIST",
                       f"The GL account {code} is a {account.account_type.lower()} account: lines post to "
                       "posting accounts only.")
    return code


def _price_lines(entity: Entity, customer: dict, lines: list[dict], kept: set[int]) -> tuple[list, Decimal, Decimal]:
    compact, net_total, tax_total = [], ZERO, ZERO
    for number, line in enumerate(lines, start=1):
        quantity = line.get("InvoicedQuantity") or ZERO
        price = line.get("StockItemPrice") or ZERO
        discount = line.get("DiscountRate") or ZERO
        if quantity < 0:
            raise AiqError("INVOICED_QUANTITY_IS_NEGATIVE", f"Line {number}: the quantity cannot be negative.")
        if price < 0:
            raise AiqError("STOCKITEM_PRICE_IS_NEGATIVE", f"Line {number}: the price cannot be negative.")
        if discount < 0:
            raise AiqError("DISCOUNT_RATE_IS_NEGATIVE", f"Line {number}: the discount cannot be negative.")
        if discount >= _HUNDRED:
            raise AiqError("DISCOUNT_RATE_IS_100_PERCENT_OR_MORE", f"Line {number}: the discount must be below 100%.")
        _check_department(line.get("DepartmentID"))
        tax_code = _tax_code(line.get("TaxCode"), customer)
        gl = _gl_code(line.get("GLAccountCode"), customer)
        rate = TAX_CODES[tax_code].rate
        amount, actual = quantity * price, price
        if discount:
            amount = amount * (_HUNDRED - discount) / _HUNDRED
            actual = actual * (_HUNDRED - discount) / _HUNDRED
        net = amount.quantize(CENT, ROUND_HALF_UP)
        tax = (net * rate / _HUNDRED).quantize(CENT, ROUND_HALF_UP)
        net_total += net
        tax_total += tax
        item_id = line.get("InvoiceItemID") or 0
        if item_id not in kept:
            item_id = entity.next("line")
        extra = {name: line[name] for name in _LINE_EXTRAS if line.get(name) is not None} or None
        compact.append([item_id, line.get("StockItemID"), line.get("StockItemDescription"), money(quantity),
                        money(price), money(discount), money(actual.quantize(_PRICE)), tax_code, money(rate),
                        money(net), money(tax), money(net + tax), gl, extra])
    return compact, net_total, tax_total


def _next_number(entity: Entity, kind: str) -> str:
    if kind == "Invoice":
        return f"INV-{entity.next('invoice_number'):06d}"
    return f"CRN-{entity.next('credit_number'):06d}"


# ---------------------------------------------------------------------------------------------- posting

def post_document(entity: Entity, kind: str, document_id: int, now: dt.datetime) -> int:
    """PostInvoice/PostCreditNote: the draft becomes a transaction in the ledger. Returns its id."""
    what = KIND_NAMES[kind]
    record = entity.invoice(document_id)
    if record is None:
        raise AiqError("INVOICE_ID_DOES_NOT_EXIST", f"There is no {what} with ID {document_id}.")
    if record[I_KIND] != kind:
        raise AiqError("INVOICE_TYPE_INCORRECT",
                       f"Document {document_id} is a {KIND_NAMES[record[I_KIND]]}, not a {what}.")
    if record[I_STATUS] == "Posted":
        raise AiqError("INVOICE_CANNOT_BE_POSTED", f"The {what} {record[I_NUMBER]} has already been posted, as "
                       f"transaction {record[I_TXN]}.")
    if not record[I_LINES]:
        raise AiqError("INVOICE_CANNOT_BE_POSTED", f"The {what} {record[I_NUMBER]} has no lines to post.")
    customer = entity.customer_by_id(record[I_ACCOUNT]) or {"AccountID": record[I_ACCOUNT],
                                                           "Code": record[I_CODE], "Name": ""}
    day = _document_date(entity, record[I_DATE])
    sign = 1 if kind == "Invoice" else -1
    gross = Decimal(record[I_GROSS])
    revenue: dict[tuple[str, str], Decimal] = {}
    taxes: dict[str, Decimal] = {}
    for item in record[I_LINES]:
        key = (item[L_GL], item[L_TAXCODE])
        revenue[key] = revenue.get(key, ZERO) + Decimal(item[L_NET])
        if Decimal(item[L_TAX]):
            taxes[item[L_TAXCODE]] = taxes.get(item[L_TAXCODE], ZERO) + Decimal(item[L_TAX])
    ledger = [[DEBTORS, money(sign * gross), "C", "", record[I_NUMBER]]]
    ledger += [[code, money(-sign * amount), "N", tax, GL_ACCOUNTS[code].name]
               for (code, tax), amount in sorted(revenue.items())]
    ledger += [[VAT_CONTROL, money(-sign * amount), "T", tax, TAX_CODES[tax].description]
               for tax, amount in sorted(taxes.items())]
    stamp = modified_text(now)
    txn_id = entity.next("txn")
    control = money(sign * gross)
    entity.save_txn([txn_id, "SI" if kind == "Invoice" else "SN", "Sales", customer["AccountID"], customer["Code"],
                     customer["Name"], document_id, False, record[I_NUMBER], record[I_EXT], day.isoformat(),
                     stamp_text(now), stamp, "Created", control, control, "", "0", record[I_NUMBER], False, ledger],
                    posting=True)
    record = list(record)
    record[I_STATUS], record[I_TXN], record[I_MODIFIED] = "Posted", txn_id, stamp
    record[I_VERSION] = entity.new_row_version()
    entity.save_invoice(record)
    return txn_id


def create_batch(entity: Entity, kind: str, customer_code: str | None, date_value: dt.datetime,
                 ext: str, description: str | None, lines: list[dict], rate: Decimal,
                 now: dt.datetime) -> tuple[int, str]:
    """CreateBatchSalesInvoice/CreditNote: straight to the transaction tables, posted, no document
    record (so the GetInvoices... methods do not see it; the transaction methods do)."""
    what = KIND_NAMES[kind]
    customer = customer_by_code(entity, customer_code)
    day = _document_date(entity, date_text(date_value.date()))
    if not lines:
        code = "BATCH_INVOICE_WITH_NO_INVOICE_LINES" if kind == "Invoice" else "BATCH_CREDIT_NOTE_WITH_NO_LINES"
        raise AiqError(code, f"A batch {what} needs at least one line.")
    if rate <= 0:
        raise AiqError("EXCHANGE_RATE_IS_NEGATIVE_OR_ZERO", "The exchange rate must be more than zero.")
    if len(ext) > _MAX_REF:
        raise AiqError("TRANSACTION_EXTERNAL_REFERENCE_IS_TOO_LONG",
                       f"The external reference is longer than {_MAX_REF} characters.")
    if entity.ref_in_use(kind, ext):
        raise AiqError("INVOICE_EXTERNAL_REFERENCE_ALREADY_EXISTS",
                       f"A {what} with the external reference '{ext}' already exists in this entity.")
    sign = 1 if kind == "Invoice" else -1
    net_total = tax_total = ZERO
    ledger_lines = []
    taxes: dict[str, Decimal] = {}
    for number, line in enumerate(lines, start=1):
        if not line.get("GLAccountCode"):
            raise AiqError("BATCH_INVOICE_LINE_MISSING_GL_ACCOUNT", f"Line {number} has no GL account code.")
        if not line.get("Description"):
            raise AiqError("BATCH_INVOICE_LINE_MISSING_DESCRIPTION", f"Line {number} has no description.")
        _check_department(line.get("DepartmentID"))
        gl = _gl_code(line["GLAccountCode"], customer)
        tax_code = _tax_code(line.get("TaxCode"), customer)
        net = (line.get("NetAmount") or ZERO).quantize(CENT, ROUND_HALF_UP)
        tax = (line.get("TaxAmount") or ZERO).quantize(CENT, ROUND_HALF_UP)
        net_total += net
        tax_total += tax
        ledger_lines.append([gl, money(-sign * net), "N", tax_code, line["Description"]])
        if tax:
            taxes[tax_code] = taxes.get(tax_code, ZERO) + tax
    gross = net_total + tax_total
    if gross < 0:
        code = "BATCH_INVOICE_TOTAL_GROSS_AMT_NEGATIVE" if kind == "Invoice" else \
            "BATCH_CREDIT_NOTE_TOTAL_GROSS_AMT_NEGATIVE"
        raise AiqError(code, f"The batch {what} adds up to a negative amount ({gross}).")
    number = _next_number(entity, kind)
    ledger = [[DEBTORS, money(sign * gross), "C", "", description or number], *ledger_lines]
    ledger += [[VAT_CONTROL, money(-sign * amount), "T", tax, TAX_CODES[tax].description]
               for tax, amount in sorted(taxes.items())]
    txn_id = entity.next("txn")
    control = money(sign * gross)
    entity.save_txn([txn_id, "SI" if kind == "Invoice" else "SN", "Sales", customer["AccountID"], customer["Code"],
                     customer["Name"], 0, True, number, ext, day.isoformat(), stamp_text(now), modified_text(now),
                     "Created", control, control, "", "0", description or number, False, ledger], posting=True)
    return txn_id, number
