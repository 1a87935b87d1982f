"""What the sync engine needs from a company's store beyond pulls (``upsert``) and edits (``save``/``delete``).

Kept apart from ``store.py`` so that the facade the UI uses stays small. Every state change of an
outbox entry during a push is one durable transaction that also changes the row it concerns: a crash
between sending and recording leaves the entry ``in_flight``, never a row that disagrees with its entry.

- Pull support: cursors (``sync_state``), the rows a pull must leave alone (``held``), the service's copy
  of those rows (``sync_theirs``), and deletion detection by a full re-list (``sync_seen``).
- Push support: claim, release, fail, conflict and complete an entry; complete writes what the service
  answered into the row, re-keys it when the service gave it a new id, and re-bases the record's later
  entries (their base is now the version our own push made).
- Resolution: close a record's open entries, rewrite or remove its row and append the resolving edit,
  in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.domain import Record
from app.store import outbox, search
from app.store.outbox import OPEN_STATES, OutboxEntry
from app.store.store import CompanyStore, free_new_ids
from app.store.tables import TableSpec
from app.store.writer import transaction

log = logging.getLogger(__name__)

_ALL_ENTRIES = 10_000_000


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class SyncState:
    entity: str
    cursor: str | None = None
    last_full_pull_at: str | None = None
    last_pull_at: str | None = None


@dataclass(frozen=True)
class Held:
    """A record a pull must not overwrite: it has an open outbox entry (its row may be gone: a local delete)."""

    record_id: int
    remote_version: str | None
    payload_hash: str | None


@dataclass(frozen=True)
class Theirs:
    entity: str
    record_id: int
    remote_id: str | None
    remote_version: str | None
    record: dict[str, Any] | None  # None: the service deleted it
    seen_at: str


def _open_clause(spec: TableSpec, table_alias: str) -> str:
    return (f"EXISTS (SELECT 1 FROM outbox o WHERE o.entity = '{spec.entity}' AND o.record_id = {table_alias}.id "
            "AND o.state != 'done')")


class SyncSupport:
    def __init__(self, store: CompanyStore):
        self.store = store

    # --- cursors ------------------------------------------------------------------------------------

    def state(self, entity: str) -> SyncState:
        row = self.store.reader().execute(
            "SELECT cursor, last_full_pull_at, last_pull_at FROM sync_state WHERE entity = ?", (entity,)).fetchone()
        return SyncState(entity) if row is None else SyncState(entity, *row)

    def has_pulled(self) -> bool:
        return self.store.reader().execute("SELECT 1 FROM sync_state LIMIT 1").fetchone() is not None

    async def save_state(self, entity: str, cursor: str | None, *, full: bool) -> None:
        now = _now()

        def job(conn: sqlite3.Connection) -> None:
            with transaction(conn, durable=False):
                conn.execute(
                    "INSERT INTO sync_state (entity, cursor, last_full_pull_at, last_pull_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(entity) DO UPDATE SET cursor = excluded.cursor, last_pull_at = excluded.last_pull_at, "
                    "last_full_pull_at = coalesce(excluded.last_full_pull_at, sync_state.last_full_pull_at)",
                    (entity, cursor, now if full else None, now))
        await self.store.writer.run_async(job)

    # --- pulling ------------------------------------------------------------------------------------

    def has_rows(self, spec: TableSpec, kind: str | None = None) -> bool:
        where = "remote_id IS NOT NULL" + (" AND kind = ?" if kind else "")
        return self.store.reader().execute(f"SELECT 1 FROM {spec.table} WHERE {where} LIMIT 1",
                                           (kind,) if kind else ()).fetchone() is not None

    def held(self, spec: TableSpec) -> dict[str, Held]:
        """Remote ids a pull must leave alone, with what the store knows of their remote version."""
        conn = self.store.reader()
        found = {r[0]: Held(r[1], r[2], r[3]) for r in conn.execute(
            f"SELECT t.remote_id, t.id, t.remote_version, t.payload_hash FROM {spec.table} t "
            f"WHERE t.remote_id IS NOT NULL AND {_open_clause(spec, 't')}")}
        # Deleted here, not yet at the service: the row is gone, but a pull must not bring it back.
        for record_id, remote_id, base_version in conn.execute(
                "SELECT record_id, edit ->> '$.remote_id', base_version FROM outbox "
                "WHERE entity = ? AND op = 'delete' AND state != 'done'", (spec.entity,)):
            if remote_id is not None:
                found.setdefault(remote_id, Held(record_id, base_version, None))
        # Reissued at the service under a new id while edited here: the new id is the same record, not a
        # second row to add.
        for record_id, remote_id, version in conn.execute(
                "SELECT s.record_id, s.remote_id, s.remote_version FROM sync_theirs s WHERE s.entity = ? "
                "AND s.remote_id IS NOT NULL AND EXISTS (SELECT 1 FROM outbox o WHERE o.entity = s.entity "
                "AND o.record_id = s.record_id AND o.state != 'done')", (spec.entity,)):
            found.setdefault(remote_id, Held(record_id, version, None))
        return found

    async def save_theirs(self, spec: TableSpec, items: Iterable[tuple[int, str, Record | None]]) -> None:
        """Keep the service's copy of held records: ``(record_id, remote_id, record or None if deleted)``."""
        rows = [(spec.entity, record_id, remote_id, None if record is None else record.remote_version,
                 None if record is None else record.model_dump_json(), _now())
                for record_id, remote_id, record in items]
        if not rows:
            return

        def job(conn: sqlite3.Connection) -> None:
            with transaction(conn, durable=False):
                conn.executemany("INSERT OR REPLACE INTO sync_theirs (entity, record_id, remote_id, remote_version, "
                                 "record, seen_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
        await self.store.writer.run_async(job)

    def theirs(self, entity: str, record_id: int) -> Theirs | None:
        row = self.store.reader().execute(
            "SELECT remote_id, remote_version, record, seen_at FROM sync_theirs WHERE entity = ? AND record_id = ?",
            (entity, record_id)).fetchone()
        if row is None:
            return None
        return Theirs(entity, record_id, row[0], row[1], None if row[2] is None else json.loads(row[2]), row[3])

    async def start_full_list(self, list_entity: str) -> None:
        def job(conn: sqlite3.Connection) -> None:
            with transaction(conn, durable=False):
                conn.execute("DELETE FROM sync_seen WHERE entity = ?", (list_entity,))
        await self.store.writer.run_async(job)

    async def mark_seen(self, list_entity: str, remote_ids: Iterable[str | None]) -> None:
        rows = [(list_entity, remote_id) for remote_id in remote_ids if remote_id is not None]
        if not rows:
            return

        def job(conn: sqlite3.Connection) -> None:
            with transaction(conn, durable=False):
                conn.executemany("INSERT OR IGNORE INTO sync_seen (entity, remote_id) VALUES (?, ?)", rows)
        await self.store.writer.run_async(job)

    async def remove_unseen(self, list_entity: str, spec: TableSpec, kind: str | None = None) -> int:
        """After a whole re-list: remove the rows the service no longer has. A row with an open edit is
        kept, and the deletion recorded as the service's copy (a conflict for its push to raise).
        Returns how many rows were removed."""
        kind_clause = " AND t.kind = ?" if kind else ""
        params: tuple = (list_entity, kind) if kind else (list_entity,)
        unseen_sql = (f"SELECT t.id, t.remote_id, {_open_clause(spec, 't')} FROM {spec.table} t "
                      "WHERE t.remote_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sync_seen s "
                      f"WHERE s.entity = ? AND s.remote_id = t.remote_id){kind_clause}")

        def job(conn: sqlite3.Connection) -> int:
            with transaction(conn, durable=False):
                unseen = conn.execute(unseen_sql, params).fetchall()
                gone = [(local_id,) for local_id, _, held in unseen if not held]
                conn.executemany(f"DELETE FROM {spec.table} WHERE id = ?", gone)
                if spec.search is not None:
                    conn.executemany(f"DELETE FROM {spec.search.fts} WHERE rowid = ?", gone)
                # Unless the service's copy is known under another id (reissued): then it was not deleted.
                reissued = {r[0] for r in conn.execute(
                    "SELECT record_id FROM sync_theirs s WHERE entity = ? AND remote_id IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {spec.table} t WHERE t.id = s.record_id AND t.remote_id = s.remote_id)",
                    (spec.entity,))}
                conn.executemany(
                    "INSERT OR REPLACE INTO sync_theirs (entity, record_id, remote_id, remote_version, record, seen_at) "
                    "VALUES (?, ?, ?, NULL, NULL, ?)",
                    [(spec.entity, local_id, remote_id, _now()) for local_id, remote_id, held in unseen
                     if held and local_id not in reissued])
                conn.execute("DELETE FROM sync_seen WHERE entity = ?", (list_entity,))
                return len(gone)
        return await self.store.writer.run_async(job)

    # --- pushing ------------------------------------------------------------------------------------

    def open_entries(self) -> list[OutboxEntry]:
        return outbox.entries(self.store.reader(), OPEN_STATES, limit=_ALL_ENTRIES)

    def entry(self, entry_id: int) -> OutboxEntry | None:
        return outbox.entry(self.store.reader(), entry_id)

    def remote_id_of(self, spec: TableSpec, local_id: int) -> str | None:
        row = self.store.reader().execute(f"SELECT remote_id FROM {spec.table} WHERE id = ?", (local_id,)).fetchone()
        return None if row is None else row[0]

    def row_exists(self, spec: TableSpec, local_id: int) -> bool:
        return self.store.reader().execute(f"SELECT 1 FROM {spec.table} WHERE id = ?", (local_id,)).fetchone() is not None

    async def _mark(self, entry_id: int, state: str, message: str = "", *, attempt: bool = True,
                    theirs: dict[str, Any] | None = None) -> None:
        def job(conn: sqlite3.Connection) -> None:
            with transaction(conn, durable=True):
                outbox.mark(conn, entry_id, state, message, attempt=attempt, theirs=theirs)
        await self.store.writer.run_async(job)

    async def claim(self, entry_id: int) -> None:
        """Durably ``in_flight`` before anything is sent: after a crash its outcome is looked up first."""
        await self._mark(entry_id, "in_flight", attempt=False)

    async def release(self, entry_id: int, message: str) -> None:
        """Back to ``pending``: nothing reached the service (or a look-up showed it did not happen)."""
        await self._mark(entry_id, "pending", message)

    async def fail(self, entry_id: int, message: str) -> None:
        await self._mark(entry_id, "failed", message)

    async def conflict(self, entry: OutboxEntry, spec: TableSpec, remote_id: str | None, theirs: Record | None,
                       message: str) -> None:
        """The service changed (or deleted) the record since the edit's base: keep its copy beside ours."""
        shown = {"deleted": True, "remote_id": remote_id} if theirs is None else theirs.model_dump(mode="json")

        def job(conn: sqlite3.Connection) -> None:
            with transaction(conn, durable=True):
                outbox.mark(conn, entry.id, "conflict", message, theirs=shown)
                # Reissued there under a new id: a pull may already hold that copy as a row of its own.
                _release_remote_id(conn, spec, remote_id, keep=entry.record_id)
                conn.execute(
                    "INSERT OR REPLACE INTO sync_theirs (entity, record_id, remote_id, remote_version, record, seen_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (spec.entity, entry.record_id, remote_id, None if theirs is None else theirs.remote_version,
                     None if theirs is None else theirs.model_dump_json(), _now()))
        await self.store.writer.run_async(job)

    async def complete(self, entry: OutboxEntry, spec: TableSpec, result: Record | None, message: str = "", *,
                       rebase: bool = True) -> None:
        """The service has the edit. ``result`` is the record as the service now holds it (None for a
        deletion): written into the row (or, if later edits wait, only its id and version), the row
        re-keyed if the id changed, and the later entries re-based on the version this push made.
        ``rebase=False``: ``result`` may hold changes made elsewhere since (a create found by its key),
        so later entries keep their base and are checked against it."""
        def job(conn: sqlite3.Connection) -> None:
            with transaction(conn, durable=True):
                outbox.mark(conn, entry.id, "done", message)
                later = [r[0] for r in conn.execute(
                    "SELECT id FROM outbox WHERE entity = ? AND record_id = ? AND state != 'done' AND id > ?",
                    (spec.entity, entry.record_id, entry.id))]
                if result is not None:
                    if _row_exists(conn, spec, entry.record_id):
                        if later:
                            _release_remote_id(conn, spec, result.remote_id, keep=entry.record_id)
                            conn.execute(f"UPDATE {spec.table} SET remote_id = ?, remote_version = ?, payload_hash = ? "
                                         "WHERE id = ?", (result.remote_id, result.remote_version, result.payload_hash,
                                                          entry.record_id))
                        else:
                            write_row(conn, spec, entry.record_id, result)
                    _rebase(conn, later, entry.base_version if entry.op != "create" else None, result, rebase)
                if not later:
                    conn.execute("DELETE FROM sync_theirs WHERE entity = ? AND record_id = ?",
                                 (spec.entity, entry.record_id))
        await self.store.writer.run_async(job)

    async def supersede(self, entry_ids: Iterable[int], message: str) -> None:
        """Close entries whose content a later entry of the same record carries."""
        ids = list(entry_ids)

        def job(conn: sqlite3.Connection) -> None:
            with transaction(conn, durable=True):
                for entry_id in ids:
                    outbox.mark(conn, entry_id, "done", message, attempt=False)
        await self.store.writer.run_async(job)

    async def replace_edit(self, entry_id: int, edit: dict[str, Any], close: Iterable[int], message: str) -> None:
        """A refused create retried with the record as it is now: its later edits fold into it."""
        ids = list(close)

        def job(conn: sqlite3.Connection) -> None:
            with transaction(conn, durable=True):
                conn.execute("UPDATE outbox SET edit = ? WHERE id = ?", (json.dumps(edit), entry_id))
                outbox.mark(conn, entry_id, "pending", message, attempt=False)
                for other in ids:
                    outbox.mark(conn, other, "done", message, attempt=False)
        await self.store.writer.run_async(job)

    async def retry(self, entry_id: int) -> None:
        """The user asks to send a refused edit again (after changing something at the service)."""
        await self._mark(entry_id, "pending", "retry asked for", attempt=False)

    # --- resolving ----------------------------------------------------------------------------------

    async def resolve(self, spec: TableSpec, record_id: int, message: str, *, write: Record | None = None,
                      remove_row: bool = False, forget_remote: bool = False,
                      append: tuple[str, dict[str, Any], dict[str, Any] | None, str | None] | None = None) -> int:
        """Close every open entry of a record, then: write ``write`` into its row (inserting one if the row
        was deleted here), or remove the row, or detach it from the service (``forget_remote``: the
        service deleted it and ours will be created again); and append ``append`` = (op, edit, base,
        base_version) as the resolving edit. Returns the record's local id (new if the row was re-inserted)."""
        def job(conn: sqlite3.Connection) -> int:
            local_id = record_id
            with transaction(conn, durable=True):
                for (entry_id,) in conn.execute(
                        "SELECT id FROM outbox WHERE entity = ? AND record_id = ? AND state != 'done'",
                        (spec.entity, record_id)).fetchall():
                    outbox.mark(conn, entry_id, "done", message, attempt=False)
                conn.execute("DELETE FROM sync_theirs WHERE entity = ? AND record_id = ?", (spec.entity, record_id))
                if remove_row:
                    delete_row(conn, spec, record_id)
                elif write is not None:
                    local_id = write_row(conn, spec, record_id if _row_exists(conn, spec, record_id) else None, write)
                if forget_remote:
                    conn.execute(f"UPDATE {spec.table} SET remote_id = NULL, remote_version = NULL, payload_hash = NULL "
                                 "WHERE id = ?", (local_id,))
                if append is not None:
                    op, edit, base, base_version = append
                    outbox.append(conn, spec.entity, local_id, op, {**edit, "local_id": local_id}, base, base_version)
            return local_id
        return await self.store.writer.run_async(job)


