"""The AccountsIQ client's offset paging under a list that moves while it is read, and its change-feed
cursor. ``fetch`` here is a list in memory that changes between pages the way the service's does: a
record leaves (deleted, or moved out of the window) or, for transactions, moves to the end when it changes."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest

from providers.accountsiq.paging import Fetched, cursor_from, offset_pages, since_text
from providers.base import ValidationError


class MovingList:
    def __init__(self, size: int, limit: int | None, page: int):
        self.rows = list(range(1, size + 1))
        self.limit, self.page = limit, page
        self.calls: list[int] = []
        self.removed: set[int] = set()
        self.moved: set[int] = set()
        self.change = lambda rows, call: None

    async def fetch(self, skip: int) -> Fetched[int]:
        self.calls.append(skip)
        self.change(self.rows, len(self.calls))
        await asyncio.sleep(0)
        items = self.rows[skip:skip + (self.limit or self.page)]
        return Fetched(list(items), list(items))


def read(moving: MovingList, overlap: int) -> list[int]:
    async def go():
        out = []
        async for page in offset_pages(moving.fetch, limit=moving.limit, overlap=overlap):
            out.extend(page)
        return out

    return asyncio.run(go())


@pytest.mark.parametrize("limit", [None, 1, 2, 5, 10, 99, 100, 101, 1000])
def test_a_still_list_is_read_whole_once(limit):
    moving = MovingList(100, limit, page=7)
    assert read(moving, overlap=4) == list(range(1, 101))


def test_an_empty_list_is_one_request():
    moving = MovingList(0, 10, page=10)
    assert read(moving, overlap=4) == [] and moving.calls == [0]


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("limit", [None, 10])
def test_records_leaving_while_the_list_is_read_never_make_another_one_missed(seed, limit):
    rng = random.Random(seed)
    moving = MovingList(300, limit, page=10)

    def change(rows, call):
        if call > 1 and rng.random() < 0.7:
            for _ in range(rng.choice((1, 1, 2, 6, 15))):  # sometimes more than the overlap
                if rows:
                    moving.removed.add(rows.pop(rng.randrange(len(rows))))

    moving.change = change
    got = read(moving, overlap=4)
    assert set(range(1, 301)) - moving.removed <= set(got)  # every record still there was read


@pytest.mark.parametrize("seed", range(25))
def test_records_moving_to_the_end_are_read_again_and_none_is_missed(seed):
    rng = random.Random(seed)
    moving = MovingList(300, None, page=10)

    def change(rows, call):
        if 1 < call < 40:  # (changing more records than a page brings, for ever, no list would end)
            for _ in range(rng.choice((0, 0, 1, 3, 12))):
                row = rows.pop(rng.randrange(len(rows)))
                rows.append(row)
                moving.moved.add(row)

    moving.change = change
    got = read(moving, overlap=16)
    assert set(got) == set(range(1, 301))
    assert len(got) - 300 <= 2 * len(moving.moved) + 16  # twice at most for what moved


def test_a_list_that_empties_under_it_ends():
    moving = MovingList(50, 10, page=10)
    moving.change = lambda rows, call: rows.clear() if call == 3 else None
    got = read(moving, overlap=4)
    # Pages 1 and 2 (read ahead) came before it emptied; then a few steps back find nothing.
    assert got == list(range(1, 17)) and len(moving.calls) < 15


def test_the_cursor_is_the_server_date_less_an_overlap():
    assert cursor_from("Sun, 22 Nov 2026 10:00:07 GMT") == "2026-11-22T10:00:02Z"
    now = dt.datetime(2026, 11, 22, 10, 0, 30, tzinfo=dt.UTC)
    assert cursor_from(None, lambda: now) == "2026-11-22T10:00:20Z"
    assert cursor_from("not a date", lambda: now) == "2026-11-22T10:00:20Z"


def test_a_cursor_handed_back_is_checked():
    assert since_text("2026-11-22T10:00:02Z") == "2026-11-22T10:00:02Z"
    assert since_text("2026-11-22T11:00:02+01:00") == "2026-11-22T10:00:02Z"
    for bad in ("yesterday", "", "2026-13-01T00:00:00Z"):
        with pytest.raises(ValidationError, match="is not a change cursor"):
            since_text(bad)
