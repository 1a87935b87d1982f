"""Push the outbox: every local edit reaches the service exactly once, or becomes a conflict or a refusal.

Order. Entries go in the order they were made, per record; records go side by side (``concurrency``)
except where one depends on another: a document waits for the creation of its customer, and a
customer's creation or deletion waits for every earlier edit of that customer's documents (a service
refuses to delete a customer that still has documents). An entry that stops (conflict, refusal, or
waiting) holds back every later entry that depends on it, until the next run.

Exactly once.
- The entry is durably ``in_flight`` before anything is written at the service.
- A create carries its idempotency key. An unknown outcome (no answer, an unreadable one, or a crash
  that left the entry ``in_flight``) is looked up with ``find_created`` before the create is sent again.
- An update is sent only if the service's copy still has the version the edit was based on; otherwise
  it is a conflict (both copies kept), unless the service already holds exactly this edit (an update
  whose answer was lost). A deletion likewise; a record already gone counts as deleted.
- What the service answers is written into the row with the entry's completion, in one transaction:
  the row takes a new remote id if the service gave one (Clear Books reissues a non-draft invoice).

A refusal (the service's ``ValidationError``, ``PermissionDenied``, ``Unsupported``...) marks the entry
``failed`` with the service's own message; the row keeps the user's edit. A later edit of the same record
supersedes it (or, for a refused creation, is folded into it and the creation tried again).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from app.domain import Record, SalesDocument
from app.store import tables
from app.store.outbox import OutboxEntry
from app.store.sync_support import SyncSupport
from app.store.tables import TableSpec
from app.sync.entities import content, push_entity, spec_of, to_model
from app.sync.events import Hub, Progress, SyncResult
from app.sync.outcomes import StopRun, refusal, stop_for, unknown_outcome
from providers.base import Conflict, Entity, NotFound, Provider

log = logging.getLogger(__name__)

DONE, CONFLICT, FAILED, WAIT = "done", "conflict", "failed", "wait"
_SENDS = 3  # tries of one write within a run when each answer is lost (the look-up finds nothing)


@dataclass
class _Item:
    entry: OutboxEntry
    writes: frozenset
    reads: frozenset
    started: bool = False
    stopped: bool = False  # ended without reaching the service: holds back what depends on it


class Pusher:
    def __init__(self, provider: Provider, support: SyncSupport, hub: Hub, result: SyncResult, *,
                 concurrency: int = 8):
        self.provider = provider
        self.support = support
        self.hub = hub
        self.result = result
        self.concurrency = max(1, concurrency)
        self._finds_with_record = "record" in inspect.signature(provider.find_created).parameters
        self._stop: StopRun | None = None

    # --- planning -----------------------------------------------------------------------------------

    async def _plan(self) -> list[_Item]:
        groups: dict[tuple[str, int], list[OutboxEntry]] = {}
        for entry in self.support.open_entries():
            groups.setdefault((entry.entity, entry.record_id), []).append(entry)
        items: list[_Item] = []
        for group in groups.values():
            group = await self._fold_refused(group)
            stuck = bool(group) and group[0].state in ("conflict", "failed")
            for entry in group:
                writes, reads = self._keys(entry)
                items.append(_Item(entry, writes, reads, stopped=stuck))
        items.sort(key=lambda item: item.entry.id)
        return items

    async def _fold_refused(self, group: list[OutboxEntry]) -> list[OutboxEntry]:
        """A refused edit followed by newer edits of the same record: the newer ones carry the whole record,
        so they replace it (a refused creation is tried again with the record as it now is)."""
        while group and group[0].state == "failed" and any(e.state == "pending" for e in group[1:]):
            first, rest = group[0], group[1:]
            if first.op != "create":
                await self.support.supersede([first.id], f"superseded by edit #{rest[0].id}")
                group = rest
                continue
            last = rest[-1]
            if last.op == "delete":
                await self.support.supersede([e.id for e in group], "cancelled: deleted before it reached the service")
                return []
            await self.support.replace_edit(first.id, last.edit, [e.id for e in rest],
                                            f"creation retried with edit #{last.id}")
            return [self.support.entry(first.id) or first]
        return group

    def _keys(self, entry: OutboxEntry) -> tuple[frozenset, frozenset]:
        record = (entry.entity, entry.record_id)
        if entry.entity == tables.CUSTOMERS.entity:
            party = ("party", entry.record_id)
            return (frozenset({record, party}) if entry.op != "update" else frozenset({record})), frozenset()
        data = {**(entry.base or {}), **entry.edit}
        customer = data.get("customer_local_id")
        return frozenset({record}), (frozenset({("party", customer)}) if customer is not None else frozenset())

    # --- running ------------------------------------------------------------------------------------

    async def run(self) -> None:
        items = await self._plan()
        total = sum(not item.stopped for item in items)  # conflicts and refusals wait for the user
        if not total:
            return
        started_at = time.monotonic()
        done = 0
        running: dict[asyncio.Task, _Item] = {}
        try:
            while True:
                if self._stop is None:
                    for item in self._ready(items, len(running)):
                        item.started = True
                        running[asyncio.create_task(self._push(item.entry))] = item
                if not running:
                    break
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    item = running.pop(task)
                    outcome = task.result()
                    done += 1
                    if outcome == DONE:
                        items.remove(item)
                    else:
                        item.stopped = True
                    rate = done / max(time.monotonic() - started_at, 1e-6)
                    self.hub.emit(Progress(self.result.company, "push", "outbox", done, total, rate))
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        if self._stop is not None:
            raise self._stop

    def _ready(self, items: list[_Item], busy: int) -> list[_Item]:
        """Entries free to start: no earlier unfinished entry writes what they touch, or reads what they write."""
        ready: list[_Item] = []
        writes: set = set()
        reads: set = set()
        for item in items:
            if busy + len(ready) >= self.concurrency:
                break
            free = not (item.writes & writes or item.reads & writes or item.writes & reads)
            if free and not item.started and not item.stopped:
                ready.append(item)
            writes |= item.writes
            reads |= item.reads
        return ready

    async def _push(self, planned: OutboxEntry) -> str:
        # Read again: an earlier push of the same record may have re-based it or given it its remote id.
        entry = self.support.entry(planned.id)
        if entry is None or entry.state == "done":
            return DONE
        spec = spec_of(entry.entity)
        entity = push_entity(entry.entity, {**(entry.base or {}), **entry.edit})
        try:
            if entry.op == "create":
                outcome = await self._create(entry, spec, entity)
            elif entry.op == "update":
                outcome = await self._update(entry, spec, entity)
            else:
                outcome = await self._delete(entry, spec, entity)
        except StopRun as stop:
            self._stop = self._stop or stop
            return WAIT
        except Exception as error:
            stop = stop_for(error)
            if stop is not None:
                self._stop = self._stop or stop
                return WAIT
            message = refusal(error)
            if message is None:
                # A fault of ours or a client's: keep the edit, say what happened, never crash the run.
                log.exception("pushing outbox entry %d failed", entry.id)
                message = f"Ledgerdesk could not send this change ({type(error).__name__}: {error})."
            await self.support.fail(entry.id, message)
            outcome = FAILED
        if outcome == DONE:
            self.result.pushed += 1
        elif outcome == CONFLICT:
            self.result.conflicts += 1
        elif outcome == FAILED:
            self.result.failures += 1
        return outcome

    # --- one entry ----------------------------------------------------------------------------------

    def _record(self, spec: TableSpec, entry: OutboxEntry, remote_id: str | None) -> Record:
        data = dict(entry.edit)
        data["remote_id"] = remote_id
        if spec is tables.INVOICES and data.get("customer_local_id") is not None:
            customer = self.support.remote_id_of(tables.CUSTOMERS, data["customer_local_id"])
            if customer is not None:
                data["customer_remote_id"] = customer
        return to_model(spec, data)

    async def _find(self, entity: Entity, entry: OutboxEntry, record: Record) -> Any | None:
        """Whether a create with this key happened. Unreachable: the run stops (the entry stays in flight)."""
        try:
            if self._finds_with_record:
                return await self.provider.find_created(entity, entry.idempotency_key, record=record)
            return await self.provider.find_created(entity, entry.idempotency_key)
        except Exception as error:
            stop = stop_for(error) or (StopRun(f"Could not check whether it was created: {error}", offline=True)
                                       if unknown_outcome(error) else None)
            if stop is not None:
                raise stop from error
            raise

    async def _create(self, entry: OutboxEntry, spec: TableSpec, entity: Entity) -> str:
        record = self._record(spec, entry, None)
        if spec is tables.INVOICES and record.customer_remote_id is None:
            await self.support.release(entry.id, "waiting for its customer to reach the service")
            return WAIT
        if entry.state == "in_flight" or entry.attempts:
            found = await self._find(entity, entry, record)
            if found is not None:
                await self._complete(entry, spec, found, "it had already been created",
                                     rebase=_as_created(spec, entry, found))
                return DONE
        await self.support.claim(entry.id)
        for _ in range(_SENDS):
            try:
                created = await self.provider.create(entity, record, idempotency_key=entry.idempotency_key)
            except Exception as error:
                if not unknown_outcome(error):
                    if stop_for(error) is not None:
                        await self.support.release(entry.id, str(error))
                    raise
                found = await self._find(entity, entry, record)
                if found is not None:
                    await self._complete(entry, spec, found, "its answer was lost; found at the service",
                                         rebase=_as_created(spec, entry, found))
                    return DONE
                continue
            await self._complete(entry, spec, created)
            return DONE
        return WAIT  # still in flight: looked up first next time

    async def _update(self, entry: OutboxEntry, spec: TableSpec, entity: Entity) -> str:
        remote_id = self.support.remote_id_of(spec, entry.record_id) or entry.edit.get("remote_id")
        if remote_id is None:
            await self.support.release(entry.id, "waiting for the record to reach the service")
            return WAIT
        record = self._record(spec, entry, remote_id)
        unknown = entry.state == "in_flight"
        for _ in range(_SENDS):
            verdict = await self._check(entry, spec, entity, remote_id, unknown)
            if verdict is not None:
                return verdict
            await self.support.claim(entry.id)
            try:
                updated = await self.provider.update(entity, record)
            except NotFound:
                return await self._conflict(entry, spec, remote_id, None)
            except Conflict as refused:
                return await self._refused_as_conflict(entry, spec, entity, remote_id, refused)
            except Exception as error:
                if not unknown_outcome(error):
                    if stop_for(error) is not None:
                        await self.support.release(entry.id, str(error))
                    raise
                unknown = True
                continue
            await self._complete(entry, spec, updated)
            return DONE
        return WAIT

    async def _check(self, entry: OutboxEntry, spec: TableSpec, entity: Entity, remote_id: str,
                     unknown: bool) -> str | None:
        """Before an update: None if it may be sent, else how the entry ended."""
        try:
            current = await self.provider.get(entity, remote_id)
        except NotFound:
            return await self._conflict(entry, spec, remote_id, None)
        mine = _content(spec, entry.edit)
        base = _content(spec, entry.base)
        theirs = _content(spec, current.model_dump())
        changed = {name for name in mine if mine[name] != base.get(name)}
        holds_mine = all(theirs.get(name) == mine[name] for name in changed)
        if not _moved(entry, current, base, theirs):
            if holds_mine and not changed:
                await self._complete(entry, spec, current, "nothing to change")
                return DONE
            return None
        others_as_before = all(theirs.get(name) == base.get(name) for name in theirs if name not in changed)
        if holds_mine and (unknown or others_as_before):
            # Our own update whose answer was lost (or the very same change made there too).
            await self._complete(entry, spec, current, "the service already had this change")
            return DONE
        return await self._conflict(entry, spec, current.remote_id or remote_id, current)

    async def _refused_as_conflict(self, entry: OutboxEntry, spec: TableSpec, entity: Entity, remote_id: str,
                                   refused: Conflict) -> str:
        """The service said Conflict: a change made there (a conflict), or a state that forbids the change
        (a posted invoice: a refusal)."""
        try:
            current = await self.provider.get(entity, remote_id)
        except NotFound:
            return await self._conflict(entry, spec, remote_id, None)
        if _moved(entry, current, _content(spec, entry.base), _content(spec, current.model_dump())):
            return await self._conflict(entry, spec, current.remote_id or remote_id, current)
        await self.support.fail(entry.id, refused.message)
        return FAILED

    async def _delete(self, entry: OutboxEntry, spec: TableSpec, entity: Entity) -> str:
        remote_id = entry.edit.get("remote_id")
        if remote_id is None:
            await self.support.complete(entry, spec, None, "it never reached the service")
            return DONE
        for _ in range(_SENDS):
            try:
                current = await self.provider.get(entity, remote_id)
            except NotFound:
                await self.support.complete(entry, spec, None, "already deleted at the service")
                return DONE
            if _moved(entry, current, _content(spec, entry.base), _content(spec, current.model_dump())):
                return await self._conflict(entry, spec, current.remote_id or remote_id, current)
            await self.support.claim(entry.id)
            try:
                await self.provider.delete(entity, current.remote_id or remote_id)
            except NotFound:
                pass
            except Exception as error:
                if not unknown_outcome(error):
                    if stop_for(error) is not None:
                        await self.support.release(entry.id, str(error))
                    raise
                continue
            await self.support.complete(entry, spec, None)
            return DONE
        return WAIT

    async def _conflict(self, entry: OutboxEntry, spec: TableSpec, remote_id: str, theirs: Record | None) -> str:
        what = "deleted it" if theirs is None else "changed it"
        await self.support.conflict(entry, spec, remote_id, theirs,
                                    f"The service {what} since this edit was made: choose which to keep.")
        return CONFLICT

    async def _complete(self, entry: OutboxEntry, spec: TableSpec, result: Record, message: str = "", *,
                        rebase: bool = True) -> None:
        await self.support.complete(entry, spec, result, message, rebase=rebase)
        customer = getattr(result, "customer_local_id", None) or entry.edit.get("customer_local_id")
        if spec is tables.INVOICES and customer is not None:
            await asyncio.to_thread(self.support.store.refresh_balances, [customer])


def _content(spec: TableSpec, data: dict[str, Any] | None) -> dict[str, Any]:
    """A record's fields as values that compare by meaning (Decimal 10 == 10.00), without where it lives."""
    if not data:
        return {}
    try:
        return content(to_model(spec, {**data, "remote_id": None}).model_dump())
    except Exception:  # a base or edit that no longer validates: compare as stored
        return content(data)


