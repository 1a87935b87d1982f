"""SOAP 1.1 on the client's side: writing AccountsIQ request envelopes, reading their answers safely.

Requests are written as text (the shapes are small and fixed; a serializer would only add namespace
prefixes the service does not need). Every value is escaped, and text XML 1.0 cannot carry (control
characters) is refused before anything is sent.

Answers are untrusted input. ``defusedxml`` reads each answer's prolog (up to its root element) and
refuses any DTD, entity declaration or external reference, so an XML bomb or an XXE is a ``BadResponse``
before anything is expanded; an answer without a DTD cannot declare an entity, so the tree is then built
by the C parser (the pure-Python tree builder that ``defusedxml.ElementTree.fromstring`` forces costs
twice as much, and a page of 1,000 invoices is 5-6 MB). The body is fed in chunks, so a worker thread
parsing it lets the event loop run in between. The answer is then checked for the shape every 2.0
method answers with: ``<MethodResponse><MethodResult>Status, ErrorCode, ErrorMessage, HasExpired, Result
</MethodResult> out parameters</MethodResponse>``. A SOAP Fault is read for its ``faultstring``, which
is the service's own sentence. Anything else is a ``BadResponse``, never another exception.

Records are read member by member the way XmlSerializer writes them: a member left out is null, an
``xsi:nil="true"`` member is null, an empty element is the empty string. ``Record`` keeps the parsed
element so a record read can be sent back changed (the service replaces what it is sent member by
member: anything Ledgerdesk does not map must go back exactly as it came).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as SafeElementTree

from providers.base import BadResponse, ValidationError
from providers.http import Reply

NS = "http://www.visorsoftware.com/visor/accountsiq/dashboard/Integration/"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
Q = "{" + NS + "}"
_QLEN = len(Q)
NIL = "{" + XSI_NS + "}nil"
_ENVELOPE = "{" + SOAP_NS + "}Envelope"
_BODY = "{" + SOAP_NS + "}Body"
_FAULT = "{" + SOAP_NS + "}Fault"

SUCCESS = frozenset({"Success", "Created", "Complete", "Processed"})
SERVICE = "AccountsIQ"
MIN_DATE = "0001-01-01T00:00:00"
MAX_DATE = "9999-12-31T23:59:59"

_OPEN = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="' + SOAP_NS + '" xmlns:xsi="' + XSI_NS
         + '" xmlns:xsd="http://www.w3.org/2001/XMLSchema">')
# XML 1.0 cannot carry these, escaped or not: the service would answer a soap:Client fault.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})


# --------------------------------------------------------------------------------------------- writing

def esc(text: str) -> str:
    if _ILLEGAL.search(text):
        raise ValidationError(f"“{_ILLEGAL.sub('?', text)[:60]}” contains control characters that cannot be "
                              "sent to AccountsIQ.")
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.translate(_ESCAPES)
    return text


def decimal_text(value: Decimal | int) -> str:
    """Fixed point, never an exponent (XmlConvert refuses ``1E+2``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, Decimal):  # a float is a caller's bug, refused before it costs a penny
        raise TypeError(f"{type(value).__name__} is not written as a number: use Decimal")
    return format(value, "f")


def date_text(value: dt.date) -> str:
    """A business date as the service writes one: midnight, no zone."""
    return f"{value.isoformat()}T00:00:00"


def stamp_text(value: dt.datetime) -> str:
    """A UTC instant (``FromLastModifiedDateInUTC`` and the like)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def el(name: str, value: str | Decimal | int | bool | dt.date | None) -> str:
    """One member. None is left out (null); a bool is written as XmlSerializer reads one."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Decimal | int):
        text = decimal_text(value)
    elif isinstance(value, dt.datetime):
        text = stamp_text(value)
    elif isinstance(value, dt.date):
        text = date_text(value)
    else:
        text = esc(value)
    return f"<{name}>{text}</{name}>" if text else f"<{name} />"


def strings(name: str, values: Iterable[str]) -> str:
    """An ArrayOfString member."""
    return f"<{name}>" + "".join(f"<string>{esc(v)}</string>" for v in values) + f"</{name}>"


def ints(name: str, values: Iterable[int]) -> str:
    return f"<{name}>" + "".join(f"<int>{int(v)}</int>" for v in values) + f"</{name}>"


def request(method: str, body: str, entity: str | None, token: str | None) -> bytes:
    """The whole envelope of one call; the header is left out for the sign-in methods."""
    header = ""
    if entity is not None or token is not None:
        header = (f'<soap:Header><AiqSoapHeader xmlns="{NS}">{el("Entity", entity)}{el("AccessToken", token)}'
                  "</AiqSoapHeader></soap:Header>")
    return (f'{_OPEN}{header}<soap:Body><{method} xmlns="{NS}">{body}</{method}></soap:Body>'
            "</soap:Envelope>").encode()


