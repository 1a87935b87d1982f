"""What every synced record carries, and validation errors that read as sentences."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Record(BaseModel):
    """A record that lives both in a company's store and at a provider.

    ``local_id`` is the store's key (None until stored); ``remote_id`` the provider's (None until
    pushed). ``remote_version`` is whatever the provider lets us compare to spot a change made
    elsewhere: a modification stamp where it has one, else the hash of its payload.
    """

    model_config = ConfigDict(validate_assignment=True, str_strip_whitespace=True, extra="forbid")

    local_id: int | None = Field(default=None, title="Local id")
    remote_id: str | None = Field(default=None, title="Id at the service")
    payload_hash: str | None = Field(default=None, title="Payload hash")
    remote_version: str | None = Field(default=None, title="Version at the service")


def payload_hash(payload: Any) -> str:
    """A stable hash of a provider's raw payload: equal payloads, equal hashes, whatever the key order."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def field_title(model: type[BaseModel], name: str) -> str:
    info = model.model_fields.get(name)
    if info is not None and info.title:
        return info.title
    return name.replace("_", " ").capitalize()


def readable_errors(error: ValidationError, model: type[BaseModel] | None = None) -> list[str]:
    """One sentence per problem, naming the field as the form labels it."""
    sentences = []
    for problem in error.errors():
        where = [str(part) for part in problem["loc"]]
        label = ""
        if where and model is not None and where[0] in model.model_fields:
            label = field_title(model, where[0])
            if len(where) > 2 and where[1].isdigit():
                label = f"Line {int(where[1]) + 1}, {where[2].replace('_', ' ')}"
        elif where:
            label = " ".join(where).replace("_", " ").capitalize()
        message = problem["msg"].removeprefix("Value error, ")
        message = _PLAIN.get(problem["type"], message)
        sentence = f"{label}: {message}" if label else message
        sentences.append(sentence if sentence.endswith(".") else sentence + ".")
    return sentences


_PLAIN = {
    "missing": "this is required",
    "string_too_short": "this cannot be empty",
    "date_from_datetime_parsing": "this is not a date (use a date such as 2026-03-31)",
    "date_parsing": "this is not a date (use a date such as 2026-03-31)",
    "date_type": "this is not a date (use a date such as 2026-03-31)",
    "extra_forbidden": "this field is not known here",
    "bool_parsing": "this must be yes or no",
}
