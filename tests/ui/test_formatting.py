"""Money, dates and typed amounts in the user's locale: exact digits, the locale's shape."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import QLocale

from ui.formatting import Formats


@pytest.mark.parametrize(("locale", "amount", "currency", "shown"), [
    ("en_GB", "1234567.5", "GBP", "£1,234,567.50"),
    ("en_GB", "-12.345", "EUR", "(€12.35)"),  # the locale's accounting negative; half up, like the services
    ("en_GB", "100", "CHF", "CHF\u00a0100.00"),
    ("en_GB", "5", "JPY", "¥5"),  # no minor unit
    ("de_DE", "1234.5", "EUR", "1.234,50\u00a0€"),
    ("fr_FR", "1234.5", "EUR", "1\u202f234,50\u00a0€"),
    ("en_GB", "0.1", "BHD", "BHD\u00a00.100"),  # three decimals
    ("en_GB", "12345678901234567.89", "GBP", "£12,345,678,901,234,567.89"),  # beyond a float's digits
])
def test_money_is_formatted_from_exact_digits(locale, amount, currency, shown):
    assert Formats(QLocale(locale)).money(Decimal(amount), currency) == shown


@pytest.mark.parametrize(("locale", "typed", "value"), [
    ("en_GB", "1,234.50", "1234.50"), ("en_GB", "12,5", "12.5"), ("en_GB", "£ 1 234.5", "1234.5"),
    ("en_GB", "(5.00)", "-5.00"), ("de_DE", "1.234,50", "1234.50"), ("de_DE", "1,234", "1.234"),
    ("de_DE", "12.50", "12.50"), ("fr_FR", "1\u202f234,5", "1234.5"),
])
def test_amounts_are_read_as_typed(locale, typed, value):
    assert Formats(QLocale(locale)).parse_amount(typed) == Decimal(value)


def test_a_non_amount_says_what_to_type():
    with pytest.raises(ValueError, match=r"is not an amount: type a number such as 12\.50"):
        Formats(QLocale("en_GB")).parse_amount("twelve")


def test_dates_use_the_locale_with_four_digit_years():
    assert Formats(QLocale("en_GB")).date("2026-03-31") == "31/03/2026"
    assert Formats(QLocale("de_DE")).date("2026-03-31") == "31.03.2026"
    assert Formats(QLocale("en_US")).date("2026-03-31") == "3/31/2026"