def _as_created(spec: TableSpec, entry: OutboxEntry, found: Record) -> bool:
    """Whether a create found by its key is still as we made it: every field the edit set (to other than
    its default) reads the same. If not, someone may have changed it since; later edits must be checked."""
    made = _content(spec, entry.edit)
    there = _content(spec, found.model_dump())
    fields = spec.model.model_fields

    def default(name: str) -> Any:
        value = fields[name].get_default(call_default_factory=True)
        return value.model_dump() if isinstance(value, BaseModel) else value

    set_here = {name for name, value in made.items()
                if name in fields and (fields[name].is_required() or value != default(name))}
    if "lines" in set_here and isinstance(found, SalesDocument):
        # Services rewrite lines (an item's own description, a tax line of their own); what the document
        # adds up to is what they keep as sent.
        set_here.discard("lines")
        if to_model(spec, {**entry.edit, "remote_id": None}).totals().gross != found.totals().gross:
            return False
    return all(there.get(name) == made[name] for name in set_here)


def _moved(entry: OutboxEntry, current: Record, base: dict[str, Any], theirs: dict[str, Any]) -> bool:
    """Whether the service's copy changed since the edit's base: by version where both have one."""
    if entry.base_version is not None and current.remote_version is not None:
        return entry.base_version != current.remote_version
    return bool(base) and base != theirs
