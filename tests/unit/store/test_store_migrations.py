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
    shipped = load_migrations("sqlite")
    assert [m.version for m in shipped][:2] == [1, 2]
    conn = sqlite3.connect(":memory:", isolation_level=None)
    assert apply_sqlite(conn) == [m.version for m in shipped]
    assert apply_sqlite(conn) == []
    rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()
    assert rows == [(m.version, m.name) for m in shipped]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"instruments", "executed_orders", "users", "api_keys", "schema_migrations"} <= tables


def test_a_database_at_version_1_migrates_keeping_its_users() -> None:
    """An embedded store made before API keys existed keeps its users (not disabled)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    (init,) = [m for m in load_migrations("sqlite") if m.version == 1]
    conn.executescript(init.sql)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    conn.execute("INSERT INTO schema_migrations (version, name) VALUES (1, 'init')")
    conn.execute("INSERT INTO users (username, secret_hash, role) VALUES ('asha', '', 'trader')")
    assert 2 in apply_sqlite(conn)
    assert conn.execute("SELECT username, role, disabled FROM users").fetchall() == [
        ("asha", "trader", 0)
    ]
