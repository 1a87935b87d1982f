"""Reading a whole wrapped list (``{"cash_sales": [ ... ]}``) one record at a time.

AccountingSuite answers a list in one piece: tens of megabytes for a large database. ``json.loads`` of
that is one C call that holds the GIL for hundreds of milliseconds, even on a worker thread, and would
freeze the window; it would also hold every record as a dict at once. This reader decodes one record per
``raw_decode`` call instead, so the event loop gets its turn between records and only a page of dicts
exists at a time; each record's own text comes with it, for a cheap payload hash.

Numbers are read as Decimal (never float); NaN and Infinity are refused. Anything that is not the
expected shape is a ``BadResponse``; a ``{"status": "error", ...}`` answer is the service's refusal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from providers.accountingsuite import answers
from providers.base import BadResponse
from providers.http import Reply, looks_like_html

_WS = re.compile(r"[ \t\n\r]*")
_SMALL = 1024 * 1024
_WHOLE_END = re.compile(r"\][ \t\n\r]*\}[ \t\n\r]*\Z")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)


def count_key(text: str, key: str) -> int:
    """How many times ``"key":`` occurs as a key: the record count, for a key each record has once.
    Inside a JSON string a quote is escaped (``\\"``), so ``"key"`` followed by a colon can only be a key;
    ``str.count`` keeps this to milliseconds on tens of megabytes."""
    return text.count(f'"{key}":') + text.count(f'"{key}" :')


class WholeList:
    """``take(n)`` gives the next ``n`` records as ``(record, its JSON text)``; ``[]`` at the end."""

    def __init__(self, reply: Reply, keys: tuple[str, ...], what: str):
        self.what = what
        self.keys = keys
        self.text = _text(reply)
        self._records = self._walk()
        self.taken = 0

    def take(self, n: int) -> list[tuple[dict[str, Any], str]]:
        batch = []
        try:
            for _ in range(n):
                batch.append(next(self._records))
        except StopIteration:
            pass
        except (ValueError, RecursionError) as error:  # json's decode error is a ValueError
            raise BadResponse(f"{answers.SERVICE} sent a list of {self.what} that is not valid JSON "
                              f"({str(error)[:120]})") from None
        self.taken += len(batch)
        return batch

    def ends_whole(self) -> bool:
        """Whether the answer is whole: a list ends with ``]}``; anything else (a refusal, an empty
        database's list) is small enough to decode here and see. An answer cut short, even just after
        one of its records, is not whole."""
        if _WHOLE_END.search(self.text[-64:]):
            return True
        if len(self.text) > _SMALL:
            return False
        try:
            _DECODER.decode(self.text)
        except (ValueError, RecursionError):
            return False
        return True

    def release(self) -> None:
        self.text = ""

    # --- the walk: {"key": [record, ...], other: value, ...} -----------------------------------
    def _walk(self) -> Iterator[tuple[dict[str, Any], str]]:
        text = self.text
        i = _skip(text, 0)
        if not text.startswith("{", i):
            raise BadResponse(f"{answers.SERVICE} sent something other than a list of {self.what}")
        head: dict[str, Any] = {}
        found = False
        i = _skip(text, i + 1)
        if text.startswith("}", i):
            i += 1
        else:
            while True:
                if not text.startswith('"', i):
                    raise ValueError(f"a key was expected at character {i}")
                key, i = _DECODER.raw_decode(text, i)
                i = _skip(text, i)
                if not text.startswith(":", i):
                    raise ValueError(f"':' was expected at character {i}")
                i = _skip(text, i + 1)
                if key in self.keys and not found and text.startswith("[", i):
                    found = True
                    i = yield from self._entries(text, i)
                else:
                    head[key], i = _DECODER.raw_decode(text, i)
                i = _skip(text, i)
                if text.startswith(",", i):
                    i = _skip(text, i + 1)
                    continue
                if text.startswith("}", i):
                    i += 1
                    break
                raise ValueError(f"',' or '}}' was expected at character {i}")
        if _skip(text, i) != len(text):
            raise ValueError(f"extra data at character {i}")
        if head.get("status") == "error":
            raise answers.refusal(head, 200)
        if not found:
            raise BadResponse(f"{answers.SERVICE} sent a list of {self.what} without its “{self.keys[0]}” "
                              "wrapper, or one that is not a list")

    def _entries(self, text: str, i: int):
        i = _skip(text, i + 1)
        if text.startswith("]", i):
            return i + 1
        while True:
            start = i
            record, i = _DECODER.raw_decode(text, i)
            if not isinstance(record, dict) or not isinstance(record.get("api_code"), str) \
                    or not record["api_code"]:
                raise BadResponse(f"{answers.SERVICE} sent a list of {self.what} whose entry "
                                  f"{self.taken + 1} is not a record")
            yield record, text[start:i]
            i = _skip(text, i)
            if text.startswith(",", i):
                i = _skip(text, i + 1)
                continue
            if text.startswith("]", i):
                return i + 1
            raise ValueError(f"',' or ']' was expected at character {i}")


def _skip(text: str, i: int) -> int:
    return _WS.match(text, i).end()  # type: ignore[union-attr]  # matches the empty string at worst


def _text(reply: Reply) -> str:
    body = reply.body
    if not body.strip():
        raise BadResponse(f"{answers.SERVICE} sent an empty answer where a list was expected")
    if looks_like_html(reply.content_type, body):
        raise BadResponse(f"{answers.SERVICE} sent a web page where a list was expected")
    try:
        return body.decode(json.detect_encoding(body))
    except (UnicodeDecodeError, LookupError) as error:
        raise BadResponse(f"{answers.SERVICE} sent a list that is not valid text ({error})") from None
