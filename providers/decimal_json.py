"""JSON with exact decimals both ways: money never passes through float.

Reading uses ``parse_float=Decimal``. Writing emits a Decimal as a bare JSON number (``12.40``,
not ``"12.40"`` and not ``12.4``): the standard encoder cannot, so Decimals are first written as
marked strings and the marks are then unwrapped. The mark carries a per-process random nonce, so
text inside a user's string can never be mistaken for one.
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal
from typing import Any

_NONCE = secrets.token_hex(8)
_MARK = f"\u0001{_NONCE}:"
_MARKED = re.compile(r'"\\u0001' + _NONCE + r':([-0-9.eE+]+)"')


class JSONDecodeError(ValueError):
    """The text is not JSON (or not the JSON we can read)."""


def loads(text: str | bytes) -> Any:
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    # ValueError too: an integer of more than 4,300 digits is refused by int() itself.
    except (ValueError, RecursionError) as error:
        raise JSONDecodeError(str(error)) from None


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a number", name, 0)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as JSON")
        return _MARK + str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    if isinstance(value, float):
        raise TypeError("floats are not written: use Decimal")
    text = json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))
    if _NONCE in text:
        text = _MARKED.sub(lambda match: match.group(1), text)
    return text
