"""Reading an AccBooks list page ``{"data": [...], "meta": {...}}`` with each record's own raw text.

The records are decoded one by one from the page's text (the same C scanner ``json.loads`` uses, with
Decimal numbers), so each comes with the exact characters the service sent for it: hashing those is the
record's ``payload_hash`` at a twentieth of the cost of re-encoding the dict. Anything that is not a JSON
object of that shape is a ``BadResponse``.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Any

from providers.base import BadResponse
from providers.http import parse_json

_SPACE = re.compile(r"[ \t\n\r]*")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def split_list(body: bytes) -> tuple[dict[str, Any], list[str]]:
    """The page as a dict, and the raw text of each item of its ``data`` list (same order)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadResponse("AccBooks sent a list that is not UTF-8 text") from None
    try:
        return _split(text)
    except _NotAnObject:
        parsed = parse_json(body, service="AccBooks")  # its own message for empty, HTML or broken JSON
        raise BadResponse(f"AccBooks sent {type(parsed).__name__} where a list page was expected") from None
    except (ValueError, IndexError, RecursionError) as error:
        raise BadResponse(f"AccBooks sent a list that is not valid JSON ({error})") from None


class _NotAnObject(Exception):
    pass


def _skip(text: str, at: int) -> int:
    return _SPACE.match(text, at).end()


def _split(text: str) -> tuple[dict[str, Any], list[str]]:
    at = _skip(text, 0)
    if text[at:at + 1] != "{":
        raise _NotAnObject
    page: dict[str, Any] = {}
    raws: list[str] = []
    at = _skip(text, at + 1)
    if text[at] == "}":
        at += 1
    else:
        while True:
            key, at = _DECODER.raw_decode(text, at)
            if not isinstance(key, str):
                raise ValueError("an object key is not a string")
            at = _skip(text, at)
            if text[at] != ":":
                raise ValueError(f"expected ':' at {at}")
            at = _skip(text, at + 1)
            if key == "data" and text[at] == "[":
                items, raws, at = _array(text, at)
                page[key] = items
            else:
                page[key], at = _DECODER.raw_decode(text, at)
            at = _skip(text, at)
            if text[at] == ",":
                at = _skip(text, at + 1)
                continue
            if text[at] == "}":
                at += 1
                break
            raise ValueError(f"expected ',' or '}}' at {at}")
    if _skip(text, at) != len(text):
        raise ValueError(f"extra data after the page at {at}")
    return page, raws


def _array(text: str, at: int) -> tuple[list[Any], list[str], int]:
    items: list[Any] = []
    raws: list[str] = []
    at = _skip(text, at + 1)
    if text[at] == "]":
        return items, raws, at + 1
    decode = _DECODER.raw_decode
    while True:
        item, end = decode(text, at)
        items.append(item)
        raws.append(text[at:end])
        at = _skip(text, end)
        if text[at] == ",":
            at = _skip(text, at + 1)
        elif text[at] == "]":
            return items, raws, at + 1
        else:
            raise ValueError(f"expected ',' or ']' at {at}")
