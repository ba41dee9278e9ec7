"""Tick-store port contract, run on the path production writes by (``integration``).

The feature service writes typed column batches (``quant.store.columns``: ``tick_batch``
over its ``TickColumns`` and engine output, ``greeks_batch``, ``candle_batch``) straight
to the embedded SQLite store (``quant up``) and through a ``BatchingWriter`` to QuestDB
(``quant features``); the suite writes the same way to the same three, and to QuestDB
directly. QuestDB tables are shared by the whole session, so every test uses its own
instrument keys.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import pytest

from conftest import require
from quant.analytics.columns import EnrichedColumns, from_ticks
from quant.core.events import AggressorSide, Candle, DepthLevel, FeedMode, OptionGreeks, Tick
from quant.store.batching import BatchingWriter
from quant.store.columns import candle_batch, greeks_batch, tick_batch
from quant.store.ports import TickHistory, TickStore
from quant.store.sqlite_ticks import SqliteTickStore
from quant.store.tables import TABLES, ColumnBatch

T0 = 1_795_500_000_000_000_000  # 2026-11-23, UTC ns
MINUTE = 60_000_000_000
TS_ENRICHED = T0 + 5 * MINUTE


class CountingStore(TickStore, TickHistory, Protocol):
    def count(self, table: str, instrument_key: str | None = None) -> int: ...


class Batched:
    """A store behind a ``BatchingWriter`` with the production options (what
    ``StoreSink.batched`` builds): writes are visible once flushed and applied."""

    def __init__(self, store: CountingStore) -> None:
        self.store = store
        self.writer = BatchingWriter(store)

    def write(self, batch: ColumnBatch) -> None:
        self.writer.write(batch)

    def wait_visible(self, timeout: float = 30.0) -> None:
        self.writer.flush(timeout)
        self.store.wait_visible(timeout)

    def __getattr__(self, name: str) -> Any:  # the reads
        return getattr(self.store, name)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("questdb", marks=pytest.mark.integration),
        pytest.param("questdb-batched", marks=pytest.mark.integration),
    ]
)
def store(request: pytest.FixtureRequest) -> Iterator[CountingStore]:
    if request.param == "sqlite":
        s = SqliteTickStore(":memory:").open()
        yield s
        s.close()
        return
    try:
        server = request.getfixturevalue("questdb")
    except pytest.FixtureLookupError:
        require(False, "the questdb fixture is not available")
    from quant.store.questdb_ticks import QuestDBTickStore

    q = QuestDBTickStore(
        ilp_conf=server.ilp_conf,
        pg_dsn=f"postgresql://admin:quest@{server.host}:{server.pg_port}/qdb",
    ).open()
    try:
        if request.param == "questdb":
            yield q
        else:
            batched = Batched(q)
            try:
                yield batched  # type: ignore[misc]
            finally:
                batched.writer.close()
    finally:
        q.close()


def _ticks(ticks: list[Tick]) -> ColumnBatch:
    """The ``ticks`` batch the feature service writes for ``ticks`` (no features)."""
    return tick_batch(from_ticks(ticks))


def _keys(n: int) -> list[str]:
    run = uuid.uuid4().hex[:10]
    return [f"NSE_EQ|T{run}{i:03d}" for i in range(n)]


def _tick(key: str, i: int, ltp: int = 0) -> Tick:
    return Tick(
        key, FeedMode.FULL, T0 + i * 1_000_003, T0 + i * 1_000_003 + 777, ltp or 100_000 + i,
        T0 + i * 1_000_003 - 5, 10 + i % 7, 99_000, 1_000 * i, 100_050, i % 3, 5_000, 6_000,
        (DepthLevel(100_000 + i - 5, 40, 100_000 + i + 5, 60), DepthLevel(1, 2, 3, 4)),
    )  # fmt: skip


def test_a_replayed_batch_of_ten_thousand_ticks_lands_exactly_once(store: CountingStore) -> None:
    keys = _keys(10)
    ticks = [_tick(keys[i % 10], i) for i in range(10_000)]
    store.write(_ticks(ticks))
    store.write(_ticks(ticks))  # the replay
    store.wait_visible()
    assert sum(store.count("ticks", k) for k in keys) == 10_000
    # a replay with changed values upserts: same rows, new values
    store.write(_ticks([t._replace(ltp=t.ltp + 1) for t in ticks[-10:]]))
    store.wait_visible()
    assert sum(store.count("ticks", k) for k in keys) == 10_000
    quote = store.latest_quote(ticks[-1].instrument_key)
    assert quote is not None and quote.ltp == ticks[-1].ltp + 1


def test_ticks_between_reads_the_raw_ticks_back_in_time_order(store: CountingStore) -> None:
    keys = _keys(3)
    ticks = [_tick(keys[i % 3], i) for i in range(30)]
    store.write(_ticks(ticks[15:] + ticks[:15]))
    store.write(_ticks([Tick(keys[0], FeedMode.LTPC, T0 + 31 * 1_000_003, T0, 1_234)]))
    store.wait_visible()
    got = store.ticks_between([keys[1], keys[0]], T0 + 3 * 1_000_003, T0 + 40 * 1_000_003)
    want = [t for t in ticks[3:] if t.instrument_key in keys[:2]]
    # the store keeps the best level only
    assert got[: len(want)] == [t._replace(depth=t.depth[:1]) for t in want]
    last = got[-1]  # no depth stored: none read back
    assert (last.mode, last.ltp, last.depth) == (FeedMode.LTPC, 1_234, ())
    assert len(got) == len(want) + 1
    assert store.ticks_between([], T0, T0 + MINUTE) == []
    assert store.ticks_between(keys, T0 + MINUTE, T0 + 2 * MINUTE) == []


def test_latest_quote_is_the_newest_tick_with_best_bid_and_ask(store: CountingStore) -> None:
    (key,) = _keys(1)
    ticks = [_tick(key, i) for i in range(50)]
    store.write(_ticks(ticks[25:] + ticks[:25]))  # arrival order does not matter
    store.wait_visible()
    q = store.latest_quote(key)
    last = ticks[-1]
    assert q is not None
    assert (q.instrument_key, q.ts_event, q.ts_init, q.ltp) == (
        key,
        last.ts_event,
        last.ts_init,
        last.ltp,
    )
    assert (q.bid_price, q.bid_quantity, q.ask_price, q.ask_quantity) == tuple(last.depth[0])
    assert (q.volume, q.oi, q.atp, q.close_price, q.ltq) == (
        last.volume, last.oi, last.atp, last.close_price, last.ltq,
    )  # fmt: skip
    assert (q.total_buy_quantity, q.total_sell_quantity) == (5_000, 6_000)
    assert store.latest_quote(_keys(1)[0]) is None


def test_a_tick_without_depth_stores_zero_bid_and_ask(store: CountingStore) -> None:
    (key,) = _keys(1)
    store.write(_ticks([Tick(key, FeedMode.LTPC, T0, T0 + 1, 123_45)]))
    store.wait_visible()
    q = store.latest_quote(key)
    assert q is not None and q.ltp == 123_45 and (q.bid_price, q.ask_price) == (0, 0)


def test_candles_by_time_range_oldest_first_and_idempotent(store: CountingStore) -> None:
    (key,) = _keys(1)
    candles = [
        Candle(key, 60, T0 + m * MINUTE, 100 + m, 110 + m, 90 + m, 105 + m, 1000 * m, 7, m)
        for m in range(30)
    ]
    daily = Candle(key, 86_400, T0, 1, 2, 1, 2, 3)
    store.write(candle_batch([*candles[::-1], daily]))
    store.write(candle_batch(candles[10:12]))
    store.wait_visible()
    got = store.candles(key, T0 + 5 * MINUTE, T0 + 15 * MINUTE)
    assert got == candles[5:15]
    assert store.candles(key, T0, T0 + 1, interval_seconds=86_400) == [daily]
    assert store.count("ohlc", key) == 31
    assert store.candles(key, T0 + 100 * MINUTE, T0 + 200 * MINUTE) == []


def test_greeks_latest_and_replay(store: CountingStore) -> None:
    (key,) = _keys(1)
    greeks = [
        OptionGreeks(key, T0 + i, T0 + i + 9, 5_000 + i, 0.2, 0.5, 0.01, -3.5, 8.25, 0.1, 100, i)
        for i in range(20)
    ]
    store.write(greeks_batch(greeks))
    store.write(greeks_batch(greeks))
    store.wait_visible()
    assert store.count("option_greeks", key) == 20
    assert store.latest_greeks(key) == greeks[-1]
    assert store.latest_greeks(_keys(1)[0]) is None


def _features(n: int, first: int = 0) -> EnrichedColumns:
    """The engine's output columns for ``n`` ticks: ``session_vwap`` 100.5 + row number
    (from ``first``), a seller's trades, no greeks (NaN)."""
    i = np.arange(first, first + n, dtype=np.int64)
    vwap = 100.5 + i.astype(np.float64)
    f = np.full(n, 0.25)
    nan = np.full(n, math.nan)
    sells = np.full(n, 2, dtype=np.int64)  # the engine's aggressor code of a seller
    return EnrichedColumns(
        session_vwap=vwap, rolling_vwap=f, imbalance_l1=f, imbalance_d5=f, imbalance_d30=f,
        spread=i, spread_bps=f, microprice=f, aggressor=sells, trade_quantity=i,
        buy_volume=i, sell_volume=i, trade_intensity=f, iv=nan, delta=nan, gamma=nan,
        theta=nan, vega=nan,
    )  # fmt: skip