def write(element: Element) -> str:
    """A record element read from an answer, written back (service namespace only, nils kept)."""
    tag = element.tag
    if not tag.startswith(Q):
        return ""  # XmlSerializer ignores members of other namespaces; so do we
    name = tag[_QLEN:]
    if element.get(NIL) in ("true", "1"):
        return f'<{name} xsi:nil="true" />'
    if len(element):
        return f"<{name}>" + "".join(write(child) for child in element) + f"</{name}>"
    text = element.text
    if not text:
        return f"<{name} />"
    return f"<{name}>{esc(text)}</{name}>"


# --------------------------------------------------------------------------------------------- reading

_CHUNK = 256 * 1024


class _RootReached(Exception):
    pass


class _Prolog:
    """A parser target that stops at the root element: only the prolog is read by the guard."""

    def start(self, tag: str, attrib: dict) -> None:
        raise _RootReached

    def close(self) -> None:
        return None


def parse(body: bytes) -> Element:
    """An answer's XML, safely (see the module docstring); anything unreadable is a ``BadResponse``."""
    if not body.strip():
        raise BadResponse(f"{SERVICE} sent an empty answer where XML was expected")
    guard = SafeElementTree.DefusedXMLParser(target=_Prolog(), forbid_dtd=True, forbid_entities=True,
                                             forbid_external=True)
    try:
        guard.feed(body)
        guard.close()
    except _RootReached:
        pass
    except defusedxml.DefusedXmlException as error:
        raise BadResponse(f"{SERVICE} sent XML that is refused for safety ({type(error).__name__})") from None
    except (SafeElementTree.ParseError, ElementTree.ParseError, ValueError, UnicodeError, LookupError) as error:
        raise BadResponse(f"{SERVICE} sent an answer that is not valid XML ({str(error)[:200]})") from None
    builder = ElementTree.XMLParser()
    try:
        for start in range(0, len(body), _CHUNK):
            builder.feed(body[start:start + _CHUNK])
        return builder.close()
    except (ElementTree.ParseError, ValueError, UnicodeError, LookupError, RecursionError, MemoryError) as error:
        raise BadResponse(f"{SERVICE} sent an answer that is not valid XML ({str(error)[:200]})") from None


def local(tag: str) -> str:
    return tag[_QLEN:] if tag.startswith(Q) else tag.rpartition("}")[2]


def members(element: Element) -> dict[str, str | None]:
    """A record's simple members by name: None for nil, "" for empty (members left out are absent).
    The hot path of every list: one pass over the children, no lookups."""
    out: dict[str, str | None] = {}
    names = _LOCAL_NAMES
    for child in element:
        name = names.get(child.tag)
        if name is None:
            tag = child.tag
            if tag[:_QLEN] != Q:
                continue
            name = tag[_QLEN:]
            if len(names) < _LOCAL_NAMES_KEPT:  # bounded: the tags come from the server
                names[tag] = name
        text = child.text
        # A nil element has no text: only an element with text needs its attributes looked at.
        out[name] = None if text is not None and child.get(NIL) is not None else text
    return out


# Member names by qualified tag: a dict look-up costs half of slicing and comparing the namespace for
# each of the 160,000 members a page of 1,000 invoices has.
_LOCAL_NAMES: dict[str, str] = {}
_LOCAL_NAMES_KEPT = 2048


class Unreadable(ValueError):
    """A value in an answer that is not what its member must hold (becomes a ``BadResponse``)."""


def text_of(record: dict[str, str | None], name: str) -> str:
    value = record.get(name)
    return value.strip() if value else ""


def decimal_of(record: dict[str, str | None], name: str, default: Decimal | None = None) -> Decimal:
    value = record.get(name)
    if value is None or not value.strip():
        if default is not None:
            return default
        raise Unreadable(f"{name} is missing")
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise Unreadable(f"{name} is not a number: {value[:40]!r}") from None
    if not number.is_finite():
        raise Unreadable(f"{name} is not a number: {value[:40]!r}")
    return number


def int_of(record: dict[str, str | None], name: str, default: int | None = None) -> int:
    value = record.get(name)
    if value is None or not value.strip():
        if default is not None:
            return default
        raise Unreadable(f"{name} is missing")
    text = value.strip()
    if not (text.isdigit() or (text[:1] == "-" and text[1:].isdigit())) or len(text) > 19:
        raise Unreadable(f"{name} is not a whole number: {value[:40]!r}")
    return int(text)


def bool_of(record: dict[str, str | None], name: str, default: bool | None = None) -> bool:
    value = (record.get(name) or "").strip()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    if not value and default is not None:
        return default
    raise Unreadable(f"{name} is not true or false: {value[:40]!r}")


