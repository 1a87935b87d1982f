"""From an AccountsIQ answer to records ready to convert, off the event loop and never with an untyped error.

- ``read(reply, method, extract)``: the envelope read (``envelope``), then ``extract`` takes the records
  out as plain dicts of text, in the same worker-thread call; the parsed tree is dropped at once, so the
  some 200,000 Elements of a 1,000-invoice page live only as long as that call.
- ``collector_paused``: those Elements are in no reference cycle (refcounting frees them), yet left on,
  the cyclic collector walks the heap over and over while they are made: a third of a full list's time.
  It is paused while any page is read and put back as it was when the last one is done.
- ``guarded``: the public methods' last resort. An exception that is not a ``ProviderError`` while an
  answer is read (a gap in the reading code) becomes a ``BadResponse`` flagged ``internal``, logged with
  its traceback; the robustness tests fail if any malformed answer reaches it.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from xml.etree.ElementTree import Element

from providers.accountsiq import envelope, mapping
from providers.accountsiq.envelope import Answer, Fault, Unreadable, members
from providers.base import BadResponse, Entity, ProviderError
from providers.http import Reply, get_logger

log = get_logger(__name__)

T = TypeVar("T")
Record = dict[str, str | None]
# What reading an answer can raise besides our own typed errors.
READING_ERRORS = (Unreadable, ValueError, TypeError, LookupError, AttributeError, ArithmeticError, RecursionError,
                  UnicodeError)


def unexpected(error: BaseException, where: str) -> BadResponse:
    log.error("AccountsIQ %s: unexpected %s while reading an answer", where, type(error).__name__, exc_info=error)
    return BadResponse(f"AccountsIQ's answer could not be read ({type(error).__name__}: {error})",
                       detail={"internal": True})


def guarded(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    @functools.wraps(method)
    async def run(*args: Any, **kwargs: Any) -> T:
        try:
            return await method(*args, **kwargs)
        except ProviderError:
            raise
        except READING_ERRORS as error:
            raise unexpected(error, method.__name__) from error
    return run


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = True


@contextlib.contextmanager
def collector_paused():
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def paused(function: Callable[..., T], *args: Any) -> T:
    with collector_paused():
        return function(*args)


class ExtractionFailed(Exception):
    """The answer was read but its records were not: not worth asking for again."""

    def __init__(self, error: BadResponse):
        super().__init__(error.message)
        self.error = error


def read(reply: Reply, method: str, extract: Callable[[Answer], Any] | None) -> Answer | Fault:
    answer = envelope.read_answer(reply, method)
    if extract is None or isinstance(answer, Fault) or not answer.ok:
        return answer
    try:
        answer.extracted = extract(answer)
    except mapping.MappingProblem as problem:
        raise ExtractionFailed(BadResponse(str(problem), detail={"remote_id": problem.remote_id})) from None
    except READING_ERRORS as error:
        raise ExtractionFailed(BadResponse(f"AccountsIQ's answer to {method} cannot be read ({error})")) from None
    answer.result = answer.holder = None
    answer.body = b""
    return answer


@dataclass(slots=True)
class Head:
    """A record ready to convert: its members, its lines' members and its payload hash."""

    record: Record
    lines: list[Record]
    hashed: str


def records(answer: Answer, tag: str) -> list[tuple[Record, str]]:
    """Each ``<tag>`` of the Result: its members and the hash of its raw bytes."""
    items = answer.items(tag)
    slices = envelope.record_slices(answer.body, tag, len(items))
    return [(members(item), mapping.raw_hash(slices[n]) if slices is not None else mapping.element_hash(item))
            for n, item in enumerate(items)]


def records_of(tag: str) -> Callable[[Answer], list[tuple[Record, str]]]:
    return lambda answer: records(answer, tag)


def heads_of(tag: str, lines_of: Callable[[Element], list[Record]]) -> Callable[[Answer], list[Head]]:
    def extract(answer: Answer) -> list[Head]:
        items = answer.items(tag)
        slices = envelope.record_slices(answer.body, tag, len(items))
        return [Head(members(item), lines_of(item), mapping.raw_hash(slices[n]) if slices is not None
                     else mapping.element_hash(item)) for n, item in enumerate(items)]
    return extract


def result_record(answer: Answer) -> tuple[Record, str]:
    """The one record an answer's Result is (GetCustomer, GetInvoice...)."""
    if answer.result is None:
        raise Unreadable(f"the answer to {answer.method} has no Result")
    slices = envelope.record_slices(answer.body, "Result", 1)
    return members(answer.result), mapping.raw_hash(slices[0]) if slices else mapping.element_hash(answer.result)


DOCUMENT_HEADS = heads_of("Invoice", mapping.line_records)
TRANSACTION_HEADS = heads_of("WSChangedTransactionSummary", mapping.transaction_lines)


def _ledger(heads: list[Head], currency: str) -> list[Any]:
    out = []
    for head in heads:
        out.extend(mapping.ledger_lines(head.record, head.lines, head.hashed, currency))
    return out


def _bank(heads: list[Head], currency: str) -> list[Any]:
    found = (mapping.bank_transaction(head.record, head.lines, head.hashed, currency) for head in heads)
    return [item for item in found if item is not None]


def _payments(heads: list[Head], currency: str) -> list[Any]:
    found = (mapping.payment(head.record, head.hashed, currency) for head in heads)
    return [item for item in found if item is not None]


# What each transaction-based entity is made of: the same wire records, seen three ways.
TRANSACTION_CONVERTERS: dict[Entity, Callable[[list[Head], str], list[Any]]] = {
    Entity.LEDGER_LINES: _ledger, Entity.BANK_TRANSACTIONS: _bank, Entity.PAYMENTS: _payments,
}