def _enriched(ticks: list[Tick], first: int = 0) -> ColumnBatch:
    """The ``ticks`` batch the feature service writes: each tick with its features."""
    return tick_batch(from_ticks(ticks), _features(len(ticks), first), TS_ENRICHED)


def _feature_rows(store: CountingStore, key: str) -> list[tuple[Any, ...]]:
    """(session_vwap, iv, aggressor, ts_enriched) of ``key``'s stored ticks, oldest first
    (read with SQL: the port has no reader of the feature columns)."""
    sql = (
        "SELECT session_vwap, iv, aggressor, ts_enriched FROM ticks "
        "WHERE instrument_key = {} ORDER BY ts"
    )
    inner = store.store if isinstance(store, Batched) else store
    if isinstance(inner, SqliteTickStore):
        rows = inner._run(lambda c: c.execute(sql.format("?"), (key,)).fetchall())
    else:
        import psycopg

        with psycopg.connect(inner._pg_dsn, autocommit=True) as conn:  # type: ignore[attr-defined]
            rows = conn.execute(sql.format("%s").encode(), (key,)).fetchall()
    return [tuple(r) for r in rows]


def test_ticks_are_stored_once_with_their_features(store: CountingStore) -> None:
    (key,) = _keys(1)
    ticks = [_tick(key, i)._replace(ts_event=T0 + i) for i in range(100)]
    store.write(_enriched(ticks))
    store.write(_enriched(ticks))  # the replay
    store.wait_visible()
    assert store.count("ticks", key) == 100
    rows = _feature_rows(store, key)
    assert [r[0] for r in rows] == [100.5 + i for i in range(100)]  # each tick its own
    assert all(r[1] is None or math.isnan(r[1]) for r in rows)  # NaN greeks: stored as NULL
    assert [r[2] for r in rows] == [int(AggressorSide.SELL)] * 100
    assert [r[3] for r in rows] == [TS_ENRICHED] * 100
    quote = store.latest_quote(key)
    assert quote is not None and quote.ltp == ticks[-1].ltp  # the raw columns are there too


