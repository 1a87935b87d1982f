"""Opening a company file: pragmas, creation that never overwrites, and migrations that back up first.

A migration runs inside one transaction (SQLite DDL is transactional), after a copy of the file has
been taken with SQLite's online backup. If any statement fails, the transaction rolls back and the
file is exactly as it was; the backup stays beside it either way.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from app.store import search
from app.store.schema import LATEST_VERSION, MIGRATIONS, Migration, ensure_indexes_sql, ensure_triggers_sql

log = logging.getLogger(__name__)


class StoreError(Exception):
    """A company file could not be opened or changed; the message says what to do."""


class CompanyExists(StoreError):
    pass


class NewerSchema(StoreError):
    pass


def connect(path: Path | str, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection with the pragmas every connection needs. Autocommit: transactions are explicit."""
    if read_only:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # Takes effect only on a new, empty file (before WAL): document rows with their lines fit a page.
        conn.execute("PRAGMA page_size = 8192")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA cache_size = -32768")  # 32 MiB each: the hot part of a big company's indexes
    conn.execute("PRAGMA temp_store = MEMORY")
    # Readers map the file (fast page reads for the views); the writer does not, so a bulk pull
    # does not pull the whole file into the process's resident memory.
    conn.execute(f"PRAGMA mmap_size = {268435456 if read_only else 0}")
    conn.execute("PRAGMA threads = 2")  # lets CREATE INDEX sort on both cores
    return conn


def create_company_file(path: Path) -> None:
    """Claim ``path`` for a new company; refuse, never overwrite, if anything is already there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        raise CompanyExists(f"A company file already exists at {path}; it was left untouched.") from None
    os.close(fd)


def schema_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def backup_path(path: Path, version: int) -> Path:
    return path.with_name(f"{path.name}.v{version}.bak")


def migrate(conn: sqlite3.Connection, path: Path, migrations: list[Migration] = MIGRATIONS) -> int:
    """Bring the file up to the latest schema. Returns the version it was at."""
    current = schema_version(conn)
    latest = migrations[-1].version
    if current > latest:
        raise NewerSchema(
            f"{path.name} was written by a newer Ledgerdesk (schema {current}, this version knows {latest}). "
            "Update Ledgerdesk to open it; the file was not changed.")
    pending = [m for m in migrations if m.version > current]
    if not pending:
        return current
    if current > 0:
        _take_backup(conn, backup_path(path, current))
    try:
        conn.execute("BEGIN IMMEDIATE")
        for migration in pending:
            log.info("migrating %s to schema %d (%s)", path.name, migration.version, migration.title)
            _execute_script(conn, migration.sql)
            conn.execute(f"PRAGMA user_version = {migration.version}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return current


def _take_backup(conn: sqlite3.Connection, target: Path) -> None:
    if target.exists():
        return
    copy = sqlite3.connect(target)
    try:
        conn.backup(copy)
    finally:
        copy.close()


def _execute_script(conn: sqlite3.Connection, sql: str) -> None:
    """Run statements one by one: ``executescript`` would commit the open transaction first."""
    statement = ""
    for line in sql.splitlines(keepends=True):
        if not statement and (not line.strip() or line.lstrip().startswith("--")):
            continue
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        conn.execute(statement)


def open_company_file(path: Path, *, create: bool = False) -> sqlite3.Connection:
    """The writer's connection to a company file, migrated to the latest schema."""
    if create:
        create_company_file(path)
    elif not path.exists():
        raise StoreError(f"No company file at {path}.")
    conn = connect(path)
    try:
        migrate(conn, path)
        _execute_script(conn, ensure_indexes_sql() + ensure_triggers_sql())
        search.ensure_automerge(conn)
    except BaseException:
        conn.close()
        raise
    return conn


__all__ = ["LATEST_VERSION", "CompanyExists", "NewerSchema", "StoreError", "connect", "migrate",
           "open_company_file", "schema_version"]
