"""Customers and the addresses they are billed at."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.domain.record import Record

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Address(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid", frozen=True)

    line1: str = Field(default="", title="Address line 1")
    line2: str = Field(default="", title="Address line 2")
    town: str = Field(default="", title="Town or city")
    region: str = Field(default="", title="County or region")
    postcode: str = Field(default="", title="Postcode")
    country: str = Field(default="", title="Country code", max_length=2)

    def one_line(self) -> str:
        parts = (self.line1, self.line2, self.town, self.region, self.postcode, self.country)
        return ", ".join(part for part in parts if part)


class Customer(Record):
    name: str = Field(title="Name", min_length=1, max_length=255)
    contact_name: str = Field(default="", title="Contact person")
    email: str = Field(default="", title="Email")
    phone: str = Field(default="", title="Phone")
    address: Address = Field(default_factory=Address, title="Postal address")
    vat_number: str = Field(default="", title="VAT number")
    company_number: str = Field(default="", title="Company number")
    currency: str = Field(default="GBP", title="Currency", min_length=3, max_length=3)
    archived: bool = Field(default=False, title="Archived")

    @field_validator("email")
    @classmethod
    def _email_looks_like_one(cls, value: str) -> str:
        if value and not _EMAIL.match(value):
            raise ValueError(f"“{value}” is not an email address (it should look like name@example.com)")
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if not (value.isalpha() and len(value) == 3):
            raise ValueError(f"“{value}” is not a currency code (use three letters such as GBP or EUR)")
        return value.upper()
