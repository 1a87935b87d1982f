"""One demo company, written as a Clear Books business would hold it.

The generator's records are mapped to Clear Books' wire shapes in one pass over its invoices (a medium
company has 50,000; going over them twice would double the start-up time). Its receipts become payments
allocated to their invoices, its opening balance and spending become ledger entries, and its chart of
accounts gets Clear Books-style ids (``sandbox_chart``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.domain.documents import DocumentStatus
from app.domain.generate import DemoCompany
from app.domain.ledger import Classification
from providers.clearbooks.sandbox_books import SERVICE, Books
from providers.clearbooks.sandbox_chart import HOME_CURRENCY, VAT_RATES, next_code
from providers.clearbooks.sandbox_documents import KINDS, ZERO, assemble
from providers.clearbooks.sandbox_resources import PAYMENT_METHODS, empty_address

FIRST_BUSINESS_ID = 184501

BUSINESSES = (
    ("SoleTrader", {"building": "Rose Cottage", "line1": "12 Mill Lane", "line2": "", "town": "Frome",
                    "county": "Somerset", "postcode": "BA11 3BN", "countryCode": "GB"}),
    ("Partnership", {"building": "Unit 4, Castle Court", "line1": "41 Castle Street", "line2": "",
                     "town": "Shrewsbury", "county": "Shropshire", "postcode": "SY1 2BW", "countryCode": "GB"}),
    ("LimitedCompany", {"building": "Severn House", "line1": "Riverside Industrial Estate", "line2": "Nunnery Way",
                        "town": "Worcester", "county": "Worcestershire", "postcode": "WR4 9PQ",
                        "countryCode": "GB"}),
)

# The generator's chart codes -> Clear Books headings (see sandbox_chart for the numbering).
_HEADINGS = {"1100": 7101, "1200": 7502, "1210": 7502, "2100": 8001, "2200": 8002, "3000": 9001, "3100": 9002,
             "4000": 1001, "4010": 1001, "4020": 1001, "5000": 2001, "6100": 2002, "6200": 2003, "6300": 2004,
             "6400": 2005, "6500": 2006}
_FALLBACK = {Classification.ASSET: 7001, Classification.LIABILITY: 8001, Classification.EQUITY: 9002,
             Classification.REVENUE: 1002, Classification.EXPENSE: 2005}

_SUPPLIERS = (
    ("Ashdown Property Lettings Ltd", "Fiona", "Marsh", "accounts@ashdownlettings.example", "Bath", "BA1 2QH"),
    ("Brightwire Telecom Ltd", "", "", "billing@brightwire.example", "Reading", "RG1 3EU"),
    ("Fuelcard Direct Ltd", "", "", "invoices@fuelcarddirect.example", "Peterborough", "PE2 6FL"),
    ("Quill & Ledger Office Supplies Ltd", "Tom", "Hale", "sales@quillandledger.example", "Leeds", "LS11 5QT"),
    ("Northgate Trade Supplies Ltd", "Sunita", "Rao", "orders@northgatetrade.example", "Stoke-on-Trent",
     "ST4 2RS"),
)

_BATCH = 5000
_INVOICES = KINDS["sales:invoices"]


def business_id(index: int) -> int:
    return FIRST_BUSINESS_ID + index


def seed_company(books: Books, index: int, company: DemoCompany) -> None:
    ident = business_id(index)
    biz = str(ident)
    kind, address = BUSINESSES[index]
    books.store.put(SERVICE, "businesses", biz, {"id": ident, "name": company.name, "type": kind,
                                                 "address": address, "logoUrl": None})
    codes = _seed_chart(books, biz, company)
    banks = _seed_banks(books, biz, company, codes)
    customers = _seed_contacts(books, biz, company)
    _seed_entries(books, biz, company, codes)
    paid = _seed_invoices(books, biz, company, codes, customers, banks)
    _seed_payments(books, biz, paid, banks)


def _seed_chart(books: Books, biz: str, company: DemoCompany) -> dict[str, int]:
    codes: dict[str, int] = {}
    docs = []
    for account in sorted(company.accounts(), key=lambda a: a.code):
        heading = _HEADINGS.get(account.code, _FALLBACK[account.classification])
        ident = next_code(heading, codes.values())
        codes[account.code] = ident
        trading = account.classification in (Classification.REVENUE, Classification.EXPENSE)
        docs.append({"id": ident, "name": account.name, "heading": heading,
                     "defaultVatRate": "standard" if trading else "",
                     "sales": account.classification is Classification.REVENUE,
                     "purchases": account.classification is Classification.EXPENSE})
    books.put_many(biz, "accountCodes", sorted(docs, key=lambda d: d["id"]))
    return codes


def _seed_banks(books: Books, biz: str, company: DemoCompany, codes: dict[str, int]) -> dict[str, dict]:
    # The bank account wire shape has no balance, and the generator computes balances from every payment;
    # the bank stream depends only on the company's name and seed, so a tiny twin gives the same accounts.
    twin = DemoCompany(company.name, "tiny", seed=company.seed, currency=company.currency, as_of=company.as_of,
                       id_offset=company.id_offset)
    first = books.reserve("bankAccount", 2)
    banks: dict[str, dict] = {}
    for n, account in enumerate(twin.bank_accounts()):
        methods = [{"id": books.next_id("paymentMethod"), "name": name} for name in PAYMENT_METHODS]
        banks[account.remote_id] = {
            "id": first + n, "accountCode": codes[account.account_code], "name": account.name,
            "accountNumber": account.account_number, "sortCode": account.sort_code, "iban": account.iban,
            "swift": "", "currency": account.currency, "paymentMethods": methods}
    books.put_many(biz, "bankAccounts", list(banks.values()))
    return banks


def _contact(ident: int, name: str, forenames: str, surname: str, email: str, phone: str, address: dict,
             vat: str = "", company_number: str = "", archived: bool = False) -> dict:
    return {"id": ident, "name": name, "contactName": {"title": "", "forenames": forenames, "surname": surname},
            "email": email, "phone": phone, "address": address, "vatNumber": vat, "companyNumber": company_number,
            "archived": archived}


def _seed_contacts(books: Books, biz: str, company: DemoCompany) -> dict[str, int]:
    first = books.reserve("contact", company.counts.customers + len(_SUPPLIERS))
    customers: dict[str, int] = {}
    docs = []
    for n, customer in enumerate(company.customers()):
        customers[customer.remote_id] = first + n
        forenames, _, surname = customer.contact_name.rpartition(" ")
        a = customer.address
        docs.append(_contact(first + n, customer.name, forenames, surname, customer.email, customer.phone,
                             {"building": "", "line1": a.line1, "line2": a.line2, "town": a.town, "county": a.region,
                              "postcode": a.postcode, "countryCode": a.country},
                             customer.vat_number, customer.company_number, customer.archived))
    books.put_many(biz, "customers", docs)
    base = first + len(docs)
    books.put_many(biz, "suppliers", [
        _contact(base + n, name, forenames, surname, email, "", {**empty_address(), "town": town,
                                                                 "postcode": postcode, "countryCode": "GB"})
        for n, (name, forenames, surname, email, town, postcode) in enumerate(_SUPPLIERS)])
    return customers


def _seed_entries(books: Books, biz: str, company: DemoCompany, codes: dict[str, int]) -> None:
    """The opening balance (the generator's first transactions) and the money spent straight from the bank."""
    opening: dict[str, list] = {}
    for line in company.ledger_lines():
        if line.transaction_id.startswith(("SI", "RC", "EX")):
            break  # the rest is invoices, receipts and expenses, made here from their sources
        opening.setdefault(line.transaction_id, []).append(line)
    expenses = list(company.expenses())
    first = books.reserve("txn", len(opening) + len(expenses))
    docs = [{"id": first + n, "accountingDate": lines[0].date.isoformat(),
             "lines": [{"accountCodeId": codes[line.account_code], "amount": line.amount} for line in lines]}
            for n, lines in enumerate(opening.values())]
    bank = codes["1200"]
    for day, _description, account, amount in expenses:
        docs.append({"id": first + len(docs), "accountingDate": day.isoformat(),
                     "lines": [{"accountCodeId": codes[account], "amount": amount},
                               {"accountCodeId": bank, "amount": -amount}]})
    books.put_many(biz, "ledgerEntries", docs)


def _seed_invoices(books: Books, biz: str, company: DemoCompany, codes: dict[str, int], customers: dict[str, int],
                   banks: dict[str, dict]) -> list[tuple]:
    """Invoices in batches; returns (invoice id, customer id, date paid, amount, number) of each receipt."""
    first = books.reserve("txn", company.counts.invoices)
    display_bank = next(iter(banks.values()))["id"]
    stock: dict[str, int] = {}
    stock_docs: list[dict] = []
    paid: list[tuple] = []
    batch: list[dict] = []
    hundred = Decimal(100)
    rates = {key: rate for key, (_name, rate) in VAT_RATES.items()}
    statuses = {DocumentStatus.DRAFT: "draft", DocumentStatus.VOID: "voided"}
    for n, invoice in enumerate(company.invoices()):
        items = []
        for line in invoice.lines:
            price, quantity, item_code = line.unit_price, line.quantity, line.item_code
            if line.discount_percent:
                # Clear Books lines carry no discount: the discounted price is the price.
                price = price * (hundred - line.discount_percent) / hundred
            if quantity == quantity.to_integral_value():
                quantity = int(quantity)  # the same JSON text, and half the cost to write
            if item_code and item_code not in stock:
                stock[item_code] = books.next_id("stockItem")
                stock_docs.append(_stock_item(stock[item_code], line, codes))
            stated = line.vat_amount
            if stated is None and rates[line.vat_rate_key] != line.vat_rate:
                stated = line.vat(invoice.currency, invoice.rounding)
            items.append({"description": line.description, "unitPrice": price, "quantity": quantity,
                          "accountCode": codes[line.account_code], "vatRateKey": line.vat_rate_key,
                          "vatAmount": stated, "stockItem": stock.get(item_code)})
        date = invoice.date.isoformat()
        values = {"date": date, "dateAccrual": date, "reference": invoice.reference, "currency": HOME_CURRENCY,
                  "description": "", "vatTreatment": "standard", "lineItems": items,
                  "customerId": customers[invoice.customer_remote_id],
                  "dateDue": (invoice.due_date or invoice.date + dt.timedelta(days=30)).isoformat(),
                  "displayBankAccountId": display_bank, "internetPaymentAccountIds": []}
        status = statuses.get(invoice.status, "approved")
        number = invoice.number.removeprefix(_INVOICES.prefix).lstrip("0") or "0"
        doc = assemble(_INVOICES, first + n, number, values, status)
        if invoice.amount_paid > 0 and status == "approved":
            paid_on = company._paid_on(invoice).isoformat()
            paid.append((doc["id"], values["customerId"], paid_on, invoice.amount_paid, invoice.number))
            doc["due"] = doc["gross"] - invoice.amount_paid
            if doc["due"] == ZERO:
                doc["status"], doc["datePaid"] = "paid", paid_on
        batch.append(doc)
        if len(batch) >= _BATCH:
            books.put_many(biz, _INVOICES.collection, batch)
            batch = []
    books.put_many(biz, _INVOICES.collection, batch)
    books.put_many(biz, "stockItems", stock_docs)
    books.store.set_counter(f"docnum:{biz}:{_INVOICES.collection}", company.counts.invoices)
    return paid


def _stock_item(ident: int, line, codes: dict[str, int]) -> dict:
    return {"id": ident, "name": line.description, "sku": line.item_code, "type": "sales",
            "description": line.description, "salesUnitPrice": line.unit_price,
            "salesAccountCode": codes[line.account_code], "salesVatRateKey": line.vat_rate_key, "salesQuantity": 0,
            "purchaseUnitPrice": None, "purchaseAccountCode": None, "purchaseVatRateKey": "",
            "purchaseQuantity": 0, "trackStock": False}


def _seed_payments(books: Books, biz: str, paid: list[tuple], banks: dict[str, dict]) -> None:
    current = next(iter(banks.values()))
    method = current["paymentMethods"][0]["id"]
    first_payment = books.reserve("txn", len(paid))
    first_allocation = books.reserve("allocation", len(paid))
    payments, allocations = [], []
    for n, (invoice_id, customer_id, date, amount, number) in enumerate(paid):
        payments.append({"id": first_payment + n, "date": date, "accountingDate": date,
                         "description": f"Receipt {number}", "amount": amount, "currency": current["currency"],
                         "exchangeRate": None, "contactId": customer_id, "paymentMethodId": method,
                         "bankAccountId": current["id"]})
        allocations.append({"id": first_allocation + n, "invoiceId": invoice_id, "paymentId": first_payment + n,
                            "allocationType": "payment", "amount": amount})
        if len(payments) >= _BATCH:
            books.put_many(biz, "payments", payments)
            books.put_many(biz, "allocations:sales", allocations)
            payments, allocations = [], []
    books.put_many(biz, "payments", payments)
    books.put_many(biz, "allocations:sales", allocations)
