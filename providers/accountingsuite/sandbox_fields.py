"""Reading a request body the way the AccountingSuite service reads it.

The service takes whatever JSON it is sent (curl's ``-d`` labels it form data; it does not care), treats
``null`` like a missing key, ignores keys it does not know, and cuts strings at their documented length.
Booleans must be JSON booleans: the platform ignores a string "true" where it wants a boolean.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from providers.accountingsuite import sandbox_messages as msg
from providers.accountingsuite.sandbox_messages import refuse
from providers.accountingsuite.sandbox_shapes import ADDRESS_FIELDS

# Two-letter codes the service accepts in "state" (US states, DC and the inhabited territories).
US_STATES = frozenset(
    (
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "DC",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "AS",
        "GU",
        "MP",
        "PR",
        "VI",
    )
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Documented maximum lengths; longer text is cut, as the service's storage does.
LIMITS = {
    "company_name": 150,
    "website": 200,
    "price_level": 25,
    "address_id": 25,
    "item_code": 50,
    "item_description": 150,
    "item_category": 25,
    "unit_of_measure": 25,
    "sales_tax_code": 25,
    **{f"cf{n}_string": 100 for n in range(1, 6)},
}


class Body:
    def __init__(self, data: dict[str, Any]):
        self.data = data

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str, default: str = "") -> str:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            value = "true" if value else "false"
        return str(value)[: LIMITS.get(key, 10_000)]

    def flag(self, key: str) -> bool | None:
        value = self.data.get(key)
        return value if isinstance(value, bool) else None

    def number(self, key: str, field: str | None = None) -> Any:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise refuse(msg.not_a_number(field or key))
        return value

    def optional_number(self, key: str, default: Any = 0) -> Any:
        return self.number(key) if self.has(key) else default

    def required_number(self, key: str, missing: str) -> Any:
        if not self.has(key):
            raise refuse(missing)
        return self.number(key)

    def date(self, key: str, missing: str | None) -> str:
        """A "yyyy-mm-dd" date; ``missing`` is the message when absent (None: optional, "" if absent)."""
        if not self.has(key):
            if missing is None:
                return ""
            raise refuse(missing)
        value = self.data[key]
        if not isinstance(value, str) or not _DATE.match(value):
            raise refuse(msg.bad_date(key))
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise refuse(msg.bad_date(key)) from None
        return value

    def list_at(self, *path: str) -> list | None:
        node: Any = self.data
        for key in path:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        return node if isinstance(node, list) else None


def address_fields(body: Body, prefix: str = "") -> dict[str, str]:
    """The address fields present in ``body`` (named ``prefix + field``), normalised as stored."""
    fields = {}
    for name in ADDRESS_FIELDS:
        key = prefix + name
        if body.has(key):
            value = Body({name: body.data[key]}).text(name)
            if name == "state":  # an unknown state is dropped, as the service's look-up finds nothing
                value = value.upper() if value.upper() in US_STATES else ""
            elif name == "country":
                value = value.upper() if len(value) == 2 and value.isalpha() else ""
            fields[name] = value
    return fields
