"""Embedded (SQLite) stores as ``quant up`` uses them: files that survive a restart."""

from __future__ import annotations

import threading
from pathlib import Path

from quant.analytics.columns import from_ticks
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.core.instruments import Instrument, InstrumentType
from quant.store.columns import tick_batch
from quant.store.ports import UpsertResult, UserRecord
from quant.store.sqlite_relational import SqliteRelationalStore
from quant.store.sqlite_ticks import SqliteTickStore

T0 = 1_795_500_000_000_000_000
KEY = "NSE_EQ|INE002A01018"


def test_tick_store_file_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ticks.db"
    store = SqliteTickStore(path).open()
    ticks = [Tick(KEY, FeedMode.FULL, T0 + i, T0 + i, 100 + i) for i in range(10)]
    store.write(tick_batch(from_ticks(ticks)))
    store.close()
    again = SqliteTickStore(path).open()
    quote = again.latest_quote(KEY)
    again.close()
    assert quote is not None and quote.ltp == 109


def test_tick_store_serves_readers_while_a_thread_writes() -> None:
    store = SqliteTickStore().open()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for b in range(20):
                ticks = [
                    Tick(
                        KEY,
                        FeedMode.FULL,
                        T0 + b * 100 + i,
                        T0,
                        1 + b * 100 + i,
                        depth=(DepthLevel(1, 2, 3, 4),),
                    )
                    for i in range(100)
                ]
                store.write(tick_batch(from_ticks(ticks)))
        except BaseException as e:  # surfaced to the test below
            errors.append(e)

    writer = threading.Thread(target=write)
    writer.start()
    seen = []
    while writer.is_alive():
        q = store.latest_quote(KEY)
        if q is not None:
            seen.append(q.ltp)
    writer.join()
    assert not errors
    assert seen == sorted(seen)
    final = store.latest_quote(KEY)
    assert final is not None and final.ltp == 2000
    assert store.count("ticks") == 2000
    store.close()


def test_relational_store_file_keeps_data_and_migrates_once(tmp_path: Path) -> None:
    path = tmp_path / "quant.db"
    inst = Instrument(
        KEY, "RELIANCE", "RELIANCE INDUSTRIES", "NSE", "NSE_EQ", InstrumentType.EQUITY
    )
    store = SqliteRelationalStore(path).open()
    assert store.upsert_instruments([inst]) == UpsertResult(1, 0, 0)
    store.save_user(UserRecord("asha", "hash", "admin"))
    store.close()
    again = SqliteRelationalStore(path).open()
    assert again.get_instrument(KEY) == inst
    assert again.get_user("asha") == UserRecord("asha", "hash", "admin")
    assert again.upsert_instruments([inst]) == UpsertResult(0, 0, 1)
    again.close()


def test_a_ticks_table_of_an_earlier_version_gets_the_feature_columns(tmp_path: Path) -> None:
    import sqlite3

    import numpy as np

    from quant.store import tables as C

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    raw = ", ".join(
        f"{c} {'TEXT' if c == 'instrument_key' else 'INTEGER'}" for c in C.RAW_TICK_COLUMNS
    )
    old.execute(f"CREATE TABLE ticks ({raw}, PRIMARY KEY (instrument_key, ts)) WITHOUT ROWID")
    old.execute(
        f"INSERT INTO ticks ({', '.join(C.RAW_TICK_COLUMNS)}) VALUES "  # noqa: S608
        f"({', '.join('?' for _ in C.RAW_TICK_COLUMNS)})",
        (T0, KEY, *range(1, len(C.RAW_TICK_COLUMNS) - 1)),
    )
    old.commit()
    old.close()
    store = SqliteTickStore(path).open()
    try:

        def one(c: str) -> np.ndarray:
            return np.array([T0 + 1], dtype=np.float64 if c in C.FLOAT_COLUMNS else np.int64)

        raw = {c: one(c) for c in C.RAW_TICK_COLUMNS if c != "instrument_key"}
        features = C.TickFeatures(**{c: one(c) for c in C.FEATURE_COLUMNS})
        store.write(C.TickBatch(instrument_key=[KEY], **raw, features=features))
        got = store._run(
            lambda c: c.execute(
                "SELECT ts, session_vwap, ts_enriched FROM ticks ORDER BY ts"
            ).fetchall()
        )
    finally:
        store.close()
    assert got == [(T0, None, None), (T0 + 1, float(T0 + 1), T0 + 1)]  # the old row is kept
