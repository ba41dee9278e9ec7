"""PostgreSQL adapter of the relational store (psycopg 3 + psycopg_pool).

Built by a service's composition root: ``PostgresStore(dsn).open()`` (or
``PostgresStore.from_settings(PostgresSettings)``); ``open()`` applies pending
migrations (``quant.store.migrate``). Same behaviour as ``SqliteRelationalStore``:

* ``upsert_instruments``: one transaction; rows are COPYed into a temporary table and
  merged with ``INSERT ... ON CONFLICT DO UPDATE ... WHERE <row differs>``, so unchanged
  rows are not rewritten; returns inserted/updated/unchanged counts. On any error the
  transaction rolls back and the previous rows stay as they were.
* ``replace_instruments`` (the instrument sync): the same merge, the expiry flagging and
  the sync guard's checks in ONE transaction that first takes a ``SHARE ROW EXCLUSIVE``
  lock on ``instruments`` (readers go on; a second sync waits), with
  ``statement_timeout`` and ``lock_timeout`` set to the time the guard has left.
* ``executed_orders`` is append-only (a trigger refuses UPDATE and DELETE).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from quant.core.instruments import Instrument
from quant.core.orders import OrderEvent
from quant.store import relational_sql as Q
from quant.store.migrate import apply_postgres
from quant.store.ports import (
    ApiKeyRecord,
    ReplaceGuard,
    ReplaceResult,
    StoreError,
    UpsertResult,
    UserRecord,
)
from quant.store.settings import PostgresSettings

T = TypeVar("T")
Conn = psycopg.Connection[Any]

_ICOLS = ", ".join(Q.INSTRUMENT_COLUMNS)
_CHANGED = " OR ".join(
    f"instruments.{c} IS DISTINCT FROM excluded.{c}" for c in Q.INSTRUMENT_COLUMNS[1:]
)
_MERGE = (
    f"INSERT INTO instruments ({_ICOLS}) SELECT {_ICOLS} FROM incoming_instruments "  # noqa: S608
    "ON CONFLICT (instrument_key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in Q.INSTRUMENT_COLUMNS[1:])
    + f", updated_at = now() WHERE {_CHANGED} RETURNING (xmax = 0)"
)
_STAGE = (
    "CREATE TEMPORARY TABLE incoming_instruments "
    "(LIKE instruments INCLUDING DEFAULTS) ON COMMIT DROP"
)
_COPY = f"COPY incoming_instruments ({_ICOLS}) FROM STDIN"
_LOCK = b"LOCK TABLE instruments IN SHARE ROW EXCLUSIVE MODE"


def _merge(conn: Conn, rows: list[tuple[Any, ...]]) -> UpsertResult:
    """Stage ``rows`` and merge them into ``instruments`` (in the caller's transaction)."""
    conn.execute(_STAGE)
    with conn.cursor() as cur:
        with cur.copy(_COPY) as copy:
            for row in rows:
                copy.write_row(row)
        flags = [r[0] for r in cur.execute(_MERGE.encode()).fetchall()]
    inserted = sum(flags)
    updated = len(flags) - inserted
    return UpsertResult(inserted, updated, len(rows) - len(flags))


class PostgresStore:
    """``RelationalStore`` on PostgreSQL (see the module docstring)."""

    def __init__(
        self, dsn: str, *, min_size: int = 1, max_size: int = 4, connect_timeout: float = 30.0
    ) -> None:
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._min_size = min_size
        self._max_size = max_size
        self._pool: ConnectionPool[Conn] | None = None

    @classmethod
    def from_settings(cls, settings: PostgresSettings) -> PostgresStore:
        return cls(settings.dsn.get_secret_value())

    def open(self, timeout: float | None = None) -> PostgresStore:
        """Open the pool and apply pending migrations. Returns ``self``. ``timeout``:
        seconds to wait for the server (default: the store's ``connect_timeout``)."""
        pool: ConnectionPool[Conn] = ConnectionPool(
            self._dsn,
            min_size=self._min_size,
            max_size=self._max_size,
            open=False,
            check=ConnectionPool.check_connection,  # drop connections the server closed
        )
        try:
            pool.open(wait=True, timeout=timeout or self._connect_timeout)
            with pool.connection() as conn:
                apply_postgres(conn)
        except (psycopg.Error, TimeoutError) as e:
            pool.close()
            raise StoreError(f"cannot open the PostgreSQL store: {e}") from e
        self._pool = pool
        return self

    def _run(self, fn: Callable[[Conn], T]) -> T:
        """Run ``fn`` in one transaction (committed on return, rolled back on error)."""
        if self._pool is None:
            raise StoreError("PostgreSQL store is not open; call open() first")
        try:
            with self._pool.connection() as conn:
                return fn(conn)
        except psycopg.Error as e:
            raise StoreError(f"PostgreSQL: {e}") from e

    # --- instruments --------------------------------------------------------------------

    def upsert_instruments(self, instruments: Iterable[Instrument]) -> UpsertResult:
        rows = list({i.instrument_key: Q.instrument_row(i) for i in instruments}.values())
        return self._run(lambda conn: _merge(conn, rows))

    def live_segment_counts(self, today: date) -> dict[str, int]:
        rows = self._run(lambda c: c.execute(Q.LIVE_SEGMENT_COUNTS.encode(), (today,)).fetchall())
        return {str(seg): int(n) for seg, n in rows}

    def replace_instruments(
        self, instruments: Iterable[Instrument], *, today: date, guard: ReplaceGuard
    ) -> ReplaceResult:
        rows = list({i.instrument_key: Q.instrument_row(i) for i in instruments}.values())

        def go(conn: Conn) -> ReplaceResult:
            remaining = guard.remaining_s()
            if remaining is not None:
                ms = math.ceil(remaining * 1000) + 10  # fires just after the deadline
                conn.execute(f"SET LOCAL statement_timeout = {ms}".encode())
                conn.execute(f"SET LOCAL lock_timeout = {ms}".encode())
            conn.execute(_LOCK)
            live = conn.execute(Q.LIVE_SEGMENT_COUNTS.encode(), (today,)).fetchall()
            guard.before_write({str(seg): int(n) for seg, n in live})
            upserted = _merge(conn, rows)
            expired = conn.execute(Q.MARK_EXPIRED.encode(), (today,)).rowcount
            guard.before_commit()
            return ReplaceResult(*upserted, expired)

        return self._run(go)

    def get_instrument(self, instrument_key: str) -> Instrument | None:
        row = self._run(
            lambda c: c.execute(Q.GET_INSTRUMENT.encode(), (instrument_key,)).fetchone()
        )
        return None if row is None else Q.instrument_from_row(row)

    def resolve_symbol(self, trading_symbol: str, segment: str | None = None) -> Instrument | None:
        args = Q.resolve_args(trading_symbol, segment)
        row = self._run(lambda c: c.execute(Q.RESOLVE_SYMBOL.encode(), args).fetchone())
        return None if row is None else Q.instrument_from_row(row)

    def search_instruments(self, query: str, limit: int = 20) -> list[Instrument]:
        if not query.strip() or limit <= 0:
            return []
        args = Q.search_args(query, limit)
        rows = self._run(lambda c: c.execute(Q.SEARCH.encode(), args).fetchall())
        return [Q.instrument_from_row(r) for r in rows]

    def mark_expired(self, today: date) -> int:
        return self._run(lambda c: c.execute(Q.MARK_EXPIRED.encode(), (today,)).rowcount)

    def instruments_version(self) -> tuple[int, str]:
        row = self._run(lambda c: c.execute(Q.INSTRUMENTS_VERSION.encode()).fetchone())
        return (0, "") if row is None else (int(row[0]), str(row[1]))

    def list_instruments(self) -> list[Instrument]:
        rows = self._run(lambda c: c.execute(Q.LIST_INSTRUMENTS.encode()).fetchall())
        return [Q.instrument_from_row(r) for r in rows]

    # --- executed orders ----------------------------------------------------------------

    def append_order_event(self, event: OrderEvent) -> None:
        self._run(lambda c: c.execute(Q.INSERT_ORDER.encode(), Q.order_row(event)))

    def append_order_events(self, events: Sequence[OrderEvent]) -> None:
        rows = [Q.order_row(e) for e in events]
        if rows:
            self._run(lambda c: c.cursor().executemany(Q.INSERT_ORDER.encode(), rows))

    def list_order_events(
        self, limit: int = 50, client_order_id: str | None = None
    ) -> list[OrderEvent]:
        if client_order_id is None:
            rows = self._run(lambda c: c.execute(Q.LIST_ORDERS.encode(), (limit,)).fetchall())
        else:
            args = (client_order_id, limit)
            rows = self._run(lambda c: c.execute(Q.LIST_ORDERS_OF.encode(), args).fetchall())
        return [Q.order_from_row(r) for r in rows]

    def order_events_since(self, ts_init: int) -> list[OrderEvent]:
        sql = Q.LIST_ORDERS_SINCE.encode()
        rows = self._run(lambda c: c.execute(sql, (ts_init,)).fetchall())
        return [Q.order_from_row(r) for r in rows]

    # --- users --------------------------------------------------------------------------

    def save_user(self, user: UserRecord) -> None:
        self._run(lambda c: c.execute(Q.SAVE_USER.encode(), tuple(user)))

    def get_user(self, username: str) -> UserRecord | None:
        row = self._run(lambda c: c.execute(Q.GET_USER.encode(), (username,)).fetchone())
        return None if row is None else Q.user_from_row(row)

    def list_users(self) -> list[UserRecord]:
        rows = self._run(lambda c: c.execute(Q.LIST_USERS.encode()).fetchall())
        return [Q.user_from_row(r) for r in rows]

    def create_user(self, user: UserRecord, key: ApiKeyRecord | None = None) -> bool:
        def go(conn: Conn) -> bool:
            if conn.execute(Q.CREATE_USER.encode(), tuple(user)).rowcount == 0:
                return False
            if key is not None:
                conn.execute(Q.SAVE_API_KEY.encode(), tuple(key))
            return True

        return self._run(go)

    def save_api_key(self, key: ApiKeyRecord) -> None:
        self._run(lambda c: c.execute(Q.SAVE_API_KEY.encode(), tuple(key)))

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        row = self._run(lambda c: c.execute(Q.GET_API_KEY.encode(), (key_id,)).fetchone())
        return None if row is None else Q.api_key_from_row(row)

    # --- health -------------------------------------------------------------------------

    server_name = "PostgreSQL"

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    def ping(self, timeout: float = 2.0) -> None:
        """``SELECT 1`` on a pooled connection within ``timeout`` s (``StoreError`` if not)."""
        if self._pool is None:
            raise StoreError("PostgreSQL store is not open")
        try:
            with self._pool.connection(timeout=timeout) as conn:
                conn.execute(b"SELECT 1")
        except (psycopg.Error, TimeoutError) as e:
            raise StoreError(" ".join(str(e).split()) or type(e).__name__) from e

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        """Run one raw statement, returning the row count (tests and maintenance only)."""
        return self._run(lambda c: c.execute(sql.encode(), args).rowcount)

    def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.close()
