"""The AccountsIQ sandbox driven as a client drives the service: SOAP 1.1 envelopes over loopback HTTP.

Answers are read with defusedxml, as the client must. Expected figures are worked out here from first
principles (line-by-line VAT, half up), never taken from the sandbox's own code.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from email.utils import parsedate_to_datetime
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
import httpx
import pytest

from providers.sandbox.base import SandboxOptions
from providers.sandbox.registry import build_sandbox
from providers.sandbox.server import serve_in_thread

NS = "http://www.visorsoftware.com/visor/accountsiq/dashboard/Integration/"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
PATH = "/system/dashboard/integration/integration_2_0.asmx"
CENT = Decimal("0.01")
ENTITY = "laganvalley"
TAX_RATES = {"S": Decimal(20), "R": Decimal(5), "Z": Decimal(0), "E": Decimal(0)}


# --- a small SOAP client (the ledger and performance tests use it too) --------------------------------------

def q(name: str) -> str:
    return "{" + NS + "}" + name


def envelope(method: str, body: str = "", entity: str | None = None, token: str | None = None) -> bytes:
    header = ""
    if entity is not None or token is not None:
        parts = (f"<Entity>{entity}</Entity>" if entity is not None else "") + \
                (f"<AccessToken>{token}</AccessToken>" if token is not None else "")
        header = f'<soap:Header><AiqSoapHeader xmlns="{NS}">{parts}</AiqSoapHeader></soap:Header>'
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP}" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{header}'
            f'<soap:Body><{method} xmlns="{NS}">{body}</{method}></soap:Body></soap:Envelope>').encode()


@dataclass
class Answer:
    http: httpx.Response
    method: str
    status: str
    code: str
    message: str | None
    has_expired: bool | None
    result: Element | None
    out: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.status == "Success" and self.code == "SUCCESS"

    def items(self, tag: str) -> list[Element]:
        return [] if self.result is None else self.result.findall(q(tag))


def parse_answer(response: httpx.Response, method: str) -> Answer:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    root = SafeET.fromstring(response.content)
    wrapper = root.find(f"{{{SOAP}}}Body/{q(method + 'Response')}")
    assert wrapper is not None, response.text[:500]
    result_holder = wrapper[0]
    assert result_holder.tag == q(method + "Result")
    names = [child.tag.split("}")[1] for child in result_holder]
    assert names[:2] == ["Status", "ErrorCode"] or names[1:3] == ["Status", "ErrorCode"], names
    expired = result_holder.findtext(q("HasExpired"))
    return Answer(response, method, result_holder.findtext(q("Status")), result_holder.findtext(q("ErrorCode")),
                  result_holder.findtext(q("ErrorMessage")), None if expired is None else expired == "true",
                  result_holder.find(q("Result")), {child.tag.split("}")[1]: child.text or "" for child in wrapper[1:]})


class Aiq:
    def __init__(self, url: str, credentials: dict[str, str]):
        self.http = httpx.Client(base_url=url, timeout=60)
        self.credentials = credentials
        self.token = self.sign_in()[0]

    def post(self, method: str, body: str = "", entity: str | None = ENTITY, token: str | None = "",
             action: str | None = None, content_type: str = "text/xml; charset=utf-8",
             raw: bytes | None = None) -> httpx.Response:
        token = self.token if token == "" else token
        data = raw if raw is not None else envelope(method, body, entity, token)
        headers = {"Content-Type": content_type}
        if action is not False:
            headers["SOAPAction"] = action if action is not None else f'"{NS}{method}"'
        return self.http.post(PATH, content=data, headers=headers)

    def call(self, method: str, body: str = "", entity: str | None = ENTITY, token: str | None = "") -> Answer:
        return parse_answer(self.post(method, body, entity, token), method)

    def ok(self, method: str, body: str = "", entity: str | None = ENTITY) -> Answer:
        answer = self.call(method, body, entity)
        assert answer.ok, (answer.code, answer.message)
        return answer

    def sign_in(self) -> tuple[str, str]:
        body = f"<clientId>{self.credentials['client_id']}</clientId>" \
               f"<clientSecret>{self.credentials['client_secret']}</clientSecret>"
        root = SafeET.fromstring(self.post("TokenGet", body, entity=None, token=None).content)
        response = root.find(f"{{{SOAP}}}Body/{q('TokenGetResponse')}")
        return response.findtext(q("AccessToken")), response.findtext(q("RefreshToken"))


def value(element: Element, name: str) -> str | None:
    return element.findtext(q(name))


def money(element: Element, name: str) -> Decimal:
    return Decimal(element.findtext(q(name)))


def fault_of(response: httpx.Response) -> tuple[str, str]:
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    fault = SafeET.fromstring(response.content).find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None, response.text
    return fault.findtext("faultcode"), fault.findtext("faultstring")


def open_sandbox(size: str = "small", **options):
    sandbox = build_sandbox("accountsiq", SandboxOptions(size=size, seed=11, **options))
    server = serve_in_thread(sandbox.stack.asgi)
    return sandbox, server


def line_xml(lines: list[tuple]) -> str:
    """Invoice lines (description, quantity, price, discount %, tax code, GL account)."""
    return "".join(
        f"<InvoiceLine><InvoiceItemID>0</InvoiceItemID><StockItemDescription>{escape(d)}</StockItemDescription>"
        f"<InvoicedQuantity>{qty}</InvoicedQuantity><StockItemPrice>{price}</StockItemPrice>"
        f"<DiscountRate>{disc}</DiscountRate><TaxCode>{tax}</TaxCode><GLAccountCode>{gl}</GLAccountCode>"
        "</InvoiceLine>" for d, qty, price, disc, tax, gl in lines)


SERVER_SET = ("CreationDate", "RowVersionNumber", "Status", "AuthorUserID")


def document_body(shell: Element, lines: list[tuple] | None = None, ext: str = "", date: str | None = None,
                  keep_version: bool = False, members: dict[str, str | None] | None = None) -> str:
    """A document as a client sends it back: the members of what the service handed out, lines and
    external reference set, the server-set members left out; ``members`` replaces (None: drops) some."""
    members = dict(members or {})
    if ext:
        members["ExternalReference"] = ext
    if date:
        members["InvoiceDate"] = date
    parts = []
    for child in shell:
        name = child.tag.split("}")[1]
        if name == "CreationDate" and "ExternalReference" in members and shell.find(q("ExternalReference")) is None:
            parts.append(f"<ExternalReference>{escape(members['ExternalReference'])}</ExternalReference>")
        if name in SERVER_SET and not (keep_version and name == "RowVersionNumber"):
            continue
        if name == "Lines":
            parts.append(f"<Lines>{line_xml(lines)}</Lines>" if lines is not None
                         else SafeET.tostring(child, encoding="unicode"))
        elif name in members:
            if members[name] is not None:
                parts.append(f"<{name}>{escape(members[name])}</{name}>")
        elif child.get(XSI_NIL) == "true":
            parts.append(f'<{name} xsi:nil="true" />')
        else:
            parts.append(f"<{name}>{escape(child.text or '')}</{name}>")
    present = {child.tag.split("}")[1] for child in shell} | {"ExternalReference"}
    parts += [f"<{name}>{escape(text)}</{name}>" for name, text in members.items()
              if name not in present and text is not None]
    return "".join(parts)


def new_document(aiq: Aiq, customer: str, lines: list[tuple], ext: str = "", date: str | None = None,
                 kind: str = "Invoice") -> str:
    method = "GetNewSalesInvoice" if kind == "Invoice" else "GetNewSalesCreditNote"
    shell = aiq.ok(method, f"<customerCode>{customer}</customerCode>").result
    return document_body(shell, lines, ext, date)


def save(aiq: Aiq, body: str, create: bool = True, kind: str = "Invoice") -> Answer:
    if kind == "Invoice":
        return aiq.call("SaveInvoiceGetBackInvoiceID",
                        f"<invoice>{body}</invoice><create>{str(create).lower()}</create>")
    return aiq.call("SaveCreditNoteGetBackCreditNoteID",
                    f"<creditNote>{body}</creditNote><create>{str(create).lower()}</create>")


def expected_line(qty: Decimal, price: Decimal, discount: Decimal, tax: str) -> tuple[Decimal, Decimal]:
    net = (qty * price * (100 - discount) / 100).quantize(CENT, ROUND_HALF_UP)
    return net, (net * TAX_RATES[tax] / 100).quantize(CENT, ROUND_HALF_UP)


# --- fixtures -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sandbox():
    sandbox, server = open_sandbox(throttle=False, extra={"max_page_size": 100, "transactions_page_size": 250})
    sandbox.url = server.url
    yield sandbox
    server.stop()


@pytest.fixture(scope="module")
def aiq(sandbox) -> Aiq:
    return Aiq(sandbox.url, sandbox.credentials())


@pytest.fixture
def faults(sandbox):
    settings = sandbox.stack.faults.settings
    yield sandbox.stack.faults
    settings.update(latency_ms=0, error_rate=0.0, drop_before_rate=0.0, drop_after_rate=0.0, throttle_rate=0.0,
                    truncate_rate=0.0)


_counter = iter(range(1, 1_000_000))


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter):05d}-{random.randrange(10**6):06d}"


# --- the HTTP and SOAP layer --------------------------------------------------------------------------------

def test_get_shows_the_service_page_and_other_paths_are_not_found(aiq):
    page = aiq.http.get(PATH)
    assert page.status_code == 200 and "GetInvoicesBy" in page.text and "TokenGet" in page.text
    assert aiq.http.get("/system/dashboard/integration/nothing.asmx").status_code == 404
    # IIS matches paths whatever their case.
    upper = aiq.http.post(PATH.upper(), content=envelope("GetTaxCodeList", "", ENTITY, aiq.token),
                          headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": NS + "GetTaxCodeList"})
    assert parse_answer(upper, "GetTaxCodeList").ok


def test_an_unknown_or_missing_soapaction_is_a_soap_fault(aiq):
    unknown = aiq.post("GetNoSuchThing")
    assert unknown.status_code == 500
    code, text = fault_of(unknown)
    assert code == "soap:Client"
    assert text == f"Server did not recognize the value of HTTP Header SOAPAction: {NS}GetNoSuchThing."
    missing = aiq.post("GetTaxCodeList", action=False)
    assert missing.status_code == 500 and "SOAPAction: ." in fault_of(missing)[1]
    other_namespace = aiq.post("GetTaxCodeList", action="http://example.com/GetTaxCodeList")
    assert other_namespace.status_code == 500


def test_unreadable_requests_are_soap_faults(aiq):
    for raw in (b"<soap:Envelope", b"not xml at all", b'<?xml version="1.0"?><Envelope><Body/></Envelope>',
                envelope("GetTaxCodeList").replace(b"<soap:Body>", b"<soap:Body></soap:Body><x>")):
        response = aiq.post("GetTaxCodeList", raw=raw)
        assert response.status_code == 500, raw
        code, text = fault_of(response)
        assert code == "soap:Client" and text.startswith("Server was unable to read request.")
    mismatch = aiq.post("GetTaxCodeList", raw=envelope("GetBankList", "", ENTITY, aiq.token))
    assert mismatch.status_code == 500 and "does not match the SOAPAction" in fault_of(mismatch)[1]


def test_xml_bombs_and_external_entities_are_refused(aiq):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
            b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            + envelope("GetCustomer", "<customerCode>&lol3;</customerCode>", ENTITY, aiq.token).split(b"?>", 1)[1])
    external = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                + envelope("GetCustomer", "<customerCode>&xxe;</customerCode>", ENTITY, aiq.token).split(b"?>", 1)[1])
    for raw in (bomb, external):
        response = aiq.post("GetCustomer", raw=raw)
        assert response.status_code == 500
        assert "prohibited" in fault_of(response)[1]
        assert "root:" not in response.text


def test_only_soap_11_text_xml_is_accepted(aiq):
    assert aiq.post("GetTaxCodeList", content_type="application/soap+xml; charset=utf-8").status_code == 415
    assert aiq.post("GetTaxCodeList", content_type="application/json").status_code == 415


def test_values_are_read_as_xmlserializer_reads_them(aiq):
    bad_int = aiq.post("GetInvoice", "<invoiceID>twelve</invoiceID>")
    assert bad_int.status_code == 500 and "not in a correct format" in fault_of(bad_int)[1]
    bad_date = aiq.post("GetTrialBalanceForPeriod", "<dateInPeriod>31/12/2025</dateInPeriod>")
    assert bad_date.status_code == 500 and fault_of(bad_date)[0] == "soap:Client"
    # An element outside the service namespace is not a member: the customer code is simply missing.
    foreign = aiq.call("GetCustomer", '<customerCode xmlns="urn:other">C0001</customerCode>')
    assert foreign.code == "CUSTOMER_CODE_DOES_NOT_EXIST" and foreign.status == "Failure"
    # The 1.1-compatible first parameter is accepted and ignored.
    assert aiq.call("GetCustomer", "<token></token><customerCode>C0001</customerCode>").ok


# --- sign-in ------------------------------------------------------------------------------------------------

def test_token_get_answers_in_the_catalogue_shape(aiq):
    creds = aiq.credentials
    response = aiq.post("TokenGet", f"<clientId>{creds['client_id']}</clientId>"
                                    f"<clientSecret>{creds['client_secret']}</clientSecret>", entity=None, token=None)
    assert response.status_code == 200
    root = SafeET.fromstring(response.content)
    answer = root.find(f"{{{SOAP}}}Body/{q('TokenGetResponse')}")
    assert [c.tag.split("}")[1] for c in answer] == ["TokenGetResult", "AccessToken", "RefreshToken"]
    result = answer.find(q("TokenGetResult"))
    assert [c.tag.split("}")[1] for c in result] == ["Result", "Status", "ErrorCode"]
    inner = result.find(q("Result"))
    assert [c.tag.split("}")[1] for c in inner] == ["TokenGetResult", "AccessToken", "RefreshToken"]
    assert inner.findtext(q("AccessToken")) == answer.findtext(q("AccessToken"))
    assert result.findtext(q("Status")) == "Success" and result.findtext(q("ErrorCode")) == "SUCCESS"
    assert len(answer.findtext(q("AccessToken"))) >= 32 and answer.findtext(q("RefreshToken"))


@pytest.mark.parametrize(("client_id", "secret", "code"), [
    ("", "x", "OAUTH_INTEGRATION_APPS_CLIENTID_IS_NULL_OR_EMPTY"),
    ("6f0c3b2e-8d4a-4e71-9b5c-2a7d1e9f4c83", "", "OAUTH_INTEGRATION_APPS_CLIENTSECRET_IS_NULL_OR_EMPTY"),
    ("ledgerdesk", "x", "OAUTH_INTEGRATION_APPS_UNABLE_TO_PARSE_GUID_TO_STRING"),
    ("00000000-0000-0000-0000-000000000000", "x", "OAUTH_INTEGRATION_APPS_APP_NOT_FOUND"),
    ("6f0c3b2e-8d4a-4e71-9b5c-2a7d1e9f4c83", "wrong", "CANNOT_LOGIN_INVALID_CREDENTIALS"),
])
def test_token_get_refusals(aiq, client_id, secret, code):
    response = aiq.post("TokenGet", f"<clientId>{client_id}</clientId><clientSecret>{secret}</clientSecret>",
                        entity=None, token=None)
    assert response.status_code == 200
    answer = SafeET.fromstring(response.content).find(f"{{{SOAP}}}Body/{q('TokenGetResponse')}")
    result = answer.find(q("TokenGetResult"))
    assert [c.tag.split("}")[1] for c in answer] == ["TokenGetResult"]  # no tokens
    assert [c.tag.split("}")[1] for c in result] == ["Status", "ErrorCode", "ErrorMessage"]
    assert result.findtext(q("Status")) == "Failure" and result.findtext(q("ErrorCode")) == code
    assert result.findtext(q("ErrorMessage"))


def test_token_refresh_rotates_the_pair(sandbox):
    client = Aiq(sandbox.url, sandbox.credentials())
    access, refresh = client.sign_in()
    creds = sandbox.credentials()
    body = f"<clientId>{creds['client_id']}</clientId><clientSecret>{creds['client_secret']}</clientSecret>"
    first = SafeET.fromstring(client.post("TokenRefresh", body + f"<refreshToken>{refresh}</refreshToken>",
                                          entity=None, token=None).content)
    result = first.find(f"{{{SOAP}}}Body/{q('TokenRefreshResponse')}")
    new_access = result.findtext(q("AccessToken"))
    assert result.findtext(f"{q('TokenRefreshResult')}/{q('Status')}") == "Success"
    assert new_access and new_access != access and result.findtext(q("RefreshToken")) != refresh
    assert client.call("GetTaxCodeList", token=new_access).ok
    assert client.call("GetTaxCodeList", token=access).ok  # the old access token lives out its time
    again = SafeET.fromstring(client.post("TokenRefresh", body + f"<refreshToken>{refresh}</refreshToken>",
                                          entity=None, token=None).content)
    code = again.findtext(f"{{{SOAP}}}Body/{q('TokenRefreshResponse')}/{q('TokenRefreshResult')}/{q('ErrorCode')}")
    assert code == "OAUTH_INTEGRATION_APPS_TOKEN_IS_INVALID"  # a refresh token is spent once used


def test_an_expired_access_token_answers_has_expired_and_refresh_recovers():
    sandbox, server = open_sandbox("tiny", extra={"access_token_lifetime": 1.0})
    try:
        client = Aiq(server.url, sandbox.credentials())
        access, refresh = client.sign_in()
        assert client.call("GetTaxCodeList", token=access).ok
        time.sleep(1.1)
        expired = client.call("GetTaxCodeList", token=access)
        assert (expired.status, expired.code, expired.has_expired) == \
            ("Failure", "OAUTH_INTEGRATION_APPS_TOKEN_EXPIRED", True)
        assert expired.result is None and expired.message
        creds = sandbox.credentials()
        answer = SafeET.fromstring(client.post(
            "TokenRefresh", f"<clientId>{creds['client_id']}</clientId><clientSecret>{creds['client_secret']}"
                            f"</clientSecret><refreshToken>{refresh}</refreshToken>", entity=None, token=None).content)
        fresh = answer.findtext(f"{{{SOAP}}}Body/{q('TokenRefreshResponse')}/{q('AccessToken')}")
        again = client.call("GetTaxCodeList", token=fresh)
        assert again.ok and again.has_expired is False
    finally:
        server.stop()


def test_the_header_must_carry_a_valid_token_and_a_known_entity(aiq):
    missing = aiq.call("GetTaxCodeList", token=None)
    assert (missing.status, missing.code, missing.has_expired) == ("Failure", "WS_INVALIDTOKEN", False)
    assert aiq.call("GetTaxCodeList", token="not-a-token").code == "WS_INVALIDTOKEN"
    no_entity = aiq.call("GetTaxCodeList", entity=None)
    assert no_entity.code == "OAUTH_INTEGRATION_APPS_NO_ENTITY_PROVIDED_IN_HEADER"
    unknown = aiq.call("GetTaxCodeList", entity="someoneelse")
    assert unknown.status == "Failure" and unknown.code == "API_LAYER_ENTITY_ID_NOT_FOUND" and unknown.result is None
    assert aiq.call("GetTaxCodeList", entity="LaganValley").ok  # entity ids ignore case


def test_one_client_reaches_three_entities(aiq, sandbox):
    listed = aiq.ok("GetEntitiesByToken", entity=None).items("WSEntity")
    assert [(value(e, "EntityID"), value(e, "EntityName"), value(e, "BaseCurrency")) for e in listed] == \
        [(c["id"], c["name"], "GBP") for c in sandbox.companies()]
    names = {aiq.ok("GetCompanyInformation", entity=c["id"]).result.findtext(q("CompanyName"))
             for c in sandbox.companies()}
    assert names == {"Ciarán Doherty Joinery", "Lagan Valley Surveyors LLP", "Mourne Foods Wholesale Ltd"}
    first = aiq.ok("GetCustomer", "<customerCode>C0001</customerCode>", entity="dohertyjoinery").result
    other = aiq.ok("GetCustomer", "<customerCode>C0001</customerCode>", entity="mournefoods").result
    assert value(first, "Name") != value(other, "Name")  # each entity has its own customers


# --- pacing -------------------------------------------------------------------------------------------------

def test_a_burst_past_100_requests_a_second_is_refused_with_429():
    sandbox, server = open_sandbox("tiny")
    try:
        client = Aiq(server.url, sandbox.credentials())
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda _: client.post("GetTaxCodeList"), range(400)))
        statuses = [r.status_code for r in responses]
        assert set(statuses) == {200, 429}
        assert statuses.count(200) >= 99  # the sign-in was the hundredth of the user's first second
        refused = next(r for r in responses if r.status_code == 429)
        assert int(refused.headers["retry-after"]) >= 1
        code, text = fault_of(refused)
        assert code == "soap:Server" and "100 requests per second" in text
        detail = SafeET.fromstring(refused.content).find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault/detail")
        assert detail.findtext("ErrorCode") == "OAUTH_INTEGRATION_APPS_RATE_LIMIT_REACHED"
        time.sleep(1.05)
        assert client.call("GetTaxCodeList").ok
    finally:
        server.stop()


def test_without_throttling_a_burst_goes_through(aiq):
    with ThreadPoolExecutor(8) as pool:
        statuses = {r.status_code for r in pool.map(lambda _: aiq.post("GetTaxCodeList"), range(150))}
    assert statuses == {200}


# --- customers ----------------------------------------------------------------------------------------------

CUSTOMER_TEMPLATE = ("<customer><Code>{code}</Code><Name>{name}</Name><DefaultTaxCode>S</DefaultTaxCode>"
                     "<CurrencyCode>GBP</CurrencyCode><Address1>3 Bridge Street</Address1><City>Lisburn</City>"
                     "<Country>United Kingdom</Country><PostCode>BT28 1XZ</PostCode><Email>{email}</Email>"
                     "<Contact>Róisín Kelly</Contact><IsActive>true</IsActive><CreditLimit>1500.00</CreditLimit>"
                     "{extra}</customer><create>{create}</create>")


def customer_body(code: str, name: str = "Kelly &amp; Sons Ltd", email: str = "accounts@kelly.example",
                  create: bool = True, extra: str = "") -> str:
    return CUSTOMER_TEMPLATE.format(code=code, name=name, email=email, create=str(create).lower(), extra=extra)


def test_customer_list_and_get(aiq):
    customers = aiq.ok("GetCustomerList").items("Customer")
    assert len(customers) >= 40
    assert [value(c, "Code") for c in customers[:3]] == ["C0001", "C0002", "C0003"]
    assert [int(value(c, "AccountID")) for c in customers[:3]] == [1, 2, 3]
    first = aiq.ok("GetCustomer", "<customerCode>C0001</customerCode>").result
    assert SafeET.tostring(first) == SafeET.tostring(customers[0]).replace(b"Customer", b"Result")
    assert value(first, "LedgerType") == "Sales" and value(first, "ControlGLAccountCode") == "1100"
    assert first.find(q("ExternalApproverID")).get(XSI_NIL) == "true"
    active = aiq.ok("GetActiveCustomerList").items("Customer")
    assert all(value(c, "IsActive") == "true" for c in active) and len(active) <= len(customers)


def test_an_unknown_customer_code_is_a_failure(aiq):
    answer = aiq.call("GetCustomer", "<customerCode>C9999</customerCode>")
    assert (answer.status, answer.code) == ("Failure", "CUSTOMER_CODE_DOES_NOT_EXIST")
    assert answer.result is None and "C9999" in answer.message and answer.has_expired is False
    assert aiq.call("GetNewSalesInvoice", "<customerCode>NOPE</customerCode>").code == "CUSTOMER_CODE_DOES_NOT_EXIST"


def test_a_new_customer_comes_from_the_entity_defaults(aiq):
    shell = aiq.ok("GetNewCustomerFromDefaults").result
    assert value(shell, "AccountID") == "0" and value(shell, "Code") is None
    assert (value(shell, "DefaultTaxCode"), value(shell, "CurrencyCode"), value(shell, "DefaultGLAccountCode"),
            value(shell, "ControlGLAccountCode"), value(shell, "BankCode")) == ("S", "GBP", "4000", "1100", "1200")
    assert value(shell, "RowVersionNumber") is None


def test_creating_and_updating_a_customer(aiq):
    code = unique("KEL").upper()[:20]
    created = aiq.ok("UpdateCustomerGetbackCustomerCode", customer_body(code))
    assert created.result.text == code
    record = aiq.ok("GetCustomer", f"<customerCode>{code}</customerCode>").result
    assert value(record, "Name") == "Kelly & Sons Ltd" and value(record, "Contact") == "Róisín Kelly"
    assert int(value(record, "AccountID")) > 40 and money(record, "CreditLimit") == Decimal("1500.00")
    version = value(record, "RowVersionNumber")
    changed = aiq.ok("UpdateCustomerGetbackCustomerCode", customer_body(
        code, name="Kelly and Sons Ltd", create=False, extra=f"<RowVersionNumber>{version}</RowVersionNumber>"))
    assert changed.result.text == code
    again = aiq.ok("GetCustomer", f"<customerCode>{code}</customerCode>").result
    assert value(again, "Name") == "Kelly and Sons Ltd" and value(again, "RowVersionNumber") != version
    assert value(again, "AccountID") == value(record, "AccountID")
    assert value(again, "CreationDate") == value(record, "CreationDate")
    stale = aiq.call("UpdateCustomerGetbackCustomerCode", customer_body(
        code, create=False, extra=f"<RowVersionNumber>{version}</RowVersionNumber>"))
    assert stale.code == "OUTDATED_RECORD"
    assert aiq.ok("UpdateCustomer", customer_body(code, create=False)).result.text == "true"


@pytest.mark.parametrize(("body", "code"), [
    (customer_body(""), "ACCOUNT_CODE_IS_EMPTY"),
    (customer_body("lower1"), "ACCOUNT_CODE_MUST_BE_UPPER_CASE"),
    (customer_body(" PAD "), "ACCOUNT_CODE_CANNOT_CONTAIN_LEADING_AND_OR_TRAILING_WHITESPACES"),
    (customer_body("C0001"), "ACCOUNT_CODE_ALREADY_IN_USE"),
    (customer_body("NEVERMADE", create=False), "CUSTOMER_CODE_DOES_NOT_EXIST"),
    (customer_body("AB#CD"), "ACCOUNT_CODE_CONTAINS_INVALID_CHARACTERS"),
    (customer_body("X" * 21), "ACCOUNT_CODE_IS_TOO_LONG"),
    (customer_body("NONAME1", name=""), "ACCOUNT_NAME_IS_EMPTY"),
    (customer_body("BADMAIL1", email="not-an-address"), "ACCOUNT_EMAIL_INVALID_FORMAT"),
    (customer_body("BADTAX1").replace("<DefaultTaxCode>S<", "<DefaultTaxCode>Q9<"), "CUSTOMER_TAX_CODE_NOT_FOUND"),
    (customer_body("BADGL1", extra="<DefaultGLAccountCode>9999</DefaultGLAccountCode>"),
     "CUSTOMER_DEFAULT_GL_ACCOUNT_NOT_FOUND"),
    (customer_body("REFER1", extra="<AccountReferralID>WEB</AccountReferralID>"),
     "CUSTOMER_ACCOUNT_REFERRAL_NOT_FOUND"),
    (customer_body("EURO1").replace("<CurrencyCode>GBP", "<CurrencyCode>EUR"), "CUSTOMER_CURRENCY_CODE_NOT_FOUND"),
    (customer_body("NEGLIM1").replace("1500.00", "-1"), "ACCOUNT_CREDIT_LIMIT_MUST_BE_POSITIVE"),
])
def test_customer_refusals(aiq, body, code):
    answer = aiq.call("UpdateCustomerGetbackCustomerCode", body)
    assert (answer.status, answer.code) == ("Failure", code)
    assert answer.result is None and answer.message


def test_customers_by_email_and_by_last_change(aiq, sandbox):
    customers = aiq.ok("GetCustomerList").items("Customer")
    address = value(customers[4], "Email")
    found = aiq.ok("GetCustomersBy", f"<query><Emails><string>{address.upper()}</string></Emails>"
                                     "<FromLastModifiedDateInUTC xsi:nil=\"true\" /></query>").items("Customer")
    assert value(customers[4], "Code") in [value(c, "Code") for c in found]
    assert all(value(c, "Email").lower() == address.lower() for c in found)
    # The Date header has whole seconds and uvicorn refreshes it once a second: leave the earlier tests'
    # changes more than two seconds behind.
    time.sleep(2.2)
    since = parsedate_to_datetime(aiq.post("GetTaxCodeList").headers["date"])
    code = unique("CHG").upper()[:20]
    aiq.ok("UpdateCustomerGetbackCustomerCode", customer_body(code, email="changed@kelly.example"))
    stamp = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    changed = aiq.ok("GetCustomersBy", f"<query><Emails /><FromLastModifiedDateInUTC>{stamp}"
                                       "</FromLastModifiedDateInUTC></query>").items("Customer")
    assert [value(c, "Code") for c in changed] == [code]
    later = aiq.ok("GetCustomersBy", "<query><FromLastModifiedDateInUTC>2999-01-01T00:00:00Z"
                                     "</FromLastModifiedDateInUTC></query>")
    assert later.result is not None and len(later.result) == 0 and later.http.text.count("<Result />") == 1


def test_deleting_customers(aiq):
    code = unique("DEL").upper()[:20]
    aiq.ok("UpdateCustomerGetbackCustomerCode", customer_body(code))
    deleted = aiq.call("DeleteCustomerByCode", f"<customerCode>{code}</customerCode>")
    assert deleted.ok and deleted.result is None
    assert aiq.call("GetCustomer", f"<customerCode>{code}</customerCode>").code == "CUSTOMER_CODE_DOES_NOT_EXIST"
    busy = aiq.call("DeleteCustomerByCode", "<customerCode>C0001</customerCode>")
    assert busy.code == "ACCOUNT_CANNOT_BE_DELETED"


# --- invoices and credit notes ------------------------------------------------------------------------------

LINES = [("Survey of 14 Railway St", "1", "450.00", "0", "S", "4010"),
         ("Printed report & drawings", "3", "12.40", "0", "Z", "4000"),
         ("Site visits", "2.5", "85.00", "10", "S", "4010")]


def trial_balance(aiq: Aiq, day: str) -> dict[str, tuple[Decimal, Decimal]]:
    result = aiq.ok("GetTrialBalanceForPeriod", f"<dateInPeriod>{day}</dateInPeriod>").result
    return {value(b, "GLAccountCode"): (money(b, "OverallPeriodMovement"), money(b, "OverallBalance"))
            for b in result.find(q("Balances"))}


def test_an_invoice_from_shell_to_ledger(aiq):
    ext = unique("CRM-INV")
    saved = save(aiq, new_document(aiq, "C0002", LINES, ext=ext))
    assert saved.ok and saved.result is None  # a WSResultStatus: no Result member
    invoice_id = int(saved.out["invoiceID"])
    assert invoice_id > 0
    invoice = aiq.ok("GetInvoice", f"<invoiceID>{invoice_id}</invoiceID>").result
    assert (value(invoice, "Status"), value(invoice, "Type"), value(invoice, "ExternalReference")) == \
        ("Processed", "Invoice", ext)
    assert value(invoice, "AccountCode") == "C0002" and value(invoice, "InvoiceNumber").startswith("INV-")
    expected = [expected_line(Decimal(qty), Decimal(price), Decimal(disc), tax)
                for _d, qty, price, disc, tax, _g in LINES]
    lines = invoice.find(q("Lines")).findall(q("InvoiceLine"))
    assert [(money(x, "NetAmount"), money(x, "TaxAmount")) for x in lines] == expected
    assert all(money(x, "GrossAmount") == money(x, "NetAmount") + money(x, "TaxAmount") for x in lines)
    assert money(lines[2], "ActualPrice") == Decimal("76.5")
    net, tax = sum(n for n, _t in expected), sum(t for _n, t in expected)
    assert (money(invoice, "NetAmount"), money(invoice, "TaxAmount"), money(invoice, "GrossAmount")) == \
        (net, tax, net + tax)
    assert value(lines[1], "StockItemDescription") == "Printed report & drawings"

    # Saved but not posted: it can still be changed, and its number and id stay.
    body = document_body(invoice, LINES[:2], keep_version=True) + "<AccountCode>C0002</AccountCode>"
    updated = save(aiq, body, create=False)
    assert updated.ok and updated.out["invoiceID"] == str(invoice_id)
    changed = aiq.ok("GetInvoice", f"<invoiceID>{invoice_id}</invoiceID>").result
    assert len(changed.find(q("Lines"))) == 2 and value(changed, "InvoiceNumber") == value(invoice, "InvoiceNumber")
    assert value(changed, "RowVersionNumber") != value(invoice, "RowVersionNumber")
    assert money(changed, "GrossAmount") == sum(sum(expected_line(Decimal(qty), Decimal(p), Decimal(d), tax))
                                                for _x, qty, p, d, tax, _g in LINES[:2])
    stale = save(aiq, body, create=False)  # still carries the version the first read gave
    assert stale.code == "OUTDATED_RECORD" and stale.out["invoiceID"] == "0"

    day = value(changed, "InvoiceDate")
    before = trial_balance(aiq, day)
    posted = aiq.call("PostInvoiceGetBackTransactionID", f"<invoiceID>{invoice_id}</invoiceID>")
    assert posted.ok and posted.result is None
    txn_id = int(posted.out["transactionID"])
    after = trial_balance(aiq, day)
    gross = money(changed, "GrossAmount")
    assert after["1100"][0] - before["1100"][0] == gross
    assert after["2200"][0] - before["2200"][0] == -money(changed, "TaxAmount")
    assert sum(after[c][0] - before[c][0] for c in ("4000", "4010")) == -money(changed, "NetAmount")
    assert sum(m for m, _b in after.values()) == 0 and sum(b for _m, b in after.values()) == 0

    final = aiq.ok("GetInvoice", f"<invoiceID>{invoice_id}</invoiceID>").result
    assert value(final, "Status") == "Posted"
    refused = save(aiq, document_body(final, LINES) + "<AccountCode>C0002</AccountCode>", create=False)
    assert (refused.status, refused.code) == ("Failure", "TRANSACTION_IS_NOT_EDITABLE")
    again = aiq.call("PostInvoiceGetBackTransactionID", f"<invoiceID>{invoice_id}</invoiceID>")
    assert again.code == "INVOICE_CANNOT_BE_POSTED" and str(txn_id) in again.message
    assert again.out["transactionID"] == "0"

    found = aiq.ok("GetInvoicesByExternalReference", f"<externalReference>{ext}</externalReference>").items("Invoice")
    assert [int(value(i, "InvoiceID")) for i in found] == [invoice_id]
    txns = aiq.ok("GetTransactionsByExternalReference", f"<query><ExternalReference>{ext}</ExternalReference>"
                  "<FromDate>2000-01-01T00:00:00</FromDate><ToDate>2100-01-01T00:00:00</ToDate></query>")
    summary, = txns.items("WSTransactionSummary")
    assert (int(value(summary, "TransactionID")), value(summary, "TransactionType"), int(value(summary, "InvoiceID"))) \
        == (txn_id, "SI", invoice_id)
    assert money(summary, "ControlAmount") == gross == money(summary, "OutstandingAmount")
    details = summary.find(q("LineDetails")).findall(q("WSTransactionDetail"))
    assert sum(money(d, "Amount") for d in details) == 0
    control = [d for d in details if value(d, "IsControlLine") == "true"]
    assert [(value(d, "GLAccountCode"), money(d, "Amount")) for d in control] == [("1100", gross)]


def test_saving_refusals(aiq):
    shell = aiq.ok("GetNewSalesInvoice", "<customerCode>C0003</customerCode>").result

    def body(lines=LINES[:1], **members):
        return document_body(shell, lines, members=members)

    one = LINES[0]
    cases = [
        (body(AccountCode=None, AccountID="9999"), "CUSTOMER_ID_DOES_NOT_EXIST"),
        (body(AccountCode="NOSUCH"), "CUSTOMER_CODE_DOES_NOT_EXIST"),
        (body(CurrencyCode=None), "CURRENCY_CODE_IS_NULL"),
        (body(CurrencyCode="USD"), "CURRENCY_CODE_DOES_NOT_EXIST"),
        (body(InvoiceDate="1999-02-01T00:00:00"), "DATE_IS_OUT_OF_RANGE"),
        (body(InvoiceDate=None), "DATE_IS_OUT_OF_RANGE"),  # a missing date is 0001-01-01, as .NET reads it
        (body([(*one[:4], "X5", one[5])]), "TAX_CODE_DOES_NOT_EXIST"),
        (body([(*one[:5], "1100")]), "GLACCOUNT_IS_NOT_POSTING_OR_DOES_NOT_EXIST"),
        (body([(*one[:5], "4999")]), "GLACCOUNT_CODE_DOES_NOT_EXIST"),
        (body([(*one[:3], "100", *one[4:])]), "DISCOUNT_RATE_IS_100_PERCENT_OR_MORE"),
        (body([(one[0], "-1", *one[2:])]), "INVOICED_QUANTITY_IS_NEGATIVE"),
        (body(ExternalReference="R" * 51), "INVOICE_EXTERNAL_REFERENCE_IS_TOO_LONG"),
        (body(DepartmentID="SALES"), "DEPARTMENT_ID_DOES_NOT_EXIST"),
        (body(OrderID="12"), "ORDER_ID_DOES_NOT_EXIST"),
    ]
    for document, code in cases:
        answer = save(aiq, document)
        assert (answer.status, answer.code, answer.out["invoiceID"]) == ("Failure", code, "0"), (code, answer.message)
        assert answer.message
    missing = save(aiq, body(InvoiceID="999999"), create=False)
    assert missing.code == "INVOICE_ID_DOES_NOT_EXIST"
    number = aiq.ok("GetInvoicesBy", "<query><Limit>1</Limit></query>").items("Invoice")[0].findtext(q("InvoiceNumber"))
    assert save(aiq, body(InvoiceNumber=number)).code == "INVOICE_NUMBER_ALREADY_EXISTS"
    empty = int(save(aiq, body([])).out["invoiceID"])  # a draft may have no lines yet, but cannot be posted so
    assert aiq.call("PostInvoiceGetBackTransactionID", f"<invoiceID>{empty}</invoiceID>").code == \
        "INVOICE_CANNOT_BE_POSTED"


def test_external_references_are_unique_per_entity(aiq):
    ext = unique("ORDER")
    assert save(aiq, new_document(aiq, "C0004", LINES[:1], ext=ext)).ok
    twice = save(aiq, new_document(aiq, "C0005", LINES[:1], ext=ext))
    assert (twice.status, twice.code) == ("Failure", "INVOICE_EXTERNAL_REFERENCE_ALREADY_EXISTS")
    assert ext in twice.message
    batch = aiq.call("CreateBatchSalesInvoiceGetBackTransactionID", batch_body("C0004", ext))
    assert batch.code == "INVOICE_EXTERNAL_REFERENCE_ALREADY_EXISTS" and batch.out["transactionID"] == "0"
    # Another entity, or a credit note, may use the same reference.
    assert save(aiq, new_document(aiq, "C0004", LINES[:1], ext=ext, kind="Note"), kind="Note").ok
    other = Aiq(aiq.http.base_url, aiq.credentials)
    shell = other.ok("GetNewSalesInvoice", "<customerCode>C0001</customerCode>", entity="mournefoods").result
    assert other.call("SaveInvoiceGetBackInvoiceID", f"<invoice>{document_body(shell, LINES[:1], ext=ext)}</invoice>"
                      "<create>true</create>", entity="mournefoods").ok


def batch_body(customer: str, ext: str, lines: str | None = None, kind: str = "Invoice") -> str:
    lines = lines if lines is not None else (
        "<Line><GLAccountCode>4010</GLAccountCode><TaxCode>S</TaxCode><Description>Retainer, March</Description>"
        "<NetAmount>1000.00</NetAmount><TaxRate>20</TaxRate><TaxAmount>200.00</TaxAmount></Line>"
        "<Line><GLAccountCode>4020</GLAccountCode><TaxCode>S</TaxCode><Description>Mileage</Description>"
        "<NetAmount>33.33</NetAmount><TaxRate>20</TaxRate><TaxAmount>6.67</TaxAmount></Line>")
    if kind == "Invoice":
        lines = lines.replace("<Line>", "<BatchSalesInvoiceLine>").replace("</Line>", "</BatchSalesInvoiceLine>")
        return (f"<inv><CustomerCode>{customer}</CustomerCode><InvoiceDate>{dt.date.today()}T00:00:00</InvoiceDate>"
                f"<ExternalReference>{ext}</ExternalReference><Description>Monthly retainer</Description>"
                f"<Lines>{lines}</Lines><ExchangeRate>1</ExchangeRate></inv>")
    lines = lines.replace("<Line>", "<BatchSalesCreditNoteLine>").replace("</Line>", "</BatchSalesCreditNoteLine>")
    return (f"<creditNote><ExchangeRate>1</ExchangeRate><CustomerCode>{customer}</CustomerCode>"
            f"<CreditNoteDate>{dt.date.today()}T00:00:00</CreditNoteDate><ExternalReference>{ext}</ExternalReference>"
            f"<Description>Goodwill credit</Description><Lines>{lines}</Lines></creditNote>")


def test_batch_invoices_and_credit_notes_post_at_once(aiq):
    ext = unique("BATCH")
    shell = aiq.ok("GetNewBatchSalesInvoice", "<customerCode>C0006</customerCode>").result
    assert [c.tag.split("}")[1] for c in shell] == ["CustomerCode", "InvoiceDate", "Lines", "ExchangeRate"]
    made = aiq.ok("CreateBatchSalesInvoiceGetBackTransactionID", batch_body("C0006", ext))
    txn_id = int(made.out["transactionID"])
    assert made.result.text.startswith("INV-")
    summary, = aiq.ok("GetTransactionsByExternalReference", f"<query><ExternalReference>{ext}</ExternalReference>"
                      "<FromDate>2000-01-01T00:00:00</FromDate><ToDate>2100-01-01T00:00:00</ToDate></query>"
                      ).items("WSTransactionSummary")
    assert (int(value(summary, "TransactionID")), value(summary, "IsBatchInvoiceOrNote"), value(summary, "InvoiceID"),
            value(summary, "InternalNumber")) == (txn_id, "true", "0", made.result.text)
    assert money(summary, "ControlAmount") == Decimal("1240.00")  # the client's own net and VAT, as sent
    # Batch documents go straight to the transactions: no invoice record.
    assert aiq.ok("GetInvoicesByExternalReference", f"<externalReference>{ext}</externalReference>"
                  ).items("Invoice") == []
    credit = aiq.ok("CreateBatchSalesCreditNoteGetBackTransactionID", batch_body("C0006", ext, kind="Note"))
    note, = aiq.ok("GetTransactionsByExternalReference", f"<query><ExternalReference>{ext}</ExternalReference>"
                   "<FromDate>2000-01-01T00:00:00</FromDate><ToDate>2100-01-01T00:00:00</ToDate>"
                   "<TypesFilter><string>SN</string></TypesFilter></query>").items("WSTransactionSummary")
    assert int(value(note, "TransactionID")) == int(credit.out["transactionID"])
    assert money(note, "ControlAmount") == Decimal("-1240.00") and credit.result.text.startswith("CRN-")
    assert aiq.ok("GetNewBatchSalesCreditNote", "<customerCode>C0006</customerCode>").result.find(q("CreditNoteDate")) \
        is not None


@pytest.mark.parametrize(("lines", "code"), [
    ("", "BATCH_INVOICE_WITH_NO_INVOICE_LINES"),
    ("<Line><TaxCode>S</TaxCode><Description>x</Description><NetAmount>1</NetAmount></Line>",
     "BATCH_INVOICE_LINE_MISSING_GL_ACCOUNT"),
    ("<Line><GLAccountCode>4010</GLAccountCode><TaxCode>S</TaxCode><NetAmount>1</NetAmount></Line>",
     "BATCH_INVOICE_LINE_MISSING_DESCRIPTION"),
    ("<Line><GLAccountCode>4010</GLAccountCode><TaxCode>S</TaxCode><Description>x</Description>"
     "<NetAmount>-10</NetAmount><TaxAmount>-2</TaxAmount></Line>", "BATCH_INVOICE_TOTAL_GROSS_AMT_NEGATIVE"),
    ("<Line><GLAccountCode>4010</GLAccountCode><TaxCode>VAT9</TaxCode><Description>x</Description>"
     "<NetAmount>10</NetAmount></Line>", "TAX_CODE_DOES_NOT_EXIST"),
])
def test_batch_refusals(aiq, lines, code):
    answer = aiq.call("CreateBatchSalesInvoiceGetBackTransactionID", batch_body("C0006", unique("B"), lines))
    assert (answer.status, answer.code, answer.out["transactionID"]) == ("Failure", code, "0")
    assert answer.result is None


def test_a_credit_note_from_shell_to_ledger(aiq):
    ext = unique("CRM-CN")
    saved = save(aiq, new_document(aiq, "C0002", LINES[:1], ext=ext, kind="Note"), kind="Note")
    note_id = int(saved.out["creditNoteID"])
    note = aiq.ok("GetCreditNote", f"<creditNoteID>{note_id}</creditNoteID>").result
    assert (value(note, "Type"), value(note, "Status"), value(note, "InvoiceNumber")[:4]) == \
        ("Note", "Processed", "CRN-")
    assert note.find(q("AccountCode")) is None  # the CreditNote shape ends at BCGrossAmount
    wrong = aiq.call("GetInvoice", f"<invoiceID>{note_id}</invoiceID>")
    assert wrong.code == "INVOICE_TYPE_INCORRECT"
    assert aiq.call("PostInvoiceGetBackTransactionID", f"<invoiceID>{note_id}</invoiceID>").code == \
        "INVOICE_TYPE_INCORRECT"
    posted = aiq.ok("PostCreditNoteGetBackTransactionID", f"<creditNoteID>{note_id}</creditNoteID>")
    found, = aiq.ok("GetCreditNotesByExternalReference", f"<externalReference>{ext}</externalReference>"
                    ).items("CreditNote")
    assert value(found, "Status") == "Posted"
    summary, = aiq.ok("GetTransactionsByExternalReference", f"<query><ExternalReference>{ext}</ExternalReference>"
                      "<FromDate>2000-01-01T00:00:00</FromDate><ToDate>2100-01-01T00:00:00</ToDate></query>"
                      ).items("WSTransactionSummary")
    assert value(summary, "TransactionID") == posted.out["transactionID"] and value(summary, "TransactionType") == "SN"
    assert money(summary, "ControlAmount") == -money(note, "GrossAmount")
    mine = aiq.ok("GetCreditNotesByCustomerCode", "<customerCode>C0002</customerCode>").items("CreditNote")
    assert note_id in [int(value(n, "InvoiceID")) for n in mine]
    # GetInvoicesBy sees credit notes too (as Invoice elements of Type Note); TypesFilter tells them apart.
    notes = aiq.ok("GetInvoicesBy", f"<query><InvoiceIDsFilter><int>{note_id}</int></InvoiceIDsFilter></query>"
                   ).items("Invoice")
    assert [(value(n, "Type"), value(n, "AccountCode")) for n in notes] == [("Note", "C0002")]
    only_invoices = aiq.ok("GetInvoicesBy", f"<query><InvoiceIDsFilter><int>{note_id}</int></InvoiceIDsFilter>"
                           "<TypesFilter><string>Invoice</string></TypesFilter></query>").items("Invoice")
    assert only_invoices == []


FEED_ALL = ("<FromDate>2000-01-01T00:00:00</FromDate><ToDate>2100-01-01T00:00:00</ToDate>"
            "<FromCreationDate>2000-01-01T00:00:00</FromCreationDate><ToCreationDate>2100-01-01T00:00:00"
            "</ToCreationDate>")


def test_the_invoice_pdf_is_a_real_pdf(aiq):
    sales = aiq.ok("GetTransactionsModifiedBy", f"<query>{FEED_ALL}<Skip>0</Skip><TypesFilter><string>SI</string>"
                   "</TypesFilter></query>").items("WSChangedTransactionSummary")
    first = next(s for s in sales if value(s, "InvoiceID") != "0")
    invoice = aiq.ok("GetInvoice", f"<invoiceID>{value(first, 'InvoiceID')}</invoiceID>").result
    txn_id = value(first, "TransactionID")
    answer = aiq.ok("GetInvoicePDFByTransactionID", f"<transactionID>{txn_id}</transactionID>")
    pdf = base64.b64decode(answer.result.text)
    assert pdf.startswith(b"%PDF-1.") and pdf.rstrip().endswith(b"%%EOF")
    xref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[xref:xref + 4] == b"xref"
    assert value(invoice, "InvoiceNumber").encode() in pdf and value(invoice, "GrossAmount").encode() in pdf
    assert aiq.call("GetInvoicePDFByTransactionID", "<transactionID>99999999</transactionID>").code == \
        "TRANSACTION_NOT_FOUND"
    receipts = aiq.ok("GetTransactionsModifiedBy", f"<query>{FEED_ALL}<Skip>0</Skip>"
                      "<TypesFilter><string>SR</string></TypesFilter></query>").items("WSChangedTransactionSummary")
    receipt = value(receipts[0], "TransactionID")
    assert aiq.call("GetInvoicePDFByTransactionID", f"<transactionID>{receipt}</transactionID>").code == \
        "INVOICE_TYPE_INCORRECT"


def attach_body(master_type: str, master_id: str, filename: str, content: bytes, comments: str = "") -> str:
    return (f"<document><Header><MasterType>{master_type}</MasterType><MasterID>{master_id}</MasterID>"
            f"<Filename>{filename}</Filename><DocumentID>0</DocumentID></Header><Content><Content>"
            f"{base64.b64encode(content).decode()}</Content><Comments>{comments}</Comments></Content></document>")


def test_attaching_documents(aiq):
    invoice_id = aiq.ok("GetInvoicesBy", "<query><Limit>1</Limit></query>").items("Invoice")[0].findtext(q("InvoiceID"))
    name = f"{unique('breakdown')}.csv"
    done = aiq.call("AttachDocument", attach_body("SalesInvoice", invoice_id, name, b"job,hours\nsurvey,3\n"))
    assert done.ok and done.result is None
    assert aiq.call("AttachDocument", attach_body("SalesInvoice", invoice_id, name, b"again")).code == \
        "DOCUMENT_CANNOT_BE_SAVED_NAME_NOT_UNIQUE"
    assert aiq.call("AttachDocument", attach_body("SalesInvoice", invoice_id, "run.exe", b"MZ")).code == \
        "INVALID_DOCUMENT_EXTENSION"
    assert aiq.call("AttachDocument", attach_body("SalesInvoice", invoice_id, "empty.csv", b"")).code == \
        "DOCUMENT_CONTENT_IS_NULL_OR_EMPTY"
    assert aiq.call("AttachDocument", attach_body("SalesInvoice", "99999999", "x.csv", b"x")).code == \
        "UNABLE_TO_DETERMINE_DOCUMENT_MASTER"
    assert aiq.call("AttachDocument", attach_body("Customer", "C0001", "terms.pdf", b"%PDF-1.4")).ok
    assert aiq.call("AttachDocument", attach_body("StockTake", "1", "x.csv", b"x")).code == \
        "DOCUMENT_MASTERTYPE_IS_INVALID"
    bad = aiq.post("AttachDocument", attach_body("Customer", "C0001", "y.csv", b"x").replace("eA==", "%%%"))
    assert bad.status_code == 500 and "Base-64" in fault_of(bad)[1]


# --- paging and queries -------------------------------------------------------------------------------------

def invoice_ids(aiq: Aiq, query: str, entity: str = "mournefoods") -> list[int]:
    answer = aiq.ok("GetInvoicesBy", f"<query>{query}</query>", entity=entity)
    return [int(value(i, "InvoiceID")) for i in answer.items("Invoice")]


def test_invoices_by_pages_through_everything(aiq, sandbox):
    # mournefoods is only read in this module, so its document count is the generator's.
    everything, skip = [], 0
    while True:
        page = invoice_ids(aiq, f"<Skip>{skip}</Skip><Limit>60</Limit>")
        everything += page
        if len(page) < 60:
            break
        skip += 60
    assert len(everything) > 300 and everything == sorted(everything) and len(set(everything)) == len(everything)
    assert len(page) == len(everything) % 60 or len(page) == 60  # the last page is partial
    assert invoice_ids(aiq, f"<Skip>{len(everything)}</Skip><Limit>60</Limit>") == []  # past the end
    assert invoice_ids(aiq, f"<Skip>{len(everything) - 1}</Skip><Limit>60</Limit>") == everything[-1:]
    # Limit above the largest page (100 on this sandbox), absent, nil or zero: the largest page.
    assert invoice_ids(aiq, "<Skip>0</Skip><Limit>5000</Limit>") == everything[:100]
    assert invoice_ids(aiq, "<Skip>0</Skip>") == everything[:100]
    assert invoice_ids(aiq, '<Skip>0</Skip><Limit xsi:nil="true" />') == everything[:100]
    assert invoice_ids(aiq, "<Skip>0</Skip><Limit>0</Limit>") == everything[:100]
    assert invoice_ids(aiq, "<Skip>5</Skip><Limit>3</Limit><ReverseOrderBy>true</ReverseOrderBy>") == \
        everything[::-1][5:8]
    empty = aiq.ok("GetInvoicesBy", "<query><Skip>999999</Skip></query>", entity="mournefoods")
    assert empty.result is not None and len(empty.result) == 0


def test_invoices_by_filters_and_orders(aiq):
    page = aiq.ok("GetInvoicesBy", "<query><Skip>40</Skip><Limit>30</Limit></query>", entity="mournefoods")
    sample = page.items("Invoice")
    account = value(sample[0], "AccountID")
    by_account = aiq.ok("GetInvoicesBy", f"<query><AccountIDsFilter><int>{account}</int></AccountIDsFilter>"
                        "<Limit>100</Limit></query>", entity="mournefoods").items("Invoice")
    assert by_account and {value(i, "AccountID") for i in by_account} == {account}
    day = value(sample[0], "InvoiceDate")
    same_day = aiq.ok("GetInvoicesBy", f"<query><FromDate>{day}</FromDate><ToDate>{day}</ToDate></query>",
                      entity="mournefoods").items("Invoice")
    assert same_day and {value(i, "InvoiceDate") for i in same_day} == {day}
    numbers = [value(i, "InvoiceNumber") for i in sample[:3]]
    by_number = aiq.ok("GetInvoicesBy", "<query><InvoiceNumbersFilter>" + "".join(
        f"<string>{n}</string>" for n in numbers) + "</InvoiceNumbersFilter></query>", entity="mournefoods")
    assert [value(i, "InvoiceNumber") for i in by_number.items("Invoice")] == numbers
    drafts = aiq.ok("GetInvoicesBy", "<query><Status>Processed</Status></query>", entity="mournefoods").items("Invoice")
    assert all(value(i, "Status") == "Processed" for i in drafts)
    newest = aiq.ok("GetInvoicesBy", "<query><OrderBy>InvoiceDate</OrderBy><ReverseOrderBy>true</ReverseOrderBy>"
                    "<Limit>20</Limit></query>", entity="mournefoods").items("Invoice")
    dates = [value(i, "InvoiceDate") for i in newest]
    assert dates == sorted(dates, reverse=True)
    by_gross = aiq.ok("GetInvoicesBy", "<query><OrderBy>grossamount</OrderBy><Limit>20</Limit></query>",
                      entity="mournefoods").items("Invoice")
    grosses = [money(i, "GrossAmount") for i in by_gross]
    assert grosses == sorted(grosses)
    bad = aiq.call("GetInvoicesBy", "<query><OrderBy>Colour</OrderBy></query>", entity="mournefoods")
    assert (bad.status, bad.code) == ("Failure", "GETINVOICESBY_BAD_FIELD_NAME")
    assert aiq.ok("GetInvoicesBy", "<query><TypesFilter><string>Note</string></TypesFilter></query>",
                  entity="mournefoods").items("Invoice") == []
    assert aiq.ok("GetInvoicesBy", "<query><DepartmentIDsFilter><string>D1</string></DepartmentIDsFilter></query>",
                  entity="mournefoods").items("Invoice") == []


def test_invoices_by_last_change(aiq):
    time.sleep(2.2)  # see test_customers_by_email_and_by_last_change
    since = parsedate_to_datetime(aiq.post("GetTaxCodeList").headers["date"]).astimezone(dt.UTC)
    stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    saved = int(save(aiq, new_document(aiq, "C0007", LINES[:1])).out["invoiceID"])
    old = invoice_ids(aiq, "<Limit>1</Limit>", entity=ENTITY)[0]
    assert invoice_ids(aiq, f"<FromLastModifiedDateInUTC>{stamp}</FromLastModifiedDateInUTC>", ENTITY) == [saved]
    aiq.ok("PostInvoiceGetBackTransactionID", f"<invoiceID>{saved}</invoiceID>")
    assert invoice_ids(aiq, f"<FromLastModifiedDateInUTC>{stamp}</FromLastModifiedDateInUTC>", ENTITY) == [saved]
    # The same instant written with an offset is the same instant.
    local = since.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat()
    assert invoice_ids(aiq, f"<FromLastModifiedDateInUTC>{local}</FromLastModifiedDateInUTC>", ENTITY) == [saved]
    assert old not in invoice_ids(aiq, f"<FromLastModifiedDateInUTC>{stamp}</FromLastModifiedDateInUTC>", ENTITY)
    created = aiq.ok("GetInvoice", f"<invoiceID>{saved}</invoiceID>").result.findtext(q("CreationDate"))
    window = invoice_ids(aiq, f"<FromCreationDate>{created}</FromCreationDate><ToCreationDate>{created}"
                              "</ToCreationDate>", ENTITY)
    assert saved in window


# --- generic faults, each observable and switchable at run time ------------------------------------------------

def test_fault_error_rate_gives_proxy_error_pages(aiq, faults):
    faults.settings.update(error_rate=1.0)
    response = aiq.post("GetTaxCodeList")
    assert response.status_code in (500, 502, 503) and "text/html" in response.headers["content-type"]
    assert b"Envelope" not in response.content and b"nginx" in response.content  # not a SOAP answer at all
    faults.settings.update(error_rate=0.0)
    assert aiq.call("GetTaxCodeList").ok


def test_fault_drop_before_does_nothing(aiq, faults):
    code = unique("DROPB").upper()[:20]
    faults.settings.update(drop_before_rate=1.0)
    with pytest.raises(httpx.TransportError):
        aiq.post("UpdateCustomerGetbackCustomerCode", customer_body(code))
    faults.settings.update(drop_before_rate=0.0)
    assert aiq.call("GetCustomer", f"<customerCode>{code}</customerCode>").code == "CUSTOMER_CODE_DOES_NOT_EXIST"


def test_fault_drop_after_commits_the_write(aiq, faults):
    ext = unique("DROPA")
    body = new_document(aiq, "C0008", LINES[:1], ext=ext)
    faults.settings.update(drop_after_rate=1.0)
    with pytest.raises(httpx.TransportError):
        save(aiq, body)
    faults.settings.update(drop_after_rate=0.0)
    # The client never saw an answer, yet the invoice exists: looking it up by its reference finds it,
    # and sending it again is refused rather than doubled.
    found = aiq.ok("GetInvoicesByExternalReference", f"<externalReference>{ext}</externalReference>").items("Invoice")
    assert len(found) == 1
    assert save(aiq, body).code == "INVOICE_EXTERNAL_REFERENCE_ALREADY_EXISTS"


def test_fault_throttle_rate_gives_429(aiq, faults):
    faults.settings.update(throttle_rate=1.0)
    response = aiq.post("GetTaxCodeList")
    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    faults.settings.update(throttle_rate=0.0)
    assert aiq.call("GetTaxCodeList").ok


def test_fault_truncate_cuts_the_envelope(aiq, faults):
    faults.settings.update(truncate_rate=1.0)
    response = aiq.post("GetTaxCodeList")
    assert response.status_code == 200 and int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(ParseError):
        SafeET.fromstring(response.content)
    faults.settings.update(truncate_rate=0.0)
    assert aiq.call("GetTaxCodeList").ok


def test_fault_latency_delays_answers(aiq, faults):
    faults.reseed(42)
    faults.settings.update(latency_ms=400)
    generator = random.Random(42)
    expected = [generator.uniform(0, 400) / 1000 for _ in range(3)]
    took = []
    for _ in range(3):
        started = time.perf_counter()
        assert aiq.call("GetTaxCodeList").ok
        took.append(time.perf_counter() - started)
    assert all(t >= e - 0.005 for t, e in zip(took, expected, strict=True)) and sum(took) >= sum(expected)
    faults.settings.update(latency_ms=0)
    faults.reseed(None)
    started = time.perf_counter()
    assert aiq.call("GetTaxCodeList").ok
    assert time.perf_counter() - started < min(expected) + 0.2


# --- restart ------------------------------------------------------------------------------------------------

def test_a_restart_on_the_same_data_file_keeps_everything(tmp_path):
    data = str(tmp_path / "aiq.sqlite")
    sandbox, server = open_sandbox("tiny", data=data)
    client = Aiq(server.url, sandbox.credentials())
    code = "KEEPME"
    client.ok("UpdateCustomerGetbackCustomerCode", customer_body(code))
    ext = unique("KEEP")
    invoice_id = int(save(client, new_document(client, code, LINES[:2], ext=ext)).out["invoiceID"])
    txn_id = client.ok("PostInvoiceGetBackTransactionID", f"<invoiceID>{invoice_id}</invoiceID>").out["transactionID"]
    today = f"{dt.date.today()}T00:00:00"
    balance_before = trial_balance(client, today)
    token = client.token
    server.stop()
    sandbox.store.close()

    again, server = open_sandbox("tiny", data=data)
    try:
        client = Aiq(server.url, again.credentials())
        client.token = token  # tokens are kept too
        assert client.ok("GetCustomer", f"<customerCode>{code}</customerCode>").result.findtext(q("Name"))
        invoice = client.ok("GetInvoice", f"<invoiceID>{invoice_id}</invoiceID>").result
        assert (value(invoice, "Status"), value(invoice, "ExternalReference")) == ("Posted", ext)
        assert trial_balance(client, today) == balance_before
        assert save(client, new_document(client, code, LINES[:1], ext=ext)).code == \
            "INVOICE_EXTERNAL_REFERENCE_ALREADY_EXISTS"
        later = int(save(client, new_document(client, code, LINES[:1])).out["invoiceID"])
        assert later > invoice_id  # ids carry on
        posted = client.ok("PostInvoiceGetBackTransactionID", f"<invoiceID>{later}</invoiceID>").out["transactionID"]
        assert int(posted) > int(txn_id)
        assert [c["id"] for c in again.companies()] == ["dohertyjoinery", "laganvalley", "mournefoods"]
    finally:
        server.stop()
