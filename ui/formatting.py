"""Money, dates and amounts typed by the user, in the user's locale.

Money is formatted from the exact Decimal (digits and grouping done here), never through a float; only the
*shape* (where the symbol goes, the separators) comes from QLocale, probed once per locale.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import QDate, QLocale

from app.domain.money import minor_units, quantize

# Symbols a bookkeeper here reads at a glance; any other currency shows its ISO code.
_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$", "JPY": "¥"}
_PROBE_SYMBOL = "¤"


def user_locale() -> QLocale:
    """The locale to format with: the system's, unless it is the bare "C" locale (no LANG set, as on a
    server or in CI), which has no grouping and ISO dates; then British English, our users' default."""
    locale = QLocale()
    if locale.language() == QLocale.Language.C:
        return QLocale("en_GB")
    return locale


class Formats:
    def __init__(self, locale: QLocale | None = None):
        self.locale = locale or user_locale()
        self.decimal_point = self.locale.decimalPoint()
        self.group = self.locale.groupSeparator()
        probe_number = self.locale.toString(1.5, "f", 2)
        self._positive = self.locale.toCurrencyString(1.5, _PROBE_SYMBOL, 2).replace(probe_number, "{n}")
        self._negative = self.locale.toCurrencyString(-1.5, _PROBE_SYMBOL, 2).replace(probe_number, "{n}")
        if "{n}" not in self._negative:  # a locale that spells negatives some other way: keep it plain
            self._negative = "-" + self._positive
        self._date_format = self.locale.dateFormat(QLocale.FormatType.ShortFormat)
        # Two-digit years read badly in books that span decades.
        if "yyyy" not in self._date_format and "yy" in self._date_format:
            self._date_format = self._date_format.replace("yy", "yyyy")

    # --- money ---------------------------------------------------------------------------------

    def number(self, amount: Decimal, places: int) -> str:
        """``amount`` with ``places`` decimals, grouped the locale's way, from its exact digits."""
        text = f"{abs(amount):.{places}f}"
        whole, _, fraction = text.partition(".")
        groups = []
        while len(whole) > 3:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        groups.insert(0, whole)
        result = self.group.join(groups)
        if fraction:
            result += self.decimal_point + fraction
        return result

    def money(self, amount: Decimal, currency: str) -> str:
        symbol = _SYMBOLS.get(currency.upper())
        if symbol is None:
            symbol = currency.upper()
        places = minor_units(currency)
        value = quantize(amount, currency)
        pattern = self._negative if value < 0 else self._positive
        if symbol.isalpha():
            # A code needs a space beside the digits where a symbol would sit tight against them.
            pattern = pattern.replace(_PROBE_SYMBOL + "{n}", _PROBE_SYMBOL + "\u00a0{n}")
            pattern = pattern.replace("{n}" + _PROBE_SYMBOL, "{n}\u00a0" + _PROBE_SYMBOL)
        return pattern.replace(_PROBE_SYMBOL, symbol).replace("{n}", self.number(value, places))

    def plain_amount(self, amount: Decimal) -> str:
        """A quantity or a price as the user would type it back: no symbol, no grouping, no trailing zeros
        beyond two decimals."""
        text = format(amount.normalize(), "f") if amount == amount.to_integral_value() else format(amount, "f")
        if "." in text:
            whole, fraction = text.split(".")
            fraction = fraction.rstrip("0")
            if len(fraction) < 2 and fraction:
                fraction = fraction.ljust(2, "0")
            text = whole + (self.decimal_point + fraction if fraction else "")
        return text

    def parse_amount(self, text: str) -> Decimal:
        """What the user typed, read as an exact amount: the locale's decimal point and grouping, or the
        plain ``1234.50`` anyone types. Raises ValueError with a sentence saying what to type instead."""
        original = text.strip()
        cleaned = re.sub(r"[\s\u00a0\u202f']", "", original)
        for symbol in _SYMBOLS.values():
            cleaned = cleaned.replace(symbol, "")
        if not cleaned:
            raise ValueError("Type an amount, such as 12.50.")
        negative = cleaned.startswith("(") and cleaned.endswith(")")
        cleaned = cleaned.strip("()")
        marks = [c for c in cleaned if c in ".,"]
        if marks:
            last = cleaned.rfind(marks[-1])
            if len(set(marks)) == 2:
                decimal = marks[-1]  # "1.234,50" or "1,234.50": the last mark is the decimal point
            elif len(marks) > 1:
                decimal = ""  # "1,234,567": repeated, so grouping
            elif len(cleaned) - last - 1 == 3 and marks[0] == self.group:
                decimal = ""  # "1,234" in a locale that groups with commas
            else:
                decimal = marks[0]
            group = {".", ","} - {decimal}
            for mark in group:
                cleaned = cleaned.replace(mark, "")
            if decimal:
                cleaned = cleaned.replace(decimal, ".")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            raise ValueError(f"“{original}” is not an amount: type a number such as 12.50.") from None
        if not value.is_finite():
            raise ValueError(f"“{original}” is not an amount: type a number such as 12.50.")
        return -value if negative else value

    # --- dates ---------------------------------------------------------------------------------

    def date(self, value: str | dt.date | None) -> str:
        if not value:
            return ""
        if isinstance(value, dt.date):
            value = value.isoformat()
        return self._date_text(value)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 (one Formats per locale lives as long as the app)
    def _date_text(self, iso: str) -> str:
        day = QDate.fromString(iso, "yyyy-MM-dd")
        return self.locale.toString(day, self._date_format) if day.isValid() else iso

    @property
    def date_format(self) -> str:
        return self._date_format


@functools.lru_cache(maxsize=8)
def _formats_for(name: str) -> Formats:
    return Formats(QLocale(name))


def formats() -> Formats:
    """The Formats of the current default locale (tests set one with QLocale.setDefault)."""
    return _formats_for(user_locale().name())


def qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def pydate(day: QDate) -> dt.date:
    return dt.date(day.year(), day.month(), day.day())
