"""The sandbox's customer, invoice, credit note and document operations (request and answer shapes
from the provider's Postman catalogue; rules in the module docstring of ``sandbox.py``)."""

from __future__ import annotations

import base64
import binascii
import re
from decimal import Decimal

from providers.accountsiq.sandbox_calls import Answer, Call, method
from providers.accountsiq.sandbox_data import I_KIND, T_LINES, Entity, modified_text
from providers.accountsiq.sandbox_documents import (
    API_AUTHOR,
    create_batch,
    customer_by_code,
    document_xml,
    new_document_xml,
    post_document,
    save_document,
)
from providers.accountsiq.sandbox_envelope import AiqError, Node, SoapFault, date_text, esc, stamp_text
from providers.accountsiq.sandbox_pdf import invoice_pdf
from providers.accountsiq.sandbox_queries import invoices_by
from providers.accountsiq.sandbox_reference import (
    COUNTRY_NAMES,
    CREDIT_TERMS,
    CURRENCY,
    CURRENT_ACCOUNT,
    DEBTORS,
    DEFAULT_CREDIT_TERM,
    DEFAULT_SALES,
    DEFAULT_TAX,
    GL_ACCOUNTS,
    TAX_CODES,
)
from providers.accountsiq.sandbox_shapes import BATCH_LINE, CUSTOMER, read, read_invoice, render
from providers.decimal_json import loads

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9\-_./&]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_CODE = 20
_DOCUMENT_TYPES = {"pdf", "csv", "xls", "xlsx", "doc", "docx", "txt", "png", "jpg", "jpeg", "gif", "tif", "tiff",
                   "msg", "eml", "zip", "xml"}
_SERVER_SET = ("AccountID", "CreationDate", "AuthorUserID", "RowVersionNumber")


def _entity(call: Call) -> Entity:
    assert call.entity is not None
    return call.entity


# --------------------------------------------------------------------------------------------- customers

def _customer_list(entity: Entity, codes: list[str]) -> str:
    parts = []
    for code in codes:
        text = entity.store.get_text(entity.id, "customer.xml", code)
        if text is not None:
            parts.append("<Customer>" + loads(text) + "</Customer>")
    return "".join(parts)


@method("GetCustomerList")
def get_customer_list(call: Call) -> Answer:
    entity = _entity(call)
    texts = entity.store.page_texts(entity.id, "customer.xml", 0, -1)
    return Answer("".join("<Customer>" + loads(text) + "</Customer>" for text in texts))


@method("GetActiveCustomerList")
def get_active_customer_list(call: Call) -> Answer:
    entity = _entity(call)
    codes = [code for code, record in entity.customers.items() if record.get("IsActive")]
    return Answer(_customer_list(entity, sorted(codes, key=lambda c: entity.customers[c]["AccountID"])))


@method("GetCustomer")
def get_customer(call: Call) -> Answer:
    entity = _entity(call)
    record = customer_by_code(entity, call.body.text("customerCode"))
    return Answer(render(CUSTOMER, record))


@method("GetCustomersBy")
def get_customers_by(call: Call) -> Answer:
    """Emails (any of, case-insensitive) and FromLastModifiedDateInUTC (changed at or after)."""
    entity = _entity(call)
    query = call.body.child("query")
    emails = {e.strip().lower() for e in query.strings("Emails") if e.strip()} if query else set()
    since = query.moment("FromLastModifiedDateInUTC", None) if query else None
    stamp = modified_text(since) if since else ""
    codes = [code for code, record in entity.customers.items()
             if (not emails or (record.get("Email") or "").lower() in emails) and record.get("_m", "") >= stamp]
    codes.sort(key=lambda c: entity.customers[c]["AccountID"])
    return Answer(_customer_list(entity, codes))


@method("GetNewCustomerFromDefaults")
def get_new_customer_from_defaults(call: Call) -> Answer:
    return Answer(render(CUSTOMER, _customer_defaults(call)))


