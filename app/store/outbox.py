"""The outbox: every local edit, in order, until the service has it.

An entry is appended in the same transaction that changes the record (see ``edits``), so a record
never shows a change that has no entry, nor an entry for a change that was rolled back. States:
``pending`` (waiting), ``in_flight`` (being sent: after a crash, its outcome is unknown and must be
looked up by its idempotency key), ``done``, ``failed`` (the service refused it; its message is
kept, the user's edit too), ``conflict`` (the service changed the record meanwhile).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

OPEN_STATES = ("pending", "in_flight", "failed", "conflict")


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    entity: str
    record_id: int
    op: str
    edit: dict[str, Any]
    base: dict[str, Any] | None
    base_version: str | None
    idempotency_key: str
    state: str
    attempts: int
    history: list[dict[str, Any]]
    message: str
    theirs: dict[str, Any] | None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def append(conn: sqlite3.Connection, entity: str, record_id: int, op: str, edit: dict[str, Any],
           base: dict[str, Any] | None, base_version: str | None) -> int:
    """Append an entry; call inside the transaction that changed the record."""
    now = _now()
    cursor = conn.execute(
        "INSERT INTO outbox (entity, record_id, op, edit, base, base_version, idempotency_key, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (entity, record_id, op, json.dumps(edit), None if base is None else json.dumps(base), base_version,
         uuid.uuid4().hex, now, now))
    return cursor.lastrowid


def _entry(row: tuple) -> OutboxEntry:
    return OutboxEntry(row[0], row[1], row[2], row[3], json.loads(row[4]), None if row[5] is None else json.loads(row[5]),
                       row[6], row[7], row[8], row[9], json.loads(row[10]), row[11],
                       None if row[12] is None else json.loads(row[12]))


_COLUMNS = ("id, entity, record_id, op, edit, base, base_version, idempotency_key, state, attempts, history, "
            "message, theirs")


def entries(conn: sqlite3.Connection, states: tuple[str, ...] = OPEN_STATES, limit: int = 1000) -> list[OutboxEntry]:
    """Entries in the order they were made."""
    marks = ",".join("?" * len(states))
    rows = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE state IN ({marks}) ORDER BY id LIMIT ?",
                        (*states, limit)).fetchall()
    return [_entry(row) for row in rows]


def entry(conn: sqlite3.Connection, entry_id: int) -> OutboxEntry | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (entry_id,)).fetchone()
    return None if row is None else _entry(row)


def mark(conn: sqlite3.Connection, entry_id: int, state: str, message: str = "", *, attempt: bool = True,
         theirs: dict[str, Any] | None = None) -> None:
    """Move an entry to ``state`` and add the step to its history (an attempt counts when it reached out)."""
    step = json.dumps({"at": _now(), "state": state, "message": message})
    conn.execute(
        "UPDATE outbox SET state = ?, message = ?, attempts = attempts + ?, updated_at = ?, "
        "history = json_insert(history, '$[#]', json(?)), theirs = coalesce(?, theirs) WHERE id = ?",
        (state, message, int(attempt), _now(), step, None if theirs is None else json.dumps(theirs), entry_id))


def record_state(conn: sqlite3.Connection, entity: str, record_id: int) -> str | None:
    """The most pressing open state of a record's edits (conflict > failed > pending), or None if synced."""
    rows = {r[0] for r in conn.execute(
        "SELECT DISTINCT state FROM outbox WHERE entity = ? AND record_id = ? AND state != 'done'",
        (entity, record_id))}
    for state in ("conflict", "failed", "in_flight", "pending"):
        if state in rows:
            return "pending" if state == "in_flight" else state
    return None


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many entries wait, failed or conflict: what the status bar shows."""
    found = dict(conn.execute("SELECT state, count(*) FROM outbox WHERE state != 'done' GROUP BY state").fetchall())
    return {"pending": found.get("pending", 0) + found.get("in_flight", 0), "failed": found.get("failed", 0),
            "conflict": found.get("conflict", 0)}
