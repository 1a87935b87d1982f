"""Money as exact decimals, quantised to each currency's minor unit.

Amounts never pass through ``float``: the pydantic type ``Amount`` refuses a float outright, so a
JSON parser that forgot ``parse_float=Decimal`` fails loudly instead of drifting by a penny.
"""

from __future__ import annotations

import enum
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

# ISO 4217 currencies whose minor unit is not the usual hundredth.
_MINOR_UNIT_EXCEPTIONS = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"], 0
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}


class Rounding(enum.StrEnum):
    """How a provider rounds a half minor unit: each service documents (or shows) its own."""

    HALF_UP = ROUND_HALF_UP
    HALF_EVEN = ROUND_HALF_EVEN  # banker's rounding


def minor_units(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (ISO 4217), 2 unless the standard says otherwise."""
    return _MINOR_UNIT_EXCEPTIONS.get(currency.upper(), 2)


_QUANTA = {digits: Decimal(1).scaleb(-digits) for digits in range(5)}


def quantize(amount: Decimal, currency: str, rounding: Rounding = Rounding.HALF_UP) -> Decimal:
    """``amount`` rounded to the currency's minor unit."""
    return amount.quantize(_QUANTA[minor_units(currency)], rounding=str(rounding))


def to_minor(amount: Decimal, currency: str) -> int:
    """The amount in minor units (pence, cents, yen) as an int: how the store keeps money sortable."""
    return int(amount.scaleb(minor_units(currency)).to_integral_value(rounding=ROUND_HALF_UP))


def from_minor(value: int, currency: str) -> Decimal:
    return Decimal(value).scaleb(-minor_units(currency))


class NotAnAmount(ValueError):
    pass


def parse_amount(value: Any) -> Decimal:
    """An exact Decimal from text, an int or a Decimal; anything else is refused with a sentence."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise NotAnAmount("A yes/no value is not an amount.")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        raise NotAnAmount(
            "An amount arrived as a binary floating-point number and could have lost pennies; "
            "it must be read as exact text."
        )
    elif isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise NotAnAmount(f"“{value}” is not an amount.") from None
    else:
        raise NotAnAmount(f"{value!r} is not an amount.")
    if not result.is_finite():
        raise NotAnAmount(f"“{value}” is not an amount.")
    return result


# A Decimal field that accepts exact input only and serialises to JSON as a string, never a number.
Amount = Annotated[
    Decimal,
    BeforeValidator(parse_amount),
    PlainSerializer(lambda d: str(d), return_type=str, when_used="json"),
]


def format_money(amount: Decimal, currency: str) -> str:
    """Plain ``1,234.50 GBP`` for logs and messages; the UI formats with the user's locale."""
    return f"{quantize(amount, currency):,} {currency}"
