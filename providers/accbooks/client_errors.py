"""AccBooks error answers -> typed errors, with the service's own sentence.

Every AccBooks error body is ``{"error": <code>, "message": <sentence>, ...}`` (the sandbox's module
docstring lists them); a body that is not (a proxy's page, an empty body) still maps by status, with a
plain sentence instead.
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
    Unsupported,
    ValidationError,
)
from providers.http import InsecureURL, Reply

SERVICE = "AccBooks"
_PERMISSION_IN_TEXT = re.compile(r"\b([a-z_]+:(?:read|write))\b")


def error_body(reply: Reply) -> dict[str, Any]:
    """The JSON error object, or {} when the body is not one."""
    if reply.is_html or not reply.body.strip():
        return {}
    try:
        body = reply.json()
    except BadResponse:
        return {}
    return body if isinstance(body, dict) else {}


def service_message(reply: Reply) -> str | None:
    """The service's sentence, verbatim, if the body has one (used for 429/5xx by the HTTP layer too)."""
    message = error_body(reply).get("message")
    return message if isinstance(message, str) and message.strip() else None


def raise_for(reply: Reply, what: str = "") -> None:
    """Raise the typed error for a 4xx answer (2xx/3xx return). ``what`` names the request's object."""
    status = reply.status
    if status < 400:
        return
    body = error_body(reply)
    code = body.get("error") if isinstance(body.get("error"), str) else ""
    said = service_message(reply)
    plain = f"{SERVICE} answered {reply.describe()}" + (f" for {what}" if what else "")
    message = said or plain
    if status == 401:
        raise AuthError(said or f"{SERVICE} did not accept the API key: add a new key in the connection settings",
                        status=status, detail=body or None)
    if status == 403 and code == "https_required":
        raise InsecureURL(message, status=status)
    if status == 403:
        permission = body.get("permission")
        if not isinstance(permission, str):
            found = _PERMISSION_IN_TEXT.search(message)
            permission = found.group(1) if found else None
        raise PermissionDenied(message, permission=permission, status=status, detail=body or None)
    if status == 404:
        raise NotFound(said or f"{what or 'That record'} was not found at {SERVICE}", status=status)
    if status == 405:
        raise Unsupported(message, status=status)
    if status == 409:
        raise Conflict(message, status=status, detail=body or None)
    if status in (400, 422):
        errors = body.get("errors")
        raise ValidationError(message, status=status, detail=errors if isinstance(errors, list) else None)
    raise BadResponse(message, status=status)