def _customer_defaults(call: Call) -> dict:
    return {"AccountID": 0, "ExternalApproverID": None, "LedgerType": "Sales", "CountryCode": "GB",
            "DefaultTaxCode": DEFAULT_TAX, "CreditTermID": DEFAULT_CREDIT_TERM, "CurrencyCode": CURRENCY,
            "CreationDate": stamp_text(call.now()), "Country": COUNTRY_NAMES["GB"], "DiscountRate": Decimal("0.00"),
            "UseAccountTaxCode": False, "DefaultGLAccountCode": DEFAULT_SALES, "ControlGLAccountCode": DEBTORS,
            "IsActive": True, "Hold": 0, "HeadOfficeAccountID": None, "UseHeadOffice": False, "IsHeadOffice": False,
            "CreditLimit": Decimal("0.00"), "BankCode": CURRENT_ACCOUNT, "IsFranchise": False,
            "SalesRepresentativeID": None}


def _update_customer(call: Call) -> str:
    entity = _entity(call)
    node = call.body.child("customer")
    if node is None:
        raise AiqError("INVALID_STATE_ENTITY_OR_ACCOUNT_IS_NULL", "No customer was sent.")
    create = call.body.flag("create")
    sent = read(CUSTOMER, node)
    code = sent.get("Code")
    if code is None or code == "":
        raise AiqError("ACCOUNT_CODE_IS_EMPTY", "The customer code is mandatory: AccountsIQ does not generate "
                       "customer codes.")
    if code != code.strip():
        raise AiqError("ACCOUNT_CODE_CANNOT_CONTAIN_LEADING_AND_OR_TRAILING_WHITESPACES",
                       f"The customer code '{code}' starts or ends with spaces.")
    if code != code.upper():
        raise AiqError("ACCOUNT_CODE_MUST_BE_UPPER_CASE", f"The customer code '{code}' must be in upper case.")
    if len(code) > _MAX_CODE:
        raise AiqError("ACCOUNT_CODE_IS_TOO_LONG", f"The customer code is longer than {_MAX_CODE} characters.")
    if not _CODE.match(code):
        raise AiqError("ACCOUNT_CODE_CONTAINS_INVALID_CHARACTERS",
                       f"The customer code '{code}' may contain letters, digits and - _ . / & only.")
    existing = entity.customers.get(code)
    if create and existing is not None:
        raise AiqError("ACCOUNT_CODE_ALREADY_IN_USE", f"The customer code {code} is already in use.")
    if not create and existing is None:
        raise AiqError("CUSTOMER_CODE_DOES_NOT_EXIST", f"The customer code {code} does not exist.")
    if not (sent.get("Name") or "").strip():
        raise AiqError("ACCOUNT_NAME_IS_EMPTY", "The customer name is mandatory.")
    if existing is not None and sent.get("RowVersionNumber") and \
            sent["RowVersionNumber"] != existing.get("RowVersionNumber"):
        raise AiqError("OUTDATED_RECORD", f"The customer {code} has been changed since it was read: read it "
                       "again and send the RowVersionNumber it now has.")
    if (sent.get("CurrencyCode") or CURRENCY) != CURRENCY:
        raise AiqError("CUSTOMER_CURRENCY_CODE_NOT_FOUND", f"The currency {sent['CurrencyCode']} is not set up.")
    if sent.get("DefaultTaxCode") and sent["DefaultTaxCode"] not in TAX_CODES:
        raise AiqError("CUSTOMER_TAX_CODE_NOT_FOUND", f"The tax code {sent['DefaultTaxCode']} does not exist.")
    for member, error in (("DefaultGLAccountCode", "CUSTOMER_DEFAULT_GL_ACCOUNT_NOT_FOUND"),
                          ("ControlGLAccountCode", "CUSTOMER_CONTROL_GL_ACCOUNT_NOT_FOUND"),
                          ("BankCode", "CUSTOMER_BANK_GL_ACCOUNT_NOT_FOUND")):
        if sent.get(member) and sent[member] not in GL_ACCOUNTS:
            raise AiqError(error, f"The GL account {sent[member]} ({member}) does not exist.")
    if sent.get("CreditTermID") and sent["CreditTermID"] not in CREDIT_TERMS:
        raise AiqError("CUSTOMER_CREDIT_TERM_NOT_FOUND", f"The credit term {sent['CreditTermID']} does not exist.")
    if sent.get("AccountReferralID"):
        raise AiqError("CUSTOMER_ACCOUNT_REFERRAL_NOT_FOUND",
                       f"The account referral {sent['AccountReferralID']} does not exist (leave it empty).")
    if sent.get("Email") and not _EMAIL.match(sent["Email"]):
        raise AiqError("ACCOUNT_EMAIL_INVALID_FORMAT", f"'{sent['Email']}' is not an email address.")
    if (sent.get("CreditLimit") or 0) < 0:
        raise AiqError("ACCOUNT_CREDIT_LIMIT_MUST_BE_POSITIVE", "The credit limit cannot be negative.")
    if sent.get("DepartmentID"):
        raise AiqError("DEPARTMENT_ID_DOES_NOT_EXIST", f"The department {sent['DepartmentID']} does not exist.")
    now = call.now()
    record = dict(sent)
    if existing is None:
        record["AccountID"] = entity.next("account")
        record["CreationDate"] = stamp_text(now)
        record["AuthorUserID"] = API_AUTHOR
    else:
        for member in _SERVER_SET:
            record[member] = existing.get(member)
    defaults = _customer_defaults(call)
    for member in ("LedgerType", "DefaultTaxCode", "CreditTermID", "CurrencyCode", "DefaultGLAccountCode",
                   "ControlGLAccountCode", "BankCode"):
        if not record.get(member):
            record[member] = defaults[member]
    record["RowVersionNumber"] = entity.new_row_version()
    entity.save_customer(record, modified_text(now))
    return code


