"""Clear Books' error answers -> Ledgerdesk's typed errors, with the service's own words.

The service answers an error as a JSON array of ``{"errorCode", "errorMessage"}`` (``{"errors": [...]}``
is accepted too). The status picks the error class; for a 400 the code decides between "the data is
wrong" (``ValidationError``) and "the record's state forbids it" (``Conflict``). Several messages are
joined with "; ", each verbatim; ``detail`` keeps the pairs. An answer we cannot read is still typed.
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
from providers.http import Reply, parse_json

SERVICE = "Clear Books"

# 400 codes that say the record's state forbids the change (the sandbox's choices, ``sandbox.py``).
CONFLICT_CODES = frozenset({"documentVoided", "invalidStatus", "documentAllocated", "paymentAllocated", "inUse",
                            "allocationsExceedTotal"})
_SCOPE = re.compile(r"\bthe (\S+) scope\b")


def service_errors(body: bytes) -> list[tuple[str, str]]:
    """The (code, message) pairs of an error body; [] when it is not in the documented shape."""
    try:
        found: Any = parse_json(body, service=SERVICE)
    except ProviderError:
        return []
    if isinstance(found, dict):
        found = found.get("errors")
    if not isinstance(found, list):
        return []
    pairs = []
    for item in found:
        if isinstance(item, dict) and isinstance(item.get("errorMessage"), str):
            code = item.get("errorCode")
            pairs.append((code if isinstance(code, str) else "", item["errorMessage"]))
    return pairs


def service_message(reply: Reply) -> str | None:
    """For ``HttpSession(error_message=...)``: the service's words on a 429 or 5xx, if it gave any."""
    pairs = service_errors(reply.body)
    return "; ".join(message for _code, message in pairs) or None


def error_for(reply: Reply) -> ProviderError:
    """The typed error for an answer that is not a success."""
    status = reply.status
    pairs = [] if reply.is_html else service_errors(reply.body)
    codes = {code for code, _message in pairs}
    said = "; ".join(message for _code, message in pairs)
    detail = [{"errorCode": code, "errorMessage": message} for code, message in pairs] or None
    if status == 401:
        return AuthError(said or "Clear Books no longer accepts this sign-in: sign in again.", status=status,
                         detail=detail)
    if status == 403:
        scope = _SCOPE.search(said)
        permission = scope.group(1) if scope else None
        if permission is None and "businessNotAuthorised" in codes:
            permission = "access to this business"
        return PermissionDenied(said or "Clear Books refused: this sign-in lacks a permission it needs.",
                                permission=permission, status=status, detail=detail)
    if status in (404, 410):
        return NotFound(said or "Clear Books has no such record.", status=status, detail=detail)
    if status == 409 or codes & CONFLICT_CODES:
        return Conflict(said or "Clear Books refused the change: the record changed there.", status=status,
                        detail=detail)
    if 400 <= status < 500:
        if not pairs:
            return ValidationError(f"Clear Books refused the request ({reply.describe()}).", status=status)
        return ValidationError(said, status=status, detail=detail)
    return BadResponse(f"Clear Books answered {reply.describe()} where it was not expected.", status=status)
