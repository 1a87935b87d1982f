"""Pull: the service's records into the company's store, page by page, writing only what changed.

- A first pull into an empty company drops the sort indexes and builds them once at the end
  (``begin_bulk_load``): a hundred thousand invoices stream in without updating eleven B-trees per row.
- Where the provider has a change feed (``Operation.CHANGES``), later pulls ask only for what changed
  since the cursor the last complete pull of that list ended with; a whole re-list still runs every
  ``full_every`` seconds, since a feed does not tell deletions.
- Otherwise every pull re-lists the whole list; the store writes only rows whose payload hash changed,
  and the remote ids seen are recorded so that, once the list is complete, rows the service no longer
  has are removed (deletion detection). A list cut short removes nothing and keeps the old cursor.
- A record with an open local edit is never overwritten: the service's copy is kept beside it
  (``sync_theirs``) when its version differs from the one the edit was made against, so the push can
  show both sides of the conflict.
- Storing page N overlaps fetching page N+1; only one page is held at a time besides the one in flight.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Iterable

from app.domain import Record, SalesDocument
from app.store import tables
from app.store.sync_support import Held, SyncSupport
from app.sync.entities import TARGETS, Target
from app.sync.events import Hub, Progress, SyncResult
from app.sync.outcomes import stop_for
from providers.base import Entity, Operation, Provider, ProviderError

FULL_EVERY = 24 * 3600.0


def _customer_names(store, wanted: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    wanted_list = sorted(wanted)
    for start in range(0, len(wanted_list), 500):
        chunk = wanted_list[start:start + 500]
        names.update(store.reader().execute(
            f"SELECT remote_id, name FROM customers WHERE remote_id IN ({','.join('?' * len(chunk))})", chunk).fetchall())
    return names


class Puller:
    def __init__(self, provider: Provider, support: SyncSupport, hub: Hub, result: SyncResult, *,
                 entities: Iterable[Entity] | None = None, full_every: float = FULL_EVERY,
                 force_full: bool = False, page_size: int | None = None):
        self.provider = provider
        self.support = support
        self.store = support.store
        self.hub = hub
        self.result = result
        wanted = None if entities is None else set(entities)
        self.targets = [t for t in TARGETS if (wanted is None or t.entity in wanted)
                        and provider.capabilities.supports(t.entity, Operation.LIST)]
        self.full_every = full_every
        self.force_full = force_full
        self.page_size = page_size

    async def run(self) -> None:
        first = not self.support.has_pulled()
        bulk = first and await asyncio.to_thread(self.store.begin_bulk_load)
        documents_changed = False
        try:
            for target in self.targets:
                try:
                    changed = await self._pull(target)
                except ProviderError as error:
                    stop = stop_for(error)
                    if stop is not None:
                        raise stop from error
                    # One list the service cannot give (or we cannot read) does not stop the others.
                    self.result.problems.append(f"{target.entity.value}: {error.message}")
                    continue
                documents_changed |= bool(changed) and target.spec.table == "invoices"
        finally:
            if bulk:
                # Also after a failure or a cancellation: the views need their indexes back.
                await asyncio.shield(asyncio.to_thread(self.store.end_bulk_load))
        if documents_changed and not bulk:
            await asyncio.to_thread(self.store.refresh_balances)

    async def _with_customer_names(self, documents: list[Record]) -> list[Record]:
        """Documents as some services send them (AccBooks: the customer's id alone) take their customer's
        name from the store, where the customers were pulled first: the list, search and PDF show it."""
        nameless = {d.customer_remote_id for d in documents
                    if isinstance(d, SalesDocument) and not d.customer_name and d.customer_remote_id}
        if not nameless:
            return documents
        names = await asyncio.to_thread(_customer_names, self.store, nameless)
        return [d.model_copy(update={"customer_name": names[d.customer_remote_id]})
                if isinstance(d, SalesDocument) and not d.customer_name and d.customer_remote_id in names else d
                for d in documents]

    def _incremental(self, target: Target) -> tuple[bool, str | None]:
        state = self.support.state(target.entity.value)
        if self.force_full or state.cursor is None or state.last_full_pull_at is None:
            return False, None
        if not self.provider.capabilities.supports(target.entity, Operation.CHANGES):
            return False, None
        age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(state.last_full_pull_at)
        if age.total_seconds() > self.full_every:
            return False, None
        return True, state.cursor

    async def _pull(self, target: Target) -> int:
        entity, spec = target.entity, target.spec
        incremental, since = self._incremental(target)
        track = not incremental and self.support.has_rows(spec, target.kind)
        held = self.support.held(spec)
        if track:
            await self.support.start_full_list(entity.value)
        changed = received = 0
        cursor: str | None = None
        started = time.monotonic()
        storing: asyncio.Task | None = None

        async def store_page(items: list[Record]) -> int:
            if spec is tables.INVOICES:
                items = await self._with_customer_names(items)
            fresh: list[Record] = []
            theirs: list[tuple[int, str, Record]] = []
            for record in items:
                if record.remote_id is None:  # nothing to key it by: it would be a new row every pull
                    continue
                known = held.get(record.remote_id)
                if known is None:
                    fresh.append(record)
                elif _differs(known, record):
                    theirs.append((known.record_id, record.remote_id, record))
            written = await self.store.upsert(spec, fresh) if fresh else 0
            if theirs:
                await self.support.save_theirs(spec, theirs)
            if track:
                await self.support.mark_seen(entity.value, (record.remote_id for record in items))
            return written

        try:
            async for page in self.provider.list(entity, since=since, page_size=self.page_size):
                if storing is not None:
                    changed += await storing
                storing = asyncio.create_task(store_page(list(page.items)))
                cursor = page.cursor or cursor
                received += len(page.items)
                rate = received / max(time.monotonic() - started, 1e-6)
                self.hub.emit(Progress(self.result.company, "pull", entity.value, received, page.total, rate))
            if storing is not None:
                changed += await storing
                storing = None
        finally:
            if storing is not None:
                storing.cancel()
                await asyncio.gather(storing, return_exceptions=True)
        deleted = await self.support.remove_unseen(entity.value, spec, target.kind) if track else 0
        feed = self.provider.capabilities.supports(entity, Operation.CHANGES)
        await self.support.save_state(entity.value, cursor if feed else None, full=not incremental)
        self.result.received += received
        self.result.pulled += changed + deleted
        self.result.deleted += deleted
        return changed + deleted


def _differs(known: Held, record: Record) -> bool:
    if known.remote_version is not None and record.remote_version is not None:
        return known.remote_version != record.remote_version
    return known.payload_hash != record.payload_hash
