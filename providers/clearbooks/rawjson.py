"""A JSON answer read record by record, keeping each record's own text.

A list page is a bare JSON array of records. Reading it element by element with the json module's C
scanner costs what one ``loads`` costs, and gives each record's exact text as well, so its payload hash
is a hash of those bytes rather than of a re-serialised dict (which cost more than the rest of the
mapping put together). The service writes a record the same way in a list, a GET, and the answer to a
create or update, so the hash is the same whichever way the record arrived.

Numbers with a fraction are Decimals (``parse_float=Decimal``); NaN and Infinity are refused, as in
``providers.decimal_json``. Anything that is not JSON is a ``BadResponse``.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from providers.base import BadResponse

_WHITESPACE = " \t\n\r"


def _refuse(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse)
_SCAN = _DECODER.scan_once


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _WHITESPACE:
        at += 1
    return at


def _bad(what: str) -> BadResponse:
    return BadResponse(f"Clear Books sent an answer that is not valid JSON ({what})")


def _value(text: str, at: int) -> tuple[Any, int]:
    try:
        return _SCAN(text, at)
    except StopIteration:
        raise _bad(f"nothing readable at character {at}") from None
    except (ValueError, RecursionError) as error:
        raise _bad(str(error)[:200]) from None


def decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("it is not UTF-8") from None


def records(text: str) -> tuple[list[Any], list[str]]:
    """(values, texts) of a JSON array; a non-array answer is a ``BadResponse``."""
    at = _skip(text, 0)
    if at >= len(text) or text[at] != "[":
        raise BadResponse("Clear Books sent something other than a list where a list was expected")
    values: list[Any] = []
    texts: list[str] = []
    at = _skip(text, at + 1)
    if at < len(text) and text[at] == "]":
        at += 1
    else:
        while True:
            at = _skip(text, at)
            value, end = _value(text, at)
            values.append(value)
            texts.append(text[at:end])
            at = _skip(text, end)
            if at < len(text) and text[at] == ",":
                at += 1
                continue
            if at < len(text) and text[at] == "]":
                at += 1
                break
            raise _bad(f"expected , or ] at character {at}")
    if _skip(text, at) != len(text):
        raise _bad(f"extra data after the list at character {at}")
    return values, texts


def value(text: str) -> tuple[Any, str]:
    """One JSON value and its text (stripped)."""
    at = _skip(text, 0)
    found, end = _value(text, at)
    if _skip(text, end) != len(text):
        raise _bad(f"extra data at character {end}")
    return found, text[at:end]
