"""The sandbox's table of SOAP operations: what each method answers with, and what a handler gets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from providers.accountsiq.sandbox_data import Entity
from providers.accountsiq.sandbox_envelope import Node


@dataclass
class Call:
    """One request as a handler sees it."""

    body: Node
    entity: Entity | None
    now: Callable[[], dt.datetime]
    settings: dict


@dataclass
class Answer:
    """``result``: the XML inside ``<Result>`` ("" for an empty one, None for none); ``out``: the
    values of the out parameters written after the result element, by name."""

    result: str | None = None
    out: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Method:
    name: str
    handler: Callable[[Call], Answer]
    result: bool = True  # a WSResult2 (with a Result member) rather than a bare WSResultStatus
    out: tuple[tuple[str, str], ...] = ()  # (name, what it holds when the call fails)
    entity: bool = True  # needs the AiqSoapHeader Entity


METHODS: dict[str, Method] = {}


def method(name: str, *, result: bool = True, out: tuple[tuple[str, str], ...] = (), entity: bool = True):
    def register(handler: Callable[[Call], Answer]) -> Callable[[Call], Answer]:
        METHODS[name] = Method(name, handler, result, out, entity)
        return handler
    return register
