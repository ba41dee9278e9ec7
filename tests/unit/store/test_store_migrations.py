"""Schema migrations: both dialects ship the same versions; applying is idempotent."""

from __future__ import annotations

import sqlite3

from quant.store.migrate import apply_sqlite, load_migrations


def test_postgres_and_sqlite_ship_the_same_migration_versions() -> None:
    pg = load_migrations("postgres")
    lite = load_migrations("sqlite")
    assert [m.version for m in pg] == [m.version for m in lite]
    assert [m.name for m in pg] == [m.name for m in lite]
    assert pg[0].version == 1 and "CREATE TABLE instruments" in pg[0].sql


def test_sqlite_migrations_apply_once_and_are_recorded() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    assert apply_sqlite(conn) == [1]
    assert apply_sqlite(conn) == []
    assert conn.execute("SELECT version, name FROM schema_migrations").fetchall() == [(1, "init")]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"instruments", "executed_orders", "users", "schema_migrations"} <= tables