@method("UpdateCustomerGetbackCustomerCode")
def update_customer_getback_code(call: Call) -> Answer:
    return Answer(esc(_update_customer(call)))


@method("UpdateCustomer")
def update_customer(call: Call) -> Answer:
    _update_customer(call)
    return Answer("true")


@method("DeleteCustomerByCode", result=False)
def delete_customer_by_code(call: Call) -> Answer:
    entity = _entity(call)
    customer = customer_by_code(entity, call.body.text("customerCode"))
    account_id = customer["AccountID"]
    if any(row.account_id == account_id for row in entity.invoices.values()) or \
            any(row.account_id == account_id and row.ledger == "Sales" for row in entity.txns.values()):
        raise AiqError("ACCOUNT_CANNOT_BE_DELETED", f"The customer {customer['Code']} has transactions or documents "
                       "and cannot be deleted; make it inactive instead.")
    entity.delete_customer(customer["Code"])
    return Answer()


# ----------------------------------------------------------------------------------- invoices, credit notes

def _documents_xml(entity: Entity, ids: list[int], element: str) -> str:
    return "".join(document_xml(entity.invoice(i), element) for i in ids)


def _get_document(call: Call, kind: str, parameter: str) -> Answer:
    entity = _entity(call)
    document_id = call.body.integer(parameter)
    record = entity.invoice(document_id)
    what = "invoice" if kind == "Invoice" else "credit note"
    if record is None:
        raise AiqError("INVOICE_ID_DOES_NOT_EXIST", f"There is no {what} with ID {document_id}.")
    if record[I_KIND] != kind:
        raise AiqError("INVOICE_TYPE_INCORRECT", f"Document {document_id} is not a {what}.")
    return Answer(document_xml(record, "Result")[len("<Result>"):-len("</Result>")])


@method("GetInvoice")
def get_invoice(call: Call) -> Answer:
    return _get_document(call, "Invoice", "invoiceID")


@method("GetCreditNote")
def get_credit_note(call: Call) -> Answer:
    return _get_document(call, "Note", "creditNoteID")


def _new_document(call: Call, kind: str) -> Answer:
    entity = _entity(call)
    customer = customer_by_code(entity, call.body.text("customerCode"))
    now = call.now()
    return Answer(new_document_xml(entity, customer, kind, now.date(), now)[len("<Result>"):-len("</Result>")])


@method("GetNewSalesInvoice")
def get_new_sales_invoice(call: Call) -> Answer:
    return _new_document(call, "Invoice")


@method("GetNewSalesCreditNote")
def get_new_sales_credit_note(call: Call) -> Answer:
    return _new_document(call, "Note")


def _save(call: Call, kind: str, parameter: str, out: str) -> Answer:
    entity = _entity(call)
    node = call.body.child(parameter)
    if node is None:
        raise AiqError("INVALID_STATE_ENTITY_OR_INVOICE_IS_NULL", f"No {parameter} was sent.")
    head, lines = read_invoice(node)
    document_id = save_document(entity, kind, head, lines, call.body.flag("create"), call.now())
    return Answer(None, {out: str(document_id)})


