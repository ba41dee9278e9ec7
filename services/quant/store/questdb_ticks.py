"""QuestDB adapter of the tick store: ILP over HTTP for writes, PG wire for reads.

Built by the feature engine / backfiller / gateway composition roots:
``QuestDBTickStore(ilp_conf="http::addr=HOST:9000;", pg_dsn="postgresql://admin:quest@HOST:8812/qdb")``
(or ``QuestDBTickStore.from_settings(QuestDBSettings)``), then ``open()``.

* ``open()`` creates ``ticks`` (each tick with its features), ``option_greeks``, ``ohlc``
  and ``scanner_suggestions`` (the scanner's picks) as WAL tables partitioned by day with
  ``DEDUP UPSERT KEYS`` (``ts, instrument_key``; plus ``interval_seconds`` for ``ohlc``),
  ``ts`` a ``TIMESTAMP_NS``: replays write no duplicates. A table created by an earlier
  version gets the columns it lacks.
* ``write`` turns its column batch into one DataFrame over the same arrays (``frame``),
  sends it with the ``questdb`` client's ``Sender.dataframe`` (chunked to
  ``max_rows_per_request``) and flushes: when it returns the server has committed the rows
  to the WAL. ``instrument_key`` goes in as an Arrow string column, not Python ``str``
  objects: with no object column the client serialises the whole frame with the GIL
  released (it holds the GIL throughout for object columns), so the background writer
  does not stall the feature engine's thread for milliseconds per request. Applying the WAL
  is asynchronous; ``wait_visible()`` waits until ``wal_tables()`` shows writerTxn ==
  sequencerTxn for every table (and fails if a table is suspended).
* Reads use a small psycopg connection pool over PG wire (``LATEST ON`` for quotes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg_pool import ConnectionPool
from questdb import QuestDBError, Sender

from quant.core.events import Candle, OptionGreeks, ScannerSuggestion
from quant.store import columns as C
from quant.store import tables as T
from quant.store.batch import KEY, Keys
from quant.store.ports import EPOCH, IST_OFFSET_NS, NS_PER_DAY, Quote, StoreError
from quant.store.settings import QuestDBSettings
from quant.store.tables import CandleBatch, ColumnBatch

_TS = "cast(ts AS long)"
_ARROW_STR = pd.StringDtype("pyarrow")
_QUOTE = C.select_list(C.QUOTE_FIELDS, _TS)
_GREEKS = C.select_list(C.GREEKS_FIELDS, _TS)
_OHLC = C.select_list(C.OHLC_FIELDS, _TS)
_SUGGESTION = C.select_list(C.SUGGESTION_FIELDS, _TS)
_BATCH = C.select_list(T.OHLC_COLUMNS, _TS)


def _col_type(c: str) -> str:
    if c == "ts":
        return "TIMESTAMP_NS"
    if c == "instrument_key":
        return "SYMBOL CAPACITY 65536 CACHE"
    if c in T.TEXT_COLUMNS:
        return "VARCHAR"
    return "DOUBLE" if c in T.FLOAT_COLUMNS else "LONG"


def table_ddl(table: str) -> str:
    """The QuestDB ``CREATE TABLE IF NOT EXISTS`` statement of a tick-store table."""
    cols = ", ".join(f"{c} {_col_type(c)}" for c in T.TABLES[table])
    keys = ", ".join(T.DEDUP_KEYS[table])
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ({cols}) TIMESTAMP(ts) PARTITION BY DAY WAL "
        f"DEDUP UPSERT KEYS({keys})"
    )


def _symbols(values: Keys) -> Any:
    """Instrument keys as an Arrow-backed string array (GIL-free serialisation)."""
    return pd.array(values if isinstance(values, list) else list(values), dtype=_ARROW_STR)


def frame(batch: ColumnBatch) -> pd.DataFrame:
    """The DataFrame the client sends for ``batch``: its columns in table order, ``ts`` as
    ``datetime64[ns]``, ``instrument_key`` as Arrow strings, numbers as C-contiguous arrays
    (what the client needs; a contiguous int64/float64 column is used without a copy)."""
    data: dict[str, Any] = {}
    for c, values in batch.columns().items():
        if c == KEY or c in batch.TEXTS:
            data[c] = _symbols(values)  # type: ignore[arg-type]  # text columns are Keys
        else:
            array = np.ascontiguousarray(values)
            data[c] = array.view("datetime64[ns]") if c == "ts" else array
    return pd.DataFrame(data, copy=False)


def _add_missing_columns(conn: psycopg.Connection[Any], table: str) -> None:
    """Add the columns of ``table`` that a table created by an earlier version lacks."""
    # table and column names come from quant.store.tables, never from callers (and
    # table_columns() takes no bind parameter)
    query = f"SELECT \"column\" FROM table_columns('{table}')"  # noqa: S608
    rows = conn.execute(query.encode()).fetchall()
    have = {str(r[0]) for r in rows}
    for c in T.TABLES[table]:
        if c not in have:  # one WAL transaction each, applied asynchronously, in order
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {c} {_col_type(c)}".encode())


class QuestDBTickStore:
    """``TickStore`` on QuestDB (see the module docstring)."""

    def __init__(
        self,
        *,
        ilp_conf: str,
        pg_dsn: str,
        max_rows_per_request: int = 100_000,
        pool_size: int = 4,
        connect_timeout: float = 30.0,
    ) -> None:
        self._ilp_conf = ilp_conf
        self._pg_dsn = pg_dsn
        self._chunk = max_rows_per_request
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._sender: Sender | None = None
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._send_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: QuestDBSettings) -> QuestDBTickStore:
        password = settings.password.get_secret_value()
        return cls(
            ilp_conf=f"http::addr={settings.host}:{settings.http_port};",
            pg_dsn=(
                f"postgresql://{settings.user}:{password}@{settings.host}:"
                f"{settings.pg_port}/{settings.database}"
            ),
        )

    def open(self, timeout: float | None = None) -> QuestDBTickStore:
        """Connect (reader pool and ILP sender) and create the tables. Returns ``self``.
        ``timeout``: seconds to wait for the server (default: the store's
        ``connect_timeout``)."""
        pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            self._pg_dsn,
            min_size=1,
            max_size=self._pool_size,
            kwargs={"autocommit": True},
            open=False,
            check=ConnectionPool.check_connection,  # drop connections the server closed
        )
        try:
            pool.open(wait=True, timeout=timeout or self._connect_timeout)
            with pool.connection() as conn:
                for table in T.TABLES:
                    conn.execute(table_ddl(table).encode())
                    _add_missing_columns(conn, table)
            sender = Sender.from_conf(self._ilp_conf, auto_flush=False)
            sender.establish()  # type: ignore[no-untyped-call]
        except (psycopg.Error, QuestDBError, TimeoutError) as e:
            pool.close()
            raise StoreError(f"cannot open QuestDB tick store: {e}") from e
        self._pool, self._sender = pool, sender
        return self

    # --- writes -------------------------------------------------------------------------

    def write(self, batch: ColumnBatch) -> None:
        """Send one batch and flush it (see the module docstring and ``TickWriter.write``)."""
        if len(batch):
            self._send_frame(batch.TABLE, frame(batch))

    def _send_frame(self, table: str, df: pd.DataFrame) -> None:
        if self._sender is None:
            raise StoreError("tick store is not open; call open() first")
        with self._send_lock:
            try:
                for start in range(0, len(df), self._chunk):
                    part = df if len(df) <= self._chunk else df.iloc[start : start + self._chunk]
                    self._sender.dataframe(
                        part, table_name=table, symbols=["instrument_key"], at="ts"
                    )
                    self._sender.flush()
            except QuestDBError as e:
                raise StoreError(f"writing {len(df)} rows to {table}: {e}") from e

    # --- reads --------------------------------------------------------------------------

    def _fetch(self, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self._pool is None:
            raise StoreError("tick store is not open; call open() first")
        try:
            with self._pool.connection() as conn:
                return conn.execute(sql.encode(), args).fetchall()
        except psycopg.Error as e:
            raise StoreError(f"QuestDB query failed: {e}") from e

    def latest_quote(self, instrument_key: str) -> Quote | None:
        rows = self._fetch(
            f"SELECT {_QUOTE} FROM ticks WHERE instrument_key = %s "  # noqa: S608 - constant
            "LATEST ON ts PARTITION BY instrument_key",
            (instrument_key,),
        )
        return C.quote_from_row(rows[0]) if rows else None

    def latest_greeks(self, instrument_key: str) -> OptionGreeks | None:
        rows = self._fetch(
            f"SELECT {_GREEKS} FROM option_greeks WHERE instrument_key = %s "  # noqa: S608
            "LATEST ON ts PARTITION BY instrument_key",
            (instrument_key,),
        )
        return C.greeks_from_row(rows[0]) if rows else None

    def candles(
        self, instrument_key: str, start_ns: int, end_ns: int, interval_seconds: int = 60
    ) -> list[Candle]:
        rows = self._fetch(
            f"SELECT {_OHLC} FROM ohlc WHERE instrument_key = %s "  # noqa: S608 - constant
            "AND interval_seconds = %s AND ts >= %s::timestamp_ns AND ts < %s::timestamp_ns "
            "ORDER BY ts",
            (instrument_key, interval_seconds, start_ns, end_ns),
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
        ``ohlc`` batch ordered by instrument then time (one query per 500 instruments)."""
        rows: list[tuple[Any, ...]] = []
        keys = list(dict.fromkeys(instrument_keys))
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ", ".join("%s" for _ in chunk)
            rows += self._fetch(
                f"SELECT {_BATCH} FROM ohlc WHERE interval_seconds = %s "  # noqa: S608
                f"AND ts >= %s::timestamp_ns AND ts < %s::timestamp_ns "
                f"AND instrument_key IN ({marks}) ORDER BY instrument_key, ts",
                (interval_seconds, start_ns, end_ns, *chunk),
            )
        return C.candle_batch_from_rows(rows)

    def latest_suggestions(self, limit: int = 20) -> list[ScannerSuggestion]:
        newest = self._fetch(
            f"SELECT {_TS} FROM scanner_suggestions ORDER BY ts DESC LIMIT 1",  # noqa: S608
            (),
        )
        if not newest or newest[0][0] is None:
            return []
        rows = self._fetch(
            f"SELECT {_SUGGESTION} FROM scanner_suggestions "  # noqa: S608 - constant
            "WHERE ts = %s::timestamp_ns ORDER BY rank LIMIT %s",
            (int(newest[0][0]), limit),
        )
        return [C.suggestion_from_row(r) for r in rows]

    def suggestions_between(self, start_ns: int, end_ns: int) -> list[ScannerSuggestion]:
        rows = self._fetch(
            f"SELECT {_SUGGESTION} FROM scanner_suggestions "  # noqa: S608 - constant
            "WHERE ts >= %s::timestamp_ns AND ts < %s::timestamp_ns ORDER BY ts, rank",
            (start_ns, end_ns),
        )
        return [C.suggestion_from_row(r) for r in rows]

    def candle_days(
        self, instrument_key: str, interval_seconds: int, start_ns: int, end_ns: int
    ) -> dict[date, int]:
        rows = self._fetch(
            f"SELECT ({_TS} + {IST_OFFSET_NS}L) / {NS_PER_DAY}L AS d, count() AS n "  # noqa: S608
            "FROM ohlc WHERE instrument_key = %s AND interval_seconds = %s "
            "AND ts >= %s::timestamp_ns AND ts < %s::timestamp_ns",
            (instrument_key, interval_seconds, start_ns, end_ns),
        )
        return {EPOCH + timedelta(days=int(d)): int(n) for d, n in rows}

    def count(self, table: str, instrument_key: str | None = None) -> int:
        """Rows in ``table``, optionally of one instrument (for tests and diagnostics)."""
        if table not in T.TABLES:
            raise ValueError(f"unknown table {table!r}")
        sql = f"SELECT count() FROM {table}"  # noqa: S608 - checked name
        args: tuple[str, ...] = ()
        if instrument_key is not None:
            sql += " WHERE instrument_key = %s"
            args = (instrument_key,)
        return int(self._fetch(sql, args)[0][0])

    server_name = "QuestDB"

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    def ping(self, timeout: float = 2.0) -> None:
        """``SELECT 1`` over PG wire within ``timeout`` s (``StoreError`` if not)."""
        if self._pool is None:
            raise StoreError("tick store is not open; call open() first")
        try:
            with self._pool.connection(timeout=timeout) as conn:
                conn.execute(b"SELECT 1")
        except (psycopg.Error, TimeoutError) as e:
            raise StoreError(" ".join(str(e).split()) or type(e).__name__) from e

    def wait_visible(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        names = tuple(T.TABLES)
        while True:
            rows = self._fetch(
                "SELECT name, suspended, writerTxn, sequencerTxn FROM wal_tables()", ()
            )
            pending = []
            for name, suspended, writer_txn, sequencer_txn in rows:
                if name not in names:
                    continue
                if suspended:
                    raise StoreError(f"QuestDB suspended WAL apply of table {name}")
                if writer_txn != sequencer_txn:
                    pending.append(name)
            if not pending:
                return
            if time.monotonic() > deadline:
                raise StoreError(f"QuestDB WAL not applied within {timeout}s for {pending}")
            time.sleep(0.05)

    def close(self) -> None:
        with self._send_lock:
            if self._sender is not None:
                sender, self._sender = self._sender, None
                try:
                    sender.close()
                except QuestDBError as e:
                    raise StoreError(f"closing the ILP sender: {e}") from e
                finally:
                    if self._pool is not None:
                        self._pool.close()
                        self._pool = None