def date_of(record: dict[str, str | None], name: str, required: bool = True) -> dt.date | None:
    """A business date (``2026-03-31T00:00:00``, a zone or a time tolerated)."""
    value = (record.get(name) or "").strip()
    if not value:
        if required:
            raise Unreadable(f"{name} is missing")
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise Unreadable(f"{name} is not a date: {value[:40]!r}") from None


def moment_of(text: str | None) -> dt.datetime | None:
    """A UTC stamp (``...Z``), as an aware datetime; None when empty or unreadable."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass
class Fault:
    code: str
    message: str
    detail_code: str | None = None  # an ErrorCode the service put in the fault's detail


@dataclass
class Answer:
    """One method's answer: its status members, its ``Result`` element (None when absent), its out
    parameters, and the HTTP Date (the change-feed cursor's source)."""

    method: str
    status: str
    code: str
    message: str
    has_expired: bool
    result: Element | None
    out: dict[str, str | None] = field(default_factory=dict)
    holder: Element | None = None  # the MethodResult element (the sign-in methods keep tokens in it)
    date: str | None = None
    body: bytes = b""
    extracted: Any = None  # what the caller took out of it on the worker thread (the tree then dropped)

    @property
    def ok(self) -> bool:
        return self.status in SUCCESS

    def items(self, tag: str) -> list[Element]:
        if self.result is None:
            return []
        return [child for child in self.result if child.tag == Q + tag]

    def result_members(self) -> dict[str, str | None]:
        if self.result is None:
            raise Unreadable("the answer has no Result")
        return members(self.result)


def read_fault(root: Element) -> Fault | None:
    body = root.find(_BODY)
    if body is None:
        return None
    fault = body.find(_FAULT)
    if fault is None:
        return None
    code = (fault.findtext("faultcode") or "").strip()
    message = (fault.findtext("faultstring") or "").strip()
    detail = fault.find("detail")
    detail_code = None
    if detail is not None:
        for child in detail.iter():
            if local(child.tag) == "ErrorCode" and child.text:
                detail_code = child.text.strip()
    return Fault(code, message, detail_code)


def fault_of(reply: Reply) -> Fault | None:
    """The Fault in an answer, if it is a readable SOAP Fault (for messages; never raises)."""
    try:
        root = parse(reply.body)
    except BadResponse:
        return None
    return read_fault(root) if root.tag == _ENVELOPE else None


def read_answer(reply: Reply, method: str) -> Answer | Fault:
    """The answer to ``method``, or the Fault the service sent instead. Raises ``BadResponse`` for
    anything that is neither."""
    if reply.is_html:
        raise BadResponse(f"{SERVICE} sent a web page ({reply.describe()}) where a SOAP answer to {method} was "
                          "expected")
    root = parse(reply.body)
    if root.tag != _ENVELOPE:
        raise BadResponse(f"{SERVICE}'s answer to {method} is XML but not a SOAP envelope")
    body = root.find(_BODY)
    if body is None or len(body) == 0:
        raise BadResponse(f"{SERVICE}'s answer to {method} has an empty SOAP body")
    first = body[0]
    if first.tag == _FAULT:
        return read_fault(root) or Fault("", "")
    if first.tag != Q + method + "Response":
        raise BadResponse(f"{SERVICE} answered {local(first.tag)[:80]} where {method}Response was expected")
    holder = first.find(Q + method + "Result")
    if holder is None:
        raise BadResponse(f"{SERVICE}'s answer to {method} has no {method}Result")
    found = members(holder)
    status = found.get("Status")
    if not status or not status.strip():
        raise BadResponse(f"{SERVICE}'s answer to {method} has no Status")
    out = {local(child.tag): child.text for child in first if child is not holder}
    expired = (found.get("HasExpired") or "").strip()
    return Answer(method=method, status=status.strip(), code=(found.get("ErrorCode") or "").strip(),
                  message=(found.get("ErrorMessage") or "").strip(), has_expired=expired in ("true", "1"),
                  result=holder.find(Q + "Result"), out=out, holder=holder, date=reply.headers.get("date"),
                  body=reply.body)


# ------------------------------------------------------------------------------------ raw record bytes

def record_slices(body: bytes, tag: str, expected: int) -> list[bytes] | None:
    """The raw bytes inside each ``<tag>...</tag>`` of an answer, in order: a cheap, exact payload to
    hash. None when the count does not match what the parser found (then the caller hashes members)."""
    open_tag, close_tag = f"<{tag}>".encode(), f"</{tag}>".encode()
    slices: list[bytes] = []
    find = body.find
    at = find(open_tag)
    while at != -1:
        start = at + len(open_tag)
        end = find(close_tag, start)
        if end == -1:
            return None
        slices.append(body[start:end])
        at = find(open_tag, end + len(close_tag))
    return slices if len(slices) == expected else None
