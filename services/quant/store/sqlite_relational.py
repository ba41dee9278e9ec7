"""Embedded relational store on SQLite: instruments, executed_orders, users, and the
retained records of ``quant up``'s in-process bus (:class:`SqliteRetainedLog`).

The ``RelationalStore`` port for ``quant up`` and unit tests, with the same behaviour as
``PostgresStore`` (shared SQL in ``relational_sql``; schema from the versioned
``migrations/NNNN_*.sqlite.sql``). One connection behind a lock; a file database uses
WAL journaling. ``upsert_instruments`` and ``replace_instruments`` (the instrument
sync: live counts judged by its guard, upsert, expiry, the guard's last word) each run in
one ``BEGIN IMMEDIATE`` transaction, rolled back on any exception.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from quant.core.instruments import Instrument
from quant.core.orders import OrderEvent
from quant.store import relational_sql as Q
from quant.store.migrate import apply_sqlite
from quant.store.ports import (
    ApiKeyRecord,
    ReplaceGuard,
    ReplaceResult,
    StoreError,
    UpsertResult,
    UserRecord,
)

T = TypeVar("T")


def _q(sql: str) -> str:
    return sql.replace("%s", "?")


_GET_INSTRUMENT = _q(Q.GET_INSTRUMENT)
_RESOLVE = _q(Q.RESOLVE_SYMBOL)
_SEARCH = _q(Q.SEARCH)
_MARK_EXPIRED = _q(Q.MARK_EXPIRED)
_LIVE_SEGMENT_COUNTS = _q(Q.LIVE_SEGMENT_COUNTS)
_LIST_INSTRUMENTS = _q(Q.LIST_INSTRUMENTS)
_INSERT_INSTRUMENT = _q(Q.INSERT_INSTRUMENT)
_UPDATE_INSTRUMENT = _q(Q.UPDATE_INSTRUMENT)
_INSERT_ORDER = _q(Q.INSERT_ORDER)
_LIST_ORDERS = _q(Q.LIST_ORDERS)
_LIST_ORDERS_OF = _q(Q.LIST_ORDERS_OF)
_LIST_ORDERS_SINCE = _q(Q.LIST_ORDERS_SINCE)
_SAVE_USER = _q(Q.SAVE_USER)
_GET_USER = _q(Q.GET_USER)
_CREATE_USER = _q(Q.CREATE_USER)
_LIST_USERS = _q(Q.LIST_USERS)
_SAVE_API_KEY = _q(Q.SAVE_API_KEY)
_GET_API_KEY = _q(Q.GET_API_KEY)


def _sqlite_row(i: Instrument) -> tuple[Any, ...]:
    row = Q.instrument_row(i)
    expiry = row[11]
    return (*row[:11], expiry.isoformat() if expiry else None, *row[12:15], int(row[15]))


def _upsert(conn: sqlite3.Connection, incoming: dict[str, tuple[Any, ...]]) -> UpsertResult:
    existing = {r[0]: tuple(r) for r in conn.execute(Q.SELECT_ALL_INSTRUMENTS)}
    inserts = [row for key, row in incoming.items() if key not in existing]
    updates = [
        (*row[1:], key) for key, row in incoming.items() if key in existing and existing[key] != row
    ]
    conn.executemany(_INSERT_INSTRUMENT, inserts)
    conn.executemany(_UPDATE_INSTRUMENT, updates)
    return UpsertResult(len(inserts), len(updates), len(incoming) - len(inserts) - len(updates))


class SqliteRelationalStore:
    """``RelationalStore`` in a SQLite file (or ``":memory:"``)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._path = str(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def open(self) -> SqliteRelationalStore:
        """Connect and apply pending migrations. Returns ``self``."""
        try:
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            if self._path != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            apply_sqlite(conn)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open relational store {self._path}: {e}") from e
        self._conn = conn
        return self

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise StoreError("relational store is not open; call open() first")
        with self._lock:
            try:
                return fn(self._conn)
            except sqlite3.Error as e:
                raise StoreError(f"relational store: {e}") from e

    def _in_transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def go(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                out = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return out

        return self._run(go)

    # --- instruments --------------------------------------------------------------------

    def upsert_instruments(self, instruments: Iterable[Instrument]) -> UpsertResult:
        incoming = {i.instrument_key: _sqlite_row(i) for i in instruments}
        return self._in_transaction(lambda conn: _upsert(conn, incoming))

    def live_segment_counts(self, today: date) -> dict[str, int]:
        rows = self._run(lambda c: c.execute(_LIVE_SEGMENT_COUNTS, (today.isoformat(),)))
        return {str(seg): int(n) for seg, n in rows}

    def replace_instruments(
        self, instruments: Iterable[Instrument], *, today: date, guard: ReplaceGuard
    ) -> ReplaceResult:
        incoming = {i.instrument_key: _sqlite_row(i) for i in instruments}

        def go(conn: sqlite3.Connection) -> ReplaceResult:
            live = conn.execute(_LIVE_SEGMENT_COUNTS, (today.isoformat(),)).fetchall()
            guard.before_write({str(seg): int(n) for seg, n in live})
            upserted = _upsert(conn, incoming)
            expired = conn.execute(_MARK_EXPIRED, (today.isoformat(),)).rowcount
            guard.before_commit()
            return ReplaceResult(*upserted, expired)

        return self._in_transaction(go)

    def get_instrument(self, instrument_key: str) -> Instrument | None:
        row = self._run(lambda c: c.execute(_GET_INSTRUMENT, (instrument_key,)).fetchone())
        return None if row is None else Q.instrument_from_row(row)

    def resolve_symbol(self, trading_symbol: str, segment: str | None = None) -> Instrument | None:
        args = Q.resolve_args(trading_symbol, segment)
        row = self._run(lambda c: c.execute(_RESOLVE, args).fetchone())
        return None if row is None else Q.instrument_from_row(row)

    def search_instruments(self, query: str, limit: int = 20) -> list[Instrument]:
        if not query.strip() or limit <= 0:
            return []
        args = Q.search_args(query, limit)
        rows = self._run(lambda c: c.execute(_SEARCH, args).fetchall())
        return [Q.instrument_from_row(r) for r in rows]

    def mark_expired(self, today: date) -> int:
        return self._in_transaction(
            lambda c: c.execute(_MARK_EXPIRED, (today.isoformat(),)).rowcount
        )

    def instruments_version(self) -> tuple[int, str]:
        row = self._run(lambda c: c.execute(Q.INSTRUMENTS_VERSION).fetchone())
        return (0, "") if row is None else (int(row[0]), str(row[1]))

    def list_instruments(self) -> list[Instrument]:
        rows = self._run(lambda c: c.execute(_LIST_INSTRUMENTS).fetchall())
        return [Q.instrument_from_row(r) for r in rows]

    # --- executed orders ----------------------------------------------------------------

    def append_order_event(self, event: OrderEvent) -> None:
        self._run(lambda c: c.execute(_INSERT_ORDER, Q.order_row(event)))

    def append_order_events(self, events: Sequence[OrderEvent]) -> None:
        rows = [Q.order_row(e) for e in events]
        if rows:
            self._in_transaction(lambda c: c.executemany(_INSERT_ORDER, rows))

    def list_order_events(
        self, limit: int = 50, client_order_id: str | None = None
    ) -> list[OrderEvent]:
        if client_order_id is None:
            rows = self._run(lambda c: c.execute(_LIST_ORDERS, (limit,)).fetchall())
        else:
            rows = self._run(
                lambda c: c.execute(_LIST_ORDERS_OF, (client_order_id, limit)).fetchall()
            )
        return [Q.order_from_row(r) for r in rows]

    def order_events_since(self, ts_init: int) -> list[OrderEvent]:
        rows = self._run(lambda c: c.execute(_LIST_ORDERS_SINCE, (ts_init,)).fetchall())
        return [Q.order_from_row(r) for r in rows]

    # --- users --------------------------------------------------------------------------

    def save_user(self, user: UserRecord) -> None:
        self._run(lambda c: c.execute(_SAVE_USER, tuple(user)))

    def get_user(self, username: str) -> UserRecord | None:
        row = self._run(lambda c: c.execute(_GET_USER, (username,)).fetchone())
        return None if row is None else Q.user_from_row(row)

    def list_users(self) -> list[UserRecord]:
        rows = self._run(lambda c: c.execute(_LIST_USERS).fetchall())
        return [Q.user_from_row(r) for r in rows]

    def create_user(self, user: UserRecord, key: ApiKeyRecord | None = None) -> bool:
        def go(conn: sqlite3.Connection) -> bool:
            if conn.execute(_CREATE_USER, tuple(user)).rowcount == 0:
                return False
            if key is not None:
                conn.execute(_SAVE_API_KEY, tuple(key))
            return True

        return self._in_transaction(go)

    def save_api_key(self, key: ApiKeyRecord) -> None:
        self._run(lambda c: c.execute(_SAVE_API_KEY, tuple(key)))

    def get_api_key(self, key_id: str) -> ApiKeyRecord | None:
        row = self._run(lambda c: c.execute(_GET_API_KEY, (key_id,)).fetchone())
        return None if row is None else Q.api_key_from_row(row)

    # --- retained bus records -------------------------------------------------------------

    def retained_log(self) -> SqliteRetainedLog:
        """The compacted topics' latest record per key, kept in this file."""
        return SqliteRetainedLog(self)

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        """Run one raw statement, returning the row count (tests and maintenance only)."""
        return self._run(lambda c: c.execute(sql, args).rowcount)

    def close(self) -> None:
        if self._conn is not None:
            with self._lock:
                self._conn.close()
                self._conn = None


_LOAD_RETAINED = "SELECT topic, key, value FROM retained_records ORDER BY seq"
_PUT_RETAINED = (
    "INSERT INTO retained_records (topic, key, value, seq) "
    "VALUES (?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM retained_records)) "
    "ON CONFLICT (topic, key) DO UPDATE SET value = excluded.value, seq = excluded.seq"
)


class SqliteRetainedLog:
    """A ``quant.bus.port.RetainedLog`` in the ``retained_records`` table of a
    :class:`SqliteRelationalStore` (structurally: the store layer does not import the
    bus). Each ``put`` is one committed statement; errors are ``StoreError``.
    """

    def __init__(self, store: SqliteRelationalStore) -> None:
        self._store = store

    def load(self) -> list[tuple[str, str, bytes]]:
        rows = self._store._run(lambda c: c.execute(_LOAD_RETAINED).fetchall())
        return [(str(t), str(k), bytes(v)) for t, k, v in rows]

    def put(self, topic: str, key: str, value: bytes) -> None:
        self._store._run(lambda c: c.execute(_PUT_RETAINED, (topic, key, value)))
