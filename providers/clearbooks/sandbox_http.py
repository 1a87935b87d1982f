"""The Clear Books sandbox's HTTP vocabulary: error arrays, JSON answers, paging parameters and headers,
and the field checks every request body goes through.

Every error is the documented array of ``{"errorCode", "errorMessage"}``; the codes are the sandbox's
own (the reference shows only the shape) and are listed in ``providers/clearbooks/sandbox.py``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from starlette.responses import Response

from providers.decimal_json import JSONDecodeError, dumps, loads

JSON = "application/json"
MAX_LIMIT = 200
DEFAULT_LIMIT = 25


class ApiError(Exception):
    """An answer in the documented error shape; raised anywhere below an endpoint."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 more: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.errors = [(code, message), *(more or [])]
        self.headers = headers or {}

    def response(self) -> Response:
        return error_response(self.status, self.errors, self.headers)


def error_response(status: int, errors: list[tuple[str, str]], headers: dict[str, str] | None = None) -> Response:
    body = dumps([{"errorCode": code, "errorMessage": message} for code, message in errors])
    return Response(body, status, headers=headers, media_type=JSON)


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(value), status, headers=headers, media_type=JSON)


def text_response(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An answer whose JSON text is already made (stored documents are served as they are kept)."""
    return Response(text, status, headers=headers, media_type=JSON)


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, "notFound", f"{what} {ident} was not found")


def invalid(message: str, code: str = "validationError") -> ApiError:
    return ApiError(400, code, message)


# --- paging -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PageRequest:
    page: int
    limit: int
    sort_by: str
    descending: bool

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def headers(self, total: int) -> dict[str, str]:
        return {"X-Pagination-Limit": str(self.limit), "X-Pagination-Current-Page": str(self.page),
                "X-Pagination-Total-Pages": str(math.ceil(total / self.limit)),
                "X-Pagination-Total-Count": str(total)}

    def window(self, items: list) -> list:
        """This page of ``items`` (already in ascending order), honouring the direction."""
        if not self.descending:
            return items[self.offset:self.offset + self.limit]
        end = len(items) - self.offset
        return [] if end <= 0 else items[max(0, end - self.limit):end][::-1]


def page_request(params, sortable: tuple[str, ...], default_sort: str = "id") -> PageRequest:
    page = _int_param(params, "page", 1, minimum=1)
    limit = _int_param(params, "limit", DEFAULT_LIMIT, minimum=1)
    if limit > MAX_LIMIT:
        raise invalid(f"limit must be between 1 and {MAX_LIMIT}", "invalidParameter")
    sort_by = params.get("sortBy") or default_sort
    if sort_by not in sortable:
        raise invalid(f"sortBy must be one of: {', '.join(sortable)}", "invalidParameter")
    direction = params.get("sortDirection") or "ascending"
    if direction not in ("ascending", "descending"):
        raise invalid("sortDirection must be ascending or descending", "invalidParameter")
    return PageRequest(page, limit, sort_by, direction == "descending")


def paged_texts(texts: list[str], total: int, request: PageRequest) -> Response:
    return text_response("[" + ",".join(texts) + "]", headers=request.headers(total))


def _int_param(params, name: str, default: int, minimum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) < minimum:
        raise invalid(f"{name} must be a whole number of at least {minimum}", "invalidParameter")
    return int(raw)


def int_query(params, name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not re.fullmatch(r"-?[0-9]{1,10}", raw):
        raise invalid(f"{name} must be a whole number", "invalidParameter")
    return int(raw)


def date_query(params, name: str, required: bool = False) -> str | None:
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise invalid(f"{name} is required (a date in the format YYYY-MM-DD)", "invalidParameter")
        return None
    if not is_date(raw):
        raise invalid(f"{name} must be a date in the format YYYY-MM-DD", "invalidParameter")
    return raw


def is_date(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


# --- bodies -------------------------------------------------------------------------------------------

def json_object(body: bytes) -> dict:
    if not body.strip():
        raise invalid("The request body must be a JSON object", "invalidBody")
    try:
        value = loads(body)
    except JSONDecodeError:
        raise invalid("The request body is not valid JSON", "invalidBody") from None
    if not isinstance(value, dict):
        raise invalid("The request body must be a JSON object", "invalidBody")
    return value


class Fields:
    """Reads one JSON object field by field, collecting every problem, so one answer lists them all."""

    def __init__(self, data: dict, prefix: str = ""):
        self.data = data
        self.prefix = prefix
        self.problems: list[str] = []

    def _name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def fail(self, key: str, message: str) -> None:
        self.problems.append(f"{self._name(key)}: {message}")

    def present(self, key: str) -> bool:
        return key in self.data and self.data[key] is not None

    def _missing(self, key: str, required: bool) -> bool:
        if self.present(key):
            return False
        if required:
            self.fail(key, "this field is required")
        return True

    def string(self, key: str, required: bool = False, default: str | None = "", max_length: int = 255,
               choices: tuple[str, ...] | None = None, blank: bool = True) -> str | None:
        if self._missing(key, required):
            return default
        value = self.data[key]
        if not isinstance(value, str):
            self.fail(key, "must be a string")
            return default
        if (required or not blank) and not value.strip():
            self.fail(key, "must not be blank")
        if len(value) > max_length:
            self.fail(key, f"must be at most {max_length} characters")
        if choices is not None and value not in choices:
            self.fail(key, f"must be one of: {', '.join(choices)}")
        return value

    def integer(self, key: str, required: bool = False, default: int | None = None) -> int | None:
        if self._missing(key, required):
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int) or not -2**31 <= value < 2**31:
            self.fail(key, "must be a whole number")
            return default
        return value

    def number(self, key: str, required: bool = False, default: Decimal | None = None,
               places: int | None = None) -> Decimal | None:
        if self._missing(key, required):
            return default
        value = self.data[key]
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.fail(key, "must be a number")
            return default
        value = Decimal(value)
        if not value.is_finite() or abs(value) >= 10**12:
            self.fail(key, "is out of range")
            return default
        if places is not None:
            quantum = Decimal(1).scaleb(-places)
            if value != value.quantize(quantum):
                self.fail(key, f"must have at most {places} decimal places")
            value = value.quantize(quantum)  # money reads back as it is shown: 100 becomes 100.00
        return value

    def boolean(self, key: str, default: bool | None = None) -> bool | None:
        if self._missing(key, False):
            return default
        value = self.data[key]
        if not isinstance(value, bool):
            self.fail(key, "must be true or false")
            return default
        return value

    def date(self, key: str, required: bool = False, default: str | None = None) -> str | None:
        if self._missing(key, required):
            return default
        value = self.data[key]
        if not is_date(value):
            self.fail(key, "must be a date in the format YYYY-MM-DD")
            return default
        return value

    def object(self, key: str) -> Fields | None:
        if self._missing(key, False):
            return None
        value = self.data[key]
        if not isinstance(value, dict):
            self.fail(key, "must be an object")
            return None
        return self._child(value, f"{self._name(key)}.")

    def objects(self, key: str, required: bool = False) -> list[Fields] | None:
        if self._missing(key, required):
            return None
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.fail(key, "must be an array of objects")
            return None
        return [self._child(item, f"{self._name(key)}[{index}].") for index, item in enumerate(value)]

    def integers(self, key: str) -> list[int] | None:
        if self._missing(key, False):
            return None
        value = self.data[key]
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
            self.fail(key, "must be an array of whole numbers")
            return None
        return list(value)

    def _child(self, data: dict, prefix: str) -> Fields:
        child = Fields(data, prefix)
        child.problems = self.problems  # one list: the answer reports nested problems too
        return child

    def check(self) -> None:
        if self.problems:
            first, *rest = self.problems
            raise ApiError(400, "validationError", first, more=[("validationError", p) for p in rest])
