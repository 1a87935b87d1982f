"""The sandbox's query operations over documents and transactions: GetInvoicesBy (filters, order,
Skip/Limit, FromLastModifiedDateInUTC) and the transaction change feed."""

from __future__ import annotations

import datetime as dt
from xml.etree.ElementTree import Element, tostring

from providers.accountsiq.sandbox_calls import Answer, Call, method
from providers.accountsiq.sandbox_data import T_LINES, Entity, TxnRow, modified_text
from providers.accountsiq.sandbox_envelope import AiqError, Node, boolean, date_text, esc, s
from providers.accountsiq.sandbox_reference import CURRENCY

# GetInvoicesBy's OrderBy: the Invoice members it accepts (case-insensitive), and what each sorts on.
_ORDER_KEYS = {
    "invoiceid": lambda row: row.id,
    "invoicedate": lambda row: (row.date, row.id),
    "creationdate": lambda row: (row.created[:19], row.id),
    "invoicenumber": lambda row: (row.number, row.id),
    "accountid": lambda row: (row.account_id, row.id),
    "externalreference": lambda row: (row.ext, row.id),
    "status": lambda row: (row.status, row.id),
    "grossamount": lambda row: (row.gross, row.id),
}


def invoices_by(entity: Entity, query: Node | None, max_page: int) -> list[int]:
    """The ids of one page of GetInvoicesBy, in order.

    Absent or nil bounds do not filter; Skip past the end gives an empty page; Limit absent, nil,
    zero or negative means the largest page (``max_page``), and more than that is cut to it."""
    if query is None:
        query = Node(_EMPTY)
    skip = max(query.integer("Skip") or 0, 0)
    limit = query.integer("Limit", None)
    limit = max_page if limit is None or limit <= 0 else min(limit, max_page)
    order_by = (query.text("OrderBy") or "").strip().lower() or "invoiceid"
    key = _ORDER_KEYS.get(order_by)
    if key is None:
        raise AiqError("GETINVOICESBY_BAD_FIELD_NAME", f"'{query.text('OrderBy')}' is not a field invoices can be "
                       f"ordered by (use one of InvoiceID, InvoiceDate, CreationDate, InvoiceNumber, AccountID, "
                       f"ExternalReference, Status, GrossAmount).")
    reverse = bool(query.flag("ReverseOrderBy"))
    tests = _invoice_tests(query)
    if not tests and order_by == "invoiceid":
        ids = entity.invoice_ids
        if reverse:
            return ids[::-1][skip:skip + limit]
        return ids[skip:skip + limit]
    return _ordered(entity, query, tests, key, reverse)[skip:skip + limit]


_CACHED_QUERIES = 8


def _ordered(entity: Entity, query: Node, tests: list, key, reverse: bool) -> list[int]:
    """Every id a query selects, in order. Paging asks the same query once per page: scanning and
    sorting every document each time made a full listing quadratic (a minute of the sandbox's CPU for
    100,000 invoices), so the answer is kept until the invoices change."""
    signature = (entity.invoice_revision, _signature(query))
    cached = entity.ordered_invoices.get(signature)
    if cached is not None:
        entity.ordered_invoices.move_to_end(signature)
        return cached
    rows = [row for row in entity.invoices.values() if all(test(row) for test in tests)]
    rows.sort(key=key, reverse=reverse)
    ordered = [row.id for row in rows]
    entity.ordered_invoices[signature] = ordered
    while len(entity.ordered_invoices) > _CACHED_QUERIES:
        entity.ordered_invoices.popitem(last=False)
    return ordered


def _signature(query: Node) -> tuple:
    # Everything but the window: two queries that serialise alike select and order alike.
    return tuple(tostring(child) for child in query.element
                 if child.tag.rpartition("}")[2] not in ("Skip", "Limit"))


def _invoice_tests(query: Node) -> list:
    tests = []
    from_date, to_date = query.moment("FromDate", None), query.moment("ToDate", None)
    if from_date is not None:
        first_day = from_date.date()
        tests.append(lambda row: row.date >= first_day)
    if to_date is not None:
        last_day = to_date.date()
        tests.append(lambda row: row.date <= last_day)
    from_created, to_created = query.moment("FromCreationDate", None), query.moment("ToCreationDate", None)
    if from_created is not None:
        created_from = _second(from_created)
        tests.append(lambda row: row.created[:19] >= created_from)
    if to_created is not None:
        created_to = _second(to_created)
        tests.append(lambda row: row.created[:19] <= created_to)
    since = query.moment("FromLastModifiedDateInUTC", None)
    if since is not None:
        changed_from = modified_text(since)
        tests.append(lambda row: row.modified >= changed_from)
    types = set(query.strings("TypesFilter"))
    if types:
        tests.append(lambda row: row.kind in types)
    accounts = set(query.ints("AccountIDsFilter"))
    if accounts:
        tests.append(lambda row: row.account_id in accounts)
    if query.strings("DepartmentIDsFilter"):
        tests.append(lambda row: False)  # no document of the demo entities carries a department
    ids = set(query.ints("InvoiceIDsFilter"))
    if ids:
        tests.append(lambda row: row.id in ids)
    numbers = set(query.strings("InvoiceNumbersFilter"))
    if numbers:
        tests.append(lambda row: row.number in numbers)
    status = (query.text("Status") or "").strip()
    if status:
        tests.append(lambda row: row.status.lower() == status.lower())
    return tests


