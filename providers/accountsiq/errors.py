"""AccountsIQ's refusals as Ledgerdesk's typed errors, with the service's own sentence.

A refusal is HTTP 200 with ``Status`` Failure, a ``VisorExceptionCodes`` value in ``ErrorCode`` and a
sentence in ``ErrorMessage`` (shown verbatim). A request the service cannot read, or an exception inside
it, is a SOAP Fault with HTTP 500 (``soap:Client`` / ``soap:Server``).

How codes are read (the enumeration has hundreds of values; they follow a naming scheme):

- sign-in: ``WS_INVALIDTOKEN``, ``CANNOT_LOGIN_*``, ``OAUTH_INTEGRATION_APPS_*`` (token, client id or
  secret) -> ``AuthError``; ``OAUTH_INTEGRATION_APPS_RATE_LIMIT_REACHED`` -> ``RateLimited``;
- the record's state forbids the change: ``TRANSACTION_IS_NOT_EDITABLE`` (posted),
  ``OUTDATED_RECORD`` (changed since it was read), ``*_CANNOT_BE_POSTED``, ``*_CANNOT_BE_DELETED``
  -> ``Conflict``;
- ``*_NOT_FOUND`` / ``*_DOES_NOT_EXIST`` -> ``NotFound`` when it is the record the call addressed (the
  caller says which codes those are, or the call only reads); when it is something a record being
  written refers to (its customer, tax code, GL account...) -> ``ValidationError``;
- permissions (``*ACCESS_DENIED*``, ``*NOT_AUTHORI[SZ]ED*``, ``*PERMISSION*``) -> ``PermissionDenied``;
- anything else (duplicates ``*_ALREADY_EXISTS``/``*_ALREADY_IN_USE``/``*_NOT_UNIQUE``, empty, too long,
  negative, out of range...) -> ``ValidationError``: the data was refused.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from providers.accountsiq.envelope import SERVICE, Answer, Fault
from providers.base import (
    AuthError,
    Conflict,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    Unavailable,
    UnknownOutcome,
    ValidationError,
)

RATE_LIMIT = "OAUTH_INTEGRATION_APPS_RATE_LIMIT_REACHED"
TOKEN_EXPIRED = "OAUTH_INTEGRATION_APPS_TOKEN_EXPIRED"
INVALID_TOKEN = "WS_INVALIDTOKEN"
# The entity is part of the sign-in's reach, not of the data: a wrong one is "not found", said plainly.
ENTITY_NOT_FOUND = "API_LAYER_ENTITY_ID_NOT_FOUND"
NO_ENTITY = "OAUTH_INTEGRATION_APPS_NO_ENTITY_PROVIDED_IN_HEADER"
DUPLICATE_REFERENCE = "INVOICE_EXTERNAL_REFERENCE_ALREADY_EXISTS"
CODE_IN_USE = "ACCOUNT_CODE_ALREADY_IN_USE"

_CONFLICTS = frozenset({"TRANSACTION_IS_NOT_EDITABLE", "OUTDATED_RECORD", "ACCOUNT_CANNOT_BE_DELETED",
                        "INVOICE_CANNOT_BE_POSTED", "INVOICE_IS_NOT_EDITABLE", "PERIOD_IS_CLOSED"})
_CONFLICT_PATTERN = re.compile(r"_CANNOT_BE_(POSTED|DELETED|CHANGED|MODIFIED|EDITED)$|_IS_NOT_EDITABLE$|_IS_LOCKED$"
                               r"|_ALREADY_POSTED$")
_MISSING = re.compile(r"_NOT_FOUND$|_DOES_NOT_EXIST$|_DOESNT_EXIST$|^TRANSACTION_NOT_FOUND$")
_PERMISSION = re.compile(r"ACCESS_DENIED|NOT_AUTHORI[SZ]ED|PERMISSION|FORBIDDEN|NOT_ALLOWED_FOR_USER")
_AUTH_PREFIXES = ("OAUTH_INTEGRATION_APPS_", "CANNOT_LOGIN", "WS_INVALIDTOKEN", "INVALID_TOKEN", "TOKEN_")
_SERVER_TROUBLE = re.compile(r"UNEXPECTED|INTERNAL_ERROR|DATABASE_ERROR|TIMEOUT|SERVICE_UNAVAILABLE")


MAX_MESSAGE = 2_000  # the service's sentence is shown verbatim, but not a megabyte of it


def _sentence(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "…"


def is_token_problem(answer: Answer) -> bool:
    """The call failed because of its access token: refresh (or sign in again) and retry once."""
    return answer.has_expired or answer.code in (TOKEN_EXPIRED, INVALID_TOKEN, "OAUTH_INTEGRATION_APPS_TOKEN_IS_INVALID")


def error_for(answer: Answer, *, write: bool = False, subject: Collection[str] = ()) -> ProviderError:
    """The typed error for a failed answer. ``subject``: the codes that mean "the record this call
    addressed is not there" (NotFound even on a write, e.g. an id of the other kind of document)."""
    code = answer.code or ""
    message = _sentence(answer.message) or f"{SERVICE} refused the request ({code[:80] or answer.status[:80]})."
    detail = {"code": code, "method": answer.method}
    if code in subject:
        return NotFound(message, detail=detail)
    if code == RATE_LIMIT:
        return RateLimited(message, detail=detail)
    if code == ENTITY_NOT_FOUND:
        return NotFound(message, detail=detail)
    if code == NO_ENTITY:
        return ValidationError(message, detail=detail)
    if answer.has_expired or code.startswith(_AUTH_PREFIXES):
        return AuthError(message, detail=detail)
    if code in _CONFLICTS or _CONFLICT_PATTERN.search(code):
        return Conflict(message, detail=detail)
    if _PERMISSION.search(code):
        return PermissionDenied(message, permission=code, detail=detail)
    if _MISSING.search(code):
        if not write:
            return NotFound(message, detail=detail)
        return ValidationError(message, detail=detail)
    if _SERVER_TROUBLE.search(code):
        return Unavailable(message, detail=detail)
    return ValidationError(message, detail=detail)


def fault_error(fault: Fault, method: str, *, write: bool, status: int | None) -> ProviderError:
    """A SOAP Fault. ``soap:Client``: the service could not read what was sent (the words are its own).
    ``soap:Server``: it failed inside; for a write, whether it was done is unknown."""
    message = _sentence(fault.message) or f"{SERVICE} answered {method} with a SOAP fault ({fault.code[:80] or 'no code'})."
    detail = {"fault": fault.code, "method": method, "code": fault.detail_code}
    if fault.detail_code == RATE_LIMIT:
        return RateLimited(message, status=status, detail=detail)
    if fault.code.endswith("Client"):
        return ValidationError(message, status=status, detail=detail)
    if write:
        return UnknownOutcome(f"{message} (the change may or may not have been made)", status=status, detail=detail)
    return Unavailable(message, status=status, detail=detail)
