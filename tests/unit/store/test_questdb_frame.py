"""``questdb_ticks.frame``: the DataFrame the client sends for a batch: its columns in table
order, ``ts`` as ns timestamps, Arrow keys and C-contiguous numbers, without copying the
columns that already are."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quant.analytics.columns import EnrichedColumns, from_ticks
from quant.core.events import DepthLevel, FeedMode, Tick
from quant.store import questdb_ticks as qt
from quant.store.columns import tick_batch
from quant.store.tables import RAW_TICK_COLUMNS, TICK_COLUMNS

T0 = 1_795_500_000_000_000_000


def _ticks(n: int) -> list[Tick]:
    return [
        Tick(f"NSE_EQ|K{i}", FeedMode.FULL, T0 + i, T0 + i + 1, 100 + i, depth=(
            DepthLevel(99, 5, 101, 6), DepthLevel(98, 7, 102, 8)))
        for i in range(n)
    ]  # fmt: skip


def _features(n: int) -> EnrichedColumns:
    f = np.linspace(0.0, 1.0, n)
    i = np.arange(n, dtype=np.int64)
    return EnrichedColumns(f, f, f, f, f, i, f, f, i % 3, i, i, i, f, f, f, f, f, f)


def test_a_tick_frame_has_the_table_columns_typed_for_the_client() -> None:
    columns = from_ticks(_ticks(5))
    batch = tick_batch(columns, _features(5), ts_enriched=T0)
    df = qt.frame(batch)
    assert list(df.columns) == list(TICK_COLUMNS)
    assert df["ts"].dtype == np.dtype("datetime64[ns]")
    assert df["ts"].astype("int64").tolist() == [T0 + i for i in range(5)]
    assert isinstance(df["instrument_key"].dtype, pd.StringDtype)
    assert df["instrument_key"].dtype.storage == "pyarrow"
    assert df["bid_price"].tolist() == [99] * 5 and df["ask_quantity"].tolist() == [6] * 5
    assert df["session_vwap"].dtype == np.float64 and df["aggressor"].dtype == np.int64
    assert all(df[c].to_numpy().flags.c_contiguous for c in df.columns[2:])
    # the best level is a strided view of the depth: copied; a contiguous column is not
    assert not batch.bid_price.flags.c_contiguous
    assert np.shares_memory(df["ltp"].to_numpy(), columns.ltp)


def test_a_batch_without_features_has_the_raw_columns() -> None:
    df = qt.frame(tick_batch(from_ticks(_ticks(2))))
    assert list(df.columns) == list(RAW_TICK_COLUMNS)


def test_an_empty_batch_gives_an_empty_frame_with_the_table_columns() -> None:
    df = qt.frame(tick_batch(from_ticks([])))
    assert len(df) == 0 and list(df.columns) == list(RAW_TICK_COLUMNS)