# --- row writing (inside a writer transaction) -------------------------------------------------------

def _row_exists(conn: sqlite3.Connection, spec: TableSpec, local_id: int) -> bool:
    return conn.execute(f"SELECT 1 FROM {spec.table} WHERE id = ?", (local_id,)).fetchone() is not None


def _rebase(conn: sqlite3.Connection, later: list[int], old_version: str | None, result: Record,
            rebase: bool) -> None:
    """Later edits of the record were made against the version this push replaced: our own push is not
    a change made elsewhere, so they now stand on the version it made, under its (maybe new) id."""
    for entry_id in later:
        conn.execute("UPDATE outbox SET edit = json_set(edit, '$.remote_id', ?), "
                     "base_version = CASE WHEN ? AND base_version IS ? THEN ? ELSE base_version END WHERE id = ?",
                     (result.remote_id, rebase, old_version, result.remote_version, entry_id))


def _release_remote_id(conn: sqlite3.Connection, spec: TableSpec, remote_id: str | None, keep: int | None) -> None:
    """Make ``remote_id`` free for row ``keep``: a pull that ran while a create's answer was unknown may have
    stored the created record as a row of its own, a copy of ours."""
    if remote_id is None:
        return
    for (other,) in conn.execute(f"SELECT id FROM {spec.table} WHERE remote_id = ? AND id IS NOT ?",
                                 (remote_id, keep)).fetchall():
        held = conn.execute("SELECT 1 FROM outbox WHERE entity = ? AND record_id = ? AND state != 'done'",
                            (spec.entity, other)).fetchone()
        if held:
            log.warning("%s %d and %s share remote id %s; the other keeps its edits, detached",
                        spec.entity, other, keep, remote_id)
            conn.execute(f"UPDATE {spec.table} SET remote_id = NULL WHERE id = ?", (other,))
        else:
            delete_row(conn, spec, other)


