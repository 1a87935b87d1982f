"""Every AccBooks error body has one shape: ``{"error": <code>, "message": <sentence>, ...}``.

Codes and their statuses: ``https_required`` 403, ``unauthorized`` 401, ``forbidden`` 403 (adds
``"permission"``), ``rate_limit_exceeded`` 429, ``not_found`` 404, ``method_not_allowed`` 405,
``invalid_json`` 400, ``validation_failed`` 422 (adds ``"errors": [{"field", "message"}]``),
``conflict`` 409.
"""

from __future__ import annotations

from starlette.responses import Response

from providers.decimal_json import dumps

JSON = "application/json"


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, media_type=JSON, headers=headers)


def text_response(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A body that is already JSON text (stored documents joined into a page)."""
    return Response(text, status_code=status, media_type=JSON, headers=headers)


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: object) -> Response:
    return json_response({"error": code, "message": message, **extra}, status, headers)


def not_found(what: str) -> Response:
    return error(404, "not_found", f"{what} was not found")


def conflict(message: str) -> Response:
    return error(409, "conflict", message)


def forbidden(permission: str) -> Response:
    return error(403, "forbidden", f"This API key does not have the {permission} permission", permission=permission)


class Invalid(Exception):
    """Raised by validation with every problem found, so a client can fix them all at once."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{field} {message}" for field, message in problems))
        self.problems = problems


def invalid(problems: list[tuple[str, str]]) -> Response:
    return error(422, "validation_failed", "Validation failed: " + "; ".join(f"{f} {m}" for f, m in problems),
                 errors=[{"field": field, "message": message} for field, message in problems])
