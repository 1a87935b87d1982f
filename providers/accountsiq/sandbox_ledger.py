"""The sandbox's company, ledger, bank and report operations. Every figure is computed from the
entity's own ledger (the transactions its postings wrote), so the trial balance balances and the
customer balances add up to the debtors control account."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from providers.accountsiq.sandbox_calls import Answer, Call, method
from providers.accountsiq.sandbox_data import CENT, ZERO, Entity, TxnRow, row_version
from providers.accountsiq.sandbox_envelope import AiqError, boolean, date_text, esc, s, stamp_text
from providers.accountsiq.sandbox_reference import (
    CATEGORY_TYPE,
    CREDIT_TERMS,
    CURRENCY,
    CURRENT_ACCOUNT,
    DEFAULT_TAX,
    DEPOSIT_ACCOUNT,
    GL_ACCOUNTS,
    LOCALE,
    TAX_CODES,
    VAT_CONTROL,
    profile_for,
)
from providers.accountsiq.sandbox_shapes import BANK, CHART_LINE, PERIOD, TAX, render

_CHECKER = "<IdLength>10</IdLength><CodeLength>10</CodeLength><DescriptionLength>60</DescriptionLength>" \
           "<AuthorLength>50</AuthorLength>"
_STATIC_VERSION = row_version(1)


def _entity(call: Call) -> Entity:
    assert call.entity is not None
    return call.entity


def _amount(value: Decimal) -> str:
    return f"{value.quantize(CENT):f}"


def _period(entity: Entity, moment: dt.datetime):
    period = entity.period_for(moment.date())
    if period is None:
        raise AiqError("DATE_IS_OUT_OF_RANGE", f"{moment:%d/%m/%Y} is outside the financial periods of this entity.")
    return period


# ----------------------------------------------------------------------------------------------- company

@method("GetCompanyInformation")
def get_company_information(call: Call) -> Answer:
    entity = _entity(call)
    profile = profile_for(entity.name)
    invoice_numbers = [number for (kind, number) in entity.numbers if kind == "Invoice"]
    note_numbers = [number for (kind, number) in entity.numbers if kind == "Note"]
    return Answer(
        f"<CompanyName>{esc(entity.name)}</CompanyName><LocaleName>{LOCALE}</LocaleName>"
        f"<BaseCurrencyCode>{CURRENCY}</BaseCurrencyCode>"
        f"<Address>{s('Line1', profile.line1 or None)}{s('Line2', profile.line2 or None)}{s('City', profile.city)}"
        f"{s('County', profile.county)}{s('PostZipCode', profile.postcode)}{s('CountryState', 'United Kingdom')}"
        f"</Address><ContactInformation>{s('LandlineNumber', profile.phone)}{s('EmailAddress', profile.email)}"
        f"{s('WebSite', profile.web)}</ContactInformation>"
        "<AutoNumberingSettings><UseAutoSalesQuoteNumbering>false</UseAutoSalesQuoteNumbering>"
        "<UseAutoSalesOrderNumbering>false</UseAutoSalesOrderNumbering>"
        "<UseAutoSalesInvoiceNumbering>true</UseAutoSalesInvoiceNumbering>"
        f"{s('CurrentSalesInvoiceNumber', max(invoice_numbers, default=None))}"
        "<UseAutoSalesCreditNoteNumbering>true</UseAutoSalesCreditNoteNumbering>"
        f"{s('CurrentSalesCreditNoteNumber', max(note_numbers, default=None))}"
        "<UseAutoPurchaseOrderNumbering>false</UseAutoPurchaseOrderNumbering></AutoNumberingSettings>"
        "<PrecisionSettings><PricePrecisionDecimals>4</PricePrecisionDecimals>"
        "<QuantityPrecisionDecimals>2</QuantityPrecisionDecimals></PrecisionSettings>"
        "<ApprovalSettings><IsPurchaseApprovalEnabled>false</IsPurchaseApprovalEnabled>"
        "<IsPurchaseBatchPaymentApprovalEnabled>false</IsPurchaseBatchPaymentApprovalEnabled>"
        "<ApprovalType>SupplierBased</ApprovalType></ApprovalSettings>"
        f"{s('TaxRegistrationNumber', profile.vat or None)}{s('RegistrationNumber', profile.registration or None)}"
        "<IsConsolidationCompany>false</IsConsolidationCompany>"
    )


# -------------------------------------------------------------------------------------------- reference

@method("GetChartOfAccounts")
def get_chart_of_accounts(call: Call) -> Answer:
    parts = []
    for account in GL_ACCOUNTS.values():
        type_id, type_name = CATEGORY_TYPE[account.classification]
        parts.append("<WSChartOfAccountLine>" + render(CHART_LINE, {
            "Code": account.code, "Description": account.name, "AccountType": account.account_type,
            "DefaultTaxID": account.default_tax, "GLCategoryID": account.category_id,
            "GLSubCategoryID": account.subcategory_id, "GLCategory": account.category,
            "GLSubCategory": account.subcategory, "IsDepartmental": False,
            "BalanceSheetType": "Balance Sheet" if account.on_balance_sheet else "Profit and Loss",
            "GLCategoryTypeID": type_id, "GLCategoryTypeDescription": type_name, "IsActive": True,
            "CurrencyCode": CURRENCY,
        }) + "</WSChartOfAccountLine>")
    return Answer("".join(parts))


@method("GetGLAccountList")
def get_gl_account_list(call: Call) -> Answer:
    return Answer("".join(f"<ArrayOfString><string>{a.code}</string><string>{esc(a.name)}</string></ArrayOfString>"
                          for a in GL_ACCOUNTS.values()))


@method("GetTaxCodeList")
def get_tax_code_list(call: Call) -> Answer:
    return Answer("".join("<Tax>" + render(TAX, {
        "ID": tax.id, "Code": tax.code, "Description": tax.description, "RowVersionNumber": _STATIC_VERSION,
        "Rate": tax.rate, "PartialReclaimRate": Decimal("0.00"), "IsDefault": tax.code == DEFAULT_TAX,
        "IsStandardRate": tax.standard, "GrossThreshold": None, "NetThreshold": None, "TaxTypeId": None,
        "DebitGlAccno": VAT_CONTROL, "CreditGlAccno": VAT_CONTROL, "Checker": f"<Checker>{_CHECKER}</Checker>",
    }) + "</Tax>" for tax in TAX_CODES.values()))


@method("GetCreditTermList")
def get_credit_term_list(call: Call) -> Answer:
    return Answer("".join(
        f"<CreditTerm><ID>{term.id}</ID><Code>{term.id}</Code><Description>{term.description}</Description>"
        f"<RowVersionNumber>{_STATIC_VERSION}</RowVersionNumber><CreditDays>{term.days}</CreditDays>"
        f"<EndOfMonth>{boolean(term.end_of_month)}</EndOfMonth><Checker>{_CHECKER}"
        "<CreditDayLength>3</CreditDayLength></Checker></CreditTerm>" for term in CREDIT_TERMS.values()))


@method("GetPeriodList")
def get_period_list(call: Call) -> Answer:
    parts = []
    for period in _entity(call).periods:
        members = {"PeriodID": period.id, "PeriodNumber": period.number, "PeriodName": period.name,
                   "FinancialYear": period.year, "StartDate": date_text(period.start),
                   "EndDate": date_text(period.end), "SalesLedgerClosed": False, "PurchasesLedgerClosed": False,
                   "GeneralLedgerClosed": False, "FinancialYearClosed": False}
        members.update({"_" + name: value for name, value in list(members.items())})
        parts.append("<WSFinancialPeriodDTO>" + render(PERIOD, members) + "</WSFinancialPeriodDTO>")
    return Answer("".join(parts))


@method("GetEntitiesByToken", entity=False)
def get_entities_by_token(call: Call) -> Answer:
    return Answer("".join(f"<WSEntity><EntityID>{esc(e.id)}</EntityID><EntityName>{esc(e.name)}</EntityName>"
                          f"<BaseCurrency>{CURRENCY}</BaseCurrency></WSEntity>" for e in call.settings["entities"]()))


# ----------------------------------------------------------------------------------------------- banks

def banks(entity: Entity) -> list[dict]:
    seed = sum(ord(ch) * (i + 1) for i, ch in enumerate(entity.id))
    return [
        {"BankID": 1, "Code": CURRENT_ACCOUNT, "Name": "Current account",
         "BankAccountCode": f"{10_000_000 + seed * 7919 % 89_999_999}",
         "SortCode": f"98-{seed % 90 + 10:02d}-{seed * 7 % 90 + 10:02d}", "OverdraftLimit": Decimal("5000.00")},
        {"BankID": 2, "Code": DEPOSIT_ACCOUNT, "Name": "Deposit account",
         "BankAccountCode": f"{10_000_000 + seed * 104_729 % 89_999_999}",
         "SortCode": f"98-{seed % 90 + 10:02d}-{seed * 7 % 90 + 10:02d}", "OverdraftLimit": Decimal("0.00")},
    ]


@method("GetBankList")
def get_bank_list(call: Call) -> Answer:
    entity = _entity(call)
    profile = profile_for(entity.name)
    parts = []
    for bank in banks(entity):
        bank.update({"GroupOnlinePaymentDuringReconciliation": False, "Address1": "Ulster Bank, 11-16 Donegall Square",
                     "City": "Belfast", "CountryState": "United Kingdom", "CurrencyCode": CURRENCY,
                     "OnlineBankType": "None", "RowVersionNumber": _STATIC_VERSION,
                     "SwiftCode": "ULSBGB2B", "Phone": profile.phone or None})
        parts.append("<Bank>" + render(BANK, bank) + "</Bank>")
    return Answer("".join(parts))


@method("GetBankAccountBalance")
def get_bank_account_balance(call: Call) -> Answer:
    entity = _entity(call)
    code = call.body.text("GLAccountCode") or ""
    if code not in {bank["Code"] for bank in banks(entity)}:
        raise AiqError("BANK_ACCOUNT_DOES_NOT_EXIST", f"There is no bank account with the GL code {code}.")
    moment = call.body.moment("pointInTime")
    period = _period(entity, moment)
    day = moment.date()
    balance = ZERO
    reconciled: dt.date | None = None
    for row in entity.txns.values():
        if row.bank_gl == code and row.date <= day:
            balance += row.bank_amount
            if row.reconciled and (reconciled is None or row.date > reconciled):
                reconciled = row.date
    return Answer(f"<FinancialYear>{period.year}</FinancialYear><PeriodNumber>{period.number}</PeriodNumber>"
                  f"<PeriodName>{esc(period.name)}</PeriodName><Date>{date_text(day)}</Date>"
                  f"<Balance>{_amount(balance)}</Balance>"
                  f"{s('LastReconciledDate', reconciled.isoformat() if reconciled else None)}")


# --------------------------------------------------------------------------------------------- reports

@method("GetTrialBalanceForPeriod")
def get_trial_balance_for_period(call: Call) -> Answer:
    entity = _entity(call)
    period = _period(entity, call.body.moment("dateInPeriod"))
    parts = []
    for code, movement, balance in entity.trial_balance(period):
        account = GL_ACCOUNTS.get(code)
        parts.append(
            f"<WSBalance><CompanyID>{esc(entity.id)}</CompanyID><GLAccountCode>{code}</GLAccountCode>"
            f"{s('GLAccountName', account.name if account else None)}"
            f"<OverallPeriodMovement>{_amount(movement)}</OverallPeriodMovement>"
            f"<OverallBalance>{_amount(balance)}</OverallBalance>"
            "<OverallBudgetPeriodMovement>0.00</OverallBudgetPeriodMovement><OverallBudgetBalance>0.00"
            "</OverallBudgetBalance><DepartmentBalances /><OverallRevisedBudgetPeriodMovement>0.00"
            "</OverallRevisedBudgetPeriodMovement><OverallRevisedBudgetBalance>0.00</OverallRevisedBudgetBalance>"
            "</WSBalance>")
    return Answer(f"<PeriodNumber>{period.number}</PeriodNumber><FinancialYear>{period.year}</FinancialYear>"
                  f"<PeriodName>{esc(period.name)}</PeriodName><Balances>{''.join(parts)}</Balances>")


def _balances(entity: Entity, as_at: dt.date) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = {}
    for row in entity.txns.values():
        if row.ledger == "Sales" and row.date <= as_at:
            totals[row.account_id] = totals.get(row.account_id, ZERO) + row.control
    return totals


def _balance_xml(customer: dict, balance: Decimal) -> str:
    limit = Decimal(customer.get("CreditLimit") or 0)
    left = max(limit - balance, ZERO) if limit > 0 else ZERO
    over = max(balance - limit, ZERO) if limit > 0 else ZERO
    return (f"<AccountBalanceInformation><AccountID>{customer['AccountID']}</AccountID>"
            f"<AccountCode>{esc(customer['Code'])}</AccountCode>"
            f"<AccountType>Customer</AccountType><Balance>{_amount(balance)}</Balance>"
            f"<CreditLimit>{_amount(limit)}</CreditLimit><CreditLeft>{_amount(left)}</CreditLeft>"
            f"<OverCreditLimitBalance>{_amount(over)}</OverCreditLimitBalance>"
            f"{s('CurrencyCode', customer.get('CurrencyCode'))}</AccountBalanceInformation>")


@method("GetAccountBalanceInformation")
def get_account_balance_information(call: Call) -> Answer:
    entity = _entity(call)
    ids = call.body.ints("accountIDs")
    for account_id in ids:
        if entity.customer_by_id(account_id) is None:
            raise AiqError("ACCOUNT_ID_DOES_NOT_EXIST", f"There is no account with AccountID {account_id}.")
    customers = [entity.customer_by_id(i) for i in ids] if ids else \
        sorted(entity.customers.values(), key=lambda c: c["AccountID"])
    totals = _balances(entity, call.body.moment("edt").date())
    return Answer("".join(_balance_xml(c, totals.get(c["AccountID"], ZERO)) for c in customers))


def _customers_by_codes(entity: Entity, codes: list[str]) -> list[dict]:
    for code in codes:
        if code not in entity.customers:
            raise AiqError("CUSTOMER_CODE_DOES_NOT_EXIST", f"The customer code {code} does not exist.")
    if codes:
        return [entity.customers[code] for code in codes]
    return sorted(entity.customers.values(), key=lambda c: c["AccountID"])


@method("GetCustomerBalanceInformation")
def get_customer_balance_information(call: Call) -> Answer:
    entity = _entity(call)
    customers = _customers_by_codes(entity, call.body.strings("customerCodes"))
    totals = _balances(entity, call.body.moment("edt").date())
    return Answer("".join(_balance_xml(c, totals.get(c["AccountID"], ZERO)) for c in customers))


_BUCKETS = ("From0To30DaysBalanceBucket", "From30To60DaysBalanceBucket", "From60To90DaysBalanceBucket",
            "From90To120DaysBalanceBucket", "From120DaysPlusBalanceBucket", "FutureBalanceBucket")


@method("GetCustomersStatement")
def get_customers_statement(call: Call) -> Answer:
    """Every sales transaction of each customer, aged by transaction date against ``upTo``
    (later ones are in the future bucket); ``showZeros`` false leaves out settled transactions and
    customers who owe nothing."""
    entity = _entity(call)
    customers = _customers_by_codes(entity, call.body.strings("customerCodes"))
    up_to = call.body.moment("upTo")
    show_zeros = bool(call.body.flag("showZeros"))
    by_account: dict[int, list[TxnRow]] = {}
    wanted = {c["AccountID"] for c in customers}
    for row in entity.txns.values():
        if row.ledger == "Sales" and row.account_id in wanted:
            by_account.setdefault(row.account_id, []).append(row)
    parts = []
    for customer in customers:
        rows = sorted(by_account.get(customer["AccountID"], []), key=lambda r: (r.date, r.id))
        buckets = [ZERO] * 6
        for row in rows:
            age = (up_to.date() - row.date).days
            index = 5 if age < 0 else min(age // 30, 4)
            buckets[index] += row.outstanding
        balance = sum(buckets, ZERO)
        if not show_zeros and not balance and not any(row.outstanding for row in rows):
            continue
        state = "".join(f"<{name}>{_amount(value)}</{name}>" for name, value in zip(_BUCKETS, buckets, strict=True))
        listed = [row for row in rows if show_zeros or row.outstanding]
        transactions = "".join(
            f"<TransactionState><TransactionReference>{row.id}</TransactionReference><Type>{row.type}</Type>"
            f"{s('InternalNumber', row.number or None)}{s('ExternalReference', row.ext or None)}"
            f"<Amount>{_amount(row.control)}</Amount><OutstandingAmount>{_amount(row.outstanding)}</OutstandingAmount>"
            f"<TransactionDate>{date_text(row.date)}</TransactionDate>{s('Description', row.description or None)}"
            "</TransactionState>" for row in listed)
        parts.append(f"<CustomerStatement><CustomerState>{state}<CurrentBalance>{_amount(balance)}</CurrentBalance>"
                     f"<CurrentDate>{stamp_text(up_to)[:-1]}</CurrentDate>"
                     f"<CustomerCode>{esc(customer['Code'])}</CustomerCode></CustomerState>"
                     f"<TransactionList>{transactions}</TransactionList></CustomerStatement>")
    return Answer("".join(parts))