@method("SaveInvoiceGetBackInvoiceID", result=False, out=(("invoiceID", "0"),))
def save_invoice_getback_id(call: Call) -> Answer:
    return _save(call, "Invoice", "invoice", "invoiceID")


@method("SaveCreditNoteGetBackCreditNoteID", result=False, out=(("creditNoteID", "0"),))
def save_credit_note_getback_id(call: Call) -> Answer:
    return _save(call, "Note", "creditNote", "creditNoteID")


@method("PostInvoiceGetBackTransactionID", result=False, out=(("transactionID", "0"),))
def post_invoice_getback_txn(call: Call) -> Answer:
    txn_id = post_document(_entity(call), "Invoice", call.body.integer("invoiceID"), call.now())
    return Answer(None, {"transactionID": str(txn_id)})


@method("PostCreditNoteGetBackTransactionID", result=False, out=(("transactionID", "0"),))
def post_credit_note_getback_txn(call: Call) -> Answer:
    txn_id = post_document(_entity(call), "Note", call.body.integer("creditNoteID"), call.now())
    return Answer(None, {"transactionID": str(txn_id)})


@method("GetInvoicesByExternalReference")
def get_invoices_by_external_reference(call: Call) -> Answer:
    entity = _entity(call)
    rows = entity.invoices_by_ref("Invoice", call.body.text("externalReference") or "")
    return Answer(_documents_xml(entity, [row.id for row in rows], "Invoice"))


@method("GetCreditNotesByExternalReference")
def get_credit_notes_by_external_reference(call: Call) -> Answer:
    entity = _entity(call)
    rows = entity.invoices_by_ref("Note", call.body.text("externalReference") or "")
    return Answer(_documents_xml(entity, [row.id for row in rows], "CreditNote"))


def _by_customer(call: Call, kind: str, element: str) -> Answer:
    entity = _entity(call)
    customer = customer_by_code(entity, call.body.text("customerCode"))
    ids = sorted(row.id for row in entity.invoices.values()
                 if row.account_id == customer["AccountID"] and row.kind == kind)
    return Answer(_documents_xml(entity, ids, element))


@method("GetInvoicesByCustomerCode")
def get_invoices_by_customer_code(call: Call) -> Answer:
    return _by_customer(call, "Invoice", "Invoice")


@method("GetCreditNotesByCustomerCode")
def get_credit_notes_by_customer_code(call: Call) -> Answer:
    return _by_customer(call, "Note", "CreditNote")


@method("GetInvoicesBy")
def get_invoices_by(call: Call) -> Answer:
    entity = _entity(call)
    ids = invoices_by(entity, call.body.child("query"), call.settings["max_page_size"])
    return Answer(_documents_xml(entity, ids, "Invoice"))


# ---------------------------------------------------------------------------------------------- batches

def _batch(call: Call, kind: str, parameter: str, date_member: str, line_element: str) -> Answer:
    entity = _entity(call)
    node = call.body.child(parameter)
    if node is None:
        raise AiqError("BATCH_PROCESSING_INVOICE_IS_NULL", f"No {parameter} was sent.")
    holder = node.child("Lines")
    lines = [read(BATCH_LINE, item) for item in holder.children(line_element)] if holder else []
    txn_id, number = create_batch(entity, kind, node.text("CustomerCode"), node.moment(date_member),
                                  node.text("ExternalReference") or "", node.text("Description"), lines,
                                  node.decimal("ExchangeRate"), call.now())
    return Answer(esc(number), {"transactionID": str(txn_id)})


@method("CreateBatchSalesInvoiceGetBackTransactionID", out=(("transactionID", "0"),))
def create_batch_sales_invoice(call: Call) -> Answer:
    return _batch(call, "Invoice", "inv", "InvoiceDate", "BatchSalesInvoiceLine")


@method("CreateBatchSalesCreditNoteGetBackTransactionID", out=(("transactionID", "0"),))
def create_batch_sales_credit_note(call: Call) -> Answer:
    return _batch(call, "Note", "creditNote", "CreditNoteDate", "BatchSalesCreditNoteLine")


def _new_batch(call: Call, date_member: str, first: bool) -> Answer:
    entity = _entity(call)
    customer = customer_by_code(entity, call.body.text("customerCode"))
    day = date_text(call.now().date())
    code = esc(customer["Code"])
    if first:
        return Answer(f"<CustomerCode>{code}</CustomerCode><{date_member}>{day}</{date_member}><Lines />"
                      "<ExchangeRate>1</ExchangeRate>")
    return Answer(f"<ExchangeRate>1</ExchangeRate><CustomerCode>{code}</CustomerCode>"
                  f"<{date_member}>{day}</{date_member}><Lines />")


