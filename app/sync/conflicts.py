"""Conflicts: a record changed both here and at the service. The user sees both and chooses.

A conflict is shown as ``ConflictCase``: mine (the record as it is here now, None if deleted here),
theirs (the service's copy, None if the service deleted it; the newest one a pull has seen), the base
the edit was made against, and the fields that differ. Resolving is itself a local edit, made in one
durable transaction that closes the record's open entries:

- keep mine: the edit is sent again, now based on theirs (an update, a deletion, or, if the service
  deleted the record, its creation anew);
- take theirs: the edit is dropped and the row becomes the service's copy (or goes, if deleted there);
- field by field: theirs with the chosen fields of mine, sent as an update based on theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.record import field_title
from app.store import CompanyStore
from app.store.outbox import OutboxEntry
from app.store.sync_support import SyncSupport
from app.store.tables import TableSpec
from app.sync.entities import content, spec_of, to_model

MINE, THEIRS = "mine", "theirs"


@dataclass(frozen=True)
class FieldDiff:
    name: str
    title: str
    base: Any
    mine: Any
    theirs: Any

    @property
    def both_changed(self) -> bool:
        return self.mine != self.base and self.theirs != self.base


@dataclass(frozen=True)
class ConflictCase:
    entry: OutboxEntry
    spec: TableSpec
    mine: dict[str, Any] | None
    theirs: dict[str, Any] | None
    base: dict[str, Any] | None

    @property
    def record_id(self) -> int:
        return self.entry.record_id

    @property
    def fields(self) -> list[FieldDiff]:
        """The fields where mine and theirs differ, titled as the forms label them."""
        if self.mine is None or self.theirs is None:
            return []
        mine, theirs, base = _values(self.spec, self.mine), _values(self.spec, self.theirs), _values(self.spec, self.base)
        return [FieldDiff(name, field_title(self.spec.model, name), base.get(name), mine[name], theirs.get(name))
                for name in mine if mine[name] != theirs.get(name)]


class Conflicts:
    def __init__(self, store: CompanyStore):
        self.support = SyncSupport(store)
        self.store = store

    def cases(self) -> list[ConflictCase]:
        return [self.case(entry.id) for entry in self.support.open_entries() if entry.state == "conflict"]

    def case(self, entry_id: int) -> ConflictCase:
        entry = self.support.entry(entry_id)
        if entry is None or entry.state != "conflict":
            raise LookupError("This conflict has already been resolved.")
        spec = spec_of(entry.entity)
        later = [e for e in self.support.open_entries() if e.entity == entry.entity and e.record_id == entry.record_id]
        mine = None
        if not (later and later[-1].op == "delete"):
            row = self.store.get(spec, entry.record_id)
            mine = None if row is None else row.model_dump(mode="json")
        kept = self.support.theirs(entry.entity, entry.record_id)
        if kept is not None:
            theirs = kept.record
        elif entry.theirs is not None and not entry.theirs.get("deleted"):
            theirs = entry.theirs
        else:
            theirs = None
        return ConflictCase(entry, spec, mine, theirs, entry.base)

    async def keep_mine(self, entry_id: int) -> int:
        """Send my version again, based on theirs. Returns the record's local id."""
        case = self.case(entry_id)
        spec, record_id = case.spec, case.record_id
        message = "resolved: kept mine"
        if case.theirs is None:
            if case.mine is None:  # deleted on both sides: nothing left to decide
                return await self.support.resolve(spec, record_id, message)
            fresh = {**case.mine, "remote_id": None, "remote_version": None, "payload_hash": None}
            return await self.support.resolve(spec, record_id, message + " (created again)", forget_remote=True,
                                              append=("create", fresh, None, None))
        theirs = case.theirs
        if case.mine is None:
            edit = {"local_id": record_id, "remote_id": theirs.get("remote_id")}
            return await self.support.resolve(spec, record_id, message, append=("delete", edit, theirs,
                                                                               theirs.get("remote_version")))
        mine = _on_theirs(case.mine, theirs)
        return await self.support.resolve(spec, record_id, message, write=to_model(spec, mine),
                                          append=("update", mine, theirs, theirs.get("remote_version")))

    async def take_theirs(self, entry_id: int) -> int:
        """Drop my edit: the row becomes the service's copy (or goes, if the service deleted it)."""
        case = self.case(entry_id)
        message = "resolved: took theirs"
        if case.theirs is None:
            return await self.support.resolve(case.spec, case.record_id, message, remove_row=True)
        return await self.support.resolve(case.spec, case.record_id, message,
                                          write=to_model(case.spec, case.theirs))

    async def merge(self, entry_id: int, choices: Mapping[str, str]) -> int:
        """Theirs, with mine for each field chosen as ``"mine"``. A field changed on both sides must be
        chosen; one changed on one side only takes that side unless chosen otherwise."""
        case = self.case(entry_id)
        if case.mine is None or case.theirs is None:
            raise ValueError("One side deleted this record: keep mine or take theirs instead.")
        unknown = set(choices) - {diff.name for diff in case.fields}
        if unknown:
            raise ValueError(f"No such differing field: {', '.join(sorted(unknown))}.")
        merged = dict(case.theirs)
        for diff in case.fields:
            choice = choices.get(diff.name)
            if choice is None and diff.both_changed:
                raise ValueError(f"Choose mine or theirs for {diff.title}.")
            if choice is None:
                choice = MINE if diff.mine != diff.base else THEIRS
            if choice not in (MINE, THEIRS):
                raise ValueError(f"{diff.title}: choose {MINE!r} or {THEIRS!r}, not {choice!r}.")
            if choice == MINE:
                merged[diff.name] = case.mine[diff.name]
        merged = _on_theirs(merged, case.theirs, relink=True)
        record = to_model(case.spec, merged)  # refuses a combination the record cannot have
        return await self.support.resolve(case.spec, case.record_id, "resolved: field by field", write=record,
                                          append=("update", record.model_dump(mode="json"), case.theirs,
                                                  case.theirs.get("remote_version")))

    async def resolve_with(self, entry_id: int, record: Mapping[str, Any]) -> int:
        """The version the user put together (a whole record), sent as an update based on theirs."""
        case = self.case(entry_id)
        if case.theirs is None:
            fresh = {**dict(record), "remote_id": None, "remote_version": None, "payload_hash": None}
            return await self.support.resolve(case.spec, case.record_id, "resolved: my version, created again",
                                              forget_remote=True, append=("create", fresh, None, None))
        chosen = to_model(case.spec, _on_theirs(dict(record), case.theirs, relink=True))
        return await self.support.resolve(case.spec, case.record_id, "resolved: field by field", write=chosen,
                                          append=("update", chosen.model_dump(mode="json"), case.theirs,
                                                  case.theirs.get("remote_version")))

    async def discard(self, entry_id: int) -> int:
        """Drop a refused or conflicting edit, and the record's later unsent ones: a conflict takes theirs;
        a refused edit puts back the copy it was based on (a refused creation removes the record)."""
        entry = self.support.entry(entry_id)
        if entry is None or entry.state == "done":
            raise LookupError("This change has already been sent or dropped.")
        if entry.state == "conflict":
            return await self.take_theirs(entry_id)
        spec = spec_of(entry.entity)
        first = next(e for e in self.support.open_entries()
                     if e.entity == entry.entity and e.record_id == entry.record_id)
        message = "dropped by the user"
        if first.op == "create" or first.base is None:
            return await self.support.resolve(spec, entry.record_id, message, remove_row=True)
        return await self.support.resolve(spec, entry.record_id, message, write=to_model(spec, first.base))


def _values(spec: TableSpec, data: dict[str, Any] | None) -> dict[str, Any]:
    if not data:
        return {}
    try:
        return content(to_model(spec, {**data, "remote_id": None}).model_dump(mode="json"))
    except Exception:
        return content(data)


def _on_theirs(data: dict[str, Any], theirs: dict[str, Any], *, relink: bool = False) -> dict[str, Any]:
    """``data`` under the service's identity of the record (its id may have changed there). ``relink``: a
    document's customer is found again from its remote id (a merge may have taken theirs)."""
    placed = {**data, **{k: theirs.get(k) for k in ("remote_id", "remote_version", "payload_hash")}}
    placed.pop("local_id", None)
    if relink and "customer_local_id" in placed:
        placed["customer_local_id"] = None
    return placed
