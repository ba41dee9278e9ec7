"""PostgreSQL migrations on a brand-new database: applied once, recorded, re-run is a no-op."""

from __future__ import annotations

import pytest

from conftest import require

pytestmark = pytest.mark.integration


def test_migrations_apply_once_on_a_fresh_database(request: pytest.FixtureRequest) -> None:
    try:
        dsn = request.getfixturevalue("fresh_postgres_dsn")
    except pytest.FixtureLookupError:
        require(False, "the fresh_postgres_dsn fixture is not available")
    import psycopg

    from quant.store.migrate import apply_postgres, load_migrations
    from quant.store.postgres import PostgresStore

    shipped = load_migrations("postgres")
    assert [m.version for m in shipped][:2] == [1, 2]
    with psycopg.connect(dsn) as conn:
        assert apply_postgres(conn) == [m.version for m in shipped]
        assert apply_postgres(conn) == []
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()
        assert rows == [(m.version, m.name) for m in shipped]
    PostgresStore(dsn).open().close()  # opening an up-to-date database changes nothing
    with psycopg.connect(dsn) as conn:
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
        assert count == (len(shipped),)