def _second(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


_EMPTY = Element("query")  # stands for a query the request left out: every member at its default


# ------------------------------------------------------------------------------------------ transactions

def render_txn(entity: Entity, row: TxnRow, lines: list, status: str | None, with_reconciliation: bool) -> str:
    period = entity.period_for(row.date)
    day = date_text(row.date)
    details = []
    for code, amount, kind, tax, description in lines:
        reconciled = with_reconciliation and kind == "B" and row.reconciled
        details.append(
            f"<WSTransactionDetail>{s('GLAccountCode', code)}<IsControlLine>{boolean(kind == 'C')}</IsControlLine>"
            f"<IsTaxLine>{boolean(kind == 'T')}</IsTaxLine><IsStockLine>false</IsStockLine>"
            f"<Amount>{amount}</Amount><BCAmount>{amount}</BCAmount>{s('TaxID', tax or None)}"
            f"<CurrencyCode>{CURRENCY}</CurrencyCode><IsReconciled>{boolean(reconciled)}</IsReconciled>"
            f"{s('Description', description or None)}<TransactionDate>{day}</TransactionDate>"
            f"<PeriodDate>{day}</PeriodDate><ExchangeRate>1</ExchangeRate></WSTransactionDetail>")
    created_by = "bookkeeper" if row.modified <= entity.meta.get("seeded", "") else "integration"
    xml = (
        f"<AccountID>{row.account_id}</AccountID>{s('AccountCode', row.code or None)}<Ledger>{row.ledger}</Ledger>"
        f"<TransactionType>{row.type}</TransactionType><TransactionID>{row.id}</TransactionID>"
        f"<IsBatchInvoiceOrNote>{boolean(row.batch)}</IsBatchInvoiceOrNote><InvoiceID>{row.invoice_id}</InvoiceID>"
        f"{s('InternalNumber', row.number or None)}{s('ExternalReference', row.ext or None)}"
        f"<ControlAmount>{row.control:f}</ControlAmount><OutstandingAmount>{row.outstanding:f}</OutstandingAmount>"
        f"<ControlBCAmount>{row.control:f}</ControlBCAmount><TransactionDate>{day}</TransactionDate>"
        f"<FinancialYear>{period.year}</FinancialYear><PeriodNumber>{period.number}</PeriodNumber>"
        f"<PeriodName>{esc(period.name)}</PeriodName><CreationDate>{row.created}</CreationDate>"
        f"<LineDetails>{''.join(details)}</LineDetails><CurrencyCode>{CURRENCY}</CurrencyCode>"
        f"<PeriodDate>{day}</PeriodDate><CreatedBy>{created_by}</CreatedBy>{s('AccountName', row.name or None)}"
        f"{s('TransactionBankGLAccountNumber', row.bank_gl or None)}"
    )
    if status is not None:
        return f"<WSChangedTransactionSummary>{xml}<Status>{status}</Status></WSChangedTransactionSummary>"
    return f"<WSTransactionSummary>{xml}</WSTransactionSummary>"


def _txn_tests(query: Node) -> list:
    tests = []
    types = set(query.strings("TypesFilter"))
    if types:
        tests.append(lambda row: row.type in types)
    accounts = set(query.ints("AccountIDsFilter"))
    if accounts:
        tests.append(lambda row: row.account_id in accounts)
    ids = set(query.ints("TransactionIDsFilter"))
    if ids:
        tests.append(lambda row: row.id in ids)
    if query.strings("DepartmentIDsFilter"):
        tests.append(lambda row: False)
    return tests


@method("GetTransactionsModifiedBy")
def get_transactions_modified_by(call: Call) -> Answer:
    """Transactions whose last change falls in FromDate..ToDate (UTC) and that were created in
    FromCreationDate..ToCreationDate, oldest change first; ``Skip`` pages through a fixed page size."""
    entity = call.entity
    query = call.body.child("query") or Node(_EMPTY)
    changed_from, changed_to = modified_text(query.moment("FromDate")), modified_text(query.moment("ToDate"))
    created_from, created_to = _second(query.moment("FromCreationDate")), _second(query.moment("ToCreationDate"))
    period_from, period_to = query.moment("FromPeriodDate", None), query.moment("ToPeriodDate", None)
    tests = _txn_tests(query)
    if period_from is not None:
        first_day = period_from.date()
        tests.append(lambda row: row.date >= first_day)
    if period_to is not None:
        last_day = period_to.date()
        tests.append(lambda row: row.date <= last_day)
    rows = [row for row in entity.txns.values()
            if changed_from <= row.modified <= changed_to and created_from <= row.created[:19] <= created_to
            and all(test(row) for test in tests)]
    rows.sort(key=lambda row: (row.modified, row.id))
    skip = max(query.integer("Skip") or 0, 0)
    page = rows[skip:skip + call.settings["transactions_page_size"]]
    with_reconciliation = not query.flag("ExcludeReconciliationInformation")
    return Answer("".join(render_txn(entity, row, entity.txn(row.id)[T_LINES], row.status, with_reconciliation)
                          for row in page))


@method("GetTransactionsByExternalReference")
def get_transactions_by_external_reference(call: Call) -> Answer:
    entity = call.entity
    query = call.body.child("query") or Node(_EMPTY)
    reference = query.text("ExternalReference")
    if not reference:
        raise AiqError("INVALID_QUERY_MISSING_EXTERNAL_REFERENCE", "The query has no external reference.")
    first, last = query.moment("FromDate").date(), query.moment("ToDate").date()
    tests = _txn_tests(query)
    rows = [row for row in entity.txns_by_ref(reference)
            if first <= row.date <= last and all(test(row) for test in tests)]
    return Answer("".join(render_txn(entity, row, entity.txn(row.id)[T_LINES], None, True) for row in rows))
