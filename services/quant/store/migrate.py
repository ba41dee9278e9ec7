"""Versioned schema migrations for the relational store (PostgreSQL and embedded SQLite).

Migrations are the package's ``migrations/NNNN_name.sql`` (PostgreSQL) and
``migrations/NNNN_name.sqlite.sql`` (SQLite) files. ``apply_postgres``/``apply_sqlite``
apply the ones not yet recorded in ``schema_migrations``, each in its own transaction
with its bookkeeping row, so applying twice is a no-op and a failed migration leaves
nothing half-done. PostgreSQL takes an advisory lock so concurrent starters serialise.
Called by ``PostgresStore.open`` and ``SqliteRelationalStore.open``.
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from typing import Any, Literal, NamedTuple

import psycopg

_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)(?P<sqlite>\.sqlite)?\.sql$")
_LOCK_ID = 0x5155414E54  # "QUANT": serialises concurrent migrators on one database


class Migration(NamedTuple):
    version: int
    name: str
    sql: str


def load_migrations(dialect: Literal["postgres", "sqlite"]) -> list[Migration]:
    """The packaged migrations of ``dialect``, in version order."""
    out = []
    for entry in resources.files("quant.store").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match is None or bool(match.group("sqlite")) != (dialect == "sqlite"):
            continue
        out.append(Migration(int(match.group("version")), match.group("name"), entry.read_text()))
    out.sort()
    if len({m.version for m in out}) != len(out):
        raise RuntimeError(f"duplicate {dialect} migration versions: {[m.version for m in out]}")
    return out


def apply_postgres(conn: psycopg.Connection[Any]) -> list[int]:
    """Apply pending migrations on ``conn`` (autocommit off or on); returns applied versions."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
            "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        for m in load_migrations("postgres"):
            if m.version in done:
                continue
            with conn.transaction():
                conn.execute(m.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (m.version, m.name),
                )
            applied.append(m.version)
    return applied


def apply_sqlite(conn: sqlite3.Connection) -> list[int]:
    """Apply pending migrations on ``conn`` (opened with ``isolation_level=None``)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
    applied: list[int] = []
    for m in load_migrations("sqlite"):
        if m.version in done:
            continue
        # version and name come from the packaged file name (validated by _NAME)
        script = (
            f"BEGIN IMMEDIATE;\n{m.sql}\n;INSERT INTO schema_migrations (version, name) "  # noqa: S608
            f"VALUES ({m.version}, '{m.name}');\nCOMMIT;"
        )
        try:
            conn.executescript(script)
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(m.version)
    return applied
