"""Skip/Limit paging that neither misses nor stalls, and the change-feed cursor.

``GetInvoicesBy`` (ordered by InvoiceID) and ``GetTransactionsModifiedBy`` (ordered by last change) page
by offset. An offset list goes wrong when the list moves under it: a record that leaves the window (or,
for transactions, is changed and moves to the end) shifts every later record one place left, and the
next page would start one record too far. So each page is asked for with a small overlap: the last few
ids already handed on (the anchors) must reappear in it; what comes after the last anchor is new. When
no anchor reappears the records moved further than the overlap: the page is asked for again from
further back. Records that come twice are harmless (the sync compares payload hashes); a record missed
would not be. The next page is requested while the current one is being converted (one ahead).

The cursor: the Invoice and transaction shapes carry no modification stamp, so the next sync's
``FromLastModifiedDateInUTC``/``FromDate`` is the server's own clock at the first page: its HTTP
``Date`` header (whole seconds, at or before the moment the page was read), less an overlap for
clocks that differ between the service's web and database servers. Without a Date header (an
in-process transport), the local clock less a larger overlap.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from providers.accountsiq.envelope import SERVICE, stamp_text
from providers.base import BadResponse, ValidationError

Item = TypeVar("Item")
OVERLAP = dt.timedelta(seconds=5)
UNDATED_OVERLAP = dt.timedelta(seconds=10)
_MAX_STEP_BACKS = 8
_MAX_IDLE_PAGES = 4  # pages in a row that bring nothing new: the service is not moving through the list


def cursor_from(date_header: str | None, now: Callable[[], dt.datetime] | None = None) -> str:
    moment = None
    if date_header:
        try:
            moment = email.utils.parsedate_to_datetime(date_header)
        except (TypeError, ValueError, IndexError, OverflowError):
            moment = None
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
    if moment is None:
        return stamp_text((now or _utcnow)() - UNDATED_OVERLAP)
    return stamp_text(moment - OVERLAP)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def since_text(since: str) -> str:
    """A cursor handed back by the caller, checked and written as the service reads a UTC instant."""
    try:
        moment = dt.datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise ValidationError(f"“{str(since)[:60]}” is not a change cursor of the AccountsIQ connection; "
                              "list everything again.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return stamp_text(moment)


class Fetched(Generic[Item]):
    """One page as the pager needs it: the items in server order and each one's id."""

    __slots__ = ("ids", "items")

    def __init__(self, items: list[Item], ids: list[Hashable]):
        self.items, self.ids = items, ids


async def offset_pages(fetch: Callable[[int], Awaitable[Fetched[Item]]], *, limit: int | None, overlap: int = 8
                       ) -> AsyncIterator[list[Item]]:
    """Every item once (or, after the list moved, perhaps twice), a page at a time.

    ``fetch(skip)`` reads one page. ``limit``: the page size asked for (a shorter page is the last), or
    None where the service fixes it (then a page shorter than the longest seen is the last). The overlap
    is kept below the page size, so every page brings something new."""
    anchors: list[Hashable] = []  # the ids the next page must repeat (its first ``len(anchors)``)
    longest = 0
    skip = 0
    back = 0
    idle = 0
    ahead: tuple[int, asyncio.Task[Fetched[Item]]] | None = None
    try:
        while True:
            if ahead is not None and ahead[0] == skip:
                page = await ahead[1]
            else:
                _drop(ahead)
                page = await fetch(skip)
            ahead = None
            count = len(page.items)
            longest = max(longest, count)
            fresh = page.items
            if anchors:
                found = _last_anchor(page.ids, set(anchors))
                if found is None and skip > 0 and back < _MAX_STEP_BACKS:
                    # The list moved further than the overlap (even past its own end): look further back
                    # for where we were.
                    back += 1
                    skip = max(0, skip - max(limit or longest, len(anchors)))
                    continue
                if found is not None:
                    fresh = page.items[found + 1:]
            back = 0
            position = skip + count
            last = count == 0 or count < (limit or longest)
            idle = 0 if fresh else idle + 1
            if idle > _MAX_IDLE_PAGES and not last:
                raise BadResponse(f"{SERVICE} answers the same records whatever page is asked for: the list cannot "
                                  "be read to its end.")
            if not last:
                keep = min(overlap, count - 1)
                anchors = page.ids[count - keep:] if keep > 0 else []
                skip = position - len(anchors)
                ahead = (skip, asyncio.ensure_future(fetch(skip)))
            if fresh:
                yield fresh
            if last:
                return
    finally:
        _drop(ahead)


def _last_anchor(ids: list[Hashable], anchors: set[Hashable]) -> int | None:
    for index in range(len(ids) - 1, -1, -1):
        if ids[index] in anchors:
            return index
    return None


def _drop(ahead: tuple[int, asyncio.Task] | None) -> None:
    if ahead is None:
        return
    task = ahead[1]
    if task.done():
        with contextlib.suppress(BaseException):
            task.exception()  # retrieved, so a failed read-ahead nobody needs is not reported
        return
    task.cancel()
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