@method("GetNewBatchSalesInvoice")
def get_new_batch_sales_invoice(call: Call) -> Answer:
    return _new_batch(call, "InvoiceDate", first=True)


@method("GetNewBatchSalesCreditNote")
def get_new_batch_sales_credit_note(call: Call) -> Answer:
    return _new_batch(call, "CreditNoteDate", first=False)


# --------------------------------------------------------------------------------------------- documents

@method("GetInvoicePDFByTransactionID")
def get_invoice_pdf(call: Call) -> Answer:
    entity = _entity(call)
    txn_id = call.body.integer("transactionID")
    row = entity.txns.get(txn_id)
    if row is None:
        raise AiqError("TRANSACTION_NOT_FOUND", f"There is no transaction with ID {txn_id}.")
    if row.type not in ("SI", "SN"):
        raise AiqError("INVOICE_TYPE_INCORRECT", f"Transaction {txn_id} is a {row.type}, not a sales invoice or "
                       "credit note.")
    record = entity.invoice(row.invoice_id) if row.invoice_id else None
    pdf = invoice_pdf(entity, row, record, entity.txn(txn_id)[T_LINES])
    return Answer(base64.b64encode(pdf).decode())


@method("AttachDocument", result=False)
def attach_document(call: Call) -> Answer:
    entity = _entity(call)
    document = call.body.child("document")
    header = document.child("Header") if document else None
    content = document.child("Content") if document else None
    if header is None or content is None:
        raise AiqError("DOCUMENT_CONTENT_IS_NULL_OR_EMPTY", "The document has no header or no content.")
    master_type = header.text("MasterType") or "Transaction"
    master_id = header.text("MasterID") or ""
    filename = (header.text("Filename") or "").strip()
    if not filename or "/" in filename or "\\" in filename:
        raise AiqError("DOCUMENT_NAME_IS_INVALID", f"'{filename}' is not a valid file name.")
    if len(filename) > 255:
        raise AiqError("DOCUMENT_NAME_IS_TOO_LONG", "The file name is longer than 255 characters.")
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in _DOCUMENT_TYPES:
        raise AiqError("INVALID_DOCUMENT_EXTENSION", f"Files of type '.{extension}' cannot be attached.")
    comments = content.text("Comments")
    if comments and len(comments) > 500:
        raise AiqError("DOCUMENT_COMMENT_IS_TOO_LONG", "The comment is longer than 500 characters.")
    data = _base64(content)
    if not data:
        raise AiqError("DOCUMENT_CONTENT_IS_NULL_OR_EMPTY", "The document is empty.")
    _check_master(entity, master_type, master_id)
    if filename in entity.documents.get((master_type, master_id), []):
        raise AiqError("DOCUMENT_CANNOT_BE_SAVED_NAME_NOT_UNIQUE",
                       f"A document named {filename} is already attached to this {master_type.lower()}.")
    now = call.now()
    entity.save_document({"MasterType": master_type, "MasterID": master_id, "Filename": filename,
                          "Comments": comments, "Size": len(data), "Content": base64.b64encode(data).decode(),
                          "CreationDate": stamp_text(now)}, modified_text(now))
    return Answer()


def _base64(content: Node) -> bytes:
    text = content.text("Content") or ""
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SoapFault("Server was unable to read request. ---> There is an error in XML document. ---> "
                        "<Content>: The input is not a valid Base-64 string.") from None


def _check_master(entity: Entity, master_type: str, master_id: str) -> None:
    found = False
    if master_type == "Transaction":
        found = master_id.isdigit() and int(master_id) in entity.txns
    elif master_type == "SalesInvoice":
        record = entity.invoice(int(master_id)) if master_id.isdigit() else None
        found = record is not None
    elif master_type == "Customer":
        found = master_id in entity.customers
    else:
        raise AiqError("DOCUMENT_MASTERTYPE_IS_INVALID",
                       f"Documents cannot be attached to a {master_type} through this service.")
    if not found:
        raise AiqError("UNABLE_TO_DETERMINE_DOCUMENT_MASTER", f"There is no {master_type} with ID '{master_id}'.")

