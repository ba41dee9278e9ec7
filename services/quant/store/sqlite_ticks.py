"""Embedded tick store on SQLite: the ``TickStore`` port for ``quant up`` and unit tests.

Same tables and columns as QuestDB (``quant.store.tables``), each with a primary key on
its dedup keys and ``INSERT OR REPLACE``, so a replay upserts exactly like QuestDB's
``DEDUP UPSERT KEYS``. Writes are visible as soon as the call returns. One connection
guarded by a lock (the platform runs in one process when this store is used); a file
database uses WAL journaling so readers never block the writer for long.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from quant.core.events import Candle, OptionGreeks, ScannerSuggestion
from quant.store import columns as C
from quant.store.batch import Column
from quant.store.ports import EPOCH, IST_OFFSET_NS, NS_PER_DAY, Quote, StoreError
from quant.store.tables import (
    DEDUP_KEYS,
    FLOAT_COLUMNS,
    OHLC_COLUMNS,
    TABLES,
    TEXT_COLUMNS,
    CandleBatch,
    ColumnBatch,
)

T = TypeVar("T")
_QUOTE = C.select_list(C.QUOTE_FIELDS)
_GREEKS = C.select_list(C.GREEKS_FIELDS)
_OHLC = C.select_list(C.OHLC_FIELDS)
_SUGGESTION = C.select_list(C.SUGGESTION_FIELDS)
_BATCH = ", ".join(OHLC_COLUMNS)


def as_list(values: Column) -> list[Any]:
    """A column as a list of Python scalars (numpy arrays via ``tolist``)."""
    tolist = getattr(values, "tolist", None)
    return list(tolist()) if tolist is not None else list(values)


def _col_type(c: str) -> str:
    if c in FLOAT_COLUMNS:
        return "REAL"
    return "TEXT" if c == "instrument_key" or c in TEXT_COLUMNS else "INTEGER"


def _ddl(table: str) -> str:
    cols = ", ".join(
        f"{c} {_col_type(c)}" + (" NOT NULL" if c in DEDUP_KEYS[table] else "")
        for c in TABLES[table]
    )
    key = ", ".join(reversed(DEDUP_KEYS[table]))  # instrument_key first: per-key range scans
    return f"CREATE TABLE IF NOT EXISTS {table} ({cols}, PRIMARY KEY ({key})) WITHOUT ROWID"


class SqliteTickStore:
    """``TickStore`` in a SQLite file (or ``":memory:"``)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._path = str(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._inserts: dict[tuple[str, tuple[str, ...]], str] = {}

    def open(self) -> SqliteTickStore:
        """Connect and create the tables (idempotent). Returns ``self``."""
        try:
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            if self._path != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            for table in TABLES:
                conn.execute(_ddl(table))
                have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                for c in TABLES[table]:  # a table created by an earlier version
                    if c not in have:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {c} {_col_type(c)}")
        except sqlite3.Error as e:
            raise StoreError(f"cannot open tick store {self._path}: {e}") from e
        self._conn = conn
        return self

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise StoreError("tick store is not open; call open() first")
        with self._lock:
            try:
                return fn(self._conn)
            except sqlite3.Error as e:
                raise StoreError(f"tick store: {e}") from e

    def _insert(self, table: str, names: tuple[str, ...]) -> str:
        sql = self._inserts.get((table, names))
        if sql is None:
            # identifiers come from quant.store.tables, never from callers; a column left
            # out is NULL in the replacing row, as in QuestDB's upsert
            sql = (
                f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) VALUES "  # noqa: S608
                f"({', '.join('?' for _ in names)})"
            )
            self._inserts[(table, names)] = sql
        return sql

    def write(self, batch: ColumnBatch) -> None:
        """Upsert one batch in one transaction (see ``TickWriter.write``)."""
        if not len(batch):
            return
        columns = [as_list(c) for c in batch.columns().values()]
        rows = list(zip(*columns, strict=True))
        sql = self._insert(batch.TABLE, batch.layout)

        def go(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN")
            try:
                conn.executemany(sql, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        self._run(go)

    def _one(self, sql: str, args: Sequence[Any]) -> Any:
        return self._run(lambda conn: conn.execute(sql, args).fetchone())

    def latest_quote(self, instrument_key: str) -> Quote | None:
        row = self._one(
            f"SELECT {_QUOTE} FROM ticks WHERE instrument_key = ? "  # noqa: S608 - constant
            "ORDER BY ts DESC LIMIT 1",
            (instrument_key,),
        )
        return None if row is None else C.quote_from_row(row)

    def latest_greeks(self, instrument_key: str) -> OptionGreeks | None:
        row = self._one(
            f"SELECT {_GREEKS} FROM option_greeks WHERE instrument_key = ? "  # noqa: S608
            "ORDER BY ts DESC LIMIT 1",
            (instrument_key,),
        )
        return None if row is None else C.greeks_from_row(row)

    def candles(
        self, instrument_key: str, start_ns: int, end_ns: int, interval_seconds: int = 60
    ) -> list[Candle]:
        sql = (
            f"SELECT {_OHLC} FROM ohlc WHERE instrument_key = ? "  # noqa: S608 - constant
            "AND interval_seconds = ? AND ts >= ? AND ts < ? ORDER BY ts"
        )
        rows = self._run(
            lambda conn: conn.execute(
                sql, (instrument_key, interval_seconds, start_ns, end_ns)
            ).fetchall()
        )
        return [C.candle_from_row(r) for r in rows]

    def candle_batch(
        self,
        instrument_keys: Sequence[str],
        start_ns: int,
        end_ns: int,
        interval_seconds: int = 60,
    ) -> CandleBatch:
        """The candles of many instruments at once (``start_ns <= ts_start < end_ns``), as one
        ``ohlc`` batch ordered by instrument then time (the scanner's history reads: one
        primary-key range scan per instrument, the lock taken for each, so that writers
        are not held up by a long read)."""
        sql = (
            f"SELECT {_BATCH} FROM ohlc WHERE instrument_key = ? "  # noqa: S608 - constant
            "AND interval_seconds = ? AND ts >= ? AND ts < ? ORDER BY ts"
        )
        rows: list[Any] = []
        for key in instrument_keys:
            args = (key, interval_seconds, start_ns, end_ns)
            rows += self._run(lambda conn, a=args: conn.execute(sql, a).fetchall())  # type: ignore[misc]
        return C.candle_batch_from_rows(rows)

    def latest_suggestions(self, limit: int = 20) -> list[ScannerSuggestion]:
        sql = (
            f"SELECT {_SUGGESTION} FROM scanner_suggestions "  # noqa: S608 - constant
            "WHERE ts = (SELECT max(ts) FROM scanner_suggestions) ORDER BY rank LIMIT ?"
        )
        rows = self._run(lambda conn: conn.execute(sql, (limit,)).fetchall())
        return [C.suggestion_from_row(r) for r in rows]

    def suggestions_between(self, start_ns: int, end_ns: int) -> list[ScannerSuggestion]:
        sql = (
            f"SELECT {_SUGGESTION} FROM scanner_suggestions "  # noqa: S608 - constant
            "WHERE ts >= ? AND ts < ? ORDER BY ts, rank"
        )
        rows = self._run(lambda conn: conn.execute(sql, (start_ns, end_ns)).fetchall())
        return [C.suggestion_from_row(r) for r in rows]

    def candle_days(
        self, instrument_key: str, interval_seconds: int, start_ns: int, end_ns: int
    ) -> dict[date, int]:
        sql = (
            f"SELECT (ts + {IST_OFFSET_NS}) / {NS_PER_DAY} AS d, count(*) FROM ohlc "  # noqa: S608
            "WHERE instrument_key = ? AND interval_seconds = ? AND ts >= ? AND ts < ? "
            "GROUP BY d"
        )
        rows = self._run(
            lambda conn: conn.execute(
                sql, (instrument_key, interval_seconds, start_ns, end_ns)
            ).fetchall()
        )
        return {EPOCH + timedelta(days=int(d)): int(n) for d, n in rows}

    def count(self, table: str, instrument_key: str | None = None) -> int:
        """Rows in ``table``, optionally of one instrument (for tests and diagnostics)."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        sql = f"SELECT count(*) FROM {table}"  # noqa: S608 - checked name
        args: tuple[str, ...] = ()
        if instrument_key is not None:
            sql += " WHERE instrument_key = ?"
            args = (instrument_key,)
        return int(self._one(sql, args)[0])

    def wait_visible(self, timeout: float = 30.0) -> None:
        """Writes are visible when they return."""

    def close(self) -> None:
        if self._conn is not None:
            with self._lock:
                self._conn.close()
                self._conn = None
