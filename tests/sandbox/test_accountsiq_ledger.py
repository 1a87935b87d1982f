"""The AccountsIQ sandbox's demo data and reports, checked against the demo generator and against
themselves: the ledger is the generator's double entry, the trial balance balances, customer balances
add up to the debtors control account, and every answer has the catalogue's shape."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import pytest

from app.domain.documents import DocumentStatus
from providers.sandbox.base import demo_companies
from tests.sandbox.test_accountsiq_sandbox import (
    FEED_ALL,
    LINES,
    SOAP,
    XSI_NIL,
    Aiq,
    attach_body,
    batch_body,
    customer_body,
    expected_line,
    money,
    new_document,
    open_sandbox,
    q,
    save,
    value,
)

CATALOGUE = Path(__file__).resolve().parents[3] / "shared" / "provider-docs" / \
    "accountsiq-soap-2_0.postman_collection.json"
FAR = "2100-01-01T00:00:00"
ENTITIES = ("dohertyjoinery", "laganvalley", "mournefoods")


@pytest.fixture(scope="module")
def demo():
    sandbox, server = open_sandbox("small", throttle=False, extra={"transactions_page_size": 300})
    client = Aiq(server.url, sandbox.credentials())
    companies = demo_companies("accountsiq", "small", 11, sandbox.company_names)
    yield client, dict(zip(ENTITIES, companies, strict=True))
    server.stop()


def all_transactions(aiq: Aiq, entity: str, query: str = "") -> list[Element]:
    found, skip = [], 0
    while True:
        page = aiq.ok("GetTransactionsModifiedBy", f"<query>{FEED_ALL}<Skip>{skip}</Skip>{query}</query>",
                      entity=entity).items("WSChangedTransactionSummary")
        found += page
        if len(page) < 300:
            return found
        skip += len(page)


def all_invoices(aiq: Aiq, entity: str) -> list[Element]:
    found, skip = [], 0
    while True:
        page = aiq.ok("GetInvoicesBy", f"<query><Skip>{skip}</Skip><Limit>200</Limit></query>",
                      entity=entity).items("Invoice")
        found += page
        if len(page) < 200:
            return found
        skip += len(page)


def demo_ledger(company) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in company.ledger_lines():
        totals[line.account_code] += line.amount
    return totals


@pytest.mark.parametrize("entity", ENTITIES)
def test_the_ledger_is_the_demo_companys_double_entry(demo, entity):
    aiq, companies = demo
    company = companies[entity]
    transactions = all_transactions(aiq, entity)
    ids = [int(value(t, "TransactionID")) for t in transactions]
    assert len(set(ids)) == len(ids)  # paging with Skip neither repeats nor skips
    totals: dict[str, Decimal] = defaultdict(Decimal)
    kinds: dict[str, int] = defaultdict(int)
    for txn in transactions:
        details = txn.find(q("LineDetails")).findall(q("WSTransactionDetail"))
        assert sum(money(d, "Amount") for d in details) == 0, value(txn, "TransactionID")
        for detail in details:
            totals[value(detail, "GLAccountCode")] += money(detail, "Amount")
        kinds[value(txn, "TransactionType")] += 1
        assert value(txn, "Status") == "Created"
    expected = demo_ledger(company)
    assert {code: amount for code, amount in totals.items() if amount} == \
        {code: amount for code, amount in expected.items() if amount}
    invoices = list(company.invoices())
    posted = [i for i in invoices if i.status not in (DocumentStatus.DRAFT, DocumentStatus.VOID)]
    assert kinds["SI"] == len(posted)
    assert kinds["SR"] == sum(1 for _ in company.payments())
    assert kinds["BP"] == sum(1 for _ in company.expenses()) and kinds["GD"] == 1


@pytest.mark.parametrize("entity", ENTITIES)
def test_the_trial_balance_balances_in_every_period(demo, entity):
    aiq, companies = demo
    periods = aiq.ok("GetPeriodList", entity=entity).items("WSFinancialPeriodDTO")
    last = None
    for period in periods[::5] + periods[-1:]:
        day = value(period, "StartDate")
        answer = aiq.ok("GetTrialBalanceForPeriod", f"<dateInPeriod>{day}</dateInPeriod>", entity=entity).result
        assert (value(answer, "PeriodNumber"), value(answer, "FinancialYear")) == \
            (value(period, "PeriodNumber"), value(period, "FinancialYear"))
        balances = answer.find(q("Balances")).findall(q("WSBalance"))
        assert sum(money(b, "OverallBalance") for b in balances) == 0, day
        assert sum(money(b, "OverallPeriodMovement") for b in balances) == 0, day
        assert {value(b, "CompanyID") for b in balances} == {entity}
        last = {value(b, "GLAccountCode"): money(b, "OverallBalance") for b in balances}
    expected = demo_ledger(companies[entity])
    for code in ("1100", "1200", "1210", "2200", "3000"):  # balance-sheet accounts carry everything
        assert last[code] == expected.get(code, 0), code
    bank = companies[entity].bank_accounts()
    assert last["1200"] == bank[0].balance and last["1210"] == bank[1].balance
    # Profit and loss starts each year afresh; the years before are in retained earnings.
    profit = sum(amount for code, amount in expected.items() if code[0] in "4567")
    assert sum(amount for code, amount in last.items() if code[0] in "4567") + last["3100"] == profit
    out_of_range = aiq.call("GetTrialBalanceForPeriod", "<dateInPeriod>1990-01-01T00:00:00</dateInPeriod>",
                            entity=entity)
    assert out_of_range.code == "DATE_IS_OUT_OF_RANGE"


@pytest.mark.parametrize("entity", ENTITIES)
def test_invoices_are_the_demo_invoices_and_add_up(demo, entity):
    aiq, companies = demo
    wire = {int(value(i, "InvoiceID")): i for i in all_invoices(aiq, entity)}
    expected = [i for i in companies[entity].invoices() if i.status is not DocumentStatus.VOID]
    assert sorted(wire) == [int(i.remote_id) for i in expected]
    for invoice in expected:
        found = wire[int(invoice.remote_id)]
        assert value(found, "InvoiceNumber") == invoice.number
        assert value(found, "AccountCode") == f"C{int(invoice.customer_remote_id):04d}"
        assert value(found, "InvoiceDate") == f"{invoice.date}T00:00:00"
        assert value(found, "Status") == ("Processed" if invoice.status is DocumentStatus.DRAFT else "Posted")
        totals = invoice.totals()
        assert (money(found, "NetAmount"), money(found, "TaxAmount"), money(found, "GrossAmount")) == \
            (totals.net, totals.vat, totals.gross)
        lines = found.find(q("Lines")).findall(q("InvoiceLine"))
        assert sum(money(x, "NetAmount") for x in lines) == money(found, "NetAmount")
        assert sum(money(x, "TaxAmount") for x in lines) == money(found, "TaxAmount")
        for line in lines:
            net, tax = expected_line(money(line, "InvoicedQuantity"), money(line, "StockItemPrice"),
                                     money(line, "DiscountRate"), value(line, "TaxCode"))
            assert (money(line, "NetAmount"), money(line, "TaxAmount")) == (net, tax)
            assert money(line, "GrossAmount") == net + tax


@pytest.mark.parametrize("entity", ENTITIES)
def test_customer_balances_add_up_to_the_debtors_account(demo, entity):
    aiq, companies = demo
    company = companies[entity]
    tb = aiq.ok("GetTrialBalanceForPeriod", f"<dateInPeriod>{dt.date.today()}T00:00:00</dateInPeriod>",
                entity=entity).result
    debtors = next(money(b, "OverallBalance") for b in tb.find(q("Balances")) if value(b, "GLAccountCode") == "1100")
    info = aiq.ok("GetCustomerBalanceInformation", f"<edt>{FAR}</edt><customerCodes />", entity=entity)
    balances = {value(i, "AccountCode"): money(i, "Balance") for i in info.items("AccountBalanceInformation")}
    assert sum(balances.values()) == debtors
    owed: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in company.invoices():
        if invoice.status not in (DocumentStatus.DRAFT, DocumentStatus.VOID):
            owed[f"C{int(invoice.customer_remote_id):04d}"] += invoice.totals().gross - invoice.amount_paid
    assert {c: b for c, b in balances.items() if b} == {c: b for c, b in owed.items() if b}
    for item in info.items("AccountBalanceInformation"):
        limit, balance = money(item, "CreditLimit"), money(item, "Balance")
        if limit:
            assert money(item, "CreditLeft") == max(limit - balance, 0)
            assert money(item, "OverCreditLimitBalance") == max(balance - limit, 0)
        else:
            assert money(item, "CreditLeft") == money(item, "OverCreditLimitBalance") == 0
    by_id = aiq.ok("GetAccountBalanceInformation", f"<edt>{FAR}</edt><accountIDs><int>2</int><int>1</int>"
                   "</accountIDs>", entity=entity).items("AccountBalanceInformation")
    assert [(value(i, "AccountID"), value(i, "AccountCode"), money(i, "Balance")) for i in by_id] == \
        [("2", "C0002", balances["C0002"]), ("1", "C0001", balances["C0001"])]
    assert aiq.call("GetAccountBalanceInformation", f"<edt>{FAR}</edt><accountIDs><int>99999</int></accountIDs>",
                    entity=entity).code == "ACCOUNT_ID_DOES_NOT_EXIST"
    assert aiq.call("GetCustomerBalanceInformation", f"<edt>{FAR}</edt><customerCodes><string>NOPE</string>"
                    "</customerCodes>", entity=entity).code == "CUSTOMER_CODE_DOES_NOT_EXIST"


def test_statements_age_what_is_outstanding(demo):
    aiq = demo[0]
    entity = "laganvalley"
    up_to = dt.date(2026, 10, 1)
    answer = aiq.ok("GetCustomersStatement", f"<upTo>{up_to}T00:00:00</upTo><customerCodes />"
                    "<showZeros>true</showZeros>", entity=entity).items("CustomerStatement")
    info = {value(i, "AccountCode"): money(i, "Balance") for i in aiq.ok(
        "GetCustomerBalanceInformation", f"<edt>{FAR}</edt>", entity=entity).items("AccountBalanceInformation")}
    at_date = {value(i, "AccountCode"): money(i, "Balance") for i in aiq.ok(
        "GetCustomerBalanceInformation", f"<edt>{up_to}T00:00:00</edt>", entity=entity
    ).items("AccountBalanceInformation")}
    assert len(answer) == len(info)
    buckets = ["From0To30DaysBalanceBucket", "From30To60DaysBalanceBucket", "From60To90DaysBalanceBucket",
               "From90To120DaysBalanceBucket", "From120DaysPlusBalanceBucket", "FutureBalanceBucket"]
    for statement in answer:
        state = statement.find(q("CustomerState"))
        code = value(state, "CustomerCode")
        total = sum(money(state, b) for b in buckets)
        assert total == money(state, "CurrentBalance") == info[code]
        rows = statement.find(q("TransactionList")).findall(q("TransactionState"))
        assert sum(money(r, "OutstandingAmount") for r in rows) == info[code]
        dated = [r for r in rows if value(r, "TransactionDate") <= f"{up_to}T00:00:00"]
        assert sum(money(r, "Amount") for r in dated) == at_date[code]
        future = sum(money(r, "OutstandingAmount") for r in rows if value(r, "TransactionDate") > f"{up_to}T00:00:00")
        assert money(state, "FutureBalanceBucket") == future
        old = sum(money(r, "OutstandingAmount") for r in rows
                  if (up_to - dt.date.fromisoformat(value(r, "TransactionDate")[:10])).days >= 120)
        assert money(state, "From120DaysPlusBalanceBucket") == old
    owing = aiq.ok("GetCustomersStatement", f"<upTo>{up_to}T00:00:00</upTo><showZeros>false</showZeros>",
                   entity=entity).items("CustomerStatement")
    assert {value(s.find(q("CustomerState")), "CustomerCode") for s in owing} == {c for c, b in info.items() if b}
    for statement in owing:
        assert all(money(r, "OutstandingAmount") != 0
                   for r in statement.find(q("TransactionList")).findall(q("TransactionState")))


def test_bank_accounts_and_their_balances(demo):
    aiq, companies = demo
    entity = "mournefoods"
    banks = aiq.ok("GetBankList", entity=entity).items("Bank")
    assert [(value(b, "Code"), value(b, "Name"), value(b, "CurrencyCode")) for b in banks] == \
        [("1200", "Current account", "GBP"), ("1210", "Deposit account", "GBP")]
    company = companies[entity]
    end = aiq.ok("GetBankAccountBalance", f"<GLAccountCode>1200</GLAccountCode><pointInTime>{dt.date.today()}"
                 "T00:00:00</pointInTime>", entity=entity).result
    assert money(end, "Balance") == company.bank_accounts()[0].balance
    day = company.as_of - dt.timedelta(days=200)
    moved = sum(t.amount for t in company.bank_transactions() if t.date <= day) + Decimal(25000)
    then = aiq.ok("GetBankAccountBalance", f"<GLAccountCode>1200</GLAccountCode><pointInTime>{day}T12:00:00"
                  "</pointInTime>", entity=entity).result
    assert money(then, "Balance") == moved
    assert (value(then, "FinancialYear"), value(then, "PeriodNumber")) == (str(day.year), str(day.month))
    assert value(then, "LastReconciledDate") <= day.isoformat()
    assert aiq.call("GetBankAccountBalance", f"<GLAccountCode>4000</GLAccountCode><pointInTime>{FAR}</pointInTime>",
                    entity=entity).code == "BANK_ACCOUNT_DOES_NOT_EXIST"


def test_reference_lists(demo):
    aiq = demo[0]
    chart = aiq.ok("GetChartOfAccounts").items("WSChartOfAccountLine")
    from app.domain.generate import CHART
    assert [(value(c, "Code"), value(c, "Description")) for c in chart] == [(code, name) for code, name, _k in CHART]
    types = {value(c, "Code"): value(c, "AccountType") for c in chart}
    assert (types["1100"], types["1200"], types["2200"], types["4000"]) == ("Control", "Bank", "VAT", "Posting")
    pairs = aiq.ok("GetGLAccountList").items("ArrayOfString")
    assert [[s.text for s in p.findall(q("string"))] for p in pairs] == [[code, name] for code, name, _k in CHART]
    taxes = aiq.ok("GetTaxCodeList").items("Tax")
    assert [(value(t, "Code"), money(t, "Rate")) for t in taxes] == \
        [("S", 20), ("R", 5), ("Z", 0), ("E", 0)]
    assert [value(t, "IsDefault") for t in taxes] == ["true", "false", "false", "false"]
    assert taxes[0].find(q("GrossThreshold")).get(XSI_NIL) == "true"
    terms = aiq.ok("GetCreditTermList").items("CreditTerm")
    assert ("1", "30") in [(value(t, "Code"), value(t, "CreditDays")) for t in terms]
    periods = aiq.ok("GetPeriodList").items("WSFinancialPeriodDTO")
    for before, after in itertools.pairwise(periods):
        end = dt.date.fromisoformat(value(before, "EndDate")[:10])
        assert dt.date.fromisoformat(value(after, "StartDate")[:10]) == end + dt.timedelta(days=1)
        assert int(value(after, "PeriodID")) == int(value(before, "PeriodID")) + 1
        assert value(before, "_PeriodID") == value(before, "PeriodID")
    assert {value(p, "PeriodNumber") for p in periods} == {str(n) for n in range(1, 13)}
    assert int(value(periods[-1], "FinancialYear")) > dt.date.today().year
    info = aiq.ok("GetCompanyInformation").result
    assert (value(info, "BaseCurrencyCode"), value(info, "LocaleName")) == ("GBP", "en-GB")
    assert info.find(q("Address")).findtext(q("City")) == "Lisburn"


def test_the_change_feed_windows_and_filters(demo):
    aiq = demo[0]
    entity = "dohertyjoinery"
    everything = all_transactions(aiq, entity)
    before_seeding = aiq.ok("GetTransactionsModifiedBy", "<query><FromDate>2000-01-01T00:00:00</FromDate>"
                            "<ToDate>2020-01-01T00:00:00</ToDate><FromCreationDate>2000-01-01T00:00:00"
                            f"</FromCreationDate><ToCreationDate>{FAR}</ToCreationDate></query>", entity=entity)
    assert before_seeding.items("WSChangedTransactionSummary") == []
    # Value-type members left out are .NET defaults: no ToDate is 0001-01-01, which nothing precedes.
    assert aiq.ok("GetTransactionsModifiedBy", "<query><FromDate>2000-01-01T00:00:00</FromDate></query>",
                  entity=entity).items("WSChangedTransactionSummary") == []
    receipts = all_transactions(aiq, entity, "<TypesFilter><string>SR</string></TypesFilter>")
    assert receipts and {value(t, "TransactionType") for t in receipts} == {"SR"}
    assert len(receipts) == sum(1 for t in everything if value(t, "TransactionType") == "SR")
    account = value(receipts[0], "AccountID")
    mine = all_transactions(aiq, entity, f"<AccountIDsFilter><int>{account}</int></AccountIDsFilter>")
    assert mine and {value(t, "AccountID") for t in mine} == {account}
    period = all_transactions(aiq, entity, "<FromPeriodDate>2025-03-01T00:00:00</FromPeriodDate>"
                                           "<ToPeriodDate>2025-03-31T00:00:00</ToPeriodDate>")
    assert period and all(value(t, "TransactionDate").startswith("2025-03") for t in period)
    assert len(period) == sum(1 for t in everything if value(t, "TransactionDate").startswith("2025-03"))
    created = value(everything[0], "CreationDate")[:19]
    narrow = aiq.ok("GetTransactionsModifiedBy", f"<query><FromDate>2000-01-01T00:00:00</FromDate><ToDate>{FAR}"
                    f"</ToDate><FromCreationDate>{created}</FromCreationDate><ToCreationDate>{created}"
                    "</ToCreationDate></query>", entity=entity).items("WSChangedTransactionSummary")
    assert narrow and all(value(t, "CreationDate")[:19] == created for t in narrow)
    reconciled = [d for t in receipts for d in t.find(q("LineDetails")) if value(d, "IsReconciled") == "true"]
    assert reconciled
    hidden = all_transactions(aiq, entity, "<TypesFilter><string>SR</string></TypesFilter>"
                                           "<ExcludeReconciliationInformation>true</ExcludeReconciliationInformation>")
    assert all(value(d, "IsReconciled") == "false" for t in hidden for d in t.find(q("LineDetails")))
    missing = aiq.call("GetTransactionsByExternalReference", f"<query><FromDate>2000-01-01T00:00:00</FromDate>"
                       f"<ToDate>{FAR}</ToDate></query>", entity=entity)
    assert missing.code == "INVALID_QUERY_MISSING_EXTERNAL_REFERENCE"


# --- the catalogue's shapes -----------------------------------------------------------------------------------

_INT = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z?$")
_OPTIONAL_STRING = "string"


def _local(tag: str) -> str:
    return tag.split("}", 1)[-1]


def _check_leaf(ours: Element, documented: str | None, path: str) -> None:
    text = ours.text or ""
    if ours.get(XSI_NIL) == "true":
        assert documented not in (None, _OPTIONAL_STRING, "true"), f"{path} is nil but documented {documented!r}"
        return
    if documented in ("true", "false"):
        assert text in ("true", "false"), f"{path}: {text!r} is not a boolean"
    elif documented == "100":
        assert _INT.match(text), f"{path}: {text!r} is not an int"
    elif documented and _DECIMAL.match(documented):
        assert _DECIMAL.match(text), f"{path}: {text!r} is not a decimal"
    elif documented and _DATETIME.match(documented):
        assert _DATETIME.match(text), f"{path}: {text!r} is not a dateTime"
    elif documented == "Y29udGVudA==":
        assert base64.b64decode(text, validate=True), path
    elif documented not in (None, _OPTIONAL_STRING):
        assert re.match(r"^[A-Za-z_]+$", text), f"{path}: {text!r} is not an enumeration value"


def compare(ours: Element, documented: Element, path: str = "") -> None:
    """``ours`` has the documented members in the documented order; a member may be left out only if
    it is an optional string, and a documented list item may repeat."""
    path = f"{path}/{_local(documented.tag)}"
    assert _local(ours.tag) == _local(documented.tag), path
    expected = list(documented)
    if not expected:
        if documented.text is None or not documented.text.strip():
            return  # an empty container in the catalogue: any items
        assert len(ours) == 0, f"{path} should be a value"
        _check_leaf(ours, documented.text.strip(), path)
        return
    if len(ours) == 0 and len(expected) == 1 and len(expected[0]) > 0:
        return  # an empty list
    position, previous = 0, None
    for child in ours:
        name = _local(child.tag)
        if previous is not None and _local(previous.tag) == name and (
                position >= len(expected) or _local(expected[position].tag) != name):
            compare(child, previous, path)  # another item of a list
            continue
        while position < len(expected) and _local(expected[position].tag) != name:
            skipped = expected[position]
            assert len(skipped) == 0 and (skipped.text or "").strip() == _OPTIONAL_STRING, \
                f"{path}/{_local(skipped.tag)} is missing"
            position += 1
        assert position < len(expected), f"{path}/{name} is not documented here (or is out of order)"
        previous = expected[position]
        compare(child, previous, path)
        position += 1
    for skipped in expected[position:]:
        assert len(skipped) == 0 and (skipped.text or "").strip() == _OPTIONAL_STRING, \
            f"{path}/{_local(skipped.tag)} is missing"


@pytest.fixture(scope="module")
def catalogue() -> dict[str, Element]:
    if not CATALOGUE.exists():
        pytest.skip("the provider's Postman catalogue is not beside the repository")
    items = json.loads(CATALOGUE.read_text())["item"]
    return {item["name"]: SafeET.fromstring(item["response"][0]["body"].encode()) for item in items}


def test_every_answer_has_the_catalogue_shape(catalogue):
    sandbox, server = open_sandbox("tiny", throttle=False)
    try:
        aiq = Aiq(server.url, sandbox.credentials())
        entity = "laganvalley"
        ext = "SHAPE-1"
        saved = save(aiq, new_document(aiq, "C0002", LINES, ext=ext))
        invoice_id = saved.out["invoiceID"]
        note_id = save(aiq, new_document(aiq, "C0002", LINES[:1], ext=ext, kind="Note"), kind="Note").out[
            "creditNoteID"]
        # Members beyond the usual ones take the general renderer's path: the shape must hold there too.
        annotated = new_document(aiq, "C0004", LINES[:2]).replace(
            "</InvoiceLine>", "<Notes>Phase 2</Notes><ProjectNumber>P-7</ProjectNumber></InvoiceLine>", 1)
        annotated += "<Notes>Thank you</Notes><DeliveryAccountName>Site office</DeliveryAccountName>"
        annotated_id = save(aiq, annotated).out["invoiceID"]
        token_body = f"<clientId>{sandbox.credentials()['client_id']}</clientId>" \
                     f"<clientSecret>{sandbox.credentials()['client_secret']}</clientSecret>"
        calls = [
            ("TokenGet", token_body),
            ("GetCompanyInformation", ""), ("GetCustomerList", ""), ("GetActiveCustomerList", ""),
            ("GetCustomer", "<customerCode>C0001</customerCode>"),
            ("GetCustomersBy", "<query><Emails /></query>"), ("GetNewCustomerFromDefaults", ""),
            ("UpdateCustomerGetbackCustomerCode", customer_body("SHAPE1")),
            ("UpdateCustomer", customer_body("SHAPE1", create=False)),
            ("GetCustomersStatement", f"<upTo>{FAR}</upTo><showZeros>true</showZeros>"),
            ("GetCustomerBalanceInformation", f"<edt>{FAR}</edt>"),
            ("GetAccountBalanceInformation", f"<edt>{FAR}</edt>"),
            ("GetInvoicesBy", "<query><Limit>3</Limit></query>"),
            ("GetInvoice", f"<invoiceID>{invoice_id}</invoiceID>"),
            ("GetInvoice", f"<invoiceID>{annotated_id}</invoiceID>"),
            ("GetNewSalesInvoice", "<customerCode>C0001</customerCode>"),
            ("SaveInvoiceGetBackInvoiceID",
             f"<invoice>{new_document(aiq, 'C0003', LINES)}</invoice><create>true</create>"),
            ("PostInvoiceGetBackTransactionID", f"<invoiceID>{invoice_id}</invoiceID>"),
            ("GetInvoicesByExternalReference", f"<externalReference>{ext}</externalReference>"),
            ("GetInvoicesByCustomerCode", "<customerCode>C0002</customerCode>"),
            ("CreateBatchSalesInvoiceGetBackTransactionID", batch_body("C0001", "SHAPE-B")),
            ("GetNewBatchSalesInvoice", "<customerCode>C0001</customerCode>"),
            ("GetCreditNote", f"<creditNoteID>{note_id}</creditNoteID>"),
            ("GetNewSalesCreditNote", "<customerCode>C0001</customerCode>"),
            ("SaveCreditNoteGetBackCreditNoteID",
             f"<creditNote>{new_document(aiq, 'C0003', LINES, kind='Note')}</creditNote><create>true</create>"),
            ("PostCreditNoteGetBackTransactionID", f"<creditNoteID>{note_id}</creditNoteID>"),
            ("GetCreditNotesByExternalReference", f"<externalReference>{ext}</externalReference>"),
            ("GetCreditNotesByCustomerCode", "<customerCode>C0002</customerCode>"),
            ("CreateBatchSalesCreditNoteGetBackTransactionID", batch_body("C0001", "SHAPE-C", kind="Note")),
            ("GetNewBatchSalesCreditNote", "<customerCode>C0001</customerCode>"),
            ("GetBankList", ""),
            ("GetBankAccountBalance", f"<GLAccountCode>1200</GLAccountCode><pointInTime>{dt.date.today()}"
                                      "T00:00:00</pointInTime>"),
            ("GetChartOfAccounts", ""), ("GetGLAccountList", ""), ("GetPeriodList", ""), ("GetTaxCodeList", ""),
            ("GetCreditTermList", ""),
            ("GetTrialBalanceForPeriod", f"<dateInPeriod>{dt.date.today()}T00:00:00</dateInPeriod>"),
            ("GetTransactionsModifiedBy", f"<query>{FEED_ALL}<Skip>0</Skip></query>"),
            ("GetTransactionsByExternalReference",
             f"<query><ExternalReference>{ext}</ExternalReference><FromDate>2000-01-01T00:00:00</FromDate>"
             f"<ToDate>{FAR}</ToDate></query>"),
            ("AttachDocument", attach_body("Customer", "C0001", "shape.csv", b"a,b\n")),
            ("DeleteCustomerByCode", "<customerCode>SHAPE1</customerCode>"),
        ]
        for method, body in calls:
            response = aiq.post(method, body, entity=None if method == "TokenGet" else entity,
                                token=None if method == "TokenGet" else "")
            assert response.status_code == 200, (method, response.text[:300])
            ours = SafeET.fromstring(response.content).find(f"{{{SOAP}}}Body")[0]
            documented = catalogue[method].find(f"{{{SOAP}}}Body")[0]
            assert "Failure" not in response.text[:600], (method, response.text[:600])
            compare(ours, documented)
            if body.endswith(f"<invoiceID>{annotated_id}</invoiceID>"):
                assert "<Notes>Phase 2</Notes>" in response.text and "<ProjectNumber>P-7</ProjectNumber>" in \
                    response.text and "<DeliveryAccountName>Site office</DeliveryAccountName>" in response.text
        # The pdf's base64 too (it needs a posted transaction's id).
        txn = aiq.ok("PostInvoiceGetBackTransactionID",
                     f"<invoiceID>{save(aiq, new_document(aiq, 'C0003', LINES)).out['invoiceID']}</invoiceID>",
                     entity=entity).out["transactionID"]
        response = aiq.post("GetInvoicePDFByTransactionID", f"<transactionID>{txn}</transactionID>", entity=entity)
        compare(SafeET.fromstring(response.content).find(f"{{{SOAP}}}Body")[0],
                catalogue["GetInvoicePDFByTransactionID"].find(f"{{{SOAP}}}Body")[0])
    finally:
        server.stop()


def test_the_shape_check_itself_catches_a_wrong_order(catalogue):
    """The comparison above would notice a swapped pair of members or a member it does not know."""
    documented = catalogue["GetBankAccountBalance"].find(f"{{{SOAP}}}Body")[0]
    ns = "http://www.visorsoftware.com/visor/accountsiq/dashboard/Integration/"
    good = (f'<GetBankAccountBalanceResponse xmlns="{ns}"><GetBankAccountBalanceResult><Status>Success</Status>'
            "<ErrorCode>SUCCESS</ErrorCode><HasExpired>false</HasExpired><Result><FinancialYear>2026</FinancialYear>"
            "<PeriodNumber>3</PeriodNumber><PeriodName>Mar 2026</PeriodName><Date>2026-03-01T00:00:00</Date>"
            "<Balance>12.00</Balance></Result></GetBankAccountBalanceResult></GetBankAccountBalanceResponse>")
    compare(SafeET.fromstring(good), documented)
    swapped = good.replace("<FinancialYear>2026</FinancialYear><PeriodNumber>3</PeriodNumber>",
                           "<PeriodNumber>3</PeriodNumber><FinancialYear>2026</FinancialYear>")
    with pytest.raises(AssertionError):
        compare(SafeET.fromstring(swapped), documented)
    unknown = good.replace("<Balance>12.00</Balance>", "<Balance>12.00</Balance><Colour>red</Colour>")
    with pytest.raises(AssertionError):
        compare(SafeET.fromstring(unknown), documented)
    missing_value = good.replace("<PeriodNumber>3</PeriodNumber>", "")
    with pytest.raises(AssertionError):
        compare(SafeET.fromstring(missing_value), documented)

