"""SOAP 1.1 on the AccountsIQ sandbox's side: reading requests safely, writing ASMX-shaped answers.

Requests are parsed with ``defusedxml`` (no DTD, no entities: an XML bomb is refused like any other
unreadable request). Values are read the way .NET's XmlSerializer reads them: an element in another
namespace is ignored, a missing value-type element takes the .NET default (0, false,
0001-01-01T00:00:00), ``xsi:nil="true"`` is null, and text that is not a valid int/decimal/boolean/
dateTime is a ``soap:Client`` fault. Answers are built as strings (fast enough to serve a page of 200
invoices in a few milliseconds) with the envelope an ASMX service writes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

NS = "http://www.visorsoftware.com/visor/accountsiq/dashboard/Integration/"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_Q = "{" + NS + "}"
_NIL = "{" + XSI_NS + "}nil"

XML_DECL = '<?xml version="1.0" encoding="utf-8"?>'
_ENVELOPE_OPEN = (
    XML_DECL + '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
    "<soap:Body>"
)
_ENVELOPE_CLOSE = "</soap:Body></soap:Envelope>"

MIN_DATETIME = dt.datetime(1, 1, 1)


class SoapFault(Exception):
    """Answered as a SOAP Fault with HTTP 500, the way ASMX reports a request it cannot read."""

    def __init__(self, message: str, code: str = "soap:Client"):
        super().__init__(message)
        self.message = message
        self.code = code


class AiqError(Exception):
    """A refusal the service reports inside its answer: Status Failure, a VisorExceptionCodes value and
    a sentence for the user (HTTP 200, as the real service answers)."""

    def __init__(self, code: str, message: str, has_expired: bool = False):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.has_expired = has_expired


def _unreadable(why: str) -> SoapFault:
    return SoapFault(f"Server was unable to read request. ---> There is an error in XML document. ---> {why}")


# ----------------------------------------------------------------------------------------------- reading


class Node:
    """A request element, read the XmlSerializer way (children in the service namespace only)."""

    __slots__ = ("element",)

    def __init__(self, element: Element):
        self.element = element

    def child(self, name: str) -> Node | None:
        found = self.element.find(_Q + name)
        return None if found is None else Node(found)

    def children(self, name: str) -> list[Node]:
        return [Node(e) for e in self.element.findall(_Q + name)]

    def text(self, name: str) -> str | None:
        """A string member: None when absent or nil, "" when empty."""
        found = self.element.find(_Q + name)
        if found is None or found.get(_NIL) in ("true", "1"):
            return None
        return found.text or ""

    def integer(self, name: str, default: int | None = 0) -> int | None:
        text = self.text(name)
        if text is None:
            return default
        try:
            return int(text.strip())
        except ValueError:
            raise _unreadable(f"<{name}>: Input string '{text}' was not in a correct format.") from None

    def decimal(self, name: str, default: Decimal | None = Decimal(0)) -> Decimal | None:
        text = self.text(name)
        if text is None:
            return default
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            raise _unreadable(f"<{name}>: Input string '{text}' was not in a correct format.")
        return value

    def flag(self, name: str, default: bool | None = False) -> bool | None:
        text = self.text(name)
        if text is None:
            return default
        value = text.strip()
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        raise _unreadable(f"<{name}>: The string '{text}' is not a valid Boolean value.")

    def moment(self, name: str, default: dt.datetime | None = MIN_DATETIME) -> dt.datetime | None:
        """A naive datetime: UTC when the text carries a zone, as written when it carries none."""
        text = self.text(name)
        if text is None:
            return default
        try:
            return parse_datetime(text.strip())
        except ValueError:
            raise _unreadable(f"<{name}>: The string '{text}' is not a valid AllXsd value.") from None

    def strings(self, name: str) -> list[str]:
        """An ArrayOfString member (``<string>`` items); absent is an empty list."""
        holder = self.element.find(_Q + name)
        if holder is None:
            return []
        return [(e.text or "") for e in holder if e.tag == _Q + "string" and e.get(_NIL) not in ("true", "1")]

    def ints(self, name: str) -> list[int]:
        holder = self.element.find(_Q + name)
        if holder is None:
            return []
        values = []
        for item in holder:
            if item.tag != _Q + "int":
                continue
            try:
                values.append(int((item.text or "").strip()))
            except ValueError:
                raise _unreadable(f"<{name}>: Input string '{item.text}' was not in a correct format.") from None
        return values


def parse_datetime(text: str) -> dt.datetime:
    if len(text) == 10:  # a bare date is read as midnight, as XmlConvert does
        return dt.datetime.fromisoformat(text)
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


class Request:
    """A parsed call: the method element and the AiqSoapHeader values."""

    __slots__ = ("access_token", "body", "entity", "method")

    def __init__(self, method: str, body: Node, entity: str | None, access_token: str | None):
        self.method = method
        self.body = body
        self.entity = entity
        self.access_token = access_token


def parse_request(data: bytes, soap_action_method: str) -> Request:
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException as error:
        raise _unreadable(f"{type(error).__name__}: DTDs and entity declarations are prohibited.") from None
    except (ParseError, ValueError) as error:
        raise _unreadable(str(error)) from None
    if root.tag != "{" + SOAP_NS + "}Envelope":
        raise SoapFault("Server was unable to read request. ---> The root element is not a SOAP 1.1 Envelope.")
    body = root.find("{" + SOAP_NS + "}Body")
    if body is None or len(body) == 0:
        raise SoapFault("Server was unable to read request. ---> The SOAP Body is missing or empty.")
    call = body[0]
    if call.tag != _Q + soap_action_method:
        raise SoapFault(f"Server was unable to read request. ---> The body element {call.tag} does not match "
                        f"the SOAPAction {NS}{soap_action_method}.")
    entity = token = None
    header = root.find("{" + SOAP_NS + "}Header")
    if header is not None:
        aiq = header.find(_Q + "AiqSoapHeader")
        if aiq is not None:
            node = Node(aiq)
            entity, token = node.text("Entity"), node.text("AccessToken")
    return Request(soap_action_method, Node(call), entity, token)


# ----------------------------------------------------------------------------------------------- writing

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})


def esc(text: str) -> str:
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.translate(_ESCAPES)
    return text


def dec(value: Decimal | int) -> str:
    """A decimal as .NET writes one: fixed point, its own scale, never an exponent."""
    return format(value, "f")


def boolean(value: bool) -> str:
    return "true" if value else "false"


def date_text(value: dt.date) -> str:
    """A business date: midnight, no zone (a .NET DateTime of kind Unspecified)."""
    return f"{value.isoformat()}T00:00:00"


def stamp_text(value: dt.datetime) -> str:
    """A UTC instant as .NET writes DateTimeKind.Utc: trailing zero fractions dropped, then ``Z``."""
    text = value.isoformat(timespec="seconds")
    if value.microsecond:
        text += ("." + f"{value.microsecond:06d}").rstrip("0")
    return text + "Z"


def s(name: str, value: str | None) -> str:
    """A string member: left out when null (minOccurs=0), as XmlSerializer does."""
    if value is None:
        return ""
    if value == "":
        return f"<{name} />"
    return f"<{name}>{esc(value)}</{name}>"


def envelope(inner: str) -> bytes:
    return (_ENVELOPE_OPEN + inner + _ENVELOPE_CLOSE).encode()


def result_status(status: str, code: str, message: str | None, has_expired: bool) -> str:
    """The members of WSResultStatus, in the order the catalogue shows."""
    return (f"<Status>{status}</Status><ErrorCode>{code}</ErrorCode>{s('ErrorMessage', message)}"
            f"<HasExpired>{boolean(has_expired)}</HasExpired>")


def method_answer(method: str, status_xml: str, result_xml: str | None, out_xml: str = "",
                  with_result: bool = True) -> bytes:
    """``<MethodResponse><MethodResult>status, Result</MethodResult>out params</MethodResponse>``."""
    result = "" if not with_result or result_xml is None else (
        "<Result />" if result_xml == "" else f"<Result>{result_xml}</Result>")
    return envelope(f'<{method}Response xmlns="{NS}"><{method}Result>{status_xml}{result}</{method}Result>'
                    f"{out_xml}</{method}Response>")


def fault(message: str, code: str = "soap:Client", detail: str = "") -> bytes:
    body = f"<detail>{detail}</detail>" if detail else "<detail />"
    return envelope(f"<soap:Fault><faultcode>{code}</faultcode><faultstring>{esc(message)}</faultstring>"
                    f"{body}</soap:Fault>")