def delete_row(conn: sqlite3.Connection, spec: TableSpec, local_id: int) -> None:
    conn.execute(f"DELETE FROM {spec.table} WHERE id = ?", (local_id,))
    if spec.search is not None:
        search.unindex(conn, spec.search, local_id)


def _row_values(conn: sqlite3.Connection, spec: TableSpec, record: Record) -> list[Any]:
    values = list(spec.to_row(record))
    if "customer_id" in spec.columns and values[spec.columns.index("customer_id")] is None:
        # A record from the service names its customer by remote id only.
        remote = values[spec.columns.index("customer_remote_id")]
        found = conn.execute("SELECT id FROM customers WHERE remote_id = ?", (remote,)).fetchone() if remote else None
        values[spec.columns.index("customer_id")] = found[0] if found else None
    return values


def write_row(conn: sqlite3.Connection, spec: TableSpec, local_id: int | None, record: Record) -> int:
    """Store ``record`` (as the service holds it) in row ``local_id``, or in a new row; returns the row's id."""
    _release_remote_id(conn, spec, record.remote_id, keep=local_id)
    values = _row_values(conn, spec, record)
    if local_id is None:
        free_new_ids(conn, spec, 1)
        cursor = conn.execute(f"INSERT INTO {spec.table} ({', '.join(spec.columns)}) "
                              f"VALUES ({', '.join('?' * len(spec.columns))})", values)
        local_id = cursor.lastrowid
        replace = False
    else:
        conn.execute(f"UPDATE {spec.table} SET {', '.join(f'{c} = ?' for c in spec.columns)} WHERE id = ?",
                     [*values, local_id])
        replace = True
    if spec.side is not None:
        side = spec.side
        conn.execute(f"INSERT OR REPLACE INTO {side.table} ({side.key}, {', '.join(side.columns)}) "
                     f"VALUES ({', '.join('?' * (len(side.columns) + 1))})", (local_id, *side.values(record)))
    if spec.search is not None:
        search.index(conn, spec.search, [(local_id, spec.search.values(record))], replace=replace)
    return local_id


__all__ = ["Held", "SyncState", "SyncSupport", "Theirs", "delete_row", "write_row"]
