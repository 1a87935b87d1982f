"""Reading AccountingSuite's answers: the service's refusals as typed errors, lists out of their wrappers.

The service refuses most things with HTTP 200 and ``{"status": "error", "message": ...}`` (sometimes
``message1``, ``message2``, ... instead, plus fields such as ``api_code`` of the company whose name is
taken); only authentication, unknown paths, wrong methods and unreadable bodies are HTTP errors, in the
same shape. Every sentence reaches the user verbatim: they are joined in order, and the whole payload is
kept as the error's ``detail``.
"""

from __future__ import annotations

import re
from typing import Any

from providers.base import (
    AuthError,
    BadResponse,
    Conflict,
    NotFound,
    PermissionDenied,
    ProviderError,
    ValidationError,
)
from providers.http import Reply

SERVICE = "AccountingSuite"
_NUMBERED = re.compile(r"^message(\d+)$")
# "[api_code] : The sales invoice does not exist. Double check that the ID# is correct."
_NOT_FOUND = re.compile(r"^\[api_code\]\s*:.*does not exist", re.IGNORECASE)
# "Failed to delete. Invoice must be unposted ..." / "... There are linked objects ...": the record's
# state forbids it, the data sent is not at fault.
_STATE_REFUSAL = re.compile(r"^Failed to delete\b", re.IGNORECASE)


def messages(payload: dict[str, Any]) -> str | None:
    """``message`` then ``message1``, ``message2``, ... in number order, joined; None when there is none."""
    parts = []
    if isinstance(payload.get("message"), str) and payload["message"].strip():
        parts.append(payload["message"].strip())
    numbered = sorted(
        (int(found.group(1)), value)
        for key, value in payload.items()
        if (found := _NUMBERED.match(key)) and isinstance(value, str) and value.strip()
    )
    parts.extend(value.strip() for _, value in numbered)
    return " ".join(parts) or None


def error_message(reply: Reply) -> str | None:
    """The service's sentence in an error answer (for the HTTP layer's Unavailable/RateLimited)."""
    if reply.is_html or not reply.body.strip():
        return None
    try:
        payload = parse(reply)
    except ProviderError:
        return None
    return messages(payload) if isinstance(payload, dict) else None


def refusal(payload: dict[str, Any], status: int) -> ProviderError:
    message = messages(payload) or f"{SERVICE} refused the request without saying why."
    if status == 401:
        return AuthError(message, status=status, detail=payload)
    if status == 403:
        return PermissionDenied(message, status=status, detail=payload)
    if status == 404 or _NOT_FOUND.match(message):
        return NotFound(message, status=status, detail=payload)
    if status == 409 or _STATE_REFUSAL.match(message):
        return Conflict(message, status=status, detail=payload)
    return ValidationError(message, status=status, detail=payload)


def read(reply: Reply, *, empty_ok: bool = False) -> Any:
    """The answer's JSON, or the typed error it stands for. ``empty_ok``: an empty 200 is success
    (``/cashreceipts`` answers so) and reads as None."""
    status = reply.status
    if 300 <= status < 400:
        raise BadResponse(f"{SERVICE} answered {reply.describe()} (a redirect) where data was expected",
                          status=status)
    if status >= 400:
        payload = _payload_or_none(reply)
        if payload is None:
            fallback = {"message": f"{SERVICE} answered {reply.describe()}."}
            raise refusal(fallback, status)
        raise refusal(payload, status)
    if empty_ok and not reply.body.strip():
        return None
    data = parse(reply)
    if isinstance(data, dict) and data.get("status") == "error":
        raise refusal(data, status)
    return data


def parse(reply: Reply) -> Any:
    """``reply.json()``, and an integer too long for Python (over 4,300 digits), which the JSON module
    refuses with a plain ValueError rather than its decode error, as a BadResponse too."""
    try:
        return reply.json()
    except ProviderError:
        raise
    except ValueError as error:
        raise BadResponse(f"{SERVICE} sent an answer that is not readable JSON ({str(error)[:120]})") from None


def _payload_or_none(reply: Reply) -> dict[str, Any] | None:
    if reply.is_html or not reply.body.strip():
        return None
    try:
        payload = parse(reply)
    except ProviderError:
        return None
    return payload if isinstance(payload, dict) and messages(payload) else None


def record(data: Any, what: str) -> dict[str, Any]:
    """A single record's answer: a JSON object with an api_code."""
    if not isinstance(data, dict) or not isinstance(data.get("api_code"), str) or not data["api_code"]:
        raise BadResponse(f"{SERVICE} sent something other than a {what} where one was expected")
    return data


def wrapped_list(data: Any, keys: tuple[str, ...], what: str) -> list[dict[str, Any]]:
    """A whole list out of its wrapper (``{"companies": [...]}``; invoices come as ``"cash_sales"`` as the
    document shows, or ``"invoices"``). Every entry must be an object with an api_code."""
    if not isinstance(data, dict):
        raise BadResponse(f"{SERVICE} sent something other than a list of {what}")
    for key in keys:
        if key in data:
            entries = data[key]
            break
    else:
        raise BadResponse(f"{SERVICE} sent a list of {what} without its “{keys[0]}” wrapper")
    if not isinstance(entries, list):
        raise BadResponse(f"{SERVICE} sent a list of {what} that is not a list")
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("api_code"), str) or not entry["api_code"]:
            raise BadResponse(f"{SERVICE} sent a list of {what} whose entry {position} is not a record")
    return entries


def deleted(data: Any) -> str:
    """A delete's answer: ``{"status": "success", "message": "... has been deleted."}``."""
    if not isinstance(data, dict) or data.get("status") != "success":
        raise BadResponse(f"{SERVICE} answered a delete with something other than its confirmation")
    return messages(data) or ""