def test_ticks_written_without_features_have_null_features(store: CountingStore) -> None:
    (key,) = _keys(1)
    ticks = [_tick(key, i)._replace(ts_event=T0 + i) for i in range(5)]
    store.write(_enriched(ticks))
    store.wait_visible()
    store.write(_ticks(ticks[:2]))  # an upsert replaces the whole row
    store.wait_visible()
    assert store.count("ticks", key) == 5
    rows = _feature_rows(store, key)
    assert [r[3] for r in rows] == [None, None, TS_ENRICHED, TS_ENRICHED, TS_ENRICHED]
    assert [r[0] for r in rows] == [None, None, 102.5, 103.5, 104.5]


def test_features_of_another_length_than_their_ticks_are_refused(store: CountingStore) -> None:
    (key,) = _keys(1)
    ticks = [_tick(key, i)._replace(ts_event=T0 + i) for i in range(3)]
    with pytest.raises(ValueError, match="3 rows but 2 rows of features"):
        store.write(tick_batch(from_ticks(ticks), _features(2), TS_ENRICHED))
    store.wait_visible()
    assert store.count("ticks", key) == 0  # nothing written


def _transactions(store: CountingStore) -> Any:
    """What changes with every write that reaches the store: SQLite's count of changed
    rows; QuestDB's sequencer transaction of each table."""
    inner = store.store if isinstance(store, Batched) else store
    if isinstance(inner, SqliteTickStore):
        return inner._run(lambda c: c.total_changes)
    rows = inner._fetch("SELECT name, sequencerTxn FROM wal_tables()", ())  # type: ignore[attr-defined]
    return {name: txn for name, txn in rows if name in TABLES}


def test_empty_batches_are_no_ops(store: CountingStore) -> None:
    (key,) = _keys(1)
    store.write(_ticks([_tick(key, 0)]))  # something there before: the tables exist
    store.wait_visible()
    counts = {table: store.count(table) for table in TABLES}
    transactions = _transactions(store)
    store.write(_ticks([]))
    store.write(_enriched([]))
    store.write(greeks_batch([]))
    store.write(candle_batch([]))
    store.wait_visible()
    assert {table: store.count(table) for table in TABLES} == counts
    assert _transactions(store) == transactions  # not even an empty request went out


def test_unknown_table_is_refused(store: CountingStore) -> None:
    with pytest.raises(ValueError, match="unknown table"):
        store.count("users")
